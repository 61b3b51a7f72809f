#!/usr/bin/env bats
# The token bucket has no lock: every CPU changes it with atomic instructions.
# Two processes, each held to its own CPU, run one limited cgroup's program on
# fresh packets at once (BPF_PROG_TEST_RUN, through bench/progcost); bpftool,
# reading the bucket map itself, judges what the program counted and paid out.

load helpers

PROGCOST=$BATS_TEST_DIRNAME/../bench/progcost
RUNS=50000	# per CPU; each is one fresh 1500-byte packet
PKT=1500

# map_u64 PIN OFFSET: the 64-bit field at OFFSET of a pinned map's entry.
# struct ct_bucket: tokens 0, clock 8, inner 16, passed bytes 24 and packets
# 32, dropped bytes 40 and packets 48.  struct ct_conf: rate, burst and fill
# time of download at 0, 8, 16, of upload at 24, 32, 40.
map_u64() {
    bpftool -j map lookup pinned "$1" key 0 0 0 0 | python3 -c '
import json, sys
v = json.load(sys.stdin)["value"]
off = int(sys.argv[1])
print(int.from_bytes(bytes(int(b, 16) for b in v[off:off + 8]), "little"))' "$2"
}

@test "two CPUs charging one bucket at once lose no count and pay out no more than it holds" {
    local cg pins t0 t1 a b passed_b passed_p dropped_b dropped_p most
    [[ $(nproc) -ge 2 ]] || skip "needs two CPUs"
    [[ -x $PROGCOST ]] || fail "bench/progcost not built (run make test)"
    cg=$(new_cgroup)
    spawn_sleeper "$cg"
    run -0 "$CT" limit "$SPAWNED" 8kbit
    pins=$CT_PINS/$(cg_id "$cg")

    t0=$(date +%s%N)
    taskset -c 0 "$PROGCOST" "$pins/ingress" -$RUNS >/dev/null 3>&- &
    a=$!
    track_pid "$a"
    taskset -c 1 "$PROGCOST" "$pins/ingress" -$RUNS >/dev/null 3>&- &
    b=$!
    track_pid "$b"
    wait "$a" || fail "progcost on CPU 0 failed"
    wait "$b" || fail "progcost on CPU 1 failed"
    t1=$(date +%s%N)

    passed_b=$(map_u64 "$pins/bucket_down" 24)
    passed_p=$(map_u64 "$pins/bucket_down" 32)
    dropped_b=$(map_u64 "$pins/bucket_down" 40)
    dropped_p=$(map_u64 "$pins/bucket_down" 48)
    note "passed $passed_p packets, dropped $dropped_p, in $(((t1 - t0) / 1000000)) ms"
    expect_eq "packets counted" $((2 * RUNS)) $((passed_p + dropped_p))
    expect_eq "bytes counted" $((2 * RUNS * PKT)) $((passed_b + dropped_b))
    # A full bucket (32 KiB at this rate) and what 1000 B/s refills while
    # the two ran: that much may pass, and all of it but one packet must.
    most=$((32768 + (t1 - t0) / 1000000 + PKT))
    expect_range "bytes passed" $((32768 - PKT)) "$most" "$passed_b"
}

# burst_of PIN OFFSET: a bucket depth of the conf map, in bytes (32.32 fixed
# point in the map)
burst_of() {
    echo $(($(map_u64 "$1" "$2") >> 32))
}

@test "a default bucket holds a second of the rate, and the upload one a whole 64 KiB TSO packet" {
    local cg pins
    cg=$(new_cgroup)
    spawn_sleeper "$cg"
    run -0 "$CT" limit "$SPAWNED" 10mbit
    pins=$CT_PINS/$(cg_id "$cg")
    expect_eq "download bucket at 10mbit" 1250000 "$(burst_of "$pins/conf" 8)"
    expect_eq "upload bucket at 10mbit" 1250000 "$(burst_of "$pins/conf" 32)"

    run -0 "$CT" limit "$SPAWNED" 256kbit
    expect_eq "download bucket at 256kbit" 32768 "$(burst_of "$pins/conf" 8)"
    # The largest TSO packet at MTU 1500 as ct counts it: 45 segments of
    # 1448 bytes, each with 72 bytes of IPv6 and TCP headers.
    expect_range "upload bucket at 256kbit" $((45 * (1448 + 72))) 131072 \
        "$(burst_of "$pins/conf" 32)"
}
