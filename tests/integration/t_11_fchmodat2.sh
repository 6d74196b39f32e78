#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fchmodat2 (Linux 6.6): the exported function and syscall(SYS_fchmodat2)
# record a chmod on a share like chmod does (presented to later processes,
# the share left alone), with AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH; flags it
# does not know and symlinks get the kernel's answer; outside shares it is
# the system call. On a kernel without it, the library answers ENOSYS too.
. "$(dirname "$0")/lib.sh"
need_fuse
need_lib
need_file "$PROBE"

tmp_dir LOCAL
echo x >"$LOCAL/f" && chmod 0644 "$LOCAL/f"
kernel=$("$PROBE" sys_fchmodat2 AT_FDCWD "$LOCAL/f" 0644 2>&1)

for MODE in ignore deny; do
    share_setup "$MODE"
    export VBOXFIX_PATHS=$MNT
    T="[$MODE]"
    mkdir -p "$MNT/d" && echo hello >"$MNT/d/f" && ln -s f "$MNT/d/l"
    chmod -R a+rwX "$SRC"
    if [ "$kernel" = "err=ENOSYS" ]; then
        expect_out "$T no fchmodat2 in this kernel: the library says so too" "err=ENOSYS" \
            with_lib "$PROBE" sys_fchmodat2 AT_FDCWD "$MNT/d/f" 0600
        continue
    fi

    expect_out "$T fchmodat2 (the exported function)" "ok" with_lib "$PROBE" fchmodat2 AT_FDCWD "$MNT/d/f" 0640
    expect_out "$T ... a later process sees the mode" "uid=0 gid=0 mode=0640 type=f size=6" \
        with_lib "$PROBE" stat "$MNT/d/f"
    expect_out "$T syscall(SYS_fchmodat2) with a dirfd" "ok" with_lib "$PROBE" sys_fchmodat2 "$MNT/d" f 0604
    expect_out "$T ... presented" "uid=0 gid=0 mode=0604 type=f size=6" with_lib "$PROBE" stat "$MNT/d/f"
    expect_out "$T AT_SYMLINK_NOFOLLOW on a file" "ok" \
        with_lib "$PROBE" sys_fchmodat2 AT_FDCWD "$MNT/d/f" 0600 nofollow
    expect_out "$T ... presented" "uid=0 gid=0 mode=0600 type=f size=6" with_lib "$PROBE" stat "$MNT/d/f"
    expect_out "$T AT_EMPTY_PATH on the directory's descriptor" "ok" \
        with_lib "$PROBE" sys_fchmodat2 "$MNT/d" "" 0750 empty
    expect_out "$T ... presented" "uid=0 gid=0 mode=0750 type=d" \
        with_lib sh -c "'$PROBE' stat '$MNT/d' | cut -d' ' -f1-4"
    # an O_PATH descriptor, which fchmod refuses (EBADF) and fchmodat2 takes
    echo x >"$MNT/d/g"
    expect_out "$T AT_EMPTY_PATH on an O_PATH descriptor, widening the mode" "ok 0777" with_lib "$PYTHON" -c "
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open('$MNT/d/g', os.O_PATH)
r = libc.syscall(452, fd, b'', 0o777, 0x1000)
print('ok' if r == 0 else os.strerror(ctypes.get_errno()), '%04o' % (os.stat('$MNT/d/g').st_mode & 0o7777))"
    [ "$MODE" = ignore ] &&
        expect_out "$T the share itself is left alone" "666" stat -c %a "$SRC/d/f"
    expect_out "$T a symlink itself: the kernel's answer" "$("$PROBE" sys_fchmodat2 AT_FDCWD "$MNT/d/l" 0600 nofollow)" \
        with_lib "$PROBE" sys_fchmodat2 AT_FDCWD "$MNT/d/l" 0600 nofollow
    expect_out "$T an unknown flag: the kernel's answer (EINVAL)" "err=EINVAL" \
        with_lib "$PROBE" sys_fchmodat2 AT_FDCWD "$MNT/d/f" 0600 eaccess
    with_lib chown 999:998 "$MNT/d/f"
    expect_out "$T the POSIX rules: a non-owner gets EPERM" "err=EPERM" \
        as_user with_lib "$PROBE" sys_fchmodat2 AT_FDCWD "$MNT/d/f" 0777
done

# outside shares: the system call, the mode really changes
expect_out "outside: fchmodat2" "ok" with_lib "$PROBE" fchmodat2 AT_FDCWD "$LOCAL/f" 0600
expect_out "outside: the file's own mode" "600" stat -c %a "$LOCAL/f"
expect_out "outside: syscall(SYS_fchmodat2)" "ok" with_lib "$PROBE" sys_fchmodat2 AT_FDCWD "$LOCAL/f" 0640
expect_out "outside: the file's own mode" "640" stat -c %a "$LOCAL/f"
