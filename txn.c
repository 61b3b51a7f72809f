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

/*
 * Entries whose cgroup is gone: the kernel detached their programs when the
 * cgroup went, so only the pins remain to be removed.
 */
static void
reconcile(struct txn *t)
{
	for (size_t i = 0; i < t->reg.ncg;) {
		struct reg_cgroup *rc = &t->reg.cg[i];
		struct err e;

		if (still_there(t, rc)) {
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
