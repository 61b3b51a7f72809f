#!/usr/bin/env bats
# make install and uninstall, the man page and the completions.

load helpers

ROOT=$BATS_TEST_DIRNAME/..

setup() {
    common_setup
    DEST=$BATS_TEST_TMPDIR/dest
}

# installed: what make install put under $DEST, one path a line, sorted
installed() {
    (cd "$DEST" && find . -type f | sort)
}

@test "make install puts binary, man page and completions under DESTDIR and PREFIX; uninstall removes them" {
    local want
    run make -s -C "$ROOT" install DESTDIR="$DEST" PREFIX=/opt/ct
    expect_exit 0
    want='./opt/ct/sbin/ct
./opt/ct/share/bash-completion/completions/ct
./opt/ct/share/man/man8/ct.8
./opt/ct/share/zsh/site-functions/_ct'
    expect_eq "installed files" "$want" "$(installed)"
    expect_eq "mode of the binary" 755 "$(stat -c %a "$DEST/opt/ct/sbin/ct")"
    cmp "$DEST/opt/ct/sbin/ct" "$ROOT/ct" || fail "the installed binary is not the one built"
    "$DEST/opt/ct/sbin/ct" --version | grep -q '^ct ' || fail "the installed binary does not run"

    run make -s -C "$ROOT" uninstall DESTDIR="$DEST" PREFIX=/opt/ct
    expect_exit 0
    expect_eq "files left after uninstall" "" "$(installed)"
}

@test "the man page is clean for man's checks and names every option --help names" {
    local warnings opt
    warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$ROOT/ct.8" 2>&1 >/dev/null)
    [[ -z $warnings ]] || fail "man --warnings on ct.8:" "$warnings" || return
    for opt in $("$CT" --help | grep -oE -- '--[a-z]+' | sort -u) \
        $(for c in run limit unlimit status top cleanup; do "$CT" "$c" --help; done |
            grep -oE -- '(^| )-(-[a-z]+|[a-z])\b' | sort -u); do
        grep -qe "Fl ${opt#-}\b" -e "Fl \\\\${opt#-}\b" "$ROOT/ct.8" ||
            fail "ct.8 does not name $opt, which --help does" || return
    done
    for c in run limit unlimit status top cleanup; do
        grep -q "^\.Cm $c\$" "$ROOT/ct.8" || fail "ct.8 has no synopsis for $c" || return
    done
}

# complete_ct WORDS...: what bash completion offers for `ct WORDS` (the last
# word being completed), one a line
complete_ct() {
    bash -c '
        source "$1"; shift
        COMP_WORDS=(ct "$@"); COMP_CWORD=$#
        _ct
        printf "%s\n" "${COMPREPLY[@]}"' sh "$ROOT/completion/ct.bash" "$@"
}

@test "bash completion offers commands, options, pids, rate units and limited cgroups" {
    local cg
    run bash -c "source '$ROOT/completion/ct.bash'; complete -p ct"
    expect_exit 0
    expect_eq "complete -p ct" "complete -F _ct ct" "$output"
    expect_eq "commands for 'ct li'" "limit" "$(complete_ct li)"
    [[ $(complete_ct limit --i) == --isolate ]] || fail "no --isolate for 'ct limit --i'"
    [[ $(complete_ct limit --down 10) == *10mbit* ]] || fail "no units after 'ct limit --down 10'"
    [[ $(complete_ct run 2) == *2mbit* ]] || fail "no units for ct run's rate"
    [[ $(complete_ct limit "$$") == *"$$"* ]] || fail "no pid for 'ct limit $$'"
    [[ $(complete_ct top -) == *--json* ]] || fail "no --json for 'ct top -'"
    cg=$(new_cgroup)
    [[ $(complete_ct limit --cgroup "$(cg_rel "$cg")") == "$(cg_rel "$cg")/" ]] ||
        fail "no cgroup path for 'ct limit --cgroup'" || return
    limit_ok --cgroup "$(cg_rel "$cg")" 1mbit
    [[ $(PATH=$(dirname "$CT"):$PATH complete_ct unlimit --cgroup /) == *"$(cg_rel "$cg")"* ]] ||
        fail "no limited cgroup for 'ct unlimit --cgroup'"
}

teardown() {
    common_teardown
}
