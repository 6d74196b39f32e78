#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# "Is it working?" (issue 14 item 4): doctor's loaded / covered / state /
# records / presented lines without and with the library, for a running
# process (--pid); "not a share" on a plain directory; its fix sentences
# and JSON options; a share named by a subdirectory uses the state file
# above it (state list, exec, nested shares in one process: one file); the
# VBOXFIX_LOG=info start-up line, once, only in a process that uses a share.
. "$(dirname "$0")/lib.sh"
V=$B/vboxfix
need_file "$V"
need_lib

has() { expect_in_file "$@"; }
hasnt() { expect_not_in_file "$@"; }
jget() {
    "$PYTHON" -c "import json,sys
d=json.load(open(sys.argv[1])); r=($2)
print(*r) if isinstance(r, tuple) else print(r)" "$1" 2>&1
}
tmp_dir T
O=$T/out E=$T/err

# ---- a plain directory ---------------------------------------------------------
mkdir "$T/plain"
"$V" doctor "$T/plain" >"$O" 2>&1; r=$?
expect_eq "plain/exit 0" "$r" 0
has "plain/not a share" "verdict: not a share: vboxfix is not needed here" "$O"
hasnt "plain/never 'usable with vboxfix'" "usable with vboxfix" "$O"
[ -z "$(ls -A "$T/plain")" ] && ok "plain/nothing left behind" || fail "plain/nothing left behind" "$(ls -A "$T/plain")"
"$V" doctor --json "$T/plain" >"$O" 2>&1
expect_eq "plain/--json status" "$(jget "$O" 'd["shares"][0]["status"], d["shares"][0]["needed"]')" "not-a-share False"
expect_eq "plain/--json options filled" "$(jget "$O" 'all(k in d["shares"][0]["options"] for k in ("rw",))')" True

# ---- fix sentences: none starts with "or"; a Docker form ------------------------
if [ "$(id -u)" -eq 0 ] && ensure_test_user; then
    as_user "$V" doctor /proc >"$O" 2>&1
    hasnt "fix/no sentence starts with 'or'" "fix: +or " "$O"
    d=$T/owned; mkdir "$d"; chown 4242:4242 "$d"; chmod 0755 "$d"
    as_user "$V" doctor "$d" >"$O" 2>&1
    has "fix/Docker form" "Docker: --user 4242:4242" "$O"
fi

# ---- on an emulated share -------------------------------------------------------
need_fuse
share_setup ignore
mkdir -p "$MNT/pg"
"$V" exec --path "$MNT" -- chown 999:999 "$MNT/pg"
"$V" exec --path "$MNT" -- chmod 700 "$MNT/pg"

# without the library, without VBOXFIX_PATHS
env -u LD_PRELOAD -u VBOXFIX_PATHS "$V" doctor "$MNT" >"$O" 2>&1
has "doctor/no lib: loaded no" "^  loaded: +no: LD_PRELOAD does not name libvboxfix" "$O"
has "doctor/no lib: says a service may differ" "a service's may differ" "$O"
has "doctor/no VBOXFIX_PATHS: covered no" "^  covered: +no: .*add it: VBOXFIX_PATHS=$MNT" "$O"
has "doctor/state file" "^  state: +$MNT/.vboxfix.state\$" "$O"
has "doctor/records" "^  records: +1\$" "$O"
has "doctor/presented: raw without coverage" "^  presented: +owner $SHARE_UID " "$O"
has "doctor/verdict usable" "verdict: usable with vboxfix" "$O"
[ -z "$(ls -A "$SRC/pg")" ] && ok "doctor/no state file made below" || fail "doctor/no state file made below" "$(ls -A "$SRC/pg")"

# with the library and VBOXFIX_PATHS in doctor's own environment
VBOXFIX_PATHS=$MNT LD_PRELOAD=$LIB "$V" doctor "$MNT/pg" >"$O" 2>&1
has "doctor/lib: loaded yes" "^  loaded: +yes: LD_PRELOAD names .*libvboxfix.so" "$O"
has "doctor/lib: covered by the entry" "^  covered: +yes: VBOXFIX_PATHS entry $MNT \(the path is below it\)" "$O"
has "doctor/lib: presented owner and mode" "^  presented: +owner 999 .*mode 0700" "$O"
has "doctor/lib: probe still raw" "^ +chown +ignored" "$O"

# a running process under the library
VBOXFIX_PATHS=$MNT LD_PRELOAD=$LIB sleep 30 &
sp=$!
on_exit "kill $sp 2>/dev/null"
for _ in $(seq 50); do grep -q libvboxfix "/proc/$sp/maps" 2>/dev/null && break; sleep 0.1; done
env -u LD_PRELOAD -u VBOXFIX_PATHS "$V" doctor --pid "$sp" "$MNT/pg" >"$O" 2>&1
has "doctor/--pid: loaded yes (mapped)" "^  loaded: +yes: process $sp has .*libvboxfix.so mapped" "$O"
has "doctor/--pid: covered by its VBOXFIX_PATHS" "^  covered: +yes: VBOXFIX_PATHS entry $MNT " "$O"
has "doctor/--pid: presented as it sees it" "^  presented: +owner 999 .*mode 0700" "$O"
"$V" doctor --json --pid "$sp" "$MNT/pg" >"$O" 2>&1
expect_eq "doctor/--pid --json" "$(jget "$O" 'd["shares"][0]["loaded"], d["shares"][0]["state"]["records"], d["shares"][0]["presented"]["mode"]')" "yes 1 0700"
kill "$sp" 2>/dev/null
sleep 1 & sp2=$!
"$V" doctor --pid "$sp2" "$MNT" >"$O" 2>&1
has "doctor/--pid without the library: loaded no" "^  loaded: +no: process $sp2 has no libvboxfix mapped" "$O"
wait "$sp2" 2>/dev/null
r=0; "$V" doctor --pid 999999999 "$MNT" >/dev/null 2>"$E" || r=$?
[ "$r" -gt 1 ] && ok "doctor/--pid of no process: usage error" || fail "doctor/--pid of no process: usage error" "exit $r"
has "doctor/--pid of no process: says so" "process 999999999: No such file" "$E"

# ---- a share named by a subdirectory: the state file above it ------------------
expect_eq "subdir/exec --path share/pg sees the record" \
    "$("$V" exec --path "$MNT/pg" -- stat -c '%u %a' "$MNT/pg")" "999 700"
"$V" state --path "$MNT/pg" list >"$O" 2>&1
has "subdir/state list: 1 record, file above" "share $MNT/pg: 1 record, $MNT/.vboxfix.state" "$O"
has "subdir/state list: the record" "0700 +999:999 .*$MNT/pg\$" "$O"
"$V" exec --path "$MNT/pg" -- chown 5:5 "$MNT/pg"
[ ! -e "$SRC/pg/.vboxfix.state" ] && ok "subdir/no second state file" || fail "subdir/no second state file" "$(ls -A "$SRC/pg")"
expect_eq "subdir/record made there is seen from the share root" \
    "$("$V" exec --path "$MNT" -- stat -c '%u' "$MNT/pg")" 5
VBOXFIX_PATHS="$MNT/pg" "$V" doctor "$MNT/pg" >"$O" 2>&1
has "subdir/doctor: state above, under pg/" "^  state: +$MNT/.vboxfix.state \(above the share: its records are those under pg/\)" "$O"
# both as shares of one process: one log, whichever is listed first
for order in "$MNT:$MNT/pg" "$MNT/pg:$MNT"; do
    touch "$MNT/pg/x"
    VBOXFIX_PATHS=$order LD_PRELOAD=$LIB sh -c "chown 6:6 '$MNT/pg/x' && stat -c %u '$MNT/pg/x' '$MNT/pg'" >"$O" 2>&1
    expect_eq "nested $order: both records seen" "$(tr '\n' ' ' <"$O")" "6 5 "
    [ ! -e "$SRC/pg/.vboxfix.state" ] && ok "nested $order: one state file" || fail "nested $order: one state file" "$(ls -A "$SRC/pg")"
    rm -f "$MNT/pg/x"
done

# ---- the start-up line -------------------------------------------------------------
VBOXFIX_LOG=info VBOXFIX_PATHS=$MNT LD_PRELOAD=$LIB stat "$MNT/pg" "$MNT" "$MNT/pg" >/dev/null 2>"$E"
expect_eq "info/one start-up line" "$(grep -c 'info: libvboxfix .*: shares ' "$E")" 1
has "info/names share, state file, owner" "shares $MNT \(fuse\); state $MNT/.vboxfix.state \([0-9]+ records\); owner " "$E"
VBOXFIX_LOG=info VBOXFIX_PATHS=$MNT LD_PRELOAD=$LIB stat /tmp >/dev/null 2>"$E"
expect_eq "info/silent off the shares" "$(cat "$E")" ""
VBOXFIX_LOG=warn VBOXFIX_PATHS=$MNT LD_PRELOAD=$LIB stat "$MNT" >/dev/null 2>"$E"
expect_eq "info/silent at warn" "$(cat "$E")" ""
