/* tc's grammar of rates and sizes: what ct reads from the user and prints. */
#ifndef CT_RATE_H
#define CT_RATE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Below 1kbit the fixed-point bucket loses precision. */
#define RATE_MIN_BITS 1000ULL
#define RATE_MAX_BITS 1000000000000ULL		/* 1tbit */
#define SIZE_MAX_BYTES (1ULL << 30)		/* 1gb */

/*
 * A rate in tc's grammar, in bits per second; a size, in bytes.  On failure
 * -1, a one-line message in e, and the value left untouched.
 */
int rate_parse(const char *s, uint64_t *bits, struct err *e);
int size_parse(const char *s, uint64_t *bytes, struct err *e);
/* The shortest exact spelling: 10000000 is "10mbit", 1500000 "1500kbit". */
void rate_format(uint64_t bits, char *buf, size_t len);
/* In powers of 1024, exact only: 131072 is "128kb", 1000 "1000b". */
void size_format(uint64_t bytes, char *buf, size_t len);

/* A measured rate in the unit a person reads, three figures: "9.73mbit". */
void rate_human(double bits, char *buf, size_t len);

#endif
