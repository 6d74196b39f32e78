#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian packages that build and test vboxfix, only if missing.
# Idempotent and quick when everything is present (one dpkg-query call).
# Not root: list what is missing and carry on (tests that need it skip).
set -u

# `deps.sh demo` installs only what make demo runs; no argument: everything
# the tests and benchmarks use (dpkg-dev and debhelper: t_96 builds the .deb).
DEMO_PKGS="build-essential uthash-dev bindfs fuse3 git postgresql util-linux procps"
PKGS="$DEMO_PKGS libcmocka-dev musl-tools clang valgrind hyperfine fakeroot
sqlite3 python3 mariadb-server mariadb-client binutils strace time libnss-wrapper python3-yaml
dpkg-dev debhelper"
[ "${1:-}" = demo ] && PKGS=$DEMO_PKGS

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: no dpkg-query (not Debian?); install by hand:" $PKGS >&2
    exit 0
fi

missing=
for p in $PKGS; do
    # "installed" only; a removed package with config files left is missing
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) || st=
    [ "$st" = installed ] || missing="$missing $p"
done
missing=${missing# }
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages (not root, not installing): $missing" >&2
    exit 0
fi

echo "deps: installing: $missing" >&2
export DEBIAN_FRONTEND=noninteractive
# The tests and the demo start their own servers on temporary data: the
# packages' own clusters and daemons (postgresql, mariadb) must not be left
# running on the host. policy-rc.d, for the time of this install only, tells
# the maintainer scripts not to start services (Debian's convention).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
fi
apt_get() { apt-get -q -o Dpkg::Use-Pty=0 "$@" </dev/null; }
apt_get update || { echo "deps: apt-get update failed" >&2; exit 1; }
# shellcheck disable=SC2086
if apt_get install -y --no-install-recommends $missing; then
    exit 0
fi
# One by one, so a single unavailable package does not hide the others.
failed=
for p in $missing; do
    apt_get install -y --no-install-recommends "$p" || failed="$failed $p"
done
if [ -n "$failed" ]; then
    echo "deps: could not install:$failed" >&2
    exit 1
fi
exit 0
