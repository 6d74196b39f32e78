# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034
# Helpers for tests/integration/t_*.sh (bash). Source it first:
#     . "$(dirname "$0")/lib.sh"
# Protocol: every result is one line on stdout:
#     ok - NAME
#     FAIL - NAME: reason
#     SKIPPED - NAME: why
# tests/run-integration.sh counts these lines. A script that exits non-zero
# without printing a FAIL line counts as one failure; lib.sh makes a script
# whose checks failed exit 1.
# Do not set your own `trap ... EXIT`: register cleanup with on_exit.

# ---- locations ---------------------------------------------------------------
VBF_TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VBF_REPO=$(cd "$VBF_TESTS_DIR/.." && pwd)
B=${B:-$VBF_REPO/build}
export B
LIB=$B/libvboxfix.so                 # the library under test
FIX=$B/fixtures
PROBE=$FIX/probe                     # also probe-lfs, -fortify, -static, -musl
REFUSE=$FIX/librefuse.so             # test-only refusal preload
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=$(command -v python3 || echo python3); fi
SHARE_UID=${SHARE_UID:-4242}         # owner the emulated share shows:
SHARE_GID=${SHARE_GID:-4242}         # neither root nor the test user
TEST_USER=${TEST_USER:-vbfuser}
TEST_UID=${TEST_UID:-4300}
TEST_GID=${TEST_GID:-4300}
VBF_SCRIPT=$(basename "$0" .sh)
VBF_SYS_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# ---- results -----------------------------------------------------------------
_vbf_fails=0

ok()   { echo "ok - $1"; }
fail() { echo "FAIL - $1: ${2:-failed}"; _vbf_fails=$((_vbf_fails + 1)); }
skip() { echo "SKIPPED - $1: ${2:-skipped}"; }

# one-line summary of a command's output for FAIL reasons
_vbf_oneline() { tr '\n' ' ' <"$1" | cut -c1-300 | sed 's/ *$//'; }

# check NAME CMD...: ok if CMD exits 0 (CMD may be a function, e.g. with_lib)
check() {
    local name=$1 out rc=0; shift
    out=$(mktemp)
    "$@" >"$out" 2>&1 || rc=$?
    if [ "$rc" -eq 0 ]; then ok "$name"
    else fail "$name" "exit $rc: $(_vbf_oneline "$out")"; fi
    rm -f "$out"
}

# expect_fail NAME CMD...: ok if CMD exits non-zero
expect_fail() {
    local name=$1 out rc=0; shift
    out=$(mktemp)
    "$@" >"$out" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then ok "$name"
    else fail "$name" "succeeded but should fail: $(_vbf_oneline "$out")"; fi
    rm -f "$out"
}

# expect_eq NAME GOT WANT
expect_eq() {
    if [ "$2" = "$3" ]; then ok "$1"
    else fail "$1" "got '$2', want '$3'"; fi
}

# expect_out NAME WANT CMD...: CMD's stdout (stderr dropped) must equal WANT
expect_out() {
    local name=$1 want=$2 got; shift 2
    got=$("$@" 2>/dev/null) || true
    expect_eq "$name" "$got" "$want"
}
# expect_rc NAME WANT CMD...: CMD's exit status must be WANT (output dropped)
expect_rc() {
    local name=$1 want=$2 got=0; shift 2
    "$@" >/dev/null 2>&1 </dev/null || got=$?
    expect_eq "$name" "$got" "$want"
}
# expect_in_file NAME PATTERN FILE: FILE contains PATTERN (grep -E);
# expect_not_in_file: it does not
expect_in_file() {
    if grep -qE -- "$2" "$3"; then ok "$1"
    else fail "$1" "no /$2/ in: $(_vbf_oneline "$3")"; fi
}
expect_not_in_file() {
    if grep -qE -- "$2" "$3"; then fail "$1" "unexpected /$2/ in: $(_vbf_oneline "$3")"
    else ok "$1"; fi
}

# skip_all WHY: the whole script is skipped (one SKIPPED line, exit 0)
skip_all() { skip "$VBF_SCRIPT" "$1"; exit 0; }

need_root() { [ "$(id -u)" -eq 0 ] || skip_all "needs root"; }

# need_cmd X...: skip the script unless every command exists
need_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || skip_all "needs $c"
    done
}

# need_fuse: /dev/fuse, bindfs and fusermount(3), as root
need_fuse() {
    need_root
    [ -c /dev/fuse ] || skip_all "no /dev/fuse"
    need_cmd bindfs
    command -v fusermount3 >/dev/null 2>&1 || command -v fusermount >/dev/null 2>&1 ||
        skip_all "needs fusermount"
}

# need_file F...: a missing build product is a failure, not a skip
need_file() {
    local f
    for f in "$@"; do
        [ -e "$f" ] || { fail "$VBF_SCRIPT" "missing $f (build it: make B=$B all fixtures)"; exit 1; }
    done
}
need_lib() { need_file "$LIB"; }

# ---- cleanup -----------------------------------------------------------------
_vbf_cleanups=()
on_exit() { _vbf_cleanups+=("$*"); }   # run at exit, last registered first

_vbf_exit() {
    local rc=$? i
    set +e
    for ((i = ${#_vbf_cleanups[@]} - 1; i >= 0; i--)); do
        eval "${_vbf_cleanups[$i]}" >/dev/null 2>&1
    done
    if [ "$rc" -eq 0 ] && [ "$_vbf_fails" -gt 0 ]; then rc=1; fi
    exit "$rc"
}
trap _vbf_exit EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

# tmp_dir VAR: make a fresh 0755 directory under /tmp (traversable by the
# test user), removed at exit, and store its path in VAR. (Not `$(tmp_dir)`:
# cleanup registered in a subshell would be lost.)
tmp_dir() {
    local _d
    _d=$(mktemp -d /tmp/vbf-test.XXXXXX) || return 1
    chmod 0755 "$_d"
    on_exit "rm -rf '$_d'"
    printf -v "$1" '%s' "$_d"
}

# ---- preloads ----------------------------------------------------------------
with_lib()        { LD_PRELOAD="$LIB" "$@"; }            # libvboxfix only
with_refuse()     { LD_PRELOAD="$REFUSE" "$@"; }         # refusals, no libvboxfix
with_lib_refuse() { LD_PRELOAD="$LIB $REFUSE" "$@"; }    # refuse below libvboxfix

# ---- the unprivileged test user ----------------------------------------------
ensure_test_user() {
    getent group "$TEST_GID" >/dev/null 2>&1 || getent group "$TEST_USER" >/dev/null 2>&1 ||
        groupadd -g "$TEST_GID" "$TEST_USER" >/dev/null 2>&1 || true
    if ! getent passwd "$TEST_USER" >/dev/null 2>&1; then
        useradd -u "$TEST_UID" -g "$TEST_GID" -M -d /nonexistent -s /bin/sh "$TEST_USER" \
            >/dev/null 2>&1 || return 1
    fi
    [ "$(id -u "$TEST_USER")" = "$TEST_UID" ]
}

# as_user CMD...: run CMD as uid/gid 4300 (vbfuser) with no supplementary
# groups, HOME=$VBF_USER_HOME (private, writable, removed at exit) and a
# system PATH. CMD may start with with_lib / with_refuse / with_lib_refuse
# (translated to env LD_PRELOAD=...). Works inside $(...) too.
VBF_USER_HOME=/tmp/vbf-home.$$
on_exit "rm -rf '$VBF_USER_HOME'"
as_user() {
    [ "$(id -u)" -eq 0 ] || { echo "as_user: needs root" >&2; return 126; }
    ensure_test_user || { echo "as_user: cannot create $TEST_USER" >&2; return 126; }
    if [ ! -d "$VBF_USER_HOME" ]; then
        mkdir -m 0700 "$VBF_USER_HOME" && chown "$TEST_UID:$TEST_GID" "$VBF_USER_HOME" ||
            return 126
    fi
    case ${1:-} in
        with_lib)        shift; set -- env "LD_PRELOAD=$LIB" "$@" ;;
        with_refuse)     shift; set -- env "LD_PRELOAD=$REFUSE" "$@" ;;
        with_lib_refuse) shift; set -- env "LD_PRELOAD=$LIB $REFUSE" "$@" ;;
    esac
    HOME=$VBF_USER_HOME PATH=$VBF_SYS_PATH USER=$TEST_USER LOGNAME=$TEST_USER \
        setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups -- "$@"
}

# ---- the emulated share ------------------------------------------------------
# share_mount MODE SRC MNT: bindfs SRC on MNT with a fixed owner
# ($SHARE_UID:$SHARE_GID, files 0666, dirs 0777), zero FUSE cache timeouts,
# no xattrs, visible to all users. MODE:
#   ignore  chown/chgrp/chmod return 0 and change nothing (mainline vboxsf)
#   deny    chown/chgrp/chmod fail with EPERM
share_mount() {
    local mode=$1 src=$2 mnt=$3 policy
    case $mode in
        ignore) policy="--chown-ignore --chgrp-ignore --chmod-ignore" ;;
        deny)   policy="--chown-deny --chgrp-deny --chmod-deny" ;;
        *) echo "share_mount: MODE must be ignore or deny" >&2; return 2 ;;
    esac
    # shellcheck disable=SC2086
    bindfs -o attr_timeout=0,entry_timeout=0,negative_timeout=0,allow_other \
        --force-user="$SHARE_UID" --force-group="$SHARE_GID" --perms=0666:a+X \
        $policy --xattr-none "$src" "$mnt"
}

# share_umount MNT: unmount (fusermount3/fusermount, lazy umount as last resort)
share_umount() {
    local mnt=$1 i
    for i in 1 2 3 4 5; do
        mountpoint -q "$mnt" 2>/dev/null || return 0
        fusermount3 -u "$mnt" 2>/dev/null || fusermount -u "$mnt" 2>/dev/null ||
            umount "$mnt" 2>/dev/null || true
        mountpoint -q "$mnt" 2>/dev/null || return 0
        sleep 0.2
    done
    umount -l "$mnt" 2>/dev/null
    ! mountpoint -q "$mnt" 2>/dev/null
}

# share_setup MODE: fresh temp dir (0755) with src/ and mnt/, mounted with
# share_mount; exports SHARE_DIR, SRC, MNT. Unmounted and removed at exit.
# Skips the script when not root, without /dev/fuse or bindfs, or when the
# mount fails (fail instead with VBF_REQUIRE_SHARE=1).
share_setup() {
    local mode=$1 d err
    need_fuse
    d=$(mktemp -d /tmp/vbf-share.XXXXXX) || { fail "$VBF_SCRIPT" "mktemp failed"; exit 1; }
    chmod 0755 "$d"
    mkdir "$d/src" "$d/mnt"
    chmod 0755 "$d/src" "$d/mnt"
    # registered before mounting: the rm never runs while still mounted
    on_exit "share_umount '$d/mnt' && rm -rf '$d'"
    if ! err=$(share_mount "$mode" "$d/src" "$d/mnt" 2>&1); then
        if [ "${VBF_REQUIRE_SHARE:-0}" = 1 ]; then
            fail "$VBF_SCRIPT" "bindfs mount failed: $err"; exit 1
        fi
        skip_all "bindfs mount failed: $err"
    fi
    SHARE_DIR=$d SRC=$d/src MNT=$d/mnt
    export SHARE_DIR SRC MNT
}

# share_requests: after share_setup, count the requests the share's bindfs
# daemon reads (reads of /dev/fuse, its syscr): `reqs` the count so far,
# `count_reqs CMD...` those CMD made (its output dropped). BINDFS_PID empty
# when the daemon was not found.
share_requests() {
    BINDFS_PID=$(pgrep -f "bindfs.*$SRC" | head -1)
}
reqs() { awk '/^syscr/{print $2}' "/proc/$BINDFS_PID/io"; }

# cache_share: the share the request-counting cache tests use (share_setup
# ignore, the library's cache alone deciding: a TTL longer than the test,
# no other cache setting from the caller's environment), its requests
# counted (share_requests).
cache_share() {
    share_setup ignore
    export VBOXFIX_PATHS=$MNT VBOXFIX_TTL_MS=600000
    unset VBOXFIX_CACHE_MAX VBOXFIX_SHARED_CACHE VBOXFIX_STATS VBOXFIX_STATE
    share_requests
}
count_reqs() { local a b; a=$(reqs); "$@" >/dev/null 2>&1; b=$(reqs); echo $((b - a)); }

# while_scribbled SECONDS NAME ROUND: root rewrites every shared memory
# segment of this IPC namespace ($FIX/hostile -a; run in_private_ipc) for
# SECONDS, while `ROUND N` (a function: its status says whether round N's
# answers were right) runs over and over; ok NAME when more than 2 rounds
# ran and every one was right.
while_scribbled() {
    local secs=$1 name=$2 round=$3 hpid bad=0 n=0
    "$FIX/hostile" -a -t "$secs" -q &
    hpid=$!
    while kill -0 "$hpid" 2>/dev/null; do
        "$round" "$n" || bad=$((bad + 1))
        n=$((n + 1))
    done
    wait "$hpid"
    if [ "$bad" -eq 0 ] && [ "$n" -gt 2 ]; then ok "$name ($n rounds)"
    else fail "$name" "$bad of $n rounds wrong"; fi
}

# in_private_ipc "$@": run this script again in an IPC namespace of its own
# (the library's shared cache tables are then the test's own), once.
in_private_ipc() {
    if [ "${VBF_IPC_INNER:-0}" != 1 ] && unshare --ipc true 2>/dev/null; then
        VBF_IPC_INNER=1 exec unshare --ipc bash "$0" "$@"
    fi
}

# The emulated share refused like vboxsf (librefuse.so) for the redirect
# tests: share_setup ignore, a run directory of the test's own
# (/tmp/vbf-TAG.PID, removed at exit) and the settings both libraries read.
redirect_share() {
    need_lib
    need_file "$REFUSE"
    share_setup ignore
    RUNDIR=/tmp/vbf-$1.$$
    on_exit "rm -rf '$RUNDIR'"
    export VBOXFIX_RUNDIR=$RUNDIR REFUSE_PATHS=$MNT VBOXFIX_PATHS=$MNT
}
