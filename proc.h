/* What ct needs to know of a process: whether it is the one it was. */
#ifndef CT_PROC_H
#define CT_PROC_H

#include <stdint.h>
#include <sys/types.h>

/*
 * The start time of pid (field 22 of /proc/<pid>/stat, in clock ticks since
 * boot): with the pid, it names one process even after the pid is reused.
 * -1 with errno ENOENT when there is no such process.
 */
int proc_start_time(pid_t pid, uint64_t *start);

/* Whether pid is alive and is the process that started at start. */
int proc_is(pid_t pid, uint64_t start);

#endif
