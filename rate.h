/* rate.h: tc-style rate and size parsing and formatting */
#ifndef CT_RATE_H
#define CT_RATE_H

#include <stddef.h>
#include <stdint.h>

#define RATE_MIN_BITS 1000ULL            /* 1kbit: below this the fixed-point bucket loses precision */
#define RATE_MAX_BITS 1000000000000ULL   /* 1tbit */
#define SIZE_MAX_BYTES (1ULL << 30)      /* 1 GiB burst ceiling */

/* Parse a rate in tc's grammar into bits per second. 0 on success; on failure -1 and a one-line
   human message (no "ct:" prefix, no trailing newline) written into err[errlen].
   *bits is left untouched on failure. err may be NULL when errlen is 0. */
int rate_parse(const char *s, uint64_t *bits, char *err, size_t errlen);
/* Parse a size in tc's size grammar into bytes. Same error contract. */
int size_parse(const char *s, uint64_t *bytes, char *err, size_t errlen);
/* Format bits per second the way tc prints rates, shortest exact form preferred:
   10000000 -> "10mbit", 256000 -> "256kbit", 1500000 -> "1500kbit", 1000000000 -> "1gbit", 1234 -> "1234bit". */
void rate_format(uint64_t bits, char *buf, size_t len);
/* Format bytes as a size: 131072 -> "128kb", 1048576 -> "1mb", 1000 -> "1000b" (powers of 1024, exact only). */
void size_format(uint64_t bytes, char *buf, size_t len);

#endif
