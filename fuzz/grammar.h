/*
 * The contract the rate and size parsers share, checked on arbitrary text:
 * what parses lies within bounds and survives formatting and a second parse;
 * what does not parse leaves the value alone and says why on one line.
 */
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct grammar {
	int (*parse)(const char *s, uint64_t *v, struct err *e);
	void (*format)(uint64_t v, char *buf, size_t len);
	uint64_t min, max;
};

/* Aborts on a breach of the contract. */
void grammar_check(const struct grammar *g, const uint8_t *data, size_t size);
