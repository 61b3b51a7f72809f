/*
 * The limiter: one cgroup_skb program per direction, charging every packet of
 * the cgroup it is attached to against that cgroup's token bucket, and a
 * sock_ops program that fits each of the cgroup's TCP connections to the
 * limits: its receive window to the download limit (set before each segment
 * it sends, narrowed as the download bucket runs low), its pace to the
 * upload limit, so that both senders are held to the limit before anything
 * has to be dropped.
 *
 * Built with clang -target bpf and embedded in ct; ct loads it itself, so
 * this file depends on nothing but the kernel's uapi headers.  The only
 * relocations it may contain are references to the maps "ct_conf" and
 * "ct_bucket", which ct points at the maps it created for that cgroup.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/types.h>

#include "bucket.h"

#define SEC(name) __attribute__((section(name), used))

/* Helper calls are plain calls to the helper's number. */
static __u64 (*bpf_ktime_get_coarse_ns)(void) =
    (void *)BPF_FUNC_ktime_get_coarse_ns;
static long (*bpf_skb_load_bytes)(const void *skb, __u32 off, void *to,
    __u32 len) = (void *)BPF_FUNC_skb_load_bytes;
static struct bpf_tcp_sock *(*bpf_tcp_sock)(struct bpf_sock *sk) =
    (void *)BPF_FUNC_tcp_sock;
static __u64 (*bpf_skb_ancestor_cgroup_id)(const void *skb, int level) =
    (void *)BPF_FUNC_skb_ancestor_cgroup_id;
static long (*bpf_setsockopt)(void *ctx, int level, int optname, void *optval,
    int optlen) = (void *)BPF_FUNC_setsockopt;
static long (*bpf_getsockopt)(void *ctx, int level, int optname, void *optval,
    int optlen) = (void *)BPF_FUNC_getsockopt;
static long (*bpf_sock_ops_cb_flags_set)(struct bpf_sock_ops *skops,
    int flags) = (void *)BPF_FUNC_sock_ops_cb_flags_set;

/*
 * The maps' single entries.  ct points each reference at the entry of the map
 * it made for this cgroup, and at a bucket map of each program's own.
 */
struct ct_conf ct_conf SEC("maps");
struct ct_bucket ct_bucket SEC("maps");

char ct_license[] SEC("license") = "Dual MIT/GPL";

/* Verdicts of cgroup_skb programs; 2 is egress only: drop, and tell TCP to
 * back off at once (it enters CWR) instead of waiting for a timer. */
#define VERDICT_DROP 0
#define VERDICT_PASS 1
#define VERDICT_DROP_CN 2

/*
 * The length of the IP header, or 0 when the packet is not IP or cannot be
 * read; *l4_proto is the protocol it carries.  IPv6 extension headers are
 * not walked: behind one, the transport header is not found.
 */
static __attribute__((always_inline)) __u32
ip_header(struct __sk_buff *skb, __u32 *l4_proto)
{
	__u8 b[1];
	__u32 ip_len;

	if (skb->protocol == __constant_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, 0, b, 1) < 0)
			return 0;
		ip_len = (b[0] & 0x0f) * 4;
		if (bpf_skb_load_bytes(skb, 9, b, 1) < 0)
			return 0;
	} else if (skb->protocol == __constant_htons(ETH_P_IPV6)) {
		ip_len = sizeof(struct ipv6hdr);
		if (bpf_skb_load_bytes(skb, 6, b, 1) < 0)
			return 0;
	} else {
		return 0;
	}
	*l4_proto = b[0];
	return ip_len;
}

/*
 * The length of the IP and transport headers of the first segment, or 0 when
 * they cannot be read.  A GSO or GRO packet carries one copy of them for many
 * segments, and each of those segments carries its own copy on the wire.
 */
static __attribute__((always_inline)) __u32
header_len(struct __sk_buff *skb)
{
	__u8 b[1];
	__u32 ip_len, l4_proto = 0;

	ip_len = ip_header(skb, &l4_proto);
	if (ip_len == 0)
		return 0;
	if (l4_proto == IPPROTO_UDP)
		return ip_len + 8;
	if (l4_proto != IPPROTO_TCP)
		return ip_len;
	/* The TCP data offset is the high nibble of byte 12. */
	if (bpf_skb_load_bytes(skb, ip_len + 12, b, 1) < 0)
		return ip_len;
	return ip_len + (b[0] >> 4) * 4;
}

/* The bytes this packet is on the wire at the IP layer, summed over segments. */
static __attribute__((always_inline)) __u64
ip_bytes(struct __sk_buff *skb)
{
	__u64 len = skb->len;
	__u32 segs = skb->gso_segs;

	if (segs > 1)
		len += (__u64)(segs - 1) * header_len(skb);
	return len;
}

/*
 * Set on a packet that an inner limited cgroup's program has dropped: the
 * programs of outer cgroups run on it all the same, and must not charge it.
 * The packet is doomed, so no one after ct reads the value.
 */
#define CT_DOOMED 1

/*
 * The id of the limited cgroup below this one that the packet's socket lives
 * in, or 0.  An id rather than a flag: the verifier walks the code after this
 * once for a constant and once for an unknown value, but would walk it again
 * for every constant it could tell apart, and its time is ct limit's time.
 */
static __attribute__((always_inline)) __u64
from_inner(struct __sk_buff *skb)
{
	__u32 n = ct_conf.ninner;

	for (__u32 i = 0; i < CT_MAX_INNER && i < n; i++) {
		__u64 id = bpf_skb_ancestor_cgroup_id(skb,
		    ct_conf.inner[i].level);

		if (id == ct_conf.inner[i].id)
			return id;
	}
	return 0;
}

/* For a second after an inner limit's packet, the other traffic leaves it
 * half the bucket. */
#define INNER_HOLD_NS 1000000000ULL

static __attribute__((always_inline)) __u64
at_most(__u64 v, __u64 max)
{
	return v < max ? v : max;
}

/*
 * The bucket has no lock: every CPU changes it with single atomic
 * instructions.  A bpf_spin_lock, which turns interrupts off around two
 * helper calls, cost more than the whole rest of the program.
 */

/*
 * Pay the bucket the rate for the time since it was last paid.  The CPU that
 * moves last_ns forward pays for that interval; the others find it paid.
 * The coarse clock moves once a tick, so nearly every packet pays nothing.
 */
static __attribute__((always_inline)) void
refill(struct ct_bucket *b, const struct ct_rate *r, __u64 start, __u64 now)
{
	__u64 last = b->last_ns, depth = r->burst_fp;
	__s64 credit, over;

	if (now <= last ||
	    __sync_val_compare_and_swap(&b->last_ns, last, now) != last)
		return;
	if (now - last >= CT_IDLE_NS)
		depth = start;
	/* fill_ns of the rate fills the bucket from its deepest debt; the
	 * cap also keeps the product from overflowing. */
	credit = at_most(now - last, r->fill_ns) * r->rate_fp;
	over = __sync_fetch_and_add(&b->tokens_fp, credit) + credit -
	    (__s64)depth;
	/*
	 * Take back what overflows the bucket, as of the moment of the payment
	 * (this is also where a bucket that user space has just made smaller
	 * shrinks).  What other CPUs take meanwhile stays taken.  Only another
	 * payment in between, a tick later, makes this take back too much: the
	 * error is rare and on the side of the limit.
	 */
	if (over > 0)
		__sync_fetch_and_add(&b->tokens_fp, -over);
}

/* Take cost from the bucket if at least need is in it. */
static __attribute__((always_inline)) int
take(struct ct_bucket *b, __s64 cost, __s64 need)
{
	/* A packet the bucket cannot pay for leaves it untouched. */
	if (b->tokens_fp < need)
		return 0;
	if (__sync_fetch_and_add(&b->tokens_fp, -cost) >= need)
		return 1;
	/* Another CPU was first: give the tokens back. */
	__sync_fetch_and_add(&b->tokens_fp, cost);
	return 0;
}

/*
 * Whether the packet fits: refill, then take its length.  Traffic of an
 * inner limit marks the bucket; for a second after, the other traffic must
 * leave half the bucket, and keep more on top.
 */
static __attribute__((always_inline)) int
fits(struct ct_bucket *b, const struct ct_rate *r, __u64 start, __u64 now,
    __u64 len, __u64 inner, __u64 keep)
{
	__u64 cost = len << CT_FP_SHIFT, reserve = 0;

	refill(b, r, start, now);
	/* Signed: another CPU may have read a later clock and marked it. */
	if (inner)
		b->inner_ns = now;
	else if ((__s64)(now - b->inner_ns) < (__s64)INNER_HOLD_NS)
		reserve = r->burst_fp / 2;
	/*
	 * A packet larger than what the bucket holds after a pause (a GSO
	 * packet at a low rate) needs that much, and leaves the bucket in
	 * debt; were it to need more, a sender that pauses after each drop
	 * would find the bucket cut back each time and never get it through.
	 */
	return take(b, cost, at_most(at_most(cost, start) + reserve +
	    keep, r->burst_fp));
}

/*
 * Data that arrives behind a hole in a TCP stream cannot be read until the
 * retransmission that fills the hole arrives.  A sender that goes on sending
 * new data while it repairs losses (BBR does) spends the bucket on data no
 * one can read yet; at low rates, where a packet is a large part of what a
 * second lets through, the stream the application reads then stalls and
 * surges by tens of kilobytes.  So on ingress the last eighth of a small
 * bucket is kept for packets near the front of their stream: the one that
 * fills the hole, or the next ones in order.  In larger buckets the same
 * reserve made BBR swing further around the limit, not less (README).
 */
#define FRONT_SHARE 8	/* of the bucket */
#define FRONT_MAX_BURST (64ULL * 1024 << CT_FP_SHIFT)

/*
 * Whether the packet begins at most span bytes past the end of what its
 * socket has received in order; true of whatever is not TCP or has no full
 * socket to ask.  The span lets in the packets right behind one that the
 * socket has not taken in yet.
 */
static __attribute__((always_inline)) int
at_front(struct __sk_buff *skb, __u32 span)
{
	struct bpf_sock *sk = skb->sk;
	struct bpf_tcp_sock *tp;
	__u32 ip_len, l4_proto = 0, seq;
	__u8 b[4];

	if (sk == 0)
		return 1;
	/* NULL unless sk is a full TCP socket. */
	tp = bpf_tcp_sock(sk);
	if (tp == 0)
		return 1;
	ip_len = ip_header(skb, &l4_proto);
	if (ip_len == 0 || l4_proto != IPPROTO_TCP ||
	    bpf_skb_load_bytes(skb, ip_len + 4, b, 4) < 0)
		return 1;
	seq = (__u32)b[0] << 24 | (__u32)b[1] << 16 | (__u32)b[2] << 8 | b[3];
	/* Wrapping arithmetic: data the socket has already is at the front. */
	return (__s32)(seq - tp->rcv_nxt) <= (__s32)span;
}

static __attribute__((always_inline)) int
charge(struct __sk_buff *skb, __u32 dir)
{
	struct ct_bucket *b = &ct_bucket;
	struct ct_rate r;
	__u64 len, now, share, keep;
	__u64 inner;
	int ok;

	if (skb->tstamp == CT_DOOMED)
		return 1;	/* not ours to judge: it is dropped already */
	/* One copy, so that the packet sees one limit even while it changes. */
	r = ct_conf.dir[dir];
	len = ip_bytes(skb);
	/*
	 * The coarse clock moves once a tick, a few milliseconds, and costs a
	 * third of the precise one: the refill comes in steps, but none is
	 * lost, and a tick's worth of the rate is far below any bucket.  Read
	 * even for an unlimited direction, which saves the verifier a path.
	 */
	now = bpf_ktime_get_coarse_ns();
	inner = ct_conf.ninner ? from_inner(skb) : 0;
	share = r.burst_fp / FRONT_SHARE;
	keep = 0;
	if (dir == CT_INGRESS && r.rate_fp != 0 &&
	    r.burst_fp <= FRONT_MAX_BURST &&
	    !at_front(skb, share >> CT_FP_SHIFT))
		keep = share;

	ok = r.rate_fp == 0 ||
	    fits(b, &r, ct_conf.start_fp[dir], now, len, inner, keep);
	if (ok) {
		__sync_fetch_and_add(&b->passed_bytes, len);
		__sync_fetch_and_add(&b->passed_packets, 1);
	} else {
		__sync_fetch_and_add(&b->dropped_bytes, len);
		__sync_fetch_and_add(&b->dropped_packets, 1);
	}
	if (!ok)
		skb->tstamp = CT_DOOMED;
	return ok;
}

SEC("cgroup_skb/ingress")
int
ct_ingress(struct __sk_buff *skb)
{
	return charge(skb, CT_INGRESS) ? VERDICT_PASS : VERDICT_DROP;
}

SEC("cgroup_skb/egress")
int
ct_egress(struct __sk_buff *skb)
{
	return charge(skb, CT_EGRESS) ? VERDICT_PASS : VERDICT_DROP_CN;
}

/*
 * The receive window.  A download cannot run faster than the window its
 * receiver advertises per round trip, so a window of the limit times the
 * round trip holds any sender, whatever its congestion control, without a
 * drop: nothing is sent twice over the link, and the rate is as smooth as the
 * path.  The bucket stays the hard limit behind it.
 *
 * The lever is the connection's window clamp, set whenever it sends a
 * segment (a download's acknowledgments: the kernel asks the program for
 * header options then, once the program has asked for that call when the
 * connection was established).  Set once, a clamp does not hold: the kernel
 * resets it as the receive buffer grows and as it relearns the payload's
 * share of what each packet costs in memory.  Set before each segment, it
 * is the window that segment advertises, to the byte, whatever the buffer.
 *
 * The window is 1.1 times the limit times the handshake's round trip: above
 * the limit, so that a round trip a little longer under load does not leave
 * the download below it, nor one read by an application that lets data wait
 * in the socket (curl from nginx at 1.05: 0.93 of the limit).  A sender that
 * takes the tenth drains the bucket, which would then drop, late and a
 * little at a time.  So the window also follows the bucket: the whole window
 * while the bucket holds at least what it holds after a pause, less in
 * proportion below that, down to a floor when the bucket is empty.  A sender
 * faster than the limit drains the bucket until its window matches the
 * limit, and the bucket settles above empty: nothing is dropped.
 */
#define SOL_SOCKET 1
#define SO_RCVBUF 8

/*
 * Below a millisecond (a veth, loopback) a window cannot hold a rate: its
 * floor of a few segments per round trip is hundreds of Mbit/s, and a round
 * trip that doubles under load would halve the rate.  The bucket alone
 * limits such paths.
 */
#define WINDOW_MIN_RTT_US 1000
/* Round trips longer than this are taken as this (and keep the product of a
 * rate and a round trip in range). */
#define WINDOW_MAX_RTT_US (1U << 22)
#define WINDOW_MAX_RATE (1ULL << 40)	/* bytes per ns, 32.32 */
/* The 1.1, of the IP bytes of the limit's round trip. */
#define WINDOW_FULL_PER_MILLE 1100
/*
 * A window of fewer than two full segments holds nothing steady: the sender
 * sends whole segments only, and the receiver holds back its acknowledgment
 * of a lone segment for tens of milliseconds.  So the window is at least two
 * segments and an eighth, even where that passes more than the limit (1mbit
 * over 20 ms is 1.7 segments) and the bucket drops the rest.
 */
#define WINDOW_MIN_SEGMENTS_X8 17
/*
 * Where the window is that floor, the receive buffer holds it, not the
 * clamp: set to what gives it (the kernel doubles the value given and
 * advertises a share of that, about 0.63 on the devices measured), as the
 * buffer also stops the kernel from growing it.  At 1mbit over 20 ms, bbr
 * ran at 0.995 of the limit held so, and at 0.91-0.93 with a clamp of the
 * same size on a buffer the kernel grew.
 */
#define WINDOW_FLOOR_BUF_PER_MILLE 843

/*
 * The grain of the window.  The window is advertised in units of 2 to the
 * power of the window scale, which the kernel chooses before the handshake
 * from the largest buffer it could ever give the socket (tcp_rmem, 32 MiB
 * on some machines: units of 1 KiB, a tenth of a window of 1mbit over 20
 * ms).  A window clamp set before the handshake lowers the scale.  It is
 * generous, two seconds of the limit and 1 MiB at least, so that the scale
 * leaves room for any window steer() sets later, and for a connection at
 * the floor, which keeps it.
 * Only for connections this side opens: the scale of one accepted is chosen
 * from the listening socket's buffer.
 */
#define SOL_TCP 6
#define TCP_WINDOW_CLAMP 10
#define GRAIN_CLAMP_MIN (1 << 20)
#define GRAIN_CLAMP_MAX 0x7fffffff

/* A rate in bytes per nanosecond, 32.32, as bytes per second:
 * rate_fp * 10^9 >> 32, as 10^9 = 2^9 * 1953125. */
static __attribute__((always_inline)) __u64
per_second(__u64 rate_fp)
{
	return at_most(rate_fp, WINDOW_MAX_RATE) * 1953125 >> 23;
}

static __attribute__((always_inline)) void
fine_grain(struct bpf_sock_ops *skops)
{
	struct ct_rate r = ct_conf.dir[CT_INGRESS];
	__u64 bytes;
	int clamp;

	if (r.rate_fp == 0)
		return;
	bytes = 2 * per_second(r.rate_fp);
	clamp = (int)at_most(bytes < GRAIN_CLAMP_MIN ? GRAIN_CLAMP_MIN : bytes,
	    GRAIN_CLAMP_MAX);
	bpf_setsockopt(skops, SOL_TCP, TCP_WINDOW_CLAMP, &clamp,
	    sizeof(clamp));
}

/* The IP and TCP headers of each of a connection's segments, timestamps
 * included: what the bucket counts besides the payload. */
#define HEADERS_V4 52
#define HEADERS_V6 72
#define AF_INET6 10

/* The payload of the connection's full segments that carry ip bytes. */
static __attribute__((always_inline)) __u64
payload(const struct bpf_sock_ops *skops, __u64 ip)
{
	__u32 mss = skops->mss_cache;

	return ip * mss /
	    (mss + (skops->family == AF_INET6 ? HEADERS_V6 : HEADERS_V4));
}

/*
 * IP bytes of the download limit per round trip of the connection, or 0 when
 * there is no download limit or the round trip is too short for a window.
 */
static __attribute__((always_inline)) __u64
round_trip_bytes(const struct bpf_sock_ops *skops, const struct ct_rate *r)
{
	__u32 rtt_us = skops->srtt_us >> 3;	/* srtt_us is kept times 8 */

	if (r->rate_fp == 0 || rtt_us < WINDOW_MIN_RTT_US)
		return 0;
	if (rtt_us > WINDOW_MAX_RTT_US)
		rtt_us = WINDOW_MAX_RTT_US;
	/* Rate in bytes/ns, 32.32, times ns. */
	return (at_most(r->rate_fp, WINDOW_MAX_RATE) * rtt_us >> 22) * 1000 >>
	    10;
}

static __attribute__((always_inline)) __u64
window_floor(const struct bpf_sock_ops *skops)
{
	return (__u64)skops->mss_cache * WINDOW_MIN_SEGMENTS_X8 / 8;
}

/* The whole window, in payload bytes, or 0 where no window applies. */
static __attribute__((always_inline)) __u64
full_window(const struct bpf_sock_ops *skops, const struct ct_rate *r)
{
	return payload(skops,
	    round_trip_bytes(skops, r) * WINDOW_FULL_PER_MILLE / 1000);
}

/* When the connection is established: from now on, a call for every
 * segment it sends (see steer()), or a buffer that holds the floor. */
static __attribute__((always_inline)) void
hold_window(struct bpf_sock_ops *skops)
{
	struct ct_rate r = ct_conf.dir[CT_INGRESS];
	__u64 full = full_window(skops, &r), least = window_floor(skops);
	int buf;

	if (full == 0)
		return;
	if (full <= least) {
		buf = (int)(least * WINDOW_FLOOR_BUF_PER_MILLE / 1000);
		bpf_setsockopt(skops, SOL_SOCKET, SO_RCVBUF, &buf,
		    sizeof(buf));
	} else {
		bpf_sock_ops_cb_flags_set(skops,
		    skops->bpf_sock_ops_cb_flags |
		    BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG);
	}
	__sync_fetch_and_add(&ct_bucket.windows, 1);
}

/*
 * The window clamp that the download bucket's level calls for, before the
 * connection sends a segment.  The bucket is read without a lock: a level a
 * packet old errs by a packet's worth.
 */
static __attribute__((always_inline)) void
steer(struct bpf_sock_ops *skops)
{
	struct ct_rate r = ct_conf.dir[CT_INGRESS];
	__u64 full = full_window(skops, &r), least = window_floor(skops);
	__u64 low = ct_conf.start_fp[CT_INGRESS] >> CT_FP_SHIFT;
	__s64 tokens = ct_bucket.tokens_fp;
	__u64 have = tokens > 0 ? (__u64)tokens >> CT_FP_SHIFT : 0;
	int clamp;

	/* No limit now, or a limit lowered to the floor: the clamp stays. */
	if (full <= least)
		return;
	if (have < low)
		full = least + (full - least) * have / low;
	clamp = (int)at_most(full, GRAIN_CLAMP_MAX);
	bpf_setsockopt(skops, SOL_TCP, TCP_WINDOW_CLAMP, &clamp,
	    sizeof(clamp));
}

/*
 * Upload pacing.  A sender paced at the limit sends what the bucket lets
 * through, evenly, from its first round trip: nothing waits for a drop to
 * slow it down.  The kernel paces a socket's payload, the bucket counts IP
 * bytes, so the pace is the limit times the payload's share of a full
 * segment.  A lower cap already set (by an inner limit's program, which
 * runs first, or by the application) is kept.
 */
#define SO_MAX_PACING_RATE 47

static __attribute__((always_inline)) void
pace(struct bpf_sock_ops *skops)
{
	struct ct_rate r = ct_conf.dir[CT_EGRESS];
	__u64 bytes_per_s;
	int now = 0, want;

	if (r.rate_fp == 0 || skops->mss_cache == 0)
		return;
	bytes_per_s = payload(skops, per_second(r.rate_fp));
	if (bytes_per_s >= 0x7fffffff)
		return;
	want = (int)bytes_per_s;
	if (bpf_getsockopt(skops, SOL_SOCKET, SO_MAX_PACING_RATE, &now,
	    sizeof(now)) == 0 && (unsigned int)now <= (unsigned int)want)
		return;
	bpf_setsockopt(skops, SOL_SOCKET, SO_MAX_PACING_RATE, &want,
	    sizeof(want));
}

SEC("sockops")
int
ct_sockops(struct bpf_sock_ops *skops)
{
	if (skops->op == BPF_SOCK_OPS_HDR_OPT_LEN_CB) {
		steer(skops);
		return 1;
	}
	if (skops->op == BPF_SOCK_OPS_TCP_CONNECT_CB) {
		fine_grain(skops);
		return 1;
	}
	if (skops->op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB &&
	    skops->op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;
	hold_window(skops);
	pace(skops);
	return 1;
}
