/* rate_parse on arbitrary text, held to the contract of grammar.h. */
#include <stdint.h>

#include "grammar.h"
#include "rate.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct grammar g = { rate_parse, rate_format,
	    RATE_MIN_BITS, RATE_MAX_BITS };

	grammar_check(&g, data, size);
	return 0;
}
