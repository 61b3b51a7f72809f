#!/usr/bin/env bats
# ct status reports what the kernel really has, and notices changes behind ct's back.

load helpers

setup() {
    common_setup
    CG=$(new_cgroup)
    REL=$(cg_rel "$CG")
    ID=$(cg_id "$CG")
    spawn_sleeper "$CG"
    PID=$SPAWNED
}

@test "status with nothing limited" {
    run --separate-stderr "$CT" status
    expect_exit 0
    expect_eq "ct status" "no limits" "$output"
    load_status
    expect_status_value --doc version 1
    expect_status_value --doc cgroups "[]"
}

@test "status --json describes a limit" {
    limit_ok "$PID" --down 10mbit --up 2mbit
    load_status
    expect_status_value "$REL" id "$ID"
    expect_status_value "$REL" isolated false
    expect_status_value "$REL" attached true
    expect_status_value "$REL" down rate_bits 10000000
    expect_status_value "$REL" up rate_bits 2000000
    expect_range "download bucket in ct status" 1 1e18 "$(status_get "$REL" down burst_bytes)"
    expect_status_value --keys "$REL" down \
        '["burst_bytes", "dropped_bytes", "dropped_packets", "passed_bytes", "passed_packets", "rate_bits", "windows_set"]'
    expect_status_value --keys "$REL" up \
        '["burst_bytes", "dropped_bytes", "dropped_packets", "passed_bytes", "passed_packets", "rate_bits"]'
    expect_status_value "$REL" pids '*' pid "[$PID]"
    expect_status_value "$REL" pids '*' alive "[true]"
    expect_status_value "$REL" pids 0 start_time "$(awk '{ print $22 }' "/proc/$PID/stat")"
    expect_status_value --type --doc notes array
}

@test "text status names the cgroup and the pid" {
    limit_ok "$PID" 10mbit
    run --separate-stderr "$CT" status
    expect_exit 0
    [[ $output == *"$REL"* ]] || fail "ct status does not mention $REL:" "$output"
    [[ $output =~ (^|[^0-9])$PID([^0-9]|$) ]] || fail "ct status does not mention pid $PID:" "$output"
}

@test "status shows a killed process as not alive" {
    limit_ok "$PID" 10mbit
    load_status
    expect_status_value "$REL" pids 0 alive true
    kill_reap "$PID"
    load_status
    expect_status_value "$REL" pids '*' pid "[$PID]"
    expect_status_value "$REL" pids '*' alive "[false]"
    expect_status_value "$REL" attached true
}

@test "status notices a program detached behind ct's back, and unlimit still cleans up" {
    limit_ok "$PID" 10mbit
    bpftool cgroup detach "$CG" ingress pinned "$CT_PINS/$ID/ingress"
    load_status
    expect_status_value "$REL" attached false

    unlimit_ok "$PID"
    expect_no_ct_on "$CG"
    expect_no_pins "$ID"
    expect_nothing_loaded
    expect_registry_forgot "$PID" "$ID"
}

@test "a cgroup removed under a limit is dropped by the next ct invocation" {
    limit_ok "$PID" 10mbit
    expect_pins "$CG"
    kill_reap "$PID"
    eventually rmdir "$CG"

    load_status
    expect_status_value --doc cgroups "[]"
    expect_range "notes in ct status" 1 1e9 "$(status_get --len --doc notes)"
    expect_no_pins "$ID"
    expect_registry_forgot "$PID" "$ID"
    expect_nothing_loaded
}
