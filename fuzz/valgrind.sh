#!/usr/bin/env bash
# valgrind.sh CT: run ct's common commands, good and bad, under valgrind.
# Any memory error or leak fails the run (exit 99 from valgrind), and so
# does a command whose exit status is not the one ct promises.  Needs root:
# it limits a sleeper in a cgroup of its own, and runs `ct cleanup`.
set -u

CT=${1:?usage: valgrind.sh CT}
VG=(valgrind -q --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite,indirect)
failed=0 ran=0

cg2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
[[ -n $cg2 ]] || { echo "valgrind.sh: no cgroup2 mount" >&2; exit 1; }
cg=$cg2/ctvg.$$
pid=

finish() {
	[[ -n $pid ]] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[[ -d $cg/ct-$pid ]] && rmdir "$cg/ct-$pid"
	[[ -d $cg ]] && rmdir "$cg"
}
trap finish EXIT

# expect STATUS ARGS...: ct ARGS under valgrind must exit with STATUS.
expect() {
	local want=$1 out got
	shift
	ran=$((ran + 1))
	out=$("${VG[@]}" "$CT" "$@" 2>&1 >/dev/null)
	got=$?
	if ((got == 99)); then
		failed=$((failed + 1))
		printf 'not ok: ct %s: valgrind found errors\n%s\n' "$*" "$out"
	elif ((got != want)); then
		failed=$((failed + 1))
		printf 'not ok: ct %s: exit %d, expected %d\n%s\n' "$*" \
		    "$got" "$want" "$out"
	else
		printf 'ok: ct %s\n' "$*"
	fi
}

mkdir "$cg" || exit 1
sh -c 'echo $$ > "$1/cgroup.procs" && exec sleep 1000' sh "$cg" &
pid=$!
for ((i = 0; i < 100; i++)); do
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == sleep ]] && break
	sleep 0.02
done

expect 0 --help
expect 0 --version
expect 0 limit --help
expect 0 status
expect 0 status --json
expect 0 limit "$pid" 10mbit
expect 0 status
expect 0 status --json
expect 0 limit --burst 64kb "$pid" --down 5mbit --up 1mbit
expect 0 unlimit "$pid"
expect 0 limit --isolate "$pid" 2mbit
expect 0 status --json
expect 0 unlimit "$pid"
expect 0 limit "$pid" --up 1gbit
expect 0 cleanup
# Not limited any more: a note, and nothing to do.
expect 0 unlimit "$pid"
expect 0 status

# Refusals: usage errors exit 2, failed operations 1.
expect 2
expect 2 frob
expect 2 status --bogus
expect 2 limit
expect 2 limit "$pid"
expect 2 limit abc 10mbit
expect 2 limit "$pid" 10mb
expect 2 limit "$pid" 0kbit
expect 2 limit "$pid" 10mbit%
expect 2 limit "$pid" --down
expect 2 limit --burst 2gb "$pid" 1mbit
expect 2 limit 99999999 1mbit
expect 2 unlimit
expect 2 unlimit -x
expect 1 limit 4194304 1mbit

echo "valgrind: $((ran - failed)) passed, $failed failed"
((failed == 0))
