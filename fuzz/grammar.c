#include <stdlib.h>
#include <string.h>

#include "grammar.h"

#define UNTOUCHED 0xdeadbeefcafef00dULL

void
grammar_check(const struct grammar *g, const uint8_t *data, size_t size)
{
	struct err e = { "" }, again_e = { "" };
	char buf[32], *s;
	uint64_t v = UNTOUCHED, w = UNTOUCHED, again = UNTOUCHED;
	int ret;

	/* The parser takes a C string, as argv gives it. */
	if ((s = malloc(size + 1)) == NULL)
		return;
	memcpy(s, data, size);
	s[size] = '\0';

	ret = g->parse(s, &v, &e);
	/* The same text gets the same answer. */
	if (g->parse(s, &w, &again_e) != ret || w != v ||
	    strcmp(e.msg, again_e.msg) != 0)
		abort();
	if (ret == 0) {
		if (v < g->min || v > g->max)
			abort();
		g->format(v, buf, sizeof(buf));
		if (g->parse(buf, &again, &e) != 0 || again != v)
			abort();
	} else if (ret != -1 || v != UNTOUCHED || e.msg[0] == '\0' ||
	    strchr(e.msg, '\n') != NULL)
		abort();
	free(s);
}
