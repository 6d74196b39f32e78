#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The vboxfix command's conventions (issue 14): exit codes 125/126/127 like
# env and timeout, options ending at the first non-option word (no '--'
# needed), short options, --version naming the library, state forget of a
# path with no record, state list with a path filter and names, stats
# printed through a program that closes stderr at exit (coreutils), the
# warning for a program of another C library, the binary's glibc floor, and
# the bash completion script.
. "$(dirname "$0")/lib.sh"
V=$B/vboxfix
need_file "$V"
need_lib

rc() { expect_rc "$@"; }
has() { expect_in_file "$@"; }
hasnt() { expect_not_in_file "$@"; }

tmp_dir T
O=$T/out E=$T/err
# an install layout, so that the library found is known
mkdir -p "$T/inst/bin" "$T/inst/lib"
cp "$V" "$T/inst/bin/vboxfix"
cp "$LIB" "$T/inst/lib/libvboxfix.so"
VI=$T/inst/bin/vboxfix
ILIB=$(readlink -f "$T/inst/lib/libvboxfix.so")

# ---- exit codes ----------------------------------------------------------------
rc "exit/no command -> 125" 125 "$V"
rc "exit/unknown command -> 125" 125 "$V" frobnicate
rc "exit/unknown option -> 125" 125 "$V" --frobnicate
rc "exit/exec unknown option -> 125" 125 "$VI" exec --frob true
rc "exit/exec missing command -> 125" 125 "$VI" exec
rc "exit/exec bad value -> 125" 125 "$VI" exec -t soon true
rc "exit/exec unknown user -> 125" 125 "$VI" exec -u vbf-no-such-user true
rc "exit/state unknown action -> 125" 125 "$V" state -p "$T" frob
rc "exit/doctor unknown option -> 125" 125 "$V" doctor --frob
rc "exit/stats unknown option -> 125" 125 "$VI" stats --frob true
rc "exit/a command's own 2 stays 2" 2 "$VI" exec sh -c 'exit 2'
rc "exit/a command's own 125 stays 125" 125 "$VI" exec sh -c 'exit 125'
rc "exit/not found -> 127" 127 "$VI" exec vbf-no-such-command
printf '#!/bin/sh\n' >"$T/noexec"; chmod 0644 "$T/noexec"
rc "exit/not executable -> 126" 126 "$VI" exec "$T/noexec"
rc "exit/directory -> 126" 126 "$VI" exec -- "$T"
"$VI" exec -- "$T" 2>"$E"
has "exit/a directory is named as a shell does" "$T: Is a directory" "$E"
mkdir -p "$T/pathdir/vbf-dir-cmd"
rc "exit/a directory in PATH is not a command -> 127" 127 env PATH="$T/pathdir:/usr/bin:/bin" "$VI" exec vbf-dir-cmd

# ---- options end at the first non-option word ----------------------------------
expect_out "noddash/exec runs the command without --" "$(id -u)" "$VI" exec id -u
expect_out "noddash/the command's options stay its own" "a -p b" "$VI" exec -t 5 echo a -p b
expect_out "noddash/-- still accepted" "x" "$VI" exec -- echo x
expect_out "noddash/stats without --" "1" "$VI" stats printenv VBOXFIX_STATS
if [ "$(id -u)" -eq 0 ] && ensure_test_user; then
    expect_out "noddash/exec --user USER cmd (gosu form)" "$TEST_UID" "$VI" exec --user "$TEST_USER" id -u
    expect_out "noddash/exec -u USER cmd" "$TEST_UID" "$VI" exec -u "$TEST_USER" id -u
else
    skip "noddash/exec --user USER cmd (gosu form)" "needs root and the test user"
fi

# ---- short options ---------------------------------------------------------------
mkdir -p "$T/sh1"
(cd "$T" && "$VI" exec -p sh1 -o 0:0 -m 1000/0:@50/@0 -t 250 -s st.log -l debug env) >"$O" 2>/dev/null
has "short/-p -> VBOXFIX_PATHS" "^VBOXFIX_PATHS=$T/sh1\$" "$O"
has "short/-o -> VBOXFIX_OWNER" "^VBOXFIX_OWNER=0:0\$" "$O"
has "short/-m -> VBOXFIX_MAP" "^VBOXFIX_MAP=1000/0:@50/@0\$" "$O"
has "short/-t -> VBOXFIX_TTL_MS" "^VBOXFIX_TTL_MS=250\$" "$O"
has "short/-s -> VBOXFIX_STATE" "^VBOXFIX_STATE=$T/st.log\$" "$O"
has "short/-l -> VBOXFIX_LOG" "^VBOXFIX_LOG=debug\$" "$O"
for c in exec stats state; do
    "$V" "$c" -h >"$O" 2>&1; r=$?
    expect_eq "short/$c -h exits 0" "$r" 0
    has "short/$c -h shows usage" "^Usage: vboxfix $c" "$O"
done
"$V" exec --help >"$O"
for o in "-p, --path" "-o, --owner" "-m, --map" "-t, --ttl" "-s, --state" "-l, --log" "-u, --user" "-V, --version"; do
    has "short/exec --help lists $o" "^ +$o" "$O"
done
"$V" state --help >"$O"
has "short/state --help names -p and -s" "\[-p DIR\] \[-s FILE\]" "$O"

# ---- --version names the library --------------------------------------------------
"$VI" --version >"$O" 2>&1; r=$?
expect_eq "version/exit 0" "$r" 0
has "version/names the library and its C library" "^library: $ILIB \(glibc build\)\$" "$O"
"$VI" exec --version >"$O" 2>&1; r=$?
expect_eq "version/exec --version exit 0" "$r" 0
has "version/exec --version names the library" "^library: $ILIB " "$O"
"$VI" exec -V >"$O" 2>&1
has "version/exec -V" "^vboxfix " "$O"
mkdir -p "$T/nolib/bin"; cp "$V" "$T/nolib/bin/vboxfix"
"$T/nolib/bin/vboxfix" --version >"$O" 2>&1
if grep -q '^library: /' "$O"; then
    skip "version/says when no library is found" "a libvboxfix.so is installed in the compiled-in prefix"
else
    has "version/says when no library is found" "^library: libvboxfix.so not found \(looked at .*nolib/bin/\.\./lib/libvboxfix.so" "$O"
fi

# ---- stats through a program that closes stderr at exit ----------------------------
"$VI" stats ls -d / >"$O" 2>"$E"; r=$?
expect_eq "stats/ls: its status" "$r" 0
expect_eq "stats/ls: its output" "$(cat "$O")" "/"
has "stats/ls: counters printed (coreutils closes stderr)" "^vboxfix\[[0-9]+\] stats: presented=[0-9]+ .*emulations=" "$E"
# two ls processes under a shell (dash leaves with _exit: no line of its own)
"$VI" stats -- sh -c 'ls -d / >/dev/null; ls -d / >/dev/null; true' 2>"$E"
n=$(grep -c 'stats:' "$E")
if [ "$n" -ge 2 ]; then ok "stats/one line per process"
else fail "stats/one line per process" "$n line(s): $(_vbf_oneline "$E")"; fi
rc "stats/exit status passes through" 3 "$VI" stats sh -c 'exit 3'
rc "stats/signal passes through (SIGTERM -> 143)" 143 "$VI" stats sh -c 'kill -TERM $$'
rc "stats/not found -> 127" 127 "$VI" stats vbf-no-such-command
"$VI" stats sh -c 'sleep 5; echo late' >"$O" 2>"$E" &
spid=$!
sleep 0.5
kill -TERM "$spid"; r=0; wait "$spid" || r=$?
expect_eq "stats/a signal sent to vboxfix reaches the command" "$r" 143
hasnt "stats/...which ended before its output" "late" "$O"
ls "${TMPDIR:-/tmp}" | grep '^vboxfix-stats\.' >"$O" || true
hasnt "stats/private log files removed" "." "$O"
VBOXFIX_LOG_FILE=$T/own.log "$VI" stats ls -d / >/dev/null 2>"$E"
has "stats/an existing VBOXFIX_LOG_FILE gets the counters" "stats: presented=" "$T/own.log"
hasnt "stats/...and not stderr" "stats:" "$E"

# ---- state: forget with no record, list with a filter and names -----------------------
S=$T/share
mkdir -p "$S/db/sub" "$S/other"; echo x >"$S/db/sub/g"; echo y >"$S/other/h"
if [ "$(id -u)" -eq 0 ]; then
    VBOXFIX_PATHS=$S LD_PRELOAD=$LIB sh -c "chown -R 0:0 '$S/db' && chmod 0700 '$S/db' && chmod 0640 '$S/other/h'"
    "$V" state -p "$S" list >"$O" 2>&1; r=$?
    expect_eq "state/list -p exit 0" "$r" 0
    has "state/list shows names beside ids" "^ +0700 +0:0 +root:root +$S/db\$" "$O"
    has "state/list shows a mode-only record" "^ +0640 +- +- +$S/other/h\$" "$O"
    "$V" state -p "$S" list "$S/db/sub" >"$O" 2>&1; r=$?
    expect_eq "state/list PATH exit 0" "$r" 0
    has "state/list PATH: that path and below" "$S/db/sub/g\$" "$O"
    hasnt "state/list PATH: nothing above it" "$S/db\$" "$O"
    hasnt "state/list PATH: nothing beside it" "$S/other" "$O"
    "$V" state -p "$S" list "$S/db" "$S/other" >"$O" 2>&1
    has "state/list PATH PATH: both" "$S/other/h\$" "$O"
    has "state/list PATH PATH: both (2)" "$S/db\$" "$O"
    rc "state/list PATH on no share -> 125" 125 "$V" state -p "$S" list /etc
    # a name that exists only in the passwd file the share's programs read is
    # what list shows: numbers otherwise
    VBOXFIX_PATHS=$S LD_PRELOAD=$LIB chown 4398:4398 "$S/other/h"
    "$V" state -p "$S" list "$S/other/h" >"$O" 2>&1
    if getent passwd 4398 >/dev/null || getent group 4398 >/dev/null; then
        skip "state/unknown ids stay numbers" "uid or gid 4398 exists here"
    else
        has "state/unknown ids stay numbers" "^ +0640 +4398:4398 +4398:4398 +$S/other/h\$" "$O"
    fi

    "$V" state -p "$S" forget "$S/db/nothing" >"$O" 2>"$E"; r=$?
    expect_eq "state/forget with no record -> 1" "$r" 1
    has "state/forget with no record says so" "no record of $S/db/nothing" "$E"
    hasnt "state/forget with no record does not claim it forgot" "forgot" "$O"
    "$V" state -p "$S" forget "$S/db/sub/g" >"$O" 2>"$E"; r=$?
    expect_eq "state/forget of a record -> 0" "$r" 0
    has "state/forget of a record says so" "^forgot $S/db/sub/g\$" "$O"
    "$V" state -p "$S" forget "$S/db/sub/g" "$S/other/h" >"$O" 2>"$E"; r=$?
    expect_eq "state/forget, one without a record -> 1" "$r" 1
    has "state/...the other is still forgotten" "^forgot $S/other/h\$" "$O"
    "$V" state -p "$S" forget -r "$S/db" >"$O" 2>"$E"; r=$?
    expect_eq "state/forget -r -> 0" "$r" 0
    has "state/forget -r counts" "forgot $S/db and everything below it \(2 records\)" "$O"
    "$V" state -p "$S" forget -r "$S/db" >"$O" 2>"$E"; r=$?
    expect_eq "state/forget -r with nothing below -> 1" "$r" 1
    has "state/forget -r with nothing says so" "no record of $S/db or below it" "$E"
else
    skip "state" "needs root (chown under the library)"
fi

# ---- the libc-mismatch warning ------------------------------------------------------
if [ -x "$FIX/probe-musl" ]; then
    "$VI" exec "$FIX/probe-musl" stat / >"$O" 2>"$E"; r=$?
    expect_eq "libc/the musl program still runs" "$r" 0
    has "libc/warns about a musl program with the glibc build" "warning: .*probe-musl is a musl program \(.*ld-musl.*\) but $ILIB is a glibc build" "$E"
    expect_eq "libc/the warning is one line" "$(wc -l <"$E")" 1
    "$VI" exec "$PROBE" stat / >/dev/null 2>"$E"
    hasnt "libc/no warning for a glibc program" "warning" "$E"
elif command -v musl-gcc >/dev/null 2>&1; then
    fail "libc/warns about a musl program with the glibc build" "musl-gcc exists but $FIX/probe-musl was not built (make fixtures)"
else
    skip "libc/warns about a musl program with the glibc build" "musl-gcc absent: no musl program to run"
fi
if [ -x "$FIX/probe-static" ]; then
    "$VI" exec "$FIX/probe-static" stat / >/dev/null 2>"$E"
    has "libc/a static program gets the static warning" "statically linked" "$E"
    hasnt "libc/...and not the libc one" "musl|glibc build" "$E"
else
    skip "libc/a static program gets the static warning" "no $FIX/probe-static"
fi

# ---- the binary's glibc floor ----------------------------------------------------------
if ! command -v objdump >/dev/null 2>&1; then
    skip "floor/no GLIBC version newer than 2.28" "objdump missing (binutils)"
elif objdump -p "$V" | grep -q 'NEEDED.*libc\.so\.6'; then
    newer=$(objdump -T "$V" | grep -oE 'GLIBC_2\.[0-9]+' | sort -u -t. -k2,2n |
        awk -F. '$2 + 0 > 28' | tr '\n' ' ')
    expect_eq "floor/no GLIBC version newer than 2.28" "$newer" ""
    expect_out "floor/the pinned start-up runs main" "vboxfix $(make -s -C "$VBF_REPO" version)" \
        sh -c "LD_BIND_NOW=1 '$V' --version | head -1"
else
    skip "floor/no GLIBC version newer than 2.28" "not a glibc build"
fi

# ---- bash completion ---------------------------------------------------------------------
COMP=$VBF_REPO/shim/cli/vboxfix.bash-completion
if [ -f "$COMP" ]; then
    complete_words() {
        bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _vboxfix; echo "${COMPREPLY[*]}"' \
            _ "$COMP" "$@" 2>&1
    }
    expect_eq "completion/subcommands" "$(complete_words vboxfix st)" "state stats"
    expect_eq "completion/exec long option" "$(complete_words vboxfix exec --us)" "--user"
    expect_eq "completion/--log levels" "$(complete_words vboxfix exec -l "")" "error warn info debug"
    expect_eq "completion/state actions" "$(complete_words vboxfix state -p /tmp "")" "list forget export import compact"
    expect_eq "completion/help topics" "$(complete_words vboxfix help "")" "exec doctor state stats"
    if bash -n "$COMP" 2>"$E"; then ok "completion/parses"; else fail "completion/parses" "$(_vbf_oneline "$E")"; fi
else
    fail "completion/script exists" "no $COMP"
fi
