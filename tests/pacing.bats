#!/usr/bin/env bats
# Upload pacing: ct's sock_ops program caps the pace of a limited cgroup's TCP
# connections at the upload limit, so that the sender sends evenly what the
# bucket lets through instead of bursting into drops.  ss reads the cap the
# kernel holds for each connection (the second figure of its pacing_rate);
# bpftool reads what the upload bucket dropped.

load helpers

SECONDS_RUN=4
DROPPED_PACKETS_AT=48	# offset in the bucket (bucket.h)

setup() {
    common_setup
    netns_up
}

# paced_bps RATE_BPS: the pace cap for an IPv4 connection with timestamps,
# the limit times the payload's share of a full segment (1448 of 1500 bytes)
paced_bps() {
    echo $(($1 * 1448 / 1500))
}

# upload CG: start an iperf3 upload of SECONDS_RUN from cgroup CG to NETNS_B in
# the background; its JSON goes to $BATS_TEST_TMPDIR/upload.json
upload() {
    start_iperf3_server "$NETNS_B"
    netns_run_in_cgroup "$1" "$NETNS_A" iperf3 -c "$NETNS_ADDR_B" -J \
        -t "$SECONDS_RUN" -C cubic >"$BATS_TEST_TMPDIR/upload.json" 2>&1 &
    UPLOADER=$!
    track_pid "$UPLOADER"
}

_data_flowing() {
    [[ $(ip netns exec "$NETNS_A" ss -Htn 'dport = :5201' | wc -l) -ge 2 ]]
}

# pace_caps: the pace cap of each connection to the iperf3 server, one a line,
# "none" for a connection without one
pace_caps() {
    ip netns exec "$NETNS_A" ss -Htin 'dport = :5201' |
        grep -o 'pacing_rate [0-9]*bps\(/[0-9]*bps\)\?' |
        sed -e 's|^pacing_rate [0-9]*bps/\([0-9]*\)bps$|\1|' -e 's|^pacing_rate .*|none|'
}

# expect_caps LOW HIGH: every connection to the server is capped within
# LOW..HIGH bit/s (both iperf3's control and data connections)
expect_caps() {
    local caps cap
    eventually _data_flowing || fail "no iperf3 connections seen"
    caps=$(pace_caps)
    note "pace caps: $(echo $caps)"
    [[ $(wc -l <<<"$caps") -ge 2 ]] || fail "expected two connections, got: $caps"
    for cap in $caps; do
        [[ $cap != none ]] || fail "a connection is not paced: $caps"
        expect_range "pace cap (bit/s)" "$1" "$2" "$cap"
    done
}

# expect_upload_rate LOW HIGH: the IP rate the server received, bit/s
expect_upload_rate() {
    local bytes
    wait "$UPLOADER" || fail "iperf3 failed:" "$(cat "$BATS_TEST_TMPDIR/upload.json")"
    bytes=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["end"]["sum_received"]["bytes"])' \
        <"$BATS_TEST_TMPDIR/upload.json")
    expect_range "IP rate of the upload (bit/s)" "$1" "$2" $((bytes * 8 * 1500 / 1448 / SECONDS_RUN))
}

@test "a limited upload is paced at the limit: the bucket behind it drops next to nothing" {
    local cg pins pace dropped
    cg=$(new_cgroup)
    spawn_sleeper "$cg"
    limit_ok "$SPAWNED" 10mbit
    pins=$CT_PINS/$(cg_id "$cg")
    upload "$cg"
    pace=$(paced_bps 10000000)
    expect_caps $((pace * 99 / 100)) $((pace * 101 / 100))
    expect_upload_rate 9000000 10300000
    dropped=$(map_u64 "$pins/bucket_up" "$DROPPED_PACKETS_AT")
    note "upload bucket dropped $dropped packets"
    # Unpaced, this upload meets the bucket in bursts: hundreds of drops.
    expect_range "packets the upload bucket dropped" 0 10 "$dropped"
}

@test "a connection in a limited cgroup inside a limited cgroup keeps the lower pace" {
    local parent child pace
    parent=$(new_cgroup)
    child=$(new_cgroup "$parent")
    limit_ok --cgroup "$(cg_rel "$parent")" 20mbit
    limit_ok --cgroup "$(cg_rel "$child")" 5mbit
    upload "$child"
    pace=$(paced_bps 5000000)
    # The parent's program runs after the child's, and must not raise it.
    expect_caps $((pace * 99 / 100)) $((pace * 101 / 100))
    expect_upload_rate 4500000 5150000
}

@test "a cgroup limited only downward is not paced" {
    local cg caps
    cg=$(new_cgroup)
    spawn_sleeper "$cg"
    limit_ok "$SPAWNED" --down 10mbit
    upload "$cg"
    eventually _data_flowing || fail "no iperf3 connections seen"
    caps=$(pace_caps)
    note "pace caps: $(echo $caps)"
    [[ -n $caps && -z $(grep -v '^none$' <<<"$caps") ]] || fail "a connection is paced: $caps"
    wait "$UPLOADER" || true
}
