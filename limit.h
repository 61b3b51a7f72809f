/* A cgroup's limit as the user asked for it. */
#ifndef CT_LIMIT_H
#define CT_LIMIT_H

#include <stdint.h>

#include "bucket.h"	/* CT_DOWN, CT_UP */

/* One direction; rate_bits == 0 means not limited. */
struct dir_limit {
	uint64_t rate_bits;
	uint64_t burst_bytes;
};

struct limits {
	struct dir_limit dir[2];	/* CT_DOWN, CT_UP */
	/* Limited cgroups below this one, whose traffic goes first; derived
	 * from the registry each time, not stored in it. */
	uint32_t ninner;
	struct ct_inner inner[CT_MAX_INNER];
};

#endif
