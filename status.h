/*
 * ct status: each limited cgroup with its limits, its counters, its
 * processes and whether the kernel really holds its programs, as text for
 * people or as one JSON document; and the same, sampled, for ct top.
 */
#ifndef CT_STATUS_H
#define CT_STATUS_H

#include <stdio.h>

#include "limiter.h"
#include "txn.h"

enum status_format { STATUS_TEXT, STATUS_JSON };

/* Print the transaction's entries, asking the kernel about each. */
int status_print(struct txn *t, enum status_format fmt, FILE *out,
    struct err *e);

/* One limited cgroup as ct top samples it. */
struct sample {
	char *path;
	uint64_t id;
	struct limits lim;
	struct dir_stats stats[2];
	int nprocs;		/* processes in the cgroup itself */
	int attached;
};

/* A sample of every entry of the transaction, malloc'd. */
int status_sample(struct txn *t, struct sample **s, size_t *n);
void samples_free(struct sample *s, size_t n);

#endif
