# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Driver for the store's kill tests: acker processes (tests/fixtures/acker.c)
# on an emulated share, SIGKILLed at random moments and at compactions,
# restarted with a new log per incarnation; then ackcheck.py says whether an
# acknowledged record was lost. Sourced by tests/integration/t_86_kill9.sh,
# t_87_store_races.sh and tests/stress/store_stress.sh after lib.sh and
# share_setup (uses LIB, FIX, MNT, SRC, PYTHON, on_exit, ok, fail).
#
#   ad_init WORKDIR SUBDIR    logs in WORKDIR, ackers' files in $MNT/SUBDIR
#                             (again for another part: ids stay unique)
#   ad_run SECONDS SLOTS THREADS NS_SLOTS [acker options...]
#       SLOTS ackers (the first NS_SLOTS each in its own mount and IPC
#       namespace with a private /dev/shm: another container on the same
#       share), killed and restarted for SECONDS; also a CLI compactor when
#       `vboxfix state compact` exists
#   ad_finish                 bounded wait for every acker and child
#   ad_verify NAME            ackcheck.py over every log: ok/FAIL NAME
# Counters (AD_*) are totals over the calls; ad_summary prints them.
# Every wait is bounded; a process that does not end in time is a hang.

ACKER=$FIX/acker
ACKCHECK=$VBF_REPO/tests/fixtures/ackcheck.py
CLI=$B/vboxfix
AD_PROBE_TIMEOUT=${AD_PROBE_TIMEOUT:-5}   # seconds a fresh writer may take
AD_COMPACT_MIN=${AD_COMPACT_MIN:-8192}

# ad_reset: counters back to zero (between the parts of one script)
ad_reset() {
    AD_KILLS=0 AD_COMPACT_KILLS=0 AD_CRASH=0 AD_HANG=0 AD_CLEAN=0 AD_STARTS=0
    AD_PROBES=0 AD_PROBE_HANGS=0 AD_CLI_RUNS=0 AD_CLI_KILLS=0 AD_CLI_BAD=0 AD_CLI_BUSY=0
    AD_ACKED=0 AD_LOST=0 AD_COMPACTIONS=0 AD_TRIGGERS=
    AD_WHY=()
}
ad_reset
AD_NEXT_ID=1
AD_PIDS=()     # slot -> pid of its acker (empty: none)
AD_NS=()       # slot -> 1 when in its own namespaces
AD_ALL=()      # every acker pid started (for cleanup)
AD_WDIRS=()    # every log directory (for cleanup)

ad_init() {
    AD_W=$1 AD_DIR=$MNT/$2
    mkdir -p "$AD_W" "$AD_DIR"
    AD_WDIRS+=("$AD_W")
    [ -n "${AD_INIT_DONE:-}" ] && return 0
    AD_INIT_DONE=1
    # A compaction threshold small enough that compactions never stop
    # (the store reads VBOXFIX_COMPACT_MIN; a build that does not know it
    # compacts at its default size).
    export VBOXFIX_PATHS=$MNT VBOXFIX_COMPACT_MIN=$AD_COMPACT_MIN
    on_exit ad_kill_all
    AD_HAVE_COMPACT=0
    if [ -x "$CLI" ] && "$CLI" state --help 2>/dev/null | grep -qw compact; then AD_HAVE_COMPACT=1; fi
}

# is PID alive (not a zombie)?
ad_alive() {
    local st
    { read -r _ _ st _ <"/proc/$1/stat"; } 2>/dev/null || return 1
    [ "$st" != Z ]
}

# ad_wait PID SECONDS: wait for our child PID at most SECONDS; AD_RC is its
# status, or 255 after a timeout (then it has been SIGKILLed and reaped).
ad_wait() {
    local pid=$1 n=$(($2 * 20))
    while ad_alive "$pid" && [ "$n" -gt 0 ]; do sleep 0.05; n=$((n - 1)); done
    if ad_alive "$pid"; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        AD_RC=255
        return 1
    fi
    wait "$pid" 2>/dev/null
    AD_RC=$?
    return 0
}

# ad_kill_ours PID...: SIGKILL those that still run our acker binary (a pid
# reaped long ago may name someone else's process by now)
ad_kill_ours() {
    local p me
    me=$(readlink -f "$ACKER")
    for p in "$@"; do
        [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$me" ] && kill -KILL "$p" 2>/dev/null
    done
    return 0
}

ad_kill_all() {
    local p
    ad_kill_ours "${AD_ALL[@]}" "${AD_COUNT_PID:-}"
    [ -n "${AD_CLI_PID:-}" ] && kill -KILL "$AD_CLI_PID" 2>/dev/null
    # children that outlived their acker (and sleepers), by the pids they logged
    local w
    for w in "${AD_WDIRS[@]}"; do
        # shellcheck disable=SC2046
        ad_kill_ours $(AD_W=$w ad_unfinished)
    done
}

ad_logs() { find "$AD_W" -maxdepth 1 -name 'log.*' | sort -V; }
ad_unfinished() {
    local logs
    logs=$(ad_logs)
    [ -n "$logs" ] || return 0
    # shellcheck disable=SC2086
    "$PYTHON" "$ACKCHECK" --unfinished $logs 2>/dev/null
}

# ad_classify RC KILLED WHAT: count one ended acker
ad_classify() {
    local rc=$1 killed=$2 what=$3
    case $rc in
        0) AD_CLEAN=$((AD_CLEAN + 1)) ;;
        137) if [ "$killed" = 1 ]; then :; else AD_CRASH=$((AD_CRASH + 1)); AD_WHY+=("$what: SIGKILL not ours"); fi ;;
        142) AD_HANG=$((AD_HANG + 1)); AD_WHY+=("$what: did not finish (SIGALRM)") ;;
        255) AD_HANG=$((AD_HANG + 1)); AD_WHY+=("$what: did not exit in time") ;;
        *) AD_CRASH=$((AD_CRASH + 1)); AD_WHY+=("$what: status $rc") ;;
    esac
}

# ad_start SLOT SECONDS [acker options...]: a new incarnation in SLOT
ad_start() {
    local slot=$1 secs=$2 id=$AD_NEXT_ID; shift 2
    AD_NEXT_ID=$((AD_NEXT_ID + 1))
    local log=$AD_W/log.$id
    if [ "${AD_NS[$slot]:-0}" = 1 ]; then
        # another container: its own /dev/shm (shared pages, IPC), same share
        unshare -m -i sh -c 'mount --make-rprivate / && mount -t tmpfs -o mode=1777 vbf-shm /dev/shm && exec "$@"' \
            sh env LD_PRELOAD="$LIB" "$ACKER" "$AD_DIR" "$log" "$id" "$secs" "$AD_THREADS" "$@" \
            >>"$AD_W/out" 2>&1 &
    else
        LD_PRELOAD="$LIB" "$ACKER" "$AD_DIR" "$log" "$id" "$secs" "$AD_THREADS" "$@" >>"$AD_W/out" 2>&1 &
    fi
    AD_PIDS[$slot]=$!
    AD_ALL+=("$!")
    AD_STARTS=$((AD_STARTS + 1))
}

# One fresh process must get one change through within AD_PROBE_TIMEOUT: a
# writer blocked by a dead process's lock shows here. Logged like an acker.
ad_probe() {
    local id=$AD_NEXT_ID rc=0
    AD_NEXT_ID=$((AD_NEXT_ID + 1))
    AD_PROBES=$((AD_PROBES + 1))
    timeout -k 1 "$AD_PROBE_TIMEOUT" env LD_PRELOAD="$LIB" "$ACKER" "$AD_DIR" "$AD_W/log.$id" "$id" 0 1 once \
        >/dev/null 2>&1 || rc=$?
    case $rc in
        0) ;;
        124 | 137) AD_PROBE_HANGS=$((AD_PROBE_HANGS + 1)); AD_WHY+=("a fresh writer did not finish in ${AD_PROBE_TIMEOUT}s${1:+ $1}") ;;
        *) AD_CRASH=$((AD_CRASH + 1)); AD_WHY+=("a fresh writer: status $rc") ;;
    esac
    return "$rc"
}

# The extra compactor: `vboxfix state compact` in a loop, itself SIGKILLed
# now and then (runs as a background job; counts go to $AD_W/cli.*).
ad_cli_loop() {
    local end=$1 runs=0 kills=0 bad=0 busy=0 pid
    while [ "$(date +%s)" -lt "$end" ]; do
        "$CLI" state --path "$MNT" compact >/dev/null 2>&1 &
        pid=$!
        runs=$((runs + 1))
        if [ $((RANDOM % 3)) = 0 ]; then
            sleep "0.0$((RANDOM % 10))"
            kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
        fi
        if ! ad_wait "$pid" 10; then bad=$((bad + 1)); echo "compact did not finish in 10s" >>"$AD_W/cli.why"
        elif [ "$AD_RC" = 1 ]; then busy=$((busy + 1))   # "not compacted": the lock was taken, which is fine
        elif [ "$AD_RC" != 0 ] && [ "$AD_RC" != 137 ]; then bad=$((bad + 1)); echo "compact: status $AD_RC" >>"$AD_W/cli.why"
        fi
        sleep 0.1
    done
    echo "$runs $kills $bad $busy" >"$AD_W/cli.count"
}

# ad_openers SECONDS N: N loops in the background, each starting one
# short-lived writer after another (start, one change, exit) on the same
# names; ad_openers_wait collects them (counts into AD_PROBES & co.).
ad_openers() {
    local secs=$1 n=$2 i oid
    AD_OPENER_END=$(($(date +%s) + secs))
    AD_OPENER_PIDS=()
    for ((i = 0; i < n; i++)); do
        oid=$AD_NEXT_ID
        AD_NEXT_ID=$((AD_NEXT_ID + 1))
        ad_opener_loop "$oid" 2>>"$AD_W/driver.err" &
        AD_OPENER_PIDS+=("$!")
    done
}
ad_opener_loop() {
    local oid=$1 n=0 hang=0 bad=0 rc
    while [ "$(date +%s)" -lt "$AD_OPENER_END" ]; do
        rc=0
        timeout -k 1 "$AD_PROBE_TIMEOUT" env LD_PRELOAD="$LIB" "$ACKER" "$AD_DIR" "$AD_W/log.$oid" "$oid" 0 1 once \
            >/dev/null 2>&1 || rc=$?
        n=$((n + 1))
        case $rc in 0) ;; 124 | 137) hang=$((hang + 1)) ;; *) bad=$((bad + 1)) ;; esac
    done
    echo "$n $hang $bad" >"$AD_W/opener.$oid"
}
ad_openers_wait() {
    local p f a b c n=0 hang=0 bad=0
    for p in "${AD_OPENER_PIDS[@]}"; do
        ad_wait "$p" $((AD_OPENER_END - $(date +%s) + 20)) || AD_WHY+=("an opener loop did not end")
    done
    for f in "$AD_W"/opener.*; do
        if [ -r "$f" ] && read -r a b c <"$f"; then
            n=$((n + a)) hang=$((hang + b)) bad=$((bad + c))
        fi
    done
    AD_OPENERS=$n
    AD_PROBES=$((AD_PROBES + n)) AD_PROBE_HANGS=$((AD_PROBE_HANGS + hang)) AD_CRASH=$((AD_CRASH + bad))
    [ "$hang" = 0 ] || AD_WHY+=("$hang short-lived writers did not finish in ${AD_PROBE_TIMEOUT}s")
    [ "$bad" = 0 ] || AD_WHY+=("$bad short-lived writers failed")
}

# ad_run SECONDS SLOTS THREADS NS_SLOTS [acker options...]
ad_run() {
    local secs=$1 slots=$2 ns=$4 s end now left r pid why
    AD_THREADS=$3
    shift 4
    end=$(($(date +%s) + secs))
    AD_PIDS=() AD_NS=()
    for ((s = 0; s < slots; s++)); do
        AD_NS[$s]=$((s < ns ? 1 : 0))
        ad_start "$s" "$secs" "$@"
    done
    "$ACKER" --count "$SRC" .vboxfix.state $((secs + 30)) >"$AD_W/count" 2>&1 &
    AD_COUNT_PID=$!
    AD_CLI_PID=
    if [ "$AD_HAVE_COMPACT" = 1 ]; then ad_cli_loop "$end" & AD_CLI_PID=$!; fi
    while now=$(date +%s); [ "$now" -lt "$end" ]; do
        sleep "0.$((2 + RANDOM % 7))"
        left=$((end - $(date +%s)))
        [ "$left" -ge 1 ] || break
        r=$((RANDOM % 3))
        if [ "$r" -lt 2 ]; then
            # one acker, any moment
            s=$((RANDOM % slots))
            pid=${AD_PIDS[$s]}
            kill -KILL "$pid" 2>/dev/null && AD_KILLS=$((AD_KILLS + 1))
            ad_wait "$pid" 5
            ad_classify "$AD_RC" 1 "acker $pid"
            ad_start "$s" "$left" "$@"
        else
            # every acker at once, the moment a compaction shows (a new
            # file beside the log, or the rename onto it); at a random
            # moment when none comes within 3 s
            local when
            case $((RANDOM % 3)) in 0) when=tmp ;; 1) when=rename ;; *) when=any ;; esac
            why=$(timeout 5 "$ACKER" --kill-on "$SRC" .vboxfix.state "$when" 3000 "${AD_PIDS[@]}" 2>&1)
            AD_TRIGGERS="$AD_TRIGGERS $why"
            AD_COMPACT_KILLS=$((AD_COMPACT_KILLS + 1))
            for ((s = 0; s < slots; s++)); do
                pid=${AD_PIDS[$s]}
                kill -KILL "$pid" 2>/dev/null
                AD_KILLS=$((AD_KILLS + 1))
                ad_wait "$pid" 5
                ad_classify "$AD_RC" 1 "acker $pid"
            done
            # nobody may be left waiting for a dead process
            ad_probe "after killing every writer at a compaction ($why)"
            left=$((end - $(date +%s)))
            [ "$left" -ge 1 ] || left=1
            for ((s = 0; s < slots; s++)); do ad_start "$s" "$left" "$@"; done
        fi
        ad_probe "after a kill"
    done
    ad_finish
    if [ -n "$AD_CLI_PID" ]; then
        ad_wait "$AD_CLI_PID" 20 || AD_WHY+=("the compactor loop did not end")
        if [ -r "$AD_W/cli.count" ]; then
            read -r a b c d <"$AD_W/cli.count"
            AD_CLI_RUNS=$((AD_CLI_RUNS + a)) AD_CLI_KILLS=$((AD_CLI_KILLS + b)) AD_CLI_BAD=$((AD_CLI_BAD + c))
            AD_CLI_BUSY=$((AD_CLI_BUSY + d))
            [ "$c" = 0 ] || AD_WHY+=("compactor: $(head -3 "$AD_W/cli.why" | tr '\n' ' ')")
        fi
        AD_CLI_PID=
    fi
    kill -TERM "$AD_COUNT_PID" 2>/dev/null
    ad_wait "$AD_COUNT_PID" 5
    AD_COUNT_PID=
    local c
    c=$(sed -n 's/^compactions=\([0-9]*\).*/\1/p' "$AD_W/count")
    AD_COMPACTIONS=$((AD_COMPACTIONS + ${c:-0}))
}

# Every acker ends by its own clock (plus slack), every child by its own;
# whatever is still there after that is hung.
ad_finish() {
    local s pid p n pids
    for s in "${!AD_PIDS[@]}"; do
        pid=${AD_PIDS[$s]}
        ad_wait "$pid" 15
        ad_classify "$AD_RC" 0 "acker $pid"
    done
    AD_PIDS=()
    local left=1
    n=0
    pids=$(ad_unfinished)
    while [ -n "$left" ] && [ "$n" -lt 100 ]; do
        left=
        for p in $pids; do ad_alive "$p" && left=1 && break; done
        [ -n "$left" ] && sleep 0.1
        n=$((n + 1))
    done
    for p in $pids; do
        if ad_alive "$p"; then
            ad_kill_ours "$p"
            AD_HANG=$((AD_HANG + 1)); AD_WHY+=("child $p still running 10s after the end")
        elif grep -q "^E $p\$" "$AD_W"/log.* 2>/dev/null; then
            : # it finished after the list was taken: its E line is there now
        else
            # the driver never kills children: one that ended without its
            # E line crashed, or hung until its own alarm
            local sig
            sig=$(cat "$AD_W"/log.* 2>/dev/null | sed -n "s/^X $p \([0-9]*\)\$/\1/p" | head -1)
            case $sig in
                14) AD_HANG=$((AD_HANG + 1)); AD_WHY+=("child $p hung (its 15 s alarm)") ;;
                '') AD_CRASH=$((AD_CRASH + 1)); AD_WHY+=("child $p ended without finishing (killed)") ;;
                *) AD_CRASH=$((AD_CRASH + 1)); AD_WHY+=("child $p died of signal $sig") ;;
            esac
        fi
    done
}

# ad_verify NAME: a fresh process under the library stats every name
ad_verify() {
    local name=$1 out rc=0 logs
    out=$AD_W/verify.out
    logs=$(ad_logs)
    # shellcheck disable=SC2086
    timeout 120 env LD_PRELOAD="$LIB" "$PYTHON" "$ACKCHECK" "$AD_DIR" $logs >"$out" 2>&1 || rc=$?
    local sum
    sum=$(grep '^ackcheck: logs=' "$out" | tail -1)
    AD_ACKED=$((AD_ACKED + $(echo "$sum" | sed -n 's/.* acked=\([0-9]*\).*/\1/p')))
    AD_LOST=$((AD_LOST + $(echo "$sum" | sed -n 's/.* lost=\([0-9]*\).*/\1/p')))
    if [ "$rc" = 0 ] && [ -n "$sum" ] && [ "$(echo "$sum" | sed -n 's/.* acked=\([0-9]*\).*/\1/p')" -gt 0 ]; then
        ok "$name"
    else
        fail "$name" "$(grep -v '^ackcheck: logs=' "$out" | head -3 | tr '\n' ' ')${sum#ackcheck: }"
    fi
    grep '^ackcheck: ' "$out" | sed 's/^/# /' | tail -6
    # for a look after the fact: VBF_KEEP_LOGS=DIR keeps the logs and the state file
    if [ -n "${VBF_KEEP_LOGS:-}" ]; then
        mkdir -p "$VBF_KEEP_LOGS" && cp -r "$AD_W" "$VBF_KEEP_LOGS/" && cp "$SRC/.vboxfix.state" "$VBF_KEEP_LOGS/"
    fi
}

ad_summary() {
    echo "# acked=$AD_ACKED lost=$AD_LOST ackers=$AD_STARTS kills=$AD_KILLS (at compactions: $AD_COMPACT_KILLS rounds:$AD_TRIGGERS)" \
        "crashes=$AD_CRASH hangs=$AD_HANG fresh_writers=$AD_PROBES stuck=$AD_PROBE_HANGS" \
        "compactions_seen=$AD_COMPACTIONS cli_compacts=$AD_CLI_RUNS (killed $AD_CLI_KILLS, lock busy $AD_CLI_BUSY, bad $AD_CLI_BAD)" \
        "compact_min=$AD_COMPACT_MIN$([ "$AD_HAVE_COMPACT" = 1 ] || echo ' (no vboxfix state compact in this build)')"
}

# ad_assert_clean NAME: no crash, no hang, no stuck writer
ad_assert_clean() {
    if [ "$AD_CRASH" = 0 ] && [ "$AD_HANG" = 0 ] && [ "$AD_PROBE_HANGS" = 0 ] && [ "$AD_CLI_BAD" = 0 ]; then
        ok "$1"
    else
        fail "$1" "crashes=$AD_CRASH hangs=$AD_HANG stuck_writers=$AD_PROBE_HANGS compactor_bad=$AD_CLI_BAD: $(printf '%s; ' "${AD_WHY[@]:0:4}")"
    fi
}
