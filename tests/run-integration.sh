#!/bin/sh
# SPDX-License-Identifier: MIT
# Run tests/integration/t_*.sh (sorted), each with bash, a timeout and B set.
#   B=$PWD/build sh tests/run-integration.sh [NAME...]
# NAME selects scripts whose file name contains it (t_01, share, ...).
# Each script prints `ok - NAME`, `FAIL - NAME: reason`, `SKIPPED - NAME: why`.
# A script that exits non-zero without a FAIL line, prints no result at all,
# or times out (VBF_TEST_TIMEOUT, default 300 s) counts one extra failure.
# Last line:  integration: N passed, N failed, N skipped
# With VBF_RESULT_FILE set, also writes "PASSED FAILED SKIPPED" there.
# Exit 1 if anything failed.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$ROOT/build}
export B
TIMEOUT=${VBF_TEST_TIMEOUT:-300}
pass=0 failn=0 skipn=0
failed_scripts=

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

selected() {
    [ $# -le 1 ] && return 0
    base=$1; shift
    for pat in "$@"; do
        case $base in *"$pat"*) return 0 ;; esac
    done
    return 1
}

count() { grep -c "^$1" "$2" || true; }

nscript=0
for t in "$ROOT"/tests/integration/t_*.sh; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .sh)
    selected "$name" "$@" || continue
    nscript=$((nscript + 1))
    echo "# $name"
    start=$(date +%s)
    {
        rc=0
        if command -v timeout >/dev/null 2>&1; then
            timeout -k 10 "$TIMEOUT" bash "$t" </dev/null 2>&1 || rc=$?
        else
            bash "$t" </dev/null 2>&1 || rc=$?
        fi
        echo "$rc" >"$tmp/rc"
    } | tee "$tmp/out"
    rc=$(cat "$tmp/rc" 2>/dev/null || echo 1)
    p=$(count 'ok - ' "$tmp/out")
    f=$(count 'FAIL - ' "$tmp/out")
    s=$(count 'SKIPPED - ' "$tmp/out")
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        echo "FAIL - $name: timed out after ${TIMEOUT}s"
        f=$((f + 1))
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL - $name: exited $rc without a FAIL line"
        f=1
    elif [ $((p + f + s)) -eq 0 ]; then
        echo "FAIL - $name: printed no results (exit $rc)"
        f=1
    fi
    pass=$((pass + p)) failn=$((failn + f)) skipn=$((skipn + s))
    [ "$f" -gt 0 ] && failed_scripts="$failed_scripts $name"
    echo "# $name: $p passed, $f failed, $s skipped ($(( $(date +%s) - start ))s)"
done
[ "$nscript" -eq 0 ] && echo "# integration: no test scripts${1:+ matching $*}"
[ -n "$failed_scripts" ] && echo "# integration: failures in:$failed_scripts"

echo "integration: $pass passed, $failn failed, $skipn skipped"
[ -n "${VBF_RESULT_FILE:-}" ] && echo "$pass $failn $skipn" >"$VBF_RESULT_FILE"
[ "$failn" -eq 0 ]
