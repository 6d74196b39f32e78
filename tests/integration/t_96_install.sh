#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make install / make uninstall into a staging root, objects rebuilt when
# PREFIX changes (and only the includers of a changed header), and the
# Debian package: dpkg-buildpackage -us -uc -b, its contents unpacked into a
# staging root, the packaged library preloaded.
# Builds in its own directory under a temp dir ($B is only read: when it is
# complete, its objects are copied so `make; make install PREFIX=/usr` is the
# real sequence); the package reuses that PREFIX=/usr build (VBF_DEB_B).
. "$(dirname "$0")/lib.sh"

ROOT=$VBF_REPO
cd "$ROOT" || exit 1
# run by make test: no flags or variables (B=, PREFIX=) from the outer make
unset MAKEFLAGS MFLAGS MAKELEVEL
tmp_dir T
TB=$T/b
mkdir -p "$TB"
VERSION=$(make -s --no-print-directory version)
MK=(make -s --no-print-directory B="$TB")

# ---- the build: $B's objects when $B is up to date, else a fresh plain `make`
# (the default PREFIX): either way `make install PREFIX=/usr` below follows a
# build made for /usr/local, the sequence that must not install /usr/local
if [ -d "$B/obj" ] && [ -f "$B/vboxfix" ] && make -q B="$B" all >/dev/null 2>&1; then
    cp -a "$B/obj" "$B/core.a" "$B/libvboxfix.so" "$B/vboxfix" "$TB/"
    [ -f "$B/.prefix" ] && cp -a "$B/.prefix" "$TB/"
    from="copy of $B"
elif "${MK[@]}" all >"$T/build.log" 2>&1; then
    from="fresh build"
else
    fail install/build "make: $(tail -n 5 "$T/build.log" | tr '\n' ' ')"
    exit 1
fi

# ---- make install PREFIX=/usr DESTDIR ----------------------------------------
R=$T/root
if ! "${MK[@]}" PREFIX=/usr DESTDIR="$R" install >"$T/install.log" 2>&1; then
    fail install/make "make install PREFIX=/usr ($from): $(tail -n 5 "$T/install.log" | tr '\n' ' ')"
    exit 1
fi
ok install/make

files=(usr/lib/libvboxfix.so usr/bin/vboxfix)
for m in docs/man/*.1; do [ -f "$m" ] && files+=("usr/share/man/man1/${m##*/}"); done
for m in docs/man/*.7; do [ -f "$m" ] && files+=("usr/share/man/man7/${m##*/}"); done
if [ -f shim/cli/vboxfix.bash-completion ]; then
    files+=(usr/share/bash-completion/completions/vboxfix)
else
    skip install/completion "shim/cli/vboxfix.bash-completion is not in the tree yet"
fi
expect_eq install/files "$(cd "$R" && find . ! -type d | sed 's|^\./||' | sort | tr '\n' ' ')" \
    "$(printf '%s\n' "${files[@]}" | sort | tr '\n' ' ')"
man1=$(find "$R/usr/share/man/man1" -name '*.1' 2>/dev/null | wc -l)
man7=$(find "$R/usr/share/man/man7" -name '*.7' 2>/dev/null | wc -l)
expect_eq install/man-sections "man1=$man1 man7=$man7" "man1=1 man7=1"
expect_eq install/modes "$(stat -c %a "$R/usr/lib/libvboxfix.so" "$R/usr/bin/vboxfix" | tr '\n' ' ')" "755 755 "

# The installed CLI loads /usr/lib/libvboxfix.so: nothing of /usr/local/lib
# baked in (the objects were rebuilt for PREFIX=/usr), and a copy of it alone
# finds the library there (made to exist by an overlay in a private mount
# namespace; without overlays, its "looked at" list must name it).
expect_eq install/no-usr-local "$(grep -c -a /usr/local/lib "$R/usr/bin/vboxfix")" 0
got=$("$R/usr/bin/vboxfix" exec -- sh -c 'printf %s "$LD_PRELOAD"' 2>&1)
expect_eq install/cli-loads-staged-lib "$got" "$R/usr/lib/libvboxfix.so"
mkdir -p "$T/solo/bin"
cp "$R/usr/bin/vboxfix" "$T/solo/bin/vboxfix"
got=$(unshare -m sh -c 'mount -t overlay vbf96 -o "lowerdir=$1:/usr/lib" /usr/lib 2>/dev/null || exit 99
    exec "$2" exec -- sh -c "printf %s \"\$LD_PRELOAD\""' sh "$R/usr/lib" "$T/solo/bin/vboxfix" 2>&1) && rc=0 || rc=$?
if [ "$rc" -eq 99 ] || ! command -v unshare >/dev/null 2>&1; then
    got=$("$T/solo/bin/vboxfix" exec -- true 2>&1)
    case $got in
        *" /usr/lib/libvboxfix.so,"*) ok install/cli-loads-usr-lib ;;
        *) fail install/cli-loads-usr-lib "no overlay; lookup list lacks /usr/lib/libvboxfix.so: $got" ;;
    esac
else
    expect_eq install/cli-loads-usr-lib "$got" /usr/lib/libvboxfix.so
fi

# ---- make uninstall: no file of ours left --------------------------------------
if "${MK[@]}" PREFIX=/usr DESTDIR="$R" uninstall >"$T/uninstall.log" 2>&1; then
    expect_eq uninstall/nothing-left "$(cd "$R" && find . ! -type d | tr '\n' ' ')" ""
else
    fail uninstall/nothing-left "make uninstall: $(tail -n 5 "$T/uninstall.log" | tr '\n' ' ')"
fi

# ---- what make would rebuild (dry runs: the stamp is not rewritten) ------------
nsrc=$(ls shim/*/*.c | wc -l)
if "${MK[@]}" -q PREFIX=/usr all; then ok rebuild/none-when-same-prefix
else fail rebuild/none-when-same-prefix "make -q PREFIX=/usr all says out of date right after the build"; fi
"${MK[@]}" -n PREFIX=/opt/vbf96 all >"$T/n.log" 2>&1
ncc=$(grep -c -- ' -c -o ' "$T/n.log")
nopt=$(grep -- ' -c -o ' "$T/n.log" | grep -c '/opt/vbf96/lib')
if [ "$ncc" -eq "$nsrc" ] && [ "$nopt" -eq "$nsrc" ] && grep -q -- "-o $TB/vboxfix " "$T/n.log"; then
    ok rebuild/prefix-change
else
    fail rebuild/prefix-change "make -n PREFIX=/opt/vbf96: $ncc of $nsrc sources recompiled ($nopt with the new PREFIX), CLI relinked: $(grep -c -- "-o $TB/vboxfix " "$T/n.log")"
fi
if "${MK[@]}" -q PREFIX=/usr all; then ok rebuild/dry-run-keeps-stamp
else fail rebuild/dry-run-keeps-stamp "after make -n PREFIX=/opt/vbf96, the PREFIX=/usr build is out of date"; fi
# A header changed (make -W: as if, nothing touched): exactly the objects
# whose generated dependencies name it are recompiled.
hdr=shim/base/arena.h
want=$(grep -l "^$hdr:" "$TB"/obj/*/*.d 2>/dev/null | sed 's/\.d$/.o/' | sort | tr '\n' ' ')
got=$("${MK[@]}" -n -W "$hdr" PREFIX=/usr all 2>&1 | sed -n 's/.* -c -o \([^ ]*\) .*/\1/p' | sort | tr '\n' ' ')
nwant=$(wc -w <<<"$want")
if [ "$nwant" -gt 0 ] && [ "$nwant" -lt "$nsrc" ]; then
    expect_eq rebuild/header-includers-only "$got" "$want"
else
    fail rebuild/header-includers-only "$nwant of $nsrc objects name $hdr in their .d files"
fi

# ---- Debian package -----------------------------------------------------------
if ! command -v dpkg-buildpackage >/dev/null 2>&1 || ! command -v dh >/dev/null 2>&1; then
    skip deb "dpkg-buildpackage or debhelper (dh) not installed (.ci/deps.sh installs dpkg-dev, debhelper)"
    exit 0
fi
S=$T/src/vboxfix-$VERSION
mkdir -p "$S"
# The working tree as git sees it (tracked and new files, not ignored ones;
# outside git, all but the build directories), mtimes kept so the reused
# build stays up to date.
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$ROOT" ls-files -z --cached --others --exclude-standard |
        tar -C "$ROOT" --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -C "$S" -xf -
else
    tar -C "$ROOT" --exclude=./.git --exclude=./build --exclude='./build-*' \
        --exclude=./debian/build --exclude=./debian/vboxfix -cf - . | tar -C "$S" -xf -
fi
if [ ! -f "$S/debian/rules" ] || [ ! -f "$S/Makefile" ]; then
    fail deb/source "could not copy the tree to $S"
    exit 1
fi
start=$(date +%s)
if (cd "$S" && VBF_DEB_B=$TB dpkg-buildpackage -us -uc -b) >"$T/deb.log" 2>&1; then
    echo "# dpkg-buildpackage: $(( $(date +%s) - start )) s"
    ok deb/build
else
    fail deb/build "dpkg-buildpackage: $(grep -v '^ *dh_' "$T/deb.log" | tail -n 8 | tr '\n' ' ')"
    exit 1
fi
deb=$(ls "$T/src"/vboxfix_"$VERSION"_*.deb 2>/dev/null | head -n 1)
if [ -z "$deb" ]; then fail deb/file "no vboxfix_${VERSION}_*.deb in $T/src: $(ls "$T/src" | tr '\n' ' ')"; exit 1; fi

dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./||' >"$T/contents"
missing=
for f in "${files[@]}" usr/share/doc/vboxfix/copyright; do
    case $f in usr/share/man/*) f=$f.gz ;; esac
    grep -qx "$f" "$T/contents" || missing="$missing $f"
done
expect_eq deb/contents "${missing# }" ""
expect_eq deb/version "$(dpkg-deb -f "$deb" Version)" "$VERSION"
dep=$(dpkg-deb -f "$deb" Depends)
case $dep in
    "libc6 (>= "*")") ok deb/depends-libc6-only ;;
    *) fail deb/depends-libc6-only "Depends: $dep" ;;
esac
# The README's promise: glibc 2.28 is enough (dpkg-shlibdeps raises the
# floor when a packaged binary needs newer symbols).
if [ "$dep" = "libc6 (>= 2.28)" ]; then ok deb/depends-glibc-2.28
else
    need=
    for f in usr/lib/libvboxfix.so usr/bin/vboxfix; do
        dpkg-deb --fsys-tarfile "$deb" | tar -xOf - "./$f" >"$T/bin"
        need="$need $f: $(objdump -T "$T/bin" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1);"
    done
    fail deb/depends-glibc-2.28 "Depends: $dep, want libc6 (>= 2.28); newest symbol versions:$need"
fi

st=$T/stage
dpkg -x "$deb" "$st"
if [ -f "$st/usr/lib/libvboxfix.so" ] && [ -f "$st/usr/bin/vboxfix" ]; then ok deb/unpacked
else fail deb/unpacked "dpkg -x: $(cd "$st" && find . ! -type d | tr '\n' ' ')"; fi
out=$(LD_BIND_NOW=1 LD_PRELOAD=$st/usr/lib/libvboxfix.so /bin/true 2>&1) && rc=0 || rc=$?
if [ "$rc" -eq 0 ] && [ -z "$out" ]; then ok deb/lib-loads
else fail deb/lib-loads "LD_PRELOAD=<staged lib> /bin/true: exit $rc: $out"; fi
got=$("$st/usr/bin/vboxfix" exec -- sh -c 'printf %s "$LD_PRELOAD"' 2>&1)
expect_eq deb/cli-loads-packaged-lib "$got" "$st/usr/lib/libvboxfix.so"
got=$("$st/usr/bin/vboxfix" --version 2>&1 | head -n 1)
case $got in
    "vboxfix $VERSION"|"vboxfix $VERSION "*) ok deb/cli-version ;;
    *) fail deb/cli-version "vboxfix --version: $got" ;;
esac
