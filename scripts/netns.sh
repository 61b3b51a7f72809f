# shellcheck shell=bash
# Two network namespaces joined by a veth pair. Source this file.
#
#   netns_up [TAG]          create ctA<TAG> and ctB<TAG> (TAG defaults to $$)
#   netns_down              delete them, killing whatever still runs inside
#   netns_path_up DELAYLINE DELAY_US [TAG]
#                           the same two namespaces joined instead by two TUN
#                           devices through DELAYLINE (bench/delayline), which
#                           holds each packet DELAY_US microseconds: a path
#                           with a real round trip; netns_down stops it
#   netns_run_in_cgroup CG NS CMD...
#                           exec CMD inside NS, as a member of cgroup CG
#
# After netns_up: NETNS_A, NETNS_B (names), NETNS_ADDR_A, NETNS_ADDR_B (IPv4).
# The addresses exist only inside the two namespaces: traffic never leaves them.

NETNS_A=
NETNS_B=
NETNS_DELAYLINE=
NETNS_ADDR_A=10.199.0.1
NETNS_ADDR_B=10.199.0.2

netns_up() {
    local tag=${1:-$$}
    NETNS_A=ctA$tag
    NETNS_B=ctB$tag
    ip netns add "$NETNS_A" || return
    ip netns add "$NETNS_B" || return
    ip -n "$NETNS_A" link add veth0 type veth peer name veth0 netns "$NETNS_B" || return
    _netns_addr "$NETNS_A" "$NETNS_ADDR_A" || return
    _netns_addr "$NETNS_B" "$NETNS_ADDR_B" || return
}

_netns_addr() {
    local ns=$1 addr=$2
    ip -n "$ns" link set lo up &&
        ip -n "$ns" addr add "$addr/24" dev veth0 &&
        ip -n "$ns" link set veth0 up
}

netns_path_up() {
    local delayline=$1 delay=$2 tag=${3:-$$} out ns dev addr peer i
    NETNS_A=ctA$tag
    NETNS_B=ctB$tag
    ip netns add "$NETNS_A" || return
    ip netns add "$NETNS_B" || return
    out=$(mktemp) || return
    "$delayline" "ctdA$tag" "ctdB$tag" "$delay" >"$out" 2>/dev/null </dev/null 3>&- &
    NETNS_DELAYLINE=$!
    for ((i = 0; i < 100; i++)); do
        [[ $(head -n 1 "$out") == ready ]] && break
        sleep 0.05
    done
    rm -f "$out"
    ((i < 100)) || return
    for ns in A B; do
        dev=ctd$ns$tag
        if [[ $ns == A ]]; then
            ns=$NETNS_A addr=$NETNS_ADDR_A peer=$NETNS_ADDR_B
        else
            ns=$NETNS_B addr=$NETNS_ADDR_B peer=$NETNS_ADDR_A
        fi
        ip link set "$dev" netns "$ns" &&
            ip -n "$ns" link set lo up &&
            ip -n "$ns" addr add "$addr" peer "$peer" dev "$dev" &&
            ip -n "$ns" link set "$dev" up || return
    done
}

netns_down() {
    local ns
    if [[ -n $NETNS_DELAYLINE ]]; then
        kill "$NETNS_DELAYLINE" 2>/dev/null
        wait "$NETNS_DELAYLINE" 2>/dev/null
        NETNS_DELAYLINE=''
    fi
    for ns in "$NETNS_A" "$NETNS_B"; do
        [[ -n $ns && -e /var/run/netns/$ns ]] || continue
        _netns_kill_all "$ns"
        ip netns del "$ns"
    done
    NETNS_A='' NETNS_B=''
}

_netns_kill_all() {
    local -a pids
    local _
    for _ in {1..20}; do
        mapfile -t pids < <(ip netns pids "$1" 2>/dev/null)
        ((${#pids[@]} == 0)) && return 0
        kill -9 "${pids[@]}" 2>/dev/null
        sleep 0.1
    done
}

# The command line behind netns_run_in_cgroup, for callers that need the pid
# of CMD itself: "${NETNS_IN_CGROUP[@]}" CG NS CMD... &  (then $! is CMD's pid)
NETNS_IN_CGROUP=(sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec ip netns exec "$@"' sh)

netns_run_in_cgroup() {
    "${NETNS_IN_CGROUP[@]}" "$@"
}
