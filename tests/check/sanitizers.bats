#!/usr/bin/env bats
# Run by make check: the parsers under libFuzzer, and the common commands
# under valgrind.  Both need the builds that make check makes first.

BATS_TEST_DIRNAME=${BATS_TEST_DIRNAME%/*} load helpers

TOP=$BATS_TEST_DIRNAME/../..

@test "fuzz smoke: every harness runs 10 s without a crash" {
    run make -s -C "$TOP" fuzz-smoke
    local line
    for line in "${lines[@]}"; do
        note "$line"
    done
    expect_exit 0
    [[ $(grep -c "no crash" <<<"$output") -eq 4 ]] ||
        fail "expected 4 harnesses without a crash:" "$output"
}

@test "valgrind: common commands, no memory error or leak" {
    [[ -x $TOP/ct-vg ]] || fail "no $TOP/ct-vg: run make check"
    run "$TOP/fuzz/valgrind.sh" "$TOP/ct-vg"
    note "${lines[-1]}"
    expect_exit 0
}
