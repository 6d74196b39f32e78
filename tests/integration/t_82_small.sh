#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Smaller items of issue 11:
#   log/*      VBOXFIX_LOG_FILE that is not a regular file (FIFO, directory,
#              device) never blocks a process and is named in one warning on
#              stderr; so is one that cannot be opened; the null device and
#              a regular file are used.
#   settings/* a long VBOXFIX_PATHS gives one warning that counts what was
#              left out and why; each bad setting is warned about on its own.
#   doctor/*   the write check's file name is random and made with O_EXCL: a
#              name another user made first neither fails the check nor is
#              removed.
#   defer/*    a fork while another thread holds the deferred-unlink table's
#              lock: the child does not spin (tests/fixtures/small.c).
. "$(dirname "$0")/lib.sh"
need_lib
need_file "$FIX/small" "$REFUSE" "$B/vboxfix"
tmp_dir T
V=$B/vboxfix

# starts NAME FILE CMD...: CMD ends by itself within 5 s, with exit 0; its
# stderr goes to FILE. CMD names the library itself ("$L"), so that only the
# process under test loads it and warns.
L="LD_PRELOAD=$LIB"
starts() {
    local name=$1 file=$2 rc=0; shift 2
    timeout -s KILL 5 "$@" </dev/null >/dev/null 2>"$file" || rc=$?
    if [ "$rc" -eq 137 ]; then fail "$name" "still running after 5 s"; return 1; fi
    if [ "$rc" -ne 0 ]; then fail "$name" "exit $rc: $(_vbf_oneline "$file")"; return 1; fi
    ok "$name"
}
# lines PATTERN FILE: how many lines of FILE match PATTERN (grep -E)
lines() { grep -cE -- "$1" "$2" || true; }

# ---- log/ ----------------------------------------------------------------------
mkfifo "$T/fifo"
E=$T/err
for kind in fifo dir dev; do
    case $kind in
        fifo) f=$T/fifo ;;
        dir)  f=$T ;;
        dev)  f=/dev/zero ;;
    esac
    if starts "log/$kind: a process starts" "$E" env "$L" VBOXFIX_LOG_FILE="$f" /bin/true; then
        expect_eq "log/$kind: one warning on stderr" \
            "$(lines "warn: VBOXFIX_LOG_FILE=.* is not a regular file" "$E")/$(wc -l <"$E")" "1/1"
    fi
done
# a FIFO with a reader (this shell holds it open): nothing is opened, so the
# reader sees no writer and the process does not wait for it to read
exec 3<>"$T/fifo"
starts "log/fifo with a reader: a process starts" "$E" env "$L" VBOXFIX_LOG_FILE="$T/fifo" \
    VBOXFIX_LOG=debug /bin/true
exec 3<&-

starts "log/unopenable: a process starts" "$E" env "$L" VBOXFIX_LOG_FILE="$T/no/such/dir/log" /bin/true &&
    expect_eq "log/unopenable: one warning naming the error" \
        "$(lines "warn: VBOXFIX_LOG_FILE=$T/no/such/dir/log cannot be opened \(No such file" "$E")/$(wc -l <"$E")" "1/1"
if [ "$(id -u)" -eq 0 ]; then
    mkdir -m 0700 "$T/private"
    starts "log/unopenable as a user: a process starts" "$E" \
        setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups -- \
        env "$L" VBOXFIX_LOG_FILE="$T/private/log" /bin/true &&
        expect_eq "log/unopenable as a user: one warning" \
            "$(lines "cannot be opened \(Permission denied\)" "$E")" "1"
fi
starts "log/null device: used, silent" "$E" env "$L" VBOXFIX_LOG_FILE=/dev/null VBOXFIX_TTL_MS=bad /bin/true &&
    expect_eq "log/null device: nothing on stderr" "$(wc -c <"$E")" "0"
starts "log/regular file: used" "$E" env "$L" VBOXFIX_LOG_FILE="$T/log" VBOXFIX_TTL_MS=bad /bin/true &&
    expect_eq "log/regular file: the warning is in the file, not on stderr" \
        "$(lines "VBOXFIX_TTL_MS=bad" "$T/log")/$(wc -c <"$E")" "1/0"

# ---- settings/ -------------------------------------------------------------------
mkdir "$T/p"
paths=
for i in $(seq 1 1000); do
    mkdir -p "$T/p/$((i % 40))"
    paths+="$T/p/$((i % 40)):"
done
starts "settings/1000 paths: a process starts" "$E" env "$L" VBOXFIX_PATHS="rel:$paths" /bin/true
# (env.c says once more that so long a value is not passed on to children
# that clear their environment: another matter)
expect_eq "settings/1000 paths: one warning about what was ignored" "$(lines "VBOXFIX_PATHS: .*ignored" "$E")" "1"
# 40 distinct directories in 1000 entries: 16 used; repeats of a used one
# take no slot and are not counted; every entry of the other 24 is
n_full=$(for i in $(seq 1 1000); do echo $((i % 40)); done | awk '
    !($1 in seen) { seen[$1] = 1; if (used < 16) { used++; u[$1] = 1; next } } !($1 in u) { n++ } END { print n }')
expect_eq "settings/1000 paths: counts what was left out and why" \
    "$(lines "VBOXFIX_PATHS: $((n_full + 1)) entries ignored: 1 not absolute \(first: 'rel'\), $n_full beyond the limit .*16 shares used" "$E")" "1"
starts "settings/two bad values: a process starts" "$E" env "$L" VBOXFIX_TTL_MS=soon VBOXFIX_RETRY_MS=x \
    VBOXFIX_LOG=loud VBOXFIX=no /bin/true
expect_eq "settings/two bad values: each named once" \
    "$(lines "VBOXFIX_TTL_MS=soon" "$E")$(lines "VBOXFIX_RETRY_MS=x" "$E")$(lines "VBOXFIX_LOG=loud" "$E")$(lines "VBOXFIX=no" "$E")" "1111"

# ---- doctor/ -----------------------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
    skip "doctor/name made first by another user" "needs root"
else
    ensure_test_user || fail "doctor/test user" "cannot create $TEST_USER"
    mkdir -m 1777 "$T/share"
    # the old name was .vboxfix-doctor-w.<pid>: exec keeps the pid, so the
    # other user's file is exactly where the old check looked
    sh -c 'setpriv --reuid="$3" --regid="$3" --clear-groups -- sh -c "echo theirs >\"\$0\"" "$1/.vboxfix-doctor-w.$$"
           exec "$2" doctor "$1"' _ "$T/share" "$V" "$TEST_UID" >"$T/doc" 2>&1
    r=$?
    expect_eq "doctor/name made first by another user: usable (exit 0)" "$r" "0"
    expect_eq "doctor/name made first by another user: their file is left" \
        "$(cat "$T"/share/.vboxfix-doctor-w.* 2>/dev/null)" "theirs"
    rm -f "$T"/share/.vboxfix-doctor-w.*
    if command -v strace >/dev/null 2>&1; then
        strace -f -e trace=openat,open -o "$T/st" "$V" doctor "$T/share" >/dev/null 2>&1
        strace -f -e trace=openat,open -o "$T/st2" "$V" doctor "$T/share" >/dev/null 2>&1
        n1=$(grep -o '\.vboxfix-doctor-w\.[^"]*", O_WRONLY|O_CREAT|O_EXCL' "$T/st" | head -n1)
        n2=$(grep -o '\.vboxfix-doctor-w\.[^"]*", O_WRONLY|O_CREAT|O_EXCL' "$T/st2" | head -n1)
        case $n1 in
            .vboxfix-doctor-w.????????????????\"*) ok "doctor/write-check name: 16 random hex digits, O_EXCL" ;;
            *) fail "doctor/write-check name: 16 random hex digits, O_EXCL" "got '$n1'" ;;
        esac
        if [ -n "$n1" ] && [ "$n1" != "$n2" ]; then ok "doctor/write-check name: differs between runs"
        else fail "doctor/write-check name: differs between runs" "'$n1' and '$n2'"; fi
    else
        skip "doctor/write-check name" "needs strace"
    fi
    # interrupted at random moments: nothing of doctor's is left, and the
    # other user's file is never removed
    echo theirs >"$T/share/.vboxfix-doctor-w.0000000000000000"
    chown "$TEST_UID" "$T/share/.vboxfix-doctor-w.0000000000000000"
    # timeout signals doctor in its own process group, never this script
    for i in $(seq 1 20); do
        timeout -s TERM "0.0$((RANDOM % 6 + 1))$((RANDOM % 10))" "$V" doctor "$T/share" >/dev/null 2>&1
    done
    expect_eq "doctor/interrupted 20 times: only the other user's file is left" \
        "$(ls -A "$T/share" | tr '\n' ' ')" ".vboxfix-doctor-w.0000000000000000 "
fi

# ---- defer/ ------------------------------------------------------------------------
mkdir "$T/dshare"
out=$(VBOXFIX_PATHS="$T/dshare" REFUSE_PATHS="$T/dshare" REFUSE_BUSY_OPEN=1 \
      LD_PRELOAD="$LIB $REFUSE" timeout -s KILL 60 "$FIX/small" deferfork "$T/dshare" 3 4 2>&1)
r=$?
case $r/$out in
    0/deferfork:*" 0 hung, 0 failed") ok "defer/fork while another thread holds the lock: children finish ($out)" ;;
    *) fail "defer/fork while another thread holds the lock: children finish" "exit $r: $out" ;;
esac
