#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hostile shared pages (issue 11, item 1): another uid rewrites every shared
# page of the library (SysV segments, and the /dev/shm files older versions
# used) with random bytes, the write-registry poison {pid=999999999,
# bucket=0x40000000}, zeros, 0xff, spinning and rewound counters, and
# truncates the files, while processes under the library start, stat, open
# for writing, fork and chown on the emulated share, as root and as another
# user. No process may crash or hang; once the writer has stopped and the
# TTL has passed, every answer is right again.
# It runs in a private IPC namespace and a private /dev/shm (unshare), so
# the pages it attacks are its own and vanish with it.
# On the code before the pages were SysV segments and range-checked, new
# processes die of SIGSEGV (poisoned slots) and running ones of SIGBUS
# (truncated /dev/shm files) within the first seconds.
#   VBF_T88_SECONDS  how long the writer runs (default 12)
#   VBF_T88_KEEP     a path prefix: keep the failures (.bad) and stderr there
. "$(dirname "$0")/lib.sh"
need_fuse
need_lib
need_file "$PROBE" "$FIX/hostile"
need_cmd unshare setpriv timeout

if [ "${VBF_T88_INNER:-0}" != 1 ]; then
    share_setup ignore
    rc=0
    VBF_T88_INNER=1 unshare --ipc --mount --propagation private bash "$0" || rc=$?
    exit "$rc"
fi

# ---- inside the private namespaces
mount -t tmpfs -o mode=1777,size=64m vbf-t88 /dev/shm ||
    { fail "$VBF_SCRIPT" "cannot mount a private /dev/shm"; exit 1; }
DUR=${VBF_T88_SECONDS:-12}
TTL=200
HOSTILE_UID=4391 # a uid of its own: neither root, the share owner nor the test user
export VBOXFIX_PATHS=$MNT VBOXFIX_TTL_MS=$TTL
unset VBOXFIX_CACHE_MAX VBOXFIX_STATS VBOXFIX_STATE VBOXFIX_LOG
tmp_dir T
chmod 0777 "$T"
BAD=$T/bad        # one line per process that crashed, hung or answered wrong
OWN=$T/owners     # "i uid gid" per acknowledged chown, last one wins
: >"$BAD"
: >"$OWN"
chmod 0666 "$BAD"
D=$MNT/h
mkdir -p "$D"
for i in 0 1 2 3 4 5 6 7; do echo "data$i" >"$D/f$i"; done

ensure_test_user || { fail "$VBF_SCRIPT" "cannot create $TEST_USER"; exit 1; }
L=(env "LD_PRELOAD=$LIB")
U=(setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups env HOME=/ "LD_PRELOAD=$LIB")

# run TAG WANT CMD...: CMD (a program) under a timeout; a signal, a timeout,
# a non-zero exit or (WANT not empty) stdout not starting with WANT goes to
# $BAD (stderr, e.g. a warning that a page was unusable, is not an answer)
run() {
    local tag=$1 want=$2 out rc=0; shift 2
    out=$(timeout -k 5 20 "$@" 2>>"$T/stderr") || rc=$?
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then echo "$tag: hung ($rc)" >>"$BAD"
    elif [ "$rc" -gt 128 ]; then echo "$tag: killed by signal $((rc - 128))" >>"$BAD"
    elif [ "$rc" -ne 0 ]; then echo "$tag: exit $rc: $(echo "$out" | head -c 200 | tr '\n' ' ')" >>"$BAD"
    elif [ -n "$want" ] && [ "${out#"$want"}" = "$out" ]; then
        echo "$tag: answered '$(echo "$out" | head -c 200 | tr '\n' ' ')'" >>"$BAD"
    fi
    [ "$rc" -eq 0 ]
}

# pages exist before the writer starts (it also picks up new ones)
run first uid= "${L[@]}" "$PROBE" stat "$D/f0"

setpriv --reuid="$HOSTILE_UID" --regid="$HOSTILE_UID" --clear-groups \
    "$FIX/hostile" -a -t "$DUR" -d /dev/shm >"$T/hostile.out" 2>&1 &
HPID=$!
END=$((SECONDS + DUR))

# starts, stats and chowns as root
(
    n=0
    while [ "$SECONDS" -lt "$END" ]; do
        i=$((n % 8)) u=$((1000 + n % 97)) g=$((2000 + n % 89))
        run "root true" "" "${L[@]}" /bin/true
        run "root stat f$i" uid= "${L[@]}" "$PROBE" stat "$D/f$i"
        run "root lstat f$i" uid= "${L[@]}" "$PROBE" lstat "$D/f$i"
        if run "root chown f$i" ok "${L[@]}" "$PROBE" chown "$D/f$i" "$u" "$g"; then
            echo "$i $u $g" >>"$OWN"
        fi
        n=$((n + 1))
    done
    echo "$n" >"$T/root.n"
) &
ROOTW=$!

# starts and stats as another user
(
    n=0
    while [ "$SECONDS" -lt "$END" ]; do
        run "user true" "" "${U[@]}" /bin/true
        run "user stat" uid= "${U[@]}" "$PROBE" stat "$D/f$((n % 8))"
        n=$((n + 1))
    done
    echo "$n" >"$T/user.n"
) &
USERW=$!

# one process that lives through the whole attack: stats, opens for
# writing (the registry), dup, close, fork
run "long-lived process" rounds "${L[@]}" "$PYTHON" -c "
import os, sys, time
d = '$D'; end = time.time() + $DUR; n = 0
while time.time() < end:
    for i in range(8):
        p = '%s/f%d' % (d, i)
        os.stat(p); os.lstat(p)
        fd = os.open(p, os.O_WRONLY | os.O_APPEND); os.write(fd, b'x')
        fd2 = os.dup(fd); os.close(fd); os.close(fd2)
    pid = os.fork()
    if pid == 0:
        os.stat(d + '/f0'); os._exit(0)
    st = os.waitpid(pid, 0)[1]
    if st != 0:
        print('child died: status %d' % st, file=sys.stderr); sys.exit(3)
    n += 1
print('rounds', n)"

wait "$ROOTW" "$USERW"
wait "$HPID"
hrc=$?
hout=$(cat "$T/hostile.out")
case $hout in
    "hostile: "*) ;;
    *) fail "hostile writer ran" "exit $hrc: $hout" ;;
esac
nseg=$(echo "$hout" | sed -n 's/.* \([0-9]*\) segments.*/\1/p')
nfile=$(echo "$hout" | sed -n 's/.* \([0-9]*\) files.*/\1/p')
if [ "${nseg:-0}" -gt 0 ] || [ "${nfile:-0}" -gt 0 ]; then
    ok "another uid rewrote the pages for ${DUR}s ($hout)"
else
    fail "the hostile writer reached no page" "$hout"
fi

nbad=$(wc -l <"$BAD")
runs="root rounds $(cat "$T/root.n" 2>/dev/null), user rounds $(cat "$T/user.n" 2>/dev/null)"
if [ "$nbad" -eq 0 ]; then
    ok "no crash, no hang, no error under attack ($runs)"
else
    fail "processes crashed, hung or failed under attack" "$nbad of them: $(sort "$BAD" | uniq -c | sort -rn | head -5 | tr '\n' ';')"
fi
[ -n "${VBF_T88_KEEP:-}" ] && cp "$BAD" "$VBF_T88_KEEP.bad" && cp "$T/stderr" "$VBF_T88_KEEP.stderr"

# ---- after the attack: once the TTL has passed, answers are right
sleep 0.5
wrong=0 checked=0
for i in 0 1 2 3 4 5 6 7; do
    last=$(awk -v i="$i" '$1 == i { u = $2; g = $3 } END { if (u != "") print u, g }' "$OWN")
    [ -n "$last" ] || continue
    set -- $last
    size=$(stat -c %s "$SRC/h/f$i")
    got=$(timeout 20 env LD_PRELOAD="$LIB" "$PROBE" stat "$D/f$i" 2>/dev/null)
    checked=$((checked + 1))
    case $got in
        "uid=$1 gid=$2 "*"size=$size") ;;
        *) wrong=$((wrong + 1)); echo "f$i: got '$got', want uid=$1 gid=$2 size=$size" >&2 ;;
    esac
done
if [ "$checked" -gt 0 ] && [ "$wrong" -eq 0 ]; then
    ok "after the attack: every file shows its last acknowledged chown and its real size ($checked files)"
else
    fail "after the attack, answers are wrong" "$wrong of $checked files wrong (or no chown was acknowledged)"
fi

# the cache works again once the pages are clean: repeated stats hit, and
# a change by another process is seen (within the TTL)
expect_out "after the attack: a change by another process is seen within the TTL" "5 12 ok" \
    with_lib "$PYTHON" -c "
import os, subprocess, time
p = '$D/f7'
with open(p, 'w') as h: h.write('12345')
a = os.stat(p).st_size; os.stat(p)
subprocess.run(['sh', '-c', 'printf 0123456789ab > \"\$0\"', p], check=True)
time.sleep($TTL / 1000 + 0.1)
b = os.stat(p).st_size
print(a, b, 'ok' if os.path.exists(p) else 'gone')"
expect_out "after the attack: start-up is clean" "" with_lib /bin/true
