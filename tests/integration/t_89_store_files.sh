#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The state store's files cannot be turned against it (issue 11, items 3
# and 5): rmdir of a share root keeps every record unless the store's files
# are all that is left; a state file that is not one (another file, a FIFO,
# a device) is never appended to, replaced or blocked on; killed
# compactions leave no temporary file behind for long; a huge sparse state
# file costs a bounded time at start.
. "$(dirname "$0")/lib.sh"
need_fuse
need_lib
need_cmd timeout "$PYTHON"

share_setup ignore
CLI=$B/vboxfix

# --- rmdir --ignore-fail-on-non-empty of a share root with files in it
mkdir -p "$SRC/data/sub" && touch "$SRC/data/f"
export VBOXFIX_PATHS=$MNT/data
with_lib chown -R 999:999 "$MNT/data" && with_lib chmod 700 "$MNT/data"
check "rmdir --ignore-fail-on-non-empty of a non-empty share root returns 0" \
    with_lib rmdir --ignore-fail-on-non-empty "$MNT/data"
expect_out "and every record stays" "999:999 700 999:999" with_lib sh -c \
    "echo \$(stat -c '%u:%g %a' '$MNT/data') \$(stat -c '%u:%g' '$MNT/data/f')"
expect_out "plain rmdir of it answers ENOTEMPTY" "ENOTEMPTY" with_lib "$PYTHON" -c "
import os, errno
try: os.rmdir('$MNT/data')
except OSError as e: print(errno.errorcode[e.errno])"
expect_out "records still there after it" "999:999" with_lib stat -c '%u:%g' "$MNT/data/f"
if [ -f "$SRC/data/.vboxfix.state" ]; then ok "the state file is still there"; else fail "the state file is still there" "gone"; fi
# only the store's files left: the root goes, with them
rm -rf "$SRC/data/f" "$SRC/data/sub"
check "rmdir of a share root holding only the store's files" with_lib rmdir "$MNT/data"
if [ ! -e "$SRC/data" ]; then ok "the share root is gone"; else fail "the share root is gone" "$(ls -A "$SRC/data")"; fi
unset VBOXFIX_PATHS
export VBOXFIX_PATHS=$MNT

# --- VBOXFIX_STATE at a file that is not a state file
tmp_dir T
printf 'root:$6$secret:19000:0:99999:7:::\n' >"$T/shadow"
cp "$T/shadow" "$T/shadow.orig"
mkdir -p "$SRC/x" && touch "$SRC/x/f"
VBOXFIX_STATE=$T/shadow with_lib chown 12:34 "$MNT/x/f" 2>"$T/err"
if cmp -s "$T/shadow" "$T/shadow.orig"; then ok "a foreign VBOXFIX_STATE is not appended to"; else fail "a foreign VBOXFIX_STATE is not appended to" "it changed"; fi
if grep -q "not a vboxfix state file" "$T/err"; then ok "and says why"; else fail "and says why" "$(cat "$T/err")"; fi
VBOXFIX_STATE=$T/shadow with_lib "$CLI" state --path "$MNT" compact >/dev/null 2>&1
if cmp -s "$T/shadow" "$T/shadow.orig"; then ok "nor replaced by a compaction"; else fail "nor replaced by a compaction" "it changed"; fi

# --- a FIFO or a device as the state file never blocks (records then live
# in the memory of the process that made them)
mkfifo "$T/fifo"
chown_stat="import os; os.chown('$MNT/x/f', 12, 34); s = os.stat('$MNT/x/f'); print('%d:%d' % (s.st_uid, s.st_gid))"
expect_out "VBOXFIX_STATE=FIFO: chown and stat finish" "12:34" timeout 10 env VBOXFIX_STATE="$T/fifo" \
    LD_PRELOAD="$LIB" VBOXFIX_LOG=error "$PYTHON" -c "$chown_stat"
expect_out "VBOXFIX_STATE=/dev/zero: chown and stat finish" "12:34" timeout 10 env VBOXFIX_STATE=/dev/zero \
    LD_PRELOAD="$LIB" VBOXFIX_LOG=error "$PYTHON" -c "$chown_stat"
rm -f "$SRC/.vboxfix.state"
mkfifo "$SRC/.vboxfix.state"
expect_out "a FIFO named .vboxfix.state on the share: 2000 chowns finish" "done" timeout 60 env \
    LD_PRELOAD="$LIB" VBOXFIX_LOG=error sh -c \
    "i=0; while [ \$i -lt 2000 ]; do chown \$i:\$i '$MNT/x/f' || exit 1; i=\$((i+1)); done; echo done"
rm -f "$SRC/.vboxfix.state"

# --- temporary files of killed compactions are removed by the next one
with_lib chown 5:6 "$MNT/x/f"
for p in 11 22 33; do cp "$SRC/.vboxfix.state" "$SRC/.vboxfix.state.tmp.$p"; done
check "a compaction succeeds" with_lib "$CLI" state --path "$MNT" compact
left=$(find "$SRC" -maxdepth 1 -name '.vboxfix.state.tmp.*' | wc -l)
expect_eq "and leaves no temporary file" "$left" 0
expect_out "records survive it" "5:6" with_lib stat -c %u:%g "$MNT/x/f"

# --- a huge sparse state file: bounded start-up
with_lib chown 7:8 "$MNT/x/f"
truncate -s 2G "$SRC/.vboxfix.state"
start=$(date +%s%N)
expect_out "a process starts with a 2 GB sparse state file" "ok" timeout 20 env LD_PRELOAD="$LIB" \
    VBOXFIX_LOG=error sh -c "stat '$MNT/x/f' >/dev/null && echo ok"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$ms" -lt 2000 ]; then ok "in bounded time (${ms} ms)"; else fail "in bounded time" "${ms} ms"; fi
rm -f "$SRC/.vboxfix.state"


# --- files planted beside the log by another user (docs/hardening.md)
rm -f "$SRC/.vboxfix.state" "$SRC/.vboxfix.state.lock"
ln -s "$T/planted-target" "$SRC/.vboxfix.state.lock"
with_lib chown 3:3 "$MNT/x/f" 2>/dev/null
if [ ! -e "$T/planted-target" ]; then ok "a symlink planted as the lock file is not followed"
else fail "a symlink planted as the lock file is not followed" "$(stat -c '%U %a' "$T/planted-target")"; fi
rm -f "$SRC/.vboxfix.state.lock"
: >"$T/empty-target"; chmod 0600 "$T/empty-target"
rm -f "$T/st" "$T/st.lock"; ln -s "$T/empty-target" "$T/st.lock"
VBOXFIX_STATE=$T/st with_lib chown 4:4 "$MNT/x/f" 2>/dev/null
expect_eq "nor made world-writable through VBOXFIX_STATE's lock name" "$(stat -c %a "$T/empty-target")" 600

# --- a share named by a subdirectory without a log of its own can be removed
mkdir -p "$SRC/pg"
with_lib chown 5:5 "$MNT/x/f"
check "rmdir of a share whose records live above it" env VBOXFIX_PATHS="$MNT/pg" LD_PRELOAD="$LIB" rmdir "$MNT/pg"

# --- another user holding the log's lock costs one bounded wait, not a hang
if ensure_test_user && [ -f "$SRC/.vboxfix.state" ]; then
    chmod 0666 "$SRC/.vboxfix.state"
    chmod 0777 "$T"
    # through the share, as the library holds it (a lock on the backing
    # file would be another inode)
    as_user "$PYTHON" -c "
import fcntl, os, time
fd = os.open('$MNT/.vboxfix.state', os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 1, 0x7fff0000)
open('$T/held', 'w').write(str(os.getpid()))
time.sleep(60)" >/dev/null 2>&1 &
    holder=$!
    on_exit "kill \$(cat '$T/held' 2>/dev/null) $holder 2>/dev/null || true"
    for _ in $(seq 50); do [ -e "$T/held" ] && break; sleep 0.1; done
    start=$(date +%s%N)
    with_lib stat "$MNT/x/f" >/dev/null
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    if [ "$ms" -lt 2000 ]; then ok "a stat does not wait for a held lock (${ms} ms)"; else fail "a stat does not wait for a held lock" "${ms} ms"; fi
    start=$(date +%s%N)
    timeout 60 env LD_PRELOAD="$LIB" VBOXFIX_LOG=error "$PYTHON" -c "
import os
for i in range(5): os.chown('$MNT/x/f', 10 + i, 10 + i)"
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    if [ "$ms" -ge 9000 ] && [ "$ms" -lt 15000 ]; then ok "five chowns under a held lock wait once, not five times (${ms} ms)"
    else fail "five chowns under a held lock wait once" "${ms} ms"; fi
    kill "$(cat "$T/held")" "$holder" 2>/dev/null || true
else
    skip "a held lock" "no test user or no state file"
fi
