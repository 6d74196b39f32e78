# SPDX-License-Identifier: MIT
# The result lines of the tests/check-*.sh scripts (tests/README.md, "Result
# protocol"), sourced by them after setting CHECK to their name:
#   ok NAME | fail NAME REASON | skip NAME WHY
#   finish  prints "$CHECK: N passed, N failed, N skipped", writes
#           "PASSED FAILED SKIPPED" to $VBF_RESULT_FILE when set, exits 1 on
#           any failure
pass=0 failn=0 skipn=0
ok()   { echo "ok - $1"; pass=$((pass + 1)); }
fail() { echo "FAIL - $1: $2"; failn=$((failn + 1)); }
skip() { echo "SKIPPED - $1: $2"; skipn=$((skipn + 1)); }
finish() {
    echo "$CHECK: $pass passed, $failn failed, $skipn skipped"
    [ -n "${VBF_RESULT_FILE:-}" ] && echo "$pass $failn $skipn" >"$VBF_RESULT_FILE"
    [ "$failn" -eq 0 ]
    exit $?
}
