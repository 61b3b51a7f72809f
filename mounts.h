/* Where filesystems are mounted, from /proc/self/mountinfo. */
#ifndef CT_MOUNTS_H
#define CT_MOUNTS_H

#include <stddef.h>

#include "err.h"

/* The first mount point of fstype in path; "" when there is none. */
int mount_find(const char *fstype, char *path, size_t len, struct err *e);

#endif
