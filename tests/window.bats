#!/usr/bin/env bats
# The receive window: on a path with a real round trip, ct's sock_ops program
# holds the receive window of a limited cgroup's TCP connections to the
# download limit, narrowing it as the download bucket runs low, so that the
# sender is held by the window, not by drops it must send again.  bpftool
# reads from the download bucket the count of connections whose window ct
# holds and what it dropped; the sender's namespace counts what it sent again.

load helpers

DELAYLINE=$BATS_TEST_DIRNAME/../bench/delayline
SECONDS_RUN=6
DROPPED_AT=48	# offsets in the download bucket (bucket.h): dropped packets
WINDOWS_AT=56	# and connections whose receive window ct holds

setup() {
    common_setup
    [[ -x $DELAYLINE ]] || fail "bench/delayline not built (run make test)"
}

# retrans_segs NS: TCP segments sent again in namespace NS
retrans_segs() {
    ip netns exec "$1" nstat -az TcpRetransSegs | awk '$1 == "TcpRetransSegs" { print $2 }'
}

# download CG: an iperf3 download of SECONDS_RUN into cgroup CG from NETNS_B;
# RECEIVED (bytes) and RESENT (segments, as the sender's namespace counts them)
download() {
    local before json
    start_iperf3_server "$NETNS_B"
    before=$(retrans_segs "$NETNS_B")
    json=$(netns_run_in_cgroup "$1" "$NETNS_A" iperf3 -c "$NETNS_ADDR_B" -R -J \
        -t "$SECONDS_RUN" -C cubic) || fail "iperf3 failed:" "$json" || return
    RECEIVED=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["end"]["sum_received"]["bytes"])' \
        <<<"$json")
    RESENT=$(($(retrans_segs "$NETNS_B") - before))
}

# limited_download PATH RATE: a download over PATH (20ms or veth) into a new
# cgroup limited to RATE, as download(); CG is the cgroup, PINS its pins,
# RATE_IP the IP rate of the whole download (bit/s), DROPPED and WINDOWS the
# download bucket's counts of dropped packets and of connections whose window
# ct holds
limited_download() {
    if [[ $1 == 20ms ]]; then
        netns_path_up "$DELAYLINE" 10000 || fail "cannot make the 20 ms path" || return
    else
        netns_up || return
    fi
    CG=$(new_cgroup)
    spawn_sleeper "$CG"
    limit_ok "$SPAWNED" "$2"
    PINS=$CT_PINS/$(cg_id "$CG")
    download "$CG" || return
    RATE_IP=$((RECEIVED * 8 * 1500 / 1448 / SECONDS_RUN))
    DROPPED=$(map_u64 "$PINS/bucket_down" "$DROPPED_AT")
    WINDOWS=$(map_u64 "$PINS/bucket_down" "$WINDOWS_AT")
    note "$1, $2: $RATE_IP bit/s, $RESENT segments sent again of $((RECEIVED / 1448)), $DROPPED packets dropped, $WINDOWS windows held"
}

@test "on a 20 ms path a limited download is held by its window: the sender sends next to nothing again" {
    limited_download 20ms 10mbit
    # iperf3's control connection and its data connection
    expect_range "connections whose receive window ct holds" 2 2 "$WINDOWS"
    load_status
    expect_status_value "$(cg_rel "$CG")" down windows_set "$WINDOWS"
    # Policed by drops alone, a cubic download here sends a fifth again.
    expect_range "segments sent again" 0 $((RECEIVED / 1448 / 50)) "$RESENT"
    expect_range "IP rate of the whole download, first second and all" 8500000 11000000 "$RATE_IP"
}

@test "on a 20 ms path the window narrows as the bucket runs low: a 100mbit download loses nothing to it" {
    limited_download 20ms 100mbit
    # A window held at 1.1 times the limit, not narrowed as the bucket runs
    # low, had the bucket drop dozens.
    expect_range "packets the download bucket dropped" 0 2 "$DROPPED"
    expect_range "IP rate of the whole download, first second and all" 85000000 105000000 "$RATE_IP"
}

@test "a 4mbit download arrives at the limit: its window is the clamp, not a share of a buffer" {
    # A buffer sized for the share of it the kernel advertises on most
    # devices gave 0.88 of the limit here, where the share is smaller.
    limited_download 20ms 4mbit
    expect_range "connections whose receive window ct holds" 2 2 "$WINDOWS"
    expect_range "IP rate of the whole download, first second and all" 3750000 4200000 "$RATE_IP"
}

@test "a download whose window is above what rmem_max lets a buffer hold is held by the clamp" {
    # 1.1 times 200mbit over 20 ms is 550 KB of window: twice what a buffer
    # capped at the default rmem_max gives.
    limited_download 20ms 200mbit
    expect_range "connections whose receive window ct holds" 2 2 "$WINDOWS"
    expect_range "packets the download bucket dropped" 0 2 "$DROPPED"
    expect_range "IP rate of the whole download, first second and all" 170000000 210000000 "$RATE_IP"
}

@test "on a veth, whose round trip no window can hold a rate on, the bucket alone limits" {
    limited_download veth 10mbit
    expect_eq "connections whose receive window ct holds" 0 "$WINDOWS"
}

# rcv_wscales: the window scale this side advertises on each connection to
# the iperf3 server (the second figure of ss's wscale), one a line
rcv_wscales() {
    ip netns exec "$NETNS_A" ss -Htin 'dport = :5201' |
        grep -o 'wscale:[0-9]*,[0-9]*' | sed 's/.*,//'
}

_two_connections() {
    [[ $(rcv_wscales | wc -l) -ge 2 ]]
}

@test "a connection opened under a download limit advertises its window in fine units" {
    local cg scales scale
    netns_up
    cg=$(new_cgroup)
    spawn_sleeper "$cg"
    limit_ok "$SPAWNED" --down 10mbit
    start_iperf3_server "$NETNS_B"
    netns_run_in_cgroup "$cg" "$NETNS_A" iperf3 -c "$NETNS_ADDR_B" -R -t 3 \
        >/dev/null 2>&1 &
    track_pid "$!"
    eventually _two_connections || fail "no iperf3 connections seen"
    scales=$(rcv_wscales)
    note "window scales: $(echo $scales)"
    # A clamp of two seconds of 10mbit, 2,500,000 bytes: 2^21 over 2^15.
    for scale in $scales; do
        expect_eq "window scale" 6 "$scale"
    done
}
