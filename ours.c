/* ct's kernel objects and how to tell them: see ours.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bpf.h"
#include "bucket.h"
#include "limit.h"
#include "ours.h"
#include "policy.h"

const struct ours_prog ours_progs[OURS_NPROGS] = {
	[OURS_INGRESS] = { "ct_ingress", "cgroup_skb/ingress", POLICY_PIN_INGRESS,
	    BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, CT_DOWN },
	[OURS_EGRESS] = { "ct_egress", "cgroup_skb/egress", POLICY_PIN_EGRESS,
	    BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS, CT_UP },
	[OURS_SOCKOPS] = { "ct_sockops", "sockops", POLICY_PIN_SOCKOPS,
	    BPF_PROG_TYPE_SOCK_OPS, BPF_CGROUP_SOCK_OPS, CT_DOWN },
};

const char *const ours_bucket_pins[2] = {
	[CT_DOWN] = POLICY_PIN_BUCKET_DOWN,
	[CT_UP] = POLICY_PIN_BUCKET_UP,
};

const char ours_conf_pin[] = POLICY_PIN_CONF;

/* Whether a map is one of ct's maps of that name and value size. */
static int
info_is(const struct bpf_map_info *info, const char *name, uint32_t value_size)
{
	return info->type == BPF_MAP_TYPE_ARRAY && info->max_entries == 1 &&
	    info->key_size == sizeof(__u32) && info->value_size == value_size &&
	    strcmp(info->name, name) == 0;
}

/* Whether map_fd is one of ct's maps of that name and value size; its id. */
static int
map_is(int map_fd, const char *name, uint32_t value_size, uint32_t *id)
{
	struct bpf_map_info info;

	memset(&info, 0, sizeof(info));
	if (bpf_map_info(map_fd, &info) < 0 || !info_is(&info, name,
	    value_size))
		return 0;
	if (id != NULL)
		*id = info.id;
	return 1;
}

/* Counts the map of this id as a conf or a bucket map when it is ct's. */
static void
count_map(uint32_t id, int *conf, int *bucket)
{
	struct bpf_map_info info;
	int fd = bpf_map_fd_by_id(id);

	if (fd < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (bpf_map_info(fd, &info) == 0) {
		*conf += info_is(&info, OURS_CONF_NAME,
		    sizeof(struct ct_conf));
		*bucket += info_is(&info, OURS_BUCKET_NAME,
		    sizeof(struct ct_bucket));
	}
	close(fd);
}

int
ours_prog_looks(int prog_fd, int prog, struct prog_ids *ids)
{
	struct bpf_prog_info info;
	uint32_t map_ids[4] = { 0 };	/* filled by the kernel */

	memset(&info, 0, sizeof(info));
	info.nr_map_ids = 4;
	info.map_ids = (uint64_t)(uintptr_t)map_ids;
	if (bpf_prog_info(prog_fd, &info) < 0 ||
	    info.type != ours_progs[prog].prog_type ||
	    strcmp(info.name, ours_progs[prog].prog_name) != 0 ||
	    info.nr_map_ids != 2)
		return 0;
	ids->id = info.id;
	ids->maps[0] = map_ids[0];
	ids->maps[1] = map_ids[1];
	return 1;
}

int
ours_prog_maps(const struct prog_ids *ids)
{
	int conf = 0, bucket = 0;

	for (int i = 0; i < 2; i++)
		count_map(ids->maps[i], &conf, &bucket);
	return conf == 1 && bucket == 1;
}

int
ours_prog(int prog_fd, int prog)
{
	struct prog_ids ids;

	return ours_prog_looks(prog_fd, prog, &ids) && ours_prog_maps(&ids);
}

int
ours_pin_path(char *buf, size_t len, const char *pins, const char *name,
    struct err *e)
{
	if (snprintf(buf, len, "%s/%s", pins, name) >= (int)len)
		return errf(e, "pin path too long: %s/%s", pins, name);
	return 0;
}

void
ours_pindir_open(struct pindir *d, const char *path)
{
	d->path = path;
	/* openat: musl's open adds an fcntl for O_CLOEXEC. */
	d->fd = openat(AT_FDCWD, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

void
ours_pindir_close(struct pindir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

int
ours_open_pin(const struct pindir *d, const char *name, int *fd,
    struct err *e)
{
	char path[512];

	*fd = -1;
	if (d->fd >= 0) {
		*fd = bpf_obj_get_at(d->fd, name);
		if (*fd >= 0 || errno == ENOENT)
			return 0;
		/* EINVAL: a kernel before 6.5; say why in the path's words. */
	}
	if (ours_pin_path(path, sizeof(path), d->path, name, e) < 0)
		return -1;
	*fd = bpf_obj_get(path);
	if (*fd < 0 && errno != ENOENT)
		return errnof(e, "cannot open %s", path);
	return 0;
}

/* Keep *fd only if ours says it is ct's. */
static int
judge(int ours, const char *pins, const char *name, int *fd, struct err *e)
{
	if (*fd < 0 || ours)
		return 0;
	close(*fd);
	*fd = -1;
	return errf(e, "%s/%s is not ct's; refusing to use it", pins, name);
}

int
ours_open_prog(const struct pindir *d, int prog, int *fd, struct err *e)
{
	const char *name = ours_progs[prog].pin;

	if (ours_open_pin(d, name, fd, e) < 0)
		return -1;
	return judge(*fd < 0 || ours_prog(*fd, prog), d->path, name, fd, e);
}

int
ours_open_conf(const struct pindir *d, int *fd, uint32_t *id, struct err *e)
{
	if (ours_open_pin(d, ours_conf_pin, fd, e) < 0)
		return -1;
	return judge(*fd < 0 || map_is(*fd, OURS_CONF_NAME,
	    sizeof(struct ct_conf), id), d->path, ours_conf_pin, fd, e);
}

int
ours_open_bucket(const struct pindir *d, int dir, int *fd, uint32_t *id,
    struct err *e)
{
	const char *name = ours_bucket_pins[dir];

	if (ours_open_pin(d, name, fd, e) < 0)
		return -1;
	return judge(*fd < 0 || map_is(*fd, OURS_BUCKET_NAME,
	    sizeof(struct ct_bucket), id), d->path, name, fd, e);
}
