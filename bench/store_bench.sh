#!/bin/sh
# SPDX-License-Identifier: MIT
# State store benchmark plus the cost of one recorded chown against fakeroot.
#   B=build sh bench/store_bench.sh      (needs $B/libvboxfix.so, $B/core.a, fakeroot)
# Prints a markdown fragment on stdout.
set -eu
B=${B:-build}
N=${VBF_BENCH_CHOWNS:-20000}
BIN=$B/bench/store_bench
mkdir -p "$B/bench"
${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -Ishim/base -Ishim/store -o "$BIN" bench/store_bench.c "$B/obj/base/real.o" "$B/core.a" -ldl -lpthread
echo '### State store (bench/store_bench.c)'
echo '```'
"$BIN" 100000
echo '```'
dir=$(mktemp -d /tmp/vbf-chown-XXXXXX)
trap 'rm -rf "$dir"' EXIT
i=0
while [ $i -lt 100 ]; do : >"$dir/f$i"; i=$((i + 1)); done
set -- "$dir"/f*
echo "### One chown, $N calls over 100 files (us/call; compare in one run)"
echo '```'
printf 'bare (local disk):            '; "$BIN" --chown "$N" "$@"
printf 'libvboxfix (recorded):        '; VBOXFIX_PATHS=$dir LD_PRELOAD=$(cd "$B" && pwd)/libvboxfix.so "$BIN" --chown "$N" "$@"
if command -v fakeroot >/dev/null 2>&1; then
    printf 'fakeroot (SysV faked):        '; fakeroot -- "$BIN" --chown "$N" "$@"
    printf 'fakeroot (TCP faked):         '; fakeroot-tcp -- "$BIN" --chown "$N" "$@" 2>/dev/null || echo n/a
fi
echo '```'
