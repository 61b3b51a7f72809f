#!/usr/bin/env bats
# Hostile and broken state: a damaged registry, a hostile /run/ct, pins deleted or
# replaced, the bpffs unmounted, odd cgroup names, a reused pid, processes that
# vanish under ct, a hook already full, an unprivileged caller.  ct refuses with
# exit 1 and one line, or repairs, and never touches what is not its own.

load helpers

setup_file() {
    clang -O2 -target bpf -c "$BATS_TEST_DIRNAME/foreign_prog.c" -o "$BATS_FILE_TMPDIR/foreign.o"
}

setup() {
    common_setup
    : >"$BATS_TEST_TMPDIR/undo"
}

teardown() {
    local line
    if [[ -s $BATS_TEST_TMPDIR/undo ]]; then
        while IFS= read -r line; do
            eval "$line" || true
        done < <(tac "$BATS_TEST_TMPDIR/undo")
    fi
    common_teardown
}

# at_teardown CMD...: run the command at teardown, before ct cleans up (newest first)
at_teardown() {
    printf '%q ' "$@" >>"$BATS_TEST_TMPDIR/undo"
    echo >>"$BATS_TEST_TMPDIR/undo"
}

# three_cgroups: $A with $P limited, $B with $Q isolated in $B/ct-$Q, $C with $R free
three_cgroups() {
    A=$(new_cgroup)
    B=$(new_cgroup)
    C=$(new_cgroup)
    spawn_sleeper "$A"; P=$SPAWNED
    spawn_sleeper "$B"; Q=$SPAWNED
    spawn_sleeper "$C"; R=$SPAWNED
    limit_ok "$P" 10mbit
    limit_ok --isolate "$Q" 10mbit
    IDS_A=$(ct_ids "$A")
    IDS_Q=$(ct_ids "$B/ct-$Q")
}

# expect_three_unchanged WHAT: the kernel and the processes are as three_cgroups left them
expect_three_unchanged() {
    expect_eq "ct programs on $A after $1" "$IDS_A" "$(ct_ids "$A")"
    expect_eq "ct programs on $B/ct-$Q after $1" "$IDS_Q" "$(ct_ids "$B/ct-$Q")"
    expect_no_ct_on "$C"
    [[ ! -e $C/ct-$R ]] || fail "$1 made $C/ct-$R"
    expect_eq "cgroup of $Q after $1" "$(cg_rel "$B")/ct-$Q" "$(proc_cgroup "$Q")"
    expect_eq "cgroup of $R after $1" "$(cg_rel "$C")" "$(proc_cgroup "$R")"
}

# expect_all_refused SNAPSHOT WORD CMD...: each `ct CMD` (one word-split string) exits 1
# with one line containing WORD and prints nothing; SNAPSHOT's output and the kernel
# stay as they were
expect_all_refused() {
    local snapshot=$1 word=$2 args before
    local -a argv
    shift 2
    before=$($snapshot)
    for args in "$@"; do
        read -ra argv <<<"$args"
        run --separate-stderr "$CT" "${argv[@]}"
        [[ $status -eq 1 ]] ||
            fail "ct $args: expected exit 1, got $status" "stdout: $output" "stderr: $stderr"
        expect_error_line "$word"
        [[ -z $output ]] || fail "ct $args printed on stdout:" "$output"
        expect_eq "$snapshot after ct $args" "$before" "$($snapshot)"
        expect_three_unchanged "ct $args"
    done
}

# expect_cleanup_from_the_kernel: `ct cleanup` exits 0, names orphans, and leaves
# nothing of ct, with every process back where it was
expect_cleanup_from_the_kernel() {
    run --separate-stderr "$CT" cleanup
    expect_exit 0
    [[ $stderr == *orphan* ]] || fail "expected ct cleanup to report orphans; stderr:" "$stderr"
    expect_no_ct_on "$A"
    expect_no_ct_on "$B"
    expect_eq "cgroup of $Q" "$(cg_rel "$B")" "$(proc_cgroup "$Q")"
    [[ ! -e $B/ct-$Q ]] || fail "expected $B/ct-$Q removed"
    expect_nothing_loaded
    expect_no_pins_at_all
    [[ ! -e $CT_RUN ]] || fail "expected $CT_RUN gone, found: $(ls -A "$CT_RUN")"
}

# expect_registry_refused WORD: every command but cleanup refuses the registry, which
# cleanup does without
expect_registry_refused() {
    expect_all_refused registry_sum "$1" "limit $R 10mbit" "limit --isolate $R 10mbit" \
        "limit $P 20mbit" "unlimit $P" "unlimit $Q" status "status --json"
    expect_cleanup_from_the_kernel
}

@test "a registry cut mid-line is refused and kept; cleanup works from the kernel" {
    local size
    three_cgroups
    size=$(stat -c %s "$CT_REGISTRY")
    truncate -s $((size / 2)) "$CT_REGISTRY"
    [[ $(tail -c 1 "$CT_REGISTRY") != $'\n' ]] || truncate -s $((size / 2 - 1)) "$CT_REGISTRY"
    expect_registry_refused truncated
}

@test "an empty registry is refused and kept; cleanup works from the kernel" {
    three_cgroups
    : >"$CT_REGISTRY"
    expect_registry_refused empty
}

@test "a registry of garbage is refused and kept; cleanup works from the kernel" {
    three_cgroups
    printf 'this is not\nwhat ct wrote\n' >"$CT_REGISTRY"
    expect_registry_refused "not a ct registry"
}

@test "a registry of binary garbage is refused and kept; cleanup works from the kernel" {
    three_cgroups
    { printf '\0'; head -c 4096 /dev/urandom; } >"$CT_REGISTRY"
    expect_registry_refused registry
}

@test "a registry larger than 16 MiB is refused and kept; cleanup works from the kernel" {
    three_cgroups
    # Valid but for its size: the entries, then 17 MiB of empty lines.
    head -c $((17 << 20)) /dev/zero | tr '\0' '\n' >>"$CT_REGISTRY"
    expect_registry_refused "16 MiB"
}

@test "a registry from a future version is refused and kept; cleanup works from the kernel" {
    three_cgroups
    sed -i '1s/.*/ct-registry 3/' "$CT_REGISTRY"
    expect_registry_refused "version 3"
}

# run_dir_snapshot: names, types, modes, owners and contents below /run/ct, and /run/ct itself
run_dir_snapshot() {
    stat -c '%N %F %a %u:%g' "$CT_RUN"
    (cd -P "$CT_RUN" && find . -printf '%p %y %m %U:%G %s\n' | sort &&
        find . -type f -exec sha256sum {} + | sort)
}

# expect_run_dir_refused WORD: every command refuses /run/ct and writes nothing
expect_run_dir_refused() {
    expect_all_refused run_dir_snapshot "$1" "limit $R 10mbit" "limit --isolate $R 10mbit" \
        "limit $P 20mbit" "unlimit $P" "unlimit $Q" status "status --json" cleanup
}

@test "/run/ct as a symbolic link is refused and nothing is written through it" {
    local real=$CT_RUN.real.$$
    three_cgroups
    mv "$CT_RUN" "$real"
    at_teardown mv "$real" "$CT_RUN"
    at_teardown rm -f "$CT_RUN"
    ln -s "$real" "$CT_RUN"
    expect_run_dir_refused "symbolic link"
    rm "$CT_RUN"
    mv "$real" "$CT_RUN"
    expect_three_unchanged "restoring $CT_RUN"
}

@test "/run/ct owned by another user is refused and nothing is written" {
    three_cgroups
    at_teardown chown 0:0 "$CT_RUN"
    chown 65534:65534 "$CT_RUN"
    expect_run_dir_refused "owned by uid 65534"
}

@test "a group-writable /run/ct is refused and nothing is written" {
    three_cgroups
    at_teardown chmod 0700 "$CT_RUN"
    chmod 0770 "$CT_RUN"
    expect_run_dir_refused "mode 770"
}

# one_limit: $A with $P limited at 10mbit, its id in $ID
one_limit() {
    A=$(new_cgroup)
    ID=$(cg_id "$A")
    spawn_sleeper "$A"
    P=$SPAWNED
    limit_ok "$P" 10mbit
}

@test "a deleted program pin: unlimit finds the program as an orphan and detaches it" {
    local hook
    for hook in ingress egress; do
        one_limit
        rm "$CT_PINS/$ID/$hook"
        unlimit_ok "$P"
        [[ $stderr == *orphan* ]] || fail "expected a note about an orphan; stderr:" "$stderr"
        expect_no_ct_on "$A"
        expect_no_pins "$ID"
        expect_registry_forgot "$P" "$ID"
        expect_nothing_loaded
    done
}

@test "a deleted program pin: limit again attaches one complete set of programs" {
    one_limit
    rm "$CT_PINS/$ID/ingress"
    limit_ok "$P" 20mbit
    expect_ct_progs "$A"
    expect_pins "$A"
    eventually expect_loaded_count $PROGS_PER_LIMIT
    load_status
    expect_status_value "$(cg_rel "$A")" attached true
}

@test "a deleted program pin: status still says whether ct's programs are attached" {
    one_limit
    rm "$CT_PINS/$ID/ingress"
    expect_ct_progs "$A"
    expect_truthful "$A"
}

# foreign_program: load the foreign program, attach it to $A (multi); id in $FOREIGN_ID
foreign_program() {
    FOREIGN_PIN=$BPFFS/cttest_foreign_$$
    bpftool prog load "$BATS_FILE_TMPDIR/foreign.o" "$FOREIGN_PIN"
    at_teardown rm -f "$FOREIGN_PIN"
    FOREIGN_ID=$(loaded_rows prog pinned "$FOREIGN_PIN" | awk '{ print $1 }')
    bpftool cgroup attach "$A" egress pinned "$FOREIGN_PIN" multi
}

# expect_foreign_untouched PIN: the foreign program is pinned at PIN and attached to $A
expect_foreign_untouched() {
    expect_eq "program pinned at $1" "$FOREIGN_ID" \
        "$(loaded_rows prog pinned "$1" 2>/dev/null | awk '{ print $1 }')"
    expect_eq "foreign program on $A" "$FOREIGN_ID cttest_foreign cgroup_inet_egress multi" \
        "$(cg_progs "$A" | grep "^$FOREIGN_ID ")"
}

# foreign_in_ingress_pin: one limit whose ingress pin now holds the foreign
# program instead of ct's; PIN is that pin
foreign_in_ingress_pin() {
    one_limit
    foreign_program
    PIN=$CT_PINS/$ID/ingress
    rm "$PIN"
    bpftool prog pin id "$FOREIGN_ID" "$PIN"
    at_teardown rm -f "$PIN"
}

@test "a foreign program pinned in place of ct's: ct does not use, detach or remove it, and says so" {
    local pin args want
    foreign_in_ingress_pin
    pin=$PIN
    for args in "status --json:0" "limit $P 20mbit:1" "unlimit $P:1" "cleanup:[01]"; do
        want=${args##*:} args=${args%:*}
        run --separate-stderr "$CT" $args
        [[ $status == $want ]] ||
            fail "ct $args: expected exit $want, got $status" "stdout: $output" "stderr: $stderr"
        [[ $stderr == *"$pin"*"not ct's"* ]] ||
            fail "ct $args: expected it to say that $pin is not ct's; stderr:" "$stderr"
        expect_foreign_untouched "$pin"
    done

    rm "$pin"
    run --separate-stderr "$CT" cleanup
    expect_exit 0
    expect_no_ct_on "$A"
    expect_foreign_untouched "$FOREIGN_PIN"
    expect_nothing_loaded
    expect_no_pins_at_all
}

@test "an unlimit that failed can be retried once its cause is gone" {
    local pin
    foreign_in_ingress_pin
    pin=$PIN
    run --separate-stderr "$CT" unlimit "$P"
    expect_exit 1
    registry_mentions "$P" ||
        fail "a failed unlimit dropped $P from the registry:" "$(cat "$CT_REGISTRY")"

    rm "$pin"
    unlimit_ok "$P"
    expect_no_ct_on "$A"
    expect_no_pins "$ID"
    expect_foreign_untouched "$FOREIGN_PIN"
}

@test "a foreign map pinned in place of ct's: ct does not use or remove it, and says so" {
    local pin map args want
    one_limit
    pin=$CT_PINS/$ID/conf
    rm "$pin"
    bpftool map create "$pin" type array key 4 value 4 entries 1 name cttest_foreign
    at_teardown rm -f "$pin"
    bpftool map update pinned "$pin" key 0 0 0 0 value 1 2 3 4
    map=$(loaded_rows map pinned "$pin" | awk '{ print $1 }')
    for args in "limit $P 20mbit:1" "unlimit $P:0" "cleanup:[01]"; do
        want=${args##*:} args=${args%:*}
        run --separate-stderr "$CT" $args
        [[ $status == $want ]] ||
            fail "ct $args: expected exit $want, got $status" "stdout: $output" "stderr: $stderr"
        [[ $stderr == *"$pin"* ]] || fail "ct $args: expected it to name $pin; stderr:" "$stderr"
        expect_eq "map pinned at $pin after ct $args" "$map" \
            "$(loaded_rows map pinned "$pin" | awk '{ print $1 }')"
        expect_eq "value of the foreign map after ct $args" '0x01 0x02 0x03 0x04' \
            "$(bpftool -j map lookup pinned "$pin" key 0 0 0 0 |
                python3 -c 'import json, sys; print(*json.load(sys.stdin)["value"])')"
    done
    expect_no_ct_on "$A"

    rm "$pin"
    run --separate-stderr "$CT" cleanup
    expect_exit 0
    expect_nothing_loaded
    expect_no_pins_at_all
}

# in_private_mounts SCRIPT ARGS...: run the bash SCRIPT where the bpffs is unmounted,
# in a mount namespace of its own (the real mounts stay as they are)
in_private_mounts() {
    run --separate-stderr unshare --mount --propagation private bash -c '
        while mountpoint -q "$0"; do umount "$0" || exit 99; done
        '"$1" "$BPFFS" "${@:2}"
    [[ $status -ne 99 ]] || fail "cannot unmount $BPFFS in a private mount namespace"
}

@test "the bpffs unmounted between invocations: unlimit still removes the limit" {
    one_limit
    in_private_mounts '"$1" unlimit "$2" && bpftool cgroup show "$3"' "$CT" "$P" "$A"
    expect_exit 0
    [[ $output != *ct_* ]] || fail "ct programs still attached after unlimit:" "$output"
    expect_no_ct_on "$A"
    load_status
    expect_status_value --doc cgroups "[]"
    run --separate-stderr "$CT" cleanup
    expect_exit 0
    expect_nothing_loaded
    expect_no_pins_at_all
}

@test "the bpffs unmounted between invocations: status still says whether the limit is attached" {
    one_limit
    in_private_mounts '"$1" status --json' "$CT"
    expect_exit 0
    STATUS_JSON=$output
    expect_ct_progs "$A"
    expect_status_value "$(cg_rel "$A")" attached true
}

@test "the bpffs unmounted between invocations: limit again keeps one set of programs" {
    one_limit
    in_private_mounts '"$1" limit "$2" 20mbit && bpftool cgroup show "$3"' "$CT" "$P" "$A"
    expect_exit 0
    expect_eq "ct programs attached after limit" "$PROGS_PER_LIMIT" "$(grep -c ' ct_' <<<"$output")"
    expect_ct_progs "$A"
    load_status
    expect_status_value "$(cg_rel "$A")" up rate_bits 20000000
    unlimit_ok "$P"
    expect_no_ct_on "$A"
    run --separate-stderr "$CT" cleanup
    expect_exit 0
    expect_nothing_loaded
    expect_no_pins_at_all
}

# expect_path_in_status CG: the last status document names CG's entry by its exact path
expect_path_in_status() {
    REL=$(cg_rel "$1") ID_=$(cg_id "$1") python3 -c '
import json, os, sys
d = json.loads(sys.stdin.buffer.read().decode("utf-8"))
want, cid = os.environb[b"REL"].decode("utf-8"), int(os.environ["ID_"])
found = [c["path"] for c in d["cgroups"] if c["id"] == cid]
if found != [want]:
    sys.exit("status names cgroup %d %r, expected %r" % (cid, found, want))' <<<"$STATUS_JSON"
}

@test "a cgroup path with spaces, quotes, control characters and non-ASCII letters" {
    local parent cg rel pid
    parent=$(new_cgroup)
    # The kernel refuses a newline in a cgroup name, so no cgroup path holds one.
    ! mkdir "$parent/"$'line\nbreak' 2>/dev/null ||
        fail "this kernel accepts newlines in cgroup names: test them here too"
    cg="$parent/"$'odd name\twith "quotes" \\ 100%41 \x01\x7f é✓'
    mkdir "$cg"
    remove_at_teardown "$cg"
    rel=$(cg_rel "$cg")
    spawn_sleeper "$cg"
    pid=$SPAWNED

    limit_ok "$pid" 10mbit
    expect_ct_progs "$cg"
    expect_pins "$cg"
    load_status
    expect_path_in_status "$cg"
    [[ -z $(awk '$1 == "cgroup" && NF != 3' "$CT_REGISTRY") ]] ||
        fail "the registry does not keep the path as one word:" "$(cat -A "$CT_REGISTRY")"
    unlimit_ok "$pid"
    expect_no_ct_on "$cg"
    expect_no_pins "$(cg_id "$cg")"

    limit_ok --isolate "$pid" 10mbit
    expect_eq "cgroup of $pid" "$rel/ct-$pid" "$(proc_cgroup "$pid")"
    expect_ct_progs "$cg/ct-$pid"
    load_status
    expect_path_in_status "$cg/ct-$pid"
    unlimit_ok "$pid"
    expect_eq "cgroup of $pid" "$rel" "$(proc_cgroup "$pid")"
    [[ ! -e $cg/ct-$pid ]] || fail "expected $cg/ct-$pid removed"

    limit_ok "$pid" 10mbit
    run --separate-stderr "$CT" cleanup
    expect_exit 0
    expect_no_ct_on "$cg"
    expect_nothing_loaded
}

@test "a cgroup name that is not UTF-8 still gives a valid JSON document" {
    local parent cg pid
    parent=$(new_cgroup)
    cg="$parent/"$'latin1 caf\xe9 \xff'
    mkdir "$cg"
    remove_at_teardown "$cg"
    spawn_sleeper "$cg"
    pid=$SPAWNED
    limit_ok "$pid" 10mbit
    run --separate-stderr "$CT" status --json
    expect_exit 0
    ID_=$(cg_id "$cg") PREFIX=$(cg_rel "$parent")/latin1 python3 -c '
import json, os, sys
try:
    d = json.loads(sys.stdin.buffer.read().decode("utf-8"))
except ValueError as err:
    sys.exit("ct status --json is not a UTF-8 JSON document: %s" % err)
found = [c["path"] for c in d["cgroups"] if c["id"] == int(os.environ["ID_"])]
if len(found) != 1 or not found[0].startswith(os.environ["PREFIX"]):
    sys.exit("status names the cgroup %r" % found)' <<<"$output"
}

# spawn_as_pid CG PID: start a sleeper in CG that gets the pid PID, freed before;
# the kernel hands out ns_last_pid + 1 next
spawn_as_pid() {
    local cg=$1 want=$2 i
    for ((i = 0; i < 200; i++)); do
        echo $((want - 1)) >/proc/sys/kernel/ns_last_pid
        sh -c 'echo $$ > "$1/cgroup.procs" && exec sleep 1000' sh "$cg" \
            </dev/null >/dev/null 2>&1 3>&- &
        track_pid "$!"
        if (($! == want)); then
            SPAWNED=$!
            eventually is_sleeping "$SPAWNED"
            return
        fi
        kill_reap "$!"
    done
    fail "could not start a process as pid $want again"
}

is_sleeping() {
    [[ $(cat "/proc/$1/comm" 2>/dev/null) == sleep ]]
}

start_time_of() {
    awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$1/stat"
}

@test "a reused pid: unlimit neither moves the new process nor touches another limit" {
    local a b arel brel x w old ids_b
    a=$(new_cgroup) b=$(new_cgroup)
    arel=$(cg_rel "$a") brel=$(cg_rel "$b")
    spawn_sleeper "$a"; x=$SPAWNED
    spawn_sleeper "$b"; w=$SPAWNED
    limit_ok --isolate "$x" 10mbit
    limit_ok "$w" 10mbit
    ids_b=$(ct_ids "$b")
    old=$(start_time_of "$x")
    kill_reap "$x"

    spawn_as_pid "$b" "$x"
    [[ $(start_time_of "$x") != "$old" ]] || fail "the new process $x has the old start time"
    load_status
    expect_status_value "$arel/ct-$x" pids '*' pid "[$x]"
    expect_status_value "$arel/ct-$x" pids '*' alive "[false]"

    # The new process joins the limit of its cgroup; the dead one's stays apart.
    limit_ok "$x" 10mbit
    load_status
    expect_status_value --sort "$brel" pids '*' pid "$(int_list "$w" "$x")"
    expect_status_value "$arel/ct-$x" pids '*' start_time "[$old]"

    # unlimit takes the living process's limit first ...
    unlimit_ok "$x"
    expect_eq "cgroup of the new $x" "$brel" "$(proc_cgroup "$x")"
    expect_eq "ct programs on $b" "$ids_b" "$(ct_ids "$b")"
    expect_ct_progs "$a/ct-$x"
    load_status
    expect_status_value "$brel" pids '*' pid "[$w]"
    expect_status_value "$arel/ct-$x" pids '*' start_time "[$old]"

    # ... and then the dead one's, which leaves the new process where it is.
    unlimit_ok "$x"
    expect_eq "cgroup of the new $x" "$brel" "$(proc_cgroup "$x")"
    expect_eq "ct programs on $b" "$ids_b" "$(ct_ids "$b")"
    [[ ! -e $a/ct-$x ]] || fail "expected $a/ct-$x removed"
    load_status
    expect_status_value --doc cgroups '*' path "[\"$brel\"]"
    expect_status_value --doc cgroups '*' pids '*' pid "[[$w]]"
}

# in_cgroup_or_gone PID REL: PID is a member of REL, or has exited (no forks: it is polled)
in_cgroup_or_gone() {
    local -a lines
    mapfile -t lines 2>/dev/null <"/proc/$1/cgroup" || return 0
    ((${#lines[@]} == 0)) || [[ ${lines[-1]} == "0::$2" ]]
}

@test "a process that exits during ct limit never leaves a program without an entry" {
    local c rel round pid life exits=() iso
    local -a lives=(0 0.001 0.002 0.003 0.004 0.006 0.008 0.012 0.016 0.025)
    c=$(new_cgroup)
    rel=$(cg_rel "$c")
    # (not `i`: bats' `run` changes a global i)
    for ((round = 0; round < 20; round++)); do
        life=${lives[round % ${#lives[@]}]}
        iso=
        ((round / ${#lives[@]} % 2)) && iso=--isolate
        sh -c 'echo $$ > "$1/cgroup.procs" && exec sleep "$2"' sh "$c" "$life" \
            </dev/null >/dev/null 2>&1 3>&- &
        pid=$!
        track_pid "$pid"
        # Limit it only once it is in $c, or it might be isolated below the root.
        until in_cgroup_or_gone "$pid" "$rel"; do :; done
        run --separate-stderr "$CT" limit $iso "$pid" 10mbit
        case $status in
            0) ;;
            1) expect_error_line ;;
            *) fail "ct limit $iso $pid: expected exit 0 or 1, got $status:" "$stderr" ;;
        esac
        exits+=("$status")
        wait "$pid" 2>/dev/null || true
        expect_truthful "$c" "$c/ct-$pid"
        expect_accounted "$c" "$c/ct-$pid"
        unlimit_ok "$pid"
        expect_no_ct_on "$c"
        [[ ! -e $c/ct-$pid ]] || fail "ct limit $iso $pid (exit ${exits[-1]}) left $c/ct-$pid"
    done
    note "${#exits[@]} races: $(printf '%s\n' "${exits[@]}" | sort | uniq -c | awk '{ print $1 " exited " $2 }' | paste -sd, - | sed 's/,/, /g')"
    run --separate-stderr "$CT" cleanup
    expect_exit 0
    expect_nothing_loaded
    expect_no_pins_at_all
}

@test "ct killed while it makes its cgroup for --isolate: the next ct isolates and removes it" {
    local a p
    a=$(new_cgroup)
    spawn_sleeper "$a"
    p=$SPAWNED
    # A limit makes the cgroup within its first half millisecond: kills sweep that span.
    run --separate-stderr python3 - "$CT" "$p" "$a" <<'PY'
import os, subprocess, sys, time
ct, pid, cg = sys.argv[1:]
killed = 0
for n in range(200):
    delay = n % 20 * 0.000025
    limit = subprocess.Popen([ct, "limit", "--isolate", pid, "10mbit"], stderr=subprocess.DEVNULL)
    time.sleep(delay)
    limit.kill()
    killed += limit.wait() == -9
    for args in (["limit", "--isolate", pid, "10mbit"], ["unlimit", pid]):
        r = subprocess.run([ct, *args], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"after a limit --isolate killed {delay * 1000:.3f} ms in, "
                     f"ct {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
    if os.path.exists(f"{cg}/ct-{pid}"):
        sys.exit(f"ct unlimit left {cg}/ct-{pid}")
print(f"{killed} of 200 limits killed before they finished")
PY
    expect_exit 0
    note "$output"
    expect_eq "cgroup of $p" "$(cg_rel "$a")" "$(proc_cgroup "$p")"
}

@test "a leftover note of a cgroup in the making that --isolate could not have made is not followed" {
    local a b
    a=$(new_cgroup)
    b=$(new_cgroup "$a")
    mkdir "$a/ct-12x"
    remove_at_teardown "$a/ct-12x"
    [[ -d $CT_RUN ]] || mkdir -m 700 "$CT_RUN"
    for path in "$b" "$a/ct-12x" "$a/ct-1/../$(basename "$b")"; do
        printf '%s' "$path" >"$CT_RUN/making"
        run --separate-stderr "$CT" status
        expect_exit 0
        [[ ! -e $CT_RUN/making ]] || fail "ct kept the note of $path"
        for cg in "$b" "$a/ct-12x"; do
            run python3 -c 'import os, sys; print(os.listxattr(sys.argv[1]))' "$cg"
            expect_eq "extended attributes of $cg after a note of $path" "[]" "$output"
        done
    done
}

@test "a hook that already holds 64 programs: limit fails, says so, and leaves nothing" {
    local a c q p dir i sum
    a=$(new_cgroup) c=$(new_cgroup)
    spawn_sleeper "$a"; q=$SPAWNED
    spawn_sleeper "$c"; p=$SPAWNED
    limit_ok "$q" 10mbit
    dir=$BPFFS/cttest_full_$$
    mkdir "$dir"
    at_teardown rm -rf "$dir"
    for ((i = 0; i < 64; i++)); do
        bpftool prog load "$BATS_FILE_TMPDIR/foreign.o" "$dir/p$i"
        bpftool cgroup attach "$c" egress pinned "$dir/p$i" multi
    done
    sum=$(registry_sum)

    run --separate-stderr "$CT" limit "$p" 10mbit
    expect_exit 1
    expect_error_line 64
    expect_no_ct_on "$c"
    expect_no_pins "$(cg_id "$c")"
    expect_eq "registry after the failed limit" "$sum" "$(registry_sum)"
    eventually expect_loaded_count $PROGS_PER_LIMIT
    expect_eq "foreign programs on $c" 64 "$(cg_progs "$c" | grep -c cttest_foreign)"

    # With 63, ct's egress program is the 64th: it fits.
    bpftool cgroup detach "$c" egress pinned "$dir/p63"
    limit_ok "$p" 10mbit
    expect_ct_progs "$c"
    unlimit_ok "$p"
    expect_no_ct_on "$c"
    expect_eq "foreign programs on $c" 63 "$(cg_progs "$c" | grep -c cttest_foreign)"

    for ((i = 0; i < 63; i++)); do
        bpftool cgroup detach "$c" egress pinned "$dir/p$i"
    done
    rm -r "$dir"
    [[ -z $(cg_progs "$c") ]] || fail "programs left on $c:" "$(cg_progs "$c")"
}

# as_nobody CMD...: run ct (a copy nobody can execute) as user nobody
as_nobody() {
    setpriv --reuid=65534 --regid=65534 --clear-groups "$NOBODY_CT" "$@"
}

@test "an unprivileged user cannot unlimit, clean up or read a limit, and changes nothing" {
    local a p ids sum args dir
    a=$(new_cgroup)
    spawn_sleeper "$a"; p=$SPAWNED
    limit_ok --isolate "$p" 10mbit
    ids=$(ct_ids "$a/ct-$p")
    sum=$(registry_sum)
    dir=$(mktemp -d)
    at_teardown rm -rf "$dir"
    chmod 755 "$dir"
    cp "$CT" "$dir/ct"
    NOBODY_CT=$dir/ct

    for args in "unlimit $p" cleanup status "status --json" "limit $p 20mbit"; do
        run --separate-stderr as_nobody $args
        [[ $status -eq 1 ]] ||
            fail "ct $args as nobody: expected exit 1, got $status" "stdout: $output" "stderr: $stderr"
        expect_error_line root
        [[ -z $output ]] || fail "ct $args as nobody printed on stdout:" "$output"
        expect_eq "ct programs on $a/ct-$p after ct $args as nobody" "$ids" "$(ct_ids "$a/ct-$p")"
        expect_eq "registry after ct $args as nobody" "$sum" "$(registry_sum)"
        expect_eq "cgroup of $p after ct $args as nobody" "$(cg_rel "$a")/ct-$p" "$(proc_cgroup "$p")"
    done
    load_status
    expect_status_value "$(cg_rel "$a")/ct-$p" down rate_bits 10000000
}

@test "root without CAP_NET_ADMIN is refused too" {
    local a p ids sum args
    a=$(new_cgroup)
    spawn_sleeper "$a"; p=$SPAWNED
    limit_ok "$p" 10mbit
    ids=$(ct_ids "$a")
    sum=$(registry_sum)
    for args in "unlimit $p" cleanup "limit $p 20mbit"; do
        run --separate-stderr setpriv --bounding-set=-net_admin --inh-caps=-net_admin "$CT" $args
        expect_exit 1
        expect_error_line CAP_NET_ADMIN
        expect_eq "ct programs on $a after ct $args without CAP_NET_ADMIN" "$ids" "$(ct_ids "$a")"
        expect_eq "registry after ct $args without CAP_NET_ADMIN" "$sum" "$(registry_sum)"
    done
}
