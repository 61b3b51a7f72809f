/*
 * ct: cap the bandwidth of a running process's cgroup.
 *
 * This file is the command line: it reads arguments, takes the registry's
 * lock, makes the registry and the kernel agree, and says what happened.
 * How limits reach the kernel is limiter.c's business, how they are
 * remembered registry.c's, and cgroups are cgroup.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "crash.h"
#include "err.h"
#include "limiter.h"
#include "proc.h"
#include "rate.h"
#include "registry.h"

#define CT_VERSION "0.1.0"
#define PID_MAX 4194304		/* the kernel's ceiling for pid_max */

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static const char *const dir_names[2] = { "down", "up" };

/* What every command works on, once the registry is locked. */
struct ctx {
	char cgroot[256];	/* the cgroup2 mount */
	struct regfile rf;
	struct registry reg;
	struct notes notes;
	int dirty;		/* reg differs from the file */
};

/* ---- input ---- */

static int
parse_pid(const char *s, pid_t *pid, struct err *e)
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

static int
parse_rate(const char *s, uint64_t *bits, struct err *e)
{
	if (rate_parse(s, bits, e->msg, sizeof(e->msg)) < 0)
		return -1;
	return 0;
}

static int
has_privilege(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	uint64_t eff;

	if (syscall(SYS_capget, &h, d) < 0)
		return 0;
	eff = (uint64_t)d[1].effective << 32 | d[0].effective;
#define HAS(cap) ((eff >> (cap)) & 1)
	/* Loading needs CAP_BPF (or, on older kernels, CAP_SYS_ADMIN);
	 * attaching to a cgroup needs CAP_NET_ADMIN. */
	return HAS(CAP_NET_ADMIN) && (HAS(39) || HAS(CAP_SYS_ADMIN));
#undef HAS
}

/* ---- the registry and the kernel, together ---- */

static int
open_ctx(struct ctx *c, int create, struct err *e)
{
	memset(c, 0, sizeof(*c));
	c->rf.dir_fd = c->rf.lock_fd = -1;
	if (getuid() != geteuid() || getgid() != getegid())
		return errf(e, "refusing to run setuid or setgid (see the "
		    "README's security section)");
	if (!has_privilege())
		return errf(e, "permission denied: ct must run as root "
		    "(it needs CAP_BPF and CAP_NET_ADMIN)");
	if (cgroup_root(c->cgroot, sizeof(c->cgroot), e) < 0)
		return -1;
	return registry_lock(&c->rf, create, e);
}

static void
close_ctx(struct ctx *c)
{
	registry_free(&c->reg);
	registry_unlock(&c->rf);
	for (size_t i = 0; i < c->notes.n; i++)
		fprintf(stderr, "ct: %s\n", c->notes.line[i]);
	notes_free(&c->notes);
}

static int
abs_path(const struct ctx *c, const char *rel, char *abs, size_t len,
    struct err *e)
{
	if (cgroup_abs(abs, len, c->cgroot, rel) < 0)
		return errf(e, "cgroup path too long: %s", rel);
	return 0;
}

/* Open the entry's cgroup if it is still the one the entry was made for. */
static int
open_entry_cgroup(const struct ctx *c, const struct reg_cgroup *rc)
{
	char abs[4096];
	uint64_t id;

	if (cgroup_abs(abs, sizeof(abs), c->cgroot, rc->path) < 0 ||
	    cgroup_id(abs, &id) < 0 || id != rc->id)
		return -1;
	return cgroup_open(abs);
}

/*
 * Entries whose cgroup is gone: the kernel detached their programs when the
 * cgroup went, so only the pins remain to be removed.
 */
static void
reconcile(struct ctx *c)
{
	for (size_t i = 0; i < c->reg.ncg;) {
		struct reg_cgroup *rc = &c->reg.cg[i];
		int fd = open_entry_cgroup(c, rc), r;
		struct err e;

		if (fd >= 0) {
			close(fd);
			i++;
			continue;
		}
		r = limiter_detach(-1, rc->pins, &e);
		if (r != 0)
			note(&c->notes, "warning: %s", e.msg);
		if (r < 0) {
			i++;
			continue;
		}
		note(&c->notes, "cgroup %s (id %" PRIu64 ") no longer exists; "
		    "its limit is gone with it", rc->path, rc->id);
		registry_drop(&c->reg, rc);
		c->dirty = 1;
	}
}

/* The depth of a cgroup below the cgroup2 root: "/" is 0, "/a/b" is 2. */
static uint32_t
level_of(const char *rel)
{
	uint32_t n = 0;

	for (; *rel != '\0'; rel++)
		if (*rel == '/' && rel[1] != '\0')
			n++;
	return n;
}

static int
is_below(const char *path, const char *parent)
{
	size_t n = strlen(parent);

	if (strcmp(parent, "/") == 0)
		return strcmp(path, "/") != 0;
	return strncmp(path, parent, n) == 0 && path[n] == '/';
}

/* Give each entry the limited cgroups below it, whose traffic goes first. */
static void
find_inner(struct ctx *c)
{
	for (size_t i = 0; i < c->reg.ncg; i++) {
		struct limits *l = &c->reg.cg[i].lim;

		l->ninner = 0;
		memset(l->inner, 0, sizeof(l->inner));
		for (size_t j = 0; j < c->reg.ncg; j++) {
			const struct reg_cgroup *in = &c->reg.cg[j];

			if (l->ninner == CT_MAX_INNER ||
			    !is_below(in->path, c->reg.cg[i].path))
				continue;
			l->inner[l->ninner].id = in->id;
			l->inner[l->ninner].level = level_of(in->path);
			l->ninner++;
		}
	}
}

/* After limits came or went: tell each cgroup which ones are below it now. */
static void
renest(struct ctx *c)
{
	find_inner(c);
	for (size_t i = 0; i < c->reg.ncg; i++) {
		struct reg_cgroup *rc = &c->reg.cg[i];
		struct err e;

		if (limiter_update(rc->pins, &rc->lim, &e) < 0)
			note(&c->notes, "warning: %s", e.msg);
	}
}

/* The name of the cgroup --isolate makes for pid. */
static void
isolation_name(pid_t pid, char *name, size_t len)
{
	snprintf(name, len, "ct-%d", (int)pid);
}

/* Whether abs names a cgroup that --isolate makes: ct-<pid> below the mount. */
static int
is_isolation_path(const struct ctx *c, const char *abs)
{
	size_t n = strlen(c->cgroot);
	const char *base;
	char name[32];
	struct err ignored;
	pid_t pid;

	if (strncmp(abs, c->cgroot, n) != 0 || abs[n] != '/' ||
	    strstr(abs, "/../") != NULL)
		return 0;
	base = strrchr(abs, '/') + 1;	/* there is one: abs[n] */
	if (strncmp(base, "ct-", 3) != 0 || parse_pid(base + 3, &pid,
	    &ignored) < 0)
		return 0;
	isolation_name(pid, name, sizeof(name));
	return strcmp(base, name) == 0;
}

/*
 * Mark the cgroup a ct killed during --isolate had made but not marked.  The
 * file is root's, but a mark makes ct remove the cgroup one day, so only a
 * name --isolate could have made is taken from it.
 */
static void
finish_making(struct ctx *c)
{
	char abs[4096];

	if (registry_making(&c->rf, abs, sizeof(abs)) == 1 &&
	    is_isolation_path(c, abs) && access(abs, F_OK) == 0 &&
	    !cgroup_is_ours(abs))
		cgroup_mark(abs);
	registry_set_making(&c->rf, NULL);
}

static int
load_ctx(struct ctx *c, struct err *e)
{
	if (registry_load(&c->rf, &c->reg, e) < 0) {
		size_t len = strlen(e->msg);

		snprintf(e->msg + len, sizeof(e->msg) - len,
		    "; ct will not overwrite it ('ct cleanup' removes all of "
		    "ct's state)");
		return -1;
	}
	finish_making(c);
	reconcile(c);
	find_inner(c);
	return 0;
}

static int
save_ctx(struct ctx *c, struct err *e)
{
	if (!c->dirty || c->rf.dir_fd < 0)
		return 0;
	if (registry_save(&c->rf, &c->reg, e) < 0)
		return -1;
	c->dirty = 0;
	return 0;
}

/* Move the processes of ct's own cgroup back to where they came from. */
static int
undo_isolation(struct ctx *c, const struct reg_cgroup *rc, struct err *e)
{
	char abs[4096], origin[4096];

	if (abs_path(c, rc->path, abs, sizeof(abs), e) < 0 ||
	    abs_path(c, rc->origin, origin, sizeof(origin), e) < 0)
		return -1;
	if (!cgroup_is_ours(abs))
		return 0;	/* gone, or someone else's by now */
	if (cgroup_id(origin, &(uint64_t){ 0 }) < 0) {
		note(&c->notes, "cgroup %s is gone; moving the processes of %s "
		    "to the root cgroup instead", rc->origin, rc->path);
		snprintf(origin, sizeof(origin), "%s", c->cgroot);
	}
	if (cgroup_drain(abs, origin, e) < 0)
		return -1;
	crash_point("isolation-drained");
	return cgroup_remove(abs, e);
}

/*
 * Detach ct's programs on a cgroup that no registry entry or pin accounts
 * for: left behind by a registry or a pin removed by hand.
 */
static int
sweep_strays(struct ctx *c, int fd, const char *rel, struct err *e)
{
	int n = 0;

	if (limiter_sweep(fd, &n, e) < 0)
		return -1;
	if (n > 0)
		note(&c->notes, "warning: detached %d orphan program%s of ct's "
		    "from cgroup %s (no registry entry or pin knew of %s)", n,
		    n > 1 ? "s" : "", rel, n > 1 ? "them" : "it");
	return 0;
}

/* Undo everything an entry stands for, then forget it. */
static int
teardown(struct ctx *c, struct reg_cgroup *rc, struct err *e)
{
	int fd = open_entry_cgroup(c, rc), r;

	r = limiter_detach(fd, rc->pins, e);
	if (r > 0) {
		note(&c->notes, "warning: %s", e->msg);
		r = 0;
	}
	if (r == 0 && fd >= 0)
		r = sweep_strays(c, fd, rc->path, e);
	if (fd >= 0)
		close(fd);
	if (r < 0)
		return -1;
	crash_point("teardown-detached");
	if (rc->origin != NULL && undo_isolation(c, rc, e) < 0)
		return -1;
	registry_drop(&c->reg, rc);
	c->dirty = 1;
	return 0;
}

/* ---- limit ---- */

struct limit_args {
	pid_t pid;
	int isolate;
	int given[2];		/* which directions the user set */
	uint64_t rate[2];
	uint64_t burst;		/* 0: ct's default */
};

static int
parse_limit(int argc, char **argv, struct limit_args *a, struct err *e)
{
	const char *pos[2] = { NULL, NULL };
	int npos = 0;

	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--isolate") == 0) {
			a->isolate = 1;
		} else if (strcmp(arg, "--down") == 0 || strcmp(arg, "--up") == 0) {
			int d = arg[2] == 'd' ? CT_DOWN : CT_UP;

			if (i + 1 == argc)
				return errf(e, "%s needs a rate", arg);
			if (parse_rate(argv[++i], &a->rate[d], e) < 0)
				return -1;
			a->given[d] = 1;
		} else if (strcmp(arg, "--burst") == 0) {
			if (i + 1 == argc)
				return errf(e, "--burst needs a size");
			if (size_parse(argv[++i], &a->burst, e->msg,
			    sizeof(e->msg)) < 0)
				return -1;
		} else if (arg[0] == '-' && arg[1] != '\0') {
			return errf(e, "unknown option '%s' for limit", arg);
		} else if (npos == 2) {
			return errf(e, "too many arguments for limit");
		} else {
			pos[npos++] = arg;
		}
	}
	if (parse_pid(pos[0], &a->pid, e) < 0)
		return -1;
	if (pos[1] != NULL && (a->given[CT_DOWN] || a->given[CT_UP]))
		return errf(e, "give either one rate or --down/--up, not both");
	if (pos[1] != NULL) {
		if (parse_rate(pos[1], &a->rate[CT_DOWN], e) < 0)
			return -1;
		a->rate[CT_UP] = a->rate[CT_DOWN];
		a->given[CT_DOWN] = a->given[CT_UP] = 1;
	}
	if (!a->given[CT_DOWN] && !a->given[CT_UP])
		return errf(e, "missing rate (for example: ct limit %s 10mbit)",
		    pos[0]);
	return 0;
}

/* The entry's limits with the user's changes applied. */
static void
apply_args(struct limits *l, const struct limit_args *a)
{
	for (int d = 0; d < 2; d++) {
		if (!a->given[d])
			continue;
		l->dir[d].rate_bits = a->rate[d];
		l->dir[d].burst_bytes = a->burst ? a->burst :
		    limiter_default_burst(a->rate[d], d);
	}
}

static int
find_pid(const struct reg_cgroup *rc, pid_t pid, uint64_t start)
{
	for (size_t i = 0; i < rc->npids; i++)
		if (rc->pids[i].pid == pid && rc->pids[i].start == start)
			return (int)i;
	return -1;
}

/*
 * The cgroup of ct's own that --isolate puts pid in: the one it is in already,
 * after an earlier --isolate (or one that was cut short), else a new one
 * below its current cgroup.  rel is the current cgroup on entry and the
 * chosen one on return; *move says whether pid still has to go there.
 */
static int
isolation_cgroup(struct ctx *c, pid_t pid, char *rel, size_t len,
    char *origin, int *move, struct err *e)
{
	char abs[4096], name[32];
	const char *base = strrchr(rel, '/') + 1;
	int failed;

	isolation_name(pid, name, sizeof(name));
	if (abs_path(c, rel, abs, sizeof(abs), e) < 0)
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
	    name) >= (int)len || abs_path(c, rel, abs, sizeof(abs), e) < 0)
		return errf(e, "cgroup path too long");
	/* Written down first, but only a name that does not exist yet: a ct
	 * killed before the mark must never lead the next to mark another's. */
	if (access(abs, F_OK) < 0 && registry_set_making(&c->rf, abs) < 0)
		return errnof(e, "cannot write down cgroup %s", rel);
	failed = cgroup_make(abs, e) < 0 &&
	    !(errno == EEXIST && cgroup_is_ours(abs));
	registry_set_making(&c->rf, NULL);
	if (failed)
		return -1;
	crash_point("isolate-made");
	*move = 1;
	return 0;
}

/* A new entry, written down before the kernel holds anything for it. */
static struct reg_cgroup *
register_new(struct ctx *c, const char *rel, uint64_t id, const char *origin,
    const struct limit_args *a, uint64_t start, struct err *e)
{
	char root[256], pins[512];
	struct reg_cgroup *rc;

	if (limiter_pin_root(root, sizeof(root), 1, e) < 0)
		return NULL;
	snprintf(pins, sizeof(pins), "%s/%" PRIu64, root, id);
	rc = registry_add(&c->reg, id, rel, pins, origin);
	if (rc == NULL)
		return errf(e, "out of memory"), NULL;
	apply_args(&rc->lim, a);
	c->dirty = 1;
	if (registry_add_pid(rc, a->pid, start) < 0) {
		errf(e, "out of memory");
		registry_drop(&c->reg, rc);
		return NULL;
	}
	if (save_ctx(c, e) < 0) {
		registry_drop(&c->reg, rc);
		return NULL;
	}
	return rc;
}

/* Set an entry's limit in the kernel: in place where its programs are
 * attached, else by attaching them (again). */
static int
enforce(struct ctx *c, struct reg_cgroup *rc, struct err *e)
{
	struct attach_state st;
	char root[256];
	int fd = open_entry_cgroup(c, rc), r;

	if (fd < 0)
		return errnof(e, "cannot open cgroup %s", rc->path);
	r = limiter_state(fd, rc->pins, &st, e);
	if (r == 0 && st.attached[CT_DOWN] && st.attached[CT_UP]) {
		r = limiter_update(rc->pins, &rc->lim, e);
	} else if (r == 0) {
		if (st.pinned[CT_DOWN] || st.pinned[CT_UP])
			note(&c->notes, "the programs of cgroup %s were not "
			    "attached; attaching them again", rc->path);
		/* A foreign pin in the way (r > 0) stops the new ones too. */
		r = limiter_detach(fd, rc->pins, e) != 0 ? -1 : 0;
		if (r == 0)
			r = sweep_strays(c, fd, rc->path, e);
		/* The bpffs may have been unmounted since. */
		if (r == 0)
			r = limiter_pin_root(root, sizeof(root), 1, e);
		if (r == 0)
			r = limiter_attach(fd, rc->pins, &rc->lim, e);
	}
	close(fd);
	return r;
}

static void
note_sharing(struct ctx *c, const char *abs, const char *rel)
{
	struct err e;
	int n;

	if (cgroup_count_procs(abs, &n, &e) == 0 && n > 1)
		note(&c->notes, "the limit is shared by all %d processes in "
		    "cgroup %s", n, rel);
}

/* The process was limited in another cgroup before: that entry no longer
 * stands for it. */
static int
forget_elsewhere(struct ctx *c, pid_t pid, uint64_t start, uint64_t keep,
    struct err *e)
{
	for (size_t i = 0; i < c->reg.ncg; i++) {
		struct reg_cgroup *rc = &c->reg.cg[i];
		int p = find_pid(rc, pid, start);

		if (p < 0 || rc->id == keep)
			continue;
		registry_drop_pid(rc, p);
		c->dirty = 1;
		if (rc->npids == 0)
			return teardown(c, rc, e);
	}
	return 0;
}

/* Undo a new entry whose limit could not be set. */
static void
roll_back(struct ctx *c, struct reg_cgroup *rc, const char *abs, int isolated)
{
	struct err ignored;

	if (isolated) {
		char origin[4096];

		if (abs_path(c, rc->origin, origin, sizeof(origin), &ignored) == 0)
			cgroup_drain(abs, origin, &ignored);
		cgroup_remove(abs, &ignored);
	}
	registry_drop(&c->reg, rc);
	c->dirty = 1;
}

static int
do_limit(struct ctx *c, const struct limit_args *a, struct err *e)
{
	char rel[4096], origin[4096], abs[4096];
	struct reg_cgroup *rc;
	uint64_t start, id;
	int move = 0, fresh = 0;

	if (proc_start_time(a->pid, &start) < 0)
		return errno == ENOENT ? errf(e, "no process %d", (int)a->pid) :
		    errnof(e, "cannot read process %d", (int)a->pid);
	if (cgroup_of_pid(a->pid, rel, sizeof(rel), e) < 0)
		return -1;
	if (a->isolate) {
		if (isolation_cgroup(c, a->pid, rel, sizeof(rel), origin, &move,
		    e) < 0)
			return -1;
	} else if (strcmp(rel, "/") == 0) {
		return errf(e, "process %d is in the root cgroup; limiting it "
		    "would limit the whole machine (use --isolate to give it "
		    "a cgroup of its own)", (int)a->pid);
	}
	if (abs_path(c, rel, abs, sizeof(abs), e) < 0)
		return -1;
	if (cgroup_id(abs, &id) < 0)
		return errnof(e, "cannot identify cgroup %s", rel);
	rc = registry_find(&c->reg, id);
	if (rc == NULL) {
		rc = register_new(c, rel, id, a->isolate ? origin : NULL, a,
		    start, e);
		if (rc == NULL)
			return -1;
		fresh = 1;
	} else {
		apply_args(&rc->lim, a);
		c->dirty = 1;
	}
	crash_point("limit-registered");
	if (move && cgroup_move(abs, a->pid, e) < 0) {
		if (fresh)
			roll_back(c, rc, abs, 1);
		return -1;
	}
	if (move)
		note(&c->notes, "moved process %d into cgroup %s; sockets it "
		    "opened before stay in %s and are not limited", (int)a->pid,
		    rel, origin);
	if (enforce(c, rc, e) < 0) {
		if (fresh)
			roll_back(c, rc, abs, move);
		return -1;
	}
	if (find_pid(rc, a->pid, start) < 0) {
		if (registry_add_pid(rc, a->pid, start) < 0)
			return errf(e, "out of memory");
		c->dirty = 1;
	}
	note_sharing(c, abs, rel);
	return forget_elsewhere(c, a->pid, start, id, e);
}

static int
cmd_limit(int argc, char **argv, struct err *e)
{
	struct limit_args a;
	struct ctx c;
	int r;

	if (parse_limit(argc, argv, &a, e) < 0)
		return EXIT_USAGE;
	if (open_ctx(&c, 1, e) < 0 || load_ctx(&c, e) < 0) {
		close_ctx(&c);
		return EXIT_FAIL;
	}
	r = do_limit(&c, &a, e);
	if (r == 0)
		renest(&c);
	if (save_ctx(&c, r < 0 ? &(struct err){ "" } : e) < 0)
		r = -1;
	close_ctx(&c);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

/* ---- unlimit ---- */

static int
is_target(const struct reg_pid *p, pid_t pid, int live_entry, uint64_t live)
{
	return p->pid == pid && (!live_entry || p->start == live);
}

static int
do_unlimit(struct ctx *c, pid_t pid, struct err *e)
{
	uint64_t live = 0;
	int alive = proc_start_time(pid, &live) == 0, live_entry = 0, found = 0;

	/* The living process if it was limited; else whatever dead one
	 * had this pid, which a new process cannot be mistaken for. */
	for (size_t i = 0; i < c->reg.ncg; i++)
		if (alive && find_pid(&c->reg.cg[i], pid, live) >= 0)
			live_entry = 1;
	for (size_t i = 0; i < c->reg.ncg;) {
		struct reg_cgroup *rc = &c->reg.cg[i];
		size_t n = 0;

		for (size_t p = 0; p < rc->npids; p++)
			n += is_target(&rc->pids[p], pid, live_entry, live);
		if (n == 0) {
			i++;
			continue;
		}
		found = 1;
		/* Its last limited process: the limit goes, or stays whole so
		 * that the unlimit can be tried again. */
		if (n == rc->npids) {
			if (teardown(c, rc, e) < 0)
				return -1;
			continue;
		}
		for (size_t p = 0; p < rc->npids;) {
			if (is_target(&rc->pids[p], pid, live_entry, live))
				registry_drop_pid(rc, p);
			else
				p++;
		}
		c->dirty = 1;
		i++;
	}
	if (!found)
		note(&c->notes, "process %d is not limited; nothing to do",
		    (int)pid);
	return 0;
}

static int
cmd_unlimit(int argc, char **argv, struct err *e)
{
	struct ctx c;
	pid_t pid;
	int r;

	if (argc > 1)
		return errf(e, "too many arguments for unlimit"), EXIT_USAGE;
	if (argc == 1 && argv[0][0] == '-' && argv[0][1] != '\0' &&
	    (argv[0][1] < '0' || argv[0][1] > '9'))
		return errf(e, "unknown option '%s' for unlimit", argv[0]),
		    EXIT_USAGE;
	if (parse_pid(argc ? argv[0] : NULL, &pid, e) < 0)
		return EXIT_USAGE;
	if (open_ctx(&c, 0, e) < 0 || load_ctx(&c, e) < 0) {
		close_ctx(&c);
		return EXIT_FAIL;
	}
	r = do_unlimit(&c, pid, e);
	if (r == 0)
		renest(&c);
	if (save_ctx(&c, r < 0 ? &(struct err){ "" } : e) < 0)
		r = -1;
	close_ctx(&c);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

/* ---- cleanup ---- */

struct sweep {
	struct ctx *c;
	int failed;
};

/* Detach ct's programs that no entry accounts for; remove ct's orphan
 * cgroups.  Called for every cgroup, children first. */
static int
sweep_cgroup(const char *abs, void *arg, struct err *e)
{
	struct sweep *s = arg;
	const char *rel = abs + strlen(s->c->cgroot);
	int fd = cgroup_open(abs);

	if (fd < 0)
		return 0;	/* removed meanwhile */
	if (sweep_strays(s->c, fd, *rel ? rel : "/", e) < 0) {
		note(&s->c->notes, "error: %s on cgroup %s", e->msg,
		    *rel ? rel : "/");
		s->failed = 1;
	}
	close(fd);
	if (*rel != '\0' && cgroup_is_ours(abs)) {
		char parent[4096];

		snprintf(parent, sizeof(parent), "%s", abs);
		*strrchr(parent, '/') = '\0';
		if (cgroup_drain(abs, parent, e) < 0 ||
		    cgroup_remove(abs, e) < 0) {
			note(&s->c->notes, "error: %s", e->msg);
			s->failed = 1;
		} else {
			note(&s->c->notes, "warning: removed orphan cgroup %s "
			    "that ct had made", rel);
		}
	}
	return 0;
}

static int
cmd_cleanup(int argc, char **argv, struct err *e)
{
	struct sweep s = { NULL, 0 };
	char root[256];
	struct ctx c;
	int pins = 0;

	(void)argv;
	if (argc > 0)
		return errf(e, "cleanup takes no arguments"), EXIT_USAGE;
	if (open_ctx(&c, 1, e) < 0) {
		close_ctx(&c);
		return EXIT_FAIL;
	}
	s.c = &c;
	finish_making(&c);
	if (registry_load(&c.rf, &c.reg, e) < 0)
		note(&c.notes, "warning: %s; removing what the kernel holds "
		    "instead", e->msg);
	while (c.reg.ncg > 0) {
		if (teardown(&c, &c.reg.cg[0], e) < 0) {
			note(&c.notes, "error: %s", e->msg);
			s.failed = 1;
			registry_drop(&c.reg, &c.reg.cg[0]);
		}
	}
	crash_point("cleanup-entries");
	if (cgroup_walk(c.cgroot, sweep_cgroup, &s, e) < 0) {
		note(&c.notes, "error: %s", e->msg);
		s.failed = 1;
	}
	crash_point("cleanup-swept");
	if (limiter_pin_root(root, sizeof(root), 0, e) < 0 ||
	    (root[0] && limiter_unpin_all(root, &pins, e) < 0)) {
		note(&c.notes, "error: %s", e->msg);
		s.failed = 1;
	} else if (pins > 0) {
		note(&c.notes, "warning: removed %d orphan pin director%s under "
		    "%s", pins, pins > 1 ? "ies" : "y", root);
	}
	if (!s.failed && registry_destroy(&c.rf, e) < 0) {
		note(&c.notes, "error: %s", e->msg);
		s.failed = 1;
	}
	close_ctx(&c);
	if (s.failed)
		return errf(e, "cleanup is incomplete: see the errors above"),
		    EXIT_FAIL;
	return EXIT_OK;
}

/* ---- status ---- */

struct entry_status {
	const struct reg_cgroup *rc;
	struct attach_state st;
	struct dir_stats stats[2];
	int have_stats;
	int attached;
};

static void
collect(struct ctx *c, const struct reg_cgroup *rc, struct entry_status *es)
{
	int fd = open_entry_cgroup(c, rc);
	struct err e;

	memset(es, 0, sizeof(*es));
	es->rc = rc;
	if (limiter_state(fd, rc->pins, &es->st, &e) < 0)
		note(&c->notes, "warning: %s", e.msg);
	if (fd >= 0)
		close(fd);
	/* What the kernel holds decides, pinned or not. */
	es->attached = es->st.running[CT_DOWN] && es->st.running[CT_UP];
	if (es->attached && !(es->st.attached[CT_DOWN] &&
	    es->st.attached[CT_UP]))
		note(&c->notes, "cgroup %s has ct's programs attached, but not "
		    "the pinned ones; 'ct limit' or 'ct unlimit' repairs it",
		    rc->path);
	es->have_stats = limiter_stats(rc->pins, es->stats, &e) == 0;
}

static void
print_text(const struct entry_status *es)
{
	const struct reg_cgroup *rc = es->rc;
	char rate[32], burst[32];

	printf("%s (id %" PRIu64 ")%s: %s\n", rc->path, rc->id,
	    rc->origin ? " isolated" : "", es->attached ? "attached" :
	    "NOT ATTACHED (the kernel does not hold ct's programs here)");
	for (int d = 0; d < 2; d++) {
		const struct dir_limit *l = &rc->lim.dir[d];
		const struct dir_stats *s = &es->stats[d];

		if (l->rate_bits == 0) {
			snprintf(rate, sizeof(rate), "unlimited");
			burst[0] = '\0';
		} else {
			rate_format(l->rate_bits, rate, sizeof(rate));
			size_format(l->burst_bytes, burst, sizeof(burst));
		}
		printf("  %-4s %-10s burst %-8s passed %" PRIu64 " bytes (%"
		    PRIu64 " packets), dropped %" PRIu64 " bytes (%" PRIu64
		    " packets)\n", dir_names[d], rate, burst[0] ? burst : "-",
		    s->passed_bytes, s->passed_packets, s->dropped_bytes,
		    s->dropped_packets);
	}
	printf("  pids:");
	for (size_t p = 0; p < rc->npids; p++)
		printf(" %d (%s)", (int)rc->pids[p].pid,
		    proc_is(rc->pids[p].pid, rc->pids[p].start) ? "alive" :
		    "exited");
	printf("\n");
}

/* The length of the valid UTF-8 sequence at s, or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	uint32_t cp = s[0] & (0x3f >> (n - 1));

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and what lies past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/*
 * A JSON string.  Cgroup names are bytes, JSON text is UTF-8: a byte that is
 * not part of valid UTF-8 is written as \u00XX, the character of that value.
 */
static void
json_string(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	putchar('"');
	while (*s != '\0') {
		size_t n = *s >= 0x80 ? utf8_len(s) : 1;

		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if (*s < 0x20 || *s == 0x7f || n == 0)
			printf("\\u%04x", *s);
		else
			fwrite(s, 1, n, stdout);
		s += n ? n : 1;
	}
	putchar('"');
}

static void
print_json_entry(const struct entry_status *es)
{
	const struct reg_cgroup *rc = es->rc;

	printf("{\"path\":");
	json_string(rc->path);
	printf(",\"id\":%" PRIu64 ",\"isolated\":%s,\"attached\":%s",
	    rc->id, rc->origin ? "true" : "false",
	    es->attached ? "true" : "false");
	for (int d = 0; d < 2; d++) {
		const struct dir_stats *s = &es->stats[d];

		printf(",\"%s\":{\"rate_bits\":%" PRIu64 ",\"burst_bytes\":%"
		    PRIu64 ",\"passed_bytes\":%" PRIu64 ",\"passed_packets\":%"
		    PRIu64 ",\"dropped_bytes\":%" PRIu64 ",\"dropped_packets\":%"
		    PRIu64 "}", dir_names[d], rc->lim.dir[d].rate_bits,
		    rc->lim.dir[d].burst_bytes, s->passed_bytes,
		    s->passed_packets, s->dropped_bytes, s->dropped_packets);
	}
	printf(",\"pids\":[");
	for (size_t p = 0; p < rc->npids; p++)
		printf("%s{\"pid\":%d,\"start_time\":%" PRIu64 ",\"alive\":%s}",
		    p ? "," : "", (int)rc->pids[p].pid, rc->pids[p].start,
		    proc_is(rc->pids[p].pid, rc->pids[p].start) ? "true" :
		    "false");
	printf("]}");
}

static int
cmd_status(int argc, char **argv, struct err *e)
{
	int json = 0, r = 0;
	struct ctx c;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") != 0)
			return errf(e, "unknown argument '%s' for status",
			    argv[i]), EXIT_USAGE;
		json = 1;
	}
	if (open_ctx(&c, 0, e) < 0 || load_ctx(&c, e) < 0) {
		close_ctx(&c);
		return EXIT_FAIL;
	}
	if (save_ctx(&c, e) < 0)
		r = -1;
	if (json)
		printf("{\"version\":1,\"cgroups\":[");
	else if (c.reg.ncg == 0)
		printf("no limits\n");
	for (size_t i = 0; i < c.reg.ncg; i++) {
		struct entry_status es;

		collect(&c, &c.reg.cg[i], &es);
		if (json) {
			printf(i ? "," : "");
			print_json_entry(&es);
		} else {
			print_text(&es);
		}
	}
	if (json) {
		printf("],\"notes\":[");
		for (size_t i = 0; i < c.notes.n; i++) {
			printf(i ? "," : "");
			json_string(c.notes.line[i]);
		}
		printf("]}\n");
	}
	close_ctx(&c);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

/* ---- main ---- */

static const char usage_text[] =
    "usage: ct limit [--isolate] [--burst SIZE] PID RATE\n"
    "       ct limit [--isolate] [--burst SIZE] PID [--down RATE] [--up RATE]\n"
    "       ct unlimit PID\n"
    "       ct cleanup\n"
    "       ct status [--json]\n"
    "       ct --help | --version | COMMAND --help\n";

struct command {
	const char *name;
	int (*run)(int argc, char **argv, struct err *e);
	const char *help;
};

static const struct command commands[] = {
	{ "limit", cmd_limit,
	    "usage: ct limit [--isolate] [--burst SIZE] PID RATE\n"
	    "       ct limit [--isolate] [--burst SIZE] PID [--down RATE] "
	    "[--up RATE]\n\n"
	    "Cap the download (--down) and upload (--up) of the cgroup v2 that\n"
	    "PID belongs to; one RATE sets both.  Every process in that cgroup\n"
	    "shares the limit.  Limiting again changes the rate in place.\n"
	    "RATE is in tc's units: 10mbit, 512kbit, 1gbit, 2mbps (bytes/s),\n"
	    "4mibit; counted in IP bytes, headers included.\n"
	    "--isolate  move PID into a new cgroup of its own first (needed for\n"
	    "           a process in the root cgroup)\n"
	    "--burst    bucket size in tc's size units (default: one second of\n"
	    "           the rate, at least 32kb down and 80kb up)\n" },
	{ "unlimit", cmd_unlimit,
	    "usage: ct unlimit PID\n\n"
	    "Remove the limit set for PID, even after the process has exited.\n"
	    "The cgroup's limit goes when its last limited process is unlimited.\n" },
	{ "cleanup", cmd_cleanup,
	    "usage: ct cleanup\n\n"
	    "Remove every trace of ct: its programs (also ones the registry has\n"
	    "lost), pins, cgroups and /run/ct.  Programs ct did not load are\n"
	    "never touched.\n" },
	{ "status", cmd_status,
	    "usage: ct status [--json]\n\n"
	    "List each limited cgroup, its rates, counters and processes, and\n"
	    "whether the kernel really holds its programs.\n" },
};

int
main(int argc, char **argv)
{
	struct err e = { "" };
	int status;

	if (argc < 2) {
		fprintf(stderr, "ct: missing command (try ct --help)\n");
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("ct %s\n", CT_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *cmd = &commands[i];

		if (strcmp(argv[1], cmd->name) != 0)
			continue;
		for (int a = 2; a < argc; a++)
			if (strcmp(argv[a], "--help") == 0) {
				fputs(cmd->help, stdout);
				return EXIT_OK;
			}
		status = cmd->run(argc - 2, argv + 2, &e);
		if (status != EXIT_OK)
			fprintf(stderr, "ct: %s\n", e.msg);
		return status;
	}
	fprintf(stderr, "ct: unknown command '%s' (try ct --help)\n", argv[1]);
	return EXIT_USAGE;
}
