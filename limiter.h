/*
 * One limited cgroup as the kernel holds it: two maps, two programs attached
 * to the cgroup, and their pins in one directory of the bpffs, from which any
 * later ct finds exactly those objects again.  This is the only module that
 * knows what ct loads into the kernel.
 */
#ifndef CT_LIMITER_H
#define CT_LIMITER_H

#include <stdint.h>

#include "bucket.h"
#include "err.h"
#include "limit.h"

struct dir_stats {
	uint64_t passed_bytes;
	uint64_t passed_packets;
	uint64_t dropped_bytes;
	uint64_t dropped_packets;
};

/* What the kernel holds for one cgroup, judged by the kernel alone. */
struct attach_state {
	int pinned[2];		/* the program's pin exists */
	int attached[2];	/* and the cgroup has it attached */
	int running[2];		/* how many of ct's programs the cgroup has,
				   pinned or not */
};

/* The burst ct uses when none is given. */
uint64_t limiter_default_burst(uint64_t rate_bits, int dir);

/*
 * The directory that holds all of ct's pins, in root.  With create, the bpffs
 * is mounted and the directory made where needed; without, root is "" when
 * there is none.
 */
int limiter_pin_root(char *root, size_t len, int create, struct err *e);
/* Remove pin directories under root that no program is attached through;
 * how many is added to *count. */
int limiter_unpin_all(const char *root, int *count, struct err *e);

/* Load, pin and attach; on failure nothing is left behind. */
int limiter_attach(int cgroup_fd, const char *pins, const struct limits *l,
    struct err *e);
/* Change the limit of an attachment in place. */
int limiter_update(const char *pins, const struct limits *l, struct err *e);
/*
 * Detach what the pins name from cgroup_fd (-1 when the cgroup is gone and
 * the kernel has detached them itself), then remove the pins.  A program
 * that cannot be detached keeps its pin, so it is never lost track of.
 * Returns 1, with a message in e, when it left a pin that is not ct's.
 */
int limiter_detach(int cgroup_fd, const char *pins, struct err *e);
int limiter_stats(const char *pins, struct dir_stats st[2], struct err *e);
int limiter_state(int cgroup_fd, const char *pins, struct attach_state *s,
    struct err *e);

/*
 * Detach every program of ct's attached to cgroup_fd; how many is added to
 * *count.  Used to find what no registry entry accounts for.
 */
int limiter_sweep(int cgroup_fd, int *count, struct err *e);

#endif
