/* Where filesystems are mounted, from /proc/self/mountinfo. */
#ifndef CT_MOUNTS_H
#define CT_MOUNTS_H

#include <stddef.h>

/* The first mount point of fstype: 1 found, 0 none, -1 unreadable. */
int mount_find(const char *fstype, char *path, size_t len);

#endif
