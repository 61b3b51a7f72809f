#!/usr/bin/env bats
# Limits come and go: attach, pin, registry, unlimit, cleanup, --isolate.

load helpers

@test "limit attaches and pins, unlimit removes every trace" {
    local cg pid id
    cg=$(new_cgroup)
    spawn_sleeper "$cg"
    pid=$SPAWNED
    id=$(cg_id "$cg")

    limit_ok "$pid" 10mbit
    expect_ct_progs "$cg"
    expect_pins "$cg"
    expect_loaded_count $PROGS_PER_LIMIT
    expect_eq "registry header" "ct-registry 2" "$(head -n 1 "$CT_REGISTRY")"
    expect_eq "mode of $CT_RUN" 700 "$(stat -c %a "$CT_RUN")"
    [[ -e $CT_RUN/lock ]] || fail "expected lock file $CT_RUN/lock"
    registry_mentions "$pid" || fail "registry does not mention pid $pid:" "$(cat "$CT_REGISTRY")"

    unlimit_ok "$pid"
    expect_no_ct_on "$cg"
    expect_no_pins "$id"
    expect_nothing_loaded
    expect_registry_forgot "$pid" "$id"
}

@test "unlimit works from the registry after the process died" {
    local cg pid id
    cg=$(new_cgroup)
    spawn_sleeper "$cg"
    pid=$SPAWNED
    id=$(cg_id "$cg")

    limit_ok "$pid" 10mbit
    expect_ct_progs "$cg"
    kill_reap "$pid"

    unlimit_ok "$pid"
    expect_no_ct_on "$cg"
    expect_no_pins "$id"
    expect_nothing_loaded
    expect_registry_forgot "$pid" "$id"
}

@test "cleanup removes every limit, dead or alive, and all of ct's state" {
    local -a cgs pids
    local n cg
    for n in 0 1 2; do
        cgs[n]=$(new_cgroup)
    done
    spawn_sleeper "${cgs[0]}"; pids+=("$SPAWNED")
    spawn_sleeper "${cgs[0]}"; pids+=("$SPAWNED")
    spawn_sleeper "${cgs[1]}"; pids+=("$SPAWNED")
    spawn_sleeper "${cgs[2]}"; pids+=("$SPAWNED")
    for n in "${!pids[@]}"; do
        limit_ok "${pids[n]}" "$((n + 1))mbit"
    done
    for cg in "${cgs[@]}"; do
        expect_ct_progs "$cg"
    done
    kill_reap "${pids[0]}"
    kill_reap "${pids[2]}"

    run --separate-stderr "$CT" cleanup
    expect_exit 0
    for cg in "${cgs[@]}"; do
        expect_no_ct_on "$cg"
    done
    expect_nothing_loaded
    [[ ! -e $CT_RUN ]] || fail "expected $CT_RUN gone, found: $(ls -A "$CT_RUN")"
    expect_no_pins_at_all

    run --separate-stderr "$CT" cleanup
    expect_exit 0
    run --separate-stderr "$CT" status
    expect_exit 0
    expect_eq "ct status after cleanup" "no limits" "$output"
}

@test "two processes in one cgroup share one set of programs until the last unlimit" {
    local cg a b ids
    cg=$(new_cgroup)
    spawn_sleeper "$cg"; a=$SPAWNED
    spawn_sleeper "$cg"; b=$SPAWNED

    limit_ok "$a" 10mbit
    [[ $stderr == *shared* && $stderr =~ (^|[^0-9])([0-9]+)\ processes ]] ||
        fail "expected a note that the cgroup is shared, with a count of processes; stderr:" "$stderr"
    expect_eq "processes counted in the note that the cgroup is shared" 2 "${BASH_REMATCH[2]}"
    ids=$(ct_ids "$cg")
    limit_ok "$b" 10mbit
    expect_ct_progs "$cg"
    expect_eq "ct program ids after the second limit" "$ids" "$(ct_ids "$cg")"
    load_status
    expect_status_value --sort "$(cg_rel "$cg")" pids '*' pid "$(int_list "$a" "$b")"

    unlimit_ok "$a"
    expect_ct_progs "$cg"
    expect_eq "ct program ids after the first unlimit" "$ids" "$(ct_ids "$cg")"
    load_status
    expect_status_value "$(cg_rel "$cg")" pids '*' pid "[$b]"
    expect_registry_forgot "$a"

    unlimit_ok "$b"
    expect_no_ct_on "$cg"
    expect_nothing_loaded
    load_status
    expect_status_value --doc cgroups "[]"
}

@test "limiting again changes the rate in place" {
    local cg pid rel ids
    cg=$(new_cgroup)
    rel=$(cg_rel "$cg")
    spawn_sleeper "$cg"
    pid=$SPAWNED

    limit_ok "$pid" 10mbit
    ids=$(ct_ids "$cg")
    load_status
    expect_status_value "$rel" down rate_bits 10000000

    limit_ok "$pid" 20mbit
    expect_ct_progs "$cg"
    expect_eq "ct program ids after changing the rate" "$ids" "$(ct_ids "$cg")"
    expect_loaded_count $PROGS_PER_LIMIT
    load_status
    expect_status_value "$rel" down rate_bits 20000000
    expect_status_value "$rel" up rate_bits 20000000
}

@test "a process in the cgroup2 root is refused with a hint at --isolate" {
    local pid
    spawn_sleeper "$CG2"
    pid=$SPAWNED

    run --separate-stderr "$CT" limit "$pid" 10mbit
    expect_exit 1
    expect_error_line --isolate
    expect_no_ct_on "$CG2"
    expect_nothing_loaded
    expect_registry_forgot "$pid"
}

@test "--isolate moves the process to <cgroup>/ct-<pid> and unlimit moves it back" {
    local cg pid rel
    cg=$(new_cgroup)
    rel=$(cg_rel "$cg")
    spawn_sleeper "$cg"
    pid=$SPAWNED

    limit_ok --isolate "$pid" 10mbit
    expect_eq "cgroup of $pid" "$rel/ct-$pid" "$(proc_cgroup "$pid")"
    expect_ct_progs "$cg/ct-$pid"
    expect_no_ct_on "$cg"
    load_status
    expect_status_value "$rel/ct-$pid" isolated true

    unlimit_ok "$pid"
    expect_eq "cgroup of $pid" "$rel" "$(proc_cgroup "$pid")"
    [[ ! -e $cg/ct-$pid ]] || fail "expected $cg/ct-$pid removed"
    expect_nothing_loaded
}

@test "--isolate of a process in the root uses /ct-<pid>" {
    local pid
    spawn_sleeper "$CG2"
    pid=$SPAWNED
    remove_at_teardown "$CG2/ct-$pid"

    limit_ok --isolate "$pid" 10mbit
    expect_eq "cgroup of $pid" "/ct-$pid" "$(proc_cgroup "$pid")"
    expect_ct_progs "$CG2/ct-$pid"
    expect_no_ct_on "$CG2"

    unlimit_ok "$pid"
    expect_eq "cgroup of $pid" / "$(proc_cgroup "$pid")"
    [[ ! -e $CG2/ct-$pid ]] || fail "expected $CG2/ct-$pid removed"
    expect_nothing_loaded
}

@test "cleanup moves isolated processes back and removes ct's cgroups" {
    local cg pid rel
    cg=$(new_cgroup)
    rel=$(cg_rel "$cg")
    spawn_sleeper "$cg"
    pid=$SPAWNED

    limit_ok --isolate "$pid" 10mbit
    expect_ct_progs "$cg/ct-$pid"

    run --separate-stderr "$CT" cleanup
    expect_exit 0
    expect_eq "cgroup of $pid" "$rel" "$(proc_cgroup "$pid")"
    [[ ! -e $cg/ct-$pid ]] || fail "expected $cg/ct-$pid removed"
    expect_nothing_loaded
    expect_no_pins_at_all
}

@test "nested cgroups are limited independently" {
    local parent child p c
    parent=$(new_cgroup)
    child=$(new_cgroup "$parent")
    spawn_sleeper "$parent"; p=$SPAWNED
    spawn_sleeper "$child"; c=$SPAWNED

    limit_ok "$p" 10mbit
    limit_ok "$c" --down 5mbit --up 3mbit
    expect_ct_progs "$parent"
    expect_ct_progs "$child"
    expect_loaded_count $((2 * PROGS_PER_LIMIT))
    load_status
    expect_status_rates "$(cg_rel "$parent")" 10000000 10000000
    expect_status_rates "$(cg_rel "$child")" 5000000 3000000

    unlimit_ok "$c"
    expect_no_ct_on "$child"
    expect_ct_progs "$parent"
    unlimit_ok "$p"
    expect_no_ct_on "$parent"
    expect_nothing_loaded
}

@test "limit mounts bpffs at /sys/fs/bpf when it is not mounted" {
    local cg pid id
    cg=$(new_cgroup)
    spawn_sleeper "$cg"
    pid=$SPAWNED
    id=$(cg_id "$cg")

    run --separate-stderr unshare --mount --propagation private sh -c '
        ct=$1 pid=$2 pins=$3/ct/$4
        while mountpoint -q "$3"; do umount "$3" || exit 10; done
        "$ct" limit "$pid" 10mbit || exit 11
        [ "$(stat -f -c %T "$3")" = bpf_fs ] || exit 12
        [ -e "$pins/ingress" ] && [ -e "$pins/egress" ] || exit 13
        "$ct" unlimit "$pid" || exit 14' sh "$CT" "$pid" "$BPFFS" "$id"
    case $status in
        0) ;;
        11 | 14) fail "ct failed without a bpffs mount:" "$stderr" ;;
        12) fail "ct limit left $BPFFS without a bpffs mount" ;;
        13) fail "ct limit did not pin under $BPFFS/ct/$id" ;;
        *) expect_exit 0 ;;
    esac
    expect_no_ct_on "$cg"
    expect_nothing_loaded
}
