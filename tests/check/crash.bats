#!/usr/bin/env bats
# A ct killed at any step leaves a state that the next ct reports truthfully and
# repairs.  Builds with -DCT_CRASH_POINTS (make ct-asan) kill themselves with
# SIGKILL at the step named by CT_CRASH_AT; every command is run once per step.

BATS_TEST_DIRNAME=${BATS_TEST_DIRNAME%/*} load helpers

CT_CRASH=${CT_CRASH:-$BATS_TEST_DIRNAME/../../ct-asan}
SOURCES=$BATS_TEST_DIRNAME/../..
POINTS=(isolate-made limit-registered attach-loaded attach-pinned attach-ingress attach-egress attach-sockops
    registry-written registry-exchanged detach-ingress detach-egress detach-sockops unpin-program
    detach-unpinned teardown-detached isolation-drained cleanup-entries cleanup-swept)

setup_file() {
    [[ -x $CT_CRASH ]] || skip "no crash-point build at $CT_CRASH (make ct-asan)"
    : >"$BATS_FILE_TMPDIR/reached"
}

setup() {
    CT=$CT_CRASH
    common_setup
    A=$(new_cgroup)
    spawn_sleeper "$A"
    P=$SPAWNED
    REACHED=()
}

# crash POINT ARGS...: `ct ARGS` with CT_CRASH_AT=POINT must die by SIGKILL where it
# reaches POINT, or else succeed; CRASHED says which, REACHED collects the points
crash() {
    local point=$1
    shift
    echo "--- ct $* with CT_CRASH_AT=$point" >&2
    run --separate-stderr env CT_CRASH_AT="$point" "$CT" "$@"
    case $status in
        137)
            CRASHED=1
            REACHED+=("$point")
            echo "$point" >>"$BATS_FILE_TMPDIR/reached"
            ;;
        0) CRASHED=0 ;;
        *) fail "ct $* with CT_CRASH_AT=$point: expected death by SIGKILL (137) or exit 0," \
            "got $status: ${stderr-}" ;;
    esac
}

# expect_reached POINT...: the command died at each of these (they are on its way)
expect_reached() {
    local point
    for point in "$@"; do
        [[ " ${REACHED[*]} " == *" $point "* ]] ||
            fail "the command never reached crash point $point; it reached: ${REACHED[*]}"
    done
    note "$BATS_TEST_DESCRIPTION: ${REACHED[*]}"
}

# expect_clean_after_cleanup CG...: a final `ct cleanup` leaves nothing of ct
expect_clean_after_cleanup() {
    local cg
    run --separate-stderr "$CT" cleanup
    expect_exit 0
    for cg in "$@"; do
        expect_no_ct_on "$cg"
        [[ -z $(find "$cg" -mindepth 1 -type d -name 'ct-*') ]] ||
            fail "ct's cgroups left below $cg: $(find "$cg" -mindepth 1 -type d)"
    done
    expect_nothing_loaded
    expect_no_pins_at_all
    [[ ! -e $CT_RUN ]] || fail "expected $CT_RUN gone, found: $(ls -A "$CT_RUN")"
}

# expect_home PID CG: PID lives in CG, ct's cgroup for it is gone
expect_home() {
    expect_eq "cgroup of $1" "$(cg_rel "$2")" "$(proc_cgroup "$1")"
    [[ ! -e $2/ct-$1 ]] || fail "expected $2/ct-$1 removed"
}

@test "the list of crash points is the one in the sources" {
    [[ -r $SOURCES/ct.c ]] || skip "no sources at $SOURCES"
    local found
    found=$(grep -h -A1 'crash_point(' "$SOURCES"/*.c | grep -o '"[a-z-]*"' | tr -d '"' | sort -u | xargs)
    expect_eq "crash points" "$(printf '%s\n' "${POINTS[@]}" | sort -u | xargs)" "$found"
}

@test "limit of a new cgroup" {
    local point
    for point in "${POINTS[@]}"; do
        crash "$point" limit "$P" 10mbit
        expect_truthful "$A"
        expect_accounted "$A"
        limit_ok "$P" 10mbit
        expect_ct_progs "$A"
        expect_pins "$A"
        eventually expect_loaded_count $PROGS_PER_LIMIT
        load_status
        expect_status_value "$(cg_rel "$A")" pids '*' pid "[$P]"
        expect_status_value "$(cg_rel "$A")" down rate_bits 10000000
        expect_clean_after_cleanup "$A"
    done
    expect_reached limit-registered attach-loaded attach-pinned attach-ingress attach-egress attach-sockops \
        registry-written
}

@test "unlimit after a limit of a new cgroup was cut short" {
    local point id
    id=$(cg_id "$A")
    for point in "${POINTS[@]}"; do
        crash "$point" limit "$P" 10mbit
        ((CRASHED)) || { expect_clean_after_cleanup "$A"; continue; }
        unlimit_ok "$P"
        expect_no_ct_on "$A"
        expect_no_pins "$id"
        eventually _nothing_of_ct_loaded
        load_status
        expect_status_value --doc cgroups "[]"
        expect_clean_after_cleanup "$A"
    done
    expect_reached limit-registered attach-loaded attach-pinned attach-ingress attach-egress attach-sockops
}

@test "limit --isolate" {
    local point rel
    rel=$(cg_rel "$A")
    for point in "${POINTS[@]}"; do
        crash "$point" limit --isolate "$P" 10mbit
        expect_truthful "$A" "$A/ct-$P"
        expect_accounted "$A" "$A/ct-$P"
        limit_ok --isolate "$P" 10mbit
        expect_eq "cgroup of $P" "$rel/ct-$P" "$(proc_cgroup "$P")"
        expect_ct_progs "$A/ct-$P"
        expect_pins "$A/ct-$P"
        expect_no_ct_on "$A"
        eventually expect_loaded_count $PROGS_PER_LIMIT
        load_status
        expect_status_value --doc cgroups '*' path "[\"$rel/ct-$P\"]"
        expect_status_value "$rel/ct-$P" isolated true
        expect_clean_after_cleanup "$A"
        expect_home "$P" "$A"
    done
    expect_reached isolate-made limit-registered attach-loaded attach-pinned attach-ingress \
        attach-egress registry-written
}

@test "unlimit after a limit --isolate was cut short" {
    local point
    for point in "${POINTS[@]}"; do
        crash "$point" limit --isolate "$P" 10mbit
        ((CRASHED)) || { expect_clean_after_cleanup "$A"; continue; }
        unlimit_ok "$P"
        expect_eq "cgroup of $P" "$(cg_rel "$A")" "$(proc_cgroup "$P")"
        expect_no_ct_on "$A"
        load_status
        expect_status_value --doc cgroups "[]"
        if [[ -e $A/ct-$P ]]; then
            # Made before any registry entry could name it: left, empty and
            # marked, for `ct cleanup` (checked below) to remove.
            [[ $point == isolate-made || $point == registry-written ]] ||
                fail "unlimit left $A/ct-$P, which the registry knew of"
            expect_eq "processes in $A/ct-$P" "" "$(cat "$A/ct-$P/cgroup.procs")"
            expect_no_ct_on "$A/ct-$P"
        fi
        eventually _nothing_of_ct_loaded
        expect_clean_after_cleanup "$A"
    done
    expect_reached isolate-made limit-registered attach-egress
}

@test "limit of a cgroup already limited" {
    local point ids rel
    rel=$(cg_rel "$A")
    for point in "${POINTS[@]}"; do
        limit_ok "$P" 10mbit
        ids=$(ct_ids "$A")
        crash "$point" limit "$P" 20mbit
        expect_truthful "$A"
        expect_accounted "$A"
        expect_eq "ct programs on $A after a rate change was cut short" "$ids" "$(ct_ids "$A")"
        limit_ok "$P" 20mbit
        expect_eq "ct programs on $A after the rate change" "$ids" "$(ct_ids "$A")"
        expect_pins "$A"
        load_status
        expect_status_value "$rel" pids '*' pid "[$P]"
        expect_status_value "$rel" up rate_bits 20000000
        expect_clean_after_cleanup "$A"
    done
    expect_reached limit-registered registry-written registry-exchanged
}

@test "limit of another process of a limited cgroup" {
    local point ids rel q
    rel=$(cg_rel "$A")
    spawn_sleeper "$A"
    q=$SPAWNED
    for point in "${POINTS[@]}"; do
        limit_ok "$P" 10mbit
        ids=$(ct_ids "$A")
        crash "$point" limit "$q" --up 20mbit
        expect_truthful "$A"
        expect_accounted "$A"
        expect_eq "ct programs on $A" "$ids" "$(ct_ids "$A")"
        limit_ok "$q" --up 20mbit
        expect_eq "ct programs on $A" "$ids" "$(ct_ids "$A")"
        load_status
        expect_status_value --sort "$rel" pids '*' pid "$(int_list "$P" "$q")"
        expect_status_value "$rel" up rate_bits 20000000
        expect_clean_after_cleanup "$A"
    done
    expect_reached limit-registered registry-written
}

@test "unlimit of the last process of a cgroup" {
    local point id
    id=$(cg_id "$A")
    for point in "${POINTS[@]}"; do
        limit_ok "$P" 10mbit
        crash "$point" unlimit "$P"
        expect_truthful "$A"
        expect_accounted "$A"
        unlimit_ok "$P"
        expect_no_ct_on "$A"
        expect_no_pins "$id"
        expect_registry_forgot "$P" "$id"
        eventually _nothing_of_ct_loaded
        expect_clean_after_cleanup "$A"
    done
    expect_reached detach-ingress detach-egress detach-sockops unpin-program detach-unpinned teardown-detached \
        registry-written
}

@test "unlimit of an isolated process" {
    local point id
    for point in "${POINTS[@]}"; do
        limit_ok --isolate "$P" 10mbit
        id=$(cg_id "$A/ct-$P")
        crash "$point" unlimit "$P"
        expect_truthful "$A" "$A/ct-$P"
        expect_accounted "$A" "$A/ct-$P"
        unlimit_ok "$P"
        expect_home "$P" "$A"
        expect_no_ct_on "$A"
        expect_no_pins "$id"
        expect_registry_forgot "$P" "$id"
        eventually _nothing_of_ct_loaded
        expect_clean_after_cleanup "$A"
    done
    expect_reached detach-ingress detach-egress detach-sockops unpin-program detach-unpinned teardown-detached \
        isolation-drained registry-written
}

@test "unlimit of one of two processes of a cgroup" {
    local point ids rel q
    rel=$(cg_rel "$A")
    spawn_sleeper "$A"
    q=$SPAWNED
    for point in "${POINTS[@]}"; do
        limit_ok "$P" 10mbit
        limit_ok "$q" 10mbit
        ids=$(ct_ids "$A")
        crash "$point" unlimit "$P"
        expect_truthful "$A"
        expect_accounted "$A"
        expect_eq "ct programs on $A" "$ids" "$(ct_ids "$A")"
        unlimit_ok "$P"
        expect_eq "ct programs on $A" "$ids" "$(ct_ids "$A")"
        load_status
        expect_status_value "$rel" pids '*' pid "[$q]"
        expect_clean_after_cleanup "$A"
    done
    expect_reached registry-written
}

@test "cleanup" {
    local point b q
    b=$(new_cgroup)
    spawn_sleeper "$b"
    q=$SPAWNED
    for point in "${POINTS[@]}"; do
        limit_ok "$P" 10mbit
        limit_ok --isolate "$q" 10mbit
        crash "$point" cleanup
        expect_truthful "$A" "$b" "$b/ct-$q"
        expect_accounted "$A" "$b" "$b/ct-$q"
        expect_clean_after_cleanup "$A" "$b"
        expect_home "$q" "$b"
    done
    expect_reached detach-ingress detach-egress detach-sockops unpin-program detach-unpinned teardown-detached \
        isolation-drained cleanup-entries cleanup-swept
}

@test "cleanup of limits the registry lost" {
    local point b q
    b=$(new_cgroup)
    spawn_sleeper "$b"
    q=$SPAWNED
    for point in "${POINTS[@]}"; do
        limit_ok "$P" 10mbit
        limit_ok --isolate "$q" 10mbit
        rm "$CT_REGISTRY"
        crash "$point" cleanup
        expect_truthful "$A" "$b" "$b/ct-$q"
        expect_clean_after_cleanup "$A" "$b"
        expect_home "$q" "$b"
    done
    expect_reached unpin-program cleanup-entries cleanup-swept
}

@test "every crash point is reached by some command" {
    local point missing=()
    for point in "${POINTS[@]}"; do
        grep -qx -- "$point" "$BATS_FILE_TMPDIR/reached" || missing+=("$point")
    done
    note "reached: $(sort -u "$BATS_FILE_TMPDIR/reached" | xargs)"
    ((${#missing[@]} == 0)) || fail "crash points no command reached: ${missing[*]}"
}
