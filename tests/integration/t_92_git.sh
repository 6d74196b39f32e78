#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# git on the emulated share by a user who is not the share's owner (the share
# shows uid 4242, the user is 4300): clone from a local bare repository,
# commit, status, gc, fsck. Without the library git stops at "detected
# dubious ownership". Also with vboxsf's refusals (link EPERM, ...) below
# the library.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/services.sh"
need_fuse
need_lib
need_file "$REFUSE"
need_cmd git
ensure_test_user || skip_all "cannot create $TEST_USER"

tmp_dir LOCAL
BARE=$LOCAL/origin.git
GITENV=(env GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org
        GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.org)
# a local bare repository with some history, owned by the test user
"${GITENV[@]}" sh -c "
    git init -q -b main '$LOCAL/seed' && cd '$LOCAL/seed' &&
    for i in 1 2 3; do seq 1 \$((i * 1000)) >file\$i; mkdir -p d\$i; echo \$i >d\$i/x; git add -A; git commit -qm c\$i; done &&
    git clone -q --bare . '$BARE'" || { fail "$VBF_SCRIPT" "cannot make the bare repository"; exit 1; }
chown -R "$TEST_UID:$TEST_GID" "$BARE"

# the steps, as the test user, in $1 (a directory on the share). The clone
# goes through git's transport (file://), as from a server: a clone from a
# plain local path copies object files and sets their times with utime(),
# which the kernel refuses (EPERM) to anyone but the share's real owner, on
# vboxsf as on bindfs; no preload library can change that.
steps() {
    local dir=$1 branch=$2
    "${GITENV[@]}" sh -ec "
        git clone -q 'file://$BARE' '$dir/repo'
        cd '$dir/repo'
        echo change >>file1; echo new >new.txt
        git add -A && git commit -qm 'on the share'
        test -z \"\$(git status --porcelain)\"
        git gc -q --prune=now
        git fsck --no-progress --strict
        git log --oneline | wc -l
        git count-objects -v | sed -n 's/^packs: //p'
        git push -q origin HEAD:\"$branch\""
}

# steps_sh DIR BRANCH: a bash -c script running steps (for as_user)
steps_sh() { echo "$(declare -p GITENV BARE); $(declare -f steps); steps '$1' '$2'"; }

for MODE in ignore deny; do
    share_setup "$MODE"
    T="[$MODE]"
    W=$MNT/work
    mkdir "$W"

    # without the library: the directory cannot even be given to the user
    if [ "$MODE" = deny ]; then
        expect_fail "$T without: chown to the user is refused" chown "$TEST_UID:$TEST_GID" "$W"
    else
        chown "$TEST_UID:$TEST_GID" "$W"
        expect_out "$T without: chown to the user changes nothing" "$SHARE_UID" stat -c %u "$W"
    fi
    # vboxsf: "detected dubious ownership"; bindfs (default_permissions) stops
    # one step earlier, at the chmod of .git/config.lock by a non-owner
    expect_grep "$T without: git fails" \
        'dubious ownership|chmod on .*/\.git/config\.lock failed: Operation not permitted' as_user bash -c "$(steps_sh "$W" x)"
    rm -rf "${W:?}" && mkdir "$W"
    # a repository made in the backing directory (as on the host): git by
    # the user on the share stops at the ownership check, as on vboxsf
    git clone -q --no-hardlinks "$LOCAL/seed" "$SRC/hostrepo" && chmod -R a+rwX "$SRC/hostrepo"
    expect_grep "$T without: git status in a repository on the share" 'detected dubious ownership' \
        as_user env GIT_CONFIG_NOSYSTEM=1 git -C "$MNT/hostrepo" status
    check "$T with the library: the same git status works" \
        as_user with_lib env VBOXFIX_PATHS="$MNT" GIT_CONFIG_NOSYSTEM=1 git -C "$MNT/hostrepo" status

    # with the library
    check "$T chown -R to the user (root, library)" svc_root_lib chown -R "$TEST_UID:$TEST_GID" "$W"
    expect_out "$T clone, commit, status, gc, fsck, push" $'4\n1' as_user with_lib env VBOXFIX_PATHS="$MNT" \
        bash -c "$(steps_sh "$W" "lib-$MODE")"
    expect_out "$T the push arrived" "on the share" git --git-dir="$BARE" log -1 --format=%s "lib-$MODE"
    rm -rf "${W:?}" && mkdir "$W"

    # with vboxsf's refusals below the library (link EPERM, dir fsync EINVAL, ...)
    svc_root_lib chown -R "$TEST_UID:$TEST_GID" "$W"
    expect_out "$T with vboxsf's refusals: clone ... push" $'4\n1' as_user with_lib_refuse \
        env VBOXFIX_PATHS="$MNT" REFUSE_PATHS="$MNT" \
        bash -c "$(steps_sh "$W" "refuse-$MODE")"
done
