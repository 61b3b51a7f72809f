#!/usr/bin/env bats
# Unit tests for rate.c; the Makefile builds tests/rate_test.

setup() {
	cd "$BATS_TEST_DIRNAME/.."
}

@test "rate_test: rate and size parsing and formatting" {
	run ./tests/rate_test
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *" 0 failed "* ]]
}
