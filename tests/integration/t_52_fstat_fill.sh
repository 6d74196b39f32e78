#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fstat of a descriptor opened on a share is answered and filled under the
# name the kernel gives the descriptor (cache.h, vbf_cache_fd_lookup): a
# compiler opens and fstats every header, make then stats the same headers
# in a fresh process. Fstats of directories are answered from the cache; a
# file's always asks (one rewritten outside the library is another size).
# The next process's stats are hits, and so are fstats of names the cache
# knows; what they answer is what a stat of the name answers now, whatever
# happened to the name between the open and the fstat (a rename through the
# library, a write, a file renamed over it). On the code before, the fresh
# process's stats all reach the share ("a fresh process's stats of names
# another one fstat'ed" fails), and so does every fstat ("fstats of
# descriptors whose names the cache knows" fails).
. "$(dirname "$0")/lib.sh"
need_fuse
need_lib
need_cmd unshare
# a private IPC namespace: the shared table is this test's own
in_private_ipc "$@"

cache_share
N=40
mkdir -p "$MNT/inc/sub"
for i in $(seq 1 $N); do echo "header $i" >"$MNT/inc/sub/h$i.h"; done
tmp_dir T
cat >"$T/fstat_all.py" <<EOF
import os
for i in range(1, $N + 1):
    fd = os.open('$MNT/inc/sub/h%d.h' % i, os.O_RDONLY)
    os.fstat(fd); os.close(fd)
EOF
cat >"$T/stat_all.py" <<EOF
import os
print(sum(os.stat('$MNT/inc/sub/h%d.h' % i).st_size for i in range($N + 1)[1:]))
EOF
want=$("$PYTHON" "$T/stat_all.py")

# --- what one process fstat'ed is a hit for the next one's stat
cold=$(count_reqs with_lib "$PYTHON" "$T/stat_all.py")
# a table of its own for the rest: the stats above filled the first one
export VBOXFIX_SHARED_CACHE=2048
with_lib "$PYTHON" "$T/fstat_all.py"
warm=$(count_reqs with_lib "$PYTHON" "$T/stat_all.py")
if [ "$cold" -gt 0 ] && [ $((warm * 100)) -le $((cold * 20)) ]; then
    ok "a fresh process's stats of names another one fstat'ed are hits: $warm requests vs $cold"
else
    fail "a fresh process's stats of names another one fstat'ed" "$warm requests vs $cold with nothing cached"
fi
expect_out "and answer what the share holds" "$want" with_lib "$PYTHON" "$T/stat_all.py"

# --- fstats answered from the cache: each of 40 directories opened and
# fstat'ed 10 times by a process after another one stat'ed them, against
# bare (a file's fstat always asks: the last case below)
for i in $(seq 1 $N); do mkdir -p "$MNT/inc/d$i"; done
cat >"$T/open_fstat.py" <<EOF
import os, sys
for i in range(1, $N + 1):
    if sys.argv[1:] == ['stat']:
        os.stat('$MNT/inc/d%d' % i); continue
    fd = os.open('$MNT/inc/d%d' % i, os.O_RDONLY | os.O_DIRECTORY)
    for j in range(10): os.fstat(fd)
    os.close(fd)
EOF
bare=$(count_reqs "$PYTHON" "$T/open_fstat.py")
with_lib "$PYTHON" "$T/open_fstat.py" stat
lib=$(count_reqs with_lib "$PYTHON" "$T/open_fstat.py")
if [ $((lib * 100)) -le $((bare * 60)) ]; then
    ok "fstats of directories whose names the cache knows are hits: $lib requests vs $bare bare"
else
    fail "fstats of directories whose names the cache knows" "$lib requests vs $bare bare"
fi
# fstat_cmp.py: each file's fstat (under the library) against its stat in a
# process without it
cat >"$T/fstat_cmp.py" <<EOF
import os, subprocess, sys
k = lambda s: '%d %d %d %d %o %d' % (s.st_size, s.st_ino, s.st_mtime_ns, s.st_ctime_ns, s.st_mode & 0o170000, s.st_nlink)
if sys.argv[1:] == ['stat']:
    for i in range(1, $N + 1): print(k(os.stat('$MNT/inc/sub/h%d.h' % i)))
    sys.exit()
got = []
for i in range(1, $N + 1):
    fd = os.open('$MNT/inc/sub/h%d.h' % i, os.O_RDONLY); got.append(k(os.fstat(fd))); os.close(fd)
bare = subprocess.run([sys.executable, sys.argv[0], 'stat'], capture_output=True, text=True,
                      env={'PATH': os.environ['PATH']}).stdout.split('\n')[:-1]
print('same' if got == bare else 'DIFFERENT')
EOF
expect_out "fstat answers from the cache are the real ones" "same" with_lib "$PYTHON" "$T/fstat_cmp.py"

# --- the entry is the name's as the fstat left it: each case opens, lets
# another process change the name, then fstats; a fresh process's stat of
# each name must equal a stat without the library
expect_out "fstat after a change to the name: the next stats see the name as it is" \
    "ok ok ok ok ok ok" with_lib "$PYTHON" -c "
import os, subprocess
d = '$MNT/inc'
def run(code): subprocess.run(['$PYTHON', '-c', 'import os\n' + code], check=True)
def later(name):
    # a fresh process under the library, then the truth without it
    c = 'import os\ntry: s = os.stat(\"%s\"); print(s.st_size, s.st_ino)\nexcept FileNotFoundError: print(\"missing\")' % name
    a = subprocess.run(['$PYTHON', '-c', c], capture_output=True, text=True).stdout
    b = subprocess.run(['$PYTHON', '-c', c], capture_output=True, text=True, env={'PATH': os.environ['PATH']}).stdout
    return 'ok' if a == b and a else 'STALE %s: %r vs %r' % (name, a, b)
r = []
# renamed away after the open
open(d + '/a', 'w').write('aaaa')
fd = os.open(d + '/a', os.O_RDONLY); os.stat(d + '/a')
run('os.rename(\"%s/a\", \"%s/a2\")' % (d, d))
os.fstat(fd); os.close(fd)
r += [later(d + '/a'), later(d + '/a2')]
# another file renamed over it after the open
open(d + '/b', 'w').write('bbbb'); open(d + '/bnew', 'w').write('0123456789')
fd = os.open(d + '/b', os.O_RDONLY)
run('os.rename(\"%s/bnew\", \"%s/b\")' % (d, d))
os.fstat(fd); os.close(fd)
r += [later(d + '/b')]
# written by another process after the open
open(d + '/c', 'w').write('cc')
fd = os.open(d + '/c', os.O_RDONLY)
run('open(\"%s/c\", \"a\").write(\"more\")' % d)
os.fstat(fd)
r += [later(d + '/c')]
run('open(\"%s/c\", \"a\").write(\"again\")' % d)
os.fstat(fd); os.close(fd)
r += [later(d + '/c')]
# and the fstat answers themselves are the real ones, after changes by
# others through the library while the descriptor stays open
fd = os.open(d + '/c', os.O_RDONLY)
a = os.fstat(fd).st_size
run('open(\"%s/c\", \"a\").write(\"!\")' % d)
b = os.fstat(fd).st_size
run('os.rename(\"%s/c\", \"%s/c2\")' % (d, d)); run('open(\"%s/c\", \"w\").write(\"x\")' % d)
c = os.fstat(fd).st_size
r += ['ok' if (a, b, c) == (11, 12, 12) and os.stat(d + '/c').st_size == 1 else 'WRONG fstat %r' % ((a, b, c),)]
print(*r)"

# --- a file rewritten outside the library (saved on the host) after a
# library process stat'ed it: a descriptor opened since is of the new file,
# and a program reading st_size bytes from it (a compiler reading a source)
# must get all of it. A stat by name may answer the old size for the TTL
# (docs/design.md); the fstat of a descriptor of the new file may not. On
# the code before, the fstat answered the old entry (7 bytes of 21 read).
printf 'int a;\n' >"$SRC/src.c"
expect_out "fstat of a file rewritten outside the library: its whole content" \
    "21 21" env VBOXFIX_TTL_MS=5000 LD_PRELOAD="$LIB" "$PYTHON" -c "
import os, subprocess
f = '$MNT/src.c'
os.lstat(f); os.stat(f); os.lstat(f)
subprocess.run(['env', '-u', 'LD_PRELOAD', '$PYTHON', '-c',
                'open(\"$SRC/src.c\", \"w\").write(\"int a;\\\\nint b;\\\\nint c;\\\\n\")'], check=True)
fd = os.open(f, os.O_RDONLY)
n = os.fstat(fd).st_size
print(n, len(os.read(fd, 100)))"
