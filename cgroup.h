/*
 * The cgroup v2 hierarchy: where it is, which cgroup a process is in, and the
 * cgroups ct makes for --isolate.  Paths called "rel" are relative to the
 * cgroup2 mount and start with "/"; "abs" paths include the mount.
 */
#ifndef CT_CGROUP_H
#define CT_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/* The cgroup2 mount point, from /proc/self/mountinfo. */
int cgroup_root(char *root, size_t len, struct err *e);
int cgroup_of_pid(pid_t pid, char *rel, size_t len, struct err *e);
int cgroup_abs(char *abs, size_t len, const char *root, const char *rel);
/* The cgroup's id, as bpf_skb_cgroup_id() and bpftool know it. */
int cgroup_id(const char *abs, uint64_t *id, struct err *e);
int cgroup_fd_id(int fd, uint64_t *id, struct err *e);
/* An fd of the cgroup's directory, for attaching programs to it. */
int cgroup_open(const char *abs, struct err *e);
/* How many processes are in the cgroup itself (not its children). */
int cgroup_count_procs(const char *abs, int *n, struct err *e);
int cgroup_move(const char *abs, pid_t pid, struct err *e);
/* Move every process of from into to. */
int cgroup_drain(const char *from, const char *to, struct err *e);

/* A cgroup that ct creates carries a mark, so that it can be found again. */
int cgroup_make(const char *abs, struct err *e);
int cgroup_mark(const char *abs, struct err *e);
int cgroup_is_ours(const char *abs);
int cgroup_remove(const char *abs, struct err *e);

/*
 * A cgroup as the user names it, relative to the mount (or with the mount in
 * front), checked: "/" or names that are not "." or "..", and a directory.
 */
int cgroup_resolve(const char *root, const char *path, char *rel, size_t len,
    struct err *e);
/*
 * The one cgroup whose directory is called name, as systemd names its units
 * (nginx.service, user-1000.slice).  *count says how many there are (-1:
 * name is not a name): with none or several it fails, naming them.
 */
int cgroup_find_named(const char *root, const char *name, char *rel,
    size_t len, int *count, struct err *e);
/* Whether any process is in the cgroup or below it (cgroup.events). */
int cgroup_populated(const char *abs, int *populated, struct err *e);

/* A cgroup as its parent's directory lists it. */
struct cgroup_child {
	const char *name;
	uint64_t id;		/* the inode number, which is the cgroup id */
};

/* The cgroups directly below one, found by name through a hash table. */
struct cgroup_list {
	char *buf;		/* the directory's entries, which names point to */
	struct cgroup_child *kids;
	size_t n;
	size_t *slots;		/* index + 1 into kids, or 0 for none */
	size_t nslots;		/* a power of two */
};

/* One read of a directory tells the ids of all the cgroups in it. */
int cgroup_children(const char *abs, struct cgroup_list *l, struct err *e);
/* The id of the child called name, 0 when there is none. */
uint64_t cgroup_child_id(const struct cgroup_list *l, const char *name);
void cgroup_list_free(struct cgroup_list *l);

/* Call visit on every cgroup below root, root included, children first,
 * so that visit may remove the cgroup it is given. */
typedef int (*cgroup_visit)(const char *abs, void *ctx, struct err *e);
int cgroup_walk(const char *root, cgroup_visit visit, void *ctx,
    struct err *e);

#endif
