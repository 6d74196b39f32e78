#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make demo: an emulated VirtualBox shared folder (bindfs: every file owned by
# uid 4242, chown and chmod silently ignored, no attribute caching - like
# vboxsf with its default ttl=0), then the same jobs without and with
# libvboxfix: chown -R + ls -l, git by a user who does not own the share, and
# PostgreSQL (initdb, start, write, restart, read back).
# `make demo` runs `sh examples/demo.sh`: on Debian sh is dash, and lib.sh
# needs bash
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
set -u
. "$(dirname "$0")/../tests/integration/lib.sh"
VBF_SCRIPT=demo

say()  { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@" 2>&1 | sed 's/^/  /'; return "${PIPESTATUS[0]}"; }

[ "$(id -u)" -eq 0 ] || { echo "make demo needs root (it mounts an emulated share)"; exit 1; }
[ -f "$LIB" ] || { echo "build first: make"; exit 1; }
share_setup ignore
export VBOXFIX_PATHS=$MNT
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

say "An emulated share at $MNT: owner 4242:4242, chown/chmod ignored, no caching"
mkdir -p "$MNT/pgdata" "$MNT/repo"
show ls -ln "$MNT"

say "WITHOUT libvboxfix: chown -R reports success, but nothing changes"
show chown -R postgres:postgres "$MNT/pgdata"
show chmod 700 "$MNT/pgdata"
show ls -ld "$MNT/pgdata"
if [ -n "$PGBIN" ]; then
    say "WITHOUT libvboxfix: PostgreSQL refuses the data directory"
    show setpriv --reuid=postgres --regid=postgres --init-groups "$PGBIN/initdb" -D "$MNT/pgdata" -A trust
    rm -rf "${MNT:?}/pgdata" && mkdir "$MNT/pgdata"
fi
say "WITHOUT libvboxfix: git as a user who does not own the share"
show as_user env GIT_CONFIG_NOSYSTEM=1 git init -q "$MNT/repo"
rm -rf "${MNT:?}/repo/.git"

say "WITH libvboxfix (LD_PRELOAD=$LIB)"
export LD_PRELOAD=$LIB
show chown -R postgres:postgres "$MNT/pgdata"
show chmod 700 "$MNT/pgdata"
show ls -ld "$MNT/pgdata"
LD_PRELOAD= show stat -c 'the real directory is untouched: %u:%g %a' "$MNT/pgdata"
chown "$TEST_UID:$TEST_GID" "$MNT/repo"
show as_user with_lib env GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=demo GIT_AUTHOR_EMAIL=d@example.org \
    GIT_COMMITTER_NAME=demo GIT_COMMITTER_EMAIL=d@example.org sh -c \
    "cd '$MNT/repo' && git init -q . && echo hello >README && git add README && git commit -qm first && git log --oneline && git status --short"

rc=0
if [ -n "$PGBIN" ]; then
    say "WITH libvboxfix: PostgreSQL on the share"
    sock=$(mktemp -d /tmp/vbf-demo-sock.XXXXXX); chown postgres "$sock"
    on_exit "LD_PRELOAD='$LIB' setpriv --reuid=postgres --regid=postgres --init-groups '$PGBIN/pg_ctl' -D '$MNT/pgdata' -m immediate stop; rm -rf '$sock'"
    pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
    pgopts="-c listen_addresses='' -k $sock -p 54329"
    show pg "$PGBIN/initdb" -D "$MNT/pgdata" -A trust --no-sync -U postgres >/dev/null || rc=1
    show pg "$PGBIN/pg_ctl" -D "$MNT/pgdata" -o "$pgopts" -w -l "$sock/log" start || rc=1
    show pg "$PGBIN/psql" -h "$sock" -p 54329 -U postgres -qc \
        "create table visits(n int, at timestamptz default now()); insert into visits(n) values (1),(2),(3);" || rc=1
    show pg "$PGBIN/pg_ctl" -D "$MNT/pgdata" -w stop || rc=1
    show pg "$PGBIN/pg_ctl" -D "$MNT/pgdata" -o "$pgopts" -w -l "$sock/log" start || rc=1
    show pg "$PGBIN/psql" -h "$sock" -p 54329 -U postgres -Atc "select count(*) || ' rows survived the restart' from visits" || rc=1
    show pg "$PGBIN/pg_ctl" -D "$MNT/pgdata" -w stop
else
    say "PostgreSQL is not installed: skipped (make deps installs it)"
fi
say "Cleaning up (unmounting the emulated share)"
[ "$rc" -eq 0 ] && echo "demo finished: every step above worked with libvboxfix" || echo "demo: a step failed (see above)"
exit "$rc"
