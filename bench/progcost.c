/*
 * progcost: the cost of one of ct's programs per packet, measured by the
 * kernel itself with BPF_PROG_TEST_RUN.
 *
 *	progcost PIN REPEAT [GSO_SEGS]
 *
 * runs the pinned program REPEAT times on one 1500-byte IPv4/TCP packet
 * (a GSO packet of GSO_SEGS segments if given) and prints
 * "<ns per packet> <verdict>".  A negative REPEAT runs the program that many
 * times on a fresh packet each, for the paths that leave a mark on the
 * packet (a dropped packet is not charged again).  PIN "-" is an empty
 * cgroup_skb program that passes every packet: what the test run itself
 * costs, the reference beside ct's figures.
 */
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bpf.h"

#define PKT_LEN (ETH_HLEN + 1500)

static void
make_packet(unsigned char *p)
{
	struct ethhdr *eth = (struct ethhdr *)p;
	struct iphdr *ip = (struct iphdr *)(p + ETH_HLEN);
	struct tcphdr *tcp = (struct tcphdr *)(ip + 1);

	memset(p, 0, PKT_LEN);
	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->tot_len = htons(1500);
	ip->saddr = htonl(0x7f000001);
	ip->daddr = htonl(0x7f000001);
	tcp->source = htons(40000);
	tcp->dest = htons(5201);
	tcp->doff = 8;	/* with timestamps, as Linux sends */
}

/* return 1: pass */
static int
load_empty(void)
{
	static const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0,
		    .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct bpf_prog_spec spec = {
		.type = BPF_PROG_TYPE_CGROUP_SKB,
		.expected_attach = BPF_CGROUP_INET_INGRESS,
		.name = "empty",
		.insns = insns,
		.insn_cnt = 2,
		.license = "GPL",
	};

	return bpf_prog_load(&spec);
}

int
main(int argc, char **argv)
{
	static unsigned char pkt[PKT_LEN];
	struct __sk_buff ctx;
	unsigned long long total = 0;
	uint32_t retval, ns;
	long repeat, runs;
	int fd;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: progcost PIN REPEAT [GSO_SEGS]\n");
		return 2;
	}
	fd = strcmp(argv[1], "-") == 0 ? load_empty() : bpf_obj_get(argv[1]);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	make_packet(pkt);
	memset(&ctx, 0, sizeof(ctx));
	if (argc == 4) {
		ctx.gso_segs = atoi(argv[3]);
		ctx.gso_size = 1448;
	}
	repeat = strtol(argv[2], NULL, 10);
	runs = repeat < 0 ? -repeat : 1;
	for (long i = 0; i < runs; i++) {
		if (bpf_prog_test_run(fd, pkt, sizeof(pkt), &ctx, sizeof(ctx),
		    repeat < 0 ? 1 : repeat, &retval, &ns) < 0) {
			perror("BPF_PROG_TEST_RUN");
			return 1;
		}
		total += ns;
	}
	printf("%llu %u\n", total / runs, retval);
	return 0;
}
