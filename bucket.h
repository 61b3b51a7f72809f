/*
 * What bpf_prog.c and user space share: the limit and the token buckets of
 * one limited cgroup.  Each limited cgroup gets its own programs and maps, so
 * a packet is charged once against every limited cgroup it passes and never
 * twice against the same one, however cgroups are nested.
 *
 * Every map has one entry, which the programs address directly, without a
 * lookup call: the map "ct_conf" holds the limits of both directions, and
 * each cgroup_skb program has a map "ct_bucket" of its own; the sock_ops
 * program shares the download one, where it counts what it did.  The limit lives apart from
 * the buckets so that user space can change it with one map update without
 * overwriting the counters the programs keep.
 *
 * Amounts of data are bytes in 32.32 fixed point: the refill of a few
 * nanoseconds at a low rate is a fraction of a byte and must not be lost.
 */
#ifndef CT_BUCKET_H
#define CT_BUCKET_H

#include <linux/bpf.h>
#include <linux/types.h>

#define CT_INGRESS 0	/* download */
#define CT_EGRESS 1	/* upload */
#define CT_FP_SHIFT 32
#define CT_MAX_DEBT (256 * 1024)	/* bytes; above any GSO packet */

/*
 * A bucket that has seen no packet for CT_IDLE_NS holds at most CT_START_NS
 * of the rate, or CT_START_MIN bytes (room for a handshake and a request)
 * when that is more: a transfer that starts after a pause, or right after
 * ct limit made the bucket, gets the rate from its first second, not a
 * second of saved-up burst on top.  While packets keep coming the bucket may
 * fill to its whole depth, which TCP needs to hold the rate against drops.
 * CT_IDLE_NS is longer than TCP's first retransmission timeouts: a sender
 * waiting for one after a drop is not idle, and cutting its bucket back each
 * time kept it at a quarter of the rate.  ct computes that amount for each
 * limit (start_fp in struct ct_conf): in the programs its few comparisons
 * tripled the paths the verifier walks.
 */
#define CT_IDLE_NS 1000000000ULL	/* 1 s */
#define CT_START_NS 50000000ULL		/* 50 ms */
#define CT_START_MIN (8 * 1024)		/* bytes */

/* Written by user space only; rate_fp == 0 means no limit this way. */
struct ct_rate {
	__u64 rate_fp;		/* bytes per nanosecond */
	__u64 burst_fp;		/* bucket depth */
	__u64 fill_ns;		/* time to fill the bucket from its deepest debt */
};

/*
 * A limited cgroup below this one.  Its packets have passed its own limit
 * already, so this cgroup lets them through ahead of its other traffic: a
 * child keeps its rate inside a busy parent.
 */
struct ct_inner {
	__u64 id;		/* cgroup id */
	__u32 level;		/* depth below the cgroup2 root */
	__u32 pad;
};

#define CT_MAX_INNER 8

struct ct_conf {
	struct ct_rate dir[2];	/* CT_INGRESS, CT_EGRESS */
	__u32 ninner;
	__u32 pad;
	struct ct_inner inner[CT_MAX_INNER];
	__u64 start_fp[2];	/* what each direction's bucket holds after
				   a pause, at most: see CT_START_NS */
};

/*
 * Written by the programs only, with atomic instructions.  A packet larger
 * than what the bucket holds after a pause (a 64 KiB GSO packet at a low
 * rate) may pass when the bucket holds that much, and leave it in debt, which
 * the refill pays back before anything else passes: the bucket can stay
 * about a second deep at any rate.
 */
struct ct_bucket {
	__s64 tokens_fp;
	__u64 last_ns;
	__u64 inner_ns;		/* when a packet of an inner limit last passed */
	__u64 passed_bytes;
	__u64 passed_packets;
	__u64 dropped_bytes;
	__u64 dropped_packets;
	__u64 windows;		/* download bucket only: TCP connections whose
				   receive window the sock_ops program holds */
};

#endif
