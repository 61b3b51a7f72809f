/* Errors travel up as a message and are printed once, by main. */
#ifndef CT_ERR_H
#define CT_ERR_H

#include <stddef.h>

struct err {
	char msg[512];
};

/* Both return -1 so that a failing function can end with "return errf(...)". */
int errf(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Like errf, with ": strerror(errno)" appended. */
int errnof(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Non-fatal findings (a vanished cgroup, an orphan) that the user must hear about. */
struct notes {
	char **line;
	size_t n;
};

void note(struct notes *ns, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void notes_free(struct notes *ns);

#endif
