#!/usr/bin/env bats
# 64 invocations at once, limit, unlimit, status and cleanup mixed over 16 cgroups:
# none hangs, each exits 0 or 1 with its reason, and the registry and the kernel
# agree afterwards.  A killed holder of the lock blocks no one.

BATS_TEST_DIRNAME=${BATS_TEST_DIRNAME%/*} load helpers

N_CGROUPS=16
N_JOBS=64
JOB_TIMEOUT=60

setup() {
    common_setup
    CGS=() RELS=() PIDS=()
    local n
    for ((n = 0; n < N_CGROUPS; n++)); do
        CGS[n]=$(new_cgroup)
        RELS[n]=$(cg_rel "${CGS[n]}")
        spawn_sleeper "${CGS[n]}"
        PIDS[n]=$SPAWNED
    done
    JOBS=() JOB_CMDS=() PRE_LIMITED=()
}

# job ARGS...: `ct ARGS`, held until release; it logs "START END STATUS" in job.N.rc
job() {
    local log=$BATS_TEST_TMPDIR/job.${#JOBS[@]}
    bash -c 'go=$1 log=$2
        shift 2
        while [[ ! -e $go ]]; do sleep 0.002; done
        start=$EPOCHREALTIME
        timeout -k 5 "$0" "$@" >"$log.out" 2>"$log.err"
        status=$?
        echo "$start $EPOCHREALTIME $status" >"$log.rc"' \
        "$JOB_TIMEOUT" "$BATS_TEST_TMPDIR/go" "$log" "$CT" "$@" </dev/null >/dev/null 2>&1 3>&- &
    JOBS+=("$!")
    track_pid "$!"
    JOB_CMDS+=("$*")
}

# random_jobs SEED: N_JOBS jobs, about 40% limit, 30% unlimit, 25% status, 5% cleanup
random_jobs() {
    local n r k rate
    RANDOM=$1
    for ((n = 0; n < N_JOBS; n++)); do
        r=$((RANDOM % 100)) k=$((RANDOM % N_CGROUPS)) rate=$((RANDOM % 50 + 1))mbit
        if ((r < 40)); then
            # the last quarter of the cgroups has its process isolated
            if ((k >= N_CGROUPS * 3 / 4)); then
                job limit --isolate "${PIDS[k]}" "$rate"
            else
                job limit "${PIDS[k]}" --down "$rate"
            fi
        elif ((r < 70)); then
            job unlimit "${PIDS[k]}"
        elif ((r < 95)); then
            if ((r % 2)); then job status --json; else job status; fi
        else
            job cleanup
        fi
    done
}

# release_jobs: start all jobs at once and wait for them; none may outlive JOB_TIMEOUT
release_jobs() {
    local n
    sleep 0.3
    touch "$BATS_TEST_TMPDIR/go"
    for n in "${!JOBS[@]}"; do
        wait "${JOBS[n]}" || true
    done
    rm -f "$BATS_TEST_TMPDIR/go"
    for n in "${!JOBS[@]}"; do
        [[ -s $BATS_TEST_TMPDIR/job.$n.rc ]] || fail "ct ${JOB_CMDS[n]} left no exit status"
        read -r _ _ JOB_STATUS <"$BATS_TEST_TMPDIR/job.$n.rc"
        [[ $JOB_STATUS != 124 && $JOB_STATUS != 137 ]] ||
            fail "ct ${JOB_CMDS[n]} did not finish within $JOB_TIMEOUT s: a deadlock?"
    done
}

# expect_exits: each job exited 0 or 1, said why on one line when it failed, wrote only
# ct: lines on stderr, and each status --json printed one JSON document; EXITS counts
# the jobs that exited 0 and 1
expect_exits() {
    local n status err
    EXITS=(0 0)
    for n in "${!JOBS[@]}"; do
        read -r _ _ status <"$BATS_TEST_TMPDIR/job.$n.rc"
        err=$(cat "$BATS_TEST_TMPDIR/job.$n.err")
        case $status in
            0) ;;
            1) [[ $(wc -l <"$BATS_TEST_TMPDIR/job.$n.err") -eq 1 ]] ||
                fail "ct ${JOB_CMDS[n]} failed without one line of reason:" "$err"
                note "ct ${JOB_CMDS[n]}: $err" ;;
            *) fail "ct ${JOB_CMDS[n]} exited $status:" "$err" ;;
        esac
        ((++EXITS[status]))
        [[ -z $(grep -v '^ct: ' <<<"$err") ]] ||
            fail "ct ${JOB_CMDS[n]} wrote lines not starting 'ct: ':" "$err"
        if [[ ${JOB_CMDS[n]} == "status --json" ]]; then
            python3 -c 'import json, sys; json.load(sys.stdin)' <"$BATS_TEST_TMPDIR/job.$n.out" ||
                fail "ct status --json printed no JSON document:" "$(cat "$BATS_TEST_TMPDIR/job.$n.out")"
        fi
    done
}

# expect_registry_follows_jobs: a process is limited at the end exactly when the jobs
# say it must be.  Their order under the lock is unknown, but a job that started after
# another ended came after it.  PRE_LIMITED: pids limited before the jobs ran.
expect_registry_follows_jobs() {
    local n
    load_status
    {
        for n in "${PRE_LIMITED[@]}"; do
            echo "0 0 0 limit $n"
        done
        for n in "${!JOBS[@]}"; do
            echo "$(cat "$BATS_TEST_TMPDIR/job.$n.rc") ${JOB_CMDS[n]}"
        done
    } | python3 -c '
import json, sys
status = json.loads(sys.argv[1])
pids = [int(p) for p in sys.argv[2:]]
jobs = []
for line in sys.stdin:
    start, end, rc, cmd, *args = line.split()
    if rc == "0":
        jobs.append((float(start), float(end), cmd, [a for a in args if a.isdigit()][:1]))
limited = {}
for c in status["cgroups"]:
    for p in c["pids"]:
        if p["pid"] in limited:
            sys.exit("pid %d is listed twice: %s and %s" % (p["pid"], limited[p["pid"]], c["path"]))
        limited[p["pid"]] = c["path"]
for pid in pids:
    limits = [j for j in jobs if j[2] == "limit" and j[3] == [str(pid)]]
    removals = [j for j in jobs
                if j[2] == "cleanup" or (j[2] == "unlimit" and j[3] == [str(pid)])]
    # a limit that every removal surely preceded must still hold
    must = any(all(r[1] < l[0] for r in removals) for l in limits)
    # a limit that no removal surely followed may still hold
    may = any(not any(r[0] > l[1] for r in removals) for l in limits)
    if must and pid not in limited:
        sys.exit("pid %d was limited after its last unlimit or cleanup, and the registry lost it"
                 % pid)
    if pid in limited and not may:
        sys.exit("pid %d is in the registry (%s), though an unlimit or cleanup came after "
                 "its last limit" % (pid, limited[pid]))
' "$STATUS_JSON" "${PIDS[@]}"
}

# expect_all_attached: every entry of the last status has its programs attached
expect_all_attached() {
    local attached
    attached=$(status_get --lines --doc cgroups '*' attached) || return
    [[ -z $attached ]] || ! grep -qvx true <<<"$attached" ||
        fail "ct status has entries whose programs are not attached:" "$STATUS_JSON"
}

# expect_agreement: ct status and the kernel tell the same story, entry by entry
expect_agreement() {
    local n cg ids all=()
    for n in "${!CGS[@]}"; do
        all+=("${CGS[n]}" "${CGS[n]}/ct-${PIDS[n]}")
    done
    expect_truthful "${all[@]}"
    expect_accounted "${all[@]}"
    expect_all_attached
    ids=$(status_get --lines --doc cgroups '*' id) || return
    [[ -z $(sort <<<"$ids" | uniq -d) ]] ||
        fail "ct status lists a cgroup id twice:" "$STATUS_JSON" || return
    for cg in "${all[@]}"; do
        [[ -d $cg ]] || continue
        [[ -z $(ct_progs_on "$cg") ]] || expect_ct_progs "$cg"
    done
    for n in "${!CGS[@]}"; do
        [[ ! -d ${CGS[n]}/ct-${PIDS[n]} ]] ||
            status_get --lines --doc cgroups '*' path | grep -qFx -- "${RELS[n]}/ct-${PIDS[n]}" ||
            fail "ct status has no entry for ${RELS[n]}/ct-${PIDS[n]}:" "$STATUS_JSON" || return
    done
    python3 -c '
import json, sys
for c in json.loads(sys.argv[1])["cgroups"]:
    for p in c["pids"]:
        if p["alive"]:
            with open("/proc/%d/cgroup" % p["pid"]) as f:
                home = [line[3:].rstrip("\n") for line in f if line.startswith("0::")]
            if home != [c["path"]]:
                sys.exit("pid %d is limited in %s but lives in %s" % (p["pid"], c["path"], home))
' "$STATUS_JSON"
    eventually expect_loaded_count $((PROGS_PER_LIMIT * $(status_get --len --doc cgroups)))
}

# expect_clean_slate: `ct cleanup` leaves nothing, and every process is back home
expect_clean_slate() {
    local n
    run --separate-stderr "$CT" cleanup
    expect_exit 0
    for n in "${!CGS[@]}"; do
        expect_no_ct_on "${CGS[n]}"
        expect_eq "cgroup of ${PIDS[n]}" "${RELS[n]}" "$(proc_cgroup "${PIDS[n]}")"
        [[ ! -e ${CGS[n]}/ct-${PIDS[n]} ]] || fail "${CGS[n]}/ct-${PIDS[n]} left"
    done
    expect_nothing_loaded
    expect_no_pins_at_all
    [[ ! -e $CT_RUN ]] || fail "expected $CT_RUN gone"
}

# mixed_round SEED: 64 random jobs at once, then every judge
mixed_round() {
    note "$BATS_TEST_DESCRIPTION: seed $1"
    random_jobs "$1"
    release_jobs
    expect_exits
    note "$BATS_TEST_DESCRIPTION: ${EXITS[0]} exited 0, ${EXITS[1]} exited 1"
    expect_registry_follows_jobs
    expect_agreement
}

@test "64 mixed invocations at once, from nothing" {
    mixed_round "${CT_CONCURRENCY_SEED:-$(date +%j)1}"
    expect_clean_slate
}

@test "64 mixed invocations at once, over existing limits" {
    local n
    for ((n = 0; n < N_CGROUPS; n += 2)); do
        limit_ok "${PIDS[n]}" 5mbit
        PRE_LIMITED+=("${PIDS[n]}")
    done
    mixed_round "${CT_CONCURRENCY_SEED:-$(date +%j)2}"
    expect_clean_slate
}

@test "a cleanup that starts before the first limit does not undo it" {
    local pad round n status
    # A cgroup tree wide enough that cleanup's walk outlasts a limit.
    pad=$(new_cgroup)
    for ((n = 0; n < 1500; n++)); do
        mkdir "$pad/$n"
    done
    for ((round = 0; round < 20; round++)); do
        run --separate-stderr "$CT" cleanup
        expect_exit 0
        [[ ! -e $CT_RUN ]] || fail "ct cleanup left $CT_RUN"
        rm -f "$BATS_TEST_TMPDIR"/job.*
        JOBS=() JOB_CMDS=()
        job cleanup
        job cleanup
        job limit "${PIDS[round % N_CGROUPS]}" 10mbit
        release_jobs
        expect_exits
        read -r _ _ status <"$BATS_TEST_TMPDIR/job.2.rc"
        ((status == 0)) || fail "ct ${JOB_CMDS[2]} failed beside two cleanups:" \
            "$(cat "$BATS_TEST_TMPDIR/job.2.err")"
        expect_registry_follows_jobs
        expect_all_attached
        expect_truthful "${CGS[@]}"
    done
}

@test "limits racing cleanups: every one of them succeeds" {
    run --separate-stderr python3 - "$CT" "${PIDS[0]}" <<'PY'
import subprocess, sys
ct, pid = sys.argv[1:]
failed = []
for _ in range(300):
    jobs = [subprocess.Popen([ct, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for args in (["cleanup"], ["limit", pid, "10mbit"], ["cleanup"], ["limit", pid, "20mbit"])]
    for job in jobs:
        err = job.communicate()[1].decode().strip()
        if job.returncode != 0:
            failed.append(f"ct {' '.join(job.args[1:])} exited {job.returncode}: {err}")
print(f"{len(failed)} of 1200 invocations failed")
sys.exit("\n".join(failed) or None)
PY
    note "$output"
    expect_exit 0
    expect_truthful "${CGS[0]}"
    expect_all_attached
}

@test "a killed holder of the lock does not block the next ct" {
    local holder start
    limit_ok "${PIDS[0]}" 10mbit
    bash -c 'exec 9<>"$1" && flock 9 && exec sleep 30' sh "$CT_RUN/lock" 3>&- &
    holder=$!
    track_pid "$holder"
    sleep 0.3
    run timeout 1 "$CT" status
    expect_eq "exit of ct status while the lock is held (124: it waited)" 124 "$status"

    kill -9 "$holder"
    wait "$holder" 2>/dev/null || true
    start=$EPOCHREALTIME
    run --separate-stderr timeout 5 "$CT" status --json
    expect_exit 0
    expect_range "seconds ct status took once the holder was killed" 0 1 \
        "$(bc <<<"$EPOCHREALTIME - $start")"
    unlimit_ok "${PIDS[0]}"
    expect_no_ct_on "${CGS[0]}"
}
