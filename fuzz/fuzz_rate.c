/*
 * rate_parse on arbitrary text.  Beyond not crashing: what parses lies
 * within the limits and survives rate_format and a second parse, and what
 * does not parse leaves the value alone and says why on one line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rate.h"

#define UNTOUCHED 0xdeadbeefcafef00dULL

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[128], small[8], buf[32], *s;
	uint64_t v = UNTOUCHED, w = UNTOUCHED, again = UNTOUCHED;
	int ret;

	/* The parser takes a C string, as argv gives it. */
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	err[0] = '\0';
	ret = rate_parse(s, &v, err, sizeof(err));
	/* Neither a missing nor a short message buffer may change the answer. */
	if (rate_parse(s, &w, NULL, 0) != ret ||
	    rate_parse(s, &w, small, sizeof(small)) != ret || w != v)
		abort();
	if (ret == 0) {
		if (v < RATE_MIN_BITS || v > RATE_MAX_BITS)
			abort();
		rate_format(v, buf, sizeof(buf));
		if (rate_parse(buf, &again, err, sizeof(err)) != 0 ||
		    again != v)
			abort();
	} else if (ret != -1 || v != UNTOUCHED || err[0] == '\0' ||
	    strchr(err, '\n') != NULL || strlen(small) >= sizeof(small))
		abort();
	free(s);
	return 0;
}
