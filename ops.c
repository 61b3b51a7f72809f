/* What each command does: see ops.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "crash.h"
#include "isolate.h"
#include "limiter.h"
#include "nest.h"
#include "ops.h"
#include "policy.h"
#include "proc.h"
#include "status.h"
#include "txn.h"

/*
 * Detach ct's programs on a cgroup that no registry entry or pin accounts
 * for: left behind by a registry or a pin removed by hand.
 */
static int
sweep_strays(struct txn *t, int fd, const char *rel, struct err *e)
{
	int n = 0;

	if (limiter_sweep(fd, &n, e) < 0)
		return -1;
	if (n > 0)
		note(t->notes, NOTE_WARNING, "detached %d orphan program%s of "
		    "ct's from cgroup %s (no registry entry or pin knew of %s)",
		    n, n > 1 ? "s" : "", rel, n > 1 ? "them" : "it");
	return 0;
}

/* Undo everything an entry stands for, then forget it. */
static int
teardown(struct txn *t, struct reg_cgroup *rc, struct err *e)
{
	struct err gone;
	int fd = txn_open_cgroup(t, rc, &gone), r;

	r = limiter_detach(fd, rc->pins, t->notes, e);
	if (r == 0 && fd >= 0)
		r = sweep_strays(t, fd, rc->path, e);
	if (fd >= 0)
		close(fd);
	if (r < 0)
		return -1;
	crash_point("teardown-detached");
	if (rc->origin != NULL && isolate_undo(t, rc, e) < 0)
		return -1;
	txn_drop(t, rc);
	return 0;
}

/* Whether the cgroup of a ct run's entry has emptied. */
static int
run_is_over(struct txn *t, const struct reg_cgroup *rc)
{
	struct err ignored;
	char abs[4096];
	int populated;

	return rc->owner == OWNER_RUN &&
	    txn_abs(t, rc->path, abs, sizeof(abs), &ignored) == 0 &&
	    cgroup_populated(abs, &populated, &ignored) == 0 && !populated;
}

/* The limits of ct runs whose cgroup has emptied go, with the cgroup. */
static void
reap_runs(struct txn *t)
{
	for (size_t i = 0; i < t->reg.ncg;) {
		struct reg_cgroup *rc = &t->reg.cg[i];
		struct err e;

		if (!run_is_over(t, rc)) {
			i++;
			continue;
		}
		note(t->notes, NOTE_INFO, "everything ct run started in "
		    "cgroup %s has exited; its limit is gone", rc->path);
		if (teardown(t, rc, &e) < 0) {
			note(t->notes, NOTE_WARNING, "%s", e.msg);
			i++;
		}
	}
}

/* Open the transaction of a command: the registry made to agree with the
 * kernel, and what a ct killed midway left finished. */
static int
begin(struct txn *t, int create, struct notes *n, struct err *e)
{
	if (txn_begin(t, create, n, e) < 0 || txn_load(t, e) < 0) {
		txn_end(t);
		return -1;
	}
	isolate_finish_making(t);
	return 0;
}

/* Tell the kernel what changed about nesting, and save: r, or -1. */
static int
settle(struct txn *t, int r, struct err *e)
{
	struct err later;

	nest_settle(t);
	/* A failed command's own message goes first. */
	if (txn_commit(t, r < 0 ? &later : e) < 0)
		r = -1;
	return r;
}

/* The same, and the end of the transaction. */
static int
finish(struct txn *t, int r, struct err *e)
{
	r = settle(t, r, e);
	txn_end(t);
	return r;
}

/* ---- limit ---- */

/* The user's changes applied to the entry's limits. */
static void
apply(struct reg_cgroup *rc, const struct limit_req *r)
{
	for (int d = 0; d < 2; d++) {
		if (!r->given[d])
			continue;
		rc->lim.dir[d].rate_bits = r->rate[d];
		rc->lim.dir[d].burst_bytes = r->burst ? r->burst :
		    policy_default_burst(r->rate[d], d);
	}
	registry_changed(rc);
}

static int
find_pid(const struct reg_cgroup *rc, pid_t pid, uint64_t start)
{
	for (size_t i = 0; i < rc->npids; i++)
		if (rc->pids[i].pid == pid && rc->pids[i].start == start)
			return (int)i;
	return -1;
}

/* Whom a new limit belongs to. */
static enum reg_owner
owner_of(const struct limit_req *r)
{
	if (r->cgroup != NULL)
		return OWNER_CGROUP;
	return r->run ? OWNER_RUN : OWNER_PIDS;
}

/* A new entry, written down before the kernel holds anything for it. */
static struct reg_cgroup *
register_new(struct txn *t, const char *rel, uint64_t id, const char *origin,
    const struct limit_req *r, uint64_t start, struct err *e)
{
	struct reg_cgroup *rc;
	char pins[512];

	if (limiter_pin_dir(id, pins, sizeof(pins), e) < 0)
		return NULL;
	rc = registry_add(&t->reg, id, rel, pins, origin);
	if (rc == NULL)
		return errf(e, "out of memory"), NULL;
	apply(rc, r);
	rc->owner = owner_of(r);
	if (r->cgroup == NULL && registry_add_pid(rc, r->pid, start) < 0) {
		errf(e, "out of memory");
		registry_drop(&t->reg, rc);
		return NULL;
	}
	t->dirty = 1;
	if (txn_save(t, e) < 0) {
		registry_drop(&t->reg, rc);
		return NULL;
	}
	txn_changed(t, rel);
	return rc;
}

/* Set an entry's limit in the kernel: in place where its programs are
 * attached, else by attaching them (again). */
static int
enforce(struct txn *t, struct reg_cgroup *rc, struct err *e)
{
	struct limiter_conf conf;
	struct limiter_view v;
	char pins[512];
	int fd = txn_open_cgroup(t, rc, e), r;

	if (fd < 0)
		return -1;
	nest_conf(&t->reg, rc, &conf);
	r = limiter_inspect(fd, rc->pins, &v, e);
	if (r == 0 && limiter_complete(&v)) {
		r = limiter_update(rc->pins, &conf, e);
	} else if (r == 0) {
		if (v.pinned[CT_DOWN] || v.pinned[CT_UP])
			note(t->notes, NOTE_INFO, "the programs of cgroup %s were "
			    "not attached; attaching them again", rc->path);
		r = limiter_detach(fd, rc->pins, t->notes, e);
		if (r == 0)
			r = sweep_strays(t, fd, rc->path, e);
		/* The bpffs may have been unmounted since. */
		if (r == 0)
			r = limiter_pin_dir(rc->id, pins, sizeof(pins), e);
		if (r == 0)
			r = limiter_attach(fd, rc->pins, &conf, e);
	}
	close(fd);
	return r;
}

static void
note_sharing(struct txn *t, const char *abs, const char *rel)
{
	struct err e;
	int n;

	if (cgroup_count_procs(abs, &n, &e) == 0 && n > 1)
		note(t->notes, NOTE_INFO, "the limit is shared by all %d "
		    "processes in cgroup %s", n, rel);
}

/* The process was limited in another cgroup before: that entry no longer
 * stands for it. */
static int
forget_elsewhere(struct txn *t, pid_t pid, uint64_t start, uint64_t keep,
    struct err *e)
{
	for (size_t i = 0; i < t->reg.ncg; i++) {
		struct reg_cgroup *rc = &t->reg.cg[i];
		int p = find_pid(rc, pid, start);

		if (p < 0 || rc->id == keep)
			continue;
		registry_drop_pid(rc, p);
		t->dirty = 1;
		/* Only a limit made for its processes goes with the last. */
		if (rc->npids == 0 && rc->owner == OWNER_PIDS)
			return teardown(t, rc, e);
	}
	return 0;
}

/* Undo a new entry whose limit could not be set. */
static void
roll_back(struct txn *t, struct reg_cgroup *rc, const char *abs, int isolated)
{
	if (isolated)
		isolate_roll_back(t, abs, rc->origin);
	txn_drop(t, rc);
}

/* The cgroup the limit goes on: pid's own, or one of ct's for --isolate. */
static int
target_cgroup(struct txn *t, const struct limit_req *r, char *rel,
    size_t len, char *origin, int *move, struct err *e)
{
	*move = 0;
	if (cgroup_of_pid(r->pid, rel, len, e) < 0)
		return -1;
	if (r->isolate)
		return isolate_cgroup(t, r->pid, rel, len, origin, move, e);
	if (strcmp(rel, "/") == 0)
		return errf(e, "process %d is in the root cgroup; limiting it "
		    "would limit the whole machine (use --isolate to give it "
		    "a cgroup of its own)", (int)r->pid);
	return 0;
}

/* ct limit --cgroup: the limit is the cgroup's own, with no process. */
static int
limit_cgroup(struct txn *t, const struct limit_req *r, struct err *e)
{
	struct reg_cgroup *rc;
	char abs[4096];
	uint64_t id;

	if (strcmp(r->cgroup, "/") == 0)
		return errf(e, "the root cgroup is refused: limiting it would "
		    "limit the whole machine");
	if (txn_abs(t, r->cgroup, abs, sizeof(abs), e) < 0 ||
	    cgroup_id(abs, &id, e) < 0)
		return -1;
	rc = registry_find(&t->reg, id);
	if (rc != NULL) {
		apply(rc, r);
		rc->owner = OWNER_CGROUP;
		t->dirty = 1;
		crash_point("limit-registered");
		return enforce(t, rc, e);
	}
	rc = register_new(t, r->cgroup, id, NULL, r, 0, e);
	if (rc == NULL)
		return -1;
	crash_point("limit-registered");
	if (enforce(t, rc, e) < 0) {
		roll_back(t, rc, abs, 0);
		return -1;
	}
	return 0;
}

static int
limit(struct txn *t, const struct limit_req *r, struct err *e)
{
	char rel[4096], origin[4096], abs[4096];
	struct reg_cgroup *rc;
	uint64_t start, id;
	int move, fresh = 0;

	if (r->cgroup != NULL)
		return limit_cgroup(t, r, e);
	if (proc_start_time(r->pid, &start, e) < 0 ||
	    target_cgroup(t, r, rel, sizeof(rel), origin, &move, e) < 0 ||
	    txn_abs(t, rel, abs, sizeof(abs), e) < 0 ||
	    cgroup_id(abs, &id, e) < 0)
		return -1;
	rc = registry_find(&t->reg, id);
	if (rc == NULL) {
		rc = register_new(t, rel, id, r->isolate ? origin : NULL, r,
		    start, e);
		if (rc == NULL)
			return -1;
		fresh = 1;
	} else {
		apply(rc, r);
		t->dirty = 1;
	}
	crash_point("limit-registered");
	if (move && cgroup_move(abs, r->pid, e) < 0) {
		if (fresh)
			roll_back(t, rc, abs, 1);
		return -1;
	}
	if (move && !r->run)
		note(t->notes, NOTE_INFO, "moved process %d into cgroup %s; "
		    "sockets it opened before stay in %s and are not limited",
		    (int)r->pid, rel, origin);
	if (enforce(t, rc, e) < 0) {
		if (fresh)
			roll_back(t, rc, abs, move);
		return -1;
	}
	if (find_pid(rc, r->pid, start) < 0) {
		if (registry_add_pid(rc, r->pid, start) < 0)
			return errf(e, "out of memory");
		t->dirty = 1;
	}
	note_sharing(t, abs, rel);
	return forget_elsewhere(t, r->pid, start, id, e);
}

int
ops_limit(const struct limit_req *r, struct notes *n, struct err *e)
{
	struct txn t;

	if (begin(&t, 1, n, e) < 0)
		return -1;
	reap_runs(&t);
	return finish(&t, limit(&t, r, e), e);
}

/* ---- unlimit ---- */

/* The entry of the cgroup pid is in, if there is one. */
static struct reg_cgroup *
entry_of_pid(struct txn *t, pid_t pid)
{
	char rel[4096], abs[4096];
	struct err ignored;
	uint64_t id;

	if (cgroup_of_pid(pid, rel, sizeof(rel), &ignored) < 0 ||
	    txn_abs(t, rel, abs, sizeof(abs), &ignored) < 0 ||
	    cgroup_id(abs, &id, &ignored) < 0)
		return NULL;
	return registry_find(&t->reg, id);
}

static void
note_not_limited(struct txn *t, pid_t pid)
{
	struct reg_cgroup *rc = entry_of_pid(t, pid);

	if (rc != NULL && rc->owner == OWNER_CGROUP)
		note(t->notes, NOTE_INFO, "the limit of cgroup %s, which "
		    "process %d is in, belongs to the cgroup; 'ct unlimit "
		    "--cgroup %s' removes it", rc->path, (int)pid, rc->path);
	else
		note(t->notes, NOTE_INFO, "process %d is not limited; "
		    "nothing to do", (int)pid);
}

static int
is_target(const struct reg_pid *p, pid_t pid, int live_entry, uint64_t live)
{
	return p->pid == pid && (!live_entry || p->start == live);
}

static int
unlimit(struct txn *t, pid_t pid, struct err *e)
{
	struct err ignored;
	uint64_t live = 0;
	int alive = proc_start_time(pid, &live, &ignored) == 0;
	int live_entry = 0, found = 0;

	/* The living process if it was limited; else whatever dead one
	 * had this pid, which a new process cannot be mistaken for. */
	for (size_t i = 0; i < t->reg.ncg; i++)
		if (alive && find_pid(&t->reg.cg[i], pid, live) >= 0)
			live_entry = 1;
	for (size_t i = 0; i < t->reg.ncg;) {
		struct reg_cgroup *rc = &t->reg.cg[i];
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
		if (n == rc->npids && rc->owner != OWNER_CGROUP) {
			if (teardown(t, rc, e) < 0)
				return -1;
			continue;
		}
		for (size_t p = 0; p < rc->npids;) {
			if (is_target(&rc->pids[p], pid, live_entry, live))
				registry_drop_pid(rc, p);
			else
				p++;
		}
		t->dirty = 1;
		i++;
	}
	if (!found)
		note_not_limited(t, pid);
	return 0;
}

int
ops_unlimit(pid_t pid, struct notes *n, struct err *e)
{
	struct txn t;

	if (begin(&t, 0, n, e) < 0)
		return -1;
	reap_runs(&t);
	return finish(&t, unlimit(&t, pid, e), e);
}

static int
unlimit_cgroup(struct txn *t, const char *rel, struct err *e)
{
	struct reg_cgroup *rc = NULL;
	struct err ignored;
	char abs[4096];
	uint64_t id;

	if (txn_abs(t, rel, abs, sizeof(abs), e) < 0)
		return -1;
	if (cgroup_id(abs, &id, &ignored) == 0)
		rc = registry_find(&t->reg, id);
	if (rc == NULL) {
		note(t->notes, NOTE_INFO, "cgroup %s is not limited; nothing "
		    "to do", rel);
		return 0;
	}
	return teardown(t, rc, e);
}

int
ops_unlimit_cgroup(const char *rel, struct notes *n, struct err *e)
{
	struct txn t;

	if (begin(&t, 0, n, e) < 0)
		return -1;
	reap_runs(&t);
	return finish(&t, unlimit_cgroup(&t, rel, e), e);
}

/* ---- run ---- */

static int
run_end(struct txn *t, pid_t pid, uint64_t start, struct err *e)
{
	for (size_t i = 0; i < t->reg.ncg; i++) {
		struct reg_cgroup *rc = &t->reg.cg[i];

		if (rc->owner != OWNER_RUN || find_pid(rc, pid, start) < 0)
			continue;
		if (run_is_over(t, rc))
			return teardown(t, rc, e);
		note(t->notes, NOTE_INFO, "processes that the command started "
		    "are still in cgroup %s: its limit stays until they have "
		    "all exited ('ct unlimit --cgroup %s' removes it now)",
		    rc->path, rc->path);
		return 0;
	}
	return 0;	/* removed meanwhile, by unlimit or cleanup */
}

int
ops_run_end(pid_t pid, uint64_t start, struct notes *n, struct err *e)
{
	struct txn t;
	int r;

	if (begin(&t, 0, n, e) < 0)
		return -1;
	r = run_end(&t, pid, start, e);
	reap_runs(&t);
	return finish(&t, r, e);
}

/* ---- status ---- */

int
ops_status(enum status_format fmt, FILE *out, struct notes *n, struct err *e)
{
	struct txn t;
	int r;

	if (begin(&t, 0, n, e) < 0)
		return -1;
	reap_runs(&t);
	r = settle(&t, 0, e);
	if (status_print(&t, fmt, out, r < 0 ? &(struct err){ "" } : e) < 0)
		r = -1;
	txn_end(&t);
	return r;
}

int
ops_sample(struct sample **samples, size_t *n, struct notes *notes,
    struct err *e)
{
	struct txn t;
	int r;

	*samples = NULL;
	*n = 0;
	if (begin(&t, 0, notes, e) < 0)
		return -1;
	reap_runs(&t);
	r = settle(&t, 0, e);
	if (status_sample(&t, samples, n) < 0 && r == 0)
		r = errf(e, "out of memory");
	txn_end(&t);
	return r;
}

/* ---- cleanup ---- */

struct sweep {
	struct txn *t;
	int failed;
};

/* Detach ct's programs that no entry accounts for; remove ct's orphan
 * cgroups.  Called for every cgroup, children first. */
static int
sweep_cgroup(const char *abs, void *arg, struct err *e)
{
	struct sweep *s = arg;
	const char *rel = abs + strlen(s->t->cgroot);
	int fd = cgroup_open(abs, e), removed;

	if (fd < 0)
		return 0;	/* removed meanwhile */
	if (*rel == '\0')
		rel = "/";
	if (sweep_strays(s->t, fd, rel, e) < 0) {
		note(s->t->notes, NOTE_ERROR, "%s on cgroup %s", e->msg, rel);
		s->failed = 1;
	}
	close(fd);
	if (strcmp(rel, "/") == 0)
		return 0;
	if (isolate_remove_orphan(abs, &removed, e) < 0) {
		note(s->t->notes, NOTE_ERROR, "%s", e->msg);
		s->failed = 1;
	} else if (removed) {
		note(s->t->notes, NOTE_WARNING, "removed orphan cgroup %s "
		    "that ct had made", rel);
	}
	return 0;
}

/* Remove the pin directories that no entry accounted for. */
static int
unpin_orphans(struct txn *t, struct err *e)
{
	char root[256];
	int pins = 0;

	if (limiter_pin_root(root, sizeof(root), e) < 0 ||
	    (root[0] != '\0' && limiter_unpin_all(root, &pins, e) < 0))
		return -1;
	if (pins > 0)
		note(t->notes, NOTE_WARNING, "removed %d orphan pin "
		    "director%s under %s", pins, pins > 1 ? "ies" : "y", root);
	return 0;
}

static int
cleanup(struct txn *t, struct err *e)
{
	struct sweep s = { t, 0 };

	isolate_finish_making(t);
	if (txn_read(t, e) < 0)
		note(t->notes, NOTE_WARNING, "%s; removing what the kernel "
		    "holds instead", e->msg);
	/* From the end, so that no entry is moved to fill a gap. */
	while (t->reg.ncg > 0) {
		struct reg_cgroup *rc = &t->reg.cg[t->reg.ncg - 1];

		if (teardown(t, rc, e) < 0) {
			note(t->notes, NOTE_ERROR, "%s", e->msg);
			s.failed = 1;
			txn_drop(t, rc);
		}
	}
	crash_point("cleanup-entries");
	if (cgroup_walk(t->cgroot, sweep_cgroup, &s, e) < 0) {
		note(t->notes, NOTE_ERROR, "%s", e->msg);
		s.failed = 1;
	}
	crash_point("cleanup-swept");
	if (unpin_orphans(t, e) < 0) {
		note(t->notes, NOTE_ERROR, "%s", e->msg);
		s.failed = 1;
	}
	if (!s.failed && registry_destroy(&t->rf, e) < 0) {
		note(t->notes, NOTE_ERROR, "%s", e->msg);
		s.failed = 1;
	}
	if (s.failed)
		return errf(e, "cleanup is incomplete: see the errors above");
	return 0;
}

int
ops_cleanup(struct notes *n, struct err *e)
{
	struct txn t;
	int r = -1;

	if (txn_begin(&t, 1, n, e) == 0)
		r = cleanup(&t, e);
	txn_end(&t);
	return r;
}
