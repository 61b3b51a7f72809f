/* The bpf(2) system call, one thin function per command: see bpf.h. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bpf.h"

static int
sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static uint64_t
ptr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static void
set_name(char dst[BPF_OBJ_NAME_LEN], const char *name)
{
	strncpy(dst, name, BPF_OBJ_NAME_LEN - 1);
}

int
bpf_map_create(const struct bpf_map_spec *s)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = s->type;
	a.key_size = s->key_size;
	a.value_size = s->value_size;
	a.max_entries = s->max_entries;
	set_name(a.map_name, s->name);
	return sys_bpf(BPF_MAP_CREATE, &a);
}

int
bpf_map_lookup(int map_fd, const void *key, void *value)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = map_fd;
	a.key = ptr(key);
	a.value = ptr(value);
	return sys_bpf(BPF_MAP_LOOKUP_ELEM, &a);
}

int
bpf_map_update(int map_fd, const void *key, const void *value, uint64_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = map_fd;
	a.key = ptr(key);
	a.value = ptr(value);
	a.flags = flags;
	return sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
}

int
bpf_prog_load(const struct bpf_prog_spec *s)
{
	union bpf_attr a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.prog_type = s->type;
	a.expected_attach_type = s->expected_attach;
	a.insns = ptr(s->insns);
	a.insn_cnt = s->insn_cnt;
	a.license = ptr(s->license);
	set_name(a.prog_name, s->name);
	fd = sys_bpf(BPF_PROG_LOAD, &a);
	if (fd >= 0 || s->log == NULL || errno != EACCES)
		return fd;
	/* Load again, only to have the verifier say why. */
	a.log_buf = ptr(s->log);
	a.log_size = s->log_size;
	a.log_level = 1;
	fd = sys_bpf(BPF_PROG_LOAD, &a);
	if (fd < 0)
		errno = EACCES;
	return fd;
}

int
bpf_prog_attach(int prog_fd, int cgroup_fd, enum bpf_attach_type type,
    uint32_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.target_fd = cgroup_fd;
	a.attach_bpf_fd = prog_fd;
	a.attach_type = type;
	a.attach_flags = flags;
	return sys_bpf(BPF_PROG_ATTACH, &a);
}

int
bpf_prog_detach(int prog_fd, int cgroup_fd, enum bpf_attach_type type)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.target_fd = cgroup_fd;
	a.attach_bpf_fd = prog_fd;
	a.attach_type = type;
	return sys_bpf(BPF_PROG_DETACH, &a);
}

int
bpf_prog_query(int cgroup_fd, enum bpf_attach_type type, uint32_t *ids,
    uint32_t *count)
{
	union bpf_attr a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.query.target_fd = cgroup_fd;
	a.query.attach_type = type;
	a.query.prog_ids = ptr(ids);
	a.query.prog_cnt = *count;
	ret = sys_bpf(BPF_PROG_QUERY, &a);
	if (ret == 0 || errno == ENOSPC)
		*count = a.query.prog_cnt;
	return ret;
}

int
bpf_prog_fd_by_id(uint32_t id)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_id = id;
	return sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
}

int
bpf_map_fd_by_id(uint32_t id)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_id = id;
	return sys_bpf(BPF_MAP_GET_FD_BY_ID, &a);
}

static int
obj_info(int fd, void *info, uint32_t len)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = fd;
	a.info.info_len = len;
	a.info.info = ptr(info);
	return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a);
}

/* The caller may point info->map_ids at room for nr_map_ids ids. */
int
bpf_prog_info(int prog_fd, struct bpf_prog_info *info)
{
	return obj_info(prog_fd, info, sizeof(*info));
}

int
bpf_map_info(int map_fd, struct bpf_map_info *info)
{
	memset(info, 0, sizeof(*info));
	return obj_info(map_fd, info, sizeof(*info));
}

int
bpf_obj_pin(int fd, const char *path)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.bpf_fd = fd;
	a.pathname = ptr(path);
	return sys_bpf(BPF_OBJ_PIN, &a);
}

int
bpf_prog_test_run(int prog_fd, const void *pkt, uint32_t len, void *skb_ctx,
    uint32_t ctx_len, uint32_t repeat, uint32_t *retval, uint32_t *ns)
{
	union bpf_attr a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.test.prog_fd = prog_fd;
	a.test.data_in = ptr(pkt);
	a.test.data_size_in = len;
	a.test.ctx_in = ptr(skb_ctx);
	a.test.ctx_size_in = ctx_len;
	a.test.repeat = repeat;
	ret = sys_bpf(BPF_PROG_TEST_RUN, &a);
	*retval = a.test.retval;
	*ns = a.test.duration;
	return ret;
}

int
bpf_obj_get(const char *path)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.pathname = ptr(path);
	return sys_bpf(BPF_OBJ_GET, &a);
}

/*
 * path_fd follows file_flags in the attributes of BPF_OBJ_GET since Linux
 * 6.5; the uapi headers ct builds against may be older.
 */
#define OBJ_F_PATH_FD (1U << 14)
#define OBJ_PATH_FD_OFFSET (offsetof(union bpf_attr, file_flags) + \
	sizeof(__u32))

int
bpf_obj_get_at(int dir_fd, const char *name)
{
	union bpf_attr a;
	int32_t path_fd = dir_fd;

	memset(&a, 0, sizeof(a));
	a.pathname = ptr(name);
	a.file_flags = OBJ_F_PATH_FD;
	memcpy((char *)&a + OBJ_PATH_FD_OFFSET, &path_fd, sizeof(path_fd));
	return sys_bpf(BPF_OBJ_GET, &a);
}
