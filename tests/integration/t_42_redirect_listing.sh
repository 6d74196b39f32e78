#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Redirected FIFOs and sockets in directory listings (issue 5, item 3): a
# FIFO or socket the share refused lives in VBOXFIX_RUNDIR, and a listing of
# its share directory shows it after the real entries: ls -l, os.listdir,
# os.scandir, readdir_r, once per pass (rewinddir), in no other directory,
# gone after unlink, moved by rename, for objects of other uids too; outside
# shares nothing changes.
. "$(dirname "$0")/lib.sh"
need_cmd "$PYTHON"
redirect_share rl
tmp_dir T

# listing.py DIR: one line per entry, sorted: name:type:ino-ok, as listdir,
# scandir (type from the entry's own lstat) and raw readdir see them
cat >"$T/listing.py" <<'PY'
import ctypes, os, stat, sys
d = sys.argv[1]
def kind(m):
    return "fifo" if stat.S_ISFIFO(m) else "sock" if stat.S_ISSOCK(m) else "dir" if stat.S_ISDIR(m) else "file"
print("listdir", sorted(os.listdir(d)))
with os.scandir(d) as it:
    print("scandir", sorted(f"{e.name}:{kind(e.stat(follow_symlinks=False).st_mode)}:{e.inode() == os.lstat(e.path).st_ino}"
                            for e in it))
PY
# passes.py DIR: the names of one stream read twice with rewinddir between,
# once with readdir_r, and after seekdir to the start (the tail is dropped)
cat >"$T/passes.py" <<'PY'
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
class Dirent(ctypes.Structure):
    _fields_ = [("ino", ctypes.c_uint64), ("off", ctypes.c_int64), ("reclen", ctypes.c_ushort),
                ("type", ctypes.c_ubyte), ("name", ctypes.c_char * 256)]
libc.opendir.restype = ctypes.c_void_p
libc.opendir.argtypes = [ctypes.c_char_p]
for f in ("readdir", "rewinddir", "closedir", "telldir", "seekdir", "readdir_r"):
    getattr(libc, f).argtypes = [ctypes.c_void_p] + ([ctypes.c_long] if f == "seekdir" else []) + \
        ([ctypes.POINTER(Dirent), ctypes.POINTER(ctypes.POINTER(Dirent))] if f == "readdir_r" else [])
libc.readdir.restype = ctypes.POINTER(Dirent)
libc.telldir.restype = ctypes.c_long
def names(d):
    out = []
    while True:
        e = libc.readdir(d)
        if not e:
            return sorted(n for n in out if n.split(":")[0] not in (".", ".."))
        out.append(f"{e.contents.name.decode()}:{e.contents.type}")
def names_r(d):
    buf, res, out = Dirent(), ctypes.POINTER(Dirent)(), []
    while libc.readdir_r(d, ctypes.byref(buf), ctypes.byref(res)) == 0 and res:
        out.append(f"{res.contents.name.decode()}:{res.contents.type}")
    return sorted(n for n in out if n.split(":")[0] not in (".", ".."))
d = libc.opendir(sys.argv[1].encode())
start = libc.telldir(d)
a = names(d)
libc.rewinddir(d)
b = names(d)
libc.rewinddir(d)
r = names_r(d)
libc.seekdir(d, start)
s = names(d)
libc.closedir(d)
print("pass1", a); print("pass2", b); print("readdir_r", r); print("after-seekdir", s)
PY

lib() { with_lib_refuse "$@"; }
listing() { lib "$PYTHON" "$T/listing.py" "$1" 2>&1; }

mkdir -p "$MNT/data" "$MNT/other" "$MNT/pub" "$T/local"
# nothing was ever redirected: a share listing does not even read RUNDIR
if command -v strace >/dev/null 2>&1; then
    n=$(lib strace -f -e trace=%file,getdents64 ls -l "$MNT/data" 2>&1 | grep -c "$RUNDIR")
    [ "$n" -le 1 ] && ok "no redirect: at most one lstat of the redirect directory" ||
        fail "no redirect: at most one lstat of the redirect directory" "$n calls name it"
fi
echo x >"$MNT/data/reg"
lib "$PYTHON" -c "
import os, socket
os.mkfifo('$MNT/data/ff', 0o640)
socket.socket(socket.AF_UNIX).bind('$MNT/data/mysql.sock')" || fail "create" "exit $?"

# ls -l in another process: types p and s, and nothing on stderr
out=$(lib ls -l "$MNT/data" 2>&1)
echo "$out" | grep -q '^p.* ff$' && echo "$out" | grep -q '^s.* mysql.sock$' && echo "$out" | grep -q '^-.* reg$' &&
    ! echo "$out" | grep -q 'ls:' && ok "ls -l shows the FIFO and the socket" ||
    fail "ls -l shows the FIFO and the socket" "$(echo "$out" | tr '\n' ' ')"
want_data="listdir ['ff', 'mysql.sock', 'reg']
scandir ['ff:fifo:True', 'mysql.sock:sock:True', 'reg:file:True']"
expect_eq "listdir and scandir" "$(listing "$MNT/data")" "$want_data"
expect_eq "another directory lists none" "$(listing "$MNT/other")" "listdir []
scandir []"
expect_eq "the share root lists none" "$(listing "$MNT" | head -1)" "listdir ['data', 'other', 'pub']"
# 1 = DT_FIFO, 12 = DT_SOCK, 8 = DT_REG
expect_eq "rewinddir, readdir_r, seekdir" "$(lib "$PYTHON" "$T/passes.py" "$MNT/data" 2>&1)" \
"pass1 ['ff:1', 'mysql.sock:12', 'reg:8']
pass2 ['ff:1', 'mysql.sock:12', 'reg:8']
readdir_r ['ff:1', 'mysql.sock:12', 'reg:8']
after-seekdir ['reg:8']"
expect_eq "listdir on a descriptor, twice" "$(lib "$PYTHON" -c "
import os
fd = os.open('$MNT/data', os.O_RDONLY)
print(sorted(os.listdir(fd)), sorted(os.listdir(fd)))" 2>&1)" "['ff', 'mysql.sock', 'reg'] ['ff', 'mysql.sock', 'reg']"

# a real entry of the same name (made by the host) is listed once
lib "$PYTHON" -c "import os; os.mkfifo('$MNT/data/dup')"
echo host >"$SRC/data/dup"
expect_eq "a real name hides the object" "$(listing "$MNT/data" | head -1)" "listdir ['dup', 'ff', 'mysql.sock', 'reg']"
rm -f "$SRC/data/dup"
lib "$PYTHON" -c "import os; os.unlink('$MNT/data/dup')"

# unlink and rename
lib "$PYTHON" -c "import os; os.unlink('$MNT/data/ff'); os.rename('$MNT/data/mysql.sock', '$MNT/other/m2.sock')" ||
    fail "unlink, rename" "exit $?"
expect_eq "after unlink and rename: source" "$(listing "$MNT/data")" "listdir ['reg']
scandir ['reg:file:True']"
expect_eq "after rename: target" "$(listing "$MNT/other")" "listdir ['m2.sock']
scandir ['m2.sock:sock:True']"

# objects of another uid: made by the test user, listed by root and by it
if [ "$(id -u)" -eq 0 ] && ensure_test_user; then
    as_user with_lib_refuse "$PYTHON" -c "
import socket; socket.socket(socket.AF_UNIX).bind('$MNT/pub/u.sock')" || fail "test user bind" "exit $?"
    expect_eq "another uid's socket, listed by root" "$(listing "$MNT/pub")" "listdir ['u.sock']
scandir ['u.sock:sock:True']"
    expect_eq "root's socket, listed by another uid" \
        "$(as_user with_lib_refuse "$PYTHON" "$T/listing.py" "$MNT/other" 2>&1)" "listdir ['m2.sock']
scandir ['m2.sock:sock:True']"
else
    skip "other uids" "needs root and the test user"
fi

# outside shares nothing changes: same listing with and without the library
mkfifo "$T/local/ff"; echo x >"$T/local/reg"; mkdir "$T/local/data"
a=$("$PYTHON" "$T/listing.py" "$T/local"; "$PYTHON" "$T/passes.py" "$T/local")
b=$(lib "$PYTHON" "$T/listing.py" "$T/local"; lib "$PYTHON" "$T/passes.py" "$T/local")
expect_eq "outside shares: the same listing" "$b" "$a"
expect_eq "outside shares: a directory named like the share's lists nothing more" \
    "$(lib "$PYTHON" "$T/listing.py" "$T/local/data")" "listdir []
scandir []"

# with redirects made (RUNDIR exists), listing a share directory costs the
# share nothing beyond the listing: the index is found by the directory's
# name from /proc, not an fstat (a request per listing; fails on the code
# before: 30 more for 30 directories)
mkdir -p "$MNT/many" && for i in $(seq 1 30); do mkdir -p "$MNT/many/d$i"; done
share_requests
# requests of listing directories d1..dN of many/, minus those of listing d1 alone
list_cost() {
    local a b c
    a=$(reqs); "$@" "$PYTHON" -c "import os; [os.listdir('$MNT/many/d%d' % i) for i in range(1, 31)]"; b=$(reqs)
    "$@" "$PYTHON" -c "import os; os.listdir('$MNT/many/d1')"; c=$(reqs)
    echo $(((b - a) - (c - b)))
}
bare_cost=$(list_cost env)
lib_cost=$(list_cost with_lib)
expect_eq "with redirects made, 29 more listings cost the share what they cost bare" "$lib_cost" "$bare_cost"
