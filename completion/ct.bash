# bash completion for ct(8): commands, options, pids of running processes,
# cgroups (limited ones for unlimit --cgroup), and rate units after a number.

_ct_rates() {
    local cur=$1 u
    [[ $cur =~ ^[0-9]+(\.[0-9]+)?$ ]] || return 0
    for u in bit kbit mbit gbit tbit kibit mibit gibit bps kbps mbps gbps kibps mibps gibps; do
        COMPREPLY+=("$cur$u")
    done
}

_ct_pids() {
    local p
    for p in /proc/[0-9]*; do
        COMPREPLY+=("${p#/proc/}")
    done
    mapfile -t COMPREPLY < <(compgen -W "${COMPREPLY[*]}" -- "$1")
}

# The cgroup2 mount, from mountinfo: field 5 of the line whose type is cgroup2.
_ct_cgroup2() {
    awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' \
        /proc/self/mountinfo | head -n 1
}

_ct_cgroups() {
    local root rel
    root=$(_ct_cgroup2) || return 0
    [[ -n $root ]] || return 0
    rel=${1:-/}
    [[ $rel == /* ]] || rel=/$rel
    while IFS= read -r d; do
        COMPREPLY+=("${d#"$root"}/")
    done < <(compgen -d -- "$root$rel")
    compopt -o nospace 2>/dev/null
}

_ct_limited() {
    local line
    while IFS= read -r line; do
        [[ $line == /* ]] && COMPREPLY+=("${line%% (id *}")
    done < <(ct status 2>/dev/null)
    mapfile -t COMPREPLY < <(compgen -W "${COMPREPLY[*]}" -- "$1")
}

_ct() {
    local cur prev cmd i
    COMPREPLY=()
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    for ((i = 1; i < COMP_CWORD; i++)); do
        [[ ${COMP_WORDS[i]} == -* ]] && continue
        cmd=${COMP_WORDS[i]}
        break
    done
    if [[ -z $cmd ]]; then
        mapfile -t COMPREPLY < <(compgen -W "run limit unlimit status top cleanup --help --version" -- "$cur")
        return 0
    fi
    case $prev in
    --down | --up) _ct_rates "$cur"; return 0 ;;
    --burst | -d | -n) return 0 ;;
    --user) mapfile -t COMPREPLY < <(compgen -u -- "$cur"); return 0 ;;
    --unit) return 0 ;;
    --cgroup)
        if [[ $cmd == unlimit ]]; then _ct_limited "$cur"; else _ct_cgroups "$cur"; fi
        return 0
        ;;
    esac
    case $cmd in
    run)
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W "--down --up --burst --user --help --" -- "$cur")
        elif [[ " ${COMP_WORDS[*]} " == *" -- "* ]]; then
            mapfile -t COMPREPLY < <(compgen -c -- "$cur")
        else
            _ct_rates "$cur"
        fi
        ;;
    limit)
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W "--isolate --cgroup --unit --down --up --burst --help" -- "$cur")
        elif [[ $cur =~ ^[0-9.]+$ && $prev =~ ^[0-9]+$ ]]; then
            _ct_rates "$cur"
        else
            _ct_pids "$cur"
        fi
        ;;
    unlimit)
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W "--cgroup --unit --help" -- "$cur")
        else
            _ct_pids "$cur"
        fi
        ;;
    status) mapfile -t COMPREPLY < <(compgen -W "--json --help" -- "$cur") ;;
    top) mapfile -t COMPREPLY < <(compgen -W "-d -n --json --help" -- "$cur") ;;
    cleanup) mapfile -t COMPREPLY < <(compgen -W "--help" -- "$cur") ;;
    esac
    return 0
}

complete -F _ct ct
