/*
 * Someone else's programs that look like ct's from afar: cgroup_skb programs
 * named ct_ingress and ct_egress and a sock_ops program named ct_sockops,
 * each using two array maps of one entry named ct_conf and ct_bucket, as
 * ct's programs do.  Only the maps' value size (8 bytes, not the size of
 * ct's structs) tells them apart, so ct must look at the maps themselves
 * before it takes the programs for its own.  They pass every packet, and
 * count packets in one map and bytes in the other (the sock_ops one counts
 * its calls, and sums their operation codes).
 *
 * clang -O2 -g -target bpf -c impostor_prog.c (-g: libbpf reads the maps
 * from BTF)
 */
#include <linux/bpf.h>
#include <linux/types.h>

#define SEC(name) __attribute__((section(name), used))

static void *(*bpf_map_lookup_elem)(void *map, const void *key) =
    (void *)BPF_FUNC_map_lookup_elem;

/* A map as libbpf's BTF map definitions spell it. */
#define ARRAY_OF_ONE(name)						\
	struct {							\
		int (*type)[BPF_MAP_TYPE_ARRAY];			\
		int (*max_entries)[1];					\
		__u32 *key;						\
		__u64 *value;						\
	} name SEC(".maps")

ARRAY_OF_ONE(ct_conf);
ARRAY_OF_ONE(ct_bucket);

/* One more call in ct_conf, amount more in ct_bucket; always "pass". */
static __attribute__((always_inline)) int
count(__u64 amount)
{
	__u32 key = 0;
	__u64 *calls = bpf_map_lookup_elem(&ct_conf, &key);
	__u64 *sum = bpf_map_lookup_elem(&ct_bucket, &key);

	if (calls && sum) {
		__sync_fetch_and_add(calls, 1);
		__sync_fetch_and_add(sum, amount);
	}
	return 1;
}

SEC("cgroup_skb/ingress")
int ct_ingress(struct __sk_buff *skb)
{
	return count(skb->len);
}

SEC("cgroup_skb/egress")
int ct_egress(struct __sk_buff *skb)
{
	return count(skb->len);
}

SEC("sockops")
int ct_sockops(struct bpf_sock_ops *skops)
{
	return count(skops->op);
}

char _license[] SEC("license") = "GPL";
