#include <stdlib.h>
#include <string.h>

#include "grammar.h"

#define UNTOUCHED 0xdeadbeefcafef00dULL

void
grammar_check(const struct grammar *g, const uint8_t *data, size_t size)
{
	char err[128], small[8], buf[32], *s;
	uint64_t v = UNTOUCHED, w = UNTOUCHED, again = UNTOUCHED;
	int ret;

	/* The parser takes a C string, as argv gives it. */
	if ((s = malloc(size + 1)) == NULL)
		return;
	memcpy(s, data, size);
	s[size] = '\0';

	err[0] = '\0';
	ret = g->parse(s, &v, err, sizeof(err));
	/* Neither a missing nor a short message buffer may change the answer. */
	if (g->parse(s, &w, NULL, 0) != ret ||
	    g->parse(s, &w, small, sizeof(small)) != ret || w != v)
		abort();
	if (ret == 0) {
		if (v < g->min || v > g->max)
			abort();
		g->format(v, buf, sizeof(buf));
		if (g->parse(buf, &again, err, sizeof(err)) != 0 || again != v)
			abort();
	} else if (ret != -1 || v != UNTOUCHED || err[0] == '\0' ||
	    strchr(err, '\n') != NULL || strlen(small) >= sizeof(small))
		abort();
	free(s);
}
