#!/usr/bin/env bash
# valgrind memcheck of the probes with the library preloaded on the emulated
# share: no invalid read or write, no use of uninitialised memory, and no
# definite leak in the library (--error-exitcode=1).
. "$(dirname "$0")/lib.sh"
need_cmd valgrind
need_fuse
need_lib
need_file "$PROBE"
share_setup ignore
export VBOXFIX_PATHS=$MNT
mkdir -p "$MNT/d" && echo hi >"$MNT/d/f"
vg() {
    valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
        --trace-children=no env LD_PRELOAD="$LIB" "$@"
}
for op in "stat $MNT/d/f" "lstat $MNT/d/f" "fstat $MNT/d/f" "fstatat $MNT/d f" "statx $MNT/d/f" \
          "sys_statx $MNT/d/f" "xstat $MNT/d/f" "open $MNT/d/f O_RDONLY" "chown $MNT/d/f 1 2" \
          "chmod $MNT/d/f 0600" "access $MNT/d/f r" "mkdir $MNT/d/new 0700" "stat /etc/passwd"; do
    # shellcheck disable=SC2086
    check "memcheck: probe ${op%% *}" vg "$PROBE" $op
done
check "memcheck: an exec wrapper (env -i child)" vg env -i /bin/true
