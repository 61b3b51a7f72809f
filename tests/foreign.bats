#!/usr/bin/env bats
# ct never detaches a cgroup_skb program it did not load.

load helpers

setup_file() {
    local src=$BATS_TEST_DIRNAME/foreign_prog.c multiarch
    clang -O2 -target bpf -c "$src" -o "$BATS_FILE_TMPDIR/foreign.o"
    clang -O2 -target bpf -DPROG_NAME=ct_egress -c "$src" -o "$BATS_FILE_TMPDIR/impostor.o"
    multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
    clang -O2 -g -target bpf -I"/usr/include/$multiarch" -c "$BATS_TEST_DIRNAME/impostor_prog.c" \
        -o "$BATS_FILE_TMPDIR/impostor_pair.o"
}

setup() {
    common_setup
    FOREIGN_PIN=$BPFFS/cttest_foreign_$$
    IMPOSTOR_PIN=$BPFFS/cttest_impostor_$$
    PAIR_DIR=$BPFFS/cttest_impostor_pair_$$
    PAIR_IDS=
    CG=$(new_cgroup)
    spawn_sleeper "$CG"
    PID=$SPAWNED
    bpftool prog load "$BATS_FILE_TMPDIR/foreign.o" "$FOREIGN_PIN"
    FOREIGN_ID=$(loaded_rows prog pinned "$FOREIGN_PIN" | awk '{ print $1 }')
}

teardown() {
    local pin hook
    for pin in "$FOREIGN_PIN" "$IMPOSTOR_PIN"; do
        [[ -e $pin ]] || continue
        bpftool cgroup detach "$CG" egress pinned "$pin" 2>/dev/null || true
        rm -f "$pin"
    done
    for hook in ingress egress sock_ops; do
        [[ -e $PAIR_DIR/ct_${hook/_/} ]] || continue
        bpftool cgroup detach "$CG" "$hook" pinned "$PAIR_DIR/ct_${hook/_/}" 2>/dev/null || true
    done
    rm -rf "$PAIR_DIR"
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
    expect_ct_progs "$CG"
    expect_foreign multi
    unlimit_ok "$PID"
    expect_no_ct_on "$CG"
    expect_foreign multi
    expect_nothing_loaded
}

@test "a foreign program survives cleanup" {
    attach_foreign multi
    limit_ok "$PID" 10mbit
    expect_ct_progs "$CG"
    run --separate-stderr "$CT" cleanup
    expect_exit 0
    expect_no_ct_on "$CG"
    expect_foreign multi
    expect_nothing_loaded
}

@test "a foreign program survives the cleanup of an orphan next to it" {
    attach_foreign multi
    limit_ok "$PID" 10mbit
    expect_ct_progs "$CG"
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
    expect_eq "ct programs on $CG" 4 "$(ct_progs_on "$CG" | wc -l)"

    rm -rf "$CT_RUN"
    run --separate-stderr "$CT" cleanup
    expect_exit 0
    expect_eq "programs on $CG after cleanup" "$impostor ct_egress cgroup_inet_egress multi" \
        "$(cg_progs "$CG")"
    eventually only_loaded "$impostor" ||
        fail "expected only the impostor $impostor loaded, found:" "$(ct_loaded_progs)"
}

# ---- impostors: ct_ingress, ct_egress and ct_sockops with two maps of their
# own named ct_conf and ct_bucket, which only the maps' value size tells apart
# from ct's (tests/impostor_prog.c); "the pair" for short

# attach_pair: load the impostors, pinned in $PAIR_DIR, and attach them
# (multi) to $CG; PAIR_IDS holds the three programs' ids
attach_pair() {
    local hook
    bpftool prog loadall "$BATS_FILE_TMPDIR/impostor_pair.o" "$PAIR_DIR" || return
    for hook in ingress egress sock_ops; do
        bpftool cgroup attach "$CG" "$hook" pinned "$PAIR_DIR/ct_${hook/_/}" multi || return
        PAIR_IDS+=" $(loaded_rows prog pinned "$PAIR_DIR/ct_${hook/_/}" | awk '{ print $1 }')"
    done
    expect_pair
}

# expect_pair: the three impostors are still attached to $CG
expect_pair() {
    local ids=($PAIR_IDS)
    expect_eq "impostors on $CG" \
        "${ids[0]} ct_ingress cgroup_inet_ingress multi ${ids[1]} ct_egress cgroup_inet_egress multi ${ids[2]} ct_sockops cgroup_sock_ops multi" \
        "$(cg_progs "$CG" | awk -v ids="$PAIR_IDS " 'index(ids, " " $1 " ")' | xargs)" ||
        fail "bpftool cgroup show:" "$(bpftool cgroup show "$CG")"
}

# own_progs: the programs named ct_* on $CG that are not the pair's
own_progs() {
    ct_progs_on "$CG" | awk -v ids="$PAIR_IDS " '!index(ids, " " $1 " ")'
}

# expect_own_pair: ct's own programs, the ones it pinned, are attached to $CG beside
# the impostors
expect_own_pair() {
    local dir hook pin want=()
    dir=$CT_PINS/$(cg_id "$CG")
    for hook in inet_ingress inet_egress sock_ops; do
        pin=${hook#inet_} pin=${pin/_/}
        want+=("$(loaded_rows prog pinned "$dir/$pin" 2>/dev/null | awk '{ print $1 }')" \
            "ct_$pin" "cgroup_$hook" multi)
    done
    expect_eq "ct's own programs on $CG" "${want[*]}" "$(own_progs | xargs)" ||
        fail "bpftool cgroup show:" "$(bpftool cgroup show "$CG")"
}

expect_no_own_progs() {
    [[ -z $(own_progs) ]] ||
        fail "expected none of ct's programs on $CG, bpftool shows:" "$(bpftool cgroup show "$CG")"
}

# send_udp: a process in $CG sends one datagram to a port of loopback
send_udp() {
    sh -c 'echo $$ >"$1/cgroup.procs" && exec bash -c "echo ct >/dev/udp/127.0.0.1/9"' sh "$CG"
}

@test "an impostor pair with two maps survives limit and unlimit, and ct's own pair works beside it" {
    attach_pair
    limit_ok "$PID" 10mbit
    expect_pair
    expect_own_pair
    send_udp
    load_status
    expect_pair
    expect_status_value "$(cg_rel "$CG")" attached true
    expect_range "packets ct's own egress program passed" 1 1e9 \
        "$(status_get "$(cg_rel "$CG")" up passed_packets)"

    limit_ok "$PID" 20mbit
    expect_pair
    expect_own_pair
    unlimit_ok "$PID"
    expect_pair
    expect_no_own_progs
    expect_no_pins "$(cg_id "$CG")"
}

@test "an impostor pair with two maps survives the unlimit and cleanup of a limit made before it" {
    limit_ok "$PID" 10mbit
    attach_pair
    unlimit_ok "$PID"
    expect_pair
    expect_no_own_progs

    limit_ok "$PID" 10mbit
    expect_own_pair
    run --separate-stderr "$CT" cleanup
    expect_exit 0
    expect_pair
    expect_no_own_progs

    # Without the registry ct's own pair is an orphan; the impostors are not.
    limit_ok "$PID" 10mbit
    rm -rf "$CT_RUN"
    run --separate-stderr "$CT" cleanup
    expect_exit 0
    expect_pair
    expect_no_own_progs
}

@test "status does not take an impostor pair with two maps for ct's programs" {
    local id
    id=$(cg_id "$CG")
    limit_ok "$PID" 10mbit
    attach_pair
    bpftool cgroup detach "$CG" ingress pinned "$CT_PINS/$id/ingress"
    bpftool cgroup detach "$CG" egress pinned "$CT_PINS/$id/egress"
    load_status
    expect_status_value "$(cg_rel "$CG")" attached false
    expect_pair

    # limit puts ct's own pair back, beside the impostors
    limit_ok "$PID" 10mbit
    expect_own_pair
    expect_pair
    load_status
    expect_status_value "$(cg_rel "$CG")" attached true
}
