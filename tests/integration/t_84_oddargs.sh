#!/bin/bash
# SPDX-License-Identifier: MIT
# Odd arguments (issue 11 item 8, issue 12 item 6): NULL and invalid
# pointers, NULL buffers, AT_EMPTY_PATH with NULL, fd -1 and O_PATH
# descriptors give the same return value and errno with the library as
# without it, and never a crash. tests/fixtures/oddargs.c runs each case in a
# child of its own; its table is compared line by line.
. "$(dirname "$0")/lib.sh"
need_lib
need_file "$FIX/oddargs"
share_setup ignore
tmp_dir LOCAL

layout() { # DIR: what the probe expects there
    mkdir -p "$1/d" && : >"$1/f" && chmod 0644 "$1/f" && ln -sf f "$1/l"
}
layout "$MNT"
layout "$LOCAL"

# table WHERE CWD PRELOAD...: the probe's lines for DIR=WHERE run from CWD
table() {
    local where=$1 cwd=$2; shift 2
    (cd "$cwd" && env "$@" "$FIX/oddargs" "$where") 2>/dev/null
}

compare() { # NAME WHERE CWD
    local name=$1 where=$2 cwd=$3 bare lib diff
    bare=$(table "$where" "$cwd" LD_PRELOAD=)
    lib=$(table "$where" "$cwd" "LD_PRELOAD=$LIB" "VBOXFIX_PATHS=$MNT")
    if [ -z "$bare" ] || [ "$(wc -l <<<"$bare")" -lt 100 ]; then
        fail "$name" "the probe printed too little: $(head -c 200 <<<"$bare")"
        return
    fi
    if grep -q CRASH <<<"$lib"; then
        fail "$name: no crash" "$(grep CRASH <<<"$lib" | tr '\n' ' ')"
    else
        ok "$name: no crash ($(wc -l <<<"$lib") cases)"
    fi
    diff=$(diff <(echo "$bare") <(echo "$lib") | grep '^[<>]' | tr '\n' ' ')
    expect_eq "$name: same answers as without the library" "$diff" ""
}

compare "share, cwd in the share" "$MNT" "$MNT"
compare "share, cwd outside" "$MNT" "$LOCAL"
compare "local dir, cwd in the share" "$LOCAL" "$MNT"
compare "local dir, cwd outside" "$LOCAL" "$LOCAL"
# the metadata cache off: every answer from the real call
VBOXFIX_TTL_MS=0 compare "share, cache off" "$MNT" "$MNT"
