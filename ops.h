/*
 * What each command does, once its arguments are understood: limit,
 * unlimit, status, cleanup.  Each runs as one transaction (txn.h), calls on
 * the isolation, nesting and status steps it needs, and leaves what it
 * finds in the notes.
 */
#ifndef CT_OPS_H
#define CT_OPS_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "err.h"
#include "status.h"

/* What the user asked ct limit for. */
struct limit_req {
	pid_t pid;		/* the process whose cgroup is limited, or */
	const char *cgroup;	/* the cgroup itself, relative to the mount */
	int isolate;		/* give the process a cgroup of its own */
	int run;		/* that cgroup goes when it has emptied */
	int given[2];		/* which directions (CT_DOWN, CT_UP) are set */
	uint64_t rate[2];	/* bits per second */
	uint64_t burst;		/* bytes; 0 for ct's default */
};

int ops_limit(const struct limit_req *r, struct notes *n, struct err *e);
/* Not limited is no error: a note says so. */
int ops_unlimit(pid_t pid, struct notes *n, struct err *e);
int ops_unlimit_cgroup(const char *rel, struct notes *n, struct err *e);
/*
 * The end of a ct run: its command (pid, started at start) has exited.  The
 * limit and ct's cgroup go if nothing is left in it; else they stay, with a
 * note, until a later ct finds the cgroup empty.
 */
int ops_run_end(pid_t pid, uint64_t start, struct notes *n, struct err *e);
/* Also repairs what a ct that died midway left. */
int ops_status(enum status_format fmt, FILE *out, struct notes *n,
    struct err *e);
/* Every limited cgroup's counters now, for ct top. */
int ops_sample(struct sample **samples, size_t *n, struct notes *notes,
    struct err *e);
/* Everything of ct's, also what the registry has lost; what cannot be
 * removed is an error note, and the command fails at the end. */
int ops_cleanup(struct notes *n, struct err *e);

#endif
