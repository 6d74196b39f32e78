#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An unlink of a file this process holds open (issue 5, item 4): a Windows
# host refuses it (ETXTBSY) until the file is closed. librefuse.so with
# REFUSE_BUSY_OPEN acts so: "1" refuses unlink and rename of a file open in
# the calling process, "unlink" only the unlink (then libvboxfix hides the
# file under .vbf-deleted.*; with "1" it keeps the name and answers ENOENT
# for it in this process). Either way the name is gone at once and the file
# at the last close.
. "$(dirname "$0")/lib.sh"
need_lib
need_file "$REFUSE"
need_cmd "$PYTHON"
share_setup ignore
tmp_dir T

cat >"$T/cases.py" <<'EOF'
import errno, os, sys, tempfile, time

MODE, SHARE, SRC, LOCAL, TAG = sys.argv[1:6]     # MODE: without | with
tempfile._O_TMPFILE_WORKS = False   # vboxsf has no O_TMPFILE: create + unlink

def expect(name, got, want):
    if got == want:
        print(f"ok - {TAG}{name}")
    else:
        print(f"FAIL - {TAG}{name}: got {got!r}, want {want!r}")

def err(fn):
    try:
        r = fn()
        return "ok" if r is None else r
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))

def backing():
    # the backing directory as the host sees it, without the state store
    return sorted(n for n in os.listdir(SRC) if not n.startswith(".vboxfix"))

def tmpfile():
    with tempfile.TemporaryFile(prefix="tf", dir=SHARE) as f:
        f.write(b"hello")
        f.seek(0)
        data = f.read()
        names = sorted(n for n in os.listdir(SHARE) if n.startswith("tf"))
    return (data, names)

if MODE == "without":
    expect("TemporaryFile fails without the library", err(tmpfile), "ETXTBSY")
    sys.exit(0)

expect("TemporaryFile write/seek/read", err(tmpfile), (b"hello", []))
expect("TemporaryFile leaves nothing on the backing dir", backing(), [])

# open + unlink: the name is gone at once, the data is still there
p = f"{SHARE}/held"
with open(p, "wb") as f:
    f.write(b"data")
fd = os.open(p, os.O_RDWR)
t0 = time.monotonic()
expect("unlink of a file open here", err(lambda: os.unlink(p)), "ok")
expect("no busy retries when held here", time.monotonic() - t0 < 0.5, True)
expect("stat of the name", err(lambda: os.stat(p)), "ENOENT")
expect("lstat of the name", err(lambda: os.lstat(p)), "ENOENT")
expect("access of the name", os.access(p, os.F_OK), False)
expect("open of the name", err(lambda: os.close(os.open(p, os.O_RDONLY))), "ENOENT")
expect("listdir", os.listdir(SHARE), [])
expect("unlink again", err(lambda: os.unlink(p)), "ENOENT")
os.lseek(fd, 0, 0)
expect("data through the fd", os.read(fd, 10), b"data")
os.write(fd, b"more")
expect("fstat through the fd", os.fstat(fd).st_size, 8)
expect("something still on the backing dir while open", len(backing()), 1)
# a fork child closing its copy does not finish the unlink
pid = os.fork()
if pid == 0:
    os.close(fd)
    os._exit(0)
os.waitpid(pid, 0)
expect("a child's close leaves it", len(backing()), 1)
fd2 = os.dup(fd)
os.close(fd)
expect("a dup keeps it", len(backing()), 1)
os.close(fd2)
expect("after the last close the backing dir is empty", backing(), [])

# dup2 over the last descriptor is a close too
with open(p, "wb") as f:
    f.write(b"x")
fd = os.open(p, os.O_RDONLY)
os.unlink(p)
nul = os.open("/dev/null", os.O_RDONLY)
os.dup2(nul, fd)
expect("dup2 over the last descriptor finishes it", backing(), [])
os.close(fd); os.close(nul)

# a file not open here: the ordinary unlink
with open(p, "wb") as f:
    f.write(b"x")
expect("unlink of a file not open", err(lambda: os.unlink(p)), "ok")
expect("... gone from the backing dir", backing(), [])
expect("unlink of a missing name stays ENOENT", err(lambda: os.unlink(p)), "ENOENT")

# rmdir and rename are not deferred
os.mkdir(f"{SHARE}/dir")
expect("rmdir", err(lambda: os.rmdir(f"{SHARE}/dir")), "ok")
with open(p, "wb") as f:
    f.write(b"x")
expect("rename of a closed file", err(lambda: os.rename(p, f"{SHARE}/moved")), "ok")
fd = os.open(f"{SHARE}/moved", os.O_RDONLY)
want = "ETXTBSY" if os.environ.get("REFUSE_BUSY_OPEN") == "1" else "ok"
expect("rename of an open file is the share's answer", err(lambda: os.rename(f"{SHARE}/moved", p)), want)
os.close(fd)
for n in ("moved", "held"):
    try: os.unlink(f"{SHARE}/{n}")
    except FileNotFoundError: pass
expect("share empty at the end", backing(), [])

# outside shares nothing changes
q = f"{LOCAL}/held"
with open(q, "wb") as f:
    f.write(b"l")
fd = os.open(q, os.O_RDONLY)
expect("outside: unlink of an open file", err(lambda: os.unlink(q)), "ok")
expect("outside: really gone", os.listdir(LOCAL), [])
os.close(fd)

EOF
mkdir -p "$T/local"
for how in 1 unlink; do
    tag="[REFUSE_BUSY_OPEN=$how] "
    rm -rf "${SRC:?}"/* "$T/local"/*
    REFUSE_PATHS=$MNT REFUSE_BUSY_OPEN=$how with_refuse \
        "$PYTHON" "$T/cases.py" without "$MNT" "$SRC" "$T/local" "$tag" ||
        fail "${tag}python-without" "exit $?"
    rm -rf "${SRC:?}"/* "$T/local"/*
    REFUSE_PATHS=$MNT REFUSE_BUSY_OPEN=$how VBOXFIX_PATHS=$MNT VBOXFIX_RETRY_MS=300 with_lib_refuse \
        "$PYTHON" "$T/cases.py" with "$MNT" "$SRC" "$T/local" "$tag" ||
        fail "${tag}python-with" "exit $?"
done

# the fixture's old behaviour without REFUSE_BUSY_OPEN: an open file unlinks
rm -rf "${SRC:?}"/*
expect_out "without REFUSE_BUSY_OPEN the fixture lets an open file go" "ok" \
    with_refuse env REFUSE_PATHS="$MNT" "$PYTHON" -c "
import os
fd = os.open('$MNT/f', os.O_CREAT | os.O_RDWR, 0o644); os.unlink('$MNT/f'); print('ok')"

# hidden name: while open, the backing dir holds .vbf-deleted.*, readdir does not
rm -rf "${SRC:?}"/*
expect_out "hidden name on the host, not in readdir" "1 []" \
    with_lib_refuse env REFUSE_PATHS="$MNT" REFUSE_BUSY_OPEN=unlink VBOXFIX_PATHS="$MNT" "$PYTHON" -c "
import os
fd = os.open('$MNT/f', os.O_CREAT | os.O_RDWR, 0o644); os.unlink('$MNT/f')
print(len([n for n in os.listdir('$SRC') if n.startswith('.vbf-deleted.')]), os.listdir('$MNT'))"
expect_out "a file left open at exit is removed by the exit handler" "" sh -c "ls -A '$SRC' | grep -v '^.vboxfix'"
