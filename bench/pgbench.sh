#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# PostgreSQL's pgbench on the emulated share: what libvboxfix costs a real
# service. Not a pass/fail test. Needs root, /dev/fuse, bindfs, PostgreSQL.
#
#   B=build bash bench/pgbench.sh [--seconds N] [--rounds N] [--out FILE]
#
# Configurations (the server runs as postgres; pgbench runs locally over the
# unix socket; data directory on):
#   local         a local directory, no library
#   share-bare    the emulated share mounted a second time, showing every file
#                 as postgres's with mode 0700, so PostgreSQL runs WITHOUT the
#                 library on the same FUSE path (the share's own cost)
#   lib-ttl0      the emulated share (owner 4242) with libvboxfix, cache off
#                 (VBOXFIX_TTL_MS=0)
#   lib-cache     the same with the default cache (VBOXFIX_TTL_MS unset)
# Workloads: pgbench -i -s 10, then select-only (-S) and tpcb-like, each for
# a fixed duration, clients $CLIENTS. Rounds alternate the configurations so
# drift hits them alike; the table reports the median tps per cell.
# "Where the time goes": requests the FUSE daemon read from /dev/fuse (syscr
# of the bindfs process) per transaction, and `strace -c -f` of the server
# during a short select-only run.
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
set -u
SECONDS_RUN=20 ROUNDS=1 OUT=
while [ $# -gt 0 ]; do
    case $1 in
        --seconds) SECONDS_RUN=$2; shift ;;
        --rounds) ROUNDS=$2; shift ;;
        --out) OUT=$2; shift ;;
        *) echo "usage: bench/pgbench.sh [--seconds N] [--rounds N] [--out FILE]" >&2; exit 2 ;;
    esac
    shift
done
. "$(dirname "$0")/../tests/integration/lib.sh"
VBF_SCRIPT=pgbench
OUT=${OUT:-$VBF_REPO/bench/pgbench-results.md}
need_fuse
need_lib
need_cmd pgbench strace
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$PGBIN/initdb" ] || { echo "needs PostgreSQL"; exit 1; }
SCALE=10 CLIENTS=${PGBENCH_CLIENTS:-4} JOBS=${PGBENCH_JOBS:-2}
CONFIGS="local share-bare lib-ttl0 lib-cache"

share_setup ignore
# the same backing directory, presented as postgres's own (no library needed)
BARE=$SHARE_DIR/bare
mkdir "$BARE"
on_exit "share_umount '$BARE'"
bindfs -o attr_timeout=0,entry_timeout=0,negative_timeout=0,allow_other \
    --force-user=postgres --force-group=postgres --perms=u=rwD,go= \
    --chown-ignore --chgrp-ignore --chmod-ignore --xattr-none "$SRC" "$BARE" ||
    { echo "second bindfs mount failed"; exit 1; }
tmp_dir LOCALD
chown postgres:postgres "$LOCALD"
tmp_dir RUN
chmod 0777 "$RUN"

datadir() {
    case $1 in
        local) echo "$LOCALD/pg" ;;
        share-bare) echo "$BARE/pg-bare" ;;
        lib-*) echo "$MNT/pg-lib" ;;   # one data directory for both cache settings
    esac
}
fusepid() {   # the bindfs serving this configuration (reading only)
    case $1 in
        local) echo "" ;;
        share-bare) pgrep -f -x "bindfs .* $SRC $BARE" | head -n 1 ;;
        *) pgrep -f -x "bindfs .* $SRC $MNT" | head -n 1 ;;
    esac
}
# as_pg CONFIG CMD...: as postgres, with the library where the config says
as_pg() {
    local c=$1; shift
    case $c in
        lib-ttl0) set -- env LD_PRELOAD="$LIB" VBOXFIX_PATHS="$MNT" VBOXFIX_TTL_MS=0 "$@" ;;
        lib-cache) set -- env -u VBOXFIX_TTL_MS LD_PRELOAD="$LIB" VBOXFIX_PATHS="$MNT" "$@" ;;
        *) set -- env -u LD_PRELOAD "$@" ;;
    esac
    setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
}
PORT=5499
start() {
    as_pg "$1" "$PGBIN/pg_ctl" -D "$(datadir "$1")" -l "$RUN/log.$1" -w -t 60 \
        -o "-c listen_addresses='' -c unix_socket_directories=$RUN -p $PORT -c shared_buffers=128MB" start >/dev/null
}
stop() { as_pg "$1" "$PGBIN/pg_ctl" -D "$(datadir "$1")" -m fast -w -t 60 stop >/dev/null 2>&1; }
bench() {   # CONFIG ARGS... -> pgbench output
    shift
    setpriv --reuid=postgres --regid=postgres --init-groups -- \
        env -u LD_PRELOAD "$PGBIN/pgbench" -h "$RUN" -p "$PORT" -U postgres "$@" postgres 2>&1
}
# server CPU time in clock ticks: the postmaster (itself and its reaped
# children) plus its live children
cpu_ticks() {
    local pm=$1 t=0 p
    for p in "$pm" $(pgrep -P "$pm"); do
        [ -r "/proc/$p/stat" ] || continue
        if [ "$p" = "$pm" ]; then
            t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13 + $14 + $15}')))
        else
            t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
        fi
    done
    echo "$t"
}
HZ=$(getconf CLK_TCK)
syscr() { [ -n "$1" ] && awk '/^syscr/{print $2}' "/proc/$1/io" || echo 0; }

for c in $CONFIGS; do
    on_exit "as_pg $c '$PGBIN/pg_ctl' -D '$(datadir "$c")' -m immediate -w stop"
done
echo "# initdb and pgbench -i -s $SCALE"
declare -A INIT
for c in local share-bare lib-cache; do
    d=$(datadir "$c")
    case $c in
        local) mkdir -p "$d"; chown postgres:postgres "$d"; chmod 700 "$d" ;;
        share-bare) mkdir -p "$SRC/pg-bare" ;;
        lib-cache) mkdir -p "$d"; env LD_PRELOAD="$LIB" VBOXFIX_PATHS="$MNT" sh -c \
            "chown postgres:postgres '$d' && chmod 700 '$d'" ;;
    esac
    as_pg "$c" "$PGBIN/initdb" -D "$d" -U postgres -A trust >"$RUN/initdb.$c" 2>&1 ||
        { echo "initdb failed for $c:"; tail -n 5 "$RUN/initdb.$c"; exit 1; }
    start "$c" || { echo "start failed for $c"; tail "$RUN/log.$c"; exit 1; }
    t0=$(date +%s.%N)
    bench "$c" -i -q -s "$SCALE" >"$RUN/init.$c" || { echo "pgbench -i failed for $c"; tail "$RUN/init.$c"; exit 1; }
    INIT[$c]=$(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)")
    [ "$c" = lib-cache ] && INIT[lib-ttl0]=-
    stop "$c"
    printf '  %-10s pgbench -i: %s s\n' "$c" "${INIT[$c]}"
done

declare -A TPS REQ CPU
for r in $(seq 1 "$ROUNDS"); do
    # rotate the order each round, so no configuration always runs first
    set -- $CONFIGS
    k=$(( (r - 1) % $# ))
    order="${*:k+1} ${*:1:k}"
    for w in select-only tpcb-like; do
        for c in $order; do
            start "$c" || { echo "start failed for $c"; tail "$RUN/log.$c"; exit 1; }
            pid=$(fusepid "$c")
            pm=$(head -n 1 "$(datadir "$c")/postmaster.pid")
            a=$(syscr "$pid") ca=$(cpu_ticks "$pm")
            if [ "$w" = select-only ]; then args=(-S); else args=(); fi
            bench "$c" "${args[@]}" -c "$CLIENTS" -j "$JOBS" -T "$SECONDS_RUN" -n >"$RUN/out.$c.$w.$r"
            sleep 0.5   # let the backends exit and be reaped
            b=$(syscr "$pid") cb=$(cpu_ticks "$pm")
            tps=$(sed -n 's/^tps = \([0-9]*\)\.[0-9]* .*/\1/p' "$RUN/out.$c.$w.$r" | tail -n 1)
            tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$RUN/out.$c.$w.$r")
            stop "$c"
            TPS[$c.$w]="${TPS[$c.$w]:-} $tps"
            [ -n "$tx" ] && [ "$tx" -gt 0 ] &&
                CPU[$c.$w]="${CPU[$c.$w]:-} $(echo "($cb - $ca) * 1000000 / $HZ / $tx" | bc)"
            if [ -n "$pid" ] && [ -n "$tx" ] && [ "$tx" -gt 0 ]; then
                REQ[$c.$w]=$(echo "scale=2; ($b - $a) / $tx" | bc)
            else
                REQ[$c.$w]=-
            fi
            printf '  round %d %-11s %-10s tps %-7s server CPU us/tx %-5s FUSE requests/tx %s\n' "$r" "$w" "$c" "$tps" \
                "${CPU[$c.$w]##* }" "${REQ[$c.$w]}"
        done
    done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END{if(NR==0)print "-"; else if(NR%2)print a[(NR+1)/2]; else printf "%d\n",(a[NR/2]+a[NR/2+1])/2}'; }
allruns() { echo "$1" | sed 's/^ *//; s/ \+/, /g'; }
pct() { [ "$1" = - ] || [ "$2" = - ] && { echo -; return; }; echo "scale=4; ($1 / $2 - 1) * 100" | bc | xargs printf '%+.1f%%'; }

# where the time goes: system calls of the server, short select-only runs
declare -A STRACE STRACE_TX
for c in share-bare lib-ttl0 lib-cache; do
    start "$c"
    pm=$(head -n 1 "$(case $c in share-bare) echo "$SRC/pg-bare";; *) echo "$SRC/pg-lib";; esac)/postmaster.pid")
    strace -c -f -p "$pm" -o "$RUN/strace.$c" &
    sp=$!
    sleep 0.5
    bench "$c" -S -c "$CLIENTS" -j "$JOBS" -t 2000 -n >"$RUN/strace-out.$c"
    kill -INT "$sp"; wait "$sp" 2>/dev/null
    stop "$c"
    # columns: % time, seconds, usecs/call, calls, [errors,] syscall
    STRACE[$c]=$(awk '$1 ~ /^[0-9.]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" {print $NF, $4}' "$RUN/strace.$c" |
        sort -k2 -nr | head -n 10 | awk '{printf "%s%s %s", (NR>1?", ":""), $1, $2}')
    STRACE_TX[$c]=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$RUN/strace-out.$c")
done

{
    echo "# pgbench on the emulated share"
    echo
    echo "Generated by \`bench/pgbench.sh\` ($(date -u +%Y-%m-%d), $(nproc) CPUs, $("$PGBIN/postgres" --version | sed 's/.*) //'),"
    echo "pgbench scale $SCALE, $CLIENTS clients, $JOBS threads, ${SECONDS_RUN} s per run, $ROUNDS round(s), median tps;"
    echo "library: \`$(git -C "$VBF_REPO" describe --always --dirty 2>/dev/null)\`)."
    echo "The share is bindfs with zero FUSE cache timeouts (every lookup and getattr"
    echo "reaches the daemon, like vboxsf's default ttl=0); see \`bench/pgbench.sh\`."
    echo
    echo "| configuration | pgbench -i (s) | select-only tps | server CPU µs/tx | FUSE req/tx | tpcb-like tps | server CPU µs/tx | FUSE req/tx |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for c in $CONFIGS; do
        s=$(echo "${TPS[$c.select-only]}" | median); t=$(echo "${TPS[$c.tpcb-like]}" | median)
        printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$c" "${INIT[$c]:-}" \
            "$s" "$(echo "${CPU[$c.select-only]:-}" | median)" "${REQ[$c.select-only]}" \
            "$t" "$(echo "${CPU[$c.tpcb-like]:-}" | median)" "${REQ[$c.tpcb-like]}"
    done
    echo
    sb=$(echo "${TPS[share-bare.select-only]}" | median); tb=$(echo "${TPS[share-bare.tpcb-like]}" | median)
    s0=$(echo "${TPS[lib-ttl0.select-only]}" | median); t0=$(echo "${TPS[lib-ttl0.tpcb-like]}" | median)
    sc=$(echo "${TPS[lib-cache.select-only]}" | median); tc=$(echo "${TPS[lib-cache.tpcb-like]}" | median)
    sl=$(echo "${TPS[local.select-only]}" | median); tl=$(echo "${TPS[local.tpcb-like]}" | median)
    echo "Relative tps (positive = faster):"
    echo
    echo "| comparison | select-only | tpcb-like |"
    echo "|---|---:|---:|"
    cpu() { echo "${CPU[$1]:-}" | median; }
    echo "| library, cache off vs the same share without the library | $(pct "$s0" "$sb") | $(pct "$t0" "$tb") |"
    echo "| library, cache on vs library, cache off | $(pct "$sc" "$s0") | $(pct "$tc" "$t0") |"
    echo "| library, cache on vs the same share without the library | $(pct "$sc" "$sb") | $(pct "$tc" "$tb") |"
    echo "| the share without the library vs local disk | $(pct "$sb" "$sl") | $(pct "$tb" "$tl") |"
    echo
    echo "Server CPU per transaction, relative (positive = costs more):"
    echo
    echo "| comparison | select-only | tpcb-like |"
    echo "|---|---:|---:|"
    echo "| library, cache off vs the same share without the library | $(pct "$(cpu lib-ttl0.select-only)" "$(cpu share-bare.select-only)") | $(pct "$(cpu lib-ttl0.tpcb-like)" "$(cpu share-bare.tpcb-like)") |"
    echo "| library, cache on vs library, cache off | $(pct "$(cpu lib-cache.select-only)" "$(cpu lib-ttl0.select-only)") | $(pct "$(cpu lib-cache.tpcb-like)" "$(cpu lib-ttl0.tpcb-like)") |"
    echo "| library, cache on vs the same share without the library | $(pct "$(cpu lib-cache.select-only)" "$(cpu share-bare.select-only)") | $(pct "$(cpu lib-cache.tpcb-like)" "$(cpu share-bare.tpcb-like)") |"
    echo
    echo "Every run (tps, in round order):"
    echo
    for c in $CONFIGS; do
        echo "- $c: select-only $(allruns "${TPS[$c.select-only]}") (CPU µs/tx $(allruns "${CPU[$c.select-only]:-}")); tpcb-like $(allruns "${TPS[$c.tpcb-like]}") (CPU µs/tx $(allruns "${CPU[$c.tpcb-like]:-}"))"
    done
    echo
    echo "Server system calls during $((2000 * CLIENTS)) select-only transactions"
    echo "(\`strace -c -f -p\` of the postmaster, so the backends forked for pgbench's"
    echo "connections; top 10 by count; strace makes these runs much slower, so they"
    echo "count calls, not time):"
    echo
    for c in share-bare lib-ttl0 lib-cache; do echo "- $c (${STRACE_TX[$c]:-?} tx): ${STRACE[$c]}"; done
} >"$OUT.new"
mv "$OUT.new" "$OUT"
echo "wrote $OUT"
cat "$OUT"
