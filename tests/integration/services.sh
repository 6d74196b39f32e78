# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Helpers for the real-service tests (t_9x_*.sh). Source after lib.sh:
#     . "$(dirname "$0")/lib.sh"; . "$(dirname "$0")/services.sh"
# They run a service the way the official images do: root creates the data
# directory, chown -R's it to the service user and chmod 700's it, then the
# entrypoint drops to that user and execs the server.
#
#   svc_root_lib CMD...       root, with the library (VBOXFIX_PATHS=$MNT)
#   svc_lib USER CMD...       USER (its groups), with the library:
#                             `vboxfix exec --user USER --path $MNT --` when
#                             $B/vboxfix has --user and preloads $LIB,
#                             else setpriv + LD_PRELOAD (same effect)
#   svc_plain USER CMD...     USER, without the library (setpriv)
#   svc_refuse USER CMD...    USER, librefuse.so only (REFUSE_PATHS=$MNT)
#   svc_lib_refuse USER CMD.. USER, libvboxfix with librefuse.so below it
#   svc_dropper               "vboxfix exec --user" or "setpriv" (for names)
#   expect_grep NAME REGEX CMD...  CMD must exit non-zero and its output
#                             (stdout+stderr) match the extended REGEX

VBF_CLI=$B/vboxfix
_svc_dropper=

svc_dropper() {
    if [ -z "$_svc_dropper" ]; then
        _svc_dropper=setpriv
        local want got
        want=$(readlink -f "$LIB")
        if [ -x "$VBF_CLI" ] && "$VBF_CLI" exec --help 2>&1 | grep -q -- '--user'; then
            # only if it preloads the library under test (it also looks in
            # /usr/local/lib, which may hold an older installed copy)
            got=$("$VBF_CLI" exec -- sh -c 'echo "$LD_PRELOAD"' 2>/dev/null)
            [ "${got%%:*}" = "$want" ] && _svc_dropper="vboxfix exec --user"
        fi
    fi
    echo "$_svc_dropper"
}

svc_root_lib() { env LD_PRELOAD="$LIB" VBOXFIX_PATHS="$MNT" "$@"; }

svc_lib() {
    local u=$1; shift
    if [ "$(svc_dropper)" = "vboxfix exec --user" ]; then
        "$VBF_CLI" exec --user "$u" --path "$MNT" -- "$@"
    else
        env LD_PRELOAD="$LIB" VBOXFIX_PATHS="$MNT" \
            setpriv --reuid="$u" --regid="$u" --init-groups -- "$@"
    fi
}

svc_plain() {
    local u=$1; shift
    env -u LD_PRELOAD -u VBOXFIX_PATHS setpriv --reuid="$u" --regid="$u" --init-groups -- "$@"
}

svc_refuse() {
    local u=$1; shift
    env -u VBOXFIX_PATHS LD_PRELOAD="$REFUSE" REFUSE_PATHS="$MNT" \
        setpriv --reuid="$u" --regid="$u" --init-groups -- "$@"
}

svc_lib_refuse() {
    local u=$1; shift
    env LD_PRELOAD="$LIB $REFUSE" REFUSE_PATHS="$MNT" VBOXFIX_PATHS="$MNT" \
        setpriv --reuid="$u" --regid="$u" --init-groups -- "$@"
}

expect_grep() {
    local name=$1 re=$2 out rc=0; shift 2
    out=$(mktemp)
    "$@" >"$out" 2>&1 || rc=$?
    if [ "$rc" -eq 0 ]; then
        fail "$name" "succeeded but should fail: $(_vbf_oneline "$out")"
    elif grep -Eq -- "$re" "$out"; then
        ok "$name"
    else
        fail "$name" "exit $rc without /$re/: $(_vbf_oneline "$out")"
    fi
    rm -f "$out"
}

# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds
wait_for() {
    local n=$(($1 * 5)); shift
    while [ "$n" -gt 0 ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2; n=$((n - 1))
    done
    return 1
}

# svc_third_start T WALK START STOP: the entrypoint's ownership walk, then a
# start and a stop of the server (each a function or command name taking no
# arguments), must add no record to the share's state and not grow its log
# by a byte (issue 12: the walk used to re-chown everything, tens of KiB a
# start; the files the server recreates keep their made records,
# docs/state-store.md "Recreated files"). With SVC_DUMP=DIR the log is
# copied there before and after: what a start appended is the second copy
# past the first one's size (record layout: docs/state-store.md).
svc_nrec() { "$VBF_CLI" state -p "$MNT" list 2>/dev/null | head -n 1 | sed -n 's/.*: \([0-9]*\) record.*/\1/p'; }
svc_third_start() {
    local t=$1 r2 s2 r3 s3
    r2=$(svc_nrec); s2=$(stat -c %s "$SRC/.vboxfix.state")
    [ -n "${SVC_DUMP:-}" ] && cp "$SRC/.vboxfix.state" "$SVC_DUMP/$VBF_SCRIPT-${t//[^a-z]/}-2"
    "$2"
    check "$t third start" "$3"
    check "$t third stop" "$4"
    r3=$(svc_nrec); s3=$(stat -c %s "$SRC/.vboxfix.state")
    [ -n "${SVC_DUMP:-}" ] && cp "$SRC/.vboxfix.state" "$SVC_DUMP/$VBF_SCRIPT-${t//[^a-z]/}-3"
    if [ -n "$r2" ] && [ "${r3:-x}" -le "$r2" ] 2>/dev/null; then ok "$t a third start adds no record ($r2 -> $r3 records)"
    else fail "$t a third start adds no record" "$r2 -> $r3 records"; fi
    if [ -n "$s2" ] && [ "${s3:-x}" -eq "$s2" ] 2>/dev/null; then ok "$t the log does not grow at the third start ($s2 bytes)"
    else fail "$t the log does not grow at the third start" "$s2 -> $s3 bytes"; fi
}
