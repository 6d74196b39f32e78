#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One view (issue 12, items 1 and 2): a file on a share shows the same owner,
# group and mode to every process and uid. What a process creates shows its
# euid/egid (or a setgid directory's group) to everyone; a file without a
# record inherits its nearest recorded ancestor's owner; the entrypoints'
# `find DIR \! -user U -exec chown U` finds nothing to change once the
# service made the files; a create or start cycle that changes nothing adds
# nothing to the state file. POSIX owner rules on the presented owner:
# chown(-1, -1) records nothing, chown and a non-root writer clear the setuid
# bits, non-owners are refused.
#
# Which checks failed before the change (the caller's view for every file
# nothing was recorded for): "created by A ...", "inherits ...", "the
# entrypoint's walk ...", "chown -1 -1 by a non-owner ...", "setuid bits
# cleared by an open for writing", "setgid directory ...", "a non-owner's
# chmod/chown/chgrp ...", "chown -1 -1 ... clears the bits", "the state file
# does not grow ...". The others guard against regressions.
. "$(dirname "$0")/lib.sh"
need_fuse
need_lib
need_cmd "$PYTHON" setpriv

share_setup ignore
export VBOXFIX_PATHS=$MNT
STATE=$SRC/.vboxfix.state
B_UID=4301
ensure_test_user || fail "test user" "cannot create $TEST_USER"
view() { with_lib stat -c '%u:%g %a' "$@"; }
as_b() { setpriv --reuid="$B_UID" --regid="$B_UID" --clear-groups -- env LD_PRELOAD="$LIB" "$@"; }
size() { stat -c %s "$STATE" 2>/dev/null || echo 0; }

# --- what uid A creates shows A's owner to root and to uid B
mkdir "$MNT/pub"
with_lib chown 0:0 "$MNT/pub"
as_user with_lib sh -c "echo x >'$MNT/pub/a.txt' && mkdir '$MNT/pub/a.dir'"
A="$TEST_UID:$TEST_GID"
expect_out "created by A: A's to root" "$A" with_lib stat -c '%u:%g' "$MNT/pub/a.txt"
expect_out "created by A: A's to uid B" "$A" as_b stat -c '%u:%g' "$MNT/pub/a.txt"
expect_out "created by A: A's to A" "$A" as_user with_lib stat -c '%u:%g' "$MNT/pub/a.txt"
expect_out "mkdir by A: A's to root and B" "$A $A" sh -c \
    "printf '%s ' \$(env LD_PRELOAD='$LIB' stat -c '%u:%g' '$MNT/pub/a.dir'); \
     setpriv --reuid=$B_UID --regid=$B_UID --clear-groups -- env LD_PRELOAD='$LIB' stat -c '%u:%g' '$MNT/pub/a.dir'"

# --- inheritance from a chowned data directory
mkdir -p "$MNT/data/sub" && echo y >"$SRC/data/sub/host.txt"   # made behind the library's back
with_lib chown "$A" "$MNT/data"
expect_out "a file nothing is recorded for inherits the data directory's owner (root)" "$A" \
    with_lib stat -c '%u:%g' "$MNT/data/sub/host.txt"
expect_out "... and the same to uid B" "$A" as_b stat -c '%u:%g' "$MNT/data/sub/host.txt"
n0=$(size)
# umask 0: the share gives these modes itself, so only an owner could be recorded
as_user with_lib sh -c "umask 0 && mkdir -p '$MNT/data/sub/deep' && echo z >'$MNT/data/sub/deep/f' && touch '$MNT/data/g'"
expect_eq "the owner's creates below its own directory record no owner" "$(size)" "$n0"
with_lib sh -c "echo r >'$MNT/data/by-root'"
expect_out "root's create there is root's, to A too" "0:0" as_user with_lib stat -c '%u:%g' "$MNT/data/by-root"

# --- the entrypoint's walk (`chown U` without a group, as the MySQL 8.4 and
# PostgreSQL entrypoints do) finds nothing on the next start
mkdir "$MNT/svc"
with_lib find "$MNT/svc" \! -user "$TEST_USER" -exec chown --no-dereference "$TEST_USER" '{}' +
expect_out "chown U of a directory nothing was known about takes U's own group" "$A" \
    as_user with_lib stat -c '%u:%g' "$MNT/svc"
as_user with_lib sh -c "mkdir -p '$MNT/svc/base/1' && for i in 1 2 3; do echo \$i >'$MNT/svc/base/1/f'\$i; done && \
    ln -s f1 '$MNT/svc/base/1/l' 2>/dev/null; touch '$MNT/svc/pid'"
expect_out "the entrypoint's walk as root finds nothing to change" "" \
    with_lib find "$MNT/svc" \! -user "$TEST_USER"
expect_out "... nor a file outside the user's group" "" with_lib find "$MNT/svc" \! -group "$TEST_GID" \! -type l

# --- a start/stop cycle of a service adds nothing to the state file
# (umask 0: a file the service recreates at each start with a mode the share
# does not give is recorded and dropped again at each start; that is the mode's
# record, bounded by compaction, not the owner's)
cycle() {
    as_user with_lib sh -c "umask 0 && cd '$MNT/svc' && echo \$\$ >pid.tmp && mv pid.tmp pid2 && \
        echo data >>base/1/f1 && echo t >tmpf && rm tmpf && mkdir -p run && rmdir run && rm pid2"
    with_lib find "$MNT/svc" \! -user "$TEST_USER" -exec chown --no-dereference "$TEST_USER" '{}' +
}
cycle; s2=$(size); cycle; s3=$(size)
expect_eq "the state file does not grow between the second and third start" "$s3" "$s2"

# --- chown(-1, -1)
mkdir "$MNT/free" && echo f >"$SRC/free/f"     # nothing known: each caller's own
n0=$(size)
check "chown -1 -1 by anyone succeeds" as_b "$PYTHON" -c "import os; os.chown('$MNT/free/f', -1, -1)"
expect_eq "chown -1 -1 by a non-owner records nothing" "$(size)" "$n0"
expect_out "... and root still sees the file as before" "0:0" with_lib stat -c '%u:%g' "$MNT/free/f"
expect_out "chown -1 -1 of A's file by B: allowed, nothing changes" "ok $A" sh -c \
    "setpriv --reuid=$B_UID --regid=$B_UID --clear-groups -- env LD_PRELOAD='$LIB' '$PYTHON' -c \
     \"import os; os.chown('$MNT/pub/a.txt', -1, -1); print('ok', end=' ')\"; env LD_PRELOAD='$LIB' stat -c '%u:%g' '$MNT/pub/a.txt'"

# --- owner rules on the presented owner
expect_fail "a non-owner's chmod of A's file is refused" as_b chmod 600 "$MNT/pub/a.txt"
expect_fail "a non-owner's chown of A's file is refused" as_b chown "$B_UID" "$MNT/pub/a.txt"
expect_fail "a non-owner's chgrp of A's file is refused" as_b chgrp "$B_UID" "$MNT/pub/a.txt"
check "the owner's chmod works" as_user with_lib chmod 640 "$MNT/pub/a.txt"

# --- setuid bits
echo s >"$MNT/pub/s" && with_lib chown "$A" "$MNT/pub/s"
as_user with_lib chmod 6755 "$MNT/pub/s"
expect_out "setuid recorded" "$A 6755" view "$MNT/pub/s"
check "the owner's chgrp to its own group" as_user with_lib chgrp "$TEST_GID" "$MNT/pub/s"
expect_out "setuid bits cleared by a non-root chown" "$A 755" view "$MNT/pub/s"
as_user with_lib chmod 6755 "$MNT/pub/s"
expect_fail "chown -1 -1 of a setuid file by a non-owner is refused (it would clear the bits)" \
    as_b "$PYTHON" -c "import os; os.chown('$MNT/pub/s', -1, -1)"
check "chown -1 -1 of a setuid file by its owner" as_user with_lib "$PYTHON" -c "import os; os.chown('$MNT/pub/s', -1, -1)"
expect_out "... clears the bits, as the kernel does" "$A 755" view "$MNT/pub/s"
as_user with_lib chmod 6755 "$MNT/pub/s"
check "root opens the setuid file for writing" with_lib sh -c "echo w >>'$MNT/pub/s'"
expect_out "... and the bits stay (CAP_FSETID)" "$A 6755" view "$MNT/pub/s"
check "its owner opens it for writing" as_user with_lib sh -c "echo w >>'$MNT/pub/s'"
expect_out "setuid bits cleared by an open for writing (not root)" "$A 755" view "$MNT/pub/s"

# --- a setgid directory gives its group
mkdir "$MNT/grp" && with_lib chown 0:4400 "$MNT/grp" && with_lib chmod 2777 "$MNT/grp"
as_user with_lib sh -c "echo g >'$MNT/grp/f' && mkdir '$MNT/grp/d'"
expect_out "setgid directory: a new file has its group, seen by root" "$TEST_UID:4400" \
    with_lib stat -c '%u:%g' "$MNT/grp/f"
expect_out "setgid directory: a new directory is setgid too" "$TEST_UID:4400 2755" view "$MNT/grp/d"
