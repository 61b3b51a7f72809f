#!/usr/bin/env bats
# Many ct processes at once: the lock keeps the registry and the kernel consistent.

load helpers

N=16

# ct_bg ARGS...: start `ct ARGS` in the background, held until release_jobs
ct_bg() {
    local log=$BATS_TEST_TMPDIR/job.${#JOBS[@]}
    sh -c 'while [ ! -e "$0" ]; do sleep 0.005; done; exec "$@"' \
        "$BATS_TEST_TMPDIR/go" "$CT" "$@" >"$log" 2>&1 3>&- &
    JOBS+=("$!")
    track_pid "$!"
    JOB_CMDS+=("ct $*")
}

# release_jobs: let all held jobs run at once, wait for them, fail on any exit but 0
release_jobs() {
    local i failed=0
    sleep 0.2
    touch "$BATS_TEST_TMPDIR/go"
    for i in "${!JOBS[@]}"; do
        wait "${JOBS[i]}" ||
            { echo "${JOB_CMDS[i]} exited $?: $(cat "$BATS_TEST_TMPDIR/job.$i")" >&2; failed=1; }
    done
    rm -f "$BATS_TEST_TMPDIR/go" "$BATS_TEST_TMPDIR"/job.*
    JOBS=() JOB_CMDS=()
    return "$failed"
}

# expect_status_paths REL...: ct status --json lists exactly these cgroups
expect_status_paths() {
    local want
    want=$(printf '%s\n' "$@" | LC_ALL=C sort)
    load_status || return
    expect_status_value --sort --lines --doc cgroups '*' path "$want"
}

@test "16 concurrent limits on 16 cgroups, then 16 concurrent unlimits" {
    local -a cgs pids rels
    local i cg
    JOBS=() JOB_CMDS=()
    for ((i = 0; i < N; i++)); do
        cgs[i]=$(new_cgroup)
        rels[i]=$(cg_rel "${cgs[i]}")
        spawn_sleeper "${cgs[i]}"
        pids[i]=$SPAWNED
    done

    for ((i = 0; i < N; i++)); do
        ct_bg limit "${pids[i]}" "$((i + 1))mbit"
    done
    release_jobs
    for cg in "${cgs[@]}"; do
        expect_ct_progs "$cg"
    done
    expect_loaded_count $((PROGS_PER_LIMIT * N))
    expect_status_paths "${rels[@]}"
    for ((i = 0; i < N; i++)); do
        expect_status_value "${rels[i]}" down rate_bits $(((i + 1) * 1000000))
    done

    for ((i = 0; i < N; i++)); do
        ct_bg unlimit "${pids[i]}"
    done
    release_jobs
    for cg in "${cgs[@]}"; do
        expect_no_ct_on "$cg"
    done
    expect_nothing_loaded
    expect_no_pins_at_all
    load_status
    expect_status_value --doc cgroups "[]"
}

@test "16 concurrent limits of processes sharing one cgroup attach one set of programs" {
    local cg rel i
    local -a pids
    JOBS=() JOB_CMDS=()
    cg=$(new_cgroup)
    rel=$(cg_rel "$cg")
    for ((i = 0; i < N; i++)); do
        spawn_sleeper "$cg"
        pids[i]=$SPAWNED
    done

    for ((i = 0; i < N; i++)); do
        ct_bg limit "${pids[i]}" 10mbit
    done
    release_jobs
    expect_ct_progs "$cg"
    expect_loaded_count $PROGS_PER_LIMIT
    load_status
    expect_status_value --sort "$rel" pids '*' pid "$(int_list "${pids[@]}")"

    for ((i = 0; i < N; i++)); do
        ct_bg unlimit "${pids[i]}"
    done
    release_jobs
    expect_no_ct_on "$cg"
    expect_nothing_loaded
}
