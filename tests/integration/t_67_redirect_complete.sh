#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A share name held by a redirected FIFO or socket answers every call as a
# local filesystem does (issue 12, item 4; docs/refusals.md, "Held names"):
# a path through one is ENOTDIR, the name is taken for mkdir, symlink, link
# and mkfifo, readlink and truncate say EINVAL, rmdir of a directory that
# holds one is ENOTEMPTY, a directory renamed onto one is ENOTDIR, and a
# hard link of one is a second name of the same object. Each expectation is
# checked on a local directory first (the same script without the library),
# then on the bindfs share refused like vboxsf (librefuse.so). Last, the
# kernel's order of errors for another user in a directory presented not
# writable (failed before: mkfifo and bind answered EACCES first), and the
# permission to link, rename, remove and O_CREAT-open FIFOs kept off the
# share in another owner's 0555 and 01755 directories (failed before: OK OK
# ENOTDIR OK EACCES, where a local disk says EACCES EACCES EACCES EACCES OK).
# The renames of a directory into itself onto a FIFO (EINVAL) and of a
# socket onto its own directory (ENOTEMPTY) failed before (ENOTDIR, EISDIR),
# and so did a rename of one name of a linked socket onto the other (the
# source's name was gone).
. "$(dirname "$0")/lib.sh"
need_cmd "$PYTHON"
redirect_share rc
tmp_dir T

# One line per call: NAME: RESULT (OK or the errno name).
cat >"$T/calls.py" <<'EOF'
import errno, os, socket, stat, sys
d = sys.argv[1]
os.chdir(d)
def call(name, fn):
    try:
        fn(); r = 'OK'
    except OSError as e:
        r = errno.errorcode[e.errno]
    print(name + ':', r)
os.mkfifo('f')
socket.socket(socket.AF_UNIX).bind('s')
call('stat f/x', lambda: os.stat('f/x'))
call('open f/x', lambda: os.close(os.open('f/x', os.O_RDONLY)))
call('create f/x', lambda: os.close(os.open('f/x', os.O_WRONLY | os.O_CREAT, 0o644)))
call('mkdir f/x', lambda: os.mkdir('f/x'))
call('mkfifo s/x', lambda: os.mkfifo('s/x'))
call('unlink f/x', lambda: os.unlink('f/x'))
call('truncate f/x', lambda: os.truncate('f/x', 0))
call('readlink f/x', lambda: os.readlink('f/x'))
call('chmod f/x', lambda: os.chmod('f/x', 0o600))
call('utime f/x', lambda: os.utime('f/x'))
call('rename f/x', lambda: os.rename('f/x', 'y'))
call('listdir f', lambda: os.listdir('f'))
call('rmdir f', lambda: os.rmdir('f'))
call('mkdir f', lambda: os.mkdir('f'))
call('mkdir s', lambda: os.mkdir('s'))
call('symlink f', lambda: os.symlink('t', 'f'))
call('mkfifo f', lambda: os.mkfifo('f'))
with open('reg', 'w') as fh:
    fh.write('x')
call('link reg f', lambda: os.link('reg', 'f'))
call('readlink f', lambda: os.readlink('f'))
call('readlink s', lambda: os.readlink('s'))
call('truncate f', lambda: os.truncate('f', 0))
call('open O_CREAT|O_DIRECTORY f', lambda: os.close(os.open('f', os.O_RDONLY | os.O_CREAT | os.O_DIRECTORY, 0o644)))
os.mkdir('dir')
call('rename dir f', lambda: os.rename('dir', 'f'))
os.mkdir('full'); os.mkfifo('full/p')
call('rmdir full (a FIFO in it)', lambda: os.rmdir('full'))
os.unlink('full/p')
call('rmdir full (emptied)', lambda: os.rmdir('full'))
call('link f g', lambda: os.link('f', 'g'))
a, b = os.lstat('f'), os.lstat('g')
print('link f g, same inode, FIFO, nlink:', a.st_ino == b.st_ino, stat.S_ISFIFO(b.st_mode), b.st_nlink)
os.unlink('f')
print('link f g, g after unlink f:', stat.S_ISFIFO(os.lstat('g').st_mode), os.lstat('g').st_nlink)
os.mkdir('dir2')
call('link dir2 reg (taken)', lambda: os.link('dir2', 'reg'))
os.link('reg', 'reg2')
call('rename reg reg2 (one file)', lambda: os.rename('reg', 'reg2'))
print('rename reg reg2, both names:', os.path.exists('reg'), os.path.exists('reg2'))
# named through a symlinked directory (e -> d): the objects are d's
os.mkdir('d'); os.symlink('d', 'e')
def isfifo(n, kind=stat.S_ISFIFO):
    try:
        return kind(os.lstat(n).st_mode)
    except OSError as e:
        return errno.errorcode[e.errno]
os.mkfifo('e/p1')
print('mkfifo e/p1, d/p1 a FIFO:', isfifo('d/p1'))
socket.socket(socket.AF_UNIX).bind('e/s1')
print('bind e/s1, d/s1 a socket:', isfifo('d/s1', stat.S_ISSOCK))
os.mkfifo('d/p2')
print('mkfifo d/p2, e/p2 a FIFO:', isfifo('e/p2'))
call('mkdir e/p2', lambda: os.mkdir('e/p2'))
call('symlink e/p2', lambda: os.symlink('t', 'e/p2'))
call('create e/p2 O_EXCL', lambda: os.close(os.open('e/p2', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)))
call('mkfifo e/p2', lambda: os.mkfifo('e/p2'))
call('open e/p2 for writing, no reader', lambda: os.close(os.open('e/p2', os.O_WRONLY | os.O_NONBLOCK)))
call('rename e/p2 e/p3', lambda: os.rename('e/p2', 'e/p3'))
print('rename e/p2 e/p3, d/p2 and d/p3:', os.path.lexists('d/p2'), isfifo('d/p3'))
call('link e/p3 e/p4', lambda: os.link('e/p3', 'e/p4'))
print('link e/p3 e/p4, d/p4 a FIFO:', isfifo('d/p4'))
call('unlink e/p3', lambda: os.unlink('e/p3'))
print('unlink e/p3, d/p3 left:', os.path.lexists('d/p3'))
os.symlink('d/p4', 'l4')
here = os.open('.', os.O_RDONLY)
call('link l4 p5, following', lambda: os.link('l4', 'p5', src_dir_fd=here, follow_symlinks=True))
print('link l4 p5, p5 a FIFO:', isfifo('p5'))
os.symlink('d/p4', 'tf')
call('rename reg2 tf/x (tf -> a FIFO)', lambda: os.rename('reg2', 'tf/x'))
call('rename tf/x reg2', lambda: os.rename('tf/x', 'reg2'))
# the kernel's rename checks of one name below the other come before it
# looks at what they are (conformance multi-15-90, multi-39-59)
os.mkdir('in'); os.mkfifo('in/p'); socket.socket(socket.AF_UNIX).bind('in/s')
call('rename in in/p (into itself, onto a FIFO)', lambda: os.rename('in', 'in/p'))
call('rename in/s in (a socket onto its own directory)', lambda: os.rename('in/s', 'in'))
# two names of one socket (a hard link): a rename of one onto the other
# does nothing (conformance solo-30-71)
socket.socket(socket.AF_UNIX).bind('hs'); os.link('hs', 'hs2')
call('rename hs2 hs (two names of one socket)', lambda: os.rename('hs2', 'hs'))
call('lstat hs2 after it', lambda: os.lstat('hs2'))
call('lstat hs after it', lambda: os.lstat('hs'))
EOF

mkdir -p "$T/local" "$MNT/share"
"$PYTHON" "$T/calls.py" "$T/local" >"$T/local.txt" 2>&1 || fail "local run" "$(tail -3 "$T/local.txt")"
with_lib_refuse "$PYTHON" "$T/calls.py" "$MNT/share" >"$T/share.txt" 2>&1 || fail "share run" "$(tail -3 "$T/share.txt")"
n=$(wc -l <"$T/local.txt")
[ "$n" -gt 30 ] || fail "local run" "only $n lines"
paste -d '\n' "$T/local.txt" "$T/share.txt" | while IFS= read -r want && IFS= read -r got; do
    expect_eq "${want%%: *}" "${got#*: }" "${want#*: }"
done

# a directory renamed on the share takes its FIFOs and sockets along
expect_eq "a renamed directory's FIFO and socket go with it" "$(with_lib_refuse "$PYTHON" -c "
import os, socket, stat
os.chdir('$MNT/share')
os.mkdir('dd'); os.mkfifo('dd/p'); socket.socket(socket.AF_UNIX).bind('dd/s')
os.rename('dd', 'ee')
print(sorted(os.listdir('ee')), stat.S_ISFIFO(os.stat('ee/p').st_mode), stat.S_ISSOCK(os.stat('ee/s').st_mode),
      os.path.lexists('dd/p'))" 2>&1)" "['p', 's'] True True False"

# call FN: one call, OK or the errno name (the checks by another user below)
CALL='import errno, os, socket
def call(fn):
    try:
        fn(); return "OK"
    except OSError as e:
        return errno.errorcode[e.errno]'

# another user, in a directory presented not writable: a held name's EEXIST
# (EADDRINUSE for bind) comes before the permission to make a name, as the
# kernel orders them
if ensure_test_user >/dev/null 2>&1; then
    with_lib_refuse "$PYTHON" -c "
import os, socket
os.chdir('$MNT/share'); os.mkdir('ro'); os.mkfifo('ro/p'); socket.socket(socket.AF_UNIX).bind('ro/s')
os.chmod('ro', 0o555)"
    expect_eq "a held name in a directory presented 0555, another user: EEXIST before EACCES" "$(as_user with_lib_refuse "$PYTHON" -c "$CALL
os.chdir('$MNT/share/ro')
print(call(lambda: os.mkfifo('p')), call(lambda: os.mkdir('p')), call(lambda: os.symlink('t', 'p')),
      call(lambda: socket.socket(socket.AF_UNIX).bind('s')), call(lambda: os.mkfifo('q')))" 2>&1)" \
        "EEXIST EEXIST EEXIST EADDRINUSE EACCES"
else
    skip "a held name in a directory presented 0555" "no test user"
fi

# another user and FIFOs kept off the share in directories presented not
# writable (root's 0555) or sticky (root's 01755): the presented mode and
# the sticky rule judge them as the files they are (the share has nothing
# under their names), and an O_CREAT open of an existing one needs no
# permission to make a name
fifoperm() {
    local d=$1 pre=$2
    LD_PRELOAD="$pre" "$PYTHON" -c "
import os
os.chdir('$d'); os.mkdir('fro'); os.mkdir('fst'); os.mkdir('fw')
os.mkfifo('fro/p'); os.mkfifo('fro/q'); os.mkfifo('fst/p')
for n in ('fro', 'fst'):
    os.chown(n, 0, 0)  # recorded: root's to every user, not each caller's own
os.chmod('fw', 0o777); os.chmod('fro', 0o555); os.chmod('fst', 0o1755)"
    as_user env LD_PRELOAD="$pre" "$PYTHON" -c "$CALL
os.chdir('$d')
os.mkfifo('fw/mine')
print(call(lambda: os.link('fw/mine', 'fro/m')), call(lambda: os.rename('fro/p', 'fro/r')),
      call(lambda: os.rmdir('fro/q')), call(lambda: os.unlink('fro/q')),
      call(lambda: os.close(os.open('fst/p', os.O_RDONLY | os.O_CREAT | os.O_NONBLOCK, 0o644))))"
}
if ensure_test_user >/dev/null 2>&1; then
    want=$(fifoperm "$T/local" "")
    expect_eq "FIFOs in root's 0555 and 01755 directories, another user: $want" \
        "$(fifoperm "$MNT/share" "$LIB $REFUSE")" "$want"
else
    skip "FIFOs in directories presented not writable" "no test user"
fi

# a FIFO another user renamed away (a forward, and the old name given up
# in that user's list) and then renamed back onto its old name shows there
# again, whoever moves it back: its owner (before: the move replaced the
# FIFO itself), that user, or root (before: the name showed nothing;
# conformance multi-20-73)
if ensure_test_user >/dev/null 2>&1; then
    mkdir -m 0777 "$MNT/share/back"
    asuid() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups -- env LD_PRELOAD="$LIB $REFUSE" "$PYTHON" -c "import os; os.chdir('$MNT/share/back'); $*"; }
    there() { with_lib_refuse "$PYTHON" -c "
import os, stat
os.chdir('$MNT/share/back')
print(*['fifo' if os.path.lexists(p) and stat.S_ISFIFO(os.lstat(p).st_mode) else '-' for p in ('a', 'b')])"; }
    asuid "$TEST_UID" "os.mkfifo('a')"
    asuid 4301 "os.rename('a', 'b')"
    asuid "$TEST_UID" "os.rename('b', 'a')"
    expect_eq "a FIFO renamed away by another user, back onto its name by its owner: shown there" "$(there)" "fifo -"
    asuid 4301 "os.rename('a', 'b')"
    asuid 4301 "os.rename('b', 'a')"
    expect_eq "... by that user: shown there" "$(there)" "fifo -"
    asuid 4301 "os.rename('a', 'b')"
    with_lib_refuse "$PYTHON" -c "import os; os.chdir('$MNT/share/back'); os.rename('b', 'a')"
    expect_eq "... by root: shown there" "$(there)" "fifo -"
else
    skip "a FIFO renamed back onto its name" "no test user"
fi

# link() onto a FIFO's name by a user the kernel would refuse the link to
# (protected hardlinks: root's 0600 file): the kernel looks the new name up
# first, EEXIST; the library's EPERM came first before
linkonto() {
    local d=$1 pre=$2; shift 2
    mkdir -m 0777 "$d/lk" && echo x >"$d/lk/rf" && $pre chown 0:0 "$d/lk/rf" && $pre chmod 0600 "$d/lk/rf"
    "$@" "$PYTHON" -c "
import errno, os
os.mkfifo('$d/lk/q')
try: os.link('$d/lk/rf', '$d/lk/q'); print('OK')
except OSError as e: print(errno.errorcode[e.errno])"
}
want=$(linkonto "$T/local" "" as_user env)
expect_eq "link onto a FIFO's name, refused by protected hardlinks: $want" \
    "$(linkonto "$MNT/share" with_lib_refuse as_user env LD_PRELOAD="$LIB $REFUSE")" "$want"
