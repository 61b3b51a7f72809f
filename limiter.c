/* What ct puts in the kernel for one cgroup: see limiter.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "bpf.h"
#include "bucket.h"
#include "crash.h"
#include "limiter.h"
#include "mounts.h"
#include "obj.h"
#include "ours.h"
#include "policy.h"

_Static_assert(LIMITER_MAX_INNER == CT_MAX_INNER, "inner list sizes differ");
_Static_assert(CT_DOWN == CT_INGRESS && CT_UP == CT_EGRESS,
    "directions are numbered alike in the maps and in ct");
_Static_assert(OURS_INGRESS == CT_DOWN && OURS_EGRESS == CT_UP,
    "each direction's program has the direction's number");
_Static_assert(LIMITER_NPROGS == OURS_NPROGS, "program counts differ");

#define MAX_QUERY 64			/* the kernel's limit per cgroup and hook */

/* File descriptors of the objects, while ct makes them. */
struct objects {
	int conf;
	int bucket[2];
	int prog[OURS_NPROGS];
};

/* bytes per second in bits -> bytes per nanosecond in 32.32 fixed point,
 * split so that rate_bits * 2^29 cannot overflow. */
static struct ct_rate
rate_of(const struct dir_limit *d)
{
	const uint64_t ns = 1000000000ULL;
	struct ct_rate c = { 0, 0, 0 };

	if (d->rate_bits == 0)
		return c;
	c.rate_fp = (d->rate_bits / ns << 29) + ((d->rate_bits % ns) << 29) / ns;
	if (c.rate_fp == 0)
		c.rate_fp = 1;
	c.burst_fp = d->burst_bytes << CT_FP_SHIFT;
	c.fill_ns = (c.burst_fp + ((uint64_t)CT_MAX_DEBT << CT_FP_SHIFT)) /
	    c.rate_fp;
	return c;
}

/* What a bucket of rate r holds after a pause: CT_START_NS of the rate, at
 * least CT_START_MIN, at most its depth. */
static uint64_t
start_of(const struct ct_rate *r)
{
	uint64_t least = (uint64_t)CT_START_MIN << CT_FP_SHIFT, d;

	if (r->rate_fp > UINT64_MAX / CT_START_NS)
		d = UINT64_MAX;
	else
		d = r->rate_fp * CT_START_NS;
	if (d < least)
		d = least;
	return d < r->burst_fp ? d : r->burst_fp;
}

static int
is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

/* A mounted bpffs, or "" when there is none. */
static int
find_bpffs(char *dir, size_t len, struct err *e)
{
	if (is_bpffs(POLICY_BPFFS)) {
		snprintf(dir, len, "%s", POLICY_BPFFS);
		return 0;
	}
	if (mount_find("bpf", dir, len, e) < 0)
		return -1;
	if (dir[0] != '\0' && !is_bpffs(dir))
		dir[0] = '\0';
	return 0;
}

static int
mount_bpffs(char *dir, size_t len, struct err *e)
{
	if (mkdir(POLICY_BPFFS, 0700) < 0 && errno != EEXIST)
		return errnof(e, "cannot create %s for the bpf filesystem",
		    POLICY_BPFFS);
	if (mount("bpf", POLICY_BPFFS, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    "mode=0700") < 0)
		return errnof(e, "cannot mount the bpf filesystem on %s",
		    POLICY_BPFFS);
	snprintf(dir, len, "%s", POLICY_BPFFS);
	return 0;
}

int
limiter_pin_root(char *root, size_t len, struct err *e)
{
	char bpffs[256];

	root[0] = '\0';
	if (find_bpffs(bpffs, sizeof(bpffs), e) < 0)
		return -1;
	if (bpffs[0] != '\0' && snprintf(root, len, "%s/%s", bpffs,
	    POLICY_PIN_DIR) >= (int)len)
		return errf(e, "bpf filesystem path too long");
	return 0;
}

int
limiter_pin_dir(uint64_t cgroup_id, char *pins, size_t len, struct err *e)
{
	char bpffs[256], root[300];

	if (find_bpffs(bpffs, sizeof(bpffs), e) < 0)
		return -1;
	if (bpffs[0] == '\0' && mount_bpffs(bpffs, sizeof(bpffs), e) < 0)
		return -1;
	snprintf(root, sizeof(root), "%s/%s", bpffs, POLICY_PIN_DIR);
	if (mkdir(root, 0700) < 0 && errno != EEXIST)
		return errnof(e, "cannot create %s", root);
	if (snprintf(pins, len, "%s/%" PRIu64, root, cgroup_id) >= (int)len)
		return errf(e, "bpf filesystem path too long");
	return 0;
}

static int
create_maps(struct objects *o, struct err *e)
{
	const struct bpf_map_spec conf = {
		BPF_MAP_TYPE_ARRAY, OURS_CONF_NAME, sizeof(__u32),
		sizeof(struct ct_conf), 1
	};
	const struct bpf_map_spec bucket = {
		BPF_MAP_TYPE_ARRAY, OURS_BUCKET_NAME, sizeof(__u32),
		sizeof(struct ct_bucket), 1
	};

	o->conf = bpf_map_create(&conf);
	for (int d = 0; d < 2; d++)
		o->bucket[d] = o->conf < 0 ? -1 : bpf_map_create(&bucket);
	if (o->bucket[CT_DOWN] < 0 || o->bucket[CT_UP] < 0)
		return errnof(e, "cannot create BPF maps");
	return 0;
}

static int
write_conf(int conf_fd, const struct limiter_conf *l, struct err *e)
{
	struct ct_conf c;
	__u32 key = 0;

	memset(&c, 0, sizeof(c));
	for (int d = 0; d < 2; d++) {
		c.dir[d] = rate_of(&l->lim.dir[d]);
		c.start_fp[d] = start_of(&c.dir[d]);
	}
	c.ninner = l->ninner;
	for (uint32_t i = 0; i < l->ninner && i < CT_MAX_INNER; i++) {
		c.inner[i].id = l->inner[i].id;
		c.inner[i].level = l->inner[i].level;
	}
	if (bpf_map_update(conf_fd, &key, &c, BPF_ANY) < 0)
		return errnof(e, "cannot write the limit into its map");
	return 0;
}

static int
load_prog(const struct obj *o, const struct ours_prog *d, int conf,
    int bucket, struct err *e)
{
	const struct obj_map refs[] = { { OURS_CONF_NAME, conf },
	    { OURS_BUCKET_NAME, bucket } };
	struct bpf_prog_spec spec;
	struct obj_prog p;
	char log[4096] = "";
	int fd;

	memset(&spec, 0, sizeof(spec));
	spec.license = obj_license(o, e);
	if (spec.license == NULL ||
	    obj_prog(o, d->section, refs, 2, &p, e) < 0)
		return -1;
	spec.type = d->prog_type;
	/* Only with it may the egress program return "drop and tell TCP". */
	spec.expected_attach = d->type;
	spec.name = d->prog_name;
	spec.insns = p.insns;
	spec.insn_cnt = p.cnt;
	spec.log = log;
	spec.log_size = sizeof(log);
	fd = bpf_prog_load(&spec);
	free(p.insns);
	if (fd < 0) {
		char *last = strrchr(log, '\n');

		/* The verifier's last words are the ones that matter. */
		while (last != NULL && last > log && last[1] == '\0') {
			*last = '\0';
			last = strrchr(log, '\n');
		}
		return errnof(e, "the kernel refused program %s%s%s",
		    d->prog_name, last ? ": " : "", last ? last + 1 : "");
	}
	return fd;
}

/* One program to load, and what came of it. */
struct load {
	const struct obj *elf;
	const struct ours_prog *d;
	int conf;
	int bucket;
	int fd;
	struct err e;
};

static void *
run_load(void *arg)
{
	struct load *l = arg;

	l->fd = load_prog(l->elf, l->d, l->conf, l->bucket, &l->e);
	return NULL;
}

/*
 * The verifier's time is most of what ct limit costs, so the two cgroup_skb
 * programs are verified at once, the egress one on a second thread, and the
 * small sock_ops program after the ingress one.  Without that thread they
 * are verified one after the other.
 */
static int
load_all(const struct obj *elf, struct objects *o, struct err *e)
{
	struct load l[OURS_NPROGS];
	pthread_t up;
	int threaded;

	for (int i = 0; i < OURS_NPROGS; i++) {
		memset(&l[i], 0, sizeof(l[i]));
		l[i].elf = elf;
		l[i].d = &ours_progs[i];
		l[i].conf = o->conf;
		l[i].bucket = o->bucket[ours_progs[i].bucket];
	}
	threaded = pthread_create(&up, NULL, run_load, &l[OURS_EGRESS]) == 0;
	run_load(&l[OURS_INGRESS]);
	run_load(&l[OURS_SOCKOPS]);
	if (threaded)
		pthread_join(up, NULL);
	else
		run_load(&l[OURS_EGRESS]);
	for (int i = 0; i < OURS_NPROGS; i++)
		o->prog[i] = l[i].fd;
	for (int i = 0; i < OURS_NPROGS; i++)
		if (l[i].fd < 0) {
			*e = l[i].e;
			return -1;
		}
	return 0;
}

static int
pin(int fd, const char *pins, const char *name, struct err *e)
{
	char path[512];

	if (ours_pin_path(path, sizeof(path), pins, name, e) < 0)
		return -1;
	if (bpf_obj_pin(fd, path) == 0)
		return 0;
	if (errno == EEXIST)
		return errf(e, "%s is not ct's and is in the way; left it in "
		    "place", path);
	return errnof(e, "cannot pin %s", path);
}

static int
pin_all(const char *pins, const struct objects *o, struct err *e)
{
	if (mkdir(pins, 0700) < 0 && errno != EEXIST)
		return errnof(e, "cannot create %s", pins);
	if (pin(o->conf, pins, ours_conf_pin, e) < 0)
		return -1;
	for (int d = 0; d < 2; d++)
		if (pin(o->bucket[d], pins, ours_bucket_pins[d], e) < 0)
			return -1;
	for (int i = 0; i < OURS_NPROGS; i++)
		if (pin(o->prog[i], pins, ours_progs[i].pin, e) < 0)
			return -1;
	return 0;
}

/*
 * Remove the pin name, which open judged; one that is not ct's stays, and
 * is named in *foreign.
 */
static void
unpin(const char *pins, const char *name, int r, int fd, const char **foreign)
{
	struct err ignored;
	char path[512];

	if (r < 0) {
		*foreign = name;
		return;
	}
	if (fd < 0)
		return;		/* no such pin */
	close(fd);
	if (ours_pin_path(path, sizeof(path), pins, name, &ignored) == 0)
		unlink(path);
}

/*
 * Remove the pins, programs first; a pin that is not there is removed.  A
 * pin that someone put in place of ct's stays, and is returned.
 */
static const char *
unpin_all(const char *pins)
{
	const char *foreign = NULL;
	struct pindir dir;
	struct err ignored;
	int fd, r;

	ours_pindir_open(&dir, pins);
	for (int i = 0; i < OURS_NPROGS; i++) {
		r = ours_open_prog(&dir, i, &fd, &ignored);
		unpin(pins, ours_progs[i].pin, r, fd, &foreign);
		if (i == 0)
			crash_point("unpin-program");
	}
	for (int d = 0; d < 2; d++) {
		r = ours_open_bucket(&dir, d, &fd, NULL, &ignored);
		unpin(pins, ours_bucket_pins[d], r, fd, &foreign);
	}
	r = ours_open_conf(&dir, &fd, NULL, &ignored);
	unpin(pins, ours_conf_pin, r, fd, &foreign);
	ours_pindir_close(&dir);
	rmdir(pins);
	return foreign;
}

int
limiter_unpin_all(const char *root, int *count, struct err *e)
{
	char pins[512], left[600] = "";
	struct dirent *d;
	DIR *dir = opendir(root);
	const char *foreign;

	if (dir == NULL)
		return errno == ENOENT ? 0 : errnof(e, "cannot read %s", root);
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.' ||
		    snprintf(pins, sizeof(pins), "%s/%s", root, d->d_name) >=
		    (int)sizeof(pins))
			continue;
		foreign = unpin_all(pins);
		if (foreign != NULL && left[0] == '\0')
			snprintf(left, sizeof(left), "%s/%s", pins, foreign);
		(*count)++;
	}
	closedir(dir);
	if (left[0] != '\0')
		return errf(e, "%s is not ct's; left it in place", left);
	if (rmdir(root) < 0 && errno != ENOENT)
		return errnof(e, "cannot remove %s", root);
	return 0;
}

/* The crash point after program i is attached, named in full so that the
 * crash test finds every point in the sources. */
static void
attached_point(int i)
{
	if (i == OURS_INGRESS)
		crash_point("attach-ingress");
	else if (i == OURS_EGRESS)
		crash_point("attach-egress");
	else
		crash_point("attach-sockops");
}

static int
attach_all(int cgroup_fd, const int progs[OURS_NPROGS], struct err *e)
{
	for (int i = 0; i < OURS_NPROGS; i++) {
		if (bpf_prog_attach(progs[i], cgroup_fd, ours_progs[i].type,
		    BPF_F_ALLOW_MULTI) == 0) {
			attached_point(i);
			continue;
		}
		errnof(e, "cannot attach %s to the cgroup%s",
		    ours_progs[i].prog_name, errno == E2BIG ?
		    " (it already has 64 programs on this hook)" : "");
		while (i-- > 0)
			bpf_prog_detach(progs[i], cgroup_fd, ours_progs[i].type);
		return -1;
	}
	return 0;
}

static void
close_objects(struct objects *o)
{
	int *fds[] = { &o->conf, &o->bucket[0], &o->bucket[1], &o->prog[0],
	    &o->prog[1], &o->prog[2] };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
}

int
limiter_attach(int cgroup_fd, const char *pins, const struct limiter_conf *l,
    struct err *e)
{
	struct objects o = { -1, { -1, -1 }, { -1, -1, -1 } };
	struct obj elf;
	int ret = -1;

	if (obj_open(&elf, ct_bpf_obj, ct_bpf_obj_end - ct_bpf_obj, e) < 0)
		return -1;
	if (create_maps(&o, e) < 0 || write_conf(o.conf, l, e) < 0)
		goto out;
	if (load_all(&elf, &o, e) < 0)
		goto out;
	crash_point("attach-loaded");
	/* Pinned before attached: an attachment is never without its pin. */
	if (pin_all(pins, &o, e) < 0) {
		unpin_all(pins);
		goto out;
	}
	crash_point("attach-pinned");
	if (attach_all(cgroup_fd, o.prog, e) < 0) {
		unpin_all(pins);
		goto out;
	}
	ret = 0;
out:
	close_objects(&o);
	return ret;
}

int
limiter_update(const char *pins, const struct limiter_conf *l, struct err *e)
{
	struct pindir dir = { pins, -1 };
	int fd, ret;

	if (ours_open_conf(&dir, &fd, NULL, e) < 0)
		return -1;
	if (fd < 0)
		return errf(e, "%s/%s is missing", pins, ours_conf_pin);
	ret = write_conf(fd, l, e);
	close(fd);
	return ret;
}

/* The crash point after program i is detached; see attached_point(). */
static void
detached_point(int i)
{
	if (i == OURS_INGRESS)
		crash_point("detach-ingress");
	else if (i == OURS_EGRESS)
		crash_point("detach-egress");
	else
		crash_point("detach-sockops");
}

int
limiter_detach(int cgroup_fd, const char *pins, struct notes *n,
    struct err *e)
{
	struct pindir dir = { pins, -1 };
	const char *foreign;
	int failed = 0;

	for (int i = 0; i < OURS_NPROGS; i++) {
		int fd;

		if (ours_open_prog(&dir, i, &fd, e) < 0)
			return -1;
		if (fd < 0)
			continue;	/* never pinned, or already removed */
		if (cgroup_fd >= 0 && bpf_prog_detach(fd, cgroup_fd,
		    ours_progs[i].type) < 0 && errno != ENOENT) {
			errnof(e, "cannot detach %s", ours_progs[i].prog_name);
			failed = 1;
		}
		close(fd);
		detached_point(i);
	}
	if (failed)
		return -1;
	foreign = unpin_all(pins);
	crash_point("detach-unpinned");
	if (foreign != NULL)
		note(n, NOTE_WARNING, "%s/%s is not ct's; left it in place",
		    pins, foreign);
	return 0;
}

/* The counters of the bucket pinned for d, and the bucket's id (0: none). */
static uint32_t
read_bucket(const struct pindir *pins, int d, struct dir_stats *st)
{
	struct ct_bucket b;
	struct err ignored;
	uint32_t id = 0;
	__u32 key = 0;
	int fd;

	if (ours_open_bucket(pins, d, &fd, &id, &ignored) < 0 || fd < 0)
		return 0;
	if (bpf_map_lookup(fd, &key, &b) < 0)
		id = 0;
	close(fd);
	if (id == 0)
		return 0;
	st->passed_bytes = b.passed_bytes;
	st->passed_packets = b.passed_packets;
	st->dropped_bytes = b.dropped_bytes;
	st->dropped_packets = b.dropped_packets;
	st->windowed = b.windows;
	return id;
}

/* Whether the program uses the limit map conf and the bucket bucket. */
static int
uses(const struct prog_ids *ids, uint32_t conf, uint32_t bucket)
{
	return conf != 0 && bucket != 0 &&
	    ((ids->maps[0] == conf && ids->maps[1] == bucket) ||
	    (ids->maps[0] == bucket && ids->maps[1] == conf));
}

/*
 * The id of program i's pin if it is ct's, 0 when there is no pin.  A
 * program that uses the two maps pinned beside it (of ids conf and bucket,
 * already judged) is known to be ct's without asking about its maps.
 */
static int
read_prog(const struct pindir *pins, int i, uint32_t conf, uint32_t bucket,
    uint32_t *id, struct err *e)
{
	const char *name = ours_progs[i].pin;
	struct prog_ids ids;
	int fd, ours;

	*id = 0;
	if (ours_open_pin(pins, name, &fd, e) < 0)
		return -1;
	if (fd < 0)
		return 0;	/* no pin */
	ours = ours_prog_looks(fd, i, &ids) &&
	    (uses(&ids, conf, bucket) || ours_prog_maps(&ids));
	close(fd);
	if (!ours)
		return errf(e, "%s/%s is not ct's; refusing to use it",
		    pins->path, name);
	*id = ids.id;
	return 0;
}

/* Look at every program attached to the cgroup on program d's hook: which
 * of them are ct's, and whether the pinned one (id, or 0) is among them. */
static int
query_ours(int cgroup_fd, int d, uint32_t pinned_id, struct limiter_view *v,
    struct err *e)
{
	uint32_t ids[MAX_QUERY], n = MAX_QUERY;

	if (bpf_prog_query(cgroup_fd, ours_progs[d].type, ids, &n) < 0)
		return errnof(e, "cannot query the cgroup's programs");
	for (uint32_t i = 0; i < n; i++) {
		int fd;

		if (pinned_id != 0 && ids[i] == pinned_id) {
			v->running[d]++;
			v->attached[d] = 1;
			continue;
		}
		fd = bpf_prog_fd_by_id(ids[i]);
		if (fd < 0)
			continue;	/* gone meanwhile */
		v->running[d] += ours_prog(fd, d);
		close(fd);
	}
	return 0;
}

int
limiter_inspect(int cgroup_fd, const char *pins, struct limiter_view *v,
    struct err *e)
{
	uint32_t conf = 0, bucket[2], prog;
	struct pindir dir;
	struct err ignored;
	int fd, ret = -1;

	memset(v, 0, sizeof(*v));
	ours_pindir_open(&dir, pins);
	if (ours_open_conf(&dir, &fd, &conf, &ignored) == 0 && fd >= 0)
		close(fd);
	for (int d = 0; d < 2; d++)
		bucket[d] = read_bucket(&dir, d, &v->stats[d]);
	v->have_stats = bucket[CT_DOWN] != 0 && bucket[CT_UP] != 0;
	for (int i = 0; i < OURS_NPROGS; i++) {
		if (read_prog(&dir, i, conf, bucket[ours_progs[i].bucket],
		    &prog, e) < 0)
			goto out;
		v->pinned[i] = prog != 0;
		if (cgroup_fd >= 0 &&
		    query_ours(cgroup_fd, i, prog, v, e) < 0)
			goto out;
	}
	ret = 0;
out:
	ours_pindir_close(&dir);
	return ret;
}

int
limiter_complete(const struct limiter_view *v)
{
	for (int i = 0; i < LIMITER_NPROGS; i++)
		if (!v->attached[i])
			return 0;
	return 1;
}

int
limiter_running(const struct limiter_view *v)
{
	for (int i = 0; i < LIMITER_NPROGS; i++)
		if (v->running[i] == 0)
			return 0;
	return 1;
}

int
limiter_sweep(int cgroup_fd, int *count, struct err *e)
{
	for (int d = 0; d < OURS_NPROGS; d++) {
		uint32_t ids[MAX_QUERY], n = MAX_QUERY;

		if (bpf_prog_query(cgroup_fd, ours_progs[d].type, ids, &n) < 0)
			return errnof(e, "cannot query the cgroup's programs");
		for (uint32_t i = 0; i < n; i++) {
			int fd = bpf_prog_fd_by_id(ids[i]), failed = 0;

			if (fd < 0)
				continue;	/* gone meanwhile */
			if (ours_prog(fd, d)) {
				if (bpf_prog_detach(fd, cgroup_fd,
				    ours_progs[d].type) == 0)
					(*count)++;
				else if (errno != ENOENT)
					failed = errnof(e, "cannot detach "
					    "orphan %s (id %u)",
					    ours_progs[d].prog_name, ids[i]);
			}
			close(fd);
			if (failed)
				return -1;
		}
	}
	return 0;
}
