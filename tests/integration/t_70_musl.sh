#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# musl (issue 8): a musl-built libvboxfix.so presents a share to musl-built
# programs (stat, lstat, fstat, fstatat, open, chown, chmod, access; statx
# through syscall); the glibc build loaded by them stays inert (t_71), which
# is why Alpine images must build the library with musl. The musl library is
# built here, into $B/musl.
. "$(dirname "$0")/lib.sh"
need_cmd musl-gcc
need_fuse
need_lib
PROBE_MUSL=$FIX/probe-musl
need_file "$PROBE_MUSL"
MB=$B/musl
MLIB=$MB/libvboxfix.so

out=$(mktemp); on_exit "rm -f '$out'"
if make -C "$VBF_REPO" -f Makefile -f mk/hardening.mk B="$MB" CC=musl-gcc lib >"$out" 2>&1; then
    ok "make CC=musl-gcc lib builds a musl libvboxfix.so"
else
    fail "make CC=musl-gcc lib" "$(grep -E 'error|undefined' "$out" | head -3 | tr '\n' ' ')"
    exit 1
fi
check "it links against musl's loader only" sh -c "objdump -p '$MLIB' | grep -q 'NEEDED.*libc.so\$' && ! objdump -p '$MLIB' | grep -q 'libc.so.6'"

share_setup ignore
export VBOXFIX_PATHS=$MNT
mkdir -p "$MNT/d" && echo hello >"$MNT/d/f"
with_musl() { LD_PRELOAD="$MLIB" "$@"; }

expect_out "without the library: the share's owner" "uid=$SHARE_UID gid=$SHARE_GID mode=0666 type=f size=6" \
    "$PROBE_MUSL" stat "$MNT/d/f"
for op in stat lstat fstat sys_statx sys_newfstatat; do
    expect_out "musl $op presents the caller" "uid=0 gid=0 mode=0666 type=f size=6" \
        with_musl "$PROBE_MUSL" $op "$MNT/d/f"
done
expect_out "musl fstatat with a dirfd" "uid=0 gid=0 mode=0666 type=f size=6" \
    with_musl "$PROBE_MUSL" fstatat "$MNT/d" f
if "$PROBE_MUSL" statx "$MNT/d/f" >/dev/null 2>&1; then
    expect_out "musl statx presents the caller" "uid=0 gid=0 mode=0666 type=f size=6" \
        with_musl "$PROBE_MUSL" statx "$MNT/d/f"
else
    skip "musl statx" "this musl has no statx (added in 1.2.5)"
fi
expect_out "musl open" "ok" with_musl "$PROBE_MUSL" open "$MNT/d/f" O_RDONLY
expect_out "musl chown is recorded" "ok" with_musl "$PROBE_MUSL" chown "$MNT/d/f" 999 998
expect_out "musl chmod is recorded" "ok" with_musl "$PROBE_MUSL" chmod "$MNT/d/f" 0600
expect_out "musl stat shows both" "uid=999 gid=998 mode=0600 type=f size=6" with_musl "$PROBE_MUSL" stat "$MNT/d/f"
expect_out "a glibc process sees the same records (shared store)" "uid=999 gid=998 mode=0600 type=f size=6" \
    with_lib "$PROBE" stat "$MNT/d/f"
expect_out "musl access" "ok" with_musl "$PROBE_MUSL" access "$MNT/d/f" r
if ensure_test_user; then
    expect_out "musl access by a non-owner of a presented 0600 file is EACCES" "err=EACCES" \
        as_user env LD_PRELOAD="$MLIB" "$PROBE_MUSL" access "$MNT/d/f" r
    expect_out "musl non-owner chmod is EPERM" "err=EPERM" \
        as_user env LD_PRELOAD="$MLIB" "$PROBE_MUSL" chmod "$MNT/d/f" 0777
fi
expect_out "musl errno passes through" "err=ENOENT" with_musl "$PROBE_MUSL" stat "$MNT/d/nope"
expect_out "musl: outside the share unchanged" "$("$PROBE_MUSL" stat /etc/passwd)" with_musl "$PROBE_MUSL" stat /etc/passwd

# The wrong libc's library: the glibc build runs in a musl program but does
# nothing there (t_71 checks the rest).
expect_eq "glibc libvboxfix.so in a musl program: it runs, inert (Alpine: build with musl-gcc)" \
    "$(LD_PRELOAD="$LIB" "$PROBE_MUSL" stat "$MNT/d/f" 2>&1)" "$("$PROBE_MUSL" stat "$MNT/d/f" 2>&1)"
