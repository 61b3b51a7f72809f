#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

int
proc_start_time(pid_t pid, uint64_t *start)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		errno = ENOENT;	/* a zombie reaped between open and read */
		return -1;
	}
	buf[n] = '\0';
	/* The command name may hold spaces and ')': skip to its last ')'. */
	p = strrchr(buf, ')');
	if (p == NULL) {
		errno = EINVAL;
		return -1;
	}
	/* Field 3, the state, follows ") "; the start time is field 22. */
	for (field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL) {
		errno = EINVAL;
		return -1;
	}
	*start = strtoull(p + 1, NULL, 10);
	return 0;
}

int
proc_is(pid_t pid, uint64_t start)
{
	uint64_t now;

	return proc_start_time(pid, &now) == 0 && now == start;
}
