#!/usr/bin/env bats
# ct counts what the wire carries: the IP bytes of every segment.
#
# TCP hands the cgroup hook GSO packets of many segments on egress, and GRO
# merges them again on ingress; ct must charge each such packet as the
# segments it stands for, each with its own headers.  The judge is a capture
# on the sending end's veth, where segmentation offload is off: the stack cuts
# every packet into segments before the device, and the capture adds up the
# IP length field of each (tests/wire.py).  A limit far above the traffic
# drops nothing, so ct's passed bytes of the direction must be those same
# bytes, less the few the kernel itself sends (neighbour discovery), which
# belong to no cgroup.

load helpers

# Far more than the kernel's own frames in a run, far less than a miscount
# of one TCP option per segment (12 bytes of 7,000 segments).
SLACK_BYTES=8192
TRANSFER=10M

setup() {
    common_setup
    netns_up "$BATS_TEST_NUMBER.$$"
    ip -n "$NETNS_A" addr add fd00:c7::1/64 dev veth0 nodad
    ip -n "$NETNS_B" addr add fd00:c7::2/64 dev veth0 nodad
    start_iperf3_server "$NETNS_A"
}

# start_capture NS: count what the veth of NS sends, until stop_capture
start_capture() {
    ip netns exec "$1" python3 "$BATS_TEST_DIRNAME/wire.py" veth0 \
        >"$BATS_TEST_TMPDIR/wire.out" 2>&1 </dev/null 3>&- &
    CAPTURE=$!
    track_pid "$CAPTURE"
    eventually test -s "$BATS_TEST_TMPDIR/wire.out"
    [[ $(head -n 1 "$BATS_TEST_TMPDIR/wire.out") == ready ]] ||
        fail "capture did not start:" "$(cat "$BATS_TEST_TMPDIR/wire.out")"
}

# stop_capture: the IP bytes and frames the capture saw, in WIRE_BYTES and
# WIRE_FRAMES; fails when it lost frames
stop_capture() {
    local -a seen
    kill -TERM "$CAPTURE" && wait "$CAPTURE" ||
        fail "capture failed:" "$(cat "$BATS_TEST_TMPDIR/wire.out")" || return
    read -ra seen < <(sed -n 2p "$BATS_TEST_TMPDIR/wire.out")
    ((${#seen[@]} == 3 && seen[2] == 0)) ||
        fail "capture lost frames or said nothing:" "$(cat "$BATS_TEST_TMPDIR/wire.out")" || return
    WIRE_BYTES=${seen[0]} WIRE_FRAMES=${seen[1]}
}

# expect_counted_as_wire ADDR up|down: run iperf3 from a limited cgroup in
# namespace B to ADDR in A, and compare what ct passed with the frames the
# sending end's veth sent
expect_counted_as_wire() {
    local addr=$1 dir=$2 sender=$NETNS_B receiver=$NETNS_A cg
    local ct_bytes ct_packets
    local -a entry
    if [[ $dir == down ]]; then
        sender=$NETNS_A receiver=$NETNS_B
    fi
    ip netns exec "$sender" ethtool -K veth0 tso off >/dev/null ||
        fail "cannot turn segmentation offload off" || return
    # GRO on the receiving end merges the segments again before ct sees them.
    ip netns exec "$receiver" ethtool -K veth0 gro on >/dev/null ||
        fail "cannot turn GRO on" || return
    cg=$(new_cgroup)
    spawn_sleeper "$cg"
    limit_ok "$SPAWNED" 10gbit || return

    start_capture "$sender" || return
    netns_run_in_cgroup "$cg" "$NETNS_B" timeout -k 5 60 iperf3 -c "$addr" \
        -n "$TRANSFER" $([[ $dir == down ]] && echo -R) \
        >"$BATS_TEST_TMPDIR/client.log" 2>&1 </dev/null ||
        fail "iperf3 failed:" "$(cat "$BATS_TEST_TMPDIR/client.log")" || return
    stop_capture || return

    load_status || return
    entry=("$(cg_rel "$cg")" "$dir")
    ct_bytes=$(status_get "${entry[@]}" passed_bytes) || return
    ct_packets=$(status_get "${entry[@]}" passed_packets) || return
    expect_status_value "${entry[@]}" dropped_packets 0 || return
    note "$addr $dir: wire $WIRE_BYTES IP bytes in $WIRE_FRAMES frames," \
        "ct $ct_bytes bytes in $ct_packets packets"
    # Otherwise this test would not be about GSO or GRO at all.
    ((ct_packets * 4 < WIRE_FRAMES)) ||
        fail "ct saw $ct_packets packets for $WIRE_FRAMES frames: no aggregates" || return
    expect_range "ct's $dir bytes less the wire's" "-$SLACK_BYTES" "$SLACK_BYTES" \
        $((ct_bytes - WIRE_BYTES))
}

@test "an IPv4 upload is counted segment by segment, as the wire carries it" {
    expect_counted_as_wire "$NETNS_ADDR_A" up
}

@test "an IPv4 download is counted segment by segment, as the wire carries it" {
    expect_counted_as_wire "$NETNS_ADDR_A" down
}

@test "an IPv6 upload is counted segment by segment, as the wire carries it" {
    expect_counted_as_wire fd00:c7::1 up
}

@test "an IPv6 download is counted segment by segment, as the wire carries it" {
    expect_counted_as_wire fd00:c7::1 down
}
