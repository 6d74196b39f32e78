#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SQLite in WAL mode on the emulated share, written by two processes at once
# (python3's sqlite3, one transaction per row, busy_timeout), by a service
# user in a directory root chown -R'd to it and chmod 700'd; then
# integrity_check and the row count. Also with vboxsf's refusals below the
# library.
#
# Without the library, honestly: SQLite never checks ownership and the
# share's directories are 0777, so the same writes work; what differs is what
# the service sees (the share's owner 4242 and mode 0777 instead of its own
# user and 0700), which is what breaks the services of t_90..t_92.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/services.sh"
need_fuse
need_lib
need_file "$REFUSE"
"$PYTHON" -c 'import sqlite3' 2>/dev/null || skip_all "needs python3's sqlite3 module"
ensure_test_user || skip_all "cannot create $TEST_USER"
N=300

tmp_dir LOCAL
cat >"$LOCAL/writer.py" <<'EOF'
import os, sqlite3, sys, time
db, who, n, gate = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
c = sqlite3.connect(db, timeout=30, isolation_level=None)
c.execute("pragma busy_timeout = 30000")
assert c.execute("pragma journal_mode").fetchone()[0] == "wal"
# start together: each announces itself, then waits for the other
open(os.path.join(gate, who), "w").close()
deadline = time.time() + 20
while len(os.listdir(gate)) < 2 and time.time() < deadline:
    time.sleep(0.005)
for i in range(n):
    c.execute("begin immediate")
    c.execute("insert into t(who, i, pad) values (?, ?, randomblob(200))", (who, i))
    c.execute("commit")
    time.sleep(0.002)   # think time; without it SQLite's busy handler lets one writer starve the other
c.close()
EOF
cat >"$LOCAL/setup.py" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print(c.execute("pragma journal_mode = wal").fetchone()[0])
c.execute("create table t(id integer primary key, who text, i int, pad blob)")
c.commit()
EOF
cat >"$LOCAL/check.py" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print(c.execute("pragma integrity_check").fetchone()[0],
      c.execute("pragma journal_mode").fetchone()[0],
      c.execute("select count(*) from t").fetchone()[0],
      c.execute("select count(distinct who || i) from t").fetchone()[0],
      # the writers really ran at once: their rows alternate more than twice
      "interleaved" if c.execute("select count(*) from (select who, lag(who) over (order by id) p"
                                 " from t) where who != p").fetchone()[0] > 2 else "sequential")
EOF

# two_writers PRELOAD... -- DB: both at once, as the test user
two_writers() {
    local db=$1 gate; shift
    gate=$(mktemp -d "$LOCAL/gate.XXXXXX") && chmod 0777 "$gate" || return 1
    as_user "$@" "$PYTHON" "$LOCAL/writer.py" "$db" a "$N" "$gate" & local p1=$!
    as_user "$@" "$PYTHON" "$LOCAL/writer.py" "$db" b "$N" "$gate" & local p2=$!
    local rc=0
    wait "$p1" || rc=1
    wait "$p2" || rc=1
    return "$rc"
}

# run_case T DIR PRELOAD: create the database, two writers, then check
run_case() {
    local t=$1 dir=$2; shift 2
    local db=$dir/app.db
    expect_out "$t WAL mode on the share" "wal" as_user "$@" "$PYTHON" "$LOCAL/setup.py" "$db"
    check "$t two processes write $N rows each at once" two_writers "$db" "$@"
    expect_out "$t integrity_check and row count" "ok wal $((2 * N)) $((2 * N)) interleaved" \
        as_user "$@" "$PYTHON" "$LOCAL/check.py" "$db"
    expect_out "$t sqlite3 (CLI) reads it" "$((2 * N))" as_user "$@" sqlite3 "$db" 'select count(*) from t'
}

for MODE in ignore deny; do
    share_setup "$MODE"
    export VBOXFIX_PATHS=$MNT REFUSE_PATHS=$MNT
    T="[$MODE]"

    # without the library
    mkdir "$MNT/plain"
    chown -R "$TEST_UID:$TEST_GID" "$MNT/plain" 2>/dev/null; chmod 700 "$MNT/plain" 2>/dev/null
    expect_out "$T without: the user sees the share's owner and mode, not its own" \
        "$SHARE_UID 777" as_user stat -c '%u %a' "$MNT/plain"
    run_case "$T without:" "$MNT/plain"

    # with the library
    mkdir "$MNT/lib"
    check "$T chown -R and chmod 700 (root, library)" svc_root_lib sh -c \
        "chown -R $TEST_UID:$TEST_GID '$MNT/lib' && chmod 700 '$MNT/lib'"
    expect_out "$T with the library the user sees its own 0700 directory" \
        "$TEST_UID 700" as_user with_lib stat -c '%u %a' "$MNT/lib"
    run_case "$T" "$MNT/lib" with_lib

    # with vboxsf's refusals below the library
    mkdir "$MNT/refuse"
    svc_root_lib sh -c "chown -R $TEST_UID:$TEST_GID '$MNT/refuse' && chmod 700 '$MNT/refuse'"
    run_case "$T with vboxsf's refusals:" "$MNT/refuse" with_lib_refuse
done
