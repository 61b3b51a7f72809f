#!/usr/bin/env bats
# The benchmark's 10mbit cells, short: the bench runs end to end, the
# limit holds within the ±10% of a short, shared-machine run, and the
# transfer's first second stays within 1.10 of the limit.

load helpers

@test "bench smoke: 10mbit down and up within 10%, costs reported" {
    run --separate-stderr timeout 180 python3 "$BATS_TEST_DIRNAME/../bench/bench.py" --smoke
    local line
    for line in "${lines[@]}"; do
        note "$line"
    done
    expect_exit 0
    [[ $output == *"TCP 10mbit down bbr"* && $output == *"TCP 10mbit up bbr"* ]] ||
        fail "expected both 10mbit cells in the table:" "$output"
    [[ $output == *"0 targets missed"* ]] || fail "expected no missed target:" "$output"
}
