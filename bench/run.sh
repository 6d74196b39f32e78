#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench: the metadata cache measured side by side in ONE run, so the
# ratios compare like with like on a noisy machine. Not a pass/fail test.
#
#   B=build bash bench/run.sh [--quick] [--out FILE]
#
# Needs root, /dev/fuse, bindfs, hyperfine, fakeroot, git, python3 (the
# emulated share comes from tests/integration/lib.sh). Writes bench/results.md
# (or FILE). --quick: small tree, few calls, one run (the make test smoke).
# BENCH_FILES (default 10000; the git tree, ~2x files with .git) and
# BENCH_RUNS (default 3 repetitions) tune the workloads (bench/workloads.sh);
# BENCH_ONLY=TEXT runs only the workloads whose name contains TEXT, and no
# state store bench (e.g. BENCH_ONLY=chown BENCH_RUNS=1 ... --out /tmp/r.md).
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
set -u
QUICK=0
OUT=
while [ $# -gt 0 ]; do
    case $1 in
        --quick) QUICK=1 ;;
        --out) OUT=$2; shift ;;
        *) echo "usage: bench/run.sh [--quick] [--out FILE]" >&2; exit 2 ;;
    esac
    shift
done
. "$(dirname "$0")/../tests/integration/lib.sh"
OUT=${OUT:-$VBF_REPO/bench/results.md}
need_fuse
need_lib
need_cmd hyperfine fakeroot git make cc unshare
if [ "$QUICK" = 1 ]; then
    FILES=${BENCH_FILES:-200} RUNS=1 CALLS=20000 SHARE_CALLS=200 PASSES=1
else
    FILES=${BENCH_FILES:-10000} RUNS=${BENCH_RUNS:-3} CALLS=200000 SHARE_CALLS=2000 PASSES=3
fi
SB=$B/statbench
${CC:-cc} -O2 -o "$SB" "$VBF_REPO/bench/statbench.c" || exit 1

share_setup ignore
export VBOXFIX_PATHS=$MNT
# git refuses a tree owned by another uid (the share's owner without the
# library). Allowed for this run's processes only: configuration from the
# environment counts as command-line configuration, which safe.directory
# honours (git >= 2.31); writing ~/.gitconfig would outlive the benchmark.
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0='*'
unset VBOXFIX_TTL_MS VBOXFIX_CACHE_MAX VBOXFIX_SHARED_CACHE VBOXFIX_STATS VBOXFIX_OWNER
# the same backing tree through bindfs with its default 1 s kernel caches
CMNT=$SHARE_DIR/mnt-cached
mkdir -p "$CMNT"
on_exit "share_umount '$CMNT'"
bindfs -o allow_other --force-user="$SHARE_UID" --force-group="$SHARE_GID" --perms=0666:a+X \
    --chown-ignore --chgrp-ignore --chmod-ignore --xattr-none "$SRC" "$CMNT" || { fail bench "bindfs (cached) mount failed"; exit 1; }
PID0=$(pgrep -f "bindfs.*attr_timeout=0.*$SRC" | head -1)
PID1=$(pgrep -f "bindfs.*$SRC $CMNT" | head -1)
reqs() { awk '/^syscr/{print $2}' "/proc/$1/io"; }

LOCAL=$SHARE_DIR/local
mkdir -p "$LOCAL" && echo hello >"$LOCAL/f" && echo hello >"$SRC/f"
LIBENV="LD_PRELOAD=$LIB"
TMPR=$(mktemp -d) && on_exit "rm -rf '$TMPR'"

# ---- 1. one stat in a loop ---------------------------------------------------
# name|pid to count requests on (or -)|command
micro=(
    "bare, local disk|-|$SB -n $CALLS PATHL"
    "library, outside shares|-|env $LIBENV $SB -n $CALLS PATHL"
    "bare, share (bindfs, timeouts 0)|$PID0|$SB -n $SHARE_CALLS PATHS"
    "library, share, cache on|$PID0|env $LIBENV $SB -n $CALLS PATHS"
    "library, share, cache off (VBOXFIX_TTL_MS=0)|$PID0|env VBOXFIX_TTL_MS=0 $LIBENV $SB -n $SHARE_CALLS PATHS"
    "library, share, cache on, missing name|$PID0|env $LIBENV $SB -n $CALLS PATHM"
    "fakeroot, local disk|-|fakeroot -- $SB -n $((CALLS / 10)) PATHL"
    "fakeroot, share (timeouts 0)|$PID0|fakeroot -- $SB -n $SHARE_CALLS PATHS"
    "bindfs, default 1 s cache|$PID1|$SB -n $CALLS PATHC"
)
declare -A US REQ
for pass in $(seq 1 $PASSES); do
    for m in "${micro[@]}"; do
        IFS='|' read -r name pid cmd <<<"$m"
        cmd=${cmd//PATHL/$LOCAL/f}; cmd=${cmd//PATHS/$MNT/f}; cmd=${cmd//PATHC/$CMNT/f}; cmd=${cmd//PATHM/$MNT/nothere}
        a=0; [ "$pid" != - ] && a=$(reqs "$pid")
        line=$($cmd -r 5 2>/dev/null | tail -1)
        b=0; [ "$pid" != - ] && b=$(reqs "$pid")
        us=$(sed -n 's/.*median_us=\([0-9.]*\).*/\1/p' <<<"$line")
        calls=$(sed -n 's/.*calls=\([0-9]*\).*/\1/p' <<<"$line")
        US[$name]="${US[$name]:-} ${us:-nan}"
        [ "$pid" != - ] && [ -n "$calls" ] && REQ[$name]=$(awk -v d=$((b - a)) -v c="$calls" 'BEGIN{printf "%.3f", d / c}')
    done
done
med() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END{print (NR ? v[int((NR+1)/2)] : "nan")}'; }
for m in "${micro[@]}"; do IFS='|' read -r name _ _ <<<"$m"; US[$name]=$(med <<<"${US[$name]}"); done
BARE_LOCAL=${US["bare, local disk"]}
BARE_SHARE=${US["bare, share (bindfs, timeouts 0)"]}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b + 0 > 0 && a != "nan") printf "%.2f", a / b; else print "-" }'; }

# ---- 2. whole workloads on the share (bench/workloads.sh) ----------------------
. "$VBF_REPO/bench/workloads.sh"

# ---- 3. results.md -----------------------------------------------------------
goal() { awk -v v="$1" -v lim="$2" -v op="$3" 'BEGIN{ if (v == "-" || v == "") print "n/a"; else if ((op == "le" && v + 0 <= lim + 0) || (op == "ge" && v + 0 >= lim + 0)) print "met"; else print "**not met**" }'; }
{
    echo "# Benchmarks: metadata cache"
    echo
    echo "Generated by \`make bench\` (bench/run.sh$([ "$QUICK" = 1 ] && echo " --quick")) on $(date -u +%Y-%m-%d), $(uname -r), $(nproc) CPUs."
    echo "Every number below comes from the same run, so ratios compare like with like."
    echo "The share is bindfs with attr/entry/negative timeouts 0 (every stat reaches the daemon, as"
    echo "vboxsf's default ttl=0); requests are reads of /dev/fuse by the bindfs daemon (\`syscr\`)."
    echo "The library runs with its defaults (VBOXFIX_TTL_MS=1000)."
    echo
    echo "## One stat() in a loop (median of ${PASSES} passes of 5 rounds; µs per call)"
    echo
    echo "| configuration | µs/call | × bare local | × bare share | share requests per call |"
    echo "|---|---|---|---|---|"
    for m in "${micro[@]}"; do
        IFS='|' read -r name _ _ <<<"$m"
        echo "| $name | ${US[$name]} | $(ratio "${US[$name]}" "$BARE_LOCAL") | $(ratio "${US[$name]}" "$BARE_SHARE") | ${REQ[$name]:--} |"
    done
    out_r=$(ratio "${US["library, outside shares"]}" "$BARE_LOCAL")
    hit_r=$(ratio "${US["library, share, cache on"]}" "$BARE_LOCAL")
    req_r=$(awk -v a="${REQ["library, share, cache on"]:-0}" -v b="${REQ["bare, share (bindfs, timeouts 0)"]:-0}" 'BEGIN{ if (b > 0) printf "%.1f", 100 * a / b; else print "-" }')
    echo
    echo "## Goals"
    echo
    echo "| goal | measured | |"
    echo "|---|---|---|"
    echo "| stat outside shares, library / bare ≤ 1.02× | ${out_r}× | $(goal "$out_r" 1.02 le) |"
    echo "| cached share stat / bare local stat ≤ 0.5× | ${hit_r}× | $(goal "$hit_r" 0.5 le) |"
    echo "| requests in a repeated stat ≤ 5% of bare | ${req_r}% | $(goal "$req_r" 5 le) |"
    write_workload_goals
    echo
    write_workloads
    echo "bindfs with its 1 s cache is fast because it trusts the kernel's caches for a second, for"
    echo "every process and for changes it did not make; the library's cache never serves a change"
    echo "made under the library stale, and serves outside changes for at most VBOXFIX_TTL_MS."
} >"$OUT"
# the state store's own numbers (load, memory, one recorded chown vs fakeroot)
if [ "${QUICK:-0}" != 1 ] && [ -z "${BENCH_ONLY:-}" ]; then
    { echo; echo "## State store"; echo; (cd "$VBF_REPO" && B=$B sh bench/store_bench.sh); } >>"$OUT" 2>&1 ||
        fail "store bench" "see $OUT"
fi
ok "bench results written to $OUT"
