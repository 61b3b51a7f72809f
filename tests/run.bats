#!/usr/bin/env bats
# ct run: a command started in a limited cgroup of ct's own, with real clients
# against a real HTTP server (nginx) and iperf3 between two namespaces.  ct run
# itself is started from a cgroup the test made, so the cgroup it makes lies
# below that one.

load helpers

FILE_MB=6

setup_file() {
    musl-gcc -static -O2 -o "$BATS_FILE_TMPDIR/fetch" "$BATS_TEST_DIRNAME/fetch.c"
}

setup() {
    common_setup
    netns_up "$BATS_TEST_NUMBER.$$"
    ip -n "$NETNS_A" addr add fd00:c7::1/64 dev veth0 nodad
    ip -n "$NETNS_B" addr add fd00:c7::2/64 dev veth0 nodad
    HOME_CG=$(new_cgroup)
}

# start_nginx: one nginx process in namespace A serving a $FILE_MB MB file
# as /file on port 8080, IPv4 and IPv6; killed at teardown
start_nginx() {
    local dir=$BATS_TEST_TMPDIR/nginx
    mkdir -p "$dir/www"
    head -c "${FILE_MB}M" /dev/urandom >"$dir/www/file"
    cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $dir; proxy_temp_path $dir; fastcgi_temp_path $dir;
    uwsgi_temp_path $dir; scgi_temp_path $dir;
    server {
        listen $NETNS_ADDR_A:8080;
        listen [fd00:c7::1]:8080;
        root $dir/www;
    }
}
EOF
    ip netns exec "$NETNS_A" nginx -c "$dir/nginx.conf" >"$dir/out" 2>&1 </dev/null 3>&- &
    track_pid "$!"
    eventually _listening "$NETNS_A" 8080 ||
        fail "nginx did not start:" "$(cat "$dir/out" "$dir/error.log" 2>&1)"
}

_listening() {
    [[ -n $(ip netns exec "$1" ss -Hltn "sport = :$2") ]]
}

# ct_run [-STATUS] ARGS...: `ct run ARGS` started from $HOME_CG; stdout,
# stderr, status as bats' run gives them (-127 tells bats that 127 is meant)
ct_run() {
    local -a check=()
    if [[ $1 == -[0-9]* ]]; then
        check=("$1")
        shift
    fi
    run "${check[@]}" --separate-stderr sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' \
        sh "$HOME_CG" "$CT" run "$@"
}

# start_ct_run ARGS...: `ct run ARGS` in the background, started from
# $HOME_CG; once its command is in the cgroup ct run made, CT_PID is ct run's
# pid, RUN_CG that cgroup and RUN_CHILD the command's pid
start_ct_run() {
    local i
    sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$HOME_CG" \
        "$CT" run "$@" 3>&- &
    CT_PID=$!
    track_pid "$CT_PID"
    for ((i = 0; i < 100; i++)); do
        RUN_CG=$(find "$HOME_CG" -mindepth 1 -type d -name 'ct-*' | head -n 1)
        [[ -n $RUN_CG && -n $(cat "$RUN_CG/cgroup.procs" 2>/dev/null) ]] && break
        sleep 0.05
    done
    [[ -n $RUN_CG ]] || fail "ct run made no cgroup below $HOME_CG" || return
    RUN_CHILD=$(cat "$RUN_CG/cgroup.procs")
    track_pid "$RUN_CHILD"
}

# expect_run_gone: no cgroup of ct's is left below $HOME_CG, no program of
# ct's is loaded, and the registry names nothing
expect_run_gone() {
    local left
    left=$(find "$HOME_CG" -mindepth 1 -type d -name 'ct-*')
    [[ -z $left ]] || fail "ct run left its cgroup behind: $left" || return
    expect_nothing_loaded || return
    [[ ! -s $CT_REGISTRY ]] || [[ $(grep -c '^cgroup' "$CT_REGISTRY") -eq 0 ]] ||
        fail "ct run left an entry in the registry:" "$(cat "$CT_REGISTRY")"
}

# expect_limited_rate WHAT LIMIT_BITS BYTES SECONDS: a goodput of BYTES in
# SECONDS is the limit's, TCP at MTU 1500 (0.965 of the IP rate), within 12%
expect_limited_rate() {
    local ratio
    ratio=$(awk -v b="$3" -v s="$4" -v l="$2" 'BEGIN { printf "%.3f", b * 8 / s / (l * 0.965) }')
    note "$1: $ratio of the limit"
    expect_range "$1 (goodput / limit)" 0.88 1.12 "$ratio"
}

@test "ct run limits a static binary's download from nginx, IPv4 and IPv6, and leaves nothing" {
    local addr got
    start_nginx
    for addr in "$NETNS_ADDR_A" fd00:c7::1; do
        ct_run 8mbit -- ip netns exec "$NETNS_B" "$BATS_FILE_TMPDIR/fetch" "$addr" 8080 /file
        expect_exit 0 || return
        read -ra got <<<"$output"
        # The body and nginx's response headers.
        expect_range "bytes fetched over $addr" $((FILE_MB << 20)) $(((FILE_MB << 20) + 1024)) \
            "${got[0]}" || return
        expect_limited_rate "download over $addr after the first second" 8000000 \
            "${got[2]}" "${got[3]}" || return
        expect_run_gone || return
    done
}

@test "ct run limits what the command's children open: curl forked by a shell" {
    local secs
    start_nginx
    ct_run 16mbit -- sh -c 'ip netns exec "$1" curl -sS -o /dev/null -w "%{time_total}" \
        "http://$2:8080/file" & wait $!' sh "$NETNS_B" "$NETNS_ADDR_A"
    expect_exit 0
    secs=$output
    # Unlimited, 6 MB take milliseconds here.  Limited to 2 MB/s with a
    # bucket of one second, they take (6 - 2) / 2 s and a little more.
    note "curl took $secs s for $FILE_MB MB at 16mbit"
    expect_range "seconds for $FILE_MB MB at 16mbit" 1.9 3.5 "$secs"
    expect_run_gone
}

@test "ct run limits UDP: an iperf3 download sent at twice the limit is received at the limit" {
    local json got
    start_iperf3_server "$NETNS_A" -B "$NETNS_ADDR_A"
    ct_run 10mbit -- ip netns exec "$NETNS_B" iperf3 -c "$NETNS_ADDR_A" -u -b 20M -l 1400 \
        -t 4 -O 1 -R --json
    expect_exit 0
    json=$output
    got=$(python3 -c '
import json, sys
r = json.loads(sys.argv[1])["end"]["sum_received"]
print("%.3f" % (r["bytes"] * 8 / r["seconds"] * 1428 / 1400 / 10e6))' "$json")
    note "UDP received at $got of the limit"
    expect_range "UDP received / limit" 0.9 1.05 "$got"
    expect_run_gone
}

@test "ct run exits with the command's status, 128+N for a signal" {
    ct_run 1mbit -- sh -c 'exit 7'
    expect_exit 7
    [[ -z $stderr ]] || fail "ct run said something of a command that failed on its own:" "$stderr"
    ct_run 1mbit -- sh -c 'kill -KILL $$'
    expect_exit 137
    expect_run_gone
}

@test "ct run passes SIGTERM on to the command and removes the limit after it" {
    start_ct_run 1mbit -- sleep 300 || return
    expect_eq "command in ct run's cgroup" sleep "$(cat "/proc/$RUN_CHILD/comm")" || return
    expect_ct_progs "$RUN_CG" || return
    kill -TERM "$CT_PID"
    wait "$CT_PID" && status=0 || status=$?
    expect_exit 143 || return
    [[ ! -e /proc/$RUN_CHILD ]] || fail "the command $RUN_CHILD outlived SIGTERM" || return
    expect_run_gone
}

@test "a command that is not found or cannot be executed exits 127 or 126, leaving nothing" {
    local before
    before=$(registry_sum)
    ct_run -127 1mbit -- no-such-command-of-ct
    expect_exit 127
    expect_error_line "not found"
    touch "$BATS_TEST_TMPDIR/not-executable"
    chmod 644 "$BATS_TEST_TMPDIR/not-executable"
    ct_run 1mbit -- "$BATS_TEST_TMPDIR/not-executable"
    expect_exit 126
    expect_error_line
    ct_run 1mbit -- "$BATS_TEST_TMPDIR"
    expect_exit 126
    expect_error_line
    ct_run --user no-such-user-of-ct 1mbit -- true
    expect_exit 2
    expect_error_line "no-such-user-of-ct"
    ct_run 1mbit
    expect_exit 2
    expect_error_line "missing command"
    expect_eq "registry" "$before" "$(registry_sum)"
    expect_run_gone || return

    # Executable, but the kernel cannot run it: found out only at exec, after
    # the limit was made, which goes again with its cgroup.
    printf 'not a program\n' >"$BATS_TEST_TMPDIR/garbage"
    chmod 755 "$BATS_TEST_TMPDIR/garbage"
    ct_run 1mbit -- "$BATS_TEST_TMPDIR/garbage"
    expect_exit 126
    expect_error_line "Exec format error"
    expect_run_gone
}

@test "ct run --user runs the command as that user, with that user's groups" {
    ct_run --user nobody 1mbit -- sh -c 'id -u; id -g; echo "$USER"'
    expect_exit 0
    expect_eq "uid, gid and USER of the command" "65534 $(getent passwd nobody | cut -d: -f4) nobody" \
        "$(xargs <<<"$output")"
    expect_run_gone
}

@test "a limit whose command left a process behind stays until that process exits" {
    local cg daemon id
    ct_run 1mbit -- sh -c 'sleep 300 >/dev/null 2>&1 &'
    expect_exit 0
    [[ $stderr == *"still in cgroup"* ]] || fail "ct run did not say the limit stays:" "$stderr"
    cg=$(find "$HOME_CG" -mindepth 1 -type d -name 'ct-*')
    [[ -n $cg ]] || fail "the cgroup of ct run is gone although a process is left in it" || return
    daemon=$(cat "$cg/cgroup.procs")
    track_pid "$daemon"
    id=$(cg_id "$cg")
    expect_ct_progs "$cg"
    load_status
    expect_status_value "$(cg_rel "$cg")" owner run
    kill -9 "$daemon"
    eventually test ! -e "/proc/$daemon"
    run --separate-stderr "$CT" status
    expect_exit 0
    [[ ! -d $cg ]] || fail "ct status left the emptied cgroup $cg"
    expect_no_pins "$id"
    expect_run_gone
}

@test "a ct run killed with SIGKILL leaves a limit that status shows and a later ct removes" {
    start_ct_run 1mbit -- sleep 300 || return
    kill_reap "$CT_PID"
    load_status
    expect_status_value "$(cg_rel "$RUN_CG")" attached true
    expect_status_value "$(cg_rel "$RUN_CG")" owner run
    expect_ct_progs "$RUN_CG"
    kill -9 "$RUN_CHILD"
    eventually test ! -e "/proc/$RUN_CHILD"
    run --separate-stderr "$CT" status --json
    expect_exit 0
    [[ ! -d $RUN_CG ]] || fail "the cgroup of a killed ct run was not removed once empty"
    expect_run_gone
}
