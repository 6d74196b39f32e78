#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The run directory belongs to its user (issue 11, item 4). FIFOs and unix
# sockets the share refuses live in BASE/u<uid>/<hash> (BASE =
# VBOXFIX_RUNDIR); another local user who makes BASE first, or u0 inside a
# root-owned 01777 base, or a symlink in BASE's place, must not receive what
# root's client sends to root's server "on the share", and the service keeps
# working through the per-user fallback BASE-<uid>. A relative or too long
# VBOXFIX_RUNDIR gives one warning. The attacker is the test user (4300),
# working without the library; server and client are root with it.
. "$(dirname "$0")/lib.sh"
need_root
need_lib
need_file "$REFUSE"
need_cmd "$PYTHON" setpriv
ensure_test_user || skip_all "cannot create the test user"

tmp_dir T
# the attacker's own files
mkdir "$T/att"
chown "$TEST_UID:$TEST_GID" "$T/att"

cat >"$T/h.py" <<'EOF'
import errno, os, socket, sys
op = sys.argv[1]
def ename(e):
    return errno.errorcode.get(e.errno, str(e.errno))
if op == "fnv":
    # the local name of a share path (shim/policy/refuse_redirect.c)
    h = 0xcbf29ce484222325
    for b in sys.argv[2].encode():
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    print("%016x" % h)
elif op == "serve":
    # serve PATH OUT READY SECONDS: bind, listen, say so in READY, write
    # what one client sends to OUT (empty after SECONDS without a client)
    path, out, ready, wait = sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(path)
        s.listen(1)
        status = "ready"
    except OSError as e:
        status = ename(e)
    with open(ready + ".tmp", "w") as f:
        f.write(status)
    os.rename(ready + ".tmp", ready)
    data = b""
    if status == "ready":
        s.settimeout(wait)
        try:
            c, _ = s.accept()
            c.settimeout(wait)
            while True:
                b = c.recv(4096)
                if not b:
                    break
                data += b
        except OSError:
            pass
    with open(out, "w") as f:
        f.write(data.decode(errors="replace"))
elif op == "send":
    c = socket.socket(socket.AF_UNIX)
    try:
        c.connect(sys.argv[2])
        c.sendall(sys.argv[3].encode())
        c.close()
        print("sent")
    except OSError as e:
        print(ename(e))
EOF
chmod 0644 "$T/h.py"

# wait_for FILE: up to 10 s; prints its content
wait_for() {
    for _ in $(seq 100); do
        [ -e "$1" ] && { cat "$1"; return 0; }
        sleep 0.1
    done
    echo "timeout"
}

lib() { REFUSE_PATHS=$S VBOXFIX_PATHS=$S with_lib_refuse "$@"; }
hash_of() { "$PYTHON" "$T/h.py" fnv "$1"; }

# attacker_listen TAG PATH: the test user serves PATH (3 s), no library
attacker_listen() {
    as_user "$PYTHON" "$T/h.py" serve "$2" "$T/att/$1.out" "$T/att/$1.ready" 3 >/dev/null 2>&1 &
    ATT_PID=$!
    ATT_READY=$(wait_for "$T/att/$1.ready")
}

# server_start TAG: root's server on $S/TAG.sock through the library
server_start() {
    lib "$PYTHON" "$T/h.py" serve "$S/$1.sock" "$T/$1.srv" "$T/$1.srv.ready" 6 2>"$T/$1.srv.err" &
    SRV_PID=$!
    SRV_READY=$(wait_for "$T/$1.srv.ready")
}

# finish TAG DESC: root's client sends the secret; the attacker must not
# have it, the server must
finish() {
    local tag=$1 desc=$2 sent
    sent=$(lib "$PYTHON" "$T/h.py" send "$S/$tag.sock" "secret-$tag" 2>/dev/null)
    wait "$SRV_PID" 2>/dev/null
    [ -n "${ATT_PID:-}" ] && wait "$ATT_PID" 2>/dev/null
    ATT_PID=
    local att="" srv=""
    [ -n "$ATT_READY" ] && expect_eq "$desc: the attacker's socket was listening" "$ATT_READY" "ready"
    ATT_READY=
    [ -f "$T/att/$tag.out" ] && att=$(cat "$T/att/$tag.out")
    [ -f "$T/$tag.srv" ] && srv=$(cat "$T/$tag.srv")
    expect_eq "$desc: the attacker receives nothing" "$att" ""
    expect_eq "$desc: the server is bound" "$SRV_READY" "ready"
    expect_eq "$desc: root's client reaches root's server" "$sent:$srv" "sent:secret-$tag"
}

S=$T/share
mkdir -p "$S"
S=$(cd "$S" && pwd -P)
ATT_PID="" ATT_READY=""

# ---- 1. the attacker makes the base first (01777, its own) -------------------
RD=/tmp/vbf-r83a.$$
on_exit "rm -rf '$RD' '$RD-0' '$RD-$TEST_UID'"
export VBOXFIX_RUNDIR=$RD
as_user mkdir -m 1777 "$RD"
server_start a
H=$(hash_of "$S/a.sock")
# the base's owner may rename anything in it: root's u0 goes, the attacker's
# comes, with a socket under the name root's client will look up
as_user sh -c "mv '$RD/u0' '$RD/u0.old' 2>/dev/null; mkdir -p '$RD/u0' && chmod 0755 '$RD/u0'"
attacker_listen a "$RD/u0/$H"
finish a "base made by another user"
expect_eq "base made by another user: root's fallback is private" "$(stat -c %u:%a "$RD-0" 2>&1)" "0:700"
expect_eq "base made by another user: one warning" "$(grep -c "$RD" "$T/a.srv.err")" "1"
rm -rf "$RD" "$RD-0"

# ---- 2. the attacker makes u0 inside a root-owned 01777 base ------------------
RD=/tmp/vbf-r83b.$$
on_exit "rm -rf '$RD' '$RD-0' '$RD-$TEST_UID'"
export VBOXFIX_RUNDIR=$RD
mkdir -m 1777 "$RD"
H=$(hash_of "$S/b.sock")
as_user sh -c "mkdir '$RD/u0' && chmod 0777 '$RD/u0'"
attacker_listen b "$RD/u0/$H"
server_start b
finish b "u0 made by another user"
expect_eq "u0 made by another user: the socket is listed on the share" \
    "$(lib "$PYTHON" -c "import os; print(sorted(os.listdir('$S')))" 2>/dev/null)" "['b.sock']"
check "u0 made by another user: unlink removes the socket" lib "$PYTHON" -c "
import os; os.unlink('$S/b.sock'); assert not os.path.exists('$S/b.sock')
# what stays is the marks of the directories above it (refuse_mark.c)
left = [n for n in os.listdir('$RD-0/u0') if not (n[0] == 'a' and len(n) == 17)]
assert not left, left"
rm -rf "$RD" "$RD-0"

# ... and u0 a symlink to the attacker's directory
RD=/tmp/vbf-r83c.$$
on_exit "rm -rf '$RD' '$RD-0' '$RD-$TEST_UID'"
export VBOXFIX_RUNDIR=$RD
mkdir -m 1777 "$RD"
H=$(hash_of "$S/c.sock")
as_user sh -c "mkdir -m 0777 '$T/att/dir' && ln -s '$T/att/dir' '$RD/u0'"
attacker_listen c "$T/att/dir/$H"
server_start c
finish c "u0 a symlink made by another user"
rm -rf "$RD" "$RD-0"

# ---- 3. the base itself is a symlink ------------------------------------------
RD=/tmp/vbf-r83d.$$
on_exit "rm -rf '$RD' '$RD-0' '$RD-$TEST_UID'"
export VBOXFIX_RUNDIR=$RD
as_user sh -c "mkdir -m 1777 '$T/att/base' && ln -s '$T/att/base' '$RD'"
server_start d
finish d "symlinked base"
expect_eq "symlinked base: nothing made through it" "$(ls -A "$T/att/base")" ""
rm -rf "$RD" "$RD-0"

# ---- 4. still shared where it is safe -----------------------------------------
# a root-owned 01777 base: another uid's socket is reached by root
RD=/tmp/vbf-r83e.$$
on_exit "rm -rf '$RD' '$RD-0' '$RD-$TEST_UID'"
export VBOXFIX_RUNDIR=$RD
mkdir -m 1777 "$RD"
mkdir -m 0777 "$S/pub"
srv_user() {
    as_user env LD_PRELOAD="$LIB $REFUSE" REFUSE_PATHS="$S" VBOXFIX_PATHS="$S" VBOXFIX_RUNDIR="$RD" \
        "$PYTHON" "$T/h.py" serve "$S/pub/$1.sock" "$T/att/$1.out" "$T/att/$1.ready" 6 >/dev/null 2>&1 &
    SRV_PID=$!
    SRV_READY=$(wait_for "$T/att/$1.ready")
}
srv_user e
sent=$(lib "$PYTHON" "$T/h.py" send "$S/pub/e.sock" "hello-e" 2>/dev/null)
wait "$SRV_PID"
expect_eq "root base: root reaches another uid's socket" "$SRV_READY:$sent:$(cat "$T/att/e.out" 2>&1)" "ready:sent:hello-e"
# a u<uid> directory not owned by that uid is never used
H=$(hash_of "$S/pub/f.sock")
as_user sh -c "mkdir '$RD/u4301' && chmod 0755 '$RD/u4301'"
attacker_listen f "$RD/u4301/$H"
sent=$(lib "$PYTHON" "$T/h.py" send "$S/pub/f.sock" "secret-f" 2>/dev/null)
wait "$ATT_PID" 2>/dev/null; ATT_PID=
expect_eq "u4301 owned by 4300: the attacker's socket was listening" "$ATT_READY" "ready"; ATT_READY=
expect_eq "u4301 owned by 4300: not connected to" "$sent:$(cat "$T/att/f.out" 2>&1)" "ENOENT:"
rm -rf "$RD" "$RD-0" "$S/pub"

# a base made by a service user (not root): root's client still reaches it
RD=/tmp/vbf-r83f.$$
on_exit "rm -rf '$RD' '$RD-0' '$RD-$TEST_UID'"
export VBOXFIX_RUNDIR=$RD
mkdir -m 0777 "$S/pub"
srv_user g
sent=$(lib "$PYTHON" "$T/h.py" send "$S/pub/g.sock" "hello-g" 2>/dev/null)
wait "$SRV_PID"
expect_eq "base made by a service user: root reaches its socket" \
    "$SRV_READY:$sent:$(cat "$T/att/g.out" 2>&1)" "ready:sent:hello-g"
expect_eq "base made by a service user: not writable by others" "$(stat -c %u:%a "$RD" 2>&1)" "$TEST_UID:755"
rm -rf "$RD" "$RD-0" "$RD-$TEST_UID" "$S/pub"

# ---- 5. VBOXFIX_RUNDIR not absolute, or too long: one warning ----------------
cd "$T" || exit 1
for v in rel/dir "/tmp/$(printf 'x%.0s' $(seq 70))"; do
    n=$(VBOXFIX_RUNDIR=$v lib "$PYTHON" -c "
import os
for i in range(3):
    try: os.stat('$S/none%d' % i)
    except OSError: pass" 2>&1 | grep -c 'VBOXFIX_RUNDIR')
    expect_eq "VBOXFIX_RUNDIR=${v:0:12}...: one warning" "$n" "1"
done
expect_eq "a relative VBOXFIX_RUNDIR is not created" "$(ls -d "$T/rel" 2>/dev/null)" ""
