#!/bin/sh
# SPDX-License-Identifier: MIT
# After `make test-asan` / `make test-ubsan`: preload the sanitized library
# (its runtime first, as a preloaded sanitized library needs) into a few
# programs on a VBOXFIX_PATHS tree (no FUSE needed) and fail on any report.
#   B=build-asan SAN=address sh tests/sanitizer-smoke.sh
set -u
B=${B:?} SAN=${SAN:?}
LIB=$B/libvboxfix.so PROBE=$B/fixtures/probe
case $SAN in
    address)   rt=$(${CC:-cc} -print-file-name=libasan.so) ;;
    undefined) rt=$(${CC:-cc} -print-file-name=libubsan.so) ;;
    *) echo "SAN must be address or undefined" >&2; exit 2 ;;
esac
[ -f "$rt" ] || { echo "sanitizer runtime $rt not found" >&2; exit 1; }
d=$(mktemp -d) || exit 1
trap 'rm -rf "$d"' EXIT
mkdir "$d/share" && echo x >"$d/share/f"
log=$d/log
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:exitcode=99 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=99
export VBOXFIX_PATHS=$d/share VBOXFIX_STATE=$d/state
rc=0
for op in "stat $d/share/f" "lstat $d/share/f" "fstat $d/share/f" "statx $d/share/f" "chown $d/share/f 1 2" \
          "chmod $d/share/f 0600" "access $d/share/f r" "mkdir $d/share/n 0700" "stat /etc/passwd"; do
    # shellcheck disable=SC2086
    if LD_PRELOAD="$rt $LIB" "$PROBE" $op >"$log" 2>&1 && ! grep -q 'Sanitizer\|runtime error' "$log"; then
        echo "ok - $SAN: probe ${op%% *}"
    else
        echo "FAIL - $SAN: probe ${op%% *}: $(head -c 400 "$log" | tr '\n' ' ')"; rc=1
    fi
done
# (not env -i: the child would get the library without its runtime)
if LD_PRELOAD="$rt $LIB" env VBOXFIX_LOG=warn sh -c 'unset VBOXFIX_PATHS; exec /bin/true' >"$log" 2>&1 && ! grep -q 'Sanitizer\|runtime error' "$log"; then
    echo "ok - $SAN: exec wrapper"
else
    echo "FAIL - $SAN: exec wrapper: $(head -c 400 "$log" | tr '\n' ' ')"; rc=1
fi
exit $rc
