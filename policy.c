/* The default burst: see policy.h. */
#include "limit.h"
#include "policy.h"

uint64_t
policy_default_burst(uint64_t rate_bits, int dir)
{
	uint64_t one_second = rate_bits / 8;
	uint64_t floor = dir == CT_DOWN ? POLICY_BURST_FLOOR_DOWN :
	    POLICY_BURST_FLOOR_UP;

	if (one_second < floor)
		return floor;
	if (one_second > POLICY_BURST_CEILING)
		return POLICY_BURST_CEILING;
	return one_second;
}
