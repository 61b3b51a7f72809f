# shellcheck shell=bash
# Two network namespaces joined by a veth pair. Source this file.
#
#   netns_up [TAG]          create ctA<TAG> and ctB<TAG> (TAG defaults to $$)
#   netns_down              delete them, killing whatever still runs inside
#   netns_run_in_cgroup CG NS CMD...
#                           exec CMD inside NS, as a member of cgroup CG
#
# After netns_up: NETNS_A, NETNS_B (names), NETNS_ADDR_A, NETNS_ADDR_B (IPv4).
# The addresses exist only inside the two namespaces: traffic never leaves them.

NETNS_A=
NETNS_B=
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

netns_down() {
    local ns
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
