# SPDX-License-Identifier: MIT
# vboxfix: libvboxfix.so (LD_PRELOAD library), the vboxfix command, tests.
#   make            build into $(B)/
#   make test       install missing Debian packages (as root), build, run every test
#   make demo       install, build, emulate a share and show the difference
#   make install    PREFIX=/usr DESTDIR=... -> library, command, man pages, completion
#   make uninstall  the same PREFIX and DESTDIR: removes every file install put
#   make bench      benchmarks -> bench/results.md
#   make version    prints the version (the first line of debian/changelog)
# B= chooses the build directory, so parallel builds (CC=musl-gcc, sanitizers)
# never share objects.

PREFIX  ?= /usr/local
DESTDIR ?=
B       ?= build
CC      ?= cc
CFLAGS  ?= -O2 -g
# The version is written once, in debian/changelog ("vboxfix (X.Y.Z) ...").
VERSION := $(or $(shell sed -n '1s/^[^ ]* (\([^ ]*\)) .*/\1/p' debian/changelog 2>/dev/null),unknown)

# No _FILE_OFFSET_BITS here: it would rename our stat/open (sys.h refuses it).
WARN     = -std=c11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
DEFS     = -DVBF_VERSION='"$(VERSION)"' -DVBF_LIBDIR='"$(PREFIX)/lib"'
# -fno-delete-null-pointer-checks: glibc before 2.34 declares __nonnull in a
# way shim/base/sys.h cannot undo, and a NULL test in a wrapper must never go.
# The library's layers, top to bottom (docs/design.md); tests/check-layers.sh
# holds every file to the direction wrap -> policy -> store, cache -> base.
LAYERS   = wrap policy store cache base
SHIM_INC = $(LAYERS:%=-Ishim/%)
SHIM_CF  = $(WARN) -D_GNU_SOURCE -fPIC -fvisibility=hidden -fno-delete-null-pointer-checks $(DEFS) $(SHIM_INC)
CLI_CF   = $(WARN) -D_GNU_SOURCE $(DEFS) $(SHIM_INC) -Ishim/cli
DEP_CF   = -MMD -MP
LIBS     = -Wl,--no-as-needed -ldl -lpthread -Wl,--as-needed

# the exported entry points; the rest (start-up, policies, store, cache,
# base) is core.a, which the CLI and the unit tests link too
WRAP_SRC = $(wildcard shim/wrap/wrap_*.c)
CORE_SRC = $(filter-out $(WRAP_SRC) shim/base/real.c, $(wildcard $(LAYERS:%=shim/%/*.c)))
CORE_OBJ = $(CORE_SRC:shim/%.c=$(B)/obj/%.o)
LIB_OBJ  = $(CORE_OBJ) $(WRAP_SRC:shim/%.c=$(B)/obj/%.o) $(REAL_OBJ)
REAL_OBJ = $(B)/obj/base/real.o
LIB      = $(B)/libvboxfix.so
CLI_SRC  = $(wildcard shim/cli/*.c)
CLI_OBJ  = $(CLI_SRC:shim/cli/%.c=$(B)/obj/cli/%.o)
CLI      = $(B)/vboxfix
HDRS     = $(wildcard $(LAYERS:%=shim/%/*.h)) shim/base/symbols.def

UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/unit/%)

# What make install puts under $(DESTDIR)$(PREFIX), and make uninstall removes.
MAN1       = $(wildcard docs/man/*.1)
MAN7       = $(wildcard docs/man/*.7)
COMPLETION = $(wildcard shim/cli/vboxfix.bash-completion)
LIBDIR     = $(DESTDIR)$(PREFIX)/lib
BINDIR     = $(DESTDIR)$(PREFIX)/bin
MANDIR     = $(DESTDIR)$(PREFIX)/share/man
COMPDIR    = $(DESTDIR)$(PREFIX)/share/bash-completion/completions

# $(B)/.prefix holds the PREFIX and VERSION the objects were compiled with
# (both are baked in: the CLI looks for the library in $(PREFIX)/lib). It is
# remade, and so every object after it, only when they differ from the file:
# `make && make install PREFIX=/usr` recompiles; make -n and -q tell the truth.
STAMP      := $(B)/.prefix
STAMP_TEXT := PREFIX=$(PREFIX) VERSION=$(VERSION)
ifneq ($(shell cat '$(STAMP)' 2>/dev/null),$(STAMP_TEXT))
STAMP_FORCE = FORCE
endif
$(STAMP): $(STAMP_FORCE)
	@mkdir -p $(@D)
	@printf '%s\n' '$(STAMP_TEXT)' >$@
FORCE:

.PHONY: all lib cli install uninstall test unit integration check-abi check-layers demo bench clean deps fixtures version FORCE
all: $(LIB) $(CLI)
lib: $(LIB)
cli: $(CLI)

# Test fixtures (probes, the refusal preload), hardening and fuzzing targets.
# Included here, before the rules below that read UNIT_BIN.
include tests/fixtures.mk
-include mk/hardening.mk
-include tests/fuzz/fuzz.mk
fixtures: $(FIXTURES)

# Objects depend on the headers they include (-MMD writes $(B)/obj/*.d).
$(B)/obj/%.o: shim/%.c $(STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SHIM_CF) $(DEP_CF) -c -o $@ $<

$(B)/obj/cli/%.o: shim/cli/%.c $(STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(CLI_CF) $(DEP_CF) -c -o $@ $<

-include $(wildcard $(B)/obj/*/*.d)

$(LIB): $(LIB_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -o $@ $(LIB_OBJ) -Wl,-z,defs \
	    -Wl,-z,nodelete -Wl,-soname,libvboxfix.so $(LIBS)

$(B)/core.a: $(CORE_OBJ)
	rm -f $@; ar rcs $@ $^

$(CLI): $(CLI_OBJ) $(REAL_OBJ) $(B)/core.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(REAL_OBJ) $(B)/core.a $(LIBS)

# Unit tests: the core modules with the real-function table replaced by fakes.
$(B)/unit/%: tests/unit/%.c tests/unit/fake_real.c tests/unit/fake_share.c tests/unit/fake_real.h $(B)/core.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -D_GNU_SOURCE $(SHIM_INC) -Itests/unit -o $@ $< tests/unit/fake_real.c tests/unit/fake_share.c $(B)/core.a -lcmocka

install: all
	install -d $(LIBDIR) $(BINDIR)
	install -m 0755 $(LIB) $(LIBDIR)/libvboxfix.so
	install -m 0755 $(CLI) $(BINDIR)/vboxfix
	$(if $(MAN1),install -d $(MANDIR)/man1 && install -m 0644 $(MAN1) $(MANDIR)/man1/)
	$(if $(MAN7),install -d $(MANDIR)/man7 && install -m 0644 $(MAN7) $(MANDIR)/man7/)
	$(if $(COMPLETION),install -d $(COMPDIR) && install -m 0644 $(COMPLETION) $(COMPDIR)/vboxfix)

# Files only: the directories may hold other programs' files.
uninstall:
	rm -f $(LIBDIR)/libvboxfix.so $(BINDIR)/vboxfix $(COMPDIR)/vboxfix \
	    $(MAN1:docs/man/%=$(MANDIR)/man1/%) $(MAN7:docs/man/%=$(MANDIR)/man7/%)

version:
	@echo $(VERSION)

deps:
	@sh .ci/deps.sh

unit: $(UNIT_BIN)
	@sh tests/run-unit.sh $(UNIT_BIN)

integration: all fixtures
	@B=$(abspath $(B)) sh tests/run-integration.sh

check-abi: $(LIB)
	@B=$(abspath $(B)) sh tests/check-abi.sh

check-layers: $(LIB)
	@B=$(abspath $(B)) sh tests/check-layers.sh

# The unit tests also run under ASan and UBSan (their own build dirs) first.
test: deps
	$(MAKE) all fixtures $(UNIT_BIN)
	$(MAKE) test-asan test-ubsan
	@B=$(abspath $(B)) sh tests/run-all.sh

demo:
	@sh .ci/deps.sh demo
	$(MAKE) all
	@B=$(abspath $(B)) bash examples/demo.sh

bench: deps
	$(MAKE) all fixtures
	@B=$(abspath $(B)) sh bench/run.sh

clean:
	rm -rf $(B)

# Differential conformance, the long run (t_97 in make test is the short one):
# the same sequences on a local directory and on an emulated share under the
# library, compared call by call (tests/conformance/). CONF_SEEDS (the random
# walks' seeds), CONF_COUNT (sequences per seed and kind, solo and multi-user),
# CONF_LEN (calls per sequence); CONF_KEEP=DIR keeps sequences and outputs.
# The default is about 240,000 calls, 4 minutes on 2 cores.
CONF_SEEDS ?= $(shell seq 1 40)
CONF_COUNT ?= 100
CONF_LEN   ?= 30
.PHONY: conformance
conformance: all fixtures
	@B=$(abspath $(B)) CONF_SEEDS='$(CONF_SEEDS)' CONF_COUNT='$(CONF_COUNT)' \
	    CONF_LEN='$(CONF_LEN)' CONF_KEEP='$(CONF_KEEP)' bash tests/conformance/run.sh
