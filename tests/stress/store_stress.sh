#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The state store under everything at once, for `make stress` (issue 11
# acceptance): for DURATION seconds (default 150) six writer processes of
# four threads (tests/fixtures/acker.c: forks, children that outlive their
# parent, one child per process that only sleeps holding its descriptors,
# SIGUSR1 interrupting calls), two of them in their own mount and IPC
# namespace with a private /dev/shm (another container on the same share),
# SIGKILLed at random moments and at compactions and restarted; a loop of
# short-lived writers; `vboxfix state compact` in a loop, itself SIGKILLed,
# where the CLI has it; a small compaction threshold (VBOXFIX_COMPACT_MIN);
# and, when $B/fixtures/hostile exists, another uid rewriting the shared
# pages all along. Then every acknowledged chown/chmod must still be
# presented (tests/fixtures/ackcheck.py), and nothing may have crashed or hung.
#   B=$PWD/build bash tests/stress/store_stress.sh [DURATION]
# Prints ok/FAIL lines (tests/README.md) and one totals line:
#   store_stress: seconds=N acked=N lost=N crashes=N hangs=N stuck_writers=N compactions=N ...
# The hostile writer attacks every vboxfix page it can see: the whole run
# gets its own IPC namespace and /dev/shm, so it never disturbs anything
# else running on this machine (other tests, a real service).
if [ -z "${VBF_STRESS_ISOLATED:-}" ] && command -v unshare >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    export VBF_STRESS_ISOLATED=1
    exec unshare -m -i --propagation private bash -c \
        'mount -t tmpfs vbf-stress-shm /dev/shm && exec bash "$0" "$@"' "$0" "$@"
fi
. "$(dirname "$0")/../integration/lib.sh"
DUR=${1:-150}
case $DUR in '' | *[!0-9]*) echo "usage: store_stress.sh [SECONDS]" >&2; exit 2 ;; esac
need_lib
need_file "$FIX/acker" "$VBF_REPO/tests/fixtures/ackcheck.py"
need_cmd timeout unshare
share_setup ignore
tmp_dir W
# a fresh process may take longer than in make test under this much load
AD_PROBE_TIMEOUT=${AD_PROBE_TIMEOUT:-10}
. "$VBF_REPO/tests/stress/ackdrive.sh"
ad_init "$W/s" s
start=$(date +%s)

hostile=no hpid=
if [ -x "$FIX/hostile" ] && ensure_test_user; then
    as_user "$FIX/hostile" -t "$DUR" >"$W/hostile.out" 2>&1 &
    hpid=$!
    on_exit "kill -KILL $hpid"
    hostile=yes
fi
ns=2
unshare -m -i sh -c 'mount --make-rprivate / && mount -t tmpfs vbf-shm /dev/shm' 2>/dev/null || ns=0

ad_openers "$DUR" 1
ad_run "$DUR" 6 4 "$ns" forks signals sleeper=3 2>>"$W/driver.err"
ad_openers_wait
if [ -n "$hpid" ]; then
    ad_wait "$hpid" 30 || AD_WHY+=("the hostile page writer did not end")
    sed 's/^/# /' "$W/hostile.out"
fi

ad_verify "store stress ${DUR}s: no acknowledged record lost"
ad_assert_clean "store stress ${DUR}s: no crash, no hang, every fresh writer got through in ${AD_PROBE_TIMEOUT}s"
ad_summary
echo "store_stress: seconds=$(($(date +%s) - start)) acked=$AD_ACKED lost=$AD_LOST crashes=$AD_CRASH" \
    "hangs=$((AD_HANG + AD_CLI_BAD)) stuck_writers=$AD_PROBE_HANGS compactions=$AD_COMPACTIONS" \
    "kills=$AD_KILLS writers=$AD_STARTS short_lived=${AD_OPENERS:-0} containers=$((ns > 0 ? 2 : 1))" \
    "cli_compacts=$AD_CLI_RUNS hostile=$hostile"
