/*
 * ct run: a command started in a limited cgroup of ct's own, so that none of
 * its sockets is ever unlimited; waited for, with the signals ct run is sent
 * passed on to it; its limit removed once everything it started has exited.
 */
#ifndef CT_RUN_H
#define CT_RUN_H

#include "err.h"
#include "ops.h"

struct run_req {
	struct limit_req lim;	/* rates and burst; the rest is run's */
	const char *user;	/* the user to run the command as, or NULL */
	char **argv;		/* the command and its arguments */
};

/*
 * Run the command and wait for it.  0 and *status the command's exit
 * status as a shell gives it (128+N for a signal); -1 when ct could not run
 * it, with *status 1, or 126 or 127 as a shell gives them for a command that
 * cannot be executed or is not found.  say(n) prints and clears the notes:
 * run calls it before the command starts and after it has ended.
 */
int run_command(const struct run_req *r, int *status, struct notes *n,
    void (*say)(struct notes *n), struct err *e);

#endif
