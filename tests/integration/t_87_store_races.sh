#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The state store's races (issue 11, item 2), each checked by its outcome:
# every acknowledged chown/chmod is still presented afterwards
# (tests/fixtures/ackcheck.py) and no writer waits for a dead process.
#  (a) two containers on one share: half the writers in their own mount and
#      IPC namespace with a private tmpfs on /dev/shm (they share no page
#      with the others), all on the same mount, killed and restarted;
#  (b) fork, then kill the compactor: a writer forks a child that only
#      sleeps holding the inherited descriptors, then is SIGKILLed the moment
#      it compacts; fresh writers must still get through within 5 s;
#  (c) openers racing a compactor: short-lived processes (start, one
#      change, exit) while another process compacts all the time.
. "$(dirname "$0")/lib.sh"
need_lib
need_file "$FIX/acker" "$VBF_REPO/tests/fixtures/ackcheck.py"
need_cmd timeout unshare
share_setup ignore
tmp_dir W
. "$VBF_REPO/tests/stress/ackdrive.sh"

# ---- (a) two containers on one share -----------------------------------------
if unshare -m -i sh -c 'mount --make-rprivate / && mount -t tmpfs vbf-shm /dev/shm' 2>/dev/null; then
    ad_init "$W/a" a
    ad_run "${VBF_RACE_SECONDS:-8}" 4 2 2 forks 2>>"$W/driver.err"
    ad_verify "(a) two containers (private /dev/shm) on one share, writers killed: no acknowledged record lost"
    ad_assert_clean "(a) two containers: no crash, no hang"
    ad_summary
else
    skip "(a) two containers on one share" "unshare -m -i with a tmpfs on /dev/shm not permitted here"
fi

# ---- (b) fork, then kill the compactor -----------------------------------------
ad_reset
ad_init "$W/b" b
stuck=0 why_all=
for round in 1 2 3; do
    id=$AD_NEXT_ID
    AD_NEXT_ID=$((AD_NEXT_ID + 1))
    # one writer alone, so it is the one that compacts; its sleeper child
    # holds every descriptor the writer had when it forked
    LD_PRELOAD="$LIB" "$ACKER" "$AD_DIR" "$W/b/log.$id" "$id" 20 2 norename sleeper=25 >>"$W/b/out" 2>&1 &
    cpid=$!
    AD_ALL+=("$cpid")
    why=$(timeout 15 "$ACKER" --kill-on "$SRC" .vboxfix.state tmp 10000 "$cpid" 2>&1)
    why_all="$why_all $why"
    ad_wait "$cpid" 5
    ad_classify "$AD_RC" 1 "compactor $cpid"
    # every other writer: fresh processes, one change each, bounded
    ad_probe "after the compactor was killed (round $round, $why)" && ad_probe "(round $round, second writer)"
    rc=$?
    # the sleeper is ours to end (it would sleep 25 s)
    # shellcheck disable=SC2046
    ad_kill_ours $(AD_W=$W/b ad_unfinished)
    if [ "$rc" != 0 ]; then stuck=1; break; fi
done
if [ "$stuck" = 0 ] && [ "$AD_PROBE_HANGS" = 0 ]; then
    ok "(b) compactor SIGKILLed while its forked child holds its descriptors: other writers go on (killed at:$why_all)"
else
    fail "(b) compactor SIGKILLed while its forked child holds its descriptors: other writers go on" \
        "a fresh writer did not finish in ${AD_PROBE_TIMEOUT}s after round $round (killed at:$why_all)"
fi
ad_verify "(b) after compactors were killed: no acknowledged record lost"
ad_assert_clean "(b) no crash, no hang"
ad_summary

# ---- (c) openers racing a compactor --------------------------------------------
ad_reset
ad_init "$W/c" c
secs=${VBF_RACE_SECONDS:-8}
id=$AD_NEXT_ID
AD_NEXT_ID=$((AD_NEXT_ID + 1))
# the compactor: writes all the time, so the log is rewritten all the time
# (and `vboxfix state compact` in a loop where the CLI has it)
LD_PRELOAD="$LIB" "$ACKER" "$AD_DIR" "$W/c/log.$id" "$id" "$secs" 2 norename >>"$W/c/out" 2>&1 &
kpid=$!
AD_ALL+=("$kpid")
"$ACKER" --count "$SRC" .vboxfix.state $((secs + 30)) >"$W/c/count" 2>&1 &
AD_COUNT_PID=$!
end=$(($(date +%s) + secs))
[ "$AD_HAVE_COMPACT" = 1 ] && { ad_cli_loop "$end" & AD_CLI_PID=$!; }
# four loops of openers: each process starts, makes one change, exits
ad_openers "$secs" 4
ad_openers_wait
ad_wait "$kpid" 20
ad_classify "$AD_RC" 0 "compactor $kpid"
if [ -n "${AD_CLI_PID:-}" ]; then ad_wait "$AD_CLI_PID" 20; AD_CLI_PID=; fi
kill -TERM "$AD_COUNT_PID" 2>/dev/null
ad_wait "$AD_COUNT_PID" 5
AD_COUNT_PID=
AD_COMPACTIONS=$(sed -n 's/^compactions=\([0-9]*\).*/\1/p' "$W/c/count")
ad_verify "(c) $AD_OPENERS openers racing a compactor: no acknowledged record lost"
ad_assert_clean "(c) openers racing a compactor: no crash, no hang"
ad_summary
