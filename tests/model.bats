#!/usr/bin/env bats
# Random walks over ct's commands and the accidents that happen around them, every
# step compared with a model and with the kernel (tests/model.py tells how).

load helpers

STEPS=500

# run_model SEED: one walk of $STEPS steps; its seed and counts go to the TAP output
run_model() {
    run --separate-stderr timeout -k 10 280 python3 "$BATS_TEST_DIRNAME/model.py" \
        --ct "$CT" --seed "$1" --steps "$STEPS"
    local line
    for line in "${lines[@]}"; do
        note "$line"
    done
    ((status == 0)) || fail "model.py exited $status:" "$stderr"
}

@test "model: a fixed seed" {
    run_model 1
}

@test "model: the seed of the day" {
    run_model "$(date +%Y%m%d)"
}
