#!/bin/sh
# SPDX-License-Identifier: MIT
# Layer checks of the library (the .c and .h files of shim/ and the folders
# below it; the CLI, shim/cli/, stands on top of it and is not checked). Protocol lines: ok - / FAIL - .
#
# The dependencies point one way (docs/design.md): wrap -> policy ->
# store, cache -> base. LAYERS below gives every module (a file name without
# .c/.h, and a private X_int.h belongs to module X: own.c and own.h are
# module own) its layer; ALLOW lists the edges
# against that direction which exist today, each with why, and KNOTS the
# strongly connected components (cycles) they make today. Both lists may only
# shrink: remove an entry when the edge or the cycle is gone (the check says
# so). Two graphs are read:
#   include  module A -> module B when A.c or A.h has #include "B.h"
#   nm       object A -> object B when an undefined symbol of $B/obj/A.o is
#            defined by $B/obj/B.o (the calls the linker binds)
# Results:
#   layers/table          every module has a layer, every table entry a file
#   layers/folders        every file lives in shim/<its module's layer>/
#   layers/include        in the include graph: no edge against the layers
#   layers/nm             and in the nm graph that is not in ALLOW; with the
#                         ALLOW edges taken out, no cycle left; every strongly
#                         connected component inside one KNOTS line
#   layers/allow-list     every ALLOW edge and KNOTS member still needed
#   layers/no-self-calls  the library never calls (or takes the address of)
#                         one of its own exports: no dynamic relocation of the
#                         library against an exported name, and no relocation
#                         in $B/obj/*.o against a VBF_SYM name of
#                         shim/base/symbols.def, even one the same object defines
#                         (a call to an interposable export goes through the
#                         PLT, so to the first definition in the process: our
#                         wrapper, run again inside our own locks). REAL() is
#                         the way to libc.
# Usage: B=build sh tests/check-layers.sh [LIB]   (objects in $(dirname LIB)/obj)
# Prints `check-layers: N passed, N failed, N skipped`; exit 1 on any failure.
# With VBF_RESULT_FILE set, writes "PASSED FAILED SKIPPED" there.
# VBF_LAYERS_VERBOSE=1 also prints every edge against the layers with the
# symbols or headers behind it.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$ROOT/build}
LIB=${1:-$B/libvboxfix.so}
OBJ=$(dirname "$LIB")/obj
SRC=${VBF_SHIM_DIR:-$ROOT/shim}

# ---- the layer of each module (shell patterns), top to bottom ----------------
# store and cache are peers: neither may use the other.
LAYERS='
wrap    wrap_* vbf
policy  defer dir_tail env hidden own own_search present refuse refuse_held refuse_link refuse_list refuse_mark refuse_rdmake refuse_redirect resolve retry rules own_perm open sysroute view
store   store store_write store_made store_compact store_file store_open store_lock store_page store_table store_fmt store_where
cache   cache cache_canon cache_shared cache_shm
base    arena callmem config fdtab ids lock log path real shares shpage statconv symbols sys

'
# rank of each layer: an edge must go to a lower rank
RANKS='wrap 4 policy 3 store 2 cache 2 base 1'

# ---- today's edges against the layers or closing a cycle: FROM TO  # why -------
ALLOW='
refuse_rdmake own       # vbf_op_created: a redirected object records its owner, while
                        #   own -> present -> refuse_redirect (vbf_view_of, vbf_redirected)
'
# ---- today's strongly connected components, either graph (one per line) ------
KNOTS='
'

CHECK=check-layers
# shellcheck source=tests/check-lib.sh
. "$ROOT/tests/check-lib.sh"

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# The library's files and objects, in shim/ or folders below it (not the CLI's).
find "$SRC" -path "$SRC/cli" -prune -o -type f \( -name '*.c' -o -name '*.h' -o -name '*.def' \) -print |
    sort >"$tmp/files"
[ -d "$OBJ" ] && find "$OBJ" -path "$OBJ/cli" -prune -o -type f -name '*.o' -print | sort >"$tmp/objs"

# ---- layers/table ----------------------------------------------------------------
# -> "module layer rank" for every module of shim/
while read -r f; do
    m=${f##*/}; m=${m%.*}; echo "${m%_int}"
done <"$tmp/files" | sort -u >"$tmp/modules"
printf '%s\n' "$LAYERS" | awk -v ranks="$RANKS" -v mods="$tmp/modules" '
    BEGIN { n = split(ranks, r, " "); for (i = 1; i < n; i += 2) rank[r[i]] = r[i + 1] }
    NF >= 2 { for (i = 2; i <= NF; i++) { np++; pat[np] = $i; lay[np] = $1 } }
    function glob(p, s) { gsub(/\*/, ".*", p); return s ~ ("^" p "$") }
    END {
        while ((getline m < mods) > 0) {
            hit = ""
            for (i = 1; i <= np; i++) if (glob(pat[i], m)) { hit = lay[i]; used[i] = 1; break }
            if (hit == "") print "unlisted", m
            else if (!(hit in rank)) print "norank", m, hit
            else print "module", m, hit, rank[hit]
        }
        for (i = 1; i <= np; i++) if (!used[i]) print "nofile", pat[i]
    }' >"$tmp/table"
awk '$1 == "module" { print $2, $3, $4 }' "$tmp/table" >"$tmp/layer"
if grep -q -v '^module ' "$tmp/table"; then
    fail layers/table "$(grep -v '^module ' "$tmp/table" | sed 's/^unlisted/no layer for/; s/^nofile/no file for/; s/^norank/no rank for/' | tr '\n' ';' | sed 's/;$//; s/;/; /g')"
else
    ok layers/table
fi

# ---- layers/folders: a module's files live in shim/<its layer>/ -------------
while read -r f; do
    rel=${f#"$SRC"/}
    case $rel in */*) dir=${rel%%/*} ;; *) dir=. ;; esac
    m=${f##*/}; m=${m%.*}; m=${m%_int}
    lay=$(awk -v m="$m" '$1 == m { print $2 }' "$tmp/layer")
    [ -n "$lay" ] && [ "$dir" != "$lay" ] && echo "$rel (layer $lay)"
done <"$tmp/files" >"$tmp/misplaced"
if [ -s "$tmp/misplaced" ]; then
    fail layers/folders "not in the folder of its layer: $(tr '\n' ';' <"$tmp/misplaced" | sed 's/;$//; s/;/; /g')"
else
    ok layers/folders
fi

printf '%s\n' "$ALLOW" | sed 's/#.*//' | awk 'NF == 2 { print $1, $2 }' | sort -u >"$tmp/allow"
printf '%s\n' "$KNOTS" | awk 'NF >= 2' >"$tmp/knots"

# ---- the two graphs: "FROM TO WHY" (WHY: the header, or the symbols) ---------
grep -v '\.def$' "$tmp/files" | while read -r f; do
    m=${f##*/}; m=${m%.*}; m=${m%_int}
    sed -n 's/^[ \t]*#[ \t]*include[ \t]*"\([^"]*\)".*/\1/p' "$f" | while read -r h; do
        t=${h##*/}; t=${t%.*}; t=${t%_int}
        [ "$t" != "$m" ] && echo "$m $t ${f##*/}:$h"
    done
done | sort -u >"$tmp/include"

have_obj=0
if [ -s "$tmp/objs" ] && command -v nm >/dev/null 2>&1; then
    have_obj=1
    while read -r o; do
        m=${o##*/}; m=${m%.o}
        grep -q "/$m\.c\$" "$tmp/files" || continue   # a stale object of a removed file
        nm -g --defined-only "$o" | awk -v m="$m" 'NF >= 3 { print "D", $3, m }'
        nm -u "$o" | awk -v m="$m" 'NF >= 2 { print "U", $2, m }'
    done <"$tmp/objs" | awk '
        $1 == "D" { def[$2] = $3; next }
        { use[++n] = $2; from[n] = $3 }
        END {
            for (i = 1; i <= n; i++) {
                s = use[i]
                if ((s in def) && def[s] != from[i]) why[from[i] " " def[s]] = why[from[i] " " def[s]] (why[from[i] " " def[s]] == "" ? "" : ",") s
            }
            for (e in why) print e, why[e]
        }' | sort >"$tmp/nm"
fi

# check_graph NAME EDGES: layers, cycles outside ALLOW, components outside KNOTS.
# Prints the components (more than one module) as "# NAME knot: ..." lines.
check_graph() {
    name=$1 edges=$2
    awk -v layer="$tmp/layer" -v allow="$tmp/allow" -v knots="$tmp/knots" \
        -v verbose="${VBF_LAYERS_VERBOSE:-0}" -v g="$name" '
        BEGIN {
            while ((getline l < layer) > 0) { split(l, f, " "); lay[f[1]] = f[2]; rk[f[1]] = f[3] }
            while ((getline l < allow) > 0) ok[l] = 1
            while ((getline l < knots) > 0) {
                nk++; n = split(l, f, " ")
                for (i = 1; i <= n; i++) knot[f[i]] = nk
            }
        }
        {
            a = $1; b = $2; e = a " " b
            if (!(a in lay) || !(b in lay)) next       # a file the table reports
            node[a] = 1; node[b] = 1
            adj[a] = adj[a] " " b
            up = rk[a] < rk[b] || (rk[a] == rk[b] && lay[a] != lay[b])
            if (up && !(e in ok)) print "FAIL back-edge " a " (" lay[a] ") -> " b " (" lay[b] "): " $3
            else if (up && verbose) print "# " g ": allowed " a " (" lay[a] ") -> " b " (" lay[b] "): " $3
            if (!(e in ok)) radj[a] = radj[a] " " b
            if (e in ok) print "USED " e
        }
        # Tarjan over ADJ (all edges) or RADJ (without ALLOW) into comp[]
        function tarjan(v, which,   n, i, w, k) {
            idx[v] = low[v] = ++counter; st[++sp] = v; on[v] = 1
            n = split(which ? radj[v] : adj[v], k, " ")
            for (i = 1; i <= n; i++) {
                w = k[i]
                if (!(w in idx)) { tarjan(w, which); if (low[w] < low[v]) low[v] = low[w] }
                else if (on[w] && idx[w] < low[v]) low[v] = idx[w]
            }
            if (low[v] == idx[v]) {
                ncomp++
                do { w = st[sp--]; on[w] = 0; comp[w] = ncomp; members[ncomp] = members[ncomp] " " w; size[ncomp]++ } while (w != v)
            }
        }
        function sccs(which,   v) {
            delete idx; delete low; delete on; delete comp; delete members; delete size
            counter = sp = ncomp = 0
            for (v in node) if (!(v in idx)) tarjan(v, which)
        }
        END {
            sccs(1)
            for (c = 1; c <= ncomp; c++) if (size[c] > 1)
                print "FAIL cycle without the ALLOW edges:" members[c]
            sccs(0)
            for (c = 1; c <= ncomp; c++) if (size[c] > 1) {
                print "# " g " knot (" size[c] "):" members[c]
                n = split(members[c], m, " "); k = 0; out = ""
                for (i = 1; i <= n; i++) {
                    print "INKNOT " m[i]
                    if (!(m[i] in knot)) out = out " " m[i]
                    else if (k == 0) k = knot[m[i]]
                    else if (knot[m[i]] != k) out = out " " m[i]
                }
                if (out != "") print "FAIL new or grown cycle:" members[c] " (no KNOTS line holds them all)"
            }
        }' "$edges" >"$tmp/$name.out"
    grep '^# ' "$tmp/$name.out"
    grep '^USED \|^INKNOT ' "$tmp/$name.out" >>"$tmp/used"
    if grep -q '^FAIL ' "$tmp/$name.out"; then
        fail "layers/$name" "$(sed -n 's/^FAIL //p' "$tmp/$name.out" | sort -u | tr '\n' ';' | sed 's/;$//; s/;/; /g' | cut -c1-1500)"
    else
        ok "layers/$name"
    fi
}

: >"$tmp/used"
check_graph include "$tmp/include"
if [ "$have_obj" -eq 1 ]; then
    check_graph nm "$tmp/nm"
else
    fail layers/nm "no objects in $OBJ (build first: make B=... lib)"
fi

# ---- layers/allow-list: nothing listed that no longer exists -----------------
stale=
while read -r a b; do
    grep -q "^USED $a $b\$" "$tmp/used" || stale="$stale; ALLOW $a -> $b"
done <"$tmp/allow"
for m in $(tr '\n' ' ' <"$tmp/knots"); do
    grep -q "^INKNOT $m\$" "$tmp/used" || stale="$stale; KNOTS $m"
done
if [ "$have_obj" -eq 0 ]; then
    skip layers/allow-list "needs the nm graph"
elif [ -n "$stale" ]; then
    fail layers/allow-list "no longer true, remove from tests/check-layers.sh:${stale#;}"
else
    ok layers/allow-list
fi

# ---- layers/no-self-calls ------------------------------------------------------
# objdump -r prints, per object, "RELOCATION RECORDS FOR [section]" and
# "OFFSET TYPE SYMBOL[+-addend]"; debug sections are skipped (they may name
# any function).
sed -n 's/^[ \t]*VBF_SYM[ \t]*([^,]*,[ \t]*\([A-Za-z0-9_]*\).*/\1/p' "$(grep '/symbols\.def$' "$tmp/files" | head -n 1)" | sort -u >"$tmp/exports"
: >"$tmp/self"
if ! command -v objdump >/dev/null 2>&1; then
    fail layers/no-self-calls "objdump missing (binutils)"
elif [ ! -f "$LIB" ] || [ "$have_obj" -eq 0 ]; then
    fail layers/no-self-calls "$LIB and its objects in $OBJ not built"
else
    objdump -T "$LIB" | awk '/^[0-9a-f]+ / && / \.text\t/ { print $NF }' | sort -u >"$tmp/exported"
    objdump -R "$LIB" | awk '
        NR == FNR { want[$1] = 1; next }
        $2 ~ /^R_/ && NF >= 3 {
            v = $3; sub(/[-+]0x[0-9a-f]+$/, "", v); sub(/@.*/, "", v)
            if (v in want) print "libvboxfix.so: " $2 " " v
        }' "$tmp/exported" - >>"$tmp/self"
    # shellcheck disable=SC2046
    objdump -r $(cat "$tmp/objs") | awk '
        NR == FNR { want[$1] = 1; next }
        /file format/ { obj = $1; sub(/:$/, "", obj); sub(/.*\//, "", obj); next }
        /^RELOCATION RECORDS FOR/ { skip = ($0 ~ /\[\.(rela?\.)?debug/); next }
        !skip && $2 ~ /^R_/ && NF >= 3 {
            v = $3; sub(/[-+]0x[0-9a-f]+$/, "", v); sub(/@.*/, "", v)
            if (v in want) print obj ": " $2 " " v
        }' "$tmp/exports" - | sort -u >>"$tmp/self"
    if [ -s "$tmp/self" ]; then
        fail layers/no-self-calls "calls its own exported wrappers (use REAL()): $(tr '\n' ';' <"$tmp/self" | sed 's/;$//; s/;/; /g' | cut -c1-600)"
    else
        ok layers/no-self-calls
    fi
fi

finish
