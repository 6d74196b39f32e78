#!/bin/sh
# SPDX-License-Identifier: MIT
# Run cmocka unit-test binaries and count their results.
#   sh tests/run-unit.sh build/unit/test_*
# cmocka prints its summary on stderr, so each binary runs with 2>&1.
# Per binary: `ok - unit/NAME (N passed)` or `FAIL - unit/NAME: ...` followed
# by the binary's output; VERBOSE=1 shows every binary's output.
# A binary that exits non-zero without a cmocka failure count (crash, abort,
# timeout) counts as one failure. Last line:
#   unit: N passed, N failed, N skipped        (counts are cmocka tests)
# With VBF_RESULT_FILE set, also writes "PASSED FAILED SKIPPED" there.
# Exit 1 if anything failed.
set -u
TIMEOUT=${VBF_UNIT_TIMEOUT:-120}
pass=0 failn=0 skipn=0

out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT

# cmocka summaries -> "P F S" (summed over groups)
parse() {
    awk '
        /^\[  PASSED  \] [0-9]+ test\(s\)/ { p += $4 }
        /^\[  FAILED  \] [0-9]+ test\(s\)/ { f += $4 }
        /^\[  SKIPPED \] [0-9]+ test\(s\)/ { s += $4 }
        END { print p + 0, f + 0, s + 0 }' "$1"
}

nbin=0
for bin in "$@"; do
    name=$(basename "$bin")
    nbin=$((nbin + 1))
    if [ ! -x "$bin" ]; then
        echo "FAIL - unit/$name: not built or not executable ($bin)"
        failn=$((failn + 1))
        continue
    fi
    rc=0
    if command -v timeout >/dev/null 2>&1; then
        CMOCKA_MESSAGE_OUTPUT=STDOUT timeout -k 5 "$TIMEOUT" "$bin" >"$out" 2>&1 </dev/null || rc=$?
    else
        CMOCKA_MESSAGE_OUTPUT=STDOUT "$bin" >"$out" 2>&1 </dev/null || rc=$?
    fi
    counts=$(parse "$out")
    p=${counts%% *} rest=${counts#* }
    f=${rest%% *} s=${rest#* }
    note=
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        case $rc in
            124) note="timed out after ${TIMEOUT}s" ;;
            *)   note="exit $rc without a cmocka failure count" ;;
        esac
    fi
    pass=$((pass + p)) failn=$((failn + f)) skipn=$((skipn + s))
    if [ "$f" -gt 0 ]; then
        echo "FAIL - unit/$name: $p passed, $f failed, $s skipped${note:+; $note}"
        sed 's/^/    /' "$out"
    else
        if [ "$s" -gt 0 ]; then echo "ok - unit/$name ($p passed, $s skipped)"
        else echo "ok - unit/$name ($p passed)"; fi
        [ "${VERBOSE:-0}" = 1 ] && sed 's/^/    /' "$out"
    fi
done
[ "$nbin" -eq 0 ] && echo "# unit: no test binaries given"

echo "unit: $pass passed, $failn failed, $skipn skipped"
[ -n "${VBF_RESULT_FILE:-}" ] && echo "$pass $failn $skipn" >"$VBF_RESULT_FILE"
[ "$failn" -eq 0 ]
