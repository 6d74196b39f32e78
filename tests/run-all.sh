#!/bin/sh
# SPDX-License-Identifier: MIT
# Everything `make test` runs, after the build:
#   1. tests/check-abi.sh          ABI of $B/libvboxfix.so
#   2. tests/check-layers.sh       one-way dependencies, no calls to our own exports
#   3. tests/run-unit.sh           $B/unit/test_* (cmocka)
#   4. tests/run-integration.sh    tests/integration/t_*.sh
# Totals over all four; the last line is exactly
#   N passed, N failed, N skipped
# (CI parses it). Exit 1 if anything failed.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$ROOT/build}
export B
cd "$ROOT" || exit 1

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
pass=0 failn=0 skipn=0

# step NAME CMD...: run, then add the "P F S" it wrote to VBF_RESULT_FILE;
# a step that wrote nothing counts as one failure.
step() {
    name=$1; shift
    echo "## $name"
    rm -f "$tmp/result"
    VBF_RESULT_FILE=$tmp/result "$@"
    if [ -s "$tmp/result" ]; then
        read -r p f s <"$tmp/result"
    else
        echo "FAIL - $name: runner reported no result"
        p=0 f=1 s=0
    fi
    pass=$((pass + p)) failn=$((failn + f)) skipn=$((skipn + s))
}

step check-abi sh tests/check-abi.sh
step check-layers sh tests/check-layers.sh
# shellcheck disable=SC2086
set -- "$B"/unit/test_*
if [ -e "$1" ]; then
    # skip stray files (objects, sources) next to the binaries
    bins=
    for b in "$@"; do case $b in *.o|*.c|*.d|*.log) ;; *) bins="$bins $b" ;; esac; done
    # shellcheck disable=SC2086
    step unit sh tests/run-unit.sh $bins
else
    echo "## unit"
    echo "# unit: no binaries in $B/unit"
fi
step integration sh tests/run-integration.sh

echo "$pass passed, $failn failed, $skipn skipped"
[ "$failn" -eq 0 ]
