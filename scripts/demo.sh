#!/usr/bin/env bash
# ct in action, about 20 s, between two network namespaces made for it:
#   1. ct run: an iperf3 download started limited to 10mbit, its rate beside an
#      unlimited one's, and ct top while it runs;
#   2. ct limit: a running download capped at 10mbit by pid, then freed again.
set -euo pipefail

CT=${CT:-./ct}
HERE=$(dirname "$0")
source "$HERE/netns.sh"

CG=
CLIENT=
SERVER=
RUN=
TMP=$(mktemp -d)
PHASE=$TMP/phase

cgroup2_mount() {
    awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' \
        /proc/self/mountinfo | head -n 1
}

# Everything the demo made goes, also when it is interrupted: ct run passes
# SIGTERM on to its command and removes its limit once the command has exited.
cleanup() {
    set +e
    trap - EXIT INT TERM
    [[ -n $RUN ]] && kill -TERM "$RUN" 2>/dev/null
    [[ -n $CLIENT ]] && "$CT" unlimit "$CLIENT" >/dev/null 2>&1
    [[ -n $CLIENT ]] && kill "$CLIENT" 2>/dev/null
    [[ -n $SERVER ]] && kill "$SERVER" 2>/dev/null
    netns_down
    wait 2>/dev/null
    [[ -n $CG && -d $CG ]] && rmdir "$CG"
    rm -rf "$TMP"
} 2>/dev/null

phase() {
    echo "$1" >"$PHASE"
}

# say CMD...: show a command, then run it
say() {
    echo "\$ $*"
    "$@"
}

# rates: turn iperf3 interval lines into "  3 s  [unlimited]  18.9 Gbits/sec"
rates() {
    local line
    while IFS= read -r line; do
        [[ $line =~ ([0-9.]+)-([0-9.]+)\ +sec\ .*\ ([0-9.]+\ [KMG]?bits/sec) ]] || continue
        [[ $line == *receiver* || $line == *sender* ]] && continue
        printf '%4.0f s  %-12s %s\n' "${BASH_REMATCH[2]}" "[$(cat "$PHASE")]" "${BASH_REMATCH[3]}"
    done
}

# received FILE: the receiver's rate in an iperf3 client's output
received() {
    sed -n 's/.* \([0-9.]* [KMG]*bits\/sec\) .*receiver$/\1/p' "$1"
}

# 1. ct run: the command starts limited, so none of its connections ever
# runs unlimited. iperf3 -O 1 leaves the first second out of its figure: a
# transfer's first second may also take ct's burst, one second of the rate.
run_demo() {
    local dl=(ip netns exec "$NETNS_B" iperf3 -c "$NETNS_ADDR_A" -p 5201 -R -O 1)

    echo "== ct run: start a command limited"
    echo "\$ ${dl[*]} -t 2"
    "${dl[@]}" -t 2 >"$TMP/free"
    echo "\$ $CT run 10mbit -- ${dl[*]} -t 5 &"
    "$CT" run 10mbit -- "${dl[@]}" -t 5 >"$TMP/limited" 2>&1 </dev/null &
    RUN=$!
    sleep 2
    echo "... while it runs:"
    say "$CT" top -n 2 -d 1
    wait "$RUN" || { cat "$TMP/limited" >&2; return 1; }
    RUN=
    echo "download rate, after the first second:"
    printf '  %-22s %s\n' "unlimited" "$(received "$TMP/free")" \
        "under ct run 10mbit" "$(received "$TMP/limited")"
    echo "(ct counts IP bytes, headers included: TCP's payload gets about 0.965 of the limit)"
    echo "ct run has exited with iperf3, and its limit with it:"
    say "$CT" status
}

# 2. ct limit: a download running already, capped by pid mid-way, then freed.
limit_demo() {
    echo
    echo "== ct limit: cap a running process by pid"
    CG=$(cgroup2_mount)/ctdemo.$$
    mkdir "$CG"
    phase unlimited
    echo "download from namespace $NETNS_A to $NETNS_B, reported every second:"
    "${NETNS_IN_CGROUP[@]}" "$CG" "$NETNS_B" \
        iperf3 -c "$NETNS_ADDR_A" -p 5202 -R -t 9 -i 1 --forceflush > >(rates) &
    CLIENT=$!
    sleep 3.2
    say "$CT" limit "$CLIENT" 10mbit
    phase "ct 10mbit"
    sleep 3
    say "$CT" unlimit "$CLIENT"
    phase unlimited
    wait "$CLIENT"
    CLIENT=
    sleep 0.2
}

main() {
    [[ $EUID -eq 0 ]] || { echo "demo: run as root" >&2; exit 1; }
    [[ -x $CT ]] || { echo "demo: no ct at $CT (run make)" >&2; exit 1; }
    trap cleanup EXIT
    trap 'exit 130' INT TERM

    netns_up demo$$
    ip netns exec "$NETNS_A" iperf3 -s -B "$NETNS_ADDR_A" -p 5201 >/dev/null 2>&1 &
    SERVER=$!
    ip netns exec "$NETNS_A" iperf3 -s -1 -B "$NETNS_ADDR_A" -p 5202 >/dev/null 2>&1 &
    sleep 0.5

    run_demo
    limit_demo
}

main "$@"
