#!/usr/bin/env bats
# ct limit --cgroup / --unit: a cgroup limited by its path or its name, with no
# process of its own in the registry, as a service or a container is.

load helpers

# expect_refused_unchanged EXIT ARGS...: `ct ARGS` exits EXIT with one ct: line
# and neither the registry nor the programs loaded change
expect_refused_unchanged() {
    local want=$1 before loaded
    shift
    before=$(registry_sum) loaded=$(ct_loaded_progs | awk '{ print $1 }' | xargs)
    run --separate-stderr "$CT" "$@"
    expect_exit "$want" || return
    expect_error_line || return
    expect_eq "registry after ct $*" "$before" "$(registry_sum)" || return
    expect_eq "ct programs after ct $*" "$loaded" "$(ct_loaded_progs | awk '{ print $1 }' | xargs)"
}

@test "limit --cgroup limits a cgroup by its path, as the cgroup's own limit, until unlimit --cgroup" {
    local svc rel pid
    svc=$(new_cgroup)
    rel=$(cg_rel "$svc")
    limit_ok --cgroup "$rel" 5mbit
    expect_ct_progs "$svc"
    expect_pins "$svc"
    load_status
    expect_status_value "$rel" owner cgroup
    expect_status_value "$rel" pids '[]'
    expect_status_rates "$rel" 5000000 5000000

    # A process of the cgroup, limited and unlimited by pid, leaves it limited.
    spawn_sleeper "$svc"
    pid=$SPAWNED
    limit_ok "$pid" --up 1mbit
    unlimit_ok "$pid"
    expect_ct_progs "$svc"
    run --separate-stderr "$CT" unlimit "$pid"
    expect_exit 0
    [[ $stderr == *"belongs to the cgroup"*"--cgroup $rel"* ]] ||
        fail "unlimit of a pid in a cgroup's own limit did not say whose it is:" "$stderr"
    expect_ct_progs "$svc"
    load_status
    expect_status_rates "$rel" 5000000 1000000

    # The mount's own path in front is taken too.
    unlimit_ok --cgroup "$svc"
    expect_no_ct_on "$svc"
    expect_nothing_loaded
    expect_no_pins "$(cg_id "$svc")"
}

@test "a cgroup's own limit stays when its one limited process is limited elsewhere" {
    local svc rel pid
    svc=$(new_cgroup)
    rel=$(cg_rel "$svc")
    spawn_sleeper "$svc"
    pid=$SPAWNED
    limit_ok --cgroup "$rel" 1mbit
    limit_ok "$pid" 2mbit
    remove_at_teardown "$svc/ct-$pid"
    limit_ok --isolate "$pid" 3mbit
    expect_ct_progs "$svc"
    expect_ct_progs "$svc/ct-$pid"
    load_status
    expect_status_value "$rel" owner cgroup
    expect_status_rates "$rel" 2000000 2000000
}

@test "limit --unit finds the one cgroup of that name" {
    local parent unit other
    parent=$(new_cgroup)
    unit=$parent/ct-test-$$.service
    mkdir "$unit"
    limit_ok --unit "ct-test-$$.service" --down 3mbit
    expect_ct_progs "$unit"
    load_status
    expect_status_rates "$(cg_rel "$unit")" 3000000 0

    # Two of that name: which one is meant is for the user to say.
    other=$(new_cgroup)/ct-test-$$.service
    mkdir "$other"
    expect_refused_unchanged 2 limit --unit "ct-test-$$.service" 1mbit
    [[ $stderr == *"$(cg_rel "$unit")"* && $stderr == *"$(cg_rel "$other")"* ]] ||
        fail "the refusal does not name both cgroups:" "$stderr"
    rmdir "$other"
    unlimit_ok --unit "ct-test-$$.service"
    expect_no_ct_on "$unit"
    expect_nothing_loaded
}

@test "a cgroup that does not exist, is the root, or is named with .. is refused and nothing changes" {
    local cg rel
    cg=$(new_cgroup)
    rel=$(cg_rel "$cg")
    limit_ok --cgroup "$rel" 2mbit
    expect_refused_unchanged 1 limit --unit "no-such-unit-of-ct.service" 1mbit
    expect_refused_unchanged 1 limit --cgroup / 1mbit
    expect_refused_unchanged 2 limit --cgroup "$rel/../x" 1mbit
    expect_refused_unchanged 2 limit --cgroup "$rel/no-such-child" 1mbit
    expect_refused_unchanged 2 limit --cgroup "relative/path" 1mbit
    expect_refused_unchanged 2 limit --cgroup "$rel/cgroup.procs" 1mbit
    expect_refused_unchanged 2 limit --cgroup /etc 1mbit
    expect_refused_unchanged 2 limit --unit "a/b" 1mbit
    expect_refused_unchanged 2 limit --cgroup "$rel" --unit x 1mbit
    expect_refused_unchanged 2 limit --cgroup "$rel" --isolate 1mbit
    expect_refused_unchanged 2 limit --cgroup "$rel" 1mbit 2mbit
    expect_refused_unchanged 2 unlimit --cgroup "$rel/../x"
    expect_ct_progs "$cg"
}

@test "a cgroup limited by path is dropped by the next ct once it is removed" {
    local cg id
    cg=$(new_cgroup)
    id=$(cg_id "$cg")
    limit_ok --cgroup "$(cg_rel "$cg")" 2mbit
    rmdir "$cg"
    run --separate-stderr "$CT" status
    expect_exit 0
    [[ $stderr == *"no longer exists"* ]] || fail "ct status did not say the cgroup went:" "$stderr"
    expect_no_pins "$id"
    expect_nothing_loaded
}

@test "the README's systemd drop-in line limits a service's cgroup when run as written" {
    local svc line
    svc=$(new_cgroup)/ct-test-$$.service
    mkdir "$svc"
    remove_at_teardown "$svc"
    # The ExecStartPost= line of the README, with %n (the unit's name) as systemd fills it in.
    line=$(sed -n 's/^ExecStartPost=//p' "$BATS_TEST_DIRNAME/../README.md" | head -n 1)
    [[ -n $line ]] || fail "the README has no ExecStartPost= line" || return
    line=${line//%n/ct-test-$$.service}
    line=${line/\/usr\/local\/sbin\/ct/$CT}
    run --separate-stderr sh -c "$line"
    expect_exit 0
    expect_ct_progs "$svc"
    load_status
    expect_status_value "$(cg_rel "$svc")" owner cgroup
}
