#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Core (issue 2): on an emulated share whose owner is 4242 and that ignores
# (or refuses) chown/chmod, programs see files as their own, chown/chmod are
# recorded, access never says more than the kernel, and nothing changes
# outside the share.
. "$(dirname "$0")/lib.sh"
need_fuse
need_lib
need_file "$PROBE"

for MODE in ignore deny; do
    share_setup "$MODE"
    export VBOXFIX_PATHS=$MNT
    T="[$MODE]"
    mkdir -p "$MNT/data/sub" && echo hello >"$MNT/data/sub/f" && ln -s sub/f "$MNT/data/link" 2>/dev/null
    chmod -R a+rwX "$SRC"

    # --- what is presented
    expect_out "$T stat without the library shows the share owner" \
        "uid=$SHARE_UID gid=$SHARE_GID mode=0666 type=f size=6" "$PROBE" stat "$MNT/data/sub/f"
    expect_out "$T stat with the library shows the caller" \
        "uid=0 gid=0 mode=0666 type=f size=6" with_lib "$PROBE" stat "$MNT/data/sub/f"
    expect_out "$T stat as an unprivileged user shows that user" \
        "uid=$TEST_UID gid=$TEST_GID mode=0666 type=f size=6" as_user with_lib "$PROBE" stat "$MNT/data/sub/f"
    for op in stat lstat fstat statx sys_statx sys_newfstatat xstat lxstat fxstat; do
        expect_out "$T probe $op" "uid=0 gid=0 mode=0666 type=f size=6" with_lib "$PROBE" $op "$MNT/data/sub/f"
    done
    for v in probe-lfs probe-fortify; do
        for op in stat lstat fstat; do
            expect_out "$T $v $op" "uid=0 gid=0 mode=0666 type=f size=6" with_lib "$FIX/$v" $op "$MNT/data/sub/f"
        done
    done
    expect_out "$T fstatat with a dirfd" "uid=0 gid=0 mode=0666 type=f size=6" \
        with_lib "$PROBE" fstatat "$MNT/data" sub/f
    expect_out "$T relative path from a cwd inside the share" "uid=0 gid=0 mode=0666 type=f size=6" \
        with_lib sh -c "cd '$MNT/data' && '$PROBE' stat sub/../sub/./f"
    ln -sfn "$MNT/data" "$SHARE_DIR/outside-link"
    expect_out "$T symlink from outside into the share" "uid=0 gid=0 mode=0666 type=f size=6" \
        with_lib "$PROBE" stat "$SHARE_DIR/outside-link/sub/f"
    expect_out "$T static binaries bypass any preload (documented limit)" \
        "uid=$SHARE_UID gid=$SHARE_GID mode=0666 type=f size=6" with_lib "$FIX/probe-static" stat "$MNT/data/sub/f"

    # --- chown -R and chmod by root, seen by later processes
    check "$T chown -R succeeds" with_lib chown -R 999:998 "$MNT/data"
    expect_out "$T ls -ln shows the recorded owner" "999 998" \
        with_lib sh -c "ls -ln '$MNT/data/sub' | awk 'NR==2{print \$3, \$4}'"
    check "$T chmod 700 succeeds" with_lib chmod 700 "$MNT/data"
    expect_out "$T stat shows the recorded mode and owner" "999 998 700 directory" \
        with_lib stat -c '%u %g %a %F' "$MNT/data"
    expect_out "$T find -printf %u/%m" "999 700" with_lib find "$MNT/data" -maxdepth 0 -printf '%U %m\n'
    expect_out "$T the real directory is not locked down" "777" stat -c %a "$SRC/data"
    expect_out "$T python sees it (stat, lstat, dir_fd)" "999 998 0o40700 999 999" with_lib "$PYTHON" -c "
import os
s = os.stat('$MNT/data'); l = os.lstat('$MNT/data/sub/f')
fd = os.open('$MNT/data', os.O_RDONLY); d = os.stat('sub/f', dir_fd=fd)
print(s.st_uid, s.st_gid, oct(s.st_mode), l.st_uid, d.st_uid)"

    # --- search permission of the presented 0700 directory, as on a local
    # disk (the real one is 0777); then open it for the rules on sub/f
    expect_out "$T another user may not search a presented 0700 directory" "err=EACCES" \
        as_user with_lib "$PROBE" stat "$MNT/data/sub/f"
    expect_out "$T without the library the kernel lets it" "uid=$SHARE_UID" \
        as_user sh -c "'$PROBE' stat '$MNT/data/sub/f' | cut -d' ' -f1"
    check "$T chmod 755" with_lib chmod 755 "$MNT/data"

    # --- the POSIX rules on the presented owner
    expect_out "$T non-owner chown is EPERM" "err=EPERM" as_user with_lib "$PROBE" chown "$MNT/data/sub/f" "$TEST_UID" -1
    expect_out "$T non-owner chmod is EPERM" "err=EPERM" as_user with_lib "$PROBE" chmod "$MNT/data/sub/f" 0777
    with_lib chown -R "$TEST_UID:$TEST_GID" "$MNT/data/sub"
    expect_out "$T owner chmod works" "ok" as_user with_lib "$PROBE" chmod "$MNT/data/sub/f" 0600
    expect_out "$T owner chgrp to a foreign group is EPERM" "err=EPERM" as_user with_lib "$PROBE" chown "$MNT/data/sub/f" -1 0
    expect_out "$T owner may give the file away? no" "err=EPERM" as_user with_lib "$PROBE" chown "$MNT/data/sub/f" 0 -1
    expect_out "$T fchown by a recorded owner" "ok" as_user with_lib "$PROBE" fchown "$MNT/data/sub/f" -1 "$TEST_GID"
    expect_out "$T path errors pass through (ENOENT)" "err=ENOENT" with_lib "$PROBE" chown "$MNT/data/nope" 1 1
    expect_out "$T path errors pass through (ENOTDIR)" "err=ENOTDIR" with_lib "$PROBE" chmod "$MNT/data/sub/f/x" 0600

    # --- access: the stricter of the kernel and the presented view
    expect_out "$T access as owner of a 0600 file" "ok" as_user with_lib "$PROBE" access "$MNT/data/sub/f" rw
    with_lib chown 999:998 "$MNT/data/sub/f"
    expect_out "$T access by a non-owner of a presented 0600 file is EACCES" "err=EACCES" \
        as_user with_lib "$PROBE" access "$MNT/data/sub/f" r
    expect_out "$T without the library the kernel says yes" "ok" as_user "$PROBE" access "$MNT/data/sub/f" r
    expect_out "$T never yes where the kernel says no" "err=EACCES" \
        as_user with_lib "$PROBE" access "$MNT/data/sub/f" x

    # --- new files: requested mode recorded
    expect_out "$T mkdir 0700" "uid=0 gid=0 mode=0700 type=d size=4096" \
        with_lib sh -c "umask 022; '$PROBE' mkdir '$MNT/data/new' 0700 >/dev/null; '$PROBE' stat '$MNT/data/new'"
    expect_out "$T open O_CREAT 0640 (umask 027)" "mode=0640" \
        with_lib sh -c "umask 027; '$PROBE' open '$MNT/data/new/f' 'O_WRONLY|O_CREAT' 0666 >/dev/null; '$PROBE' stat '$MNT/data/new/f' | cut -d' ' -f3"
    with_lib chmod 0600 "$MNT/data/new/f"
    expect_out "$T O_CREAT of an existing file keeps its mode" "mode=0600" \
        with_lib sh -c "'$PROBE' open '$MNT/data/new/f' 'O_WRONLY|O_CREAT' 0666 >/dev/null; '$PROBE' stat '$MNT/data/new/f' | cut -d' ' -f3"

    # --- cp -a and tar x into the share keep owners and modes
    tmp_dir LOCAL
    mkdir -p "$LOCAL/t/d" && echo x >"$LOCAL/t/d/x" && chown -R 12:34 "$LOCAL/t" && chmod 0751 "$LOCAL/t/d" && chmod 0604 "$LOCAL/t/d/x"
    check "$T cp -a" with_lib cp -a "$LOCAL/t" "$MNT/data/cp"
    expect_out "$T cp -a kept owner and mode" "12:34:751 12:34:604" \
        with_lib sh -c "stat -c '%u:%g:%a' '$MNT/data/cp/d' '$MNT/data/cp/d/x' | tr '\n' ' ' | sed 's/ \$//'"
    tar -C "$LOCAL" -cf "$LOCAL/t.tar" t
    check "$T tar x" with_lib tar -C "$MNT/data" -xpf "$LOCAL/t.tar" --same-owner
    expect_out "$T tar x kept owner and mode" "12:34:604" with_lib stat -c '%u:%g:%a' "$MNT/data/t/d/x"

    # --- the same tools as an unprivileged user who is not the share's owner
    mkdir -p "$MNT/u" && with_lib chown "$TEST_UID:$TEST_GID" "$MNT/u"
    tmp_dir ULOCAL
    mkdir -p "$ULOCAL/t/d" && echo y >"$ULOCAL/t/d/y" && chmod 0750 "$ULOCAL/t/d" && chmod 0640 "$ULOCAL/t/d/y"
    chown -R "$TEST_UID:$TEST_GID" "$ULOCAL/t" && tar -C "$ULOCAL" -cf "$ULOCAL/t.tar" t
    check "$T user: cp -a" as_user with_lib cp -a "$ULOCAL/t" "$MNT/u/cp"
    check "$T user: tar x" as_user with_lib tar -C "$MNT/u" -xf "$ULOCAL/t.tar"
    check "$T user: chown -R to itself, chmod -R" as_user with_lib sh -c \
        "chown -R $TEST_UID:$TEST_GID '$MNT/u' && chmod -R go-rwx '$MNT/u/t'"
    expect_out "$T user: ls -ln" "$TEST_UID $TEST_GID" \
        as_user with_lib sh -c "ls -ln '$MNT/u/cp/d' | awk 'NR==2{print \$3, \$4}'"
    expect_out "$T user: find -printf %u %m" "vbfuser 700 vbfuser 600" \
        as_user with_lib sh -c "find '$MNT/u/t/d' -printf '%u %m ' | sed 's/ \$//'"
    expect_out "$T user: cp -a kept modes" "750 640" \
        as_user with_lib sh -c "stat -c %a '$MNT/u/cp/d' '$MNT/u/cp/d/y' | tr '\n' ' ' | sed 's/ \$//'"
    expect_out "$T user: python stat/fstat/dir_fd" "4300 0o40700 4300 0o100600" as_user with_lib "$PYTHON" -c "
import os
fd = os.open('$MNT/u/t/d', os.O_RDONLY)
s = os.fstat(fd); d = os.stat('y', dir_fd=fd)
print(s.st_uid, oct(s.st_mode), d.st_uid, oct(d.st_mode))"

    # --- owner's rights the kernel checks against the mount's real owner
    UTIME="import os,sys
try:
    os.utime(sys.argv[1], (0, 0)); print('ok')
except OSError as e: print(e.errno)"
    ACL="import os,sys
try:
    os.setxattr(sys.argv[1], 'system.posix_acl_access', b'\x02\x00\x00\x00\x01\x00\x06\x00\xff\xff\xff\xff\x04\x00\x04\x00\xff\xff\xff\xff\x20\x00\x04\x00\xff\xff\xff\xff'); print('ok')
except OSError as e: print(e.errno)"
    expect_out "$T explicit times without the library: EPERM" "1" as_user "$PYTHON" -c "$UTIME" "$MNT/u/t/d/y"
    expect_out "$T explicit times by the presented owner: answered as an ignoring share" "ok" \
        as_user with_lib "$PYTHON" -c "$UTIME" "$MNT/u/t/d/y"
    with_lib chown 999:999 "$MNT/u/t/d/y"
    expect_out "$T explicit times by someone else: still EPERM" "1" as_user with_lib "$PYTHON" -c "$UTIME" "$MNT/u/t/d/y"
    with_lib chown "$TEST_UID:$TEST_GID" "$MNT/u/t/d/y"
    expect_out "$T setting an ACL without the library: EPERM" "1" as_user "$PYTHON" -c "$ACL" "$MNT/u/t/d/y"
    expect_out "$T setting an ACL as the presented owner: not supported, so tools fall back to chmod" "95" \
        as_user with_lib "$PYTHON" -c "$ACL" "$MNT/u/t/d/y"

    # --- git by a user who is not the share's owner
    if command -v git >/dev/null; then
        mkdir -p "$MNT/repo"
        GITENV="GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t"
        expect_fail "$T git init + status without the library fails" as_user env $GITENV sh -c \
            "git init -q '$MNT/repo0' && git -C '$MNT/repo0' status"
        with_lib chown "$TEST_UID:$TEST_GID" "$MNT/repo"
        check "$T git init/add/commit/status with the library" as_user with_lib env $GITENV sh -c \
            "cd '$MNT/repo' && git init -q . && echo a >a && git add a && git commit -qm one && git status --porcelain && git log --oneline | grep -q one"
        expect_fail "$T git status without the library: dubious ownership" \
            as_user env $GITENV git -C "$MNT/repo" status
    else
        skip "$T git" "git missing"
    fi
    share_umount "$MNT"
done

# --- outside shares: same results, same errno
share_setup ignore
export VBOXFIX_PATHS=$MNT
tmp_dir OUT
echo x >"$OUT/f"; chown 12:34 "$OUT/f"; ln -s f "$OUT/l"; mkdir "$OUT/d"
for args in "stat $OUT/f" "lstat $OUT/l" "fstat $OUT/f" "statx $OUT/f" "stat $OUT/missing" "stat $OUT/f/x" \
    "chown $OUT/f 1 2" "chown $OUT/missing 1 2" "chmod $OUT/f 0600" "access $OUT/f rwx" "access $OUT/missing r" \
    "open $OUT/new O_WRONLY|O_CREAT 0600" "mkdir $OUT/d 0700" "errno-stays $OUT/f" "errno-stays $OUT/missing"; do
    # shellcheck disable=SC2086
    want=$(as_user "$PROBE" $args 2>&1); rm -f "$OUT/new"
    # shellcheck disable=SC2086
    got=$(as_user with_lib "$PROBE" $args 2>&1); rm -f "$OUT/new"
    expect_eq "outside: $args" "$got" "$want"
done
UTIME_OUT=$(printf 'import os\ntry:\n    os.utime("%s", (0, 0)); print("ok")\nexcept OSError as e: print(e.errno)\n' "$OUT/f")
expect_eq "outside: explicit times by a non-owner" "$(as_user with_lib "$PYTHON" -c "$UTIME_OUT")" \
    "$(as_user "$PYTHON" -c "$UTIME_OUT")"
expect_out "errno kept on a share stat" "uid=0 gid=0 mode=0777 type=d size=4096 errno unchanged" \
    with_lib sh -c "'$PROBE' errno-stays '$MNT' | tr '\n' ' ' | sed 's/ \$//'"
expect_out "VBOXFIX=off does nothing" "uid=$SHARE_UID" \
    with_lib env VBOXFIX=off sh -c "'$PROBE' stat '$MNT' | cut -d' ' -f1"

# --- a process that never touches the share sends it nothing
BINDFS_PID=$(pgrep -f "bindfs.*$MNT" | head -n 1)
if [ -n "$BINDFS_PID" ] && [ -r "/proc/$BINDFS_PID/io" ]; then
    reqs() { awk '/^syscr/{print $2}' "/proc/$BINDFS_PID/io"; }
    before=$(reqs)
    for _ in 1 2 3 4 5; do with_lib ls /etc >/dev/null; with_lib "$PROBE" stat /etc/passwd >/dev/null; done
    expect_eq "processes that never touch the share send it no request" "$(( $(reqs) - before ))" 0
else
    skip "no request from processes off the share" "bindfs daemon pid not found"
fi

# --- outside shares: not one extra system call of these kinds
if command -v strace >/dev/null 2>&1; then
    LOOP="import os
for i in range(200):
    os.stat('$OUT/f'); os.lstat('$OUT/l'); os.access('$OUT/f', os.R_OK)
    os.chown('$OUT/f', 12, 34); os.chmod('$OUT/f', 0o644)
    try: os.stat('$OUT/missing')
    except OSError: pass
    os.close(os.open('$OUT/f', os.O_RDONLY))"
    calls() {
        strace -f -qq -c -e trace=stat,lstat,newfstatat,statx,fchownat,chown,fchmodat,chmod,faccessat,faccessat2,access,openat,close \
            -o "$SHARE_DIR/strace.$1" "${@:2}" "$PYTHON" -c "$LOOP" >/dev/null 2>&1
        awk '$NF ~ /^(stat|lstat|newfstatat|statx|fchownat|chown|fchmodat|chmod|faccessat|faccessat2|access)$/ {print $NF, $4}' \
            "$SHARE_DIR/strace.$1" | sort | tr '\n' ' '
    }
    # the same loader work on both sides: bare runs with an empty preload
    echo 'int vbf_empty_preload;' | cc -shared -fPIC -x c - -o "$SHARE_DIR/empty.so"
    bare=$(calls bare env "LD_PRELOAD=$SHARE_DIR/empty.so")
    lib=$(calls lib env "LD_PRELOAD=$LIB")
    # ...but for the one fstatat after each chown/chmod whose target is not
    # named on a share (a symlink or descriptor may still reach one; issue
    # 11 item 7): 200 chowns + 200 chmods
    want=$(awk '{for (i = 1; i < NF; i += 2) printf "%s %d ", $i, $(i+1) + ($i == "newfstatat" ? 400 : 0)}' <<<"$bare")
    expect_eq "outside: the same stat/chown/chmod/access system calls, counted (+1 fstatat per chown/chmod)" "$lib" "$want"
else
    skip "outside: system calls counted" "strace missing"
fi
