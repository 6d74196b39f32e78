#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every process (issue 8): children keep the library whatever the program does
# to its environment; threads, fork, vfork and signals on a share neither
# deadlock nor show a stale view; a lock held at fork or re-entered from a
# signal handler is harmless; injected errors pass through unchanged; secure
# mode (setuid) leaves the library inert.
#   VBF_STRESS_SECONDS/THREADS/PROCS size the stress run (10 s, 8 x 2 here;
#   `make stress` runs 60 s, 32 x 4).
. "$(dirname "$0")/lib.sh"
need_lib
# built by mk/hardening.mk; build them here if the Makefile does not include it yet
if [ ! -e "$FIX/stress" ] || [ ! -e "$FIX/execs" ] || [ ! -e "$FIX/libfaults.so" ]; then
    make -s -C "$VBF_REPO" -f Makefile -f mk/hardening.mk B="$B" \
        "$FIX/stress" "$FIX/execs" "$FIX/libfaults.so" >/dev/null 2>&1 || true
fi
need_file "$PROBE" "$FIX/stress" "$FIX/execs" "$FIX/libfaults.so"
FAULTS=$FIX/libfaults.so
EXECS=$FIX/execs
STRESS=$FIX/stress

# ---- children keep the library (no share needed: the environment itself) ----
envof() { "$@" 2>/dev/null | grep -E '^(LD_PRELOAD|VBOXFIX[A-Z_]*)=' | sort | tr '\n' ' ' | sed 's/ $//'; }
WANT="LD_PRELOAD=$LIB VBOXFIX_PATHS=/nonexistent-vbf VBOXFIX_TTL_MS=5"
export VBOXFIX_PATHS=/nonexistent-vbf VBOXFIX_TTL_MS=5
expect_eq "env -i" "$(envof with_lib env -i /usr/bin/env)" "$WANT"
expect_eq "unset LD_PRELOAD and VBOXFIX_* in a shell" \
    "$(envof with_lib bash -c 'unset LD_PRELOAD VBOXFIX_PATHS VBOXFIX_TTL_MS; exec /usr/bin/env')" "$WANT"
expect_eq "python subprocess(env={})" \
    "$(envof with_lib "$PYTHON" -c 'import subprocess,sys; sys.stdout.write(subprocess.run(["/usr/bin/env"], env={}, capture_output=True, text=True).stdout)')" "$WANT"
expect_eq "python os.posix_spawn with an empty env" \
    "$(envof with_lib "$PYTHON" -c 'import os; p=os.posix_spawn("/usr/bin/env", ["env"], {}); os.waitpid(p, 0)')" "$WANT"
for how in execve execv-clearenv execl-clearenv execle execlp-clearenv execvp-clearenv execvpe fexecve \
           posix_spawn posix_spawnp vfork-execve system-clearenv; do
    expect_eq "$how keeps the library" "$(envof with_lib "$EXECS" "$how" /usr/bin/env)" "$WANT"
done
expect_eq "LD_PRELOAD replaced by another library (postgres entrypoint + nss_wrapper): ours added first" \
    "$(envof with_lib env EXECS_OTHER_PRELOAD="$REFUSE" "$EXECS" execve-other /usr/bin/env)" \
    "LD_PRELOAD=$LIB $REFUSE VBOXFIX_PATHS=/nonexistent-vbf VBOXFIX_TTL_MS=5"
expect_eq "a child's own VBOXFIX_* value wins" \
    "$(envof with_lib env -i VBOXFIX_TTL_MS=7 /usr/bin/env)" \
    "LD_PRELOAD=$LIB VBOXFIX_PATHS=/nonexistent-vbf VBOXFIX_TTL_MS=7"
expect_eq "VBOXFIX=off in the child's environment is the way out" \
    "$(with_lib "$EXECS" execve-off /usr/bin/env 2>/dev/null | tr '\n' ' ' | sed 's/ $//')" "VBOXFIX=off"
expect_eq "a process started with VBOXFIX=off re-injects nothing" \
    "$(envof with_lib env VBOXFIX=off env -i /usr/bin/env)" ""
expect_eq "without the library nothing is re-injected" "$(envof env -i /usr/bin/env)" ""
expect_eq "grandchildren too (env -i sh -c 'env -i env')" \
    "$(envof with_lib env -i sh -c 'exec env -i /usr/bin/env')" "$WANT"
unset VBOXFIX_PATHS VBOXFIX_TTL_MS

# ---- secure mode: a setuid program. glibc drops LD_PRELOAD there; the library
# must be inert where it still loads (/etc/ld.so.preload), which is tried in
# a private mount namespace so the system is not touched.
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null 2>&1 && ensure_test_user; then
    tmp_dir SECDIR
    cp "$PROBE" "$SECDIR/probe-suid" && chown root:root "$SECDIR/probe-suid" && chmod 4755 "$SECDIR/probe-suid"
    cp "$EXECS" "$SECDIR/execs-suid" && chmod 4755 "$SECDIR/execs-suid"
    mkdir -p "$SECDIR/share" && echo x >"$SECDIR/share/f"
    chown "$TEST_UID:$TEST_GID" "$SECDIR/share/f"
    # control: a normal program with the library shows the caller as owner
    expect_out "control: not setuid, library active" "uid=0 gid=0 mode=0644 type=f size=2" \
        env VBOXFIX_PATHS="$SECDIR/share" LD_PRELOAD="$LIB" "$PROBE" stat "$SECDIR/share/f"
    # setuid root run by the test user: glibc ignores LD_PRELOAD entirely
    expect_out "setuid with LD_PRELOAD: runs, real owner shown (preload dropped by the loader)" \
        "uid=$TEST_UID gid=$TEST_GID mode=0644 type=f size=2" \
        as_user env VBOXFIX_PATHS="$SECDIR/share" LD_PRELOAD="$LIB" "$SECDIR/probe-suid" stat "$SECDIR/share/f"
    # /etc/ld.so.preload in a private mount namespace: the library is loaded
    # into the setuid program with AT_SECURE set, and must change nothing.
    if unshare -m true 2>/dev/null; then
        cp -a /etc "$SECDIR/etc" 2>/dev/null
        echo "$LIB" >"$SECDIR/etc/ld.so.preload"
        run_ns() {
            unshare -m sh -c "mount --make-rprivate / && mount --bind '$SECDIR/etc' /etc && exec \"\$@\"" sh "$@"
        }
        expect_out "ld.so.preload, not setuid: the library is loaded and active" \
            "uid=$TEST_UID gid=$TEST_GID mode=0644 type=f size=2" \
            run_ns setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups env VBOXFIX_PATHS="$SECDIR/share" \
            sh -c "grep -q libvboxfix /proc/self/maps && exec '$PROBE' stat '$SECDIR/share/f'"
        cp "$(command -v cat)" "$SECDIR/cat-suid" && chmod 4755 "$SECDIR/cat-suid"
        expect_out "ld.so.preload + setuid (AT_SECURE): the loader still loads the library" "1" \
            run_ns setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups \
            sh -c "'$SECDIR/cat-suid' /proc/self/maps | grep -c 'r-xp.*libvboxfix'"
        expect_out "ld.so.preload + setuid (AT_SECURE): and it is inert" \
            "uid=$TEST_UID gid=$TEST_GID mode=0644 type=f size=2" \
            run_ns setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups env VBOXFIX_PATHS="$SECDIR/share" \
            VBOXFIX_OWNER=0:0 "$SECDIR/probe-suid" stat "$SECDIR/share/f"
        expect_eq "ld.so.preload + setuid (AT_SECURE): no re-injection into its children" \
            "$(run_ns setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups env VBOXFIX_PATHS=/x \
               EXECS_OTHER_PRELOAD= "$SECDIR/execs-suid" execve /usr/bin/env 2>/dev/null | tr '\n' ' ')" ""
    else
        skip "secure mode via ld.so.preload" "unshare -m not permitted here"
    fi
else
    skip "secure mode" "needs root, unshare and the test user"
fi

# ---- on an emulated share ----------------------------------------------------
share_setup ignore
export VBOXFIX_PATHS=$MNT VBOXFIX_TTL_MS=5
mkdir -p "$MNT/d" && echo hi >"$MNT/d/f"
expect_out "env -i child sees the share as its own" "uid=0 gid=0 mode=0666 type=f size=3" \
    with_lib env -i "$PROBE" stat "$MNT/d/f"
expect_out "child of a program that replaced LD_PRELOAD still presents" "uid=0 gid=0 mode=0666 type=f size=3" \
    with_lib env EXECS_OTHER_PRELOAD="$REFUSE" "$EXECS" execve-other "$PROBE" stat "$MNT/d/f"
check "chmod in a parent, seen by an env -i child (shared store)" \
    with_lib sh -c "chmod 0640 '$MNT/d/f' && env -i '$PROBE' stat '$MNT/d/f' | grep -q 'mode=0640'"

# ---- the old __xstat ABI (binaries built before glibc 2.33) -----------------
for op in xstat lxstat fxstat; do
    expect_out "__$op ABI presents" "uid=0 gid=0 mode=0640 type=f size=3" with_lib "$PROBE" "$op" "$MNT/d/f"
done
expect_out "__xstat errno passes through" "err=ENOENT" with_lib "$PROBE" xstat "$MNT/d/nope"

# ---- lock held by this thread, re-entered from a signal handler --------------
mkdir -p "$MNT/locks"
check "signal handler re-enters the store while its thread holds the lock: no deadlock" \
    timeout 20 env LD_PRELOAD="$LIB $FAULTS" "$STRESS" reenter "$MNT/locks"
check "fork while another thread holds the store lock: the child is not stuck" \
    timeout 30 env LD_PRELOAD="$LIB $FAULTS" "$STRESS" forkheld "$MNT/locks"

# ---- injected errors pass through unchanged ----------------------------------
mkdir -p "$MNT/faults" && echo x >"$MNT/faults/f"
for err in EINTR EIO ENOMEM EAGAIN; do
    for op in "stat $MNT/faults/f" "lstat $MNT/faults/f" "fstatat $MNT/faults f" "statx $MNT/faults/f" \
              "open $MNT/faults/f O_RDONLY" "chown $MNT/faults/f 0 0" "chmod $MNT/faults/f 0600" \
              "access $MNT/faults/f r" "mkdir $MNT/faults/newdir 0700"; do
        # shellcheck disable=SC2086
        without=$(VBF_FAULT_DIR=$MNT/faults VBF_FAULT_ERRNO=$err LD_PRELOAD="$FAULTS" "$PROBE" errno-stays $op 2>&1)
        # shellcheck disable=SC2086
        with=$(VBF_FAULT_DIR=$MNT/faults VBF_FAULT_ERRNO=$err LD_PRELOAD="$LIB $FAULTS" "$PROBE" errno-stays $op 2>&1)
        expect_eq "$err from ${op%% *} passes through" "$with" "$without"
    done
done
# random faults under load: no crash, no hang, no stale view after a success
check "random EINTR/EIO/ENOMEM/EAGAIN on 30% of calls under threads and forks" \
    env VBF_FAULT_DIR="$MNT/faults" VBF_FAULT_ERRNO=random VBF_FAULT_RATE=30 LD_PRELOAD="$LIB $FAULTS" \
    "$STRESS" run "$MNT/faults" 4 4 2

# ---- stress ------------------------------------------------------------------
SECS=${VBF_STRESS_SECONDS:-10} THREADS=${VBF_STRESS_THREADS:-8} PROCS=${VBF_STRESS_PROCS:-2}
mkdir -p "$MNT/stress"
rename_flag=
objdump -T "$LIB" 2>/dev/null | grep -qw 'rename$' && rename_flag=rename
out=$(mktemp); on_exit "rm -f '$out'"
if with_lib "$STRESS" run "$MNT/stress" "$SECS" "$THREADS" "$PROCS" $rename_flag >"$out" 2>&1; then
    ok "stress ${THREADS} threads x ${PROCS} processes, ${SECS}s, fork/vfork/signals${rename_flag:+, rename keeps records}"
else
    fail "stress ${THREADS}x${PROCS} ${SECS}s" "$(_vbf_oneline "$out")"
fi
grep '^stress' "$out" | sed 's/^/# /'
if [ "$(id -u)" -eq 0 ] && ensure_test_user; then
    chmod 0777 "$SRC/stress"
    if as_user with_lib "$STRESS" run "$MNT/stress" "$(( (SECS + 1) / 2 ))" 4 2 >"$out" 2>&1; then
        ok "stress as an unprivileged user"
    else
        fail "stress as an unprivileged user" "$(_vbf_oneline "$out")"
    fi
fi
