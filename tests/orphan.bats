#!/usr/bin/env bats
# ct cleanup finds ct programs the registry does not know about.

load helpers

# expect_orphan_cleanup CG: `ct cleanup` warns about an orphan and leaves nothing of ct on CG
expect_orphan_cleanup() {
    run --separate-stderr "$CT" cleanup
    expect_exit 0 || return
    [[ "$output$stderr" == *orphan* ]] ||
        fail "expected a warning containing 'orphan', got:" "stdout: $output" "stderr: $stderr" ||
        return
    expect_no_ct_on "$1" && expect_nothing_loaded && expect_no_pins_at_all
}

@test "cleanup removes a limit whose registry was deleted" {
    local cg pid
    cg=$(new_cgroup)
    spawn_sleeper "$cg"
    pid=$SPAWNED
    limit_ok "$pid" 10mbit
    expect_ct_progs "$cg"

    rm -rf "$CT_RUN"
    expect_orphan_cleanup "$cg"
}

@test "cleanup removes a limit whose registry and pins were deleted" {
    local cg pid
    cg=$(new_cgroup)
    spawn_sleeper "$cg"
    pid=$SPAWNED
    limit_ok "$pid" 10mbit
    expect_ct_progs "$cg"

    rm -rf "$CT_RUN" "$CT_PINS"
    expect_ct_progs "$cg"
    expect_orphan_cleanup "$cg"
}

@test "cleanup finds an orphan deep in the cgroup tree" {
    local top mid leaf pid
    top=$(new_cgroup)
    mid=$(new_cgroup "$top")
    leaf=$(new_cgroup "$mid")
    spawn_sleeper "$leaf"
    pid=$SPAWNED
    limit_ok "$pid" 10mbit
    expect_ct_progs "$leaf"

    rm -rf "$CT_RUN"
    expect_orphan_cleanup "$leaf"
}
