# SPDX-License-Identifier: MIT
# The refusal preload itself (tests/fixtures/refuse.c), without libvboxfix:
# each refusal happens under REFUSE_PATHS and nowhere else. Plain directories,
# no bindfs, no root needed.
. "$(dirname "$0")/lib.sh"
need_file "$REFUSE"
need_cmd "$PYTHON"

tmp_dir T
mkdir "$T/share" "$T/local"
# busy names are created here, without the preload (creating them would be a
# refused open for writing)
for d in "$T/share" "$T/local"; do
    echo x >"$d/busy-u"; echo x >"$d/busy-r"; echo x >"$d/busy-w"; mkdir "$d/busy-d"
done

# Prints protocol lines itself; every case runs in the share and outside it.
REFUSE_PATHS=$T/share REFUSE_BUSY='busy*' REFUSE_BUSY_COUNT=2 \
    with_refuse "$PYTHON" - "$T" <<'EOF'
import ctypes, errno, os, socket, sys

T = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
RENAME_NOREPLACE, SYS_renameat2, AT_FDCWD = 1, 316, -100

def run(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))

def expect(name, got, want):
    if got == want:
        print(f"ok - refuse/{name}")
    else:
        print(f"FAIL - refuse/{name}: got {got}, want {want}")

def both(name, setup, fn, want):
    """fn in the share must give want; outside it must succeed."""
    for where, w in (("share", want), ("local", "ok")):
        d = os.path.join(T, where)
        setup(d)
        expect(f"{name}/{where}", run(lambda: fn(d)), w)

def mkfile(p, data=b"x"):
    with open(p, "wb") as f:
        f.write(data)

def fresh(d, *names):
    for n in names:
        p = os.path.join(d, n)
        if os.path.isdir(p) and not os.path.islink(p):
            os.rmdir(p)
        elif os.path.lexists(p):
            os.unlink(p)

def ctypes_call(fn, *args):
    if fn(*args) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))

# hard links: EPERM
both("link", lambda d: (fresh(d, "a", "b"), mkfile(f"{d}/a")),
     lambda d: os.link(f"{d}/a", f"{d}/b"), "EPERM")
both("linkat-dirfd", lambda d: (fresh(d, "a", "c"), mkfile(f"{d}/a")),
     lambda d: os.link("a", "c", src_dir_fd=os.open(d, os.O_RDONLY),
                       dst_dir_fd=os.open(d, os.O_RDONLY)), "EPERM")
# FIFOs and device nodes: EPERM
both("mkfifo", lambda d: fresh(d, "p"), lambda d: os.mkfifo(f"{d}/p"), "EPERM")
both("mkfifoat-dirfd", lambda d: fresh(d, "p"),
     lambda d: os.mkfifo("p", dir_fd=os.open(d, os.O_RDONLY)), "EPERM")
both("mknod-fifo", lambda d: fresh(d, "n"),
     lambda d: os.mknod(f"{d}/n", 0o600 | 0o010000), "EPERM")
# relative path from a cwd inside the share
def rel_fifo(d):
    old = os.getcwd()
    os.chdir(d)
    try:
        os.mkfifo("../" + os.path.basename(d) + "/./q")
    finally:
        os.chdir(old)
both("mkfifo-relative", lambda d: fresh(d, "q"), rel_fifo, "EPERM")
# AF_UNIX bind: EPERM; abstract sockets are not paths
def bind_unix(d):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(f"{d}/sock")
    finally:
        s.close()
both("bind-unix", lambda d: fresh(d, "sock"), bind_unix, "EPERM")
def bind_abstract(d):
    s = socket.socket(socket.AF_UNIX)
    s.bind(b"\0vbf-refuse-test-%d" % os.getpid())
    s.close()
expect("bind-abstract/share", run(lambda: bind_abstract(f"{T}/share")), "ok")
# O_DIRECT: EINVAL, after the lookup/create
both("open-odirect", lambda d: (fresh(d, "o"), mkfile(f"{d}/o")),
     lambda d: os.close(os.open(f"{d}/o", os.O_RDONLY | os.O_DIRECT)), "EINVAL")
both("open-odirect-creat", lambda d: fresh(d, "oc"),
     lambda d: os.close(os.open(f"{d}/oc", os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o644)),
     "EINVAL")
expect("open-odirect-creat/created", os.path.exists(f"{T}/share/oc"), True)
expect("open-odirect-missing/share",
       run(lambda: os.open(f"{T}/share/missing", os.O_RDONLY | os.O_DIRECT)), "ENOENT")
def setfl_direct(d):
    fd = os.open(f"{d}/o", os.O_RDONLY)
    try:
        import fcntl
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_DIRECT)
    finally:
        os.close(fd)
both("fcntl-setfl-odirect", lambda d: (fresh(d, "o"), mkfile(f"{d}/o")), setfl_direct, "EINVAL")
# fsync/fdatasync of a directory: EINVAL; of a file: fine
def dir_sync(fn):
    def go(d):
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fn(fd)
        finally:
            os.close(fd)
    return go
both("fsync-dir", lambda d: None, dir_sync(os.fsync), "EINVAL")
both("fdatasync-dir", lambda d: None, dir_sync(os.fdatasync), "EINVAL")
def file_fsync(d):
    fd = os.open(f"{d}/o", os.O_RDWR)
    os.fsync(fd)
    os.close(fd)
expect("fsync-file/share", run(lambda: file_fsync(f"{T}/share")), "ok")
# renameat2 with a flag: EINVAL (libc wrapper and raw syscall)
def r2(d):
    ctypes_call(libc.renameat2, AT_FDCWD, f"{d}/r1".encode(), AT_FDCWD,
                f"{d}/r2".encode(), RENAME_NOREPLACE)
def r2_sys(d):
    if libc.syscall(SYS_renameat2, AT_FDCWD, f"{d}/r1".encode(), AT_FDCWD,
                    f"{d}/r2".encode(), RENAME_NOREPLACE) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
setup_r = lambda d: (fresh(d, "r1", "r2"), mkfile(f"{d}/r1"))
both("renameat2-noreplace", setup_r, r2, "EINVAL")
both("syscall-renameat2-noreplace", setup_r, r2_sys, "EINVAL")
def r2_exists(d):
    mkfile(f"{d}/r2")
    r2(d)
expect("renameat2-noreplace-existing/share",
       (setup_r(f"{T}/share"), run(lambda: r2_exists(f"{T}/share")))[1], "EEXIST")
def r2_zero(d):
    ctypes_call(libc.renameat2, AT_FDCWD, f"{d}/r1".encode(), AT_FDCWD,
                f"{d}/r2".encode(), 0)
expect("renameat2-noflags/share", (setup_r(f"{T}/share"), run(lambda: r2_zero(f"{T}/share")))[1], "ok")
# a directory onto an existing (empty) directory: EEXIST
def setup_dirs(d):
    fresh(d, "d1", "d2")
    os.mkdir(f"{d}/d1")
    os.mkdir(f"{d}/d2")
both("rename-dir-onto-dir", setup_dirs, lambda d: os.rename(f"{d}/d1", f"{d}/d2"), "EEXIST")
both("rename-dir-new-name", lambda d: fresh(d, "d1", "d2", "d3") or os.mkdir(f"{d}/d1"),
     lambda d: os.rename(f"{d}/d1", f"{d}/d3"), "ok")
# busy names: ETXTBSY for the first REFUSE_BUSY_COUNT=2 attempts per name
def attempts(fn, n=3):
    return ",".join(run(fn) for _ in range(n))
def busy_case(name, fn):
    d = f"{T}/share"
    expect(f"{name}/share", attempts(lambda: fn(d)), "ETXTBSY,ETXTBSY,ok")
    d = f"{T}/local"
    expect(f"{name}/local", run(lambda: fn(d)), "ok")
def unlink_again(d):
    os.unlink(f"{d}/busy-u")
busy_case("busy-unlink", unlink_again)
def rename_busy(d):
    os.rename(f"{d}/busy-r", f"{d}/busy-r")   # same name: succeeds when not busy
busy_case("busy-rename", rename_busy)
def rmdir_busy(d):
    os.rmdir(f"{d}/busy-d")
busy_case("busy-rmdir", rmdir_busy)
def open_w_busy(d):
    os.close(os.open(f"{d}/busy-w", os.O_WRONLY))
busy_case("busy-open-write", open_w_busy)
expect("busy-open-read/share", run(lambda: os.close(os.open(f"{T}/share/busy-w", os.O_RDONLY))), "ok")
expect("busy-other-name/share", run(lambda: (mkfile(f"{T}/share/calm"), os.unlink(f"{T}/share/calm"))), "ok")
# everything else passes through on the share
def ordinary(d):
    mkfile(f"{d}/plain")
    os.rename(f"{d}/plain", f"{d}/plain2")
    os.mkdir(f"{d}/sub")
    os.rmdir(f"{d}/sub")
    os.unlink(f"{d}/plain2")
expect("passthrough/share", run(lambda: ordinary(f"{T}/share")), "ok")
EOF
rc=$?
[ "$rc" -eq 0 ] || fail refuse/python "python exited $rc"
