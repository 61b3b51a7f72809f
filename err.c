/* Error messages and notes: see err.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

int
errf(struct err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int
errnof(struct err *e, const char *fmt, ...)
{
	int saved = errno;
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	len = strlen(e->msg);
	snprintf(e->msg + len, sizeof(e->msg) - len, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

void
note(struct notes *ns, enum severity sev, const char *fmt, ...)
{
	struct note *grown;
	char *text;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	grown = text ? realloc(ns->line, (ns->n + 1) * sizeof(*grown)) : NULL;
	if (grown == NULL) {
		/* Out of memory: losing a note beats losing the operation. */
		free(text);
		return;
	}
	grown[ns->n].sev = sev;
	grown[ns->n].text = text;
	ns->line = grown;
	ns->n++;
}

const char *
severity_prefix(enum severity sev)
{
	switch (sev) {
	case NOTE_WARNING:
		return "warning: ";
	case NOTE_ERROR:
		return "error: ";
	default:
		return "";
	}
}

void
notes_free(struct notes *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->line[i].text);
	free(ns->line);
	ns->line = NULL;
	ns->n = 0;
}
