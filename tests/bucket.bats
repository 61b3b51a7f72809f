#!/usr/bin/env bats
# The token bucket, judged by running a limited cgroup's pinned programs on
# test packets (BPF_PROG_TEST_RUN, through bench/progcost) and by bpftool
# reading the maps themselves.

load helpers

PROGCOST=$BATS_TEST_DIRNAME/../bench/progcost
RUNS=50000	# per CPU; each is one fresh 1500-byte packet
PKT=1500

# The bucket has no lock: every CPU changes it with atomic instructions.  Two
# processes, each held to its own CPU, run the program on fresh packets at once.
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
    # What a new bucket holds (8 KiB at this rate) and what 1000 B/s refills
    # while the two ran: that much may pass, and all of it but one packet must.
    most=$((START_MIN + (t1 - t0) / 1000000 + PKT))
    expect_range "bytes passed" $((START_MIN - PKT)) "$most" "$passed_b"
}

# drain PINS: the bytes the download bucket lets through of 200 fresh
# 1500-byte packets at once, far more than it holds
drain() {
    local before
    before=$(map_u64 "$1/bucket_down" 24)
    "$PROGCOST" "$1/ingress" -200 >/dev/null
    echo $(($(map_u64 "$1/bucket_down" 24) - before))
}

# A second of saved-up rate on top of the limit is the first-second burst of a
# transfer: a bucket fills to its depth only while packets keep coming.
@test "a bucket starts nearly empty, fills while busy, and is cut back after a second idle" {
    local cg pins got tick
    [[ -x $PROGCOST ]] || fail "bench/progcost not built (run make test)"
    cg=$(new_cgroup)
    spawn_sleeper "$cg"
    run -0 "$CT" limit "$SPAWNED" 1mbit	# 125000 B/s, a bucket of 1 s
    pins=$CT_PINS/$(cg_id "$cg")

    got=$(drain "$pins")
    note "new bucket: $got bytes passed"
    expect_range "bytes a new bucket passes" $((START_MIN - PKT)) $((START_MIN + 6 * PKT)) "$got"
    # Busy: a packet every 0.2 s for 1.6 s; the bucket fills to its depth.
    for ((tick = 0; tick < 8; tick++)); do
        sleep 0.2
        "$PROGCOST" "$pins/ingress" -1 >/dev/null
    done
    got=$(drain "$pins")
    note "after 1.6 s busy: $got bytes passed"
    expect_range "bytes a busy bucket passes" 100000 $((125000 + 5 * PKT)) "$got"
    # Idle for longer than a second: back to what a new bucket holds.
    sleep 1.3
    got=$(drain "$pins")
    note "after 1.3 s idle: $got bytes passed"
    expect_range "bytes a bucket idle for a second passes" $((START_MIN - PKT)) $((START_MIN + 6 * PKT)) "$got"
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
    expect_eq "download bucket at 256kbit" "$BURST_FLOOR_DOWN" "$(burst_of "$pins/conf" 8)"
    # The largest TSO packet at MTU 1500 as ct counts it: 45 segments of
    # 1448 bytes, each with 72 bytes of IPv6 and TCP headers.
    expect_range "upload bucket at 256kbit" $((45 * (1448 + 72))) 131072 \
        "$(burst_of "$pins/conf" 32)"
}

# The verdicts of ct_egress: 1 passes; 2 drops and tells TCP to back off at
# once, where a plain drop (0) would leave it waiting for a timer.
@test "the upload program refuses a packet with drop and congestion notification, not a plain drop" {
    local cg pins i verdicts='' passed dropped
    [[ -x $PROGCOST ]] || fail "bench/progcost not built (run make test)"
    cg=$(new_cgroup)
    spawn_sleeper "$cg"
    run -0 "$CT" limit "$SPAWNED" --up 8kbit
    pins=$CT_PINS/$(cg_id "$cg")

    # A new bucket holds 8 KiB, refilled at 1000 B/s: the first 5 packets of
    # 1500 bytes pass, then it is empty for far longer than this takes.
    for ((i = 0; i < 80; i++)); do
        verdicts+=$("$PROGCOST" "$pins/egress" -1 | awk '{ print $2 }')
    done
    note "verdicts of ct_egress: $verdicts"
    expect_eq "verdicts of 80 runs" 80 "${#verdicts}"
    [[ $verdicts =~ ^1[12]*2$ ]] ||
        fail "expected verdicts 1 (pass) first and 2 (drop, tell TCP) last, and no other, got:" \
            "$verdicts"
    passed=${verdicts//2/} dropped=${verdicts//1/}
    expect_eq "packets passed, as bucket_up counts them" "${#passed}" "$(map_u64 "$pins/bucket_up" 32)"
    expect_eq "packets dropped, as bucket_up counts them" "${#dropped}" "$(map_u64 "$pins/bucket_up" 48)"
}
