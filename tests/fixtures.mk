# SPDX-License-Identifier: MIT
# Test fixtures, included by the top-level Makefile (uses B, CC, CFLAGS, WARN).
# Each adds itself to FIXTURES; `fixtures:` is the Makefile's, after every
# include (mk/hardening.mk adds its own).
#   $(B)/fixtures/probe          plain
#   $(B)/fixtures/probe-lfs      -D_FILE_OFFSET_BITS=64 (stat64, open64, ...)
#   $(B)/fixtures/probe-fortify  -O2 -D_FORTIFY_SOURCE=2 (__open_2, ...)
#   $(B)/fixtures/probe-static   -static: bypasses any preload (the limitation)
#   $(B)/fixtures/probe-musl     musl-gcc, only when musl-gcc is installed
#   $(B)/fixtures/librefuse.so   the refusal preload (tests/fixtures/refuse*.c, refuse.h)

FIX_DIR   = $(B)/fixtures
FIX_CF    = $(WARN) -D_GNU_SOURCE
MUSL_GCC := $(shell command -v musl-gcc 2>/dev/null)
REFUSE_SRC = tests/fixtures/refuse.c tests/fixtures/refuse_busy.c \
             tests/fixtures/refuse_names.c tests/fixtures/refuse_io.c
PROBES    = $(FIX_DIR)/probe $(FIX_DIR)/probe-lfs $(FIX_DIR)/probe-fortify \
            $(FIX_DIR)/probe-static $(if $(MUSL_GCC),$(FIX_DIR)/probe-musl)

FIXTURES  = $(PROBES) $(FIX_DIR)/librefuse.so

$(FIX_DIR)/probe: tests/fixtures/probe.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(FIX_CF) -o $@ $<

$(FIX_DIR)/probe-lfs: tests/fixtures/probe.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(FIX_CF) -D_FILE_OFFSET_BITS=64 -o $@ $<

$(FIX_DIR)/probe-fortify: tests/fixtures/probe.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(FIX_CF) -O2 -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2 -o $@ $<

$(FIX_DIR)/probe-static: tests/fixtures/probe.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(FIX_CF) -DPROBE_STATIC -static -o $@ $<

$(FIX_DIR)/probe-musl: tests/fixtures/probe.c
	@mkdir -p $(@D)
	$(MUSL_GCC) $(CFLAGS) $(FIX_CF) -o $@ $<

# No _FILE_OFFSET_BITS and no fortify: they would rename or wrap our open.
$(FIX_DIR)/librefuse.so: $(REFUSE_SRC) tests/fixtures/refuse.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(FIX_CF) -U_FORTIFY_SOURCE -fPIC -shared -fvisibility=hidden \
	    -o $@ $(REFUSE_SRC) -ldl -lpthread

# FIX_BIN (one binary per tests/fixtures/*.c) is not what the fixtures are;
# build refuse*.c (one library in several files) only as librefuse.so.

# Logged chown/chmod writers for the store's kill tests (t_86, t_87,
# tests/stress); their verifier is tests/fixtures/ackcheck.py.
FIXTURES += $(FIX_DIR)/acker
$(FIX_DIR)/acker: tests/fixtures/acker.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(FIX_CF) -pthread -o $@ $<

# t_82_small.sh (fork while the deferred-unlink lock is held) and
# t_81_valgrind.sh (an error memcheck must report)
FIXTURES += $(FIX_DIR)/small
$(FIX_DIR)/small: tests/fixtures/small.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(FIX_CF) -pthread -o $@ $<

# t_88_hostile_pages.sh: another uid rewriting the shared pages
FIXTURES += $(FIX_DIR)/hostile
$(FIX_DIR)/hostile: tests/fixtures/hostile.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(FIX_CF) -o $@ $<

# t_84_oddargs.sh (one odd-argument case per child) and t_85_record_all.sh
# (a create racing stats of the same name, an unlinked file's descriptor)
FIXTURES += $(FIX_DIR)/oddargs $(FIX_DIR)/race
$(FIX_DIR)/oddargs: tests/fixtures/oddargs.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(FIX_CF) -o $@ $< -ldl
$(FIX_DIR)/race: tests/fixtures/race.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(FIX_CF) -pthread -o $@ $<
