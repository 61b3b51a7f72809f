#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include "crash.h"
#include "limiter.h"
#include "mounts.h"
#include "obj.h"

#define BPFFS_DEFAULT "/sys/fs/bpf"
/*
 * The smallest default buckets.  A small bucket keeps the idle spells of a
 * slow TCP flow from adding up to a burst above the limit.  On egress TCP's
 * segmentation offload hands ct packets of up to 64 KiB even at low rates,
 * which ct counts with the headers of each of their segments: 67.5 KB for
 * IPv4 at MTU 1500, 68.4 KB for IPv6, more for smaller segments.  Such a
 * packet must fit the bucket: one larger than the whole bucket waits for it
 * to be full, while TCP, with nothing else in flight, tries it again only
 * when a timer fires, and the refill of the wait overflows.  At 256 kbit a
 * 64 KiB bucket lost 4-14% of the rate that way to BBR uploads, whose every
 * packet is that large.
 */
static const uint64_t burst_floor[2] = {
	[CT_DOWN] = 32 * 1024,
	[CT_UP] = 80 * 1024,
};
#define BURST_CEILING (1ULL << 30)
#define MAX_QUERY 64			/* the kernel's limit per cgroup and hook */

/*
 * The kernel objects of one limited cgroup: the map of limits, and for each
 * direction a program and the map of its bucket.  Each is pinned under its
 * own name in the cgroup's pin directory.
 */
struct direction {
	const char *prog_name;		/* as bpftool shows it */
	const char *section;		/* in bpf_prog.c */
	const char *pin;		/* the program's pin */
	const char *bucket_pin;		/* its bucket's pin */
	enum bpf_attach_type type;
};

static const struct direction directions[2] = {
	[CT_DOWN] = { "ct_ingress", "cgroup_skb/ingress", "ingress",
	    "bucket_down", BPF_CGROUP_INET_INGRESS },
	[CT_UP] = { "ct_egress", "cgroup_skb/egress", "egress", "bucket_up",
	    BPF_CGROUP_INET_EGRESS },
};

#define CONF_PIN "conf"

/* File descriptors of the objects, while ct makes them. */
struct objects {
	int conf;
	int bucket[2];
	int prog[2];
};

uint64_t
limiter_default_burst(uint64_t rate_bits, int dir)
{
	uint64_t one_second = rate_bits / 8;

	if (one_second < burst_floor[dir])
		return burst_floor[dir];
	if (one_second > BURST_CEILING)
		return BURST_CEILING;
	return one_second;
}

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

static int
is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

static int
find_bpffs(char *dir, size_t len, struct err *e)
{
	if (is_bpffs(BPFFS_DEFAULT)) {
		snprintf(dir, len, "%s", BPFFS_DEFAULT);
		return 0;
	}
	if (mount_find("bpf", dir, len) == 1 && is_bpffs(dir))
		return 0;
	if (mkdir(BPFFS_DEFAULT, 0700) < 0 && errno != EEXIST)
		return errnof(e, "cannot create %s for the bpf filesystem",
		    BPFFS_DEFAULT);
	if (mount("bpf", BPFFS_DEFAULT, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    "mode=0700") < 0)
		return errnof(e, "cannot mount the bpf filesystem on %s",
		    BPFFS_DEFAULT);
	snprintf(dir, len, "%s", BPFFS_DEFAULT);
	return 0;
}

int
limiter_pin_root(char *root, size_t len, int create, struct err *e)
{
	char bpffs[256];

	root[0] = '\0';
	if (!create) {
		if (is_bpffs(BPFFS_DEFAULT))
			snprintf(bpffs, sizeof(bpffs), "%s", BPFFS_DEFAULT);
		else if (mount_find("bpf", bpffs, sizeof(bpffs)) != 1)
			return 0;
		if (snprintf(root, len, "%s/ct", bpffs) >= (int)len)
			return errf(e, "bpf filesystem path too long");
		return 0;
	}
	if (find_bpffs(bpffs, sizeof(bpffs), e) < 0)
		return -1;
	if (snprintf(root, len, "%s/ct", bpffs) >= (int)len)
		return errf(e, "bpf filesystem path too long");
	if (mkdir(root, 0700) < 0 && errno != EEXIST)
		return errnof(e, "cannot create %s", root);
	return 0;
}

static int
pin_path(char *buf, size_t len, const char *pins, const char *name)
{
	return snprintf(buf, len, "%s/%s", pins, name) < (int)len ? 0 : -1;
}

/* Whether a map is one of ct's maps of that name and value size. */
static int
info_is(const struct bpf_map_info *info, const char *name, uint32_t value_size)
{
	return info->type == BPF_MAP_TYPE_ARRAY && info->max_entries == 1 &&
	    info->value_size == value_size && strcmp(info->name, name) == 0;
}

static int
map_is(int map_fd, const char *name, uint32_t value_size)
{
	struct bpf_map_info info;

	return bpf_map_info(map_fd, &info) == 0 &&
	    info_is(&info, name, value_size);
}

/* Counts the map of this id as a conf or a bucket map when it is ct's. */
static void
count_map(uint32_t id, int *conf, int *bucket)
{
	struct bpf_map_info info;
	int fd = bpf_map_fd_by_id(id);

	if (fd < 0)
		return;
	if (bpf_map_info(fd, &info) == 0) {
		*conf += info_is(&info, "ct_conf", sizeof(struct ct_conf));
		*bucket += info_is(&info, "ct_bucket",
		    sizeof(struct ct_bucket));
	}
	close(fd);
}

/*
 * Whether prog_fd is a program ct loaded: its type, its name and both its
 * maps must be ct's.  Anything less and it is left alone.
 */
static int
is_ours(int prog_fd, const struct direction *d)
{
	struct bpf_prog_info info;
	uint32_t map_ids[4] = { 0 };	/* filled by the kernel */
	int conf = 0, bucket = 0;

	memset(&info, 0, sizeof(info));
	info.nr_map_ids = 4;
	info.map_ids = (uint64_t)(uintptr_t)map_ids;
	if (bpf_prog_info(prog_fd, &info) < 0 ||
	    info.type != BPF_PROG_TYPE_CGROUP_SKB ||
	    strcmp(info.name, d->prog_name) != 0 || info.nr_map_ids != 2)
		return 0;
	for (int i = 0; i < 2; i++)
		count_map(map_ids[i], &conf, &bucket);
	return conf == 1 && bucket == 1;
}

/*
 * The object pinned as pins/name, if it is ct's: -1 with errno ENOENT when
 * there is no such pin, EEXIST when something else was pinned in its place
 * (which ct then neither uses nor removes).
 */
static int
get_pinned(const char *pins, const char *name)
{
	char path[512];

	if (pin_path(path, sizeof(path), pins, name) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return bpf_obj_get(path);
}

static int
pinned_prog(const char *pins, const struct direction *d)
{
	int fd = get_pinned(pins, d->pin);

	if (fd >= 0 && !is_ours(fd, d)) {
		close(fd);
		errno = EEXIST;
		return -1;
	}
	return fd;
}

static int
pinned_map(const char *pins, const char *pin, const char *name,
    uint32_t value_size)
{
	int fd = get_pinned(pins, pin);

	if (fd >= 0 && !map_is(fd, name, value_size)) {
		close(fd);
		errno = EEXIST;
		return -1;
	}
	return fd;
}

static int
pin_error(struct err *e, const char *pins, const char *name)
{
	if (errno == EEXIST)
		return errf(e, "%s/%s is not ct's; refusing to use it", pins,
		    name);
	return errnof(e, "cannot open %s/%s", pins, name);
}

static int
create_maps(struct objects *o, struct err *e)
{
	const struct bpf_map_spec conf = {
		BPF_MAP_TYPE_ARRAY, "ct_conf", sizeof(__u32),
		sizeof(struct ct_conf), 1
	};
	const struct bpf_map_spec bucket = {
		BPF_MAP_TYPE_ARRAY, "ct_bucket", sizeof(__u32),
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
write_conf(int conf_fd, const struct limits *l, struct err *e)
{
	struct ct_conf c;
	__u32 key = 0;

	memset(&c, 0, sizeof(c));
	for (int d = 0; d < 2; d++)
		c.dir[d] = rate_of(&l->dir[d]);
	c.ninner = l->ninner;
	memcpy(c.inner, l->inner, sizeof(c.inner));
	if (bpf_map_update(conf_fd, &key, &c, BPF_ANY) < 0)
		return errnof(e, "cannot write the limit into its map");
	return 0;
}

static int
load_prog(const struct obj *o, const struct direction *d, int conf,
    int bucket, struct err *e)
{
	const struct obj_map refs[] = { { "ct_conf", conf },
	    { "ct_bucket", bucket } };
	struct bpf_prog_spec spec;
	struct obj_prog p;
	char log[4096] = "";
	int fd;

	memset(&spec, 0, sizeof(spec));
	spec.license = obj_license(o, e);
	if (spec.license == NULL ||
	    obj_prog(o, d->section, refs, 2, &p, e) < 0)
		return -1;
	spec.type = BPF_PROG_TYPE_CGROUP_SKB;
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
	const struct direction *d;
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
 * The verifier's time is most of what ct limit costs, so the two programs
 * are verified at once, the egress one on a second thread.  Without that
 * thread they are verified one after the other.
 */
static int
load_both(const struct obj *elf, struct objects *o, struct err *e)
{
	struct load l[2];
	pthread_t up;
	int threaded;

	for (int d = 0; d < 2; d++) {
		memset(&l[d], 0, sizeof(l[d]));
		l[d].elf = elf;
		l[d].d = &directions[d];
		l[d].conf = o->conf;
		l[d].bucket = o->bucket[d];
	}
	threaded = pthread_create(&up, NULL, run_load, &l[CT_UP]) == 0;
	run_load(&l[CT_DOWN]);
	if (threaded)
		pthread_join(up, NULL);
	else
		run_load(&l[CT_UP]);
	for (int d = 0; d < 2; d++)
		o->prog[d] = l[d].fd;
	for (int d = 0; d < 2; d++)
		if (l[d].fd < 0) {
			*e = l[d].e;
			return -1;
		}
	return 0;
}

static int
pin(int fd, const char *pins, const char *name, struct err *e)
{
	char path[512];

	if (pin_path(path, sizeof(path), pins, name) < 0 ||
	    bpf_obj_pin(fd, path) < 0)
		return errnof(e, "cannot pin %s/%s", pins, name);
	return 0;
}

static int
pin_all(const char *pins, const struct objects *o, struct err *e)
{
	if (mkdir(pins, 0700) < 0 && errno != EEXIST)
		return errnof(e, "cannot create %s", pins);
	if (pin(o->conf, pins, CONF_PIN, e) < 0)
		return -1;
	for (int d = 0; d < 2; d++)
		if (pin(o->bucket[d], pins, directions[d].bucket_pin, e) < 0 ||
		    pin(o->prog[d], pins, directions[d].pin, e) < 0)
			return -1;
	return 0;
}

/* Remove the pin of fd, unless fd says it is not ct's; then name it. */
static void
unpin(const char *pins, const char *name, int fd, const char **foreign)
{
	char path[512];

	if (fd < 0) {
		if (errno == EEXIST)
			*foreign = name;
		return;
	}
	close(fd);
	if (pin_path(path, sizeof(path), pins, name) == 0)
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

	for (int d = 0; d < 2; d++) {
		const struct direction *dir = &directions[d];

		unpin(pins, dir->pin, pinned_prog(pins, dir), &foreign);
		crash_point("unpin-program");
		unpin(pins, dir->bucket_pin, pinned_map(pins, dir->bucket_pin,
		    "ct_bucket", sizeof(struct ct_bucket)), &foreign);
	}
	unpin(pins, CONF_PIN, pinned_map(pins, CONF_PIN, "ct_conf",
	    sizeof(struct ct_conf)), &foreign);
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

static int
attach_both(int cgroup_fd, const int progs[2], struct err *e)
{
	for (int d = 0; d < 2; d++) {
		if (bpf_prog_attach(progs[d], cgroup_fd, directions[d].type,
		    BPF_F_ALLOW_MULTI) == 0) {
			crash_point(d == CT_DOWN ? "attach-ingress" :
			    "attach-egress");
			continue;
		}
		errnof(e, "cannot attach %s to the cgroup%s",
		    directions[d].prog_name, errno == E2BIG ?
		    " (it already has 64 programs on this hook)" : "");
		if (d == 1)
			bpf_prog_detach(progs[0], cgroup_fd, directions[0].type);
		return -1;
	}
	return 0;
}

static void
close_objects(struct objects *o)
{
	int *fds[] = { &o->conf, &o->bucket[0], &o->bucket[1], &o->prog[0],
	    &o->prog[1] };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
}

int
limiter_attach(int cgroup_fd, const char *pins, const struct limits *l,
    struct err *e)
{
	struct objects o = { -1, { -1, -1 }, { -1, -1 } };
	struct obj elf;
	int ret = -1;

	if (obj_open(&elf, ct_bpf_obj, ct_bpf_obj_end - ct_bpf_obj, e) < 0)
		return -1;
	if (create_maps(&o, e) < 0 || write_conf(o.conf, l, e) < 0)
		goto out;
	if (load_both(&elf, &o, e) < 0)
		goto out;
	crash_point("attach-loaded");
	/* Pinned before attached: an attachment is never without its pin. */
	if (pin_all(pins, &o, e) < 0) {
		unpin_all(pins);
		goto out;
	}
	crash_point("attach-pinned");
	if (attach_both(cgroup_fd, o.prog, e) < 0) {
		unpin_all(pins);
		goto out;
	}
	ret = 0;
out:
	close_objects(&o);
	return ret;
}

int
limiter_update(const char *pins, const struct limits *l, struct err *e)
{
	int fd = pinned_map(pins, CONF_PIN, "ct_conf", sizeof(struct ct_conf));
	int ret;

	if (fd < 0)
		return pin_error(e, pins, CONF_PIN);
	ret = write_conf(fd, l, e);
	close(fd);
	return ret;
}

int
limiter_detach(int cgroup_fd, const char *pins, struct err *e)
{
	const char *foreign;
	int failed = 0;

	for (int d = 0; d < 2; d++) {
		int fd = pinned_prog(pins, &directions[d]);

		if (fd < 0 && errno == EEXIST)
			return pin_error(e, pins, directions[d].pin);
		if (fd < 0)
			continue;	/* never pinned, or already removed */
		if (cgroup_fd >= 0 && bpf_prog_detach(fd, cgroup_fd,
		    directions[d].type) < 0 && errno != ENOENT) {
			errnof(e, "cannot detach %s", directions[d].prog_name);
			failed = 1;
		}
		close(fd);
		crash_point(d == CT_DOWN ? "detach-ingress" : "detach-egress");
	}
	if (failed)
		return -1;
	foreign = unpin_all(pins);
	crash_point("detach-unpinned");
	if (foreign != NULL)
		return errf(e, "%s/%s is not ct's; left it in place", pins,
		    foreign), 1;
	return 0;
}

int
limiter_stats(const char *pins, struct dir_stats st[2], struct err *e)
{
	for (int d = 0; d < 2; d++) {
		int fd = pinned_map(pins, directions[d].bucket_pin,
		    "ct_bucket", sizeof(struct ct_bucket)), r;
		struct ct_bucket b;
		__u32 key = 0;

		if (fd < 0)
			return pin_error(e, pins, directions[d].bucket_pin);
		r = bpf_map_lookup(fd, &key, &b);
		close(fd);
		if (r < 0)
			return errnof(e, "cannot read %s/%s", pins,
			    directions[d].bucket_pin);
		st[d].passed_bytes = b.passed_bytes;
		st[d].passed_packets = b.passed_packets;
		st[d].dropped_bytes = b.dropped_bytes;
		st[d].dropped_packets = b.dropped_packets;
	}
	return 0;
}

static int
prog_id(int fd, uint32_t *id)
{
	struct bpf_prog_info info;

	memset(&info, 0, sizeof(info));
	if (bpf_prog_info(fd, &info) < 0)
		return -1;
	*id = info.id;
	return 0;
}

/* Look at every program attached to the cgroup for direction d: which of
 * them are ct's, and whether the pinned one (id, or 0) is among them. */
static int
query_ours(int cgroup_fd, int d, uint32_t pinned_id, struct attach_state *s,
    struct err *e)
{
	uint32_t ids[MAX_QUERY], n = MAX_QUERY;

	if (bpf_prog_query(cgroup_fd, directions[d].type, ids, &n) < 0)
		return errnof(e, "cannot query the cgroup's programs");
	for (uint32_t i = 0; i < n; i++) {
		int fd = bpf_prog_fd_by_id(ids[i]);

		if (fd < 0)
			continue;	/* gone meanwhile */
		if (is_ours(fd, &directions[d])) {
			s->running[d]++;
			if (ids[i] == pinned_id)
				s->attached[d] = 1;
		}
		close(fd);
	}
	return 0;
}

int
limiter_state(int cgroup_fd, const char *pins, struct attach_state *s,
    struct err *e)
{
	memset(s, 0, sizeof(*s));
	for (int d = 0; d < 2; d++) {
		int fd = pinned_prog(pins, &directions[d]);
		uint32_t id = 0;

		if (fd < 0 && errno == EEXIST)
			return pin_error(e, pins, directions[d].pin);
		if (fd >= 0) {
			s->pinned[d] = 1;
			if (prog_id(fd, &id) < 0) {
				close(fd);
				return errnof(e, "cannot read program info");
			}
			close(fd);
		}
		if (cgroup_fd >= 0 && query_ours(cgroup_fd, d, id, s, e) < 0)
			return -1;
	}
	return 0;
}

int
limiter_sweep(int cgroup_fd, int *count, struct err *e)
{
	for (int d = 0; d < 2; d++) {
		uint32_t ids[MAX_QUERY], n = MAX_QUERY;

		if (bpf_prog_query(cgroup_fd, directions[d].type, ids, &n) < 0)
			return errnof(e, "cannot query the cgroup's programs");
		for (uint32_t i = 0; i < n; i++) {
			int fd = bpf_prog_fd_by_id(ids[i]), failed = 0;

			if (fd < 0)
				continue;	/* gone meanwhile */
			if (is_ours(fd, &directions[d])) {
				if (bpf_prog_detach(fd, cgroup_fd,
				    directions[d].type) == 0)
					(*count)++;
				else if (errno != ENOENT)
					failed = errnof(e, "cannot detach "
					    "orphan %s (id %u)",
					    directions[d].prog_name, ids[i]);
			}
			close(fd);
			if (failed)
				return -1;
		}
	}
	return 0;
}
