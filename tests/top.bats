#!/usr/bin/env bats
# ct top: rates now, from the programs' counters, beside the limit.

load helpers

setup() {
    common_setup
    netns_up "$BATS_TEST_NUMBER.$$"
}

@test "ct top --json shows a limited download at its limit, one frame a line" {
    local cg pid frames rate
    start_iperf3_server "$NETNS_A" -B "$NETNS_ADDR_A"
    cg=$(new_cgroup)
    spawn_sleeper "$cg"
    limit_ok "$SPAWNED" 10mbit
    "${NETNS_IN_CGROUP[@]}" "$cg" "$NETNS_B" iperf3 -c "$NETNS_ADDR_A" -R -t 10 \
        >/dev/null 2>&1 </dev/null 3>&- &
    pid=$!
    track_pid "$pid"
    sleep 3
    run --separate-stderr "$CT" top --json -n 2 -d 2
    expect_exit 0
    expect_eq "frames printed" 2 "${#lines[@]}"
    frames=$output
    # The mean of the two frames: over a second or two, bbr's rate swings.
    rate=$(python3 -c '
import json, sys
rates = []
for line in sys.argv[1].splitlines():
    [c] = [c for c in json.loads(line)["cgroups"] if c["path"] == sys.argv[2]]
    assert c["down"]["limit_bits"] == 10000000 and c["processes"] >= 1
    rates.append(c["down"]["bits_per_second"] / c["down"]["limit_bits"])
print("%.3f" % (sum(rates) / len(rates)))' "$frames" "$(cg_rel "$cg")") ||
        fail "ct top --json printed:" "$frames" || return
    note "ct top: download at $rate of the limit"
    expect_range "download rate / limit in ct top" 0.8 1.1 "$rate"
}

@test "ct top prints COUNT text frames when not on a terminal, and ends on SIGINT" {
    local cg pid
    cg=$(new_cgroup)
    spawn_sleeper "$cg"
    limit_ok "$SPAWNED" 2mbit
    run --separate-stderr "$CT" top -n 2 -d 0.2
    expect_exit 0
    expect_eq "frames" 2 "$(grep -c '^ct top:' <<<"$output")"
    [[ $output == *"$(cg_rel "$cg")"*"2mbit"* ]] || fail "ct top does not show the limit:" "$output"

    "$CT" top -d 0.2 >/dev/null 2>&1 3>&- &
    pid=$!
    track_pid "$pid"
    sleep 0.5
    kill -INT "$pid"
    wait "$pid" && status=0 || status=$?
    expect_exit 0
}

@test "on a terminal ct top redraws its frame in place" {
    local cg out
    cg=$(new_cgroup)
    spawn_sleeper "$cg"
    limit_ok "$SPAWNED" 2mbit
    out=$BATS_TEST_TMPDIR/tty
    # script(1) gives ct a terminal of its own and keeps what it wrote.
    run timeout 20 script -qec "'$CT' top -n 2 -d 0.2" "$out"
    expect_exit 0
    expect_eq "frames that begin by clearing the terminal" 2 \
        "$(grep -o $'\e\\[H\e\\[2J' "$out" | wc -l)"
    run --separate-stderr "$CT" top -n 2 -d 0.2
    [[ $output != *$'\e'* ]] || fail "ct top wrote escapes where stdout is no terminal"
}

@test "ct top ends when whoever reads it has gone, and refuses bad intervals" {
    local cg
    cg=$(new_cgroup)
    spawn_sleeper "$cg"
    limit_ok "$SPAWNED" 2mbit
    run timeout 10 sh -c "'$CT' top -d 0.1 | head -n 1"
    expect_exit 0
    run --separate-stderr "$CT" top -d 0
    expect_exit 2
    expect_error_line "interval"
    run --separate-stderr "$CT" top -n -1
    expect_exit 2
    expect_error_line
}
