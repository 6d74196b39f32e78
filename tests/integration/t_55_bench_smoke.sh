#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench, short: bench/run.sh --quick writes a results table with
# numbers. Not timed, not pass/fail on any ratio: it only proves the
# benchmark still runs end to end.
. "$(dirname "$0")/lib.sh"
need_fuse
need_lib
need_cmd hyperfine fakeroot git
tmp_dir T
out=$T/results.md
log=$T/log
if ! bash "$VBF_REPO/bench/run.sh" --quick --out "$out" >"$log" 2>&1; then
    fail "bench/run.sh --quick" "$(tail -3 "$log" | tr '\n' ' ')"
    exit 1
fi
ok "bench/run.sh --quick ran"
n=$(grep -c '^| library, share, cache on | [0-9]' "$out" || true)
expect_eq "results have a cached-stat timing" "$n" 1
rows=$(grep -cE '^\| (git status x3|make -j2|resolution storm|find -ls|ls -lR|tar c|chown -R, then stat every file) \| [a-z0-9]+ \| [0-9.]+ s' "$out" || true)
expect_eq "results have every workload step timed" "$rows" 12
grep -q '^| stat outside shares, library / bare' "$out" && ok "results state the goals" || fail "results state the goals" "no goals table"
