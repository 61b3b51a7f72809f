/* Processes: see proc.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

int
proc_parse_pid(const char *s, pid_t *pid, struct err *e)
{
	long v = 0;

	if (s == NULL)
		return errf(e, "missing pid");
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return errf(e, "pid '%s' is not a positive decimal number",
			    s);
		v = v * 10 + (*p - '0');
		if (v > PID_MAX)
			return errf(e, "pid '%s' is larger than any pid (%d)", s,
			    PID_MAX);
	}
	if (*s == '\0' || v == 0)
		return errf(e, "pid '%s' is not a positive decimal number", s);
	*pid = (pid_t)v;
	return 0;
}

/* The text of /proc/<pid>/stat; 0 bytes when the process is gone. */
static ssize_t
read_stat(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	/* openat: musl's open adds an fcntl for O_CLOEXEC. */
	fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	/* A zombie reaped between open and read reads as nothing. */
	n = read(fd, buf, len - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

int
proc_start_time(pid_t pid, uint64_t *start, struct err *e)
{
	char buf[1024], *p;
	ssize_t n = read_stat(pid, buf, sizeof(buf));
	int field;

	if (n < 0)
		return errnof(e, "cannot read process %d", (int)pid);
	if (n == 0)
		return errf(e, "no process %d", (int)pid);
	/* The command name may hold spaces and ')': skip to its last ')'. */
	p = strrchr(buf, ')');
	/* Field 3, the state, follows ") "; the start time is field 22. */
	for (field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL)
		return errf(e, "cannot read the start time of process %d",
		    (int)pid);
	*start = strtoull(p + 1, NULL, 10);
	return 0;
}

int
proc_is(pid_t pid, uint64_t start)
{
	struct err ignored;
	uint64_t now;

	return proc_start_time(pid, &now, &ignored) == 0 && now == start;
}
