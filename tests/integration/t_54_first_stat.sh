#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What a fresh process's first stat on a share holding records costs the
# share beyond the bare call (issue 12: no new request on the stat path of
# a file with no record; issue 15: fewer requests per process). Every
# process under the library reads the state file once before it presents
# anything (docs/state-store.md: it must see every record written before it
# starts): on this share its walk (GETATTR of the root, LOOKUP), the open's
# permission check (GETATTR), OPEN, one read (GETATTR, READ) and RELEASE,
# 7 requests; a name below the working directory costs one more walk
# (docs/design.md, "A stat made as the plain call"). On the code before, the
# log's open also paid a STATFS and two fstats: "the state file is read
# with 7 requests" fails (10), and so does the first stat of a file (+3).
. "$(dirname "$0")/lib.sh"
need_fuse
need_lib
need_cmd unshare stat

cache_share
mkdir -p "$SRC/d"
echo a >"$SRC/d/f1"
echo b >"$SRC/d/f2"
chmod -R a+rwX "$SRC"
with_lib chown 1234:1234 "$MNT/d/f1" || fail "a record" "chown failed"

# requests of `stat FORMAT NAME` from the share's root, each a fresh process
# in a fresh IPC namespace (no shared cache): the fewest of 3 runs with the
# library against the most of 3 bare, as a GETATTR the kernel skips because
# the attributes were fetched within the same tick only ever lowers a
# count; the daemon's count runs one over the requests served, with the
# library (the budgets below allow 2)
runs() {
    local i
    for i in 1 2 3; do count_reqs sh -c "cd '$MNT' && unshare --ipc $1 stat -c %u $2"; done
}
fewest() { runs "$@" | sort -n | head -1; }
most() { runs "$@" | sort -n | tail -1; }
L="env LD_PRELOAD=$LIB"

# the share's root by ".": canonical by its text, no walk
bare=$(most env .)
lib=$(fewest "$L" .)
if [ "$bare" -gt 0 ] && [ "$lib" -le $((bare + 7 + 2)) ]; then
    ok "the state file is read with 7 requests: a fresh process's stat of the share's root costs $lib, bare $bare"
else
    fail "the state file is read with 7 requests" "a fresh process's stat of the share's root costs $lib, bare $bare"
fi

# a file with no record, by a name below the working directory: the state
# file, and one walk of d/f2 (GETATTR and LOOKUP of d and of f2)
bare=$(most env d/f2)
lib=$(fewest "$L" d/f2)
if [ "$bare" -gt 0 ] && [ "$lib" -le $((bare + 7 + 4 + 2)) ]; then
    ok "a fresh process's first stat of a file with no record: $lib requests, bare $bare"
else
    fail "a fresh process's first stat of a file with no record costs more" "$lib requests, bare $bare (at most 13 more)"
fi

# and what it shows is what the records say
got=$(cd "$MNT" && with_lib stat -c %u:%g d/f1 d/f2 | tr '\n' ' ')
[ "$got" = "1234:1234 $(id -u):$(id -g) " ] && ok "the first stats present the records" ||
    fail "the first stats present the records" "got $got"
