#!/bin/bash
# SPDX-License-Identifier: MIT
# Every chown/chmod that changes a share file is recorded, whatever reached
# it (issue 11 item 7): /proc/self/fd/N, a symlink from outside into the
# share, an inherited descriptor, one opened by a raw system call,
# fchownat(AT_FDCWD, "", AT_EMPTY_PATH) with the cwd on the share. Each is
# checked from a fresh process. Descriptors name what they name (item 6):
# a create racing stats of the same name keeps its mode; an unlinked file's
# descriptor files nothing under a " (deleted)" name.
. "$(dirname "$0")/lib.sh"
need_lib
need_file "$PROBE" "$FIX/race"
need_cmd "$PYTHON"
share_setup ignore
export VBOXFIX_PATHS=$MNT
tmp_dir LOCAL

# shown FILE: what a fresh process is presented ("uid:gid mode")
shown() { with_lib "$PROBE" lstat "$1" | sed -E 's/^uid=([0-9]+) gid=([0-9]+) mode=([0-7]+).*/\1:\2 \3/'; }

# py CODE: python with the library, libc as `c` (ctypes), AT_FDCWD, AT_EMPTY_PATH
py() {
    with_lib "$PYTHON" -c "import ctypes, os, sys
c = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, AT_EMPTY_PATH = -100, 0x1000
def chk(r, what):
    if r != 0: sys.exit('%s: %s' % (what, os.strerror(ctypes.get_errno())))
$1"
}

touch "$MNT/viaproc" "$MNT/vialink" "$MNT/inherited" "$MNT/raw" "$MNT/local-ok"
mkdir "$MNT/cwd"
ln -s "$MNT/vialink" "$LOCAL/link"

check "chown/chmod through /proc/self/fd/N" py "
fd = os.open('$MNT/viaproc', os.O_RDONLY)
os.chown('/proc/self/fd/%d' % fd, 1201, 1202)
os.chmod('/proc/self/fd/%d' % fd, 0o640)"
expect_eq "/proc/self/fd/N: recorded" "$(shown "$MNT/viaproc")" "1201:1202 0640"

check "chown/chmod through a symlink from outside" py "
os.chown('$LOCAL/link', 1203, 1204)
os.chmod('$LOCAL/link', 0o604)"
expect_eq "symlink from outside: recorded" "$(shown "$MNT/vialink")" "1203:1204 0604"

# opened by a shell without the library, inherited by a process with it
check "fchown/fchmod of an inherited descriptor" \
    bash -c 'exec 7<"$1"; shift; LD_PRELOAD="$1" "$2" -c "import os; os.fchown(7, 1205, 1206); os.fchmod(7, 0o660)"' \
    _ "$MNT/inherited" "$LIB" "$PYTHON"
expect_eq "inherited descriptor: recorded" "$(shown "$MNT/inherited")" "1205:1206 0660"

# syscall(SYS_openat) opens past the open wrappers: the descriptor is unknown
check "fchown/fchmod of a raw-syscall descriptor" py "
fd = c.syscall(257, AT_FDCWD, b'$MNT/raw', os.O_RDONLY)
if fd < 0: sys.exit('openat failed')
chk(c.fchown(fd, 1207, 1208), 'fchown')
chk(c.fchmod(fd, 0o606), 'fchmod')"
expect_eq "raw-syscall descriptor: recorded" "$(shown "$MNT/raw")" "1207:1208 0606"

check "fchownat(AT_FDCWD, \"\", AT_EMPTY_PATH) with the cwd on the share" py "
os.chdir('$MNT/cwd')
chk(c.fchownat(AT_FDCWD, b'', 1209, 1210, AT_EMPTY_PATH), 'fchownat')"
expect_eq "cwd by AT_EMPTY_PATH: recorded" "$(shown "$MNT/cwd" | cut -d' ' -f1)" "1209:1210"

# outside shares: the plain answer, the real change
touch "$LOCAL/plain"
check "outside: chown/chmod through the library" py "
os.chown('$LOCAL/plain', 1211, 1212); os.chmod('$LOCAL/plain', 0o600)"
expect_eq "outside: the real owner and mode" "$(stat -c '%u:%g %a' "$LOCAL/plain")" "1211:1212 600"
expect_out "outside: a missing file is ENOENT" "err=ENOENT" with_lib "$PROBE" chown "$LOCAL/missing" 1 1
expect_out "outside: nothing recorded for it" "" \
    bash -c "'$B/vboxfix' state --path '$MNT' list | grep -F '$LOCAL'"

# ---- descriptors name what they name
mkdir "$MNT/race"
out=$(with_lib "$FIX/race" create "$MNT/race" 3000)
expect_eq "create racing stats of the same name keeps its mode" "${out%% *}" "wrong=0"
out=$(with_lib "$FIX/race" unlinked "$MNT/race")
expect_eq "an unlinked file's descriptor: fchmod/fchown answer as the share does" "$out" "fchmod=0/0 fchown=0/0"
expect_out "nothing recorded under a ' (deleted)' name" "" \
    bash -c "'$B/vboxfix' state --path '$MNT' list | grep -F '(deleted)'"
