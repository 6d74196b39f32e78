#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# valgrind memcheck of the probes with the library preloaded on the emulated
# share: no invalid read or write, no use of uninitialised memory, and no
# definite leak in the library (--error-exitcode=1).
#
# LD_PRELOAD is given to valgrind itself, which passes it on to the program
# it runs: `valgrind env LD_PRELOAD=... PROG` would check `env` and let PROG
# run natively after env's exec (--trace-children=no). Each run asserts, from
# valgrind's own log, that the process memcheck ran is PROG ("Command:") and
# that it loaded the library ("Reading syms from"); a control program with a
# known error must make the same invocation fail.
. "$(dirname "$0")/lib.sh"
need_cmd valgrind
need_fuse
need_lib
need_file "$PROBE" "$FIX/small"
share_setup ignore
tmp_dir T
export VBOXFIX_PATHS=$MNT
mkdir -p "$MNT/d" && echo hi >"$MNT/d/f"
LIBREAL=$(readlink -f "$LIB")
n=0

# vg_run LOG CMD...: memcheck CMD with the library preloaded; its exit status
vg_run() {
    local log=$1; shift
    LD_PRELOAD="$LIB" valgrind -v --log-file="$log" --error-exitcode=1 --leak-check=full \
        --errors-for-leak-kinds=definite --trace-children=no "$@" >"$log.out" 2>&1
}

# vg_seen LOG CMD...: the log shows memcheck ran CMD with the library in it
vg_seen() {
    local log=$1 cmd
    shift
    cmd=$(sed -n 's/^==[0-9]*== Command: //p' "$log" | head -n1)
    case $cmd in
        "$*") ;;
        *) echo "memcheck ran '$cmd', not '$*'"; return 1 ;;
    esac
    grep -q -e "Reading syms from $LIB\$" -e "Reading syms from $LIBREAL\$" "$log" ||
        { echo "libvboxfix.so was not loaded in the checked process"; return 1; }
}

# vg CMD...: clean under memcheck, and it really was CMD that memcheck ran
vg() {
    local log=$T/vg.$((n += 1)) rc=0
    vg_run "$log" "$@" || rc=$?
    vg_seen "$log" "$@" || return 1
    if [ "$rc" -ne 0 ]; then
        echo "exit $rc:"
        grep -E '^==[0-9]+== +(Invalid|Conditional|Use of|Syscall param|[0-9,]+ bytes in)' "$log" | head -n 5
        return 1
    fi
}

# the control: an uninitialised read and a definite leak in the program
ctl=$T/vg.control
if vg_run "$ctl" "$FIX/small" vgbug; then
    fail "memcheck: a known error fails the run" "exit 0 for small vgbug"
elif ! out=$(vg_seen "$ctl" "$FIX/small" vgbug); then
    fail "memcheck: a known error fails the run" "$out"
elif ! grep -q 'Conditional jump or move depends on uninitialised' "$ctl" ||
     ! grep -q 'definitely lost' "$ctl"; then
    fail "memcheck: a known error fails the run" "errors not named in the log"
else
    ok "memcheck: a known error fails the run"
fi

# the library acts in the checked process: only it presents VBOXFIX_OWNER
got=$(VBOXFIX_OWNER=7:8 LD_PRELOAD="$LIB" valgrind -q --trace-children=no "$PROBE" stat "$MNT/d/f" 2>/dev/null)
case $got in
    "uid=7 gid=8 "*) ok "memcheck: the probe under memcheck presents the share" ;;
    *) fail "memcheck: the probe under memcheck presents the share" "got '$got'" ;;
esac

for op in "stat $MNT/d/f" "lstat $MNT/d/f" "fstat $MNT/d/f" "fstatat $MNT/d f" "statx $MNT/d/f" \
          "sys_statx $MNT/d/f" "xstat $MNT/d/f" "open $MNT/d/f O_RDONLY" "chown $MNT/d/f 1 2" \
          "chmod $MNT/d/f 0600" "access $MNT/d/f r" "mkdir $MNT/d/new 0700" "stat /etc/passwd"; do
    # shellcheck disable=SC2086
    check "memcheck: probe ${op%% *}" vg "$PROBE" $op
done
check "memcheck: an exec wrapper (env -i child)" vg env -i /bin/true
