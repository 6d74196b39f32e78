#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The vboxfix command (issue 6): exec (library lookup, LD_PRELOAD, options,
# --user, pid/status/signals, static/Go warnings, error codes), doctor on
# both emulated-share variants as root and as a user the share does not let
# write (text, JSON, exit codes, cleanup), state list/forget/export/import,
# stats, help/version, and every usage error.
. "$(dirname "$0")/lib.sh"
V=$B/vboxfix
need_file "$V"
need_lib

rc() { expect_rc "$@"; }
has() { expect_in_file "$@"; }
hasnt() { expect_not_in_file "$@"; }
json_ok() { "$PYTHON" -m json.tool "$1" >/dev/null 2>&1; }
# jq-like: python3 expression over the document d
jget() {
    "$PYTHON" -c "import json,sys
d=json.load(open(sys.argv[1])); r=($2)
print(*r) if isinstance(r, tuple) else print(r)" "$1" 2>&1
}
# probe directories left on a share's backing directory
leftovers() { ls -A "$1" | grep -c '^\.vboxfix-doctor'; }

tmp_dir T
O=$T/out E=$T/err

# ---- help, version, usage errors of the tool --------------------------------
"$V" --version >"$O" 2>&1; expect_eq "cli/version" "$(head -1 "$O")" "vboxfix $(make -s -C "$VBF_REPO" version)"
rc "cli/--help exits 0" 0 "$V" --help
"$V" --help >"$O"; has "cli/--help lists the commands" "exec.*" "$O"
for c in exec doctor state stats; do
    "$V" "$c" --help >"$O" 2>&1; r=$?
    expect_eq "cli/$c --help exits 0" "$r" 0
    has "cli/$c --help shows usage" "^Usage: vboxfix $c" "$O"
    rc "cli/help $c" 0 "$V" help "$c"
done
rc "cli/no command -> 125" 125 "$V"
rc "cli/unknown command -> 125" 125 "$V" frobnicate
rc "cli/unknown option -> 125" 125 "$V" --frobnicate
"$V" frobnicate 2>"$E"; has "cli/unknown command says so" "unknown command 'frobnicate'" "$E"

# ---- exec: a private install layout (bin/ + lib/) ----------------------------
mkdir -p "$T/inst/bin" "$T/inst/lib"
cp "$V" "$T/inst/bin/vboxfix"
cp "$LIB" "$T/inst/lib/libvboxfix.so"
VI=$T/inst/bin/vboxfix
ILIB=$(readlink -f "$T/inst/lib/libvboxfix.so")

expect_out "exec/finds <bindir>/../lib/libvboxfix.so" "$ILIB" env -u LD_PRELOAD "$VI" exec -- printenv LD_PRELOAD
if [ -f "$REFUSE" ]; then
    # existing entries kept (space or colon separated), duplicates and any
    # other libvboxfix dropped, ours first
    expect_out "exec/LD_PRELOAD composition" "$ILIB:$REFUSE" \
        env LD_PRELOAD="/nonexistent/libvboxfix.so $REFUSE:$REFUSE" "$VI" exec -- printenv LD_PRELOAD
    expect_out "exec/LD_PRELOAD keeps ours once" "$ILIB:$REFUSE" \
        env LD_PRELOAD="$REFUSE $ILIB" "$VI" exec -- printenv LD_PRELOAD
else
    skip "exec/LD_PRELOAD composition" "no $REFUSE (make fixtures)"
fi
found=$(env -u LD_PRELOAD "$V" exec -- printenv LD_PRELOAD 2>/dev/null)
case $found in
    /*/libvboxfix.so) [ -f "$found" ] && ok "exec/build tree: a libvboxfix.so is found" ||
        fail "exec/build tree: a libvboxfix.so is found" "'$found' is not a file" ;;
    *) fail "exec/build tree: a libvboxfix.so is found" "LD_PRELOAD='$found'" ;;
esac

mkdir -p "$T/nolib/bin"; cp "$V" "$T/nolib/bin/vboxfix"
r=0; "$T/nolib/bin/vboxfix" exec -- true 2>"$E" || r=$?
if [ "$r" -eq 0 ]; then
    skip "exec/missing library -> 125" "a libvboxfix.so is installed in the compiled-in prefix"
else
    expect_eq "exec/missing library -> 125" "$r" 125
    has "exec/missing library names the places tried" "libvboxfix.so not found \(looked at .*nolib/bin/\.\./lib/libvboxfix.so" "$E"
fi

# options -> environment
mkdir -p "$T/share1" "$T/share2"
(cd "$T" && "$VI" exec --path share1 --path "$T/./share2" --owner 0:0 --map 1000/0:@50/@0 --ttl 250 \
    --state st.log --log debug --stats -- env) >"$O" 2>/dev/null
has "exec/--path -> VBOXFIX_PATHS, absolute, colon-joined" "^VBOXFIX_PATHS=$T/share1:$T/share2\$" "$O"
has "exec/--owner -> VBOXFIX_OWNER" "^VBOXFIX_OWNER=0:0\$" "$O"
has "exec/--map -> VBOXFIX_MAP" "^VBOXFIX_MAP=1000/0:@50/@0\$" "$O"
has "exec/--ttl -> VBOXFIX_TTL_MS" "^VBOXFIX_TTL_MS=250\$" "$O"
has "exec/--state -> VBOXFIX_STATE, absolute" "^VBOXFIX_STATE=$T/st.log\$" "$O"
has "exec/--log -> VBOXFIX_LOG" "^VBOXFIX_LOG=debug\$" "$O"
has "exec/--stats -> VBOXFIX_STATS=1" "^VBOXFIX_STATS=1\$" "$O"
expect_out "exec/--owner by name" "root:root" "$VI" exec --owner root:root -- printenv VBOXFIX_OWNER
expect_out "exec/--opt=value form" "5" "$VI" exec --ttl=5 -- printenv VBOXFIX_TTL_MS

# same pid, exit status, signals
"$VI" exec -- sh -c 'echo $$' >"$O" &
wpid=$!
wait "$wpid"
expect_eq "exec/same pid as the wrapper" "$(cat "$O")" "$wpid"
rc "exec/exit status passes through" 7 "$VI" exec -- sh -c 'exit 7'
rc "exec/signal passes through (SIGTERM -> 143)" 143 "$VI" exec -- sh -c 'kill -TERM $$'
rc "exec/signal passes through (SIGKILL -> 137)" 137 "$VI" exec -- sh -c 'kill -KILL $$'
expect_out "exec/arguments kept verbatim" "a b|--|-x" "$VI" exec -- sh -c 'printf "%s|%s|%s\n" "$1" "$2" "$3"' sh "a b" -- -x

# error paths
rc "exec/command not found -> 127" 127 "$VI" exec -- vbf-no-such-command
rc "exec/path not found -> 127" 127 "$VI" exec -- "$T/no/such"
printf '#!/bin/sh\n' >"$T/noexec"; chmod 0644 "$T/noexec"
rc "exec/not executable -> 126" 126 "$VI" exec -- "$T/noexec"
rc "exec/directory -> 126" 126 "$VI" exec -- "$T"
rc "exec/unknown option -> 125" 125 "$VI" exec --frob -- true
rc "exec/without -- runs the command" 0 "$VI" exec true
rc "exec/missing command -> 125" 125 "$VI" exec
rc "exec/nothing after -- -> 125" 125 "$VI" exec --
rc "exec/option without value -> 125" 125 "$VI" exec --path
rc "exec/--path missing dir -> 125" 125 "$VI" exec --path "$T/nope" -- true
rc "exec/--path on a file -> 125" 125 "$VI" exec --path "$T/noexec" -- true
rc "exec/--owner unknown user -> 125" 125 "$VI" exec --owner vbf-no-such-user -- true
rc "exec/--owner unknown group -> 125" 125 "$VI" exec --owner 0:vbf-no-such-group -- true
rc "exec/--map bad syntax -> 125" 125 "$VI" exec --map 1000 -- true
rc "exec/--ttl not a number -> 125" 125 "$VI" exec --ttl soon -- true
rc "exec/--ttl negative -> 125" 125 "$VI" exec --ttl -5 -- true
rc "exec/--log unknown level -> 125" 125 "$VI" exec --log loud -- true
rc "exec/--user unknown user -> 125" 125 "$VI" exec --user vbf-no-such-user -- true
rc "exec/--user unknown group -> 125" 125 "$VI" exec --user root:vbf-no-such-group -- true
rc "exec/--user numeric uid without passwd entry or group -> 125" 125 "$VI" exec --user 4399 -- true
# each part of USER[:GROUP] says what is wrong with it
for spec_msg in ":root|':root': expected USER\\[:GROUP\\]" "root:|'root:': empty group after ':'" \
    "vbf-no-such-user|unknown user 'vbf-no-such-user'" "root:vbf-no-such-group|unknown group 'vbf-no-such-group'" \
    "4399|uid 4399 has no passwd entry: name the group too \\(4399:GID\\)"; do
    "$VI" exec --user "${spec_msg%%|*}" -- true 2>"$E"
    has "exec/--user ${spec_msg%%|*} is explained" "exec: --user: ${spec_msg#*|}" "$E"
done
# --path: at most 16, none with ':' in it
mkdir -p "$T/pa" "$T/pb" "$T/p:c"
"$VI" exec --path "$T/p:c" -- true 2>"$E"; r=$?
expect_eq "exec/--path with ':' -> 125" "$r" 125
has "exec/--path with ':' is explained" "cannot go in VBOXFIX_PATHS" "$E"
set --; for i in $(seq 16); do set -- "$@" --path "$T/pa"; done
rc "exec/16 --path accepted" 0 "$VI" exec "$@" -- true
"$VI" exec "$@" --path "$T/pb" -- true 2>"$E"; r=$?
expect_eq "exec/17 --path -> 125" "$r" 125
has "exec/17 --path is explained" "at most 16 directories" "$E"
set --
"$VI" exec --frob -- true 2>"$E"; has "exec/unknown option is named" "unknown option '--frob'" "$E"
"$VI" exec 2>"$E"; has "exec/missing command is explained" "missing COMMAND" "$E"
"$VI" exec -- vbf-no-such-command 2>"$E"; has "exec/not found is explained" "vbf-no-such-command: command not found" "$E"

# static and Go programs
if [ -x "$FIX/probe-static" ]; then
    "$VI" exec -- "$FIX/probe-static" stat / >/dev/null 2>"$E"
    has "exec/warns about a static binary" "statically linked" "$E"
    expect_eq "exec/static warning is one line" "$(wc -l <"$E")" 1
else
    skip "exec/warns about a static binary" "no $FIX/probe-static"
fi
"$VI" exec -- true 2>"$E"; hasnt "exec/no warning for a dynamic binary" "warning" "$E"
if command -v cc >/dev/null 2>&1 &&
    printf 'const char b[] __attribute__((section(".go.buildinfo"))) = "go";\nint main(void){return b[0]!=103;}\n' |
    cc -x c -o "$T/gofake" - 2>/dev/null; then
    "$VI" exec -- "$T/gofake" 2>"$E"
    has "exec/warns about a Go binary" "Go program" "$E"
else
    skip "exec/warns about a Go binary" "no C compiler to build a stand-in"
fi

# ---- exec --user (root) ------------------------------------------------------
if [ "$(id -u)" -eq 0 ] && ensure_test_user; then
    expect_out "exec/--user sets uid" "$TEST_UID" "$VI" exec --user "$TEST_USER" -- id -u
    expect_out "exec/--user sets gid" "$TEST_GID" "$VI" exec --user "$TEST_USER" -- id -g
    expect_out "exec/--user sets supplementary groups" "$TEST_GID" "$VI" exec --user "$TEST_USER" -- id -G
    expect_out "exec/--user real ids too" "$TEST_UID $TEST_GID" "$VI" exec --user "$TEST_USER" -- sh -c 'echo $(id -ru) $(id -rg)'
    expect_out "exec/--user USER:GROUP" "$TEST_UID 0" "$VI" exec --user "$TEST_USER:root" -- sh -c 'echo $(id -u) $(id -g)'
    expect_out "exec/--user UID:GID numbers" "4399 4399" "$VI" exec --user 4399:4399 -- sh -c 'echo $(id -u) $(id -g)'
    expect_out "exec/--user sets HOME from passwd" "$(getent passwd "$TEST_USER" | cut -d: -f6)" \
        "$VI" exec --user "$TEST_USER" -- printenv HOME
    expect_out "exec/--user keeps the library" "$ILIB" "$VI" exec --user "$TEST_USER" -- printenv LD_PRELOAD
    "$VI" exec --user "$TEST_USER" -- sh -c 'echo $$' >"$O" &
    wpid=$!; wait "$wpid"
    expect_eq "exec/--user keeps the pid" "$(cat "$O")" "$wpid"
    # not root: only the current user is accepted
    rc "exec/--user as non-root, other user -> 125" 125 as_user "$VI" exec --user root -- true
    as_user "$VI" exec --user root -- true 2>"$E"
    has "exec/--user as non-root is explained" "needs root" "$E"
    expect_out "exec/--user as non-root, same user" "$TEST_UID" as_user "$VI" exec --user "$TEST_USER" -- id -u
else
    skip "exec/--user" "needs root and the test user"
fi

# ---- stats ---------------------------------------------------------------------
# (stats -- COMMAND through coreutils, signals and status: t_61)
"$V" stats >"$O" 2>&1; r=$?
expect_eq "stats/explains, exit 0" "$r" 0
has "stats/names VBOXFIX_STATS" "VBOXFIX_STATS=1" "$O"
has "stats/lists the counters" "chown_recorded" "$O"
expect_out "stats/-- COMMAND is exec --stats" "1" "$VI" stats -- printenv VBOXFIX_STATS
expect_out "stats/takes exec options" "7" "$VI" stats --ttl 7 -- printenv VBOXFIX_TTL_MS
rc "stats/unknown option -> 125" 125 "$VI" stats --frob -- true
"$VI" exec --stats -- true >"$O" 2>"$E"
has "stats/exec --stats: counters at exit on stderr" "vboxfix\[[0-9]+\] stats: .*chown_recorded=" "$E"
hasnt "stats/exec --stats: nothing on stdout" "." "$O"

# ---- doctor: usage -----------------------------------------------------------
rc "doctor/unknown option -> 125" 125 "$V" doctor --frob
rc "doctor/missing path -> 125" 125 "$V" doctor "$T/nope"
rc "doctor/a file, not a directory -> 125" 125 "$V" doctor "$T/noexec"
rc "doctor/--user unknown -> 125" 125 "$V" doctor --user vbf-no-such-user "$T"
rc "doctor/--user without value -> 125" 125 "$V" doctor --user
if ! grep -q ' - vboxsf ' /proc/self/mountinfo; then
    rc "doctor/no shares at all -> 125" 125 env -u VBOXFIX_PATHS "$V" doctor
else
    skip "doctor/no shares at all -> 125" "this machine has vboxsf mounts"
fi
if [ "$(id -u)" -eq 0 ] && ensure_test_user; then
    rc "doctor/--user other as non-root -> 125" 125 as_user "$V" doctor --user root /tmp
fi

# JSON escaping: quotes, backslashes, control bytes and invalid UTF-8 in a path
if [ "$(id -u)" -eq 0 ]; then
    weird=$T/$(printf 'we"ird\\dir\t\001\377')
    mkdir -p "$weird"
    "$V" doctor --json "$weird" >"$O" 2>"$E"; r=$?
    expect_eq "doctor/--json odd path: exit 0" "$r" 0
    if json_ok "$O"; then ok "doctor/--json odd path: valid JSON"; else fail "doctor/--json odd path: valid JSON" "$(_vbf_oneline "$O")"; fi
    expect_eq "doctor/--json odd path: escaped" "$(jget "$O" 'ascii(d["shares"][0]["path"].split("/")[-1])')" "'we\"ird\\\\dir\\t\\x01\ufffd'"
    "$V" doctor "$weird" >"$O" 2>&1
    has "doctor/root without --user: hint" "hint: +checked as root" "$O"
fi

# ---- doctor and state on the emulated shares ---------------------------------
need_fuse
for MODE in ignore deny; do
    share_setup "$MODE"
    D="doctor/$MODE"
    echo data >"$MNT/f"

    "$V" doctor "$MNT" >"$O" 2>"$E"; r=$?
    expect_eq "$D/root: usable, exit 0" "$r" 0
    has "$D/names the share" "^share $MNT\$" "$O"
    has "$D/fs type" "type fuse" "$O"
    has "$D/root owner and mode" "root: +owner $SHARE_UID .*group $SHARE_GID .*mode 0777" "$O"
    if [ "$MODE" = ignore ]; then
        has "$D/chown ignored" "^ +chown +ignored: returned 0" "$O"
        has "$D/chmod ignored" "^ +chmod +ignored" "$O"
    else
        has "$D/chown refused EPERM" "^ +chown +refused \(EPERM" "$O"
        has "$D/chmod refused EPERM" "^ +chmod +refused \(EPERM" "$O"
    fi
    has "$D/says what vboxfix does about chown" "vboxfix: .*records" "$O"
    has "$D/create mode" "^ +create_mode +ignored: got 0666" "$O"
    has "$D/xattr refused" "^ +xattr +refused \(EOPNOTSUPP" "$O"
    has "$D/xattr: says nothing is possible" "vboxfix: nothing: passed through" "$O"
    has "$D/stat cost" "^ +stat_cost +[0-9.]+ µs median" "$O"
    has "$D/root can write" "write: +root .*can create files" "$O"
    has "$D/verdict" "verdict: usable with vboxfix" "$O"
    expect_eq "$D/probe directory removed" "$(leftovers "$SRC")" 0

    "$V" doctor --json "$MNT" >"$O" 2>"$E"; r=$?
    expect_eq "$D/--json exit 0" "$r" 0
    if json_ok "$O"; then ok "$D/--json is valid JSON"; else fail "$D/--json is valid JSON" "$(_vbf_oneline "$O")"; fi
    want=ignored; [ "$MODE" = deny ] && want="refused EPERM"
    expect_eq "$D/--json chown" "$(jget "$O" '[p["result"] + (" " + p["errno"] if p["errno"] else "") for p in d["shares"][0]["probes"] if p["name"] == "chown"][0]')" "$want"
    expect_eq "$D/--json status and exit" "$(jget "$O" 'd["shares"][0]["status"], d["exit"], d["shares"][0]["write"]["ok"]')" "usable 0 True"
    expect_eq "$D/--json root" "$(jget "$O" 'd["shares"][0]["root"]["uid"], d["shares"][0]["root"]["mode"]')" "$SHARE_UID 0777"

    # the share's raw behaviour even when the library is preloaded
    VBOXFIX_PATHS=$MNT LD_PRELOAD=$LIB "$V" doctor "$MNT" >"$O" 2>"$E"
    if [ "$MODE" = ignore ]; then has "$D/runs without the library" "^ +chown +ignored" "$O"
    else has "$D/runs without the library" "^ +chown +refused \(EPERM" "$O"; fi
    has "$D/under the library: raw owner" "root: +owner $SHARE_UID" "$O"

    # default list: VBOXFIX_PATHS
    VBOXFIX_PATHS=$MNT "$V" doctor >"$O" 2>&1
    has "$D/default: VBOXFIX_PATHS" "^share $MNT\$" "$O"

    # vboxsf's other refusals, through the test-only refusal preload
    if [ -f "$REFUSE" ]; then
        LD_PRELOAD=$REFUSE REFUSE_PATHS=$MNT "$V" doctor "$MNT" >"$O" 2>&1; r=$?
        expect_eq "$D/refusals: still usable" "$r" 0
        has "$D/refusals: link EPERM" "^ +link +refused \(EPERM" "$O"
        has "$D/refusals: mkfifo EPERM" "^ +mkfifo +refused \(EPERM" "$O"
        has "$D/refusals: unix socket EPERM" "^ +unix_socket +refused \(EPERM" "$O"
        has "$D/refusals: O_DIRECT EINVAL" "^ +o_direct +refused \(EINVAL" "$O"
        has "$D/refusals: dir fsync EINVAL" "^ +dir_fsync +refused \(EINVAL" "$O"
        has "$D/refusals: renameat2 NOREPLACE EINVAL" "^ +rename_noreplace +refused \(EINVAL" "$O"
        has "$D/refusals: link workaround named" "emulates link\(\) with a copy" "$O"
        has "$D/refusals: RENAME_EXCHANGE: nothing possible" "nothing: no library can swap" "$O"
        expect_eq "$D/refusals: probe directory removed" "$(leftovers "$SRC")" 0
    else
        skip "$D/refusals" "no $REFUSE"
    fi

    # the test user on this share: dirs are 0777, so it can write
    if ensure_test_user; then
        "$V" doctor --user "$TEST_USER" "$MNT" >"$O" 2>&1; r=$?
        expect_eq "$D/--user $TEST_USER can write: exit 0" "$r" 0
        has "$D/--user $TEST_USER can write" "write: +$TEST_USER .*can create files \(as other\)" "$O"
    fi

    # interrupted: the probe directory still goes away
    if command -v strace >/dev/null 2>&1; then
        strace -f -o /dev/null -e trace=fsync -e inject=fsync:delay_enter=3000000 "$V" doctor "$MNT" >/dev/null 2>&1 &
        spid=$!
        dpid=
        for _ in $(seq 50); do
            dpid=$(pgrep -P "$spid" -x vboxfix | head -1)
            [ -n "$dpid" ] && ls -d "$SRC"/.vboxfix-doctor.* >/dev/null 2>&1 && break
            sleep 0.1
        done
        if [ -n "$dpid" ] && ls -d "$SRC"/.vboxfix-doctor.* >/dev/null 2>&1; then
            kill -TERM "$dpid"
            wait "$spid" 2>/dev/null
            expect_eq "$D/SIGTERM: probe directory removed" "$(leftovers "$SRC")" 0
        else
            kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
            skip "$D/SIGTERM: probe directory removed" "could not catch doctor inside its probe"
        fi
    else
        skip "$D/SIGTERM: probe directory removed" "needs strace"
    fi

    # ---- state on this share
    S="state/$MODE"
    mkdir -p "$MNT/db/sub"; echo x >"$MNT/db/sub/g"
    VBOXFIX_PATHS=$MNT with_lib sh -c "chown -R 999:999 '$MNT/db' && chmod 0700 '$MNT/db'"
    "$V" state --path "$MNT" list >"$O" 2>"$E"; r=$?
    expect_eq "$S/list exit 0" "$r" 0
    has "$S/list header" "^share $MNT: 3 records" "$O"
    has "$S/list mode and owner" "^ +0700 +999:999 +[^ ]+:[^ ]+ +$MNT/db\$" "$O"
    has "$S/list owner only" "^ +- +999:999 +[^ ]+:[^ ]+ +$MNT/db/sub/g\$" "$O"
    VBOXFIX_PATHS=$MNT "$V" state list >"$O" 2>&1
    has "$S/default share list" "^ +0700 +999:999 .* $MNT/db\$" "$O"
    VBOXFIX_PATHS=$MNT LD_PRELOAD=$LIB "$V" state list >"$O" 2>&1
    has "$S/works under the library" "^ +0700 +999:999 .* $MNT/db\$" "$O"

    "$V" state --path "$MNT" export "$T/exp" >/dev/null 2>"$E"; r=$?
    expect_eq "$S/export exit 0" "$r" 0
    has "$S/export relative paths" "^owner=999:999 mode=0700 type=d path=db\$" "$T/exp"
    "$V" state --path "$MNT" export >"$O"
    expect_eq "$S/export to stdout" "$(cat "$O")" "$(cat "$T/exp")"

    "$V" state --path "$MNT" forget "$MNT/db/sub/g" >/dev/null 2>&1
    "$V" state --path "$MNT" list >"$O"
    hasnt "$S/forget drops the record" "db/sub/g" "$O"
    has "$S/forget keeps others" "$MNT/db\$" "$O"
    # (no record of its own: it shows its directory's recorded owner, one view)
    expect_out "$S/forgotten file shows its directory's owner again" "999:999" \
        env VBOXFIX_PATHS="$MNT" LD_PRELOAD="$LIB" stat -c %u:%g "$MNT/db/sub/g"

    "$V" state --path "$MNT" forget -r "$MNT/db" >/dev/null 2>&1
    "$V" state --path "$MNT" list >"$O"
    has "$S/forget -r drops everything below" "^share $MNT: 0 records" "$O"

    "$V" state --path "$MNT" import "$T/exp" >"$O" 2>&1; r=$?
    expect_eq "$S/import exit 0" "$r" 0
    has "$S/import count" "imported 3 records" "$O"
    expect_out "$S/imported record is presented" "999:999 700" \
        env VBOXFIX_PATHS="$MNT" LD_PRELOAD="$LIB" stat -c '%u:%g %a' "$MNT/db"
    rm -rf "$MNT/db/sub"
    "$V" state --path "$MNT" import - <"$T/exp" >"$O" 2>&1; r=$?
    expect_eq "$S/import with missing paths -> 1" "$r" 1
    has "$S/import says what it skipped" "imported 1 record.*skipped 2" "$O"
    # each kind of bad line is named and counted; the good ones still go in
    printf '%s\n' '# comment' '' 'garbage' 'owner=1:x mode=- type=d path=db' \
        'owner=- mode=9999 type=d path=db' 'owner=5:5 mode=- type=d path=../up' \
        'owner=- mode=- type=d path=db' 'owner=- mode=0750 type=d path=.' \
        'owner=7:7 mode=- type=f path=db' 'owner=8:8 mode=- type=d path=db' >"$T/bad"
    "$V" state --path "$MNT" import "$T/bad" >"$O" 2>"$E"; r=$?
    expect_eq "$S/import with bad lines -> 1" "$r" 1
    has "$S/import counts bad lines" "imported 2 records into $MNT; skipped 1 .*; 5 unreadable lines\$" "$O"
    has "$S/import: not a record line" "bad:3: not a record line" "$E"
    has "$S/import: bad owner" "bad:4: bad owner '1:x'" "$E"
    has "$S/import: bad mode" "bad:5: bad mode '9999'" "$E"
    has "$S/import: refusing .." "bad:6: refusing path '../up'" "$E"
    has "$S/import: refusing an empty record" "bad:7: refusing path 'db'" "$E"
    expect_out "$S/import: '.' is the share root" "750" \
        env VBOXFIX_PATHS="$MNT" LD_PRELOAD="$LIB" stat -c '%a' "$MNT"
    expect_out "$S/import: the good line after bad ones" "8:8" \
        env VBOXFIX_PATHS="$MNT" LD_PRELOAD="$LIB" stat -c '%u:%g' "$MNT/db"
    "$V" state --path "$MNT" forget "$MNT" >/dev/null 2>&1

    rc "$S/missing action -> 125" 125 "$V" state --path "$MNT"
    rc "$S/unknown action -> 125" 125 "$V" state --path "$MNT" frob
    rc "$S/unknown option -> 125" 125 "$V" state --frob list
    rc "$S/import without file -> 125" 125 "$V" state --path "$MNT" import
    rc "$S/import of a missing file -> 125" 125 "$V" state --path "$MNT" import "$T/nope"
    rc "$S/forget outside any share -> 125" 125 "$V" state --path "$MNT" forget /etc/passwd
    rc "$S/--path missing -> 125" 125 "$V" state --path "$T/nope" list
    expect_eq "$S/records live at the share root" "$(ls -A "$SRC" | grep -c '^\.vboxfix\.state$')" 1
    rm -rf "${MNT:?}/db"
done

# ---- doctor: a share the test user cannot write (dirs 0755, owner 4242) -------
if ensure_test_user; then
    d=$(mktemp -d /tmp/vbf-share.XXXXXX); chmod 0755 "$d"; mkdir "$d/src" "$d/mnt"; chmod 0755 "$d/src" "$d/mnt"
    on_exit "share_umount '$d/mnt' && rm -rf '$d'"
    if bindfs -o attr_timeout=0,entry_timeout=0,negative_timeout=0,allow_other \
        --force-user="$SHARE_UID" --force-group="$SHARE_GID" --perms=0644:a+X \
        --chown-ignore --chgrp-ignore --chmod-ignore --xattr-none "$d/src" "$d/mnt" 2>"$E"; then
        M=$d/mnt D=doctor/readonly-for-user
        as_user "$V" doctor "$M" >"$O" 2>"$E"; r=$?
        expect_eq "$D/as the user: exit 1" "$r" 1
        has "$D/says the user cannot write" "CANNOT create files: Permission denied \(EACCES\)" "$O"
        has "$D/fix: run as the share's uid" "run the service as uid $SHARE_UID" "$O"
        has "$D/fix: mount options" "dmode=0777,fmode=0666" "$O"
        has "$D/says no preload library can fix it" "no preload library, vboxfix included, can fix this" "$O"
        has "$D/probe skipped, with the reason" "probe: +skipped: cannot create a directory here as uid $TEST_UID" "$O"
        has "$D/verdict" "verdict: needs action" "$O"

        "$V" doctor --user "$TEST_USER" "$M" >"$O" 2>&1; r=$?
        expect_eq "$D/root with --user: exit 1" "$r" 1
        has "$D/root with --user: probes still run (as root)" "^ +chown +ignored" "$O"
        has "$D/root with --user: fix text" "run the service as uid $SHARE_UID" "$O"
        expect_eq "$D/nothing left behind" "$(leftovers "$d/src")" 0

        "$V" doctor --json --user "$TEST_USER" "$M" >"$O" 2>&1; r=$?
        expect_eq "$D/--json exit 1" "$r" 1
        if json_ok "$O"; then ok "$D/--json valid"; else fail "$D/--json valid" "$(_vbf_oneline "$O")"; fi
        expect_eq "$D/--json write" "$(jget "$O" 'd["shares"][0]["write"]["ok"], d["shares"][0]["write"]["errno"], d["shares"][0]["status"], d["exit"]')" \
            "False EACCES needs-action 1"
        expect_eq "$D/--json fix mentions no library" \
            "$(jget "$O" 'any("no preload library" in f for f in d["shares"][0]["write"]["fix"])')" True

        # one usable, one not, one missing: worst exit wins, JSON still valid
        "$V" doctor --json --user "$TEST_USER" "$M" "$T/nope" >"$O" 2>&1; r=$?
        expect_eq "$D/mixed with a missing path: exit 125" "$r" 125
        if json_ok "$O"; then ok "$D/mixed: --json valid"; else fail "$D/mixed: --json valid" "$(_vbf_oneline "$O")"; fi
        expect_eq "$D/mixed: statuses" "$(jget "$O" '[s["status"] for s in d["shares"]]')" "['needs-action', 'error']"
    else
        skip "$D" "bindfs mount failed: $(_vbf_oneline "$E")"
    fi
fi

# ---- man pages -----------------------------------------------------------------
MAN=$VBF_REPO/docs/man
for m in vboxfix.1 libvboxfix.7; do
    if command -v groff >/dev/null 2>&1; then
        groff -man -Tutf8 -ww -z "$MAN/$m" >"$O" 2>&1
        if [ -s "$O" ]; then fail "man/$m renders without warnings" "$(_vbf_oneline "$O")"
        else ok "man/$m renders without warnings"; fi
    else
        skip "man/$m renders without warnings" "needs groff"
    fi
done
# every variable the library reads is documented, and every exec option
for v in $(grep -o 'get("VBOXFIX[A-Z_]*")' "$VBF_REPO/shim/base/config.c" | sed 's/get("\(.*\)")/\1/' | sort -u); do
    if grep -q "^\.B $v\$" "$MAN/libvboxfix.7"; then ok "man/libvboxfix.7 documents $v"
    else fail "man/libvboxfix.7 documents $v" "no '.B $v' entry"; fi
done
for o in path owner map ttl state log stats user; do
    if grep -q "^\.BI\? .*\\\\-\\\\-$o\b" "$MAN/vboxfix.1"; then ok "man/vboxfix.1 documents exec --$o"
    else fail "man/vboxfix.1 documents exec --$o" "not found"; fi
done
