#!/usr/bin/env bats
# The limit holds on real TCP traffic: iperf3 between two namespaces joined by veth.
#
# The limiter counts IP bytes; TCP goodput at MTU 1500 is about 0.965 of that, so
# 10mbit should give 9.65 Mbit/s of goodput, accepted within about ±10%.

load helpers

GOODPUT_LOW=8.7
GOODPUT_HIGH=10.6

setup() {
    common_setup
    netns_up "$BATS_TEST_NUMBER.$$"
    start_iperf3_server "$NETNS_A" -B "$NETNS_ADDR_A"
}

# goodput CG SECONDS [IPERF3 ARGS...]: Mbit/s received in an iperf3 run whose
# client lives in cgroup CG (2 s omitted when the run is longer than 5 s)
goodput() {
    local cg=$1 secs=$2 omit=0 json=$BATS_TEST_TMPDIR/iperf3.json
    shift 2
    ((secs > 5)) && omit=2
    netns_run_in_cgroup "$cg" "$NETNS_B" timeout -k 5 $((secs + omit + 20)) \
        iperf3 -c "$NETNS_ADDR_A" -t "$secs" -O "$omit" --json "$@" >"$json" 2>"$json.err" </dev/null
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
if "error" in d:
    sys.exit("iperf3: " + d["error"])
print("%.2f" % (d["end"]["sum_received"]["bits_per_second"] / 1e6))' "$json" ||
        fail "iperf3 run failed:" "$(cat "$json" "$json.err")"
}

# limited_cgroup ARGS...: a cgroup holding a sleeper limited with `ct limit PID ARGS`
limited_cgroup() {
    LIMITED=$(new_cgroup)
    spawn_sleeper "$LIMITED"
    limit_ok "$SPAWNED" "$@"
}

@test "unlimit gives a limited cgroup its full speed back, far above 100 Mbit/s both ways" {
    local limited down up
    limited_cgroup 10mbit
    limited=$(goodput "$LIMITED" 3 -R)
    expect_range "download Mbit/s at 10mbit" 1 20 "$limited"
    unlimit_ok "$SPAWNED"
    down=$(goodput "$LIMITED" 3 -R)
    up=$(goodput "$LIMITED" 3)
    note "10mbit: download $limited Mbit/s; after unlimit: download $down Mbit/s, upload $up Mbit/s"
    expect_range "download Mbit/s after unlimit" 100 1e9 "$down"
    expect_range "upload Mbit/s after unlimit" 100 1e9 "$up"
    expect_no_ct_on "$LIMITED"
    expect_nothing_loaded
}

@test "download is held at 10mbit" {
    local mbits rel
    limited_cgroup 10mbit
    rel=$(cg_rel "$LIMITED")
    mbits=$(goodput "$LIMITED" 10 -R)
    note "download at 10mbit: $mbits Mbit/s"
    expect_range "download Mbit/s at 10mbit" "$GOODPUT_LOW" "$GOODPUT_HIGH" "$mbits"
    load_status
    expect_range "bytes passed down" 10e6 30e6 "$(status_get "$rel" down passed_bytes)"
    expect_range "packets dropped down" 1 1e12 "$(status_get "$rel" down dropped_packets)"
}

@test "upload is held at 10mbit" {
    local mbits rel
    limited_cgroup 10mbit
    rel=$(cg_rel "$LIMITED")
    mbits=$(goodput "$LIMITED" 10)
    note "upload at 10mbit: $mbits Mbit/s"
    expect_range "upload Mbit/s at 10mbit" "$GOODPUT_LOW" "$GOODPUT_HIGH" "$mbits"
    load_status
    expect_range "bytes passed up" 10e6 30e6 "$(status_get "$rel" up passed_bytes)"
}

@test "--down alone leaves the upload unlimited" {
    local down up
    limited_cgroup --down 10mbit
    down=$(goodput "$LIMITED" 3 -R)
    up=$(goodput "$LIMITED" 3)
    note "--down 10mbit: download $down Mbit/s, upload $up Mbit/s"
    expect_range "download Mbit/s with --down 10mbit" 1 20 "$down"
    expect_range "upload Mbit/s with --down 10mbit" 100 1e9 "$up"
}

@test "--up alone leaves the download unlimited" {
    local down up
    limited_cgroup --up 10mbit
    down=$(goodput "$LIMITED" 3 -R)
    up=$(goodput "$LIMITED" 3)
    note "--up 10mbit: download $down Mbit/s, upload $up Mbit/s"
    expect_range "upload Mbit/s with --up 10mbit" 1 20 "$up"
    expect_range "download Mbit/s with --up 10mbit" 100 1e9 "$down"
}
