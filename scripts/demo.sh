#!/usr/bin/env bash
# ct in action: a 12 s iperf3 download, unlimited, then capped at 10mbit, then free again.
set -euo pipefail

CT=${CT:-./ct}
HERE=$(dirname "$0")
source "$HERE/netns.sh"

CG=
CLIENT=
SERVER=
PHASE=$(mktemp)

cgroup2_mount() {
    awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' \
        /proc/self/mountinfo | head -n 1
}

cleanup() {
    set +e
    trap - EXIT INT TERM
    [[ -n $CLIENT ]] && "$CT" unlimit "$CLIENT" >/dev/null 2>&1
    [[ -n $CLIENT ]] && kill "$CLIENT" 2>/dev/null
    [[ -n $SERVER ]] && kill "$SERVER" 2>/dev/null
    wait 2>/dev/null
    netns_down
    [[ -n $CG && -d $CG ]] && rmdir "$CG"
    rm -f "$PHASE"
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

main() {
    [[ $EUID -eq 0 ]] || { echo "demo: run as root" >&2; exit 1; }
    [[ -x $CT ]] || { echo "demo: no ct at $CT (run make)" >&2; exit 1; }
    trap cleanup EXIT
    trap 'exit 130' INT TERM

    netns_up demo$$
    CG=$(cgroup2_mount)/ctdemo.$$
    mkdir "$CG"

    ip netns exec "$NETNS_A" iperf3 -s -1 -B "$NETNS_ADDR_A" >/dev/null &
    SERVER=$!
    sleep 0.5

    phase unlimited
    echo "download from namespace $NETNS_A to $NETNS_B, reported every second:"
    "${NETNS_IN_CGROUP[@]}" "$CG" "$NETNS_B" \
        iperf3 -c "$NETNS_ADDR_A" -R -t 12 -i 1 --forceflush > >(rates) &
    CLIENT=$!

    sleep 4.2
    say "$CT" limit "$CLIENT" 10mbit
    phase "ct 10mbit"
    sleep 4
    say "$CT" unlimit "$CLIENT"
    phase unlimited
    wait "$CLIENT"
    CLIENT=
    sleep 0.2
}

main "$@"
