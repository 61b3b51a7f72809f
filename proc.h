/* Processes: how the user names one, and whether it is the one it was. */
#ifndef CT_PROC_H
#define CT_PROC_H

#include <stdint.h>
#include <sys/types.h>

#include "err.h"

#define PID_MAX 4194304		/* the kernel's ceiling for pid_max */

/* A pid as the user writes it: a positive decimal number, nothing else. */
int proc_parse_pid(const char *s, pid_t *pid, struct err *e);

/*
 * The start time of pid (field 22 of /proc/<pid>/stat, in clock ticks since
 * boot): with the pid, it names one process even after the pid is reused.
 * Fails with "no process N" when there is none.
 */
int proc_start_time(pid_t pid, uint64_t *start, struct err *e);

/* Whether pid is alive and is the process that started at start. */
int proc_is(pid_t pid, uint64_t start);

#endif
