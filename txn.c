/* One command's transaction: see txn.h. */
#include <inttypes.h>
#include <stdio.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "limiter.h"
#include "txn.h"

#define CAP_BPF_NUMBER 39	/* CAP_BPF, newer than some uapi headers */

static int
has_privilege(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	uint64_t eff;

	if (syscall(SYS_capget, &h, d) < 0)
		return 0;
	eff = (uint64_t)d[1].effective << 32 | d[0].effective;
	/* Loading needs CAP_BPF (or, on older kernels, CAP_SYS_ADMIN);
	 * attaching to a cgroup needs CAP_NET_ADMIN. */
	return (eff >> CAP_NET_ADMIN & 1) &&
	    ((eff >> CAP_BPF_NUMBER & 1) || (eff >> CAP_SYS_ADMIN & 1));
}

int
txn_begin(struct txn *t, int create, struct notes *notes, struct err *e)
{
	memset(t, 0, sizeof(*t));
	t->rf.dir_fd = t->rf.lock_fd = -1;
	t->notes = notes;
	if (getuid() != geteuid() || getgid() != getegid())
		return errf(e, "refusing to run setuid or setgid (see the "
		    "README's security section)");
	if (!has_privilege())
		return errf(e, "permission denied: ct must run as root "
		    "(it needs CAP_BPF and CAP_NET_ADMIN)");
	if (cgroup_root(t->cgroot, sizeof(t->cgroot), e) < 0)
		return -1;
	return registry_lock(&t->rf, create, e);
}

void
txn_end(struct txn *t)
{
	registry_free(&t->reg);
	registry_unlock(&t->rf);
	for (size_t i = 0; i < t->nchanged; i++)
		free(t->changed[i]);
	free(t->changed);
	t->changed = NULL;
	t->nchanged = 0;
}

int
txn_abs(const struct txn *t, const char *rel, char *abs, size_t len,
    struct err *e)
{
	if (cgroup_abs(abs, len, t->cgroot, rel) < 0)
		return errf(e, "cgroup path too long: %s", rel);
	return 0;
}

/* Whether the entry's cgroup is still the one the entry was made for. */
static int
still_there(const struct txn *t, const struct reg_cgroup *rc)
{
	struct err ignored;
	char abs[4096];
	uint64_t id;

	return txn_abs(t, rc->path, abs, sizeof(abs), &ignored) == 0 &&
	    cgroup_id(abs, &id, &ignored) == 0 && id == rc->id;
}

int
txn_open_cgroup(const struct txn *t, const struct reg_cgroup *rc,
    struct err *e)
{
	char abs[4096];
	uint64_t id;
	int fd;

	if (txn_abs(t, rc->path, abs, sizeof(abs), e) < 0)
		return -1;
	fd = cgroup_open(abs, e);
	if (fd < 0)
		return -1;
	/* Asked of the open directory: the path may name another by now. */
	if (cgroup_fd_id(fd, &id, e) < 0) {
		close(fd);
		return -1;
	}
	if (id != rc->id) {
		close(fd);
		return errf(e, "cgroup %s is no longer the one that was "
		    "limited (id %" PRIu64 ")", rc->path, rc->id);
	}
	return fd;
}

void
txn_changed(struct txn *t, const char *path)
{
	char **grown = realloc(t->changed,
	    (t->nchanged + 1) * sizeof(*grown));
	char *copy = strdup(path);

	if (grown != NULL)
		t->changed = grown;
	if (grown == NULL || copy == NULL) {
		/* Out of memory: a parent's precedence list goes stale. */
		free(copy);
		return;
	}
	t->changed[t->nchanged++] = copy;
}

void
txn_drop(struct txn *t, struct reg_cgroup *rc)
{
	txn_changed(t, rc->path);
	registry_drop(&t->reg, rc);
	t->dirty = 1;
}

/* The length of the parent part of a cgroup's path ("/a" of "/a/b"). */
static size_t
parent_len(const char *path)
{
	return (size_t)(strrchr(path, '/') - path);
}

/* An entry, and the length of the parent part of its path. */
struct placed {
	struct reg_cgroup *rc;
	size_t plen;
};

static int
same_parent(const struct placed *x, const struct placed *y)
{
	return x->plen == y->plen &&
	    memcmp(x->rc->path, y->rc->path, x->plen) == 0;
}

static int
by_parent(const void *a, const void *b)
{
	const struct placed *x = a, *y = b;
	int c = memcmp(x->rc->path, y->rc->path,
	    x->plen < y->plen ? x->plen : y->plen);

	return c != 0 ? c : (x->plen > y->plen) - (x->plen < y->plen);
}

/*
 * Whether the cgroups of a group of n entries with one parent are there,
 * into alive (by position in the registry): one read of the parent's
 * directory tells the ids of them all.  An id the listing does not confirm
 * is asked of the cgroup itself.
 */
static void
look_in_parent(struct txn *t, const struct placed *group, size_t n,
    char *alive)
{
	const char *first = group[0].rc->path;
	char parent[4096], abs[4096];
	struct cgroup_list kids;
	struct err ignored;

	snprintf(parent, sizeof(parent), "%.*s", (int)group[0].plen, first);
	if (txn_abs(t, parent[0] ? parent : "/", abs, sizeof(abs),
	    &ignored) < 0 || cgroup_children(abs, &kids, &ignored) < 0)
		memset(&kids, 0, sizeof(kids));
	for (size_t j = 0; j < n; j++) {
		struct reg_cgroup *rc = group[j].rc;
		const char *base = rc->path + group[j].plen + 1;

		alive[rc - t->reg.cg] = *base != '\0' &&
		    cgroup_child_id(&kids, base) == rc->id;
		if (!alive[rc - t->reg.cg])
			alive[rc - t->reg.cg] = still_there(t, rc);
	}
	cgroup_list_free(&kids);
}

/* Which entries' cgroups are still the ones they were made for. */
static int
look(struct txn *t, char *alive)
{
	size_t n = t->reg.ncg, start;
	struct placed *order = malloc((n ? n : 1) * sizeof(*order));
	int one_parent = 1;

	if (order == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		order[i].rc = &t->reg.cg[i];
		order[i].plen = parent_len(t->reg.cg[i].path);
		one_parent = one_parent && same_parent(&order[i], &order[0]);
	}
	/* Most often every limited cgroup has the same parent. */
	if (!one_parent)
		qsort(order, n, sizeof(*order), by_parent);
	for (start = 0; start < n;) {
		size_t end = start + 1;

		while (end < n && same_parent(&order[end], &order[start]))
			end++;
		look_in_parent(t, order + start, end - start, alive);
		start = end;
	}
	free(order);
	return 0;
}

/*
 * Entries whose cgroup is gone: the kernel detached their programs when the
 * cgroup went, so only the pins remain to be removed.
 */
static void
reconcile(struct txn *t)
{
	size_t n = t->reg.ncg, i = 0;
	char *alive = calloc(n ? n : 1, 1);

	if (alive == NULL || look(t, alive) < 0) {
		/* Out of memory: ask each cgroup on its own. */
		for (size_t k = 0; alive != NULL && k < n; k++)
			alive[k] = still_there(t, &t->reg.cg[k]);
	}
	for (size_t k = 0; k < n; k++) {
		struct reg_cgroup *rc = &t->reg.cg[i];
		struct err e;

		if (alive == NULL ? still_there(t, rc) : alive[k]) {
			i++;
			continue;
		}
		if (limiter_detach(-1, rc->pins, t->notes, &e) < 0) {
			note(t->notes, NOTE_WARNING, "%s", e.msg);
			i++;
			continue;
		}
		note(t->notes, NOTE_INFO, "cgroup %s (id %" PRIu64 ") no longer "
		    "exists; its limit is gone with it", rc->path, rc->id);
		txn_drop(t, rc);
	}
	free(alive);
}

int
txn_read(struct txn *t, struct err *e)
{
	return registry_load(&t->rf, &t->reg, e);
}

int
txn_load(struct txn *t, struct err *e)
{
	if (txn_read(t, e) < 0) {
		size_t len = strlen(e->msg);

		snprintf(e->msg + len, sizeof(e->msg) - len,
		    "; ct will not overwrite it ('ct cleanup' removes all of "
		    "ct's state)");
		return -1;
	}
	t->resync = registry_unsettled(&t->rf);
	if (registry_set_unsettled(&t->rf, 1, e) < 0)
		return -1;
	reconcile(t);
	return 0;
}

int
txn_save(struct txn *t, struct err *e)
{
	if (!t->dirty || t->rf.dir_fd < 0)
		return 0;
	if (registry_save(&t->rf, &t->reg, e) < 0)
		return -1;
	t->dirty = 0;
	return 0;
}

int
txn_commit(struct txn *t, struct err *e)
{
	if (txn_save(t, e) < 0)
		return -1;
	return registry_set_unsettled(&t->rf, 0, e);
}
