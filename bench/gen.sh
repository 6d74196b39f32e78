# SPDX-License-Identifier: MIT
# Trees for bench/workloads.sh (sourced). gen_tree DIR FILES: a git
# repository of FILES small files in directories of 100; gen_proj DIR
# [SOURCES] [HEADERS]: a C
# project (sources and headers, objects go where make's OBJ says); gen_nm
# DIR [PACKAGES] [SOURCE DIRS]: an app/ with src/ directories and a
# node_modules tree to resolve in.
gen_tree() {
    local t=$1 n=$2 d f
    mkdir -p "$t"
    for d in $(seq 1 $(( (n + 99) / 100 ))); do
        mkdir -p "$t/d$d"
        for f in $(seq 1 100); do echo "$d $f" >"$t/d$d/f$f.txt"; done
    done
    # the index written again a second later: files as new as the index
    # are "racily clean", and every status would read them all until one
    # rewrites it (in whichever configuration happens to run first)
    ( cd "$t" && git init -q && git add -A && git -c user.email=b@b -c user.name=b commit -qm tree &&
        sleep 1.1 && rm -f .git/index && git reset -q && git status --porcelain ) >/dev/null 2>&1
}

gen_proj() {
    local p=$1 nc=${2:-24} nh=${3:-30} i j
    mkdir -p "$p/include/sub"
    for j in $(seq 1 "$nh"); do
        printf '#pragma once\n#include "sub/s%d.h"\nstatic inline int h%d(int x) { return x + %d; }\n' "$j" "$j" "$j" >"$p/include/h$j.h"
        printf '#pragma once\n#define S%d %d\n' "$j" "$j" >"$p/include/sub/s$j.h"
    done
    for i in $(seq 1 "$nc"); do
        {
            for j in $(seq 1 "$nh"); do echo "#include \"h$j.h\""; done
            echo "int f$i(int x) { return h1(x) + S$nh + $i; }"
        } >"$p/c$i.c"
    done
    {
        echo 'SRC ?= .'
        echo 'OBJ ?= obj'
        echo 'SRCS := $(wildcard $(SRC)/*.c)'
        echo 'OBJS := $(patsubst $(SRC)/%.c,$(OBJ)/%.o,$(SRCS))'
        echo 'all: $(OBJ)/lib.a'
        echo '$(OBJ)/lib.a: $(OBJS)'
        printf '\tar rcs $@ $^\n'
        echo '$(OBJ)/%.o: $(SRC)/%.c | $(OBJ)'
        printf '\t$(CC) -O0 -MMD -I$(SRC)/include -c $< -o $@\n'
        echo '$(OBJ):'
        printf '\tmkdir -p $@\n'
        echo '-include $(OBJS:.o=.d)'
    } >"$p/Makefile"
}

gen_nm() {
    local a=$1/app np=${2:-16} nd=${3:-3} i k
    mkdir -p "$a/src"
    : >"$a/requests"
    : >"$a/dirs"
    for i in $(seq 1 "$nd"); do
        mkdir -p "$a/src/$i/x/y"
        echo "module.exports = 1" >"$a/src/$i/x/y/index.js"
        echo "src/$i/x/y" >>"$a/dirs"
    done
    for i in $(seq 1 "$np"); do
        mkdir -p "$a/node_modules/p$i/lib"
        echo "{\"name\": \"p$i\", \"main\": \"index.js\"}" >"$a/node_modules/p$i/package.json"
        echo "module.exports = $i" >"$a/node_modules/p$i/index.js"
        for k in 1 2; do echo "module.exports = $k" >"$a/node_modules/p$i/lib/m$k.js"; done
        echo "p$i p$i/lib/m1 p$i/lib/m2 p$i/lib/none" >>"$a/requests"
    done
}
