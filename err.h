/*
 * How ct fails and what it has to say.  A function that fails fills a
 * struct err and returns -1; the message travels up unchanged and main
 * prints it once.  What is worth telling without failing (a vanished
 * cgroup, an orphan removed) is a note, kept with its severity until the
 * command ends.
 */
#ifndef CT_ERR_H
#define CT_ERR_H

#include <stddef.h>

struct err {
	char msg[512];
};

/* Both return -1, so that a failing function can end "return errf(...)". */
int errf(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Like errf, with ": strerror(errno)" appended. */
int errnof(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

enum severity {
	NOTE_INFO,	/* what ct did or found, as it should be */
	NOTE_WARNING,	/* something was wrong and ct repaired or left it */
	NOTE_ERROR,	/* one part of a command that goes on failed */
};

struct note {
	enum severity sev;
	char *text;
};

struct notes {
	struct note *line;
	size_t n;
};

void note(struct notes *ns, enum severity sev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The words a note of this severity is introduced with, "" for none. */
const char *severity_prefix(enum severity sev);
void notes_free(struct notes *ns);

#endif
