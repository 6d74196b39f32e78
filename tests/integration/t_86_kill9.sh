#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# No acknowledged record is ever lost, whatever is killed when (issue 11,
# item 2). Writers (tests/fixtures/acker.c, threads and forks) write down
# every chown/chmod before the call and again after it returned 0; a driver
# SIGKILLs them at random moments and, a third of the time, all of them at
# the moment a compaction shows in the share (a new file beside the log, or
# the rename onto it), and restarts them; the compaction threshold is made
# small (VBOXFIX_COMPACT_MIN) and, where the CLI has it, `vboxfix state
# compact` runs in a loop and is SIGKILLed too. Then a fresh process under
# the library must present, for every name, the last acknowledged owner and
# mode or a value whose call was still in flight (tests/fixtures/ackcheck.py).
# After every kill a fresh process must get one change through within 5 s:
# nobody may wait for a dead process.
#   VBF_KILL9_SECONDS (20), VBF_KILL9_SLOTS (4), VBF_KILL9_THREADS (3)
. "$(dirname "$0")/lib.sh"
need_lib
need_file "$FIX/acker" "$VBF_REPO/tests/fixtures/ackcheck.py"
need_cmd timeout
share_setup ignore
tmp_dir W
. "$VBF_REPO/tests/stress/ackdrive.sh"
ad_init "$W" w

# the verifier can fail: an ack the store never saw is reported lost
: >"$AD_DIR/control"
echo "A control 1234 1234 0640" >"$W/control.log"
expect_out "ackcheck reports an acknowledged record the store does not have" "lost=1" \
    sh -c "LD_PRELOAD='$LIB' '$PYTHON' '$ACKCHECK' '$AD_DIR' '$W/control.log' | grep -o 'lost=[0-9]*'"
rm -f "$AD_DIR/control" "$W/control.log"

# (stderr: bash reports every job it saw killed)
ad_run "${VBF_KILL9_SECONDS:-20}" "${VBF_KILL9_SLOTS:-4}" "${VBF_KILL9_THREADS:-3}" 0 forks 2>>"$W/driver.err"
ad_verify "kill -9 of writers at random moments and at compactions: no acknowledged record lost"
ad_assert_clean "kill -9: no crash, no hang, every fresh writer got through in ${AD_PROBE_TIMEOUT}s"
ad_summary
