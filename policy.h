/*
 * What ct chooses on the user's behalf, in one place: how deep a bucket is
 * when no burst is given, and where ct keeps what outlives it.  The help
 * text, the README and the tests name these values after this file.
 */
#ifndef CT_POLICY_H
#define CT_POLICY_H

#include <stdint.h>

/*
 * The default bucket holds one second of the rate, within these bounds.  A
 * small bucket keeps the idle spells of a slow TCP flow from adding up to a
 * burst above the limit.  On upload, TCP's segmentation offload hands ct
 * packets of up to 64 KiB even at low rates, which ct counts with the headers
 * of each of their segments (67.5 KB for IPv4 at MTU 1500, 68.4 KB for IPv6):
 * the upload floor holds one whole.  A packet larger than the bucket waits
 * for a full bucket while TCP, with nothing else in flight, tries it again
 * only when a timer fires, and the refill of that wait overflows.
 */
#define POLICY_BURST_FLOOR_DOWN (32 * 1024)
#define POLICY_BURST_FLOOR_UP (80 * 1024)
#define POLICY_BURST_CEILING (1ULL << 30)

/* The burst of a direction (CT_DOWN, CT_UP) limited to rate_bits. */
uint64_t policy_default_burst(uint64_t rate_bits, int dir);

/* The registry's directory: see registry.h. */
#define POLICY_RUN_DIR "/run/ct"

/*
 * Pins: one directory per limited cgroup, named by the cgroup's id, in
 * POLICY_PIN_DIR under the bpffs (mounted on POLICY_BPFFS when none is).
 * Each holds the three programs and the three maps of that cgroup.
 */
#define POLICY_BPFFS "/sys/fs/bpf"
#define POLICY_PIN_DIR "ct"
#define POLICY_PIN_INGRESS "ingress"
#define POLICY_PIN_EGRESS "egress"
#define POLICY_PIN_SOCKOPS "sockops"
#define POLICY_PIN_CONF "conf"
#define POLICY_PIN_BUCKET_DOWN "bucket_down"
#define POLICY_PIN_BUCKET_UP "bucket_up"

#endif
