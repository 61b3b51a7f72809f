/* ct's own cgroups: see isolate.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "crash.h"
#include "isolate.h"
#include "proc.h"

/* The name of the cgroup --isolate makes for pid. */
static void
isolation_name(pid_t pid, char *name, size_t len)
{
	snprintf(name, len, "ct-%d", (int)pid);
}

/* Whether abs names a cgroup that --isolate makes: ct-<pid> below the mount. */
static int
is_isolation_path(const struct txn *t, const char *abs)
{
	size_t n = strlen(t->cgroot);
	const char *base;
	char name[32];
	struct err ignored;
	pid_t pid;

	if (strncmp(abs, t->cgroot, n) != 0 || abs[n] != '/' ||
	    strstr(abs, "/../") != NULL)
		return 0;
	base = strrchr(abs, '/') + 1;	/* there is one: abs[n] */
	if (strncmp(base, "ct-", 3) != 0 ||
	    proc_parse_pid(base + 3, &pid, &ignored) < 0)
		return 0;
	isolation_name(pid, name, sizeof(name));
	return strcmp(base, name) == 0;
}

/*
 * The file is root's, but a mark makes ct remove the cgroup one day, so only
 * a name --isolate could have made is taken from it.
 */
void
isolate_finish_making(struct txn *t)
{
	struct err ignored;
	char abs[4096];

	registry_making(&t->rf, abs, sizeof(abs));
	if (abs[0] != '\0' && is_isolation_path(t, abs) &&
	    access(abs, F_OK) == 0 && !cgroup_is_ours(abs))
		cgroup_mark(abs, &ignored);
	registry_set_making(&t->rf, NULL, &ignored);
}

/* Make the new cgroup abs, written down first so that a ct killed before
 * it is marked leaves its name for the next. */
static int
make_marked(struct txn *t, const char *abs, struct err *e)
{
	struct err ignored;
	int failed;

	/* Only a name that does not exist yet: a ct killed before the mark
	 * must never lead the next to mark another's cgroup. */
	if (access(abs, F_OK) < 0 && registry_set_making(&t->rf, abs, e) < 0)
		return -1;
	failed = cgroup_make(abs, e) < 0 &&
	    !(errno == EEXIST && cgroup_is_ours(abs));
	registry_set_making(&t->rf, NULL, &ignored);
	if (failed)
		return -1;
	crash_point("isolate-made");
	return 0;
}

int
isolate_cgroup(struct txn *t, pid_t pid, char *rel, size_t len, char *origin,
    int *move, struct err *e)
{
	char abs[4096], name[32];
	const char *base = strrchr(rel, '/') + 1;

	isolation_name(pid, name, sizeof(name));
	if (txn_abs(t, rel, abs, sizeof(abs), e) < 0)
		return -1;
	if (strcmp(base, name) == 0 && cgroup_is_ours(abs)) {
		snprintf(origin, len, "%.*s", (int)(base - 1 - rel), rel);
		if (origin[0] == '\0')
			snprintf(origin, len, "/");
		*move = 0;
		return 0;
	}
	snprintf(origin, len, "%s", rel);
	if (snprintf(rel, len, "%s/%s", strcmp(origin, "/") == 0 ? "" : origin,
	    name) >= (int)len || txn_abs(t, rel, abs, sizeof(abs), e) < 0)
		return errf(e, "cgroup path too long");
	if (make_marked(t, abs, e) < 0)
		return -1;
	*move = 1;
	return 0;
}

int
isolate_undo(struct txn *t, const struct reg_cgroup *rc, struct err *e)
{
	char abs[4096], origin[4096];
	struct err ignored;
	uint64_t id;

	if (txn_abs(t, rc->path, abs, sizeof(abs), e) < 0 ||
	    txn_abs(t, rc->origin, origin, sizeof(origin), e) < 0)
		return -1;
	if (!cgroup_is_ours(abs))
		return 0;	/* gone, or someone else's by now */
	if (cgroup_id(origin, &id, &ignored) < 0) {
		note(t->notes, NOTE_INFO, "cgroup %s is gone; moving the "
		    "processes of %s to the root cgroup instead", rc->origin,
		    rc->path);
		snprintf(origin, sizeof(origin), "%s", t->cgroot);
	}
	if (cgroup_drain(abs, origin, e) < 0)
		return -1;
	crash_point("isolation-drained");
	return cgroup_remove(abs, e);
}

void
isolate_roll_back(struct txn *t, const char *abs, const char *origin)
{
	struct err ignored;
	char to[4096];

	if (txn_abs(t, origin, to, sizeof(to), &ignored) == 0)
		cgroup_drain(abs, to, &ignored);
	cgroup_remove(abs, &ignored);
}

int
isolate_remove_orphan(const char *abs, int *removed, struct err *e)
{
	char parent[4096];

	*removed = 0;
	if (!cgroup_is_ours(abs))
		return 0;
	snprintf(parent, sizeof(parent), "%s", abs);
	*strrchr(parent, '/') = '\0';
	if (cgroup_drain(abs, parent, e) < 0 || cgroup_remove(abs, e) < 0)
		return -1;
	*removed = 1;
	return 0;
}
