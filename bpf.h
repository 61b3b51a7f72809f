/*
 * The bpf(2) system call, one thin function per command ct uses.  Each
 * returns what the kernel returns (an fd, or 0) or -1 with errno set; none
 * of them knows what a limit is.
 */
#ifndef CT_BPF_H
#define CT_BPF_H

#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>

struct bpf_map_spec {
	enum bpf_map_type type;
	const char *name;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
};

struct bpf_prog_spec {
	enum bpf_prog_type type;
	enum bpf_attach_type expected_attach;
	const char *name;
	const struct bpf_insn *insns;
	size_t insn_cnt;
	const char *license;
	char *log;		/* the verifier's explanation on failure */
	size_t log_size;
};

int bpf_map_create(const struct bpf_map_spec *spec);
int bpf_map_lookup(int map_fd, const void *key, void *value);
int bpf_map_update(int map_fd, const void *key, const void *value,
    uint64_t flags);
int bpf_prog_load(const struct bpf_prog_spec *spec);
int bpf_prog_attach(int prog_fd, int cgroup_fd, enum bpf_attach_type type,
    uint32_t flags);
int bpf_prog_detach(int prog_fd, int cgroup_fd, enum bpf_attach_type type);
/* On entry *count is the room in ids; on return, how many are attached. */
int bpf_prog_query(int cgroup_fd, enum bpf_attach_type type, uint32_t *ids,
    uint32_t *count);
int bpf_prog_fd_by_id(uint32_t id);
int bpf_map_fd_by_id(uint32_t id);
int bpf_prog_info(int prog_fd, struct bpf_prog_info *info);
int bpf_map_info(int map_fd, struct bpf_map_info *info);
int bpf_obj_pin(int fd, const char *path);
/* Run a program repeat times on one packet (Ethernet frame) with the
 * given __sk_buff fields; *ns is the kernel's mean time for one run. */
int bpf_prog_test_run(int prog_fd, const void *pkt, uint32_t len,
    void *skb_ctx, uint32_t ctx_len, uint32_t repeat, uint32_t *retval,
    uint32_t *ns);
int bpf_obj_get(const char *path);
/* The same, of name relative to the directory dir_fd: each lookup is then
 * one step, not a walk from the root.  -1 with EINVAL before Linux 6.5. */
int bpf_obj_get_at(int dir_fd, const char *name);

#endif
