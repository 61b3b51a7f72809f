/*
 * ct top: every limited cgroup's download and upload rate now, beside its
 * limit, refreshed every few seconds, as text or as one JSON object a line.
 */
#ifndef CT_TOP_H
#define CT_TOP_H

#include "err.h"

struct top_opts {
	double interval;	/* seconds between frames */
	long count;		/* frames to print; 0 for no end */
	int json;
};

/* Print frames until count is reached, SIGINT, or stdout closes. */
int top_run(const struct top_opts *o, struct notes *n,
    void (*say)(struct notes *n), struct err *e);

#endif
