/*
 * One limited cgroup as the kernel holds it: three maps (the limit, and a
 * bucket for each direction), three programs attached to the cgroup (one
 * cgroup_skb program per direction, and a sock_ops program that sizes the
 * receive window and caps the pace of its TCP connections), and their six
 * pins in one directory of the bpffs, from which any later ct finds exactly
 * those objects again.  This is the only module that knows what ct loads
 * into the kernel; it takes limits in bits and bytes, never as text.
 */
#ifndef CT_LIMITER_H
#define CT_LIMITER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limit.h"

#define LIMITER_MAX_INNER 8

/* A limited cgroup below this one, whose traffic this one lets go first. */
struct inner_cgroup {
	uint64_t id;
	uint32_t level;		/* depth below the cgroup2 root */
};

/* What the programs of one cgroup are told. */
struct limiter_conf {
	struct limits lim;
	uint32_t ninner;
	struct inner_cgroup inner[LIMITER_MAX_INNER];
};

struct dir_stats {
	uint64_t passed_bytes;
	uint64_t passed_packets;
	uint64_t dropped_bytes;
	uint64_t dropped_packets;
	uint64_t windowed;	/* download: TCP connections whose receive
				   window the sock_ops program holds */
};

#define LIMITER_NPROGS 3	/* ingress, egress, sock_ops */

/* What the kernel holds for one cgroup, judged by the kernel alone. */
struct limiter_view {
	int pinned[LIMITER_NPROGS];	/* the program's pin exists and is
					   ct's */
	int attached[LIMITER_NPROGS];	/* and the cgroup has that program
					   attached */
	int running[LIMITER_NPROGS];	/* how many of ct's programs of that
					   kind the cgroup has, pinned or not */
	int have_stats;		/* stats were read from the pinned buckets */
	struct dir_stats stats[2];
};

/*
 * The pin directory for the cgroup of that id: the bpffs is mounted where
 * none is, and ct's directory in it made.
 */
int limiter_pin_dir(uint64_t cgroup_id, char *pins, size_t len,
    struct err *e);
/* The directory that holds all of ct's pins, or "" when there is none. */
int limiter_pin_root(char *root, size_t len, struct err *e);
/* Remove pin directories under root that no program is attached through;
 * how many is added to *count. */
int limiter_unpin_all(const char *root, int *count, struct err *e);

/* Load, pin and attach; on failure nothing is left behind. */
int limiter_attach(int cgroup_fd, const char *pins,
    const struct limiter_conf *c, struct err *e);
/* Change the limit of an attachment in place. */
int limiter_update(const char *pins, const struct limiter_conf *c,
    struct err *e);
/*
 * Detach what the pins name from cgroup_fd (-1 when the cgroup is gone and
 * the kernel has detached them itself), then remove the pins.  A program
 * that cannot be detached keeps its pin, so it is never lost track of.  A
 * pin that is not ct's stays where it is, with a warning.
 */
int limiter_detach(int cgroup_fd, const char *pins, struct notes *n,
    struct err *e);
/* What the kernel holds for the pins and the cgroup (-1: not asked). */
int limiter_inspect(int cgroup_fd, const char *pins, struct limiter_view *v,
    struct err *e);
/* Whether the view has every program pinned and attached. */
int limiter_complete(const struct limiter_view *v);
/* Whether the cgroup runs one of ct's programs of every kind, pinned or
 * not. */
int limiter_running(const struct limiter_view *v);

/*
 * Detach every program of ct's attached to cgroup_fd; how many is added to
 * *count.  Used to find what no registry entry accounts for.
 */
int limiter_sweep(int cgroup_fd, int *count, struct err *e);

#endif
