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
note(struct notes *ns, const char *fmt, ...)
{
	char **grown, *line;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	va_end(ap);
	grown = line ? realloc(ns->line, (ns->n + 1) * sizeof(*grown)) : NULL;
	if (grown == NULL) {
		/* Out of memory: losing a note beats losing the operation. */
		free(line);
		return;
	}
	grown[ns->n++] = line;
	ns->line = grown;
}

void
notes_free(struct notes *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->line[i]);
	free(ns->line);
	ns->line = NULL;
	ns->n = 0;
}
