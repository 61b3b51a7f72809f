# Shared setup, teardown and kernel-side judges for the ct test suite.
# Every test runs as root on the real kernel; bpftool, /proc and the cgroup
# files decide whether ct did what it says.

bats_require_minimum_version 1.5.0

if command -v ps >/dev/null || command -v pkill >/dev/null; then
    : "${BATS_TEST_TIMEOUT:=300}"
fi

CT=${CT:-$BATS_TEST_DIRNAME/../ct}
# policy_value NAME [HEADER]: what ct's policy.h (or HEADER) defines NAME as,
# a string's text or a number worked out; the tests name ct's defaults and
# paths from there
policy_value() {
    local v
    v=$(awk -v n="$1" '$1 == "#define" && $2 == n { $1 = $2 = ""; print }' \
        "$BATS_TEST_DIRNAME/../${2:-policy.h}")
    v=${v%%/\**}
    v=${v#"${v%%[![:space:]]*}"}
    if [[ $v == \"*\" ]]; then
        v=${v#\"}
        echo "${v%\"}"
    else
        echo $((v))
    fi
}

CT_RUN=$(policy_value POLICY_RUN_DIR)
CT_REGISTRY=$CT_RUN/registry
BPFFS=$(policy_value POLICY_BPFFS)
CT_PINS=$BPFFS/$(policy_value POLICY_PIN_DIR)
BURST_FLOOR_DOWN=$(policy_value POLICY_BURST_FLOOR_DOWN)
BURST_FLOOR_UP=$(policy_value POLICY_BURST_FLOOR_UP)
START_MIN=$(policy_value CT_START_MIN bucket.h)
# ct_ingress, ct_egress and ct_sockops on each limited cgroup
PROGS_PER_LIMIT=3

source "$BATS_TEST_DIRNAME/../scripts/netns.sh"

# ---------------------------------------------------------------- reporting

fail() {
    printf '%s\n' "$@" >&2
    return 1
}

# note TEXT: a line in the TAP output, such as a measurement
note() {
    echo "# $*" >&3
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
    [[ $3 == "$2" ]] || fail "$1: expected '$2', got '$3'"
}

# expect_exit N: check $status of the last `run`, showing its output otherwise
expect_exit() {
    [[ $status -eq $1 ]] && return 0
    fail "expected exit status $1, got $status" \
        "stdout: ${output-}" "stderr: ${stderr-}"
}

# expect_error_line [TEXT]: stderr of the last `run` is one line starting `ct: `
expect_error_line() {
    [[ ${#stderr_lines[@]} -eq 1 && ${stderr_lines[0]} == "ct: "* ]] ||
        fail "expected one stderr line starting 'ct: ', got ${#stderr_lines[@]} line(s):" "${stderr-}" ||
        return
    [[ -z ${1-} || $stderr == *"$1"* ]] ||
        fail "expected stderr to contain '$1', got:" "$stderr"
}

# expect_range WHAT LOW HIGH VALUE (numbers may be fractional)
expect_range() {
    awk -v lo="$2" -v hi="$3" -v x="$4" 'BEGIN { exit !(x >= lo && x <= hi) }' ||
        fail "$1: expected between $2 and $3, got $4"
}

# eventually CMD...: retry CMD for up to 5 s (the kernel frees some objects asynchronously)
eventually() {
    local i
    for ((i = 0; i < 50; i++)); do
        "$@" 2>/dev/null && return 0
        sleep 0.1
    done
    "$@"
}

# ---------------------------------------------------------------- cgroups

# cgroup2_mount: the mount point of the cgroup v2 hierarchy, from mountinfo
cgroup2_mount() {
    local -a f
    local i
    while read -r -a f; do
        for ((i = 6; i < ${#f[@]}; i++)); do
            [[ ${f[i]} == - ]] || continue
            [[ ${f[i + 1]} == cgroup2 ]] && printf '%b\n' "${f[4]}" && return 0
            break
        done
    done </proc/self/mountinfo
    return 1
}

CG2=$(cgroup2_mount)

# cg_rel CG: path of CG relative to the cgroup2 mount, as ct prints it
cg_rel() {
    local rel=${1#"$CG2"}
    echo "${rel:-/}"
}

# cg_id CG: the cgroup id (the inode number of its directory)
cg_id() {
    stat -c %i "$1"
}

# proc_cgroup PID: the cgroup2 path of PID, relative to the mount
proc_cgroup() {
    sed -n 's/^0:://p' "/proc/$1/cgroup"
}

# new_cgroup [PARENT]: create a cgroup removed at teardown, print its path
new_cgroup() {
    local parent=${1:-$CG2} n cg
    n=$(wc -l <"$BATS_TEST_TMPDIR/cgroups")
    cg=$parent/cttest.$BATS_TEST_NUMBER.$$.$n
    mkdir "$cg" || return
    echo "$cg" >>"$BATS_TEST_TMPDIR/cgroups"
    echo "$cg"
}

# remove_at_teardown CG: remove CG at teardown although ct, not the test, creates it
remove_at_teardown() {
    echo "$1" >>"$BATS_TEST_TMPDIR/cgroups"
}

# spawn_sleeper CG: start `sleep` as a member of CG; its pid goes to $SPAWNED
spawn_sleeper() {
    local cg=$1 i
    sh -c 'echo $$ > "$1/cgroup.procs" && exec sleep 1000' sh "$cg" \
        </dev/null >/dev/null 2>&1 3>&- &
    SPAWNED=$!
    track_pid "$SPAWNED"
    for ((i = 0; i < 100; i++)); do
        [[ $(cat "/proc/$SPAWNED/comm" 2>/dev/null) == sleep ]] && break
        sleep 0.02
    done
    expect_eq "cgroup of sleeper $SPAWNED" "$(cg_rel "$cg")" "$(proc_cgroup "$SPAWNED")"
}

# start_iperf3_server NS [IPERF3 ARGS...]: an iperf3 server in namespace NS on
# port 5201, killed at teardown
start_iperf3_server() {
    local ns=$1
    shift
    ip netns exec "$ns" iperf3 -s "$@" \
        >"$BATS_TEST_TMPDIR/server.log" 2>&1 </dev/null 3>&- &
    track_pid "$!"
    eventually _iperf3_listening "$ns" ||
        fail "iperf3 server did not start:" "$(cat "$BATS_TEST_TMPDIR/server.log")"
}

_iperf3_listening() {
    [[ -n $(ip netns exec "$1" ss -Hltn 'sport = :5201') ]]
}

# track_pid PID: SIGKILL and reap PID at teardown
track_pid() {
    echo "$1" >>"$BATS_TEST_TMPDIR/pids"
}

# kill_reap PID: SIGKILL a child and reap it, so /proc/PID disappears
kill_reap() {
    kill -9 "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    [[ ! -e /proc/$1 ]] || fail "process $1 still exists after kill -9"
}

# remove_cgroup_tree CG: move leftover processes to the root, rmdir bottom-up
remove_cgroup_tree() {
    local dir pid i
    [[ -d $1 ]] || return 0
    find "$1" -depth -type d | while read -r dir; do
        while read -r pid; do
            echo "$pid" >"$CG2/cgroup.procs" 2>/dev/null || true
        done <"$dir/cgroup.procs"
        for ((i = 0; i < 50; i++)); do
            rmdir "$dir" 2>/dev/null && break
            sleep 0.1
        done
    done
}

# ---------------------------------------------------------------- BPF judges

# cg_progs CG: programs attached directly to CG, "ID NAME ATTACH_TYPE FLAGS"
# (FLAGS is "-" for an exclusive attachment)
cg_progs() {
    bpftool cgroup show "$1" |
        awk '$1 ~ /^[0-9]+$/ { print $1, $NF, $2, (NF >= 4 ? $3 : "-") }'
}

# loaded_rows prog|map [pinned PATH]: loaded objects, "ID NAME TYPE"
loaded_rows() {
    bpftool "$1" show "${@:2}" | awk '
        /^[0-9]+: / {
            name = "-"
            for (i = 2; i < NF; i++) if ($i == "name") name = $(i + 1)
            print substr($1, 1, length($1) - 1), name, $2
        }'
}

# ct_progs_on CG: the ct programs attached to CG
ct_progs_on() {
    cg_progs "$1" | awk '$2 ~ /^ct_(ingress|egress|sockops)$/'
}

# ct_ids CG: ids of the ct programs attached to CG, sorted, on one line
ct_ids() {
    ct_progs_on "$1" | awk '{ print $1 }' | sort -n | xargs
}

# ct_loaded_progs / ct_loaded_maps: ct's objects loaded anywhere in the kernel
ct_loaded_progs() {
    loaded_rows prog | awk '$2 ~ /^ct_(ingress|egress|sockops)$/'
}

ct_loaded_maps() {
    loaded_rows map | awk '$2 ~ /^ct_/'
}

# prog_map_ids [pinned PATH]: ids of the maps that ct's programs (or the pinned one) use
prog_map_ids() {
    bpftool prog show "$@" | awk '
        /^[0-9]+: / {
            name = "-"
            for (i = 2; i < NF; i++) if ($i == "name") name = $(i + 1)
        }
        name ~ /^ct_(ingress|egress|sockops)$/ {
            for (i = 1; i < NF; i++)
                if ($i == "map_ids") { n = split($(i + 1), ids, ","); for (j = 1; j <= n; j++) print ids[j] }
        }' | sort -nu
}

# ct_stray_maps: ct_* maps that no loaded ct program uses (leaked)
ct_stray_maps() {
    local used
    used=" $(prog_map_ids | xargs) "
    ct_loaded_maps | while read -r id name _; do
        [[ $used == *" $id "* ]] || echo "$id $name"
    done
}

_count_lines() {
    local text
    text=$("$@") || return
    if [[ -z $text ]]; then echo 0; else wc -l <<<"$text"; fi
}

# expect_ct_progs CG: exactly one ct_ingress (inet_ingress), one ct_egress
# (inet_egress) and one ct_sockops (sock_ops) attached to CG, all with
# BPF_F_ALLOW_MULTI
expect_ct_progs() {
    local seen
    seen=$(ct_progs_on "$1" | awk '{ print $2, $3, $4 }' | sort | paste -sd,)
    [[ $seen == "ct_egress cgroup_inet_egress multi,ct_ingress cgroup_inet_ingress multi,ct_sockops cgroup_sock_ops multi" ]] ||
        fail "expected ct_ingress, ct_egress and ct_sockops attached (multi) to $1, bpftool shows:" \
            "$(bpftool cgroup show "$1")"
}

# expect_no_ct_on CG: nothing named ct_* attached to CG
expect_no_ct_on() {
    [[ -z $(ct_progs_on "$1") ]] ||
        fail "expected no ct program attached to $1, bpftool shows:" "$(bpftool cgroup show "$1")"
}

_nothing_of_ct_loaded() {
    [[ -z $(ct_loaded_progs) && -z $(ct_loaded_maps) ]]
}

# expect_nothing_loaded: no ct program and no ct map left in the kernel
expect_nothing_loaded() {
    eventually _nothing_of_ct_loaded ||
        fail "expected no ct_ingress/ct_egress/ct_sockops program and no ct_* map loaded, bpftool shows:" \
            "$(ct_loaded_progs)" "$(ct_loaded_maps)"
}

# expect_loaded_count N: exactly N ct programs loaded, and no ct map that none of them uses
expect_loaded_count() {
    local progs stray
    progs=$(_count_lines ct_loaded_progs)
    [[ $progs -eq $1 ]] || fail "expected $1 ct programs loaded, found $progs:" "$(ct_loaded_progs)" ||
        return
    stray=$(ct_stray_maps)
    [[ -z $stray ]] || fail "ct maps loaded that no ct program uses:" "$stray"
}

# expect_pins CG: ct's pins for CG are the attached programs (`ingress`, `egress`,
# `sockops`) and every map those programs use
expect_pins() {
    local dir hook id pinned used pin maps=''
    dir=$CT_PINS/$(cg_id "$1")
    for hook in ingress egress sockops; do
        [[ -e $dir/$hook ]] || fail "expected pin $dir/$hook, found: $(ls "$dir" 2>&1)" || return
        pinned=$(loaded_rows prog pinned "$dir/$hook" | awk '{ print $1 }')
        id=$(ct_progs_on "$1" | awk -v n="ct_$hook" '$2 == n { print $1 }')
        expect_eq "id of pinned $hook vs attached ct_$hook" "$id" "$pinned" || return
        used+=$(prog_map_ids pinned "$dir/$hook")$'\n'
    done
    for pin in "$dir"/*; do
        [[ $pin == */ingress || $pin == */egress || $pin == */sockops ]] && continue
        maps+=$(loaded_rows map pinned "$pin" | awk '{ print $1 }')$'\n'
    done
    expect_eq "maps pinned in $dir vs maps of the programs" \
        "$(sort -nu <<<"$used" | xargs)" "$(sort -nu <<<"$maps" | xargs)"
}

# expect_no_pins CGID
expect_no_pins() {
    [[ ! -e $CT_PINS/$1 ]] || fail "expected $CT_PINS/$1 gone, found: $(ls "$CT_PINS/$1" 2>&1)"
}

expect_no_pins_at_all() {
    [[ ! -d $CT_PINS || -z $(ls -A "$CT_PINS") ]] ||
        fail "expected $CT_PINS gone or empty, found: $(ls -A "$CT_PINS")"
}

# map_u64 PIN OFFSET: the 64-bit field at OFFSET of a pinned map's entry.
# struct ct_bucket: tokens 0, clock 8, inner 16, passed bytes 24 and packets
# 32, dropped bytes 40 and packets 48.  struct ct_conf: rate, burst and fill
# time of download at 0, 8, 16, of upload at 24, 32, 40.
map_u64() {
    bpftool -j map lookup pinned "$1" key 0 0 0 0 | python3 -c '
import json, sys
v = json.load(sys.stdin)["value"]
off = int(sys.argv[1])
print(int.from_bytes(bytes(int(b, 16) for b in v[off:off + 8]), "little"))' "$2"
}

# ---------------------------------------------------------------- registry and status

# registry_mentions WORD: the registry has WORD (e.g. a pid) as a word past its header
registry_mentions() {
    [[ -r $CT_REGISTRY ]] && tail -n +2 "$CT_REGISTRY" | grep -qw -- "$1"
}

expect_registry_forgot() {
    local word
    for word in "$@"; do
        ! registry_mentions "$word" ||
            fail "expected no registry entry for $word, registry is:" "$(cat "$CT_REGISTRY")" || return
    done
}

# registry_sum: checksum of the registry, or "absent"
registry_sum() {
    if [[ -e $CT_REGISTRY ]]; then sha256sum <"$CT_REGISTRY"; else echo absent; fi
}

# load_status: run `ct status --json`, check it is one JSON document, keep it in $STATUS_JSON
load_status() {
    run --separate-stderr "$CT" status --json
    expect_exit 0 || return
    STATUS_JSON=$output
    python3 -c 'import json, sys; json.load(sys.stdin)' <<<"$STATUS_JSON" ||
        fail "ct status --json printed something that is not JSON:" "$STATUS_JSON"
}

# status_get [MODIFIER...] WHERE FIELD...: a value of the last status document.
# Every argument is data, never code.
#   WHERE   /PATH      the entry of the cgroup of that path, as ct prints it
#           --id ID    the entry of the cgroup of that id
#                      (either way exactly one entry must match)
#           --doc      the whole document
#   FIELD   a key of an object, an index of a list, or * for every element of a
#           list (the fields after it are taken from each element, giving a list)
#   MODIFIER, taken in the order given, of what the fields lead to:
#           --keys     the sorted keys of an object
#           --len      the length of a list
#           --sort     the list sorted
#           --type     the JSON type: object, array, string, number, boolean, null
#           --lines    print the list one element per line
# Prints a string as it is, anything else as JSON (keys sorted).  For example
#   status_get /a/b down rate_bits           (the download rate of /a/b)
#   status_get --sort --doc cgroups '*' id   (the ids of all entries, sorted)
status_get() {
    python3 -c '
import json, sys

def out(v):
    return v if isinstance(v, str) else json.dumps(v, sort_keys=True)

def walk(v, fields):
    if not fields:
        return v
    f, rest = fields[0], fields[1:]
    if f == "*" and isinstance(v, list):
        return [walk(x, rest) for x in v]
    if isinstance(v, dict) and f in v:
        return walk(v[f], rest)
    if isinstance(v, list) and f.isdecimal() and int(f) < len(v):
        return walk(v[int(f)], rest)
    sys.exit("status_get: no %s in %s" % (f, out(v)))

def modify(m, v):
    if m == "--keys" and isinstance(v, dict):
        return sorted(v)
    if m == "--len" and isinstance(v, list):
        return len(v)
    if m == "--sort" and isinstance(v, list):
        return sorted(v)
    if m == "--type":
        for t, name in ((dict, "object"), (list, "array"), (str, "string"),
                        (bool, "boolean"), ((int, float), "number")):
            if isinstance(v, t):
                return name
        return "null"
    sys.exit("status_get: cannot take %s of %s" % (m, out(v)))

args = sys.argv[1:]
mods = []
while args and args[0] in ("--keys", "--len", "--sort", "--type", "--lines"):
    mods.append(args.pop(0))
d = json.load(sys.stdin)
where = args.pop(0) if args else ""
if where == "--doc":
    v = d
elif where.startswith("/") or (where == "--id" and args):
    key, want = ("path", where) if where.startswith("/") else ("id", args.pop(0))
    found = [c for c in d["cgroups"] if str(c[key]) == want]
    if len(found) != 1:
        sys.exit("status lists %d entries for %s %s" % (len(found), key, want))
    v = found[0]
else:
    sys.exit("status_get: expected /PATH, --id ID or --doc, got %r" % where)
v = walk(v, args)
for m in mods:
    if m != "--lines":
        v = modify(m, v)
if "--lines" not in mods:
    print(out(v))
elif isinstance(v, list):
    for x in v:
        print(out(x))
else:
    sys.exit("status_get: --lines of %s, not a list" % out(v))' "$@" <<<"$STATUS_JSON"
}

# expect_status_value ARGS... EXPECTED: `status_get ARGS...` prints EXPECTED
expect_status_value() {
    local seen
    seen=$(status_get "${@:1:$#-1}") || fail "ct status --json was:" "$STATUS_JSON" || return
    [[ $seen == "${!#}" ]] ||
        fail "status ${*:1:$#-1}: expected ${!#}, got $seen" "ct status --json was:" "$STATUS_JSON"
}

# expect_status_rates REL DOWN UP: the rates (bits) of REL's entry in the last status
expect_status_rates() {
    expect_status_value "$1" down rate_bits "$2" && expect_status_value "$1" up rate_bits "$3"
}

# int_list N...: the numbers sorted, as a JSON list (as status_get prints one)
int_list() {
    printf '%s\n' "$@" | sort -n | paste -sd , - | sed 's/,/, /g; s/.*/[&]/'
}

# limit_ok ARGS...: `ct limit ARGS` must succeed
limit_ok() {
    run --separate-stderr "$CT" limit "$@"
    expect_exit 0
}

unlimit_ok() {
    run --separate-stderr "$CT" unlimit "$@"
    expect_exit 0
}

# ---------------------------------------------------------------- setup / teardown

ensure_bpffs() {
    [[ $(stat -f -c %T "$BPFFS" 2>/dev/null) == bpf_fs ]] && return 0
    mkdir -p "$BPFFS" && mount -t bpf bpf "$BPFFS"
}

common_setup() {
    [[ $EUID -eq 0 ]] || fail "the ct tests must run as root" || return
    [[ -n $CG2 ]] || fail "no cgroup2 mount in /proc/self/mountinfo" || return
    [[ -x $CT ]] || fail "ct binary not found at $CT (run make)" || return
    : >"$BATS_TEST_TMPDIR/cgroups"
    : >"$BATS_TEST_TMPDIR/pids"
    ensure_bpffs || fail "cannot mount bpffs at $BPFFS" || return
    "$CT" cleanup >/dev/null 2>&1 || true
    eventually _nothing_of_ct_loaded || true
}

common_teardown() {
    local pid cg
    if [[ -s $BATS_TEST_TMPDIR/pids ]]; then
        while read -r pid; do
            kill -9 "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        done <"$BATS_TEST_TMPDIR/pids"
    fi
    netns_down || true
    if [[ -x $CT ]]; then
        timeout 30 "$CT" cleanup >/dev/null 2>&1 || true
    fi
    if [[ -s $BATS_TEST_TMPDIR/cgroups ]]; then
        tac "$BATS_TEST_TMPDIR/cgroups" | while read -r cg; do
            remove_cgroup_tree "$cg"
        done
    fi
    return 0
}

setup() {
    common_setup
}

teardown() {
    common_teardown
}

# ---------------------------------------------------------------- after damage or a crash

# lost_programs CG...: ct programs loaded but neither pinned nor attached to a CG, "ID NAME"
lost_programs() {
    python3 - "$@" <<'PY'
import json, os, subprocess, sys
def bpftool(*args):
    out = subprocess.run(["bpftool", "-j", *args], capture_output=True, check=True).stdout
    return json.loads(out.strip() or b"[]")
attached = {a["id"] for cg in sys.argv[1:] if os.path.isdir(cg)
            for a in bpftool("cgroup", "show", cg)}
for p in bpftool("-f", "prog", "show"):
    if p.get("name") in ("ct_ingress", "ct_egress", "ct_sockops") and not p.get("pinned") \
            and p["id"] not in attached:
        print(p["id"], p["name"])
PY
}

_no_lost_programs() {
    local lost
    lost=$(lost_programs "$@") && [[ -z $lost ]]
}

# expect_truthful CG...: `ct status --json` exits 0, says `attached` for each CG that
# has an entry exactly when bpftool shows ct_ingress, ct_egress and ct_sockops on it, and every
# program of ct's is attached to a CG or pinned
expect_truthful() {
    local cg id ids attached pair
    load_status || return
    ids=$(status_get --lines --doc cgroups '*' id) || return
    for cg in "$@"; do
        [[ -d $cg ]] || continue
        id=$(cg_id "$cg")
        grep -qx -- "$id" <<<"$ids" || continue
        attached=$(status_get --id "$id" attached) || return
        pair=false
        [[ $(ct_progs_on "$cg" | awk '{ print $2 }' | sort | xargs) == "ct_egress ct_ingress ct_sockops" ]] &&
            pair=true
        expect_eq "attached of $(cg_rel "$cg") in ct status" "$pair" "$attached" || return
    done
    eventually _no_lost_programs "$@" ||
        fail "programs of ct's neither attached nor pinned:" "$(lost_programs "$@")"
}

# expect_accounted CG...: every ct program on each CG is the one pinned for the CG's
# entry in the last `load_status`
expect_accounted() {
    local cg rel id prog name pinned
    for cg in "$@"; do
        [[ -d $cg ]] || continue
        rel=$(cg_rel "$cg") id=$(cg_id "$cg")
        while read -r prog name _; do
            [[ $(status_get --id "$id" id 2>/dev/null) == "$id" ]] ||
                fail "$name (id $prog) is attached to $rel, and ct status has no entry for it:" \
                    "$STATUS_JSON" || return
            pinned=$(loaded_rows prog pinned "$CT_PINS/$id/${name#ct_}" 2>/dev/null |
                awk '{ print $1 }')
            expect_eq "program pinned as $CT_PINS/$id/${name#ct_}" "$prog" "$pinned" || return
        done < <(ct_progs_on "$cg")
    done
}
