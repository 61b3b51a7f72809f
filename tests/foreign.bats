#!/usr/bin/env bats
# ct never detaches a cgroup_skb program it did not load.

load helpers

setup_file() {
    local src=$BATS_TEST_DIRNAME/foreign_prog.c
    clang -O2 -target bpf -c "$src" -o "$BATS_FILE_TMPDIR/foreign.o"
    clang -O2 -target bpf -DPROG_NAME=ct_egress -c "$src" -o "$BATS_FILE_TMPDIR/impostor.o"
}

setup() {
    common_setup
    FOREIGN_PIN=$BPFFS/cttest_foreign_$$
    IMPOSTOR_PIN=$BPFFS/cttest_impostor_$$
    CG=$(new_cgroup)
    spawn_sleeper "$CG"
    PID=$SPAWNED
    bpftool prog load "$BATS_FILE_TMPDIR/foreign.o" "$FOREIGN_PIN"
    FOREIGN_ID=$(loaded_rows prog pinned "$FOREIGN_PIN" | awk '{ print $1 }')
}

teardown() {
    local pin
    for pin in "$FOREIGN_PIN" "$IMPOSTOR_PIN"; do
        [[ -e $pin ]] || continue
        bpftool cgroup detach "$CG" egress pinned "$pin" 2>/dev/null || true
        rm -f "$pin"
    done
    common_teardown
}

# attach_foreign [multi]
attach_foreign() {
    bpftool cgroup attach "$CG" egress pinned "$FOREIGN_PIN" "$@"
}

# expect_foreign FLAGS: the foreign program is still attached to $CG, same id
expect_foreign() {
    local seen
    seen=$(cg_progs "$CG" | awk -v id="$FOREIGN_ID" '$1 == id { print $2, $3, $4 }')
    expect_eq "foreign program $FOREIGN_ID on $CG" "cttest_foreign cgroup_inet_egress $1" "$seen" ||
        fail "bpftool cgroup show:" "$(bpftool cgroup show "$CG")"
}

# only_loaded ID: the one program named ct_ingress or ct_egress in the kernel is ID
only_loaded() {
    [[ $(ct_loaded_progs | awk '{ print $1 }') == "$1" ]]
}

@test "a foreign program survives limit and unlimit" {
    attach_foreign multi
    limit_ok "$PID" 10mbit
    expect_ct_pair "$CG"
    expect_foreign multi
    unlimit_ok "$PID"
    expect_no_ct_on "$CG"
    expect_foreign multi
    expect_nothing_loaded
}

@test "a foreign program survives cleanup" {
    attach_foreign multi
    limit_ok "$PID" 10mbit
    expect_ct_pair "$CG"
    run --separate-stderr "$CT" cleanup
    expect_exit 0
    expect_no_ct_on "$CG"
    expect_foreign multi
    expect_nothing_loaded
}

@test "a foreign program survives the cleanup of an orphan next to it" {
    attach_foreign multi
    limit_ok "$PID" 10mbit
    expect_ct_pair "$CG"
    rm -rf "$CT_RUN"
    run --separate-stderr "$CT" cleanup
    expect_exit 0
    expect_no_ct_on "$CG"
    expect_foreign multi
    expect_nothing_loaded
}

@test "limit fails cleanly on a cgroup that holds an exclusive (non-multi) program" {
    attach_foreign
    run --separate-stderr "$CT" limit "$PID" 10mbit
    expect_exit 1
    expect_error_line
    expect_foreign -
    expect_no_ct_on "$CG"
    expect_no_pins "$(cg_id "$CG")"
    expect_nothing_loaded
    expect_registry_forgot "$PID"
}

@test "a foreign program named ct_egress is not taken for an orphan of ct's" {
    local impostor
    bpftool prog load "$BATS_FILE_TMPDIR/impostor.o" "$IMPOSTOR_PIN"
    impostor=$(loaded_rows prog pinned "$IMPOSTOR_PIN" | awk '{ print $1 }')
    bpftool cgroup attach "$CG" egress pinned "$IMPOSTOR_PIN" multi
    limit_ok "$PID" 10mbit
    expect_eq "ct programs on $CG" 3 "$(ct_progs_on "$CG" | wc -l)"

    rm -rf "$CT_RUN"
    run --separate-stderr "$CT" cleanup
    expect_exit 0
    expect_eq "programs on $CG after cleanup" "$impostor ct_egress cgroup_inet_egress multi" \
        "$(cg_progs "$CG")"
    eventually only_loaded "$impostor" ||
        fail "expected only the impostor $impostor loaded, found:" "$(ct_loaded_progs)"
}
