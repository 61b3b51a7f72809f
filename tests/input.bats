#!/usr/bin/env bats
# Bad input is refused with exit 2 and one `ct: ` line, and changes nothing.

load helpers

setup() {
    common_setup
    LIMITED_CG=$(new_cgroup)
    spawn_sleeper "$LIMITED_CG"
    LIMITED_PID=$SPAWNED
    limit_ok "$LIMITED_PID" 10mbit
    FREE_CG=$(new_cgroup)
    spawn_sleeper "$FREE_CG"
    FREE_PID=$SPAWNED
    REGISTRY_BEFORE=$(registry_sum)
    IDS_BEFORE=$(ct_ids "$LIMITED_CG")
}

# expect_unchanged CMD: the kernel and the registry look as they did after setup
expect_unchanged() {
    expect_eq "registry after $1" "$REGISTRY_BEFORE" "$(registry_sum)" &&
        expect_eq "ct programs on the limited cgroup after $1" "$IDS_BEFORE" "$(ct_ids "$LIMITED_CG")" &&
        expect_no_ct_on "$FREE_CG" &&
        expect_loaded_count $PROGS_PER_LIMIT
}

# expect_refused EXIT ARGS...: `ct ARGS` exits with EXIT and one `ct: ` line, changing nothing
expect_refused() {
    local want=$1 cmd=ct
    shift
    (($# == 0)) || cmd+=$(printf ' %q' "$@")
    run --separate-stderr "$CT" "$@"
    [[ $status -eq $want ]] ||
        fail "$cmd: expected exit $want, got $status" "stdout: $output" "stderr: $stderr" || return
    expect_error_line || fail "... from: $cmd" || return
    expect_unchanged "$cmd"
}

BAD_RATES=(10M 10k 0 0mbit -5mbit abc '' 99999999999999999999999bit 10furlongs 2tbit 999bit
    1.5 .mbit 10mbit10 '10 mbit' nan inf 1e400bit)

@test "malformed rates exit 2 and change nothing" {
    local rate
    for rate in "${BAD_RATES[@]}"; do
        expect_refused 2 limit "$FREE_PID" "$rate"
        expect_refused 2 limit "$FREE_PID" --down "$rate"
        expect_refused 2 limit "$FREE_PID" --up "$rate" --down 10mbit
    done
}

# expect_both_readings N: the last error suggests N in bits and N in bytes per second
expect_both_readings() {
    [[ $stderr =~ write\ $1[kmg]bit\ for\ [a-z]+bits\ or\ $1[kmg]bps\ for\ [a-z]+bytes\ per\ second ]] ||
        fail "expected 'write ${1}Xbit for ...bits or ${1}Xbps for ...bytes per second', got:" "$stderr"
}

@test "ambiguous units say how to write both readings" {
    expect_refused 2 limit "$FREE_PID" 10M
    expect_error_line "write 10mbit for megabits or 10mbps for megabytes per second"
    expect_refused 2 limit "$FREE_PID" --down 2.5M
    expect_error_line "write 2.5mbit for megabits or 2.5mbps for megabytes per second"
    expect_refused 2 limit "$FREE_PID" --up 10k
    expect_both_readings 10
    expect_refused 2 limit "$FREE_PID" 64K
    expect_both_readings 64
}

@test "malformed pids exit 2 and change nothing" {
    local pid
    for pid in abc 0 -1 99999999999 12abc 4194305 0x10 1e3 '' ' 5' +5; do
        expect_refused 2 limit "$pid" 10mbit
        expect_refused 2 limit --isolate "$pid" 10mbit
        expect_refused 2 unlimit "$pid"
    done
    expect_refused 2 limit
    expect_refused 2 limit 10mbit
    expect_refused 2 unlimit
}

@test "ct without a command exits 2 with one ct: line" {
    expect_refused 2
}

@test "incomplete or unknown commands and options exit 2 and change nothing" {
    expect_refused 2 frobnicate
    expect_refused 2 --frobnicate
    expect_refused 2 limit "$FREE_PID"
    expect_refused 2 limit "$FREE_PID" --down
    expect_refused 2 limit "$FREE_PID" --down 10mbit --up
    expect_refused 2 limit "$FREE_PID" 10mbit 20mbit
    expect_refused 2 limit --bogus "$FREE_PID" 10mbit
    expect_refused 2 limit "$FREE_PID" 10mbit --bogus
    expect_refused 2 unlimit "$LIMITED_PID" "$FREE_PID"
    expect_refused 2 unlimit --bogus "$LIMITED_PID"
    expect_refused 2 status --bogus
    expect_refused 2 status extra
    expect_refused 2 cleanup extra
}

@test "limit of a pid that does not exist exits 1" {
    local gone
    sleep 1000 >/dev/null 2>&1 3>&- &
    gone=$!
    kill_reap "$gone"
    expect_refused 1 limit "$gone" 10mbit
    expect_refused 1 limit 4194304 10mbit
}

@test "unlimit of a pid that is not limited exits 0 with a note" {
    run --separate-stderr "$CT" unlimit "$FREE_PID"
    expect_exit 0
    expect_error_line
    expect_unchanged "ct unlimit $FREE_PID"
    run --separate-stderr "$CT" unlimit 4194304
    expect_exit 0
    expect_error_line
    expect_unchanged "ct unlimit 4194304"
}

@test "rates follow tc's grammar" {
    local rel n rate bits
    local -a cases=(
        10mbit 10000000
        10Mbit 10000000
        1.5mbps 12000000
        512kibit 524288
        100kbps 800000
        2gbit 2000000000
        1mibps 8388608
        1000000 1000000
        1kbit 1000
        1tbit 1000000000000
    )
    rel=$(cg_rel "$FREE_CG")
    for ((n = 0; n < ${#cases[@]}; n += 2)); do
        rate=${cases[n]} bits=${cases[n + 1]}
        limit_ok "$FREE_PID" "$rate" || fail "... from: ct limit $FREE_PID $rate" || return
        load_status
        expect_status_rates "$rel" "$bits" "$bits"
    done
}

@test "--down and --up set each direction; a direction not given stays as it was" {
    local rel
    rel=$(cg_rel "$FREE_CG")
    limit_ok "$FREE_PID" --down 5mbit
    load_status
    expect_status_rates "$rel" 5000000 0
    limit_ok "$FREE_PID" --up 300kbit
    load_status
    expect_status_rates "$rel" 5000000 300000
    limit_ok "$FREE_PID" --up 2mbit --down 7mbit
    load_status
    expect_status_rates "$rel" 7000000 2000000
}

@test "--burst sets the bucket size; bad sizes exit 2" {
    local rel size
    for size in 0 -1 abc 2gb 10furlongs ''; do
        expect_refused 2 limit --burst "$size" "$FREE_PID" 10mbit
    done
    rel=$(cg_rel "$FREE_CG")
    limit_ok --burst 256kb "$FREE_PID" 10mbit
    load_status
    expect_status_value "$rel" down burst_bytes 262144
    expect_status_value "$rel" up burst_bytes 262144
}

@test "--help and --version exit 0 on stdout" {
    local args
    local -a argv
    for args in --help --version "limit --help" "unlimit --help" "cleanup --help" "status --help"; do
        read -ra argv <<<"$args"
        run --separate-stderr "$CT" "${argv[@]}"
        expect_exit 0 || fail "... from: ct $args" || return
        [[ -n $output && -z $stderr ]] ||
            fail "ct $args: expected text on stdout only" "stdout: $output" "stderr: $stderr" || return
    done
    run --separate-stderr "$CT" --help
    local word
    for word in limit unlimit cleanup status; do
        [[ $output == *"$word"* ]] || fail "ct --help does not mention $word:" "$output" || return
    done
    run --separate-stderr "$CT" limit --help
    [[ $output == *--isolate* && $output == *--down* && $output == *--up* ]] ||
        fail "ct limit --help does not mention --isolate, --down and --up:" "$output"
    expect_unchanged "ct --help"
}

@test "an unprivileged user is refused with exit 1 and changes nothing" {
    local dir
    dir=$(mktemp -d)
    chmod 755 "$dir"
    cp "$CT" "$dir/ct"
    echo "$dir" >"$BATS_TEST_TMPDIR/nobody_dir"
    as_nobody() {
        setpriv --reuid=65534 --regid=65534 --clear-groups "$dir/ct" "$@"
    }

    local args
    local -a argv
    for args in "limit $FREE_PID 10mbit" "limit --isolate $FREE_PID 10mbit" \
        "unlimit $LIMITED_PID" cleanup status "status --json"; do
        read -ra argv <<<"$args"
        run --separate-stderr as_nobody "${argv[@]}"
        [[ $status -eq 1 ]] ||
            fail "ct $args as nobody: expected exit 1, got $status" "stdout: $output" "stderr: $stderr" || return
        expect_error_line || fail "... from ct $args as nobody" || return
        expect_unchanged "ct $args as nobody" || return
        expect_eq "cgroup of $FREE_PID" "$(cg_rel "$FREE_CG")" "$(proc_cgroup "$FREE_PID")" || return
    done
    run --separate-stderr as_nobody --help
    expect_exit 0
}

teardown() {
    if [[ -s $BATS_TEST_TMPDIR/nobody_dir ]]; then
        rm -rf "$(cat "$BATS_TEST_TMPDIR/nobody_dir")"
    fi
    common_teardown
}
