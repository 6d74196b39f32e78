#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# examples/: there is no Docker engine here, so check what the Dockerfiles
# rely on. For each examples/*/Dockerfile: the build stage's COPY lines,
# replayed into an empty directory, are enough for its
# `make install PREFIX=/usr DESTDIR=/out`; what that installs is exactly what
# the final stage COPYs --from=build (and the installed library loads);
# LD_PRELOAD names a copied file; VBOXFIX_OWNER is the service's user; the
# final image is the official one. The Alpine example's musl build is made
# with musl-gcc and must load into a musl program. Then docker-compose.yml
# and the Vagrant example point at files that exist, postgres 18's layout is
# the same in its Dockerfile, compose service and README, .dockerignore and
# .gitignore keep data and build directories out, and hadolint when Debian
# has it.
. "$(dirname "$0")/lib.sh"
EX=$VBF_REPO/examples
[ -d "$EX" ] || skip_all "no examples/"
need_cmd make cc python3
tmp_dir WORK

declare -A WANT_IMAGE=([postgres]=postgres:17 [postgres18]=postgres:18 [alpine-postgres]=postgres:16-alpine
                       [mysql]=mysql:8.4 [mariadb]=mariadb:11)
declare -A WANT_BUILD=([alpine-postgres]=alpine:3.21)
declare -A WANT_OWNER=([postgres]=postgres [postgres18]=postgres [alpine-postgres]=postgres
                       [mysql]=mysql [mariadb]=mysql)

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

    want_build=${WANT_BUILD[$name]:-debian:bookworm}
    expect_eq "$T build stage is $want_build AS build" "${stages[0]:-}" "build=$want_build"
    musl=0
    case $want_build in alpine:*) musl=1 ;; esac
    if [ "$musl" = 1 ] && ! command -v musl-gcc >/dev/null 2>&1; then
        skip "$T musl build" "musl-gcc is not installed (apt-get install musl-tools)"; continue
    fi
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
        case $r in *"make install PREFIX=/usr DESTDIR=/out"*|*"make install CC=musl-gcc PREFIX=/usr DESTDIR=/out"*) mk=$r ;; esac
    done
    if [ "$musl" = 1 ]; then
        case $mk in *"make install CC=musl-gcc "*) ok "$T the musl stage builds with make CC=musl-gcc" ;;
                    *) fail "$T the musl stage builds with make CC=musl-gcc" "got '$mk'" ;; esac
        # the stage's own name for its compiler: Alpine's gcc, here Debian's wrapper
        case ${runs[*]} in *"ln -s /usr/bin/gcc /usr/local/bin/musl-gcc"*) ok "$T the Alpine stage names its gcc musl-gcc" ;;
                           *) fail "$T the Alpine stage names its gcc musl-gcc" "no such RUN line" ;; esac
    fi
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
    expect_eq "$T ENV VBOXFIX_OWNER is the service's user" \
        "$(printf '%s\n' "${envs[@]}" | sed -n 's/^VBOXFIX_OWNER=//p')" "${WANT_OWNER[$name]:-?}"
    lib=$out/usr/lib/libvboxfix.so
    if [ -f "$lib" ] && [ "$musl" = 1 ]; then
        check "$T the installed library links against musl only" sh -c \
            "objdump -p '$lib' | grep -q 'NEEDED.*libc.so\$' && ! objdump -p '$lib' | grep -q 'libc.so.6'"
        if [ -x "$FIX/probe-musl" ]; then
            expect_out "$T the installed library loads into a musl program" "$("$FIX/probe-musl" stat /etc/passwd)" \
                env VBOXFIX_LOG=info LD_PRELOAD="$lib" "$FIX/probe-musl" stat /etc/passwd
            mkdir -p "$WORK/$name.share"
            echo hi >"$WORK/$name.share/f"
            expect_out "$T and presents a share there (VBOXFIX_PATHS, VBOXFIX_OWNER)" \
                "uid=$(id -u daemon) gid=$(id -g daemon) mode=0644 type=f size=3" \
                env VBOXFIX_PATHS="$WORK/$name.share" VBOXFIX_OWNER=daemon LD_PRELOAD="$lib" \
                "$FIX/probe-musl" stat "$WORK/$name.share/f"
        else
            skip "$T the installed library loads into a musl program" "no $FIX/probe-musl (make fixtures with musl-gcc)"
        fi
    elif [ -f "$lib" ]; then
        expect_out "$T the installed library loads (LD_BIND_NOW)" "" env LD_BIND_NOW=1 LD_PRELOAD="$lib" /bin/true
        # every image is glibc >= 2.34 (bookworm 2.36, mysql:8.4 OL9 2.34, noble 2.39)
        newest=$(objdump -T "$lib" "$out/usr/bin/vboxfix" 2>/dev/null | grep -o 'GLIBC_2\.[0-9]*' | sort -Vu | tail -n 1)
        case $newest in
            GLIBC_2.[0-9]|GLIBC_2.[12][0-9]|GLIBC_2.3[0-4]) ok "$T installed files need at most GLIBC_2.34 ($newest)" ;;
            *) fail "$T installed files need at most GLIBC_2.34" "they need $newest" ;;
        esac
    fi
    [ -x "$out/usr/bin/vboxfix" ] && check "$T the installed vboxfix runs" timeout 20 "$out/usr/bin/vboxfix" --version
done

# ---- docker-compose.yml ------------------------------------------------------
if [ -f "$EX/docker-compose.yml" ]; then
    if python3 -c 'import yaml' 2>/dev/null; then
        check "docker-compose.yml: build contexts, Dockerfiles and data volumes" python3 - "$EX" <<'EOF'
import os, sys, yaml
ex = sys.argv[1]
doc = yaml.safe_load(open(os.path.join(ex, "docker-compose.yml")))
services = doc["services"]
assert set(services) >= {"postgres", "postgres18", "postgres-alpine", "mysql", "mariadb"}, services.keys()
# postgres:18's VOLUME is /var/lib/postgresql (PGDATA /var/lib/postgresql/18/docker below it)
data = {"postgres": "/var/lib/postgresql/data", "postgres18": "/var/lib/postgresql",
        "postgres-alpine": "/var/lib/postgresql/data", "mysql": "/var/lib/mysql", "mariadb": "/var/lib/mysql"}
# docker-compose 1.x (Docker Toolbox) reads `services` only under a version 2/3 file
assert str(doc.get("version", "")).split(".")[0] in ("2", "3"), ("version", doc.get("version"))
assert float(doc["version"]) <= 3.7, "newer than docker-compose 1.24 (Docker Toolbox) reads"
ports = [p.split(":")[0] for s in services.values() for p in s.get("ports", [])]
assert len(ports) == len(set(ports)), ("a host port used twice", ports)
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

# ---- postgres 18's layout: Dockerfile, compose file and README agree ----------
P18=$EX/postgres18
if [ -f "$P18/Dockerfile" ] && [ -f "$P18/README.md" ]; then
    expect_out "postgres18: the Dockerfile's VBOXFIX_PATHS hint is the VOLUME /var/lib/postgresql" "/var/lib/postgresql" \
        sed -n 's/^#  *ENV VBOXFIX_PATHS=//p' "$P18/Dockerfile"
    expect_out "postgres18: compose mounts the share at /var/lib/postgresql and names it" \
        "./data/postgres18:/var/lib/postgresql|/var/lib/postgresql" sh -c \
        "sed -n '/^  postgres18:/,/^  [a-z]/p' '$EX/docker-compose.yml' | sed -n 's/^ *- \(\.\/data\/[^ ]*\)\$/\1/p; s/^ *VBOXFIX_PATHS: *//p' | LC_ALL=C sort | paste -sd'|'"
    expect_out "postgres18 README: PGDATA /var/lib/postgresql/18/docker, VOLUME /var/lib/postgresql, -v to it" "yes" sh -c \
        "grep -q '/var/lib/postgresql/18/docker' '$P18/README.md' && grep -q 'VOLUME' '$P18/README.md' \
         && grep -Eq -- '-v [^ ]*:/var/lib/postgresql( |\$)' '$P18/README.md' \
         && grep -q 'VBOXFIX_PATHS=/var/lib/postgresql ' '$P18/README.md' && echo yes"
    expect_out "postgres18 README's docker run mounts nothing at the old /var/lib/postgresql/data" "0" sh -c \
        "grep -c -- '-v [^ ]*:/var/lib/postgresql/data' '$P18/README.md'"
else
    fail "examples/postgres18/Dockerfile and README.md exist" "missing"
fi

# ---- .dockerignore and .gitignore --------------------------------------------
if [ -f "$VBF_REPO/.dockerignore" ]; then
    # Docker's rule: a path is left out when it or a parent matches a line
    # (no line here starts with '!')
    check ".dockerignore: build dirs, data and VM state out; every Dockerfile COPY source in" \
        python3 - "$VBF_REPO" "$EX" <<'EOF'
import fnmatch, glob, os, re, sys
repo, ex = sys.argv[1:]
pats = [l.strip().lstrip("/").rstrip("/") for l in open(os.path.join(repo, ".dockerignore"))
        if l.strip() and not l.startswith("#")]
assert not any(p.startswith("!") for p in pats), "exceptions are not modelled here"
def out(path):
    parts = path.split("/")
    for i in range(1, len(parts) + 1):
        pre = "/".join(parts[:i])
        for p in pats:
            if fnmatch.fnmatchcase(pre, p) or (p.startswith("**/") and fnmatch.fnmatchcase(parts[i - 1], p[3:])):
                return p
    return None
for path in ["build/libvboxfix.so", "build-musl/obj/x.o", ".git/HEAD", "examples/data/postgres/PG_VERSION",
             "examples/vagrant/share/pgdata/PG_VERSION", ".vagrant/machines", "examples/vagrant/.vagrant/x"]:
    assert out(path), (path, "is sent to the daemon")
for df in glob.glob(os.path.join(ex, "*", "Dockerfile")):
    text = open(df).read().replace("\\\n", " ")
    for m in re.finditer(r"^COPY\s+(?!--from)(.*)$", text, re.M):
        for src in m.group(1).split()[:-1]:
            src = src.rstrip("/")
            assert not out(src), (df, src, "left out by .dockerignore", out(src))
            for root, dirs, files in os.walk(os.path.join(repo, src)):
                for f in files:
                    rel = os.path.relpath(os.path.join(root, f), repo)
                    if rel.endswith((".c", ".h", ".def", ".mk", "Makefile")):
                        assert not out(rel), (df, rel, "left out by .dockerignore", out(rel))
EOF
else
    fail ".dockerignore exists at the repository root" "missing"
fi
if git -C "$VBF_REPO" rev-parse --git-dir >/dev/null 2>&1; then
    expect_out ".gitignore: examples/data/, examples/vagrant/share/, .vagrant/ are ignored" "4" sh -c \
        "git -C '$VBF_REPO' check-ignore examples/data/postgres/PG_VERSION examples/vagrant/share/pgdata \
            .vagrant/machines examples/vagrant/.vagrant/machines | wc -l"
    expect_out ".gitignore: the examples themselves are not" "0" sh -c \
        "git -C '$VBF_REPO' check-ignore examples/postgres/Dockerfile examples/vagrant/Vagrantfile examples/README.md | wc -l"
else
    skip ".gitignore checks" "not a git checkout"
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
for f in postgres postgres18 alpine-postgres mysql mariadb vagrant; do
    [ -f "$EX/$f/README.md" ] && ok "examples/$f/README.md exists" || fail "examples/$f/README.md exists" missing
done
expect_out "postgres README: /etc/ld.so.preload as the alternative to exec re-injection" "yes" \
    sh -c "grep -q 'ld.so.preload' '$EX/postgres/README.md' && grep -q nss_wrapper '$EX/postgres/README.md' && echo yes"

grep -qF "find \"\$DATADIR\" \\! -user mysql \\( -exec chown mysql: '{}' + -o -true \\)" "$EX/mariadb/README.md" \
    && ok "mariadb README quotes the 11.x entrypoint's chown line" \
    || fail "mariadb README quotes the 11.x entrypoint's chown line" "not found"
grep -qF -- "-exec chown --no-dereference mysql '{}' +" "$EX/mysql/README.md" \
    && ok "mysql README quotes the 8.4 entrypoint's chown line" \
    || fail "mysql README quotes the 8.4 entrypoint's chown line" "not found"
grep -q 'Docker Toolbox' "$EX/README.md" && grep -qF 'C:\Users' "$EX/README.md" && grep -q 'docker-compose. 1\.x' "$EX/README.md" \
    && ok "examples/README.md: the Docker Toolbox note (C:\\Users, docker-compose 1.x)" \
    || fail "examples/README.md: the Docker Toolbox note" "missing"

# ---- make demo / make bench leave the user's git configuration alone --------
hits=$(grep -nE 'git +(-c [^ ]+ +)*config +(--global|--system)|\.gitconfig' "$EX"/*.sh "$VBF_REPO"/bench/*.sh 2>/dev/null |
       grep -v '^[^:]*:[0-9]*: *#' | head -n 3 | tr '\n' ' ')
expect_eq "examples/ and bench/ scripts write no global or system git configuration" "$hits" ""

# ---- hadolint ----------------------------------------------------------------
if command -v hadolint >/dev/null 2>&1; then
    for df in "$EX"/*/Dockerfile; do
        check "hadolint $(basename "$(dirname "$df")")/Dockerfile" hadolint "$df"
    done
else
    cand=$(apt-cache policy hadolint 2>/dev/null | sed -n 's/^ *Candidate: *//p')
    skip "hadolint" "not installed, and Debian has no hadolint package (apt-cache policy hadolint: candidate '${cand:-none}')"
fi
