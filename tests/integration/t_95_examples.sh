#!/usr/bin/env bash
# examples/: there is no Docker engine here, so check what the Dockerfiles
# rely on. For each examples/*/Dockerfile: the build stage's COPY lines,
# replayed into an empty directory, are enough for its
# `make install PREFIX=/usr DESTDIR=/out`; what that installs is exactly what
# the final stage COPYs --from=build (and the installed library loads);
# LD_PRELOAD names a copied file; the final image is the official one. Then
# docker-compose.yml and the Vagrant example point at files that exist, and
# hadolint when Debian has it.
. "$(dirname "$0")/lib.sh"
EX=$VBF_REPO/examples
[ -d "$EX" ] || skip_all "no examples/"
need_cmd make cc python3
tmp_dir WORK

declare -A WANT_IMAGE=([postgres]=postgres:16 [mysql]=mysql:8.4 [mariadb]=mariadb:11)

# parse DOCKERFILE: prints shell-quoted lines
#   stage NAME IMAGE | copy SRC... DST (build stage) | workdir DIR
#   run CMD (build stage) | final IMAGE | fcopy FROM SRC DST | env K V
parse() {
    python3 - "$1" <<'EOF'
import re, shlex, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
stage = None
for line in text.splitlines():
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    word, _, rest = line.partition(" ")
    word = word.upper()
    args = shlex.split(rest)
    q = lambda *a: print(" ".join(shlex.quote(x) for x in a))
    if word == "FROM":
        m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?$", rest.strip(), re.I)
        stage = m.group(2) or ""
        q("stage", stage or "-", m.group(1))
    elif word == "COPY":
        frm = [a for a in args if a.startswith("--from=")]
        plain = [a for a in args if not a.startswith("--")]
        if frm:
            q("fcopy", frm[0][7:], *plain)
        else:
            q("copy", stage or "-", *plain)
    elif word == "WORKDIR":
        q("workdir", stage or "-", args[0])
    elif word == "RUN":
        q("run", stage or "-", rest.strip())
    elif word == "ENV":
        for kv in args:
            k, _, v = kv.partition("=")
            q("env", stage or "-", k, v)
EOF
}

for df in "$EX"/*/Dockerfile; do
    name=$(basename "$(dirname "$df")")
    T="[$name]"
    if ! parse "$df" >"$WORK/$name.parsed" 2>"$WORK/$name.err"; then
        fail "$T Dockerfile parses" "$(_vbf_oneline "$WORK/$name.err")"; continue
    fi
    mapfile -t lines <"$WORK/$name.parsed"
    stages=() workdir=/ copies=() runs=() fcopies=() envs=() final_image=
    for l in "${lines[@]}"; do
        eval "set -- $l"
        case $1 in
            stage) stages+=("$2=$3"); final_image=$3 ;;
            workdir) [ "$2" = build ] && workdir=$3 ;;
            copy) [ "$2" = build ] && copies+=("$(printf '%q ' "${@:3}")") ;;
            run) [ "$2" = build ] && runs+=("$3") ;;
            fcopy) fcopies+=("$(printf '%q ' "${@:2}")") ;;
            env) [ "$2" != build ] && envs+=("$3=$4") ;;
        esac
    done

    expect_eq "$T build stage is debian:bookworm AS build" "${stages[0]:-}" "build=debian:bookworm"
    expect_eq "$T final stage is the official image" "$final_image" "${WANT_IMAGE[$name]:-?}"

    # the build stage: replay its COPYs (context = repository root) into ctx
    ctx=$WORK/$name.ctx
    mkdir -p "$ctx$workdir"
    copy_ok=1
    for c in "${copies[@]}"; do
        eval "set -- $c"
        dst=${!#}; set -- "${@:1:$#-1}"
        case $dst in /*) ;; *) dst=$workdir/$dst ;; esac
        for src in "$@"; do
            if [ -d "$VBF_REPO/$src" ]; then
                mkdir -p "$ctx$dst" && cp -a "$VBF_REPO/$src/." "$ctx$dst/" || copy_ok=0
            elif [ -f "$VBF_REPO/$src" ]; then
                case $dst in */) mkdir -p "$ctx$dst" && cp -a "$VBF_REPO/$src" "$ctx$dst" || copy_ok=0 ;;
                             *) mkdir -p "$(dirname "$ctx$dst")" && cp -a "$VBF_REPO/$src" "$ctx$dst" || copy_ok=0 ;; esac
            else
                fail "$T COPY $src exists in the repository" "missing"; copy_ok=0
            fi
        done
    done
    [ "$copy_ok" = 1 ] && ok "$T build-stage COPY sources exist"

    # its make line, as written, with /out and the build dir moved under $WORK
    mk=
    for r in "${runs[@]}"; do
        case $r in *"make install PREFIX=/usr DESTDIR=/out"*) mk=$r ;; esac
    done
    if [ -z "$mk" ]; then
        fail "$T build stage runs make install PREFIX=/usr DESTDIR=/out" "no such RUN line"; continue
    fi
    mk=${mk#*make }   # the arguments of make
    out=$WORK/$name.out
    key=$(printf '%s\n' "${copies[@]}" "$mk" | md5sum | cut -c1-12)
    if [ -d "$WORK/built.$key" ]; then   # the same build stage was made already
        cp -a "$WORK/built.$key" "$out"
        ok "$T make install from the COPYed files alone (same build stage as before)"
    else
        # shellcheck disable=SC2086
        if (cd "$ctx$workdir" && eval "make -s $(echo "$mk" | sed "s#DESTDIR=/out#DESTDIR=$out#; s#B=/tmp/build#B=$WORK/$name.b#")") \
            >"$WORK/$name.make" 2>&1; then
            ok "$T make install from the COPYed files alone"
            cp -a "$out" "$WORK/built.$key"
        else
            fail "$T make install from the COPYed files alone" "$(tail -n 5 "$WORK/$name.make" | tr '\n' ' ')"
            continue
        fi
    fi

    # what the final stage copies: exactly the installed lib and bin files
    copied=() dests=()
    for c in "${fcopies[@]}"; do
        eval "set -- $c"
        [ "$1" = build ] || continue
        copied+=("${2#/out/}"); dests+=("$3")
    done
    installed=$(cd "$out" && find . -type f \( -path './usr/lib/*' -o -path './usr/bin/*' \) | sed 's#^\./##' | sort)
    expect_eq "$T COPY --from=build takes exactly what make install puts in lib/ and bin/" \
        "$(printf '%s\n' "${copied[@]}" | sort)" "$installed"
    for i in "${!copied[@]}"; do
        expect_eq "$T ${copied[$i]} goes to the same path in the image" "${dests[$i]}" "/${copied[$i]}"
    done
    expect_eq "$T ENV LD_PRELOAD is the copied library" \
        "$(printf '%s\n' "${envs[@]}" | sed -n 's/^LD_PRELOAD=//p')" "/usr/lib/libvboxfix.so"
    lib=$out/usr/lib/libvboxfix.so
    if [ -f "$lib" ]; then
        expect_out "$T the installed library loads (LD_BIND_NOW)" "" env LD_BIND_NOW=1 LD_PRELOAD="$lib" /bin/true
        # every image is glibc >= 2.34 (bookworm 2.36, mysql:8.4 OL9 2.34, noble 2.39)
        newest=$(objdump -T "$lib" "$out/usr/bin/vboxfix" 2>/dev/null | grep -o 'GLIBC_2\.[0-9]*' | sort -Vu | tail -n 1)
        case $newest in
            GLIBC_2.[0-9]|GLIBC_2.[12][0-9]|GLIBC_2.3[0-4]) ok "$T installed files need at most GLIBC_2.34 ($newest)" ;;
            *) fail "$T installed files need at most GLIBC_2.34" "they need $newest" ;;
        esac
    fi
    [ -x "$out/usr/bin/vboxfix" ] && check "$T the installed vboxfix runs" "$out/usr/bin/vboxfix" --version
done

# ---- docker-compose.yml ------------------------------------------------------
if [ -f "$EX/docker-compose.yml" ]; then
    if python3 -c 'import yaml' 2>/dev/null; then
        check "docker-compose.yml: build contexts, Dockerfiles and data volumes" python3 - "$EX" <<'EOF'
import os, sys, yaml
ex = sys.argv[1]
doc = yaml.safe_load(open(os.path.join(ex, "docker-compose.yml")))
services = doc["services"]
assert set(services) >= {"postgres", "mysql", "mariadb"}, services.keys()
data = {"postgres": "/var/lib/postgresql/data", "mysql": "/var/lib/mysql", "mariadb": "/var/lib/mysql"}
for name, s in services.items():
    ctx = os.path.normpath(os.path.join(ex, s["build"]["context"]))
    assert os.path.isfile(os.path.join(ctx, "Makefile")), (name, "context is not the repository root")
    assert os.path.isfile(os.path.join(ctx, s["build"]["dockerfile"])), (name, "no Dockerfile")
    vols = [v.split(":") for v in s["volumes"]]
    assert any(h.startswith("./") and c == data[name] for h, c, *_ in vols), (name, vols)
    assert s["environment"].get("VBOXFIX_PATHS") == data[name], (name, "VBOXFIX_PATHS")
EOF
    else
        skip "docker-compose.yml checks" "python3-yaml is not installed"
    fi
else
    fail "examples/docker-compose.yml exists" "missing"
fi

# ---- Vagrant -----------------------------------------------------------------
V=$EX/vagrant
if [ -f "$V/Vagrantfile" ]; then
    expect_out "Vagrantfile: a synced folder of type virtualbox (vboxsf)" "yes" \
        sh -c "grep -Eq 'synced_folder.*type: *\"virtualbox\"' '$V/Vagrantfile' && echo yes"
    prov=$(sed -n 's/.*provision "shell", *path: *"\([^"]*\)".*/\1/p' "$V/Vagrantfile" | head -n 1)
    if [ -n "$prov" ] && [ -f "$V/$prov" ]; then
        check "Vagrant provisioning script $prov is valid sh" sh -n "$V/$prov"
        expect_out "$prov builds and installs the library" "yes" \
            sh -c "grep -q 'make .*install PREFIX=/usr' '$V/$prov' && echo yes"
    else
        fail "Vagrantfile names an existing provisioning script" "got '$prov'"
    fi
else
    fail "examples/vagrant/Vagrantfile exists" "missing"
fi

# ---- READMEs name the errors; the nss_wrapper alternative is documented -------
expect_out "postgres README names initdb's and the server's errors" "2" sh -c \
    "grep -c -e 'could not change permissions of directory' -e 'has wrong ownership' '$EX/postgres/README.md' | head -n1 | sed 's/^[3-9]/2/'"
for f in postgres mysql mariadb vagrant; do
    [ -f "$EX/$f/README.md" ] && ok "examples/$f/README.md exists" || fail "examples/$f/README.md exists" missing
done
expect_out "postgres README: /etc/ld.so.preload as the alternative to exec re-injection" "yes" \
    sh -c "grep -q 'ld.so.preload' '$EX/postgres/README.md' && grep -q nss_wrapper '$EX/postgres/README.md' && echo yes"

# ---- hadolint ----------------------------------------------------------------
if command -v hadolint >/dev/null 2>&1; then
    for df in "$EX"/*/Dockerfile; do
        check "hadolint $(basename "$(dirname "$df")")/Dockerfile" hadolint "$df"
    done
else
    cand=$(apt-cache policy hadolint 2>/dev/null | sed -n 's/^ *Candidate: *//p')
    skip "hadolint" "not installed, and Debian has no hadolint package (apt-cache policy hadolint: candidate '${cand:-none}')"
fi
