#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The cache every process shares (issue 15, shim/cache/cache_shared.c) on the
# emulated share: what one process asked is a hit for the next; a change
# made by one process is seen by the next stat in every other (fresh or
# long-lived); an outside change is seen within VBOXFIX_TTL_MS; writers
# killed mid-entry leave nothing locked; a full table or one scribbled on
# costs only hits, never a wrong answer; another uid gets a table of its own.
# On the code before the shared table, "the next process" checks fail (every
# fresh process asks the share again).
. "$(dirname "$0")/lib.sh"
need_fuse
need_lib
need_file "$FIX/hostile"
need_cmd unshare setpriv timeout
# a private IPC namespace: the tables are this test's own and go with it
in_private_ipc "$@"

cache_share
N=60
mkdir -p "$MNT/d"
for i in $(seq 1 $N); do echo "file $i" >"$MNT/d/f$i"; done
tmp_dir T
# statall: one process stats d/f1..fN and d/m1..m20 (missing), prints
# "sizes missing"
cat >"$T/statall.py" <<EOF
import os
sz = 0; miss = 0
for i in range(1, $N + 1): sz += os.stat('$MNT/d/f%d' % i).st_size
for i in range(1, 21):
    try: os.stat('$MNT/d/m%d' % i)
    except FileNotFoundError: miss += 1
print(sz, miss)
EOF
want=$(python3 "$T/statall.py")
statall() { with_lib "$PYTHON" "$T/statall.py"; }

# --- the next process hits
count_reqs statall >/dev/null
cold=$(count_reqs env VBOXFIX_SHARED_CACHE=0 LD_PRELOAD="$LIB" "$PYTHON" "$T/statall.py")
warm=$(count_reqs statall)
if [ "$cold" -gt 0 ] && [ $((warm * 100)) -le $((cold * 10)) ]; then
    ok "a fresh process is answered by the shared table: $warm requests vs $cold per-process"
else
    fail "a fresh process asks the share again" "$warm requests vs $cold with VBOXFIX_SHARED_CACHE=0"
fi
expect_out "answers from the shared table are the real ones" "$want" statall

# --- a change by one process is seen by the next stat in every other
expect_out "changes by one process seen at once by a long-lived one and by fresh ones" \
    "3 10 10 gone gone found found moved moved 600 600" with_lib "$PYTHON" -c "
import os, subprocess
d = '$MNT/d'; f = d + '/c'
with open(f, 'w') as h: h.write('abc')
def fresh(code): return subprocess.run(['$PYTHON', '-c', 'import os\n' + code], capture_output=True, text=True).stdout.strip()
a = os.stat(f).st_size; fresh('os.stat(\"%s\")' % f)
with open(f, 'w') as h: h.write('0123456789')  # this process writes...
r = [a, os.stat(f).st_size, int(fresh('print(os.stat(\"%s\").st_size)' % f))]
fresh('os.unlink(\"%s\")' % f)                      # ...then others do
r.append('gone' if not os.path.exists(f) else 'STALE')
r.append(fresh('print(\"gone\" if not os.path.exists(\"%s\") else \"STALE\")' % f))
n = d + '/new'; os.path.exists(n); fresh('os.path.exists(\"%s\")' % n)
fresh('open(\"%s\", \"w\").close()' % n)
r.append('found' if os.path.exists(n) else 'STALE')
r.append(fresh('print(\"found\" if os.path.exists(\"%s\") else \"STALE\")' % n))
os.mkdir(d + '/t'); open(d + '/t/x', 'w').close(); os.stat(d + '/t/x'); fresh('os.stat(\"%s/t/x\")' % d)
fresh('os.rename(\"%s/t\", \"%s/t2\")' % (d, d))
r.append('moved' if not os.path.exists(d + '/t/x') else 'STALE')
r.append(fresh('print(\"moved\" if not os.path.exists(\"%s/t/x\") and os.path.exists(\"%s/t2/x\") else \"STALE\")' % (d, d)))
os.stat(n); fresh('os.chmod(\"%s\", 0o600)' % n)
r.append(oct(os.stat(n).st_mode & 0o777)[2:]); r.append(fresh('print(oct(os.stat(\"%s\").st_mode & 0o777)[2:])' % n))
print(*r)"

# --- chown -R, then find: the chown's stats fill the table, and a chown the
# share ignores changes nothing real, so find's stats are hits (170% of
# bare before: each chown was a stat, the chown and a write and read back)
mkdir -p "$MNT/ch"
for j in 1 2; do mkdir -p "$MNT/ch/d$j"; for i in $(seq 1 60); do echo "$i" >"$MNT/ch/d$j/f$i"; done; done
walk='chown -R 1000:1000 "$0" && find "$0" -printf "%U %G %m\n"'
bare=$(count_reqs sh -c "$walk" "$MNT/ch")
lib=$(count_reqs unshare --ipc env LD_PRELOAD="$LIB" sh -c "$walk" "$MNT/ch")
if [ "$bare" -gt 0 ] && [ $((lib * 100)) -le $((bare * 110)) ]; then ok "chown -R then find: $lib requests vs $bare bare"
else fail "chown -R then find costs more than 1.1x bare" "$lib requests vs $bare bare"; fi
expect_out "chown -R then find: the new owner shown" "1000 1000" \
    sh -c "LD_PRELOAD='$LIB' find '$MNT/ch' -printf '%U %G\n' | sort -u"

# --- outside changes: within the TTL, in a fresh process too
expect_out "an outside change is seen by a fresh process once the TTL passed" "3 10" \
    env VBOXFIX_TTL_MS=300 LD_PRELOAD="$LIB" "$PYTHON" -c "
import os, subprocess, time
p = '$MNT/d/out'
with open('$SRC/d/out', 'w') as h: h.write('abc')
a = os.stat(p).st_size
with open('$SRC/d/out', 'w') as h: h.write('0123456789')
time.sleep(0.4)
print(a, subprocess.run(['$PYTHON', '-c', 'import os; print(os.stat(\"%s\").st_size)' % p], capture_output=True, text=True).stdout.strip())"

# --- writers killed while they fill entries leave nothing locked
for k in 1 2 3 4 5 6 7 8; do
    LD_PRELOAD="$LIB" "$PYTHON" -c "
import os
while True:
    for i in range(1, $N + 1): os.stat('$MNT/d/f%d' % i)" &
    p=$!
    sleep 0.$((k % 3 + 1))
    kill -9 "$p"; wait "$p" 2>/dev/null
done
# every entry left as a writer that died in the middle would leave it (odd
# version): the next writers take them over. (1024 entries: 4-way sets of a
# smaller table can get 5 of these 81 names, which then evict each other.)
VBOXFIX_SHARED_CACHE=1024 statall >/dev/null
"$PYTHON" - <<'EOF' || fail "cannot mark the table's entries" "python ctypes"
import ctypes, ctypes.util
libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
for line in open('/proc/sysvipc/shm').read().splitlines()[1:]:
    f = line.split()
    shmid, perms, size = int(f[1]), int(f[2], 8), int(f[3])
    if perms & 0o777 != 0o600 or (size - 64) % 1024 or not 300 <= (size - 64) // 1024 <= 512:
        continue
    es = (size - 64) // 1024
    p = libc.shmat(shmid, None, 0)
    for i in range(1024):
        v = ctypes.c_uint32.from_address(p + 64 + i * es)
        v.value |= 1
EOF
sleep 0.3 # (a writer's entry is taken over once it has been odd 100 ms)
VBOXFIX_SHARED_CACHE=1024 count_reqs statall >/dev/null
a=$(VBOXFIX_SHARED_CACHE=1024 count_reqs statall)
got=$(VBOXFIX_SHARED_CACHE=1024 statall)
if [ "$got" = "$want" ] && [ $((a * 100)) -le $((cold * 10)) ]; then
    ok "writers killed mid-entry leave nothing locked: entries taken over, $a requests"
else
    fail "entries left by dead writers stay unusable" "answer '$got' (want '$want'), $a requests vs $cold"
fi

# --- a full table: only hits lost
got=$(VBOXFIX_SHARED_CACHE=8 statall; VBOXFIX_SHARED_CACHE=8 statall)
expect_eq "a table far smaller than the names: right answers" "$got" "$want
$want"

# --- a table scribbled on (root rewrites every segment): only hits lost
statall_right() {
    local got
    got=$(timeout 20 env LD_PRELOAD="$LIB" "$PYTHON" "$T/statall.py" 2>/dev/null)
    [ "$got" = "$want" ] || { echo "under attack: '$got'" >&2; return 1; }
}
while_scribbled 4 "a scribbled table: every answer right" statall_right
# the generation page (0666) was scribbled on too, and a generation spun
# far forward keeps its names uncached (cache_shm.c): start a new one, to
# see what the table itself does
awk 'NR > 1 && $3 == 666 { print $2 }' /proc/sysvipc/shm | xargs -r -n1 ipcrm -m
count_reqs statall >/dev/null
a=$(count_reqs statall)
[ $((a * 100)) -le $((cold * 10)) ] && ok "after the scribbling the table serves hits again ($a requests)" ||
    fail "the table stays unusable after the scribbling" "$a requests vs $cold"

# --- another uid: a table of its own, never one written by someone else
ensure_test_user || { fail "$VBF_SCRIPT" "cannot create $TEST_USER"; exit 1; }
U=(setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups env HOME=/ "LD_PRELOAD=$LIB")
got=$("${U[@]}" "$PYTHON" "$T/statall.py" 2>/dev/null)
expect_eq "another uid's answers are right" "$got" "$want"
segs=$(awk 'NR > 1 && $3 == 600 { print $8 }' /proc/sysvipc/shm | sort -u | tr '\n' ' ')
if [[ " $segs " == *" 0 "* && " $segs " == *" $TEST_UID "* ]]; then
    ok "each uid has a table of its own, mode 0600 (owners: $segs)"
else
    fail "tables per uid" "owners of 0600 segments: $segs"
fi
