/* A cgroup's limit as the user asked for it and the registry keeps it. */
#ifndef CT_LIMIT_H
#define CT_LIMIT_H

#include <stdint.h>

enum { CT_DOWN, CT_UP };	/* download (ingress), upload (egress) */

/* One direction; rate_bits == 0 means not limited. */
struct dir_limit {
	uint64_t rate_bits;
	uint64_t burst_bytes;
};

struct limits {
	struct dir_limit dir[2];	/* CT_DOWN, CT_UP */
};

#endif
