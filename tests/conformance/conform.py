#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Differential conformance: the same operations on a local directory and on
a share under libvboxfix, compared call by call (issue 12, item 7).

    conform.py gen SEED COUNT LEN [multi|solo]
                                             random-walk sequences on stdout
    conform.py run --base DIR --outside DIR --out FILE [--preload LIBS] SEQFILE...
                                             run sequences, one normalized line
                                             per call (driver; starts workers)
    conform.py compare LOCAL SHARE --known K --open O [--verbose]
                                             first difference per sequence,
                                             summary by kind; exit 1 on a kind
                                             listed in neither file
    conform.py worker                        (internal: one per actor)

Sequence files: `== NAME` starts a sequence, then one call per line:
`ACTOR OP ARGS...`; `#` starts a comment. ACTOR is root, u1 (uid/gid 4300,
supplementary group 4302) or u2 (uid/gid 4301, no other group). A path
argument is NAME (relative to the sequence directory, the working directory),
abs:NAME (absolute path), out:NAME (through a symlink outside the share that
points at the sequence directory) or at:DIR:NAME (an *at call on a descriptor
of DIR, `.` for the sequence directory). Descriptors: the `keep=K` option of
open keeps the descriptor in the actor's slot K for fd ops (fchmod K MODE ...).

Normalization (the same on both sides): names are relative to the sequence
directory; an owner is printed as a role: root, u1, u2, base for uids 0,
4300, 4301, 4242 (groups root, g1, g2, g3, base for 0, 4300, 4301, 4302,
4242), anything else as its number. `base` is the share's real owner. The
sequence directory stands for a service's data directory owned by the
service user u1: the local one is chowned to 4300:4300 (mode 0777, so every
actor may create in it), and the share runs with VBOXFIX_OWNER=4300:4300, so
its directory (really 4242's) shows u1:g1 to every asker too. Presented
owners are compared, never real ones. Sizes are printed for regular
files and symlinks only (directory sizes are the filesystem's business);
mtime is printed only when it equals the fixed time `utime NAME fixed` sets.
"""
import ctypes
import errno
import fnmatch
import json
import os
import random
import select
import shutil
import socket
import stat
import subprocess
import sys

HERE = os.path.abspath(__file__)
ACTORS = {"root": (0, 0, []), "u1": (4300, 4300, [4302]), "u2": (4301, 4301, [])}
UIDS = {"root": 0, "u1": 4300, "u2": 4301, "base": 4242, "-1": -1}
GIDS = {"root": 0, "g1": 4300, "g2": 4301, "g3": 4302, "base": 4242, "-1": -1}
FIXED = 1000000000  # utime NAME fixed: atime = mtime = this (s)
NAMES = ["a", "b", "c", "d", "e", "d/a", "d/b", "e/a"]
TARGETS = ["a", "b", "d", "d/a", "nx", "."]
OFLAGS = {"RDONLY": os.O_RDONLY, "WRONLY": os.O_WRONLY, "RDWR": os.O_RDWR,
          "CREAT": os.O_CREAT, "EXCL": os.O_EXCL, "TRUNC": os.O_TRUNC,
          "APPEND": os.O_APPEND, "DIRECTORY": os.O_DIRECTORY,
          "NOFOLLOW": os.O_NOFOLLOW}


# ---------------------------------------------------------------- generator
def gen(seed, count, length, actors="multi"):
    """actors: multi (root, u1, u2) or solo (u1 alone: the service user)"""
    out = []
    for s in range(count):
        r = random.Random(f"{actors}-{seed}-{s}")
        out.append(f"== {actors}-{seed}-{s}")
        kept = {a: set() for a in ACTORS}
        for _ in range(length):
            out.append(gen_call(r, kept, actors))
    return "\n".join(out) + "\n"


def pick_path(r, name, forms=True):
    if not forms:
        return name
    x = r.random()
    if x < 0.70:
        return name
    if x < 0.80:
        return "abs:" + name
    if x < 0.88:
        return "out:" + name
    if "/" in name:
        d, n = name.split("/", 1)
        return f"at:{d}:{n}"
    return "at:.:" + name


def gen_call(r, kept, actors):
    actor = "u1" if actors == "solo" else r.choices(["root", "u1", "u2"], [40, 35, 25])[0]
    nm = lambda: r.choice(NAMES)
    p = lambda forms=True: pick_path(r, nm(), forms)
    mode = lambda: r.choice(["0644", "0600", "0755", "0777", "04755", "02775", "04777", "0000", "0444"])
    if kept[actor] and r.random() < 0.3:
        k = r.choice(sorted(kept[actor]))
        op = r.choice(["fchmod", "fchown", "ftruncate", "futimens", "fstat", "fwrite", "close"])
        if op == "close":
            kept[actor].discard(k)
            return f"{actor} close {k}"
        if op == "fchmod":
            return f"{actor} fchmod {k} {mode()}"
        if op == "fchown":
            return f"{actor} fchown {k} {r.choice(list(UIDS))} {r.choice(list(GIDS))}"
        if op == "ftruncate":
            return f"{actor} ftruncate {k} {r.choice([0, 1, 7])}"
        return f"{actor} {op} {k}"
    op = r.choices(
        ["open", "mkdir", "mkfifo", "bind", "link", "symlink", "rename", "unlink", "rmdir",
         "chmod", "chown", "utime", "truncate", "access", "write", "readlink", "listdir", "stat"],
        [18, 7, 4, 3, 5, 5, 9, 6, 4, 8, 8, 5, 3, 3, 4, 2, 2, 2])[0]
    if op == "open":
        fl = [r.choice(["RDONLY", "WRONLY", "RDWR"])]
        for f, pr in (("CREAT", .6), ("EXCL", .2), ("TRUNC", .2), ("APPEND", .15),
                      ("DIRECTORY", .08), ("NOFOLLOW", .1)):
            if r.random() < pr:
                fl.append(f)
        extra = ""
        if r.random() < 0.2:
            k = r.choice([0, 1])
            kept[actor].add(k)
            extra = f" keep={k}"
        return f"{actor} open {p()} {'|'.join(fl)} {mode()}{extra}"
    if op == "mkdir":
        return f"{actor} mkdir {p()} {r.choice(['0755', '0700', '0777', '01777', '02755'])}"
    if op == "mkfifo":
        return f"{actor} mkfifo {p()} {r.choice(['0644', '0600', '0666'])}"
    if op == "bind":
        return f"{actor} bind {nm()}"
    if op == "link":
        fl = " follow" if r.random() < 0.2 else ""
        return f"{actor} link {p()} {p()}{fl}"
    if op == "symlink":
        return f"{actor} symlink {r.choice(TARGETS)} {p()}"
    if op == "rename":
        return f"{actor} rename {p()} {p()}"
    if op in ("unlink", "rmdir", "readlink", "stat", "write"):
        return f"{actor} {op} {p()}"
    if op == "chmod":
        nf = " nofollow" if r.random() < 0.1 else ""
        return f"{actor} chmod {p()} {mode()}{nf}"
    if op == "chown":
        nf = " nofollow" if r.random() < 0.15 else ""
        u = r.choice(list(UIDS))
        g = r.choice(list(GIDS))
        if r.random() < 0.15:
            u = g = "-1"
        return f"{actor} chown {p()} {u} {g}{nf}"
    if op == "utime":
        nf = " nofollow" if r.random() < 0.1 else ""
        return f"{actor} utime {p()} {r.choice(['now', 'fixed'])}{nf}"
    if op == "truncate":
        return f"{actor} truncate {p(False)} {r.choice([0, 1, 10])}"
    if op == "access":
        return f"{actor} access {p()} {r.choice(['R', 'W', 'X', 'RW', 'F'])}"
    if op == "listdir":
        return f"{actor} listdir {r.choice(['.', 'd', 'e'])}"
    raise AssertionError(op)


def parse(files):
    seqs, cur = [], None
    for fn in files:
        with open(fn) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if not line:
                    continue
                if line.startswith("=="):
                    cur = [line[2:].strip(), []]
                    seqs.append(cur)
                elif cur is None:
                    raise SystemExit(f"{fn}: a call before the first '== NAME'")
                else:
                    cur[1].append(line.split())
    return seqs


# ---------------------------------------------------------------- worker
def listing(d):
    """Sorted names, without FUSE's .fuse_hidden* (bindfs keeps a file
    unlinked while open under such a name; vboxsf does not)."""
    return sorted(n for n in os.listdir(d) if not n.startswith(".fuse_hidden"))


class Worker:
    """Runs calls for one actor in the sequence directory (its cwd)."""

    def __init__(self):
        self.slots = {}
        self.base = (None, None)
        self.outside = None
        self.libc = ctypes.CDLL(None, use_errno=True)

    # --- normalization
    def urole(self, u):
        for k, v in UIDS.items():
            if v == u and k != "-1":
                return k
        return str(u)

    def grole(self, g):
        for k, v in GIDS.items():
            if v == g and k != "-1":
                return k
        return str(g)

    def fmt(self, st):
        m = st.st_mode
        t = ("d" if stat.S_ISDIR(m) else "f" if stat.S_ISREG(m) else "l" if stat.S_ISLNK(m) else
             "p" if stat.S_ISFIFO(m) else "s" if stat.S_ISSOCK(m) else "c" if stat.S_ISCHR(m) else
             "b" if stat.S_ISBLK(m) else "?")
        size = str(st.st_size) if t in "fl" else "-"
        s = f"{t} {stat.S_IMODE(m):04o} {self.urole(st.st_uid)}:{self.grole(st.st_gid)} n{st.st_nlink} {size}"
        if int(st.st_mtime) == FIXED:
            s += " mt=fixed"
        return s

    def observe(self, name):
        out = []
        for tag, follow in (("L", False), ("S", True)):
            try:
                out.append(tag + "=" + self.fmt(os.stat(name, follow_symlinks=follow)))
            except OSError as e:
                out.append(tag + "=" + errno.errorcode.get(e.errno, str(e.errno)))
        # S equals L for anything but a symlink: print it once
        if out[1][2:] == out[0][2:]:
            out[1] = "S=L"
        return f"{name}: {' '.join(out)}"

    # --- paths: returns (path, dir_fd, plain name)
    def path(self, tok):
        if tok.startswith("abs:"):
            n = tok[4:]
            return os.path.join(os.getcwd(), n), None, n
        if tok.startswith("out:"):
            n = tok[4:]
            return os.path.join(self.outside, n), None, n
        if tok.startswith("at:"):
            _, d, n = tok.split(":", 2)
            fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
            self.fds.append(fd)
            return n, fd, n if d == "." else f"{d}/{n}"
        return tok, None, tok

    def via(self, args):
        """Does a path argument lead through a symlinked directory here?"""
        for t in args[1:]:
            n = t.split(":")[-1] if t.startswith("at:") else t.split(":", 1)[-1]
            if t.startswith("at:") and t.split(":")[1] != ".":
                n = t.split(":")[1] + "/" + n
            parts = n.split("/")[:-1]
            for i in range(len(parts)):
                try:
                    if stat.S_ISLNK(os.lstat("/".join(parts[:i + 1])).st_mode):
                        return True
                except OSError:
                    break
        return False

    def call(self, args):
        """One call: returns (result, names to observe, extra)."""
        op, a = args[0], args[1:]
        self.fds = []
        extra = ""
        names = []
        try:
            r = self.do(op, a, names)
            res = "OK" if r is None else r
        except OSError as e:
            res = errno.errorcode.get(e.errno, str(e.errno)) if e.errno else "OSError"
        except NotImplementedError:
            res = "NOTIMPL"
        except (ValueError, TypeError) as e:
            res = "PYERR:" + type(e).__name__
        finally:
            for fd in self.fds:
                os.close(fd)
        if op == "link" and res == "OK" and len(names) == 2:
            try:
                same = os.lstat(names[0]).st_ino == os.lstat(names[1]).st_ino
                extra = " ino=" + ("same" if same else "diff")
            except OSError:
                extra = " ino=?"
        return res + extra, names

    def do(self, op, a, names):
        P = self.path
        if op == "open":
            path, dfd, n = P(a[0])
            names.append(n)
            fl = os.O_NONBLOCK  # never block on a FIFO
            for f in a[1].split("|"):
                fl |= OFLAGS[f]
            fd = os.open(path, fl, int(a[2], 8), dir_fd=dfd)
            if fl & (os.O_WRONLY | os.O_RDWR):
                try:
                    os.write(fd, b"xyz")
                except OSError as e:
                    os.close(fd)
                    return "OK+write:" + errno.errorcode.get(e.errno, "?")
            if len(a) > 3 and a[3].startswith("keep="):
                k = a[3][5:]
                if k in self.slots:
                    os.close(self.slots[k][0])
                self.slots[k] = (fd, n)
            else:
                os.close(fd)
            return None
        if op in ("fchmod", "fchown", "ftruncate", "futimens", "fstat", "fwrite", "close"):
            if a[0] not in self.slots:
                return "NOSLOT"
            fd, n = self.slots[a[0]]
            names.append(n)
            if op == "close":
                del self.slots[a[0]]
                os.close(fd)
            elif op == "fchmod":
                os.fchmod(fd, int(a[1], 8))
            elif op == "fchown":
                os.fchown(fd, UIDS[a[1]], GIDS[a[2]])
            elif op == "ftruncate":
                os.ftruncate(fd, int(a[1]))
            elif op == "futimens":
                os.utime(fd, (FIXED, FIXED))
            elif op == "fwrite":
                os.write(fd, b"xyz")
            elif op == "fstat":
                names.pop()
                return "OK " + self.fmt(os.fstat(fd))
            return None
        if op == "mkdir":
            path, dfd, n = P(a[0]); names.append(n)
            os.mkdir(path, int(a[1], 8), dir_fd=dfd)
        elif op == "mkfifo":
            path, dfd, n = P(a[0]); names.append(n)
            os.mkfifo(path, int(a[1], 8), dir_fd=dfd)
        elif op == "mknodc":
            path, dfd, n = P(a[0]); names.append(n)
            os.mknod(path, stat.S_IFCHR | int(a[1], 8), os.makedev(1, 3), dir_fd=dfd)
        elif op == "bind":
            names.append(a[0])
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.bind(a[0])
            finally:
                s.close()
        elif op == "link":
            p1, d1, n1 = P(a[0]); p2, d2, n2 = P(a[1]); names += [n1, n2]
            os.link(p1, p2, src_dir_fd=d1, dst_dir_fd=d2,
                    follow_symlinks=len(a) > 2 and a[2] == "follow")
        elif op == "symlink":
            path, dfd, n = P(a[1]); names.append(n)
            os.symlink(a[0], path, dir_fd=dfd)
        elif op == "rename":
            p1, d1, n1 = P(a[0]); p2, d2, n2 = P(a[1]); names += [n1, n2]
            os.rename(p1, p2, src_dir_fd=d1, dst_dir_fd=d2)
        elif op == "unlink":
            path, dfd, n = P(a[0]); names.append(n)
            os.unlink(path, dir_fd=dfd)
        elif op == "rmdir":
            path, dfd, n = P(a[0]); names.append(n)
            os.rmdir(path, dir_fd=dfd)
        elif op == "chmod":
            path, dfd, n = P(a[0]); names.append(n)
            os.chmod(path, int(a[1], 8), dir_fd=dfd, follow_symlinks="nofollow" not in a)
        elif op == "chown":
            path, dfd, n = P(a[0]); names.append(n)
            os.chown(path, UIDS[a[1]], GIDS[a[2]], dir_fd=dfd, follow_symlinks="nofollow" not in a)
        elif op == "utime":
            path, dfd, n = P(a[0]); names.append(n)
            t = None if a[1] == "now" else (FIXED, FIXED)
            os.utime(path, t, dir_fd=dfd, follow_symlinks="nofollow" not in a)
        elif op == "truncate":
            path, dfd, n = P(a[0]); names.append(n)
            os.truncate(path, int(a[1]))
        elif op == "access":
            path, dfd, n = P(a[0]); names.append(n)
            m = 0
            for c in a[1]:
                m |= {"R": os.R_OK, "W": os.W_OK, "X": os.X_OK, "F": os.F_OK}[c]
            return "OK" if os.access(path, m, dir_fd=dfd, effective_ids=True) else "DENIED"
        elif op == "write":
            path, dfd, n = P(a[0]); names.append(n)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK, dir_fd=dfd)
            try:
                os.write(fd, b"xyz")
            finally:
                os.close(fd)
        elif op == "readlink":
            path, dfd, n = P(a[0])
            return "OK " + os.readlink(path, dir_fd=dfd)
        elif op == "stat":
            path, dfd, n = P(a[0]); names.append(n)
            os.stat(path, dir_fd=dfd)
        elif op == "listdir":
            return "OK " + ",".join(listing(a[0]))
        elif op == "badptr":
            # an invalid path pointer: libc and the kernel answer EFAULT
            f = getattr(self.libc, a[0])
            f.argtypes = [ctypes.c_void_p, ctypes.c_int]
            if f(ctypes.c_void_p(0xdeadc0de), 0o755) != 0:
                e = ctypes.get_errno()
                raise OSError(e, os.strerror(e))
        else:
            return "BADOP"
        return None

    def snapshot(self):
        lines = [self.observe(n) for n in NAMES]
        for d in (".", "d", "e"):
            try:
                lines.append(f"ls {d}: " + ",".join(listing(d)))
            except OSError as e:
                lines.append(f"ls {d}: " + errno.errorcode.get(e.errno, "?"))
        # names sharing an inode (hard links)
        ino = {}
        for n in NAMES:
            try:
                st = os.lstat(n)
                if not stat.S_ISDIR(st.st_mode):
                    ino.setdefault((st.st_dev, st.st_ino), []).append(n)
            except OSError:
                pass
        groups = sorted("=".join(g) for g in ino.values() if len(g) > 1)
        lines.append("same inode: " + (" ".join(groups) or "-"))
        return lines

    def serve(self):
        os.umask(0o022)
        for line in sys.stdin:
            req = json.loads(line)
            cmd = req["cmd"]
            if cmd == "begin":
                for fd, _ in self.slots.values():
                    os.close(fd)
                self.slots = {}
                os.chdir(req["dir"])
                self.outside = req["outside"]
                st = os.stat(".")
                self.base = (st.st_uid, st.st_gid)
                rep = {"ok": True}
            elif cmd == "call":
                via = self.via(req["args"])
                res, names = self.call(req["args"])
                rep = {"res": res, "via": via, "obs": [self.observe(n) for n in dict.fromkeys(names)]}
            elif cmd == "snapshot":
                rep = {"lines": self.snapshot()}
            elif cmd == "end":
                for fd, _ in self.slots.values():
                    os.close(fd)
                self.slots = {}
                d = os.getcwd()
                os.chdir("/")
                if req.get("remove"):
                    shutil.rmtree(d, ignore_errors=True)
                rep = {"ok": True}
            else:
                rep = {"error": cmd}
            sys.stdout.write(json.dumps(rep) + "\n")
            sys.stdout.flush()


# ---------------------------------------------------------------- driver
class Actor:
    def __init__(self, name, preload, env):
        self.name, self.preload, self.env = name, preload, env
        self.p = None

    def start(self):
        uid, gid, groups = ACTORS[self.name]
        cmd = [sys.executable, HERE, "worker"]
        if uid:
            g = ["--groups=" + ",".join(map(str, groups))] if groups else ["--clear-groups"]
            cmd = ["setpriv", f"--reuid={uid}", f"--regid={gid}"] + g + ["--"] + cmd
        env = dict(self.env)
        if self.preload:
            env["LD_PRELOAD"] = self.preload
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  env=env, text=True, bufsize=1, cwd="/")

    def ask(self, req, timeout=20):
        if self.p is None or self.p.poll() is not None:
            self.start()
            if req["cmd"] == "call" and self.begun:
                self.ask(self.begun)
        try:
            self.p.stdin.write(json.dumps(req) + "\n")
            self.p.stdin.flush()
            r, _, _ = select.select([self.p.stdout], [], [], timeout)
            line = self.p.stdout.readline() if r else None
        except BrokenPipeError:
            line = ""
        if not line:
            hung = line is None
            self.p.kill()
            self.p.wait()
            rc = self.p.returncode
            self.p = None
            return {"res": "HANG" if hung else f"CRASH(rc={rc})", "obs": [], "lines": [],
                    "dead": True}
        return json.loads(line)


def run(args):
    import argparse
    ap = argparse.ArgumentParser(prog="conform.py run")
    ap.add_argument("--base", required=True)
    ap.add_argument("--outside", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--preload", default="")
    ap.add_argument("--keep", action="store_true", help="keep the sequence directories")
    ap.add_argument("--chown-base", default="4300:4300")
    ap.add_argument("files", nargs="+")
    o = ap.parse_args(args)
    seqs = parse(o.files)
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    actors = {a: Actor(a, o.preload, env) for a in ACTORS}
    uid, gid = (int(x) for x in o.chown_base.split(":"))
    ncalls = 0
    with open(o.out, "w") as out:
        for i, (name, calls) in enumerate(seqs):
            d = os.path.join(o.base, f"s{i}")
            os.mkdir(d)
            os.chown(d, uid, gid)
            os.chmod(d, 0o777)
            od = os.path.join(o.outside, f"s{i}")
            os.symlink(d, od)
            begin = {"cmd": "begin", "dir": d, "outside": od}
            for a in actors.values():
                a.begun = begin
                a.ask(begin)
            out.write(f"== {name}\n")
            for n, c in enumerate(calls):
                ncalls += 1
                rep = actors[c[0]].ask({"cmd": "call", "args": c[1:]})
                via = " [via]" if rep.get("via") else ""
                out.write(f"{n} {' '.join(c)}{via} => {rep['res']}\n")
                for ob in rep["obs"]:
                    out.write(f"{n}   {ob}\n")
            for a in ACTORS:
                rep = actors[a].ask({"cmd": "snapshot"})
                for ln in rep["lines"]:
                    out.write(f"end {a} {ln}\n")
            for a in ("u2", "u1", "root"):
                actors[a].ask({"cmd": "end", "remove": a == "root" and not o.keep})
            os.unlink(od)
    for a in actors.values():
        if a.p:
            a.p.stdin.close()
            a.p.wait()
    print(f"{len(seqs)} sequences, {ncalls} calls")


# ---------------------------------------------------------------- comparer
def load(fn):
    seqs, cur = {}, None
    order = []
    with open(fn) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("== "):
                cur = []
                seqs[line[3:]] = cur
                order.append(line[3:])
            else:
                cur.append(line)
    return order, seqs


def patterns(fn):
    out = []
    with open(fn) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                pat, _, why = line.partition(" ")
                out.append((pat, why.strip()))
    return out


def fields(ob):
    """'a: L=f 0644 u1:g1 n1 3 S=L' -> {'L': [...], 'S': [...]}"""
    _, _, rest = ob.partition(": ")
    L, _, S = rest.partition(" S=")
    L = L[2:]
    if S == "L":
        S = L
    return {"L": L.split(), "S": S.split()}


FIELD_NAMES = ["type", "mode", "owner", "nlink", "size", "mtime"]


def dir_chowned(lines):
    """Did a chown or fchown of a directory succeed in these lines (also
    through a symlink to one, followed)?"""
    for j, ln in enumerate(lines[:-1]):
        if "=>" in ln and ln.split()[2] in ("chown", "fchown") and \
                ln.split("=> ", 1)[1].startswith("OK") and \
                (": L=d " in lines[j + 1] or (" S=d " in lines[j + 1] and " nofollow " not in ln)):
            return True
    return False


NAME_OPS = ("open", "mkdir", "mkfifo", "bind", "link", "symlink", "rename", "unlink", "rmdir")
SIZE_OPS = ("open", "write", "truncate")


def out_changed(lines, line, ops=NAME_OPS):
    """Did a successful call (one of `ops`) in these lines change the name
    `line` (an observation: "N   NAME: L=..." or "end USER NAME: ...")
    shows, naming it through the symlink outside the share (out:NAME)?"""
    p = line.split(": L=", 1)[0].split()
    if not p:
        return False
    name = "out:" + p[-1]
    for ln in lines:
        if "=>" not in ln or not ln.split("=> ", 1)[1].startswith("OK"):
            continue
        c = ln.split("=>")[0].split()
        if len(c) > 2 and c[2] in ops and name in c[3:]:
            return True
    return False


FD_OPS = ("fchmod", "fchown", "ftruncate", "futimens", "fstat", "fwrite")


def fd_opened_out(lines, call):
    """Is `call` (split) a descriptor op on a slot its actor last filled by
    an open through the symlink outside the share (out:)?"""
    if len(call) < 4 or call[2] not in FD_OPS:
        return False
    keep = "keep=" + call[3]
    for ln in reversed(lines):
        c = ln.split("=>")[0].split()
        if len(c) > 2 and c[1] == call[1] and c[2] == "open" and keep in c:
            return c[3].startswith("out:") and ln.split("=> ", 1)[-1].startswith("OK")
    return False


def kind(L, S, i, ctx):
    """The kind of the difference at line i: WHAT:OP:DETAIL:TYPE[:out], where
    TYPE is the local type of the call's first name (f d l p s, none), :out
    marks a call that named a path through the symlink outside the share and
    :via one whose path led through a symlinked directory inside it; the
    comparer adds :sym to a mode or owner difference after a successful
    symlink() and :linked after a successful link() in the sequence,
    :dchown to an owner or group difference after a successful chown of a
    directory, and :afterout to an existence or type difference of a name
    an earlier call created, removed or renamed through out:. Matched
    (fnmatch) against known.txt and open.txt."""
    a = L[i] if i < len(L) else None
    b = S[i] if i < len(S) else None
    if a is None or b is None:
        return "length"
    if a.startswith("end "):
        p = a.split()
        if p[2] == "ls":
            return "end:listing"
        if p[2] == "same":
            return "end:inode"
        return stat_kind(a, b, "end-" + p[1])
    ty, out = "none", ""
    if ctx is not None:
        c = L[ctx].split("=>")[0].split()
        op = c[2]
        if any(x.startswith("out:") for x in c[3:]) or fd_opened_out(L[:ctx], c):
            out = ":out"
        elif "[via]" in c:
            out = ":via"
        if ctx + 1 < len(L) and not L[ctx + 1].startswith(("end ", f"{c[0]} {c[1]}", "== ")) \
                and ": L=" in L[ctx + 1]:
            t = L[ctx + 1].split(": L=", 1)[1].split()[0]
            ty = t if len(t) == 1 else "none"
    else:
        op = "?"
    if "=>" in a and "=>" in b:
        lres = a.split("=> ", 1)[1].split()
        sres = b.split("=> ", 1)[1].split()
        if lres[0] != sres[0]:
            return f"result:{op}:{lres[0]}->{sres[0]}:{ty}{out}"
        if op == "link":
            return f"inode:link:{lres[-1]}->{sres[-1]}:{ty}{out}"
        if op == "fstat":
            return f"{cmp_stat(lres[1:], sres[1:])}:fstat:F:{ty}{out}"
        return f"result:{op}:detail:{ty}{out}"
    return stat_kind(a, b, op, out)


def cmp_stat(a, b):
    if not a or not b or len(a) < 2 or len(b) < 2:
        return "exists"
    if a[0] != b[0]:
        return "type"
    for i, f in enumerate(FIELD_NAMES):
        x = a[i] if i < len(a) else ""
        y = b[i] if i < len(b) else ""
        if f == "mtime":
            x, y = " ".join(a[5:]), " ".join(b[5:])
        if x != y:
            if f == "mode":
                xm, ym = int(x, 8), int(y, 8)
                if (xm ^ ym) & 0o7000 and not (xm ^ ym) & 0o777:
                    return "mode-suid"
            if f == "owner":
                xu, xg = x.split(":")
                yu, yg = y.split(":")
                return "owner" if xu != yu else "group"
            return f
    return "same"


def stat_kind(lline, sline, op, out=""):
    lf, sf = fields(lline), fields(sline)
    for tag in ("L", "S"):
        a, b = lf[tag], sf[tag]
        if a != b:
            ty = lf["L"][0] if len(lf["L"]) > 1 else "none"
            k = cmp_stat(a, b)
            if len(a) == 1 or len(b) == 1:
                k = f"exists:{a[0] if len(a) == 1 else 'yes'}->{b[0] if len(b) == 1 else 'yes'}"
            return f"{k}:{op}:{tag}:{ty}{out}"
    return f"same:{op}"


def compare(args):
    import argparse
    ap = argparse.ArgumentParser(prog="conform.py compare")
    ap.add_argument("local")
    ap.add_argument("share")
    ap.add_argument("--known", required=True)
    ap.add_argument("--open", required=True, dest="openf")
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("--max-show", type=int, default=5)
    o = ap.parse_args(args)
    lorder, lseq = load(o.local)
    _, sseq = load(o.share)
    known, openk = patterns(o.known), patterns(o.openf)
    calls = differing_calls = 0
    by = {"known": {}, "open": {}, "new": {}}
    shown = {}
    for name in lorder:
        L, S = lseq[name], sseq.get(name, [])
        calls += sum(1 for ln in L if "=>" in ln)
        first = None
        ctx = None
        for i in range(max(len(L), len(S))):
            a = L[i] if i < len(L) else None
            b = S[i] if i < len(S) else None
            if a is not None and "=>" in a:
                ctx = i
            if a != b:
                if first is None:
                    k = kind(L, S, i, ctx)
                    # after a hard link, the names are copies on the share
                    done = {ln.split()[2] for ln in L[:i]
                            if "=>" in ln and ln.split("=> ")[-1].startswith("OK")}
                    if "symlink" in done and k.split(":")[0] in ("mode", "owner", "group"):
                        k += ":sym"
                    if "link" in done:
                        k += ":linked"
                    if k.split(":")[0] in ("owner", "group") and dir_chowned(L[:i]):
                        k += ":dchown"
                    if a and ": L=" in a and ((k.split(":")[0] in ("exists", "type") and out_changed(L[:i], a)) or
                                              (k.startswith("size:") and out_changed(L[:i], a, SIZE_OPS))):
                        k += ":afterout"
                    first = (i, k)
                if a is not None and "=>" in a:
                    differing_calls += 1
        if first is None:
            continue
        i, k = first
        cls, why = "new", ""
        for table, c in ((known, "known"), (openk, "open")):
            m = [w for p, w in table if fnmatch.fnmatchcase(k, p)]
            if m:
                cls, why = c, m[0]
                break
        by[cls].setdefault(k, []).append(name)
        if cls == "new" or o.verbose:
            n = shown.get(k, 0)
            shown[k] = n + 1
            if n < o.max_show or o.verbose:
                print(f"# {cls} {k} in {name} (line {i}):")
                for j in range(max(0, i - 4), i):
                    print(f"#     {L[j]}")
                print(f"#   - local: {L[i] if i < len(L) else '(nothing)'}")
                print(f"#   + share: {S[i] if i < len(S) else '(nothing)'}")
    nseq = len(lorder)
    ndiff = sum(len(v) for c in by.values() for v in c.values())
    print(f"summary: {nseq} sequences, {calls} calls, {ndiff} sequences differ "
          f"(known {sum(map(len, by['known'].values()))}, open {sum(map(len, by['open'].values()))}, "
          f"new {sum(map(len, by['new'].values()))}), {differing_calls} calls differ in all")
    for cls in ("known", "open", "new"):
        for k, v in sorted(by[cls].items(), key=lambda kv: -len(kv[1])):
            why = ""
            for p, w in (known if cls == "known" else openk if cls == "open" else []):
                if fnmatch.fnmatchcase(k, p):
                    why = w
                    break
            print(f"{cls} {len(v)} {k}" + (f"  [{why}]" if why else "") + f"  e.g. {v[0]}")
    return 1 if by["new"] else 0


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "worker":
        Worker().serve()
        return 0
    if cmd == "gen":
        sys.stdout.write(gen(int(args[0]), int(args[1]), int(args[2]), *args[3:4]))
        return 0
    if cmd == "run":
        run(args)
        return 0
    if cmd == "compare":
        return compare(args)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
