#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Redirected FIFOs, sockets and device nodes behave like the real ones for
# every call on a name, and emulated hard links pass git's check for every
# uid (issue 12, items 4 and 5; docs/refusals.md). On the bindfs share owned
# by $SHARE_UID, refused like vboxsf (librefuse.so), as root and as the test
# user.
. "$(dirname "$0")/lib.sh"
need_cmd "$PYTHON" tar
redirect_share rk
tmp_dir T
lib() { with_lib_refuse "$@"; }
ulib() { as_user with_lib_refuse "$@"; }
py() { lib "$PYTHON" -c "$@" 2>&1; }
upy() { ulib "$PYTHON" -c "$@" 2>&1; }
ensure_test_user || skip_all "cannot create the test user"
mkdir -p "$MNT/t" "$MNT/u"

# ---- times on FIFOs and sockets ------------------------------------------------
# tar x of an archive holding a FIFO: mkfifoat, then utimensat and chmod on it
mkdir -p "$T/src/d"
mkfifo -m 0640 "$T/src/d/fifo"
echo data >"$T/src/d/file"
touch -d '2001-02-03 04:05:06' "$T/src/d/fifo" "$T/src/d/file"
tar -C "$T/src" -cf "$T/a.tar" d
out=$(cd "$MNT/t" && lib tar xf "$T/a.tar" 2>&1); rc=$?
expect_eq "tar x of an archive with a FIFO exits 0" "$rc:$out" "0:"
got=$(lib stat -c '%F %04a %y' "$MNT/t/d/fifo" | cut -c1-20)
expect_eq "tar x: the FIFO's type, mode and time" "$got" "fifo 0640 2001-02-03"
# GNU tar does not archive sockets ("socket ignored"): a bound socket's
# times through every call a program makes on a name
check "touch, touch -h -d, utimensat, utimes, os.utime on a FIFO and a socket" lib "$PYTHON" -c "
import os, socket, subprocess, time
os.mkfifo('$MNT/t/f2')
s = socket.socket(socket.AF_UNIX); s.bind('$MNT/t/s.sock'); s.listen(1)
for p in ('$MNT/t/f2', '$MNT/t/s.sock'):
    subprocess.run(['touch', p], check=True)
    subprocess.run(['touch', '-h', '-d', '2002-03-04 05:06:07', p], check=True)
    assert time.strftime('%Y', time.localtime(os.lstat(p).st_mtime)) == '2002', p
    os.utime(p, (1000000000, 1000000000))
    assert os.stat(p).st_mtime == 1000000000, p
    os.utime(p, (1100000000, 1100000000), follow_symlinks=False)
    assert os.lstat(p).st_mtime == 1100000000, p
    os.utime(p)
    assert os.stat(p).st_mtime > 1100000000, p
"

# ---- unlink and create again; rename over and away, by any uid -------------------
check "unlink a FIFO then create a regular file and a FIFO there" lib "$PYTHON" -c "
import os, stat
p = '$MNT/t/f3'
os.mkfifo(p); os.unlink(p)
fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644); os.close(fd)
assert stat.S_ISREG(os.stat(p).st_mode)
os.unlink(p); os.mkfifo(p)
assert stat.S_ISFIFO(os.stat(p).st_mode)
os.unlink(p)
assert not os.path.lexists(p)
"

# root's FIFO and socket; the test user renames a regular file over one,
# renames the other away, unlinks a third
chmod 0777 "$SRC/u"
py "
import os, socket
os.mkfifo('$MNT/u/over', 0o666); os.mkfifo('$MNT/u/away', 0o666); os.mkfifo('$MNT/u/gone', 0o666)
socket.socket(socket.AF_UNIX).bind('$MNT/u/sock')" || fail "root makes FIFOs" "exit $?"
out=$(upy "
import os, stat
with open('$MNT/u/reg', 'w') as f: f.write('x')
os.rename('$MNT/u/reg', '$MNT/u/over')
print(stat.S_ISREG(os.stat('$MNT/u/over').st_mode), end=' ')
os.unlink('$MNT/u/over')
print(os.path.lexists('$MNT/u/over'), end=' ')
fd = os.open('$MNT/u/over', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644); os.close(fd)
print(stat.S_ISREG(os.stat('$MNT/u/over').st_mode))")
expect_eq "non-root rename of a file over root's FIFO, unlink, O_EXCL create" "$out" "True False True"
expect_eq "root sees the regular file too" "$(py "
import os, stat; print(stat.S_ISREG(os.stat('$MNT/u/over').st_mode))")" "True"
out=$(upy "
import os, stat
os.rename('$MNT/u/away', '$MNT/u/moved')
print(os.path.lexists('$MNT/u/away'), stat.S_ISFIFO(os.lstat('$MNT/u/moved').st_mode), end=' ')
os.unlink('$MNT/u/gone')
print(os.path.lexists('$MNT/u/gone'), end=' ')
os.rename('$MNT/u/sock', '$MNT/u/sock2')
print(os.path.lexists('$MNT/u/sock'), stat.S_ISSOCK(os.lstat('$MNT/u/sock2').st_mode))")
expect_eq "non-root rename away and unlink of root's FIFOs and socket" "$out" "False True False False True"
expect_eq "root sees the same names" "$(py "
import os; print(sorted(os.listdir('$MNT/u')))")" "['moved', 'over', 'sock2']"
expect_eq "the test user creates the names again" "$(upy "
import os, stat
os.mkfifo('$MNT/u/away'); os.mkfifo('$MNT/u/gone')
print(stat.S_ISFIFO(os.stat('$MNT/u/away').st_mode), sorted(os.listdir('$MNT/u')))")" \
    "True ['away', 'gone', 'moved', 'over', 'sock2']"

# a hard link root made of the test user's FIFO, unlinked by the test user
# (who cannot remove root's link where it lives: given up): the FIFO shows
# one link again, to both (conformance multi-39-99; before: 2)
mkdir -m 0777 "$MNT/nl"
upy "import os; os.mkfifo('$MNT/nl/p')" >/dev/null
py "import os; os.link('$MNT/nl/p', '$MNT/nl/q')" >/dev/null
upy "import os; os.unlink('$MNT/nl/q')" >/dev/null
expect_eq "a FIFO's link made by root, unlinked by its owner: st_nlink 1 (stat, statx), q gone" \
    "$(upy "import os; print(os.stat('$MNT/nl/p').st_nlink, os.path.lexists('$MNT/nl/q'))") $(lib stat -c %h "$MNT/nl/p")" \
    "1 False 1"
# ... and one renamed away by a third user (a forward where it lives, the
# old name given up) still counts its new name (conformance multi-29-44)
setpriv --reuid=4301 --regid=4301 --clear-groups -- env LD_PRELOAD="$LIB $REFUSE" "$PYTHON" -c "import os; os.mkfifo('$MNT/nl/x')"
py "import os; os.link('$MNT/nl/x', '$MNT/nl/y')" >/dev/null
upy "import os; os.rename('$MNT/nl/x', '$MNT/nl/z')" >/dev/null
expect_eq "a FIFO's link made by root, the FIFO renamed away by a third user: st_nlink 2 (z and y)" \
    "$(upy "import os; print(os.stat('$MNT/nl/z').st_nlink, os.stat('$MNT/nl/y').st_nlink, os.path.lexists('$MNT/nl/x'))")" \
    "2 2 False"

# a listening socket of root, renamed away by the test user: clients reach
# the listener under the new name; root makes a name the user gave up again
out=$(lib "$PYTHON" -c "
import os, socket, subprocess, sys
s = socket.socket(socket.AF_UNIX); s.bind('$MNT/u/live.sock'); s.listen(1); os.chmod('$MNT/u/live.sock', 0o777)
os.mkfifo('$MNT/u/r1')
env = dict(os.environ, LD_PRELOAD='$LIB $REFUSE')
def user(code):
    subprocess.run(['setpriv', '--reuid=$TEST_UID', '--regid=$TEST_GID', '--clear-groups', '--', sys.executable, '-c', code],
                   env=env, check=True)
user(\"import os; os.rename('$MNT/u/live.sock', '$MNT/u/moved.sock'); os.unlink('$MNT/u/r1')\")
user(\"import socket; c = socket.socket(socket.AF_UNIX); c.connect('$MNT/u/moved.sock'); c.sendall(b'hi'); c.close()\")
a, _ = s.accept(); print(a.recv(10).decode(), os.path.lexists('$MNT/u/live.sock'), os.path.lexists('$MNT/u/r1'), end=' ')
os.mkfifo('$MNT/u/r1'); print(os.path.exists('$MNT/u/r1'), end=' ')
user(\"import os, stat; assert stat.S_ISFIFO(os.stat('$MNT/u/r1').st_mode); os.rename('$MNT/u/moved.sock', '$MNT/u/m2.sock')\")
print(sorted(n for n in os.listdir('$MNT/u') if 'sock' in n))" 2>&1)
expect_eq "root's listening socket renamed away by another uid still answers; a given-up name made again" "$out" \
    "hi False False True ['m2.sock', 'sock2']"

# ---- device nodes: made by root in the local directory ---------------------------
out=$(py "
import os, stat
os.mknod('$MNT/t/null', 0o666 | stat.S_IFCHR, os.makedev(1, 3))
s = os.stat('$MNT/t/null')
print(stat.S_ISCHR(s.st_mode), os.major(s.st_rdev), os.minor(s.st_rdev), end=' ')
with open('$MNT/t/null', 'w') as f: f.write('discarded')
with open('$MNT/t/null') as f: print(repr(f.read()), end=' ')
os.utime('$MNT/t/null', (1000000000, 1000000000))
print(os.stat('$MNT/t/null').st_mtime == 1000000000, 'null' in os.listdir('$MNT/t'))")
expect_eq "mknod of a character device by root on the share" "$out" "True 1 3 '' True True"
expect_eq "ls -l shows it as a character device" "$(lib ls -l "$MNT/t" | awk '$NF == "null" {print substr($1, 1, 1)}')" "c"
expect_eq "a non-root mknod of a device stays EPERM" "$(upy "
import errno, os, stat
try: os.mknod('$MNT/u/dev', 0o666 | stat.S_IFCHR, os.makedev(1, 3)); print('ok')
except OSError as e: print(errno.errorcode[e.errno])")" "EPERM"
check "unlink of the device node" lib rm "$MNT/t/null"

# ---- hard links: git's check for every uid, st_nlink ------------------------------
if command -v git >/dev/null 2>&1; then
    # the source repository is on the share (made in the share's backing
    # directory: the share shows it as $SHARE_UID's), with a commit-graph,
    # the file git's check stopped at
    mkdir -p "$SRC/g"; chmod 0777 "$SRC/g"
    sh -c "cd '$SRC/g' && git init -q src && cd src && echo one >f && git add f &&
        git -c user.email=t@t -c user.name=t commit -q -m one && git commit-graph write --reachable" >/dev/null 2>&1 ||
        fail "git: the source repository" "exit $?"
    chmod -R a+rX "$SRC/g/src"
    out=$(as_user env LD_PRELOAD="$LIB $REFUSE" GIT_CONFIG_NOSYSTEM=1 \
        git -c safe.directory='*' clone -q --local "$MNT/g/src" "$MNT/g/c1" 2>&1); rc=$?
    expect_eq "git clone --local on the share as uid $TEST_UID (share of uid $SHARE_UID)" "$rc:$out" "0:"
    expect_out "the clone is whole" "one" as_user env LD_PRELOAD="$LIB $REFUSE" \
        git -c safe.directory='*' -C "$MNT/g/c1" show HEAD:f
else
    skip "git clone as another uid" "needs git"
fi
# what git checks, as a uid that does not own the mount: the new name's
# first stat shows the source's inode, mode, owner and size
out=$(upy "
import os
p = '$MNT/u/la'
with open(p, 'w') as f: f.write('payload')
a = os.stat(p)
os.link(p, '$MNT/u/lb')
b = os.lstat('$MNT/u/lb')
print(a.st_ino == b.st_ino, a.st_size == b.st_size, a.st_mode == b.st_mode, a.st_uid == b.st_uid)")
expect_eq "link as another uid: the new name shows the source's inode, size, mode, owner" "$out" "True True True True"
# every process, every uid: one inode number and st_nlink counting the names
expect_eq "link: another process sees one inode number and st_nlink 2 on both names" "$(py "
import os
a, b = os.stat('$MNT/u/la'), os.lstat('$MNT/u/lb')
print(a.st_ino == b.st_ino, a.st_nlink, b.st_nlink)")" "True 2 2"
expect_eq "link: a third name (statx too), then unlinks count down" "$(upy "
import os, subprocess
os.link('$MNT/u/lb', '$MNT/u/lc')
st = [os.stat('$MNT/u/' + n) for n in ('la', 'lb', 'lc')]
print(len({s.st_ino for s in st}), [s.st_nlink for s in st], end=' ')
print(subprocess.run(['stat', '-c', '%h', '$MNT/u/lc'], capture_output=True, text=True).stdout.strip(), end=' ')
os.unlink('$MNT/u/la'); print(os.stat('$MNT/u/lb').st_nlink, end=' ')
os.rename('$MNT/u/lc', '$MNT/u/ld'); print(os.stat('$MNT/u/ld').st_nlink, end=' ')
os.unlink('$MNT/u/ld'); print(os.stat('$MNT/u/lb').st_nlink)")" "1 [3, 3, 3] 3 2 2 1"
expect_eq "link of a symlink: AT_SYMLINK_FOLLOW links its target, without it the symlink" "$(upy "
import os
with open('$MNT/u/st', 'w') as f: f.write('target')
os.symlink('st', '$MNT/u/sl')
d = os.open('$MNT/u', os.O_RDONLY)
os.link('sl', 'sh', src_dir_fd=d, dst_dir_fd=d, follow_symlinks=True)
a, b = os.stat('$MNT/u/st'), os.lstat('$MNT/u/sh')
print(open('$MNT/u/sh').read(), a.st_ino == b.st_ino, b.st_nlink, end=' ')
os.link('$MNT/u/sl', '$MNT/u/sl2')
a, b = os.lstat('$MNT/u/sl'), os.lstat('$MNT/u/sl2')
print(os.readlink('$MNT/u/sl2'), a.st_ino == b.st_ino, b.st_nlink)")" "target True 2 st True 2"

# root's FIFO renamed away by the test user, then root makes the old name
# again: the renamed one stays where it went
out=$(lib "$PYTHON" -c "
import os, stat, subprocess, sys
os.mkfifo('$MNT/u/orig', 0o666)
env = dict(os.environ, LD_PRELOAD='$LIB $REFUSE')
subprocess.run(['setpriv', '--reuid=$TEST_UID', '--regid=$TEST_GID', '--clear-groups', '--', sys.executable, '-c',
                \"import os; os.rename('$MNT/u/orig', '$MNT/u/went')\"], env=env, check=True)
os.mkfifo('$MNT/u/orig', 0o600)
a, b = os.lstat('$MNT/u/orig'), os.lstat('$MNT/u/went')
print(stat.S_ISFIFO(a.st_mode), stat.S_ISFIFO(b.st_mode), a.st_ino != b.st_ino, oct(b.st_mode & 0o777))" 2>&1)
expect_eq "a FIFO renamed away by another uid survives its creator making the old name again" "$out" "True True True 0o644"
