# SPDX-License-Identifier: MIT
# The emulated share itself, without libvboxfix: bindfs shows a fixed owner
# that is neither root nor the test user, ignores (or denies) chown/chgrp/
# chmod, caches nothing, and the helpers clean up after themselves.
. "$(dirname "$0")/lib.sh"
need_fuse
need_file "$PROBE"

stat_line() { "$PROBE" stat "$1"; }

# ---- ignore: what mainline vboxsf does -------------------------------------
share_setup ignore
echo data >"$MNT/f"
mkdir "$MNT/d"

expect_eq share/ignore/owner-file "$(stat_line "$MNT/f")" \
    "uid=$SHARE_UID gid=$SHARE_GID mode=0666 type=f size=5"
expect_eq share/ignore/owner-dir "$(stat_line "$MNT/d" | cut -d' ' -f1-4)" \
    "uid=$SHARE_UID gid=$SHARE_GID mode=0777 type=d"
expect_eq share/ignore/coreutils-stat "$(stat -c '%u %g %a' "$MNT/f")" "$SHARE_UID $SHARE_GID 666"

want="uid=$SHARE_UID gid=$SHARE_GID mode=0666 type=f size=5"
for v in probe probe-lfs probe-fortify probe-static probe-musl; do
    [ -x "$FIX/$v" ] || { skip "share/ignore/$v" "not built"; continue; }
    for op in stat lstat fstat statx sys_statx sys_newfstatat xstat; do
        got=$("$FIX/$v" "$op" "$MNT/f" 2>/dev/null); rc=$?
        [ "$rc" -eq 4 ] && continue         # op not in this build (musl, static)
        expect_eq "share/ignore/$v/$op" "$got" "$want"
    done
done

expect_eq share/ignore/root-chown-returns-0 "$("$PROBE" chown "$MNT/f" 0 0)" ok
expect_eq share/ignore/root-chgrp-returns-0 "$("$PROBE" chown "$MNT/f" -1 0)" ok
expect_eq share/ignore/root-chmod-returns-0 "$("$PROBE" chmod "$MNT/f" 0600)" ok
expect_eq share/ignore/unchanged-after "$(stat_line "$MNT/f")" "$want"
check share/ignore/coreutils-chown-R chown -R 0:0 "$MNT"
expect_eq share/ignore/unchanged-after-chown-R "$(stat -c '%u %g' "$MNT/d")" "$SHARE_UID $SHARE_GID"

# zero attribute/entry/negative timeouts: host-side changes show at once
"$PROBE" stat "$MNT/late" >/dev/null
echo "longer data" >"$SRC/f"
echo x >"$SRC/late"
expect_eq share/no-cache/size "$(stat -c %s "$MNT/f")" 12
expect_eq share/no-cache/negative-entry "$(stat_line "$MNT/late" | cut -d' ' -f1)" "uid=$SHARE_UID"
rm -f "$SRC/late"
expect_eq share/no-cache/removed "$(stat_line "$MNT/late")" "err=ENOENT"

# the unprivileged user (allow_other, 0755 temp dir)
if ensure_test_user; then
    expect_eq share/user/sees-owner "$(as_user "$PROBE" stat "$MNT/f")" \
        "uid=$SHARE_UID gid=$SHARE_GID mode=0666 type=f size=12"
    expect_eq share/user/chown-eperm "$(as_user "$PROBE" chown "$MNT/f" "$TEST_UID" -1)" "err=EPERM"
    expect_eq share/user/chgrp-eperm "$(as_user "$PROBE" chown "$MNT/f" -1 "$TEST_GID")" "err=EPERM"
    # bindfs has default_permissions: non-owner chmod is EPERM (mainline
    # vboxsf would let it through)
    expect_eq share/user/chmod-eperm "$(as_user "$PROBE" chmod "$MNT/f" 0600)" "err=EPERM"
    expect_eq share/user/can-write "$(as_user "$PROBE" open "$MNT/f" O_WRONLY)" ok
    expect_eq share/user/can-create "$(as_user "$PROBE" creat "$MNT/u" 0600)" ok
    expect_eq share/user/created-owner "$(stat_line "$MNT/u" | cut -d' ' -f1-3)" \
        "uid=$SHARE_UID gid=$SHARE_GID mode=0666"
    expect_eq share/user/env "$(as_user sh -c 'id -u; id -G; echo "$HOME"' | tr '\n' ' ')" \
        "$TEST_UID $TEST_GID $VBF_USER_HOME "
else
    skip share/user "cannot create $TEST_USER"
fi

# ---- deny: chown/chgrp/chmod refused with EPERM ----------------------------
share_setup deny
echo data >"$MNT/f"
expect_eq share/deny/owner "$(stat_line "$MNT/f")" "$want"
expect_eq share/deny/root-chown "$("$PROBE" chown "$MNT/f" 0 0)" "err=EPERM"
expect_eq share/deny/root-chgrp "$("$PROBE" chown "$MNT/f" -1 0)" "err=EPERM"
expect_eq share/deny/root-chmod "$("$PROBE" chmod "$MNT/f" 0600)" "err=EPERM"
expect_fail share/deny/coreutils-chown chown 0:0 "$MNT/f"

# ---- the helpers clean up: normal exit, failure, TERM ----------------------
lib=$(dirname "$0")/lib.sh
for how in exit fail term; do
    out=$(B=$B bash -c '
        . "$1"; share_setup ignore; echo "$SHARE_DIR"
        case $2 in fail) exit 3 ;; term) kill -TERM $$; sleep 5 ;; esac' \
        inner "$lib" "$how" 2>/dev/null | tail -n 1)
    case $out in
        /tmp/vbf-share.*)
            if mountpoint -q "$out/mnt" 2>/dev/null; then
                fail "share/cleanup/$how" "$out/mnt still mounted"
                share_umount "$out/mnt"
            elif [ -e "$out" ]; then fail "share/cleanup/$how" "$out not removed"
            else ok "share/cleanup/$how"; fi ;;
        *) fail "share/cleanup/$how" "inner script said '$out'" ;;
    esac
done
