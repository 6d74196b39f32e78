#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# POSIX owner rules on presented owners and modes (issue 12, item 2): what a
# local disk refuses by the presented owner and mode is refused on the share
# too (the real file is 0666, owned by the share's owner, and the kernel
# alone would allow it): search of a presented 0700 directory, open for
# writing of a presented 0444 file or of another user's 0644 file, truncate,
# a new name in another user's directory, unlink and rename in a sticky
# directory, times by a non-owner, a link of another user's file
# (fs.protected_hardlinks). S_ISUID/S_ISGID as the kernel clears them (a
# write or truncate without CAP_FSETID; mkdir never takes S_ISGID from its
# argument). Root passes by its capabilities, not by uid 0.
#
# Every check failed before the change (24 of 39) except "... the owner
# may", "root may", "root's write keeps them", "explicit times ... by uid B"
# (the kernel's EPERM: B is not the share's real owner), "... from a setgid
# parent" and the ones marked (guard). The last block, through symlinks
# inside the share (and "." through a descriptor), failed before the
# target's record judged such calls: 13 of 16, the 3 guards aside. "a
# listing of A's 0700 directory by uid B" through a symlink failed before
# opendir was judged by its directory, and "a link into a missing directory
# whose name had a 0444 record" before a link's new directory was looked up
# first (EACCES).
. "$(dirname "$0")/lib.sh"
need_fuse
need_lib
need_cmd "$PYTHON" setpriv strace

share_setup ignore
export VBOXFIX_PATHS=$MNT
B_UID=4301
ensure_test_user || fail "test user" "cannot create $TEST_USER"
A="$TEST_UID:$TEST_GID"

# op OP PATH [ARG]: one call, prints ok or the errno name
OP='
import errno, os, sys
op, p = sys.argv[1], sys.argv[2]
a = sys.argv[3] if len(sys.argv) > 3 else None
try:
    if op == "write":
        fd = os.open(p, os.O_WRONLY); os.write(fd, b"x"); os.close(fd)
    elif op == "read":
        os.close(os.open(p, os.O_RDONLY))
    elif op == "create":
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, int(a, 8)); os.write(fd, b"x"); os.close(fd)
    elif op == "truncate":
        os.truncate(p, 0)
    elif op == "stat":
        os.stat(p)
    elif op == "mkdir":
        os.mkdir(p, int(a, 8))
    elif op == "symlink":
        os.symlink("x", p)
    elif op == "unlink":
        os.unlink(p)
    elif op == "rename":
        os.rename(p, a)
    elif op == "touch":
        os.utime(p, None)
    elif op == "settime":
        os.utime(p, (1000000000, 1000000000))
    elif op == "link":
        os.link(p, a)
    elif op == "otrunc":
        os.close(os.open(p, os.O_WRONLY | os.O_TRUNC))
    elif op == "listdir":
        os.listdir(p)
    elif op == "readat":
        fd = os.open(a, os.O_RDONLY | os.O_DIRECTORY); os.close(os.open(p, os.O_RDONLY, dir_fd=fd))
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
'
op_root() { with_lib "$PYTHON" -c "$OP" "$@"; }
op_a() { as_user with_lib "$PYTHON" -c "$OP" "$@"; }
op_b() { setpriv --reuid="$B_UID" --regid="$B_UID" --clear-groups -- env LD_PRELOAD="$LIB" "$PYTHON" -c "$OP" "$@"; }
# root without any capability (a container started with --cap-drop ALL)
op_bare() { setpriv --bounding-set=-all --inh-caps=-all -- env LD_PRELOAD="$LIB" "$PYTHON" -c "$OP" "$@"; }
mode() { with_lib stat -c '%a' "$1"; }

# A's data directory, as an entrypoint leaves it
mkdir "$MNT/a"
with_lib chown "$A" "$MNT/a"

# --- search permission of a presented 0700 directory
as_user with_lib sh -c "umask 077 && mkdir '$MNT/a/priv' && echo s >'$MNT/a/priv/f'"
expect_out "search: the owner may" "ok" op_a stat "$MNT/a/priv/f"
expect_out "search: uid B may not stat below A's 0700 directory" "EACCES" op_b stat "$MNT/a/priv/f"
expect_out "search: ... nor learn that a name is missing there" "EACCES" op_b stat "$MNT/a/priv/nope"
expect_out "search: ... nor open" "EACCES" op_b read "$MNT/a/priv/f"
expect_out "search: root may (CAP_DAC_READ_SEARCH)" "ok" op_root stat "$MNT/a/priv/f"
expect_out "search: without the library the kernel lets B (guard)" "ok" \
    setpriv --reuid="$B_UID" --regid="$B_UID" --clear-groups -- "$PYTHON" -c "$OP" stat "$MNT/a/priv/f"

# --- open for writing, truncate
as_user with_lib sh -c "umask 022 && echo r >'$MNT/a/ro' && chmod 0444 '$MNT/a/ro' && echo w >'$MNT/a/rw'"
expect_out "open for writing of a presented 0444 file: not even the owner" "EACCES" op_a write "$MNT/a/ro"
expect_out "... root may (CAP_DAC_OVERRIDE)" "ok" op_root write "$MNT/a/ro"
expect_out "... root without capabilities may not" "EACCES" op_bare write "$MNT/a/ro"
expect_out "open for writing of A's 0644 file: the owner may" "ok" op_a write "$MNT/a/rw"
expect_out "... uid B may not" "EACCES" op_b write "$MNT/a/rw"
expect_out "... uid B may read it (guard)" "ok" op_b read "$MNT/a/rw"
expect_out "truncate of A's 0644 file by uid B" "EACCES" op_b truncate "$MNT/a/rw"
expect_out "truncate of it by A (guard)" "ok" op_a truncate "$MNT/a/rw"

# the owner's open for writing asks nothing more of the share than the open
n=$(as_user env LD_PRELOAD="$LIB" strace -f -qq -e trace=openat,newfstatat,statx,stat,lstat,fstatat64 \
    "$PYTHON" -c "import os; os.close(os.open('$MNT/a/rw', os.O_WRONLY))" 2>&1 | grep -c "$MNT/a/rw")
expect_eq "the owner's open for writing is one call on the share's name (guard)" "$n" 1

# --- times
expect_out "utime(NULL) of A's 0644 file by uid B" "EACCES" op_b touch "$MNT/a/rw"
expect_out "explicit times of A's 0644 file by uid B" "EPERM" op_b settime "$MNT/a/rw"
expect_out "utime(NULL) by the owner (guard)" "ok" op_a touch "$MNT/a/rw"

# --- new names and removals in A's 0755 directory
as_user with_lib chmod 0755 "$MNT/a"
expect_out "a file made by uid B in A's 0755 directory" "EACCES" op_b create "$MNT/a/b-file" 0644
expect_out "... a directory" "EACCES" op_b mkdir "$MNT/a/b-dir" 0755
expect_out "... a symlink" "EACCES" op_b symlink "$MNT/a/b-link"
expect_out "... an unlink" "EACCES" op_b unlink "$MNT/a/rw"
expect_out "... a rename out of it" "EACCES" op_b rename "$MNT/a/rw" "$MNT/b-took"
expect_out "... a missing name there is still ENOENT (guard)" "ENOENT" op_b unlink "$MNT/a/nope"
expect_out "a link of A's 0444 file by uid B (protected_hardlinks)" "EPERM" op_b link "$MNT/a/ro" "$MNT/b-link"
# a record that outlived its name (A's 0444 file renamed away) does not
# judge a link into a directory of that name: the kernel's ENOENT first
op_a create "$MNT/a/gone" 0444 >/dev/null && op_a rename "$MNT/a/gone" "$MNT/a/gone2" >/dev/null
expect_out "a link into a missing directory whose name had a 0444 record: ENOENT" "ENOENT" \
    op_a link "$MNT/a/rw" "$MNT/a/gone/x"

# --- a sticky directory: only the owners of the entry and of the directory
mkdir "$MNT/tmp"
with_lib chown 0:0 "$MNT/tmp" && with_lib chmod 1777 "$MNT/tmp"
op_a create "$MNT/tmp/af" 0644 >/dev/null
expect_out "sticky: uid B may not unlink A's file" "EPERM" op_b unlink "$MNT/tmp/af"
expect_out "sticky: ... nor rename it" "EPERM" op_b rename "$MNT/tmp/af" "$MNT/tmp/bf"
expect_out "sticky: uid B may make its own file there (guard)" "ok" op_b create "$MNT/tmp/bown" 0644
expect_out "sticky: the owner may rename it" "ok" op_a rename "$MNT/tmp/af" "$MNT/tmp/af2"
expect_out "sticky: root may unlink it" "ok" op_root unlink "$MNT/tmp/af2"

# --- S_ISUID/S_ISGID
expect_out "a file A creates 04755 and writes loses S_ISUID" "ok 755" \
    sh -c "printf '%s ' \$(setpriv --reuid=$TEST_UID --regid=$TEST_GID --clear-groups -- env LD_PRELOAD='$LIB' \
        '$PYTHON' -c '$OP' create '$MNT/a/suid' 04755); env LD_PRELOAD='$LIB' stat -c %a '$MNT/a/suid'"
as_user with_lib chmod 06755 "$MNT/a/suid"
expect_out "truncate by its owner clears S_ISUID and S_ISGID" "ok 755" \
    sh -c "printf '%s ' \$(setpriv --reuid=$TEST_UID --regid=$TEST_GID --clear-groups -- env LD_PRELOAD='$LIB' \
        '$PYTHON' -c '$OP' truncate '$MNT/a/suid'); env LD_PRELOAD='$LIB' stat -c %a '$MNT/a/suid'"
with_lib chown 0:0 "$MNT/a/suid" && with_lib chmod 04755 "$MNT/a/suid"
op_root write "$MNT/a/suid" >/dev/null
expect_eq "root's write keeps them (CAP_FSETID)" "$(mode "$MNT/a/suid")" 4755
op_bare write "$MNT/a/suid" >/dev/null
expect_eq "root's write without CAP_FSETID clears them" "$(mode "$MNT/a/suid")" 755
# (python's mkdir: coreutils' mkdir -m chmods the special bits afterwards)
as_user with_lib sh -c "umask 022 && '$PYTHON' -c 'import os; os.mkdir(\"$MNT/a/nosg\", 0o2755)'"
expect_eq "mkdir(02755) takes no S_ISGID from its argument" "$(mode "$MNT/a/nosg")" 755
with_lib chmod 02775 "$MNT/a/nosg" && with_lib chgrp 4302 "$MNT/a/nosg"
as_user with_lib sh -c "umask 022 && mkdir '$MNT/a/nosg/sub'"
expect_out "... it does from a setgid parent, with the parent's group" "2755 4302" \
    with_lib stat -c '%a %g' "$MNT/a/nosg/sub"

# --- a rename keeps the owner an object inherited where it was
mkdir "$MNT/r"
with_lib chown 0:0 "$MNT/r"
with_lib sh -c "echo f >'$MNT/r/f' && mkdir '$MNT/r/d' && echo g >'$MNT/r/d/g'"
with_lib mv "$MNT/r/f" "$MNT/r/d" "$MNT/a/"
expect_out "a file renamed out of root's directory into A's stays root's" "0:0" with_lib stat -c '%u:%g' "$MNT/a/f"
expect_out "... a directory too, and what it holds" "0:0 0:0" \
    sh -c "printf '%s ' \$(env LD_PRELOAD='$LIB' stat -c '%u:%g' '$MNT/a/d' '$MNT/a/d/g') | sed 's/ \$//'"
n0=$(stat -c %s "$SRC/.vboxfix.state")
# (umask 0: the share gives the new file its mode itself, nothing recorded)
as_user with_lib sh -c "umask 0 && echo h >'$MNT/a/h' && mv '$MNT/a/h' '$MNT/a/priv/h'"
expect_eq "a rename that keeps the owner anyway records nothing (guard)" \
    "$(stat -c %s "$SRC/.vboxfix.state")" "$n0"

# --- through a symlink inside the share: the target's presented mode and
# owner, and the search of the directories the symlink leads through (the
# name as written has no record of its own)
as_user with_lib sh -c "cd '$MNT/a' && ln -s rw lrw && ln -s ro lro && ln -s priv lpriv"
with_lib sh -c "umask 0 && echo r >'$MNT/a/rootf' && chmod 0644 '$MNT/a/rootf'"
as_user with_lib ln -s rootf "$MNT/a/lroot"
expect_out "through a symlink: open for writing of A's 0644 file by uid B" "EACCES" op_b write "$MNT/a/lrw"
op_b_in() { (cd "$1" && shift && op_b "$@"); }
expect_out "... by a relative name" "EACCES" op_b_in "$MNT/a" write lrw
expect_out "... of a presented 0444 file by its owner" "EACCES" op_a write "$MNT/a/lro"
expect_out "... truncate by uid B" "EACCES" op_b truncate "$MNT/a/lrw"
as_user with_lib sh -c "echo w >'$MNT/a/rw'"
expect_out "... an O_TRUNC open by uid B, which leaves the file whole" "EACCES 2" \
    sh -c "printf '%s ' \$(setpriv --reuid=$B_UID --regid=$B_UID --clear-groups -- env LD_PRELOAD='$LIB' \
        '$PYTHON' -c '$OP' otrunc '$MNT/a/lrw'); stat -c %s '$MNT/a/rw'"
expect_out "... utime(NULL) of root's 0644 file by A (the link's inherited owner)" "EACCES" op_a touch "$MNT/a/lroot"
expect_out "... open below A's 0700 directory through a symlinked directory by uid B" "EACCES" \
    op_b read "$MNT/a/lpriv/f"
expect_out "... a missing name there: EACCES, not ENOENT" "EACCES" op_b stat "$MNT/a/lpriv/nope"
expect_out "... nor truncate one" "EACCES" op_b truncate "$MNT/a/lpriv/nope"
expect_out "... nor set its times" "EACCES" op_b touch "$MNT/a/lpriv/nope"
expect_out "... nor open one for writing" "EACCES" op_b write "$MNT/a/lpriv/nope"
as_user with_lib ln -s priv/nope "$MNT/a/lnope"
expect_out "... a symlink to a missing name there" "EACCES" op_b stat "$MNT/a/lnope"
as_user with_lib sh -c "mkdir -m 0744 '$MNT/a/list'"
expect_out "\".\" of A's 0744 directory by uid B through a descriptor (its lookup needs search)" "EACCES" \
    op_b readat . "$MNT/a/list"
expect_out "... a listing of A's 0700 directory by uid B" "EACCES" op_b listdir "$MNT/a/lpriv"
expect_out "... by A (guard)" "ok" op_a listdir "$MNT/a/lpriv"
expect_out "... the owner may write (guard)" "ok" op_a write "$MNT/a/lrw"
expect_out "... uid B may read (guard)" "ok" op_b read "$MNT/a/lrw"
expect_out "... root's own times (guard)" "ok" op_root settime "$MNT/a/lroot"
