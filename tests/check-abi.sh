#!/bin/sh
# SPDX-License-Identifier: MIT
# ABI checks of $B/libvboxfix.so (protocol lines: ok - / FAIL - ):
#   abi/glibc-floor     no symbol version newer than GLIBC_2.28 (objdump -T)
#   abi/exports         defined .text exports == VBF_SYM names in shim/base/symbols.def
#                       (entries inside `#if VBF_GLIBC` count on glibc builds)
#   abi/export-version  exports carry no named version node (callers bound to
#                       GLIBC_x would bypass them)
#   abi/no-direct-calls no VBF_SYM name (syscall included) is imported: the
#                       library reaches libc only through dlsym
#   abi/needed          ldd shows only libc, libdl, libpthread, the loader
#   abi/undefined       (glibc) no unversioned, non-weak undefined symbol:
#                       everything libc provides is versioned, so these are
#                       our own functions that were never linked in
#   abi/loads           (glibc) LD_BIND_NOW=1 LD_PRELOAD=lib /bin/true is clean
#   abi/cli-glibc-floor the vboxfix binary next to LIB ($VBF_CLI) needs no
#                       symbol version newer than GLIBC_2.28 either
#   abi/cli-runs        it starts (LD_BIND_NOW=1 vboxfix --version)
# That the library never calls its own exports is tests/check-layers.sh's
# layers/no-self-calls (it reads the objects too).
# Usage: B=build sh tests/check-abi.sh [LIB]
# Prints `check-abi: N passed, N failed, N skipped`; exit 1 on any failure.
# With VBF_RESULT_FILE set, writes "PASSED FAILED SKIPPED" there.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$ROOT/build}
LIB=${1:-$B/libvboxfix.so}
CLI=${VBF_CLI:-$(dirname "$LIB")/vboxfix}
DEF=${VBF_SYMBOLS_DEF:-$ROOT/shim/base/symbols.def}
FLOOR=2.28

CHECK=check-abi
# shellcheck source=tests/check-lib.sh
. "$ROOT/tests/check-lib.sh"

if [ ! -f "$LIB" ]; then
    fail abi/library "$LIB not built"
    finish
fi
if ! command -v objdump >/dev/null 2>&1; then
    fail abi/tools "objdump missing (binutils)"
    finish
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# objdump -T -> "SECTION VERSION NAME BIND" (VERSION "-" when none; parens
# kept; BIND w for weak, g otherwise)
objdump -T "$LIB" 2>/dev/null | awk '
    /^[0-9a-f]+ / {
        tab = index($0, "\t"); if (!tab) next
        sect = substr($0, 26, tab - 26); gsub(/ /, "", sect)
        n = split(substr($0, tab + 1), f, " ")
        ver = (n >= 3) ? f[2] : "-"
        bind = (substr($0, 18, 7) ~ /w/) ? "w" : "g"
        print sect, ver, f[n], bind
    }' >"$tmp/dyn"
if [ ! -s "$tmp/dyn" ]; then
    fail abi/objdump "no dynamic symbol table in $LIB"
    finish
fi

# ---- (a) glibc version floor ---------------------------------------------------
# newer_than_floor FILE: "NAME@GLIBC_x.y" for each symbol version of FILE's
# imports newer than $FLOOR (objdump -T's version column, parens kept)
newer_than_floor() {
    objdump -T "$1" 2>/dev/null | awk -v floor="$FLOOR" '
        function newer(v, fl,   a, b, i, x, y) {
            split(v, a, "."); split(fl, b, ".")
            for (i = 1; i <= 3; i++) {
                x = (a[i] == "") ? 0 : a[i] + 0; y = (b[i] == "") ? 0 : b[i] + 0
                if (x != y) return x > y
            }
            return 0
        }
        /^[0-9a-f]+ / {
            tab = index($0, "\t"); if (!tab) next
            n = split(substr($0, tab + 1), f, " ")
            v = (n >= 3) ? f[2] : "-"; gsub(/[()]/, "", v)
            if (v ~ /^GLIBC_[0-9.]+$/) { sub(/^GLIBC_/, "", v); if (newer(v, floor)) print f[n] "@GLIBC_" v }
        }' | sort -u
}
newer_than_floor "$LIB" >"$tmp/newer"
if [ -s "$tmp/newer" ]; then
    fail abi/glibc-floor "needs versions newer than GLIBC_$FLOOR: $(tr '\n' ' ' <"$tmp/newer")"
else
    ok abi/glibc-floor
fi

# ---- the vboxfix binary: same floor (it is copied into older images than the
# build machine's), and it starts (shim/cli/cli_glibc.c replaces the startup
# and stat entry points that would pin it to the build machine's glibc)
if [ -f "$CLI" ]; then
    newer_than_floor "$CLI" >"$tmp/cli-newer"
    if [ -s "$tmp/cli-newer" ]; then
        fail abi/cli-glibc-floor "$CLI needs versions newer than GLIBC_$FLOOR: $(tr '\n' ' ' <"$tmp/cli-newer")"
    else
        ok abi/cli-glibc-floor
    fi
    if LD_BIND_NOW=1 LD_PRELOAD= "$CLI" --version >"$tmp/cli-run" 2>&1 && grep -q '^vboxfix ' "$tmp/cli-run"; then
        ok abi/cli-runs
    else
        fail abi/cli-runs "LD_BIND_NOW=1 $CLI --version: $(head -c 300 "$tmp/cli-run" | tr '\n' ' ')"
    fi
elif [ -z "${1:-}" ] && [ -z "${VBF_CLI:-}" ]; then
    fail abi/cli-glibc-floor "$CLI not built"
else
    skip abi/cli-glibc-floor "no $CLI next to $LIB"
fi

# ---- symbols.def ---------------------------------------------------------------
is_glibc=1
if objdump -p "$LIB" 2>/dev/null | grep -q 'NEEDED.*libc\.so$' ||
   objdump -p "$LIB" 2>/dev/null | grep -q 'NEEDED.*ld-musl'; then
    is_glibc=0
fi
if [ ! -f "$DEF" ]; then
    fail abi/symbols.def "$DEF missing"
    finish
fi
# -> "want NAME" (must be exported), "maybe NAME" (condition not understood)
awk -v glibc="$is_glibc" '
    function cond(c) {
        gsub(/[ \t]/, "", c)
        if (c == "VBF_GLIBC" || c == "defined(__GLIBC__)" || c == "VBF_GLIBC==1") return glibc ? 1 : 0
        if (c == "!VBF_GLIBC" || c == "!defined(__GLIBC__)" || c == "VBF_GLIBC==0") return glibc ? 0 : 1
        if (c == "1") return 1
        if (c == "0") return 0
        return 2                                  # unknown
    }
    function state(   i, s) {                     # 1 on, 0 off, 2 unknown
        s = 1
        for (i = 1; i <= depth; i++) { if (st[i] == 0) return 0; if (st[i] == 2) s = 2 }
        return s
    }
    /^[ \t]*#[ \t]*if(n?def)?[ \t(!]/ {
        line = $0; sub(/^[ \t]*#[ \t]*/, "", line)
        if (line ~ /^ifdef/) { sub(/^ifdef[ \t]+/, "", line); c = "defined(" line ")" }
        else if (line ~ /^ifndef/) { sub(/^ifndef[ \t]+/, "", line); c = "!defined(" line ")" }
        else { sub(/^if[ \t]*/, "", line); c = line }
        sub(/\/\*.*$/, "", c)
        st[++depth] = cond(c); next
    }
    /^[ \t]*#[ \t]*else/  { if (st[depth] != 2) st[depth] = 1 - st[depth]; next }
    /^[ \t]*#[ \t]*elif/  { st[depth] = 2; next }
    /^[ \t]*#[ \t]*endif/ { depth--; next }
    /^[ \t]*VBF_SYM[ \t]*\(/ {
        s = $0; sub(/^[^(]*\(/, "", s)
        n = split(s, p, ",")
        name = p[2]; gsub(/[ \t]/, "", name)
        if (name == "") next
        w = state()
        print "all", name
        if (w == 1) print "want", name
        else if (w == 2) print "maybe", name
    }' "$DEF" >"$tmp/def"
awk '$1 == "want"  { print $2 }' "$tmp/def" | sort -u >"$tmp/want"
awk '$1 == "maybe" { print $2 }' "$tmp/def" | sort -u >"$tmp/maybe"
awk '$1 == "all"   { print $2 }' "$tmp/def" | sort -u >"$tmp/all"
if [ ! -s "$tmp/all" ]; then
    fail abi/symbols.def "no VBF_SYM entries parsed from $DEF"
    finish
fi

# ---- (b) exports ---------------------------------------------------------------
awk '$1 == ".text" { print $3 }' "$tmp/dyn" | sort -u >"$tmp/exported"
comm -23 "$tmp/exported" "$tmp/want" | comm -23 - "$tmp/maybe" >"$tmp/extra"
comm -13 "$tmp/exported" "$tmp/want" >"$tmp/missing"
if [ -s "$tmp/extra" ] || [ -s "$tmp/missing" ]; then
    msg=
    [ -s "$tmp/extra" ] && msg="extra exports: $(tr '\n' ' ' <"$tmp/extra")"
    [ -s "$tmp/missing" ] && msg="${msg:+$msg; }missing exports: $(tr '\n' ' ' <"$tmp/missing")"
    fail abi/exports "$msg"
else
    ok abi/exports
fi

awk '$1 == ".text" && $2 != "-" && $2 != "Base" && $2 !~ /^\(/ { print $3 "@" $2 }' \
    "$tmp/dyn" | sort -u >"$tmp/named"
if [ -s "$tmp/named" ]; then
    fail abi/export-version "exports under a named version node: $(tr '\n' ' ' <"$tmp/named" | cut -c1-400)"
else
    ok abi/export-version
fi

# ---- (c) interposed names never called directly -------------------------------
awk '$1 == "*UND*" { print $3 }' "$tmp/dyn" | sort -u >"$tmp/und"
comm -12 "$tmp/und" "$tmp/all" >"$tmp/direct"
if [ -s "$tmp/direct" ]; then
    fail abi/no-direct-calls "imports interposed names (use the dlsym table): $(tr '\n' ' ' <"$tmp/direct")"
else
    ok abi/no-direct-calls
fi

# ---- (d) linked libraries ----------------------------------------------------------
if command -v ldd >/dev/null 2>&1 && ldd "$LIB" >"$tmp/ldd" 2>&1 && grep -q '=>\|ld-' "$tmp/ldd"; then
    src=ldd
    awk '{ print $1 }' "$tmp/ldd" >"$tmp/libs"
else
    src="NEEDED (ldd unusable)"
    objdump -p "$LIB" | awk '$1 == "NEEDED" { print $2 }' >"$tmp/libs"
fi
grep -v -E '^(linux-vdso\.so|linux-gate\.so|libc\.so|libdl\.so|libpthread\.so|/?.*ld-linux[-a-z0-9_.]*\.so|/?.*ld-musl[-a-z0-9_.]*\.so)' \
    "$tmp/libs" | grep -v '^$' >"$tmp/badlibs"
if [ -s "$tmp/badlibs" ]; then
    fail abi/needed "$src shows more than libc/libdl/libpthread/loader: $(tr '\n' ' ' <"$tmp/badlibs")"
elif grep -q 'not found' "$tmp/ldd" 2>/dev/null; then
    fail abi/needed "ldd: $(grep 'not found' "$tmp/ldd" | tr '\n' ' ')"
else
    ok abi/needed
fi

# ---- (e) nothing left unresolved; (f) it loads ---------------------------------
if [ "$is_glibc" -eq 1 ]; then
    awk '$1 == "*UND*" && $2 !~ /GLIBC_/ && $4 != "w" { print $3 }' "$tmp/dyn" |
        sort -u >"$tmp/unres"
    if [ -s "$tmp/unres" ]; then
        fail abi/undefined "undefined symbols no library provides (link with -Wl,-z,defs to see why): $(tr '\n' ' ' <"$tmp/unres" | cut -c1-400)"
    else
        ok abi/undefined
    fi
    true_bin=$(command -v true 2>/dev/null)
    case $true_bin in /*) ;; *) true_bin=/bin/true ;; esac
    if LD_BIND_NOW=1 LD_PRELOAD="$LIB" "$true_bin" >"$tmp/load" 2>&1 && [ ! -s "$tmp/load" ]; then
        ok abi/loads
    else
        fail abi/loads "LD_BIND_NOW=1 LD_PRELOAD=$LIB $true_bin: $(head -c 300 "$tmp/load" | tr '\n' ' ')"
    fi
else
    skip abi/undefined "not a glibc build"
    skip abi/loads "not a glibc build"
fi

finish
