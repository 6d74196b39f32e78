#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Logs read from memory (issue 15: fewer requests per process;
# docs/state-store.md, "Logs read from memory"). A process under the library
# that touches a share replays the copy of the state file another process
# of its euid kept, once one stat shows the log is still that file and no
# longer, and opens the log only to write or when the shared counter moves.
# Every record must still be seen at once by every process: one appended in
# this IPC namespace, one appended from another (a container: its counter is
# another page's), a log compacted meanwhile, a copy scribbled on, and a
# record written after the process changed its uid.
# On the code before, a fresh process's stat of the share's root cost the
# bare 3 requests + 7 (the log's walk, open, read and release): "a fresh
# process ... replays the copy" fails.
. "$(dirname "$0")/lib.sh"
CLI=$B/vboxfix
need_fuse
need_lib
need_file "$FIX/hostile" "$CLI"
need_cmd unshare setpriv timeout stat
in_private_ipc "$@"

cache_share
mkdir -p "$SRC/d"
for i in 1 2 3 4; do echo "$i" >"$SRC/d/f$i"; done
chmod -R a+rwX "$SRC"
with_lib chown 1234:1234 "$MNT/d/f1" || fail "a record" "chown failed"
L="env LD_PRELOAD=$LIB"
# stat NAMES from the share's root in a fresh process under the library
at() { (cd "$MNT" && with_lib stat -c %u:%g:%a "$@" | tr '\n' ' ' | sed 's/ $//'); }

# ---- requests: the fewest of 3 runs with the library against the most of 3
# bare (the daemon's count runs one over, with the library: 2 allowed)
runs() {
    local i
    for i in 1 2 3; do count_reqs sh -c "cd '$MNT' && $1 stat -c %u ."; done
}
fewest() { runs "$1" | sort -n | head -1; }
most() { runs "$1" | sort -n | tail -1; }
with_lib stat "$MNT" >/dev/null # reads the log whole and keeps it
bare=$(most env)
lib=$(fewest "$L")
cold=$(fewest "unshare --ipc $L") # another IPC namespace: no copy there
if [ "$bare" -gt 0 ] && [ "$lib" -le $((bare + 2 + 2)) ] && [ "$cold" -ge $((lib + 4)) ]; then
    ok "a fresh process's stat of the share's root replays the copy: $lib requests, bare $bare, $cold without a copy"
else
    fail "a fresh process ... replays the copy" "$lib requests, bare $bare, $cold without a copy (want at most bare + 4, and 4 under it)"
fi
expect_eq "what the copy presents is the record" "$(at d/f1 d/f2)" "1234:1234:666 0:0:666"

# a process that replays the copy and then writes a record opens the log
# without reading its head or its tail again: no more than one that reads
# it (it was 2 more: the stat, then the open's read)
wr() {
    local i
    for i in 1 2 3; do
        with_lib stat "$MNT" >/dev/null
        count_reqs sh -c "cd '$MNT' && $1 chmod 0604 d/f3"
    done
}
wcopy=$(wr "$L" | sort -n | tail -1)
wcold=$(wr "unshare --ipc $L" | sort -n | head -1)
if [ "$wcopy" -le "$wcold" ]; then ok "a process that writes costs no more with a copy: $wcopy requests, $wcold without"
else fail "a process that writes costs more with a copy" "$wcopy requests, $wcold without"; fi

# ---- a record appended in this namespace: seen by the next process, and by
# the one after (the copy kept again)
with_lib chown 2345:2345 "$MNT/d/f2"
expect_eq "a record appended here is seen by the next process" "$(at d/f2)" "2345:2345:666"
expect_eq "and by the one after it" "$(at d/f2)" "2345:2345:666"

# ---- a record appended from another IPC namespace (its counter does not
# move ours): the log is longer than the copy, which is not used
with_lib stat "$MNT" >/dev/null
unshare --ipc env LD_PRELOAD="$LIB" chown 3456:3456 "$MNT/d/f2"
expect_eq "a record another namespace appended is seen at once" "$(at d/f2)" "3456:3456:666"

# ---- a log compacted from another namespace: another file, read whole; a
# record written then goes into the new log
with_lib stat "$MNT" >/dev/null
unshare --ipc "$CLI" state --path "$MNT" compact >/dev/null 2>&1 || fail "compaction" "vboxfix state compact failed"
expect_eq "after a compaction elsewhere: the records" "$(at d/f1 d/f2 d/f3)" "1234:1234:666 3456:3456:666 0:0:604"
with_lib chown 4567:4567 "$MNT/d/f3"
expect_eq "a record written after it is in the new log" \
    "$(cd "$MNT" && unshare --ipc env LD_PRELOAD="$LIB" stat -c %u:%g d/f3)" "4567:4567"

# ---- a record written after a change of uid: the log opened before it
ensure_test_user || { fail "$VBF_SCRIPT" "cannot create $TEST_USER"; exit 1; }
with_lib chown "$TEST_UID:$TEST_GID" "$MNT/d/f4"
with_lib stat "$MNT" >/dev/null
out=$(with_lib "$PYTHON" -c "
import os
os.stat('$MNT/d/f4')
os.setgid($TEST_GID); os.setuid($TEST_UID)
os.chmod('$MNT/d/f4', 0o604)
print('done')" 2>&1)
expect_eq "a process that read the copy, then setuid, chmods" "$out" "done"
expect_eq "its record is in the log" \
    "$(cd "$MNT" && unshare --ipc env LD_PRELOAD="$LIB" stat -c %u:%a d/f4)" "$TEST_UID:604"

# ---- the copies scribbled on (root rewrites every segment of this IPC
# namespace) while records are written: only reads of the log are lost
chown_seen() {
    local u=$((5000 + $1)) got
    with_lib chown "$u:$u" "$MNT/d/f2" 2>/dev/null
    got=$(timeout 20 env LD_PRELOAD="$LIB" stat -c %u "$MNT/d/f2" 2>/dev/null)
    [ "$got" = "$u" ] || { echo "under attack: chown $u, stat $got" >&2; return 1; }
}
while_scribbled 3 "scribbled copies: every record seen by the next process" chown_seen
# the counter page (0666) was scribbled too: a new one, then the copies work again
awk 'NR > 1 && $3 == 666 { print $2 }' /proc/sysvipc/shm | xargs -r -n1 ipcrm -m
with_lib stat "$MNT" >/dev/null
lib=$(fewest "$L")
[ "$lib" -le $((bare + 4)) ] && ok "after the scribbling the copies are used again ($lib requests)" ||
    fail "the copies stay unusable after the scribbling" "$lib requests, bare $bare"
expect_eq "and present the records" "$(at d/f1 d/f4)" "1234:1234:666 $TEST_UID:$TEST_GID:604"

