#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# After an ENOENT of a name that may pass a symlink, the library walks the
# name to look for a redirected FIFO or socket under the name the walk ends
# at (docs/refusals.md). The walk costs the share what the failed call did
# (a compiler's include search, git's probes in .git), so it is made only
# for a process one of whose shares ever held such an object: marks of the
# directories above every redirected name (shim/policy/refuse_mark.c), not
# "the run directory exists", which on a machine where anything was ever
# redirected is always so.
#
# Failed before the change: "no walk on a share that never held one" (every
# share paid the walk once the run directory existed: 472 requests, bare 238,
# +34 for a process under the library that asks nothing).
. "$(dirname "$0")/lib.sh"
need_fuse
need_cmd "$PYTHON" unshare
redirect_share mk
share_requests
unset VBOXFIX_OWNER VBOXFIX_TTL_MS VBOXFIX_SHARED_CACHE
lib() { with_lib_refuse "$@"; }

mkdir -p "$MNT/top/d"
for i in $(seq 0 49); do mkdir -p "$MNT/other/sub$i"; done
ln -s d "$MNT/top/e"
# the FIFO's process has top as its share root, the probes below other
# (beside it) and the mount (above it)
export VBOXFIX_PATHS=$MNT/top
check "a FIFO made in top/d" lib mkfifo "$MNT/top/d/f"
expect_out "found through the symlink top/e" "fifo" lib stat -c %F "$MNT/top/e/f"
expect_out "... by a process whose share root is the mount" "fifo" \
    env VBOXFIX_PATHS="$MNT" LD_PRELOAD="$LIB $REFUSE" stat -c %F "$MNT/top/e/f"
expect_out "... and a socket bound through the symlink is found under d" "socket" sh -c "
    LD_PRELOAD='$LIB $REFUSE' '$PYTHON' -c 'import socket; socket.socket(socket.AF_UNIX).bind(\"$MNT/top/e/s\")' &&
    LD_PRELOAD='$LIB $REFUSE' stat -c %F '$MNT/top/d/s'"

# a missing name in each of 50 directories, each path on a page of its own
# that no call read before (as in a fresh process: a compiler's include
# search, git's probes in .git): the plain call, then the walk for a FIFO
# under the name the walk ends at, where the share ever held one
probe() { local n=$1; shift; (cd "$MNT/other" && unshare --ipc "$@" "$PYTHON" -c "
import ctypes, mmap
libc = ctypes.CDLL(None, use_errno=True)
st = ctypes.create_string_buffer(256)
pages = []
for i in range($n):
    m = mmap.mmap(-1, 4096)
    m.write(b'sub%d/x\\0' % i)
    pages.append(m)
    assert libc.stat(ctypes.c_char_p(ctypes.addressof(ctypes.c_char.from_buffer(m))), st) == -1
    assert ctypes.get_errno() == 2
"); }
# what a process under the library costs that asks nothing (the state file)
base=$(( $(count_reqs probe 0 env VBOXFIX_PATHS="$MNT/other" LD_PRELOAD="$LIB $REFUSE") - $(count_reqs probe 0 env) ))
bare=$(count_reqs probe 50 env)
other=$(count_reqs probe 50 env VBOXFIX_PATHS="$MNT/other" LD_PRELOAD="$LIB $REFUSE")
marked=$(count_reqs probe 50 env VBOXFIX_PATHS="$MNT" LD_PRELOAD="$LIB $REFUSE")
if [ "$bare" -gt 0 ] && [ "$other" -le $((bare + base + 5)) ]; then
    ok "no walk on a share that never held one: $other requests, bare $bare (+$base for the process)"
else
    fail "no walk on a share that never held one" "$other requests, bare $bare (+$base for the process, 5 more allowed)"
fi
# the same process with the marked share as its root walks each name
if [ "$marked" -gt $((other + 100)) ]; then
    ok "a share that held one walks the missing names: $marked requests, $other without"
else
    fail "a share that held one walks the missing names" "$marked requests, $other without"
fi
expect_out "a mark is a symlink to ., one per directory above the FIFO" "." \
    readlink "$(ls -d "$RUNDIR"/u0/a* | head -1)"
