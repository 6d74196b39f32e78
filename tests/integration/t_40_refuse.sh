#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What vboxsf refuses (issue 5): O_DIRECT, hard links, FIFOs and unix
# sockets, busy names, directory fsync, rename flags and directories.
# tests/fixtures/librefuse.so makes a directory refuse exactly that; each
# behaviour is shown failing under it alone (with_refuse) and working with
# libvboxfix loaded above it (with_lib_refuse). Outside the share both must
# give the same answers. Runs on a plain directory declared a share
# (VBOXFIX_PATHS), and on the bindfs share when FUSE is available.
. "$(dirname "$0")/lib.sh"
need_lib
need_file "$REFUSE"
need_cmd "$PYTHON"

tmp_dir T
# the redirect directory of this test only (VBOXFIX_RUNDIR), short on purpose
RUNDIR=/tmp/vbf-rd.$$
on_exit "rm -rf '$RUNDIR'"
export VBOXFIX_RUNDIR=$RUNDIR

# ---- python: one script, run without and with the library -------------------
cat >"$T/cases.py" <<'EOF'
import ctypes, errno, fcntl, os, socket, stat, subprocess, sys, tempfile, time

MODE, SHARE, LOCAL, TAG = sys.argv[1:5]      # MODE: without | with
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, NOREPLACE, EXCHANGE, SYS_renameat2 = -100, 1, 2, 316

def run(fn):
    try:
        r = fn()
        return "ok" if r is None or r is True else str(r)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))

def expect(name, got, want):
    if got == want:
        print(f"ok - {TAG}{name} ({MODE}: {want})")
    else:
        print(f"FAIL - {TAG}{name}: {MODE}: got {got}, want {want}")

def case(name, fn, without, with_, local=True, setup=None, local_want="ok"):
    """fn(dir) on the share must give `without`/`with_`; outside, the same
    in both modes (`local_want`)."""
    dirs = [("share", SHARE, without if MODE == "without" else with_)]
    if local:
        dirs.append(("local", LOCAL, local_want))
    for where, d, want in dirs:
        if setup:
            setup(d)
        expect(f"{name}/{where}", run(lambda: fn(d)), want)

def clean(d, *names):
    for n in names:
        p = os.path.join(d, n)
        try:
            if os.path.isdir(p) and not os.path.islink(p):
                os.rmdir(p)
            else:
                os.unlink(p)
        except FileNotFoundError:
            pass

def put(p, data=b"data\n"):
    with open(p, "wb") as f:
        f.write(data)

def cerr():
    e = ctypes.get_errno()
    raise OSError(e, os.strerror(e))

def renameat2(a, b, fl):
    if libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), fl) != 0:
        cerr()

def sys_renameat2(a, b, fl):
    if libc.syscall(SYS_renameat2, AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), fl) != 0:
        cerr()

def child(code, *args):
    """another process (same preload), so mappings must not be per-process"""
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=20)
    if p.returncode:
        raise OSError(errno.EIO, p.stderr.strip().splitlines()[-1] if p.stderr else "child failed")
    return p.stdout.strip()

# ---- O_DIRECT
case("odirect-open", lambda d: os.close(os.open(f"{d}/o", os.O_RDONLY | os.O_DIRECT)),
     "EINVAL", "ok", setup=lambda d: put(f"{d}/o"))
case("odirect-create-excl", lambda d: os.close(os.open(f"{d}/oc", os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_DIRECT, 0o644)),
     "EINVAL", "ok", setup=lambda d: clean(d, "oc"))
def setfl(d):
    fd = os.open(f"{d}/o", os.O_RDONLY)
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_DIRECT | os.O_NONBLOCK)
        return "nonblock" if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK else "lost"
    finally:
        os.close(fd)
case("odirect-setfl", setfl, "EINVAL", "nonblock", local=False)
case("odirect-missing", lambda d: os.open(f"{d}/missing", os.O_RDONLY | os.O_DIRECT), "ENOENT", "ENOENT", local=False)

# ---- directory fsync
def dsync(fn):
    def go(d):
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fn(fd)
        finally:
            os.close(fd)
    return go
case("fsync-dir", dsync(os.fsync), "EINVAL", "ok")
case("fdatasync-dir", dsync(os.fdatasync), "EINVAL", "ok")

# ---- hard links: a copy with the same data and presented mode
def link_copy(d):
    put(f"{d}/la", b"payload\n")
    os.chmod(f"{d}/la", 0o640)
    os.link(f"{d}/la", f"{d}/lb")
    s = os.stat(f"{d}/lb")
    return f"{open(f'{d}/lb', 'rb').read()!r}:{oct(stat.S_IMODE(s.st_mode))}"
case("link", link_copy, "EPERM", "b'payload\\n':0o640", local=False, setup=lambda d: clean(d, "la", "lb"))
case("link-local", lambda d: os.link(f"{d}/la", f"{d}/lb"), "EPERM", "ok",
     setup=lambda d: (clean(d, "la", "lb"), put(f"{d}/la")))
case("link-exists", lambda d: os.link(f"{d}/la", f"{d}/lb"), "EPERM", "EEXIST", local=False,
     setup=lambda d: (put(f"{d}/la"), put(f"{d}/lb")))
case("link-missing-source", lambda d: os.link(f"{d}/nope", f"{d}/lc"), "EPERM", "ENOENT", local=False)
case("link-missing-parent", lambda d: os.link(f"{d}/la", f"{d}/nodir/lc"), "EPERM", "ENOENT", local=False)
case("link-dir-fd", lambda d: os.link("la", "ld", src_dir_fd=os.open(d, os.O_RDONLY), dst_dir_fd=os.open(d, os.O_RDONLY)),
     "EPERM", "ok", local=False, setup=lambda d: clean(d, "ld"))
expect("link-no-temp-left/share", sorted(n for n in os.listdir(SHARE) if n.startswith(".vbf-link")), [])

# ---- FIFOs: made off the share, found by every process under the share name
def fifo(d):
    os.mkfifo(f"{d}/ff", 0o640)
    s = os.stat(f"{d}/ff")
    assert stat.S_ISFIFO(s.st_mode), oct(s.st_mode)
    r = os.open(f"{d}/ff", os.O_RDONLY | os.O_NONBLOCK)
    # the writer is another process: it never saw the mkfifo
    child("import os,sys; fd=os.open(sys.argv[1], os.O_WRONLY); os.write(fd, b'through'); os.close(fd)", f"{d}/ff")
    data = os.read(r, 100)
    os.close(r)
    return data.decode()
case("fifo", fifo, "EPERM", "through", setup=lambda d: clean(d, "ff", "ff2"), local_want="through")
def fifo_open_w(d):
    # Python's open(p, "w") is O_CREAT|O_TRUNC: it must find the FIFO, not
    # create a regular file over its name
    r = os.open(f"{d}/ff", os.O_RDONLY | os.O_NONBLOCK)
    child("import sys; f = open(sys.argv[1], 'w'); f.write('w-mode'); f.close()", f"{d}/ff")
    data = os.read(r, 100)
    os.close(r)
    return data.decode()
case("fifo-open-w-mode", fifo_open_w, "ENOENT", "w-mode", local=False)
case("fifo-exists", lambda d: os.mkfifo(f"{d}/ff"), "EPERM", "EEXIST", local=False)
case("fifo-access", lambda d: os.access(f"{d}/ff", os.R_OK | os.W_OK), "False", "ok", local=False)
def fifo_chmod(d):
    os.chmod(f"{d}/ff", 0o600)
    return oct(stat.S_IMODE(os.stat(f"{d}/ff").st_mode))
case("fifo-chmod", fifo_chmod, "ENOENT", "0o600", local=False)
def fifo_rename(d):
    os.rename(f"{d}/ff", f"{d}/ff2")
    return f"{os.path.exists(f'{d}/ff')}:{stat.S_ISFIFO(os.stat(f'{d}/ff2').st_mode)}"
case("fifo-rename", fifo_rename, "ENOENT", "False:True", local=False)
case("fifo-unlink", lambda d: (os.unlink(f"{d}/ff2"), os.path.exists(f"{d}/ff2"))[1], "ENOENT", "False", local=False)
case("fifo-missing-parent", lambda d: os.mkfifo(f"{d}/nodir/ff"), "EPERM", "ENOENT", local=False)
case("mknod-regular", lambda d: os.mknod(f"{d}/reg", 0o600 | stat.S_IFREG), "EPERM", "ok", setup=lambda d: clean(d, "reg"))
# root's device node is made in the local directory (docs/refusals.md)
case("mknod-device", lambda d: os.mknod(f"{d}/dev", 0o600 | stat.S_IFCHR, os.makedev(1, 3)), "EPERM",
     "ok" if os.geteuid() == 0 else "EPERM", local=False)

# ---- unix sockets: bind on the share, connect from another process
def sock(d, name="s.sock", cwd=None):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(name if cwd else f"{d}/{name}")
        s.listen(1)
        got = child("import socket,sys,os\n"
                    "os.chdir(sys.argv[2]) if sys.argv[2] else None\n"
                    "c=socket.socket(socket.AF_UNIX); c.connect(sys.argv[1]); c.sendall(b'hello'); c.close()",
                    name if cwd else f"{d}/{name}", cwd or "")
        a, _ = s.accept()
        data = a.recv(10)
        a.close()
        return data.decode()
    finally:
        s.close()
case("socket", sock, "EPERM", "hello", setup=lambda d: clean(d, "s.sock"), local_want="hello")
case("socket-stat", lambda d: stat.S_ISSOCK(os.stat(f"{d}/s.sock").st_mode), "ENOENT", "ok", local=False)
case("socket-stale-bind", lambda d: socket.socket(socket.AF_UNIX).bind(f"{d}/s.sock"), "EPERM", "EADDRINUSE", local=False)
case("socket-unlink-rebind", lambda d: (os.unlink(f"{d}/s.sock"), sock(d))[1], "ENOENT", "hello", local=False)
case("socket-missing-parent", lambda d: socket.socket(socket.AF_UNIX).bind(f"{d}/nodir/s"), "EPERM", "ENOENT", local=False)
case("connect-nothing", lambda d: socket.socket(socket.AF_UNIX).connect(f"{d}/none.sock"), "ENOENT", "ENOENT", local=False)
# a share path too long for sun_path, reached relative to a deep cwd: the
# local name stays short
def deep(d):
    p = d
    for i in range(6):
        p = os.path.join(p, "a-rather-long-directory-name-%d" % i)
    os.makedirs(p, exist_ok=True)
    old = os.getcwd()
    os.chdir(p)
    try:
        return sock(p, "deep.sock", cwd=p)
    finally:
        os.chdir(old)
case("socket-deep-path", deep, "EPERM", "hello", local=False)

# ---- rename flags and directories
def setup_r(d):
    clean(d, "r1", "r2")
    put(f"{d}/r1")
case("renameat2-noreplace", lambda d: renameat2(f"{d}/r1", f"{d}/r2", NOREPLACE), "EINVAL", "ok", setup=setup_r)
case("syscall-renameat2-noreplace", lambda d: sys_renameat2(f"{d}/r1", f"{d}/r2", NOREPLACE), "EINVAL", "ok", setup=setup_r)
case("renameat2-noreplace-exists", lambda d: (put(f"{d}/r2"), renameat2(f"{d}/r1", f"{d}/r2", NOREPLACE)),
     "EEXIST", "EEXIST", local=False, setup=setup_r)
case("renameat2-noreplace-missing", lambda d: renameat2(f"{d}/nope", f"{d}/r3", NOREPLACE), "ENOENT", "ENOENT", local=False)
case("renameat2-exchange", lambda d: (put(f"{d}/r2"), renameat2(f"{d}/r1", f"{d}/r2", EXCHANGE)),
     "EINVAL", "EINVAL", local=False, setup=setup_r)
def setup_dirs(d):
    for n in ("d1/x", "d1", "d2/x", "d2", "d3/y", "d3"):
        clean(d, n)
    os.mkdir(f"{d}/d1")
    put(f"{d}/d1/x")
    os.mkdir(f"{d}/d2")
case("rename-dir-onto-empty", lambda d: (os.rename(f"{d}/d1", f"{d}/d2"), os.listdir(f"{d}/d2"))[1] == ["x"],
     "EEXIST", "ok", setup=setup_dirs)
def onto_full(d):
    os.mkdir(f"{d}/d3")
    put(f"{d}/d3/y")
    os.rename(f"{d}/d1", f"{d}/d3")
case("rename-dir-onto-nonempty", onto_full, "EEXIST", "ENOTEMPTY", local=False, setup=setup_dirs)
expect("rename-dir-onto-nonempty/kept", sorted(os.listdir(f"{SHARE}/d3")) + sorted(os.listdir(f"{SHARE}/d1")), ["y", "x"])

# ---- busy names (REFUSE_BUSY=busy*, 3 refusals per name): retried
case("busy-rename", lambda d: os.rename(f"{d}/busy-r", f"{d}/busy-r2"), "ETXTBSY", "ok", local=False)
case("busy-unlink", lambda d: os.unlink(f"{d}/busy-u"), "ETXTBSY", "ok", local=False)
case("busy-rmdir", lambda d: os.rmdir(f"{d}/busy-d"), "ETXTBSY", "ok", local=False)
case("busy-open-write", lambda d: os.close(os.open(f"{d}/busy-w", os.O_WRONLY)), "ETXTBSY", "ok", local=False)
def tmpfile(d):
    # vboxsf has no O_TMPFILE: Python falls back to create + unlink while open
    tempfile._O_TMPFILE_WORKS = False
    with tempfile.TemporaryFile(prefix="busy-tmp", dir=d) as f:
        f.write(b"x")
    return sorted(n for n in os.listdir(d) if n.startswith("busy-tmp"))
case("tempfile-busy", tmpfile, "ETXTBSY", "[]", local=False)
EOF

# make_busy DIR: the busy names, created without any preload
make_busy() {
    local d=$1
    echo x >"$d/busy-r"; echo x >"$d/busy-u"; echo x >"$d/busy-w"; mkdir -p "$d/busy-d"
}

# run_cases TAG SHARE LOCAL: the python cases without, then with, the library
run_cases() {
    local tag=$1 share=$2 local=$3 mode
    for mode in without with; do
        rm -rf "${share:?}"/* "${local:?}"/* "$RUNDIR"
        make_busy "$share"
        if [ "$mode" = without ]; then
            REFUSE_PATHS=$share REFUSE_BUSY='busy*' REFUSE_BUSY_COUNT=3 \
                with_refuse "$PYTHON" "$T/cases.py" without "$share" "$local" "$tag" ||
                fail "${tag}python-without" "exit $?"
        else
            REFUSE_PATHS=$share REFUSE_BUSY='busy*' REFUSE_BUSY_COUNT=3 VBOXFIX_PATHS=$share \
                with_lib_refuse "$PYTHON" "$T/cases.py" with "$share" "$local" "$tag" ||
                fail "${tag}python-with" "exit $?"
        fi
    done
}

mkdir -p "$T/share" "$T/local"
run_cases "" "$T/share" "$T/local"

# ---- never success where the share (or the disk) really says no --------------
S=$T/share
rm -rf "${S:?}"/*
echo x >"$S/busy-x"
expect_out "busy beyond the retry budget stays ETXTBSY" "ETXTBSY" with_lib_refuse env REFUSE_PATHS="$S" \
    REFUSE_BUSY='busy*' REFUSE_BUSY_COUNT=1000 VBOXFIX_PATHS="$S" VBOXFIX_RETRY_MS=150 "$PYTHON" -c "
import errno, os
try: os.unlink('$S/busy-x'); print('ok')
except OSError as e: print(errno.errorcode[e.errno])"
expect_out "the busy file is still there" "yes" sh -c "[ -e '$S/busy-x' ] && echo yes"
expect_out "VBOXFIX_RETRY_MS=0: no retry" "ETXTBSY" with_lib_refuse env REFUSE_PATHS="$S" \
    REFUSE_BUSY='busy*' REFUSE_BUSY_COUNT=1 VBOXFIX_PATHS="$S" VBOXFIX_RETRY_MS=0 "$PYTHON" -c "
import errno, os
try: os.unlink('$S/busy-x'); print('ok')
except OSError as e: print(errno.errorcode[e.errno])"
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    # a full disk stays a full disk: link copy onto a tiny tmpfs is ENOSPC
    FULL=$T/full
    mkdir -p "$FULL"
    if mount -t tmpfs -o size=64k tmpfs "$FULL" 2>/dev/null; then
        on_exit "umount '$FULL'"
        head -c 40000 /dev/zero >"$FULL/big"
        expect_out "link copy on a full share is ENOSPC, nothing left behind" "ENOSPC []" \
            with_lib_refuse env REFUSE_PATHS="$FULL" VBOXFIX_PATHS="$FULL" "$PYTHON" -c "
import errno, os
try: os.link('$FULL/big', '$FULL/big2'); r = 'ok'
except OSError as e: r = errno.errorcode[e.errno]
print(r, sorted(n for n in os.listdir('$FULL') if n.startswith(('.vbf-link', 'big2'))))"
    else
        skip "link copy on a full share" "cannot mount tmpfs"
    fi
fi

# ---- outside shares: the plain call, no extra system calls --------------------
if command -v strace >/dev/null 2>&1; then
    L=$T/local
    rm -rf "${L:?}"/*; echo x >"$L/a"
    prog="import os, socket
os.rename('$L/a', '$L/b'); os.link('$L/b', '$L/c'); os.unlink('$L/c'); os.mkfifo('$L/p'); os.unlink('$L/p')
fd = os.open('$L', os.O_RDONLY); os.fsync(fd); os.close(fd)
s = socket.socket(socket.AF_UNIX); s.bind('$L/s'); s.close(); os.unlink('$L/s')
try: socket.socket(socket.AF_UNIX).connect('$L/none')
except OSError: pass
try: os.stat('$L/none')
except OSError: pass"
    count() { strace -f -c -o "$T/strace.$1" env "${@:2}" "$PYTHON" -c "$prog" >/dev/null 2>&1; rm -f "$L"/*; echo x >"$L/a"
        awk '$NF ~ /^(renameat2?|rename|link|linkat|unlink|unlinkat|mknodat|mknod|fsync|bind|connect|newfstatat|stat|lstat|statx|getdents64|openat|access|faccessat2?)$/ {print $NF, $4}' "$T/strace.$1" | sort; }
    # VBOXFIX_PATHS names a share elsewhere, so the library is active
    mkdir -p "$T/other"
    a=$(count refuse LD_PRELOAD="$REFUSE" REFUSE_PATHS="$T/other")
    b=$(count lib LD_PRELOAD="$LIB $REFUSE" REFUSE_PATHS="$T/other" VBOXFIX_PATHS="$T/other")
    # the library's own start-up opens and stats a few files: compare only
    # the calls this workload makes (names, sockets, sync)
    filt() { grep -Ev '^(openat|newfstatat|statx|stat|lstat|getdents64|access|faccessat2?) '; }
    expect_eq "outside shares: the same name/socket/sync calls" "$(echo "$b" | filt)" "$(echo "$a" | filt)"
else
    skip "outside shares: system call counts" "needs strace"
fi

# ---- real programs: git clone --local and git gc on the share -----------------
if command -v git >/dev/null 2>&1; then
    G=$T/git
    # the source is on the share too: a link from elsewhere is EXDEV on any
    # filesystem, not something the share refuses. Made without any preload.
    mkdir -p "$G/share/src"
    git -C "$G/share/src" init -q && git -C "$G/share/src" -c user.email=t@t -c user.name=t commit -q --allow-empty -m one &&
        echo data >"$G/share/src/f" && git -C "$G/share/src" add f &&
        git -C "$G/share/src" -c user.email=t@t -c user.name=t commit -q -m two
    # gitrun PRELOAD CMD...
    gitrun() {
        local pre=$1; shift
        env REFUSE_PATHS="$G/share" VBOXFIX_PATHS="$G/share" GIT_CONFIG_NOSYSTEM=1 HOME="$G" LD_PRELOAD="$pre" "$@"
    }
    # --local insists on hard links for .git/objects
    expect_fail "git clone --local onto the share fails without the library" \
        gitrun "$REFUSE" git clone -q --local "$G/share/src" "$G/share/c1"
    check "git clone --local onto the share works with it" gitrun "$LIB $REFUSE" git clone -q --local "$G/share/src" "$G/share/c2"
    expect_out "the clone has the data" "data" cat "$G/share/c2/f"
    check "git gc on the share" gitrun "$LIB $REFUSE" git -C "$G/share/c2" gc -q
    check "git fsck after gc" gitrun "$LIB $REFUSE" git -C "$G/share/c2" fsck --no-progress
    expect_out "git log after gc" "two" gitrun "$LIB $REFUSE" git -C "$G/share/c2" log -1 --format=%s
else
    skip "git on the share" "needs git"
fi

# ---- the same cases on the bindfs share (fixed owner, chmod ignored) ----------
if [ "$(id -u)" -eq 0 ] && [ -c /dev/fuse ] && command -v bindfs >/dev/null 2>&1; then
    share_setup ignore
    mkdir -p "$T/local2"
    run_cases "[bindfs] " "$MNT" "$T/local2"
    # records follow rename and go with unlink (the share ignores chmod)
    rm -rf "${MNT:?}"/*
    echo x >"$MNT/m"
    expect_out "[bindfs] a recorded mode follows rename; unlink drops it" "0600 0644" \
        with_lib_refuse env REFUSE_PATHS="$MNT" VBOXFIX_PATHS="$MNT" sh -c "
umask 022; chmod 600 '$MNT/m' && mv '$MNT/m' '$MNT/n' && printf '%s ' \$(stat -c %04a '$MNT/n') &&
rm '$MNT/n' && echo x >'$MNT/n' && stat -c %04a '$MNT/n'"
else
    skip "[bindfs] cases" "needs root, /dev/fuse and bindfs"
fi
