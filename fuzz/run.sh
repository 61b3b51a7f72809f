#!/bin/sh
# run.sh SECONDS NAME...: run each fuzz/out/bin/fuzz_NAME for SECONDS, print
# how many inputs it executed, and fail if any of them crashed.  The seeds in
# fuzz/corpus/NAME are only read; what the fuzzer learns goes to
# fuzz/out/corpus/NAME, so that the next run starts from there.
secs=$1
shift
failed=0
mkdir -p fuzz/out/crashes
for name; do
	log=fuzz/out/$name.log
	mkdir -p "fuzz/out/corpus/$name"
	# -timeout: a parser that takes seconds over one input is a bug too.
	"fuzz/out/bin/fuzz_$name" -max_total_time="$secs" -timeout=10 \
	    -print_final_stats=1 -dict="fuzz/fuzz_$name.dict" \
	    -artifact_prefix="fuzz/out/crashes/$name-" \
	    "fuzz/out/corpus/$name" "fuzz/corpus/$name" >"$log" 2>&1
	status=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	if [ "$status" -eq 0 ]; then
		echo "fuzz_$name: ${execs:-?} executions in ${secs}s, no crash"
	else
		failed=1
		echo "fuzz_$name: FAILED (exit $status) after" \
		    "${execs:-?} executions; log in $log:"
		grep -E '^(==[0-9]+==|SUMMARY|.*runtime error|.*Test unit written|fuzz_)' \
		    "$log" | head -20
	fi
done
exit $failed
