# SPDX-License-Identifier: MIT
# Hardening (issue 8): every process, every libc. Included by the top-level
# Makefile after tests/fixtures.mk (uses B, CC, CFLAGS, WARN, FIX_DIR, FIX_CF,
# LIB_OBJ, CLI_OBJ, CLI, UNIT_BIN), before the rules that read UNIT_BIN.
#
#   make stress        t_80's stress run at full size: 32 threads x 4 processes, 60 s;
#                      then tests/stress/store_stress.sh, STORE_STRESS_SECONDS (150)
#   make test-musl     musl libvboxfix.so in $(B)/musl and the musl integration test
#   make test-asan     unit tests and the library with AddressSanitizer, in $(B)-asan
#   make test-ubsan    the same with UndefinedBehaviorSanitizer, in $(B)-ubsan
#   make valgrind      memcheck of the probes with the library on the emulated share
#   make fuzz-parsers  each libFuzzer harness of tests/fuzz/ for FUZZ_TIME seconds
#   make fuzz          fuzz-parsers, then fuzz-store (the state-store loader, tests/fuzz/fuzz.mk)
#   make CC=musl-gcc   builds a musl library (uthash reached through $(B)/musl-include)

SAN_CC    ?= $(CC)
FUZZ_CC   ?= clang
FUZZ_TIME ?= 60
STRESS_SECONDS ?= 60
STORE_STRESS_SECONDS ?= 150

# ---- fixtures: stress, exec driver, fault preload -----------------------------
HARD_FIX = $(FIX_DIR)/stress $(FIX_DIR)/execs $(FIX_DIR)/libfaults.so
FIXTURES += $(HARD_FIX)

$(FIX_DIR)/stress: tests/fixtures/stress.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(FIX_CF) -pthread -o $@ $<

$(FIX_DIR)/execs: tests/fixtures/execs.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(FIX_CF) -o $@ $<

# No fortify or _FILE_OFFSET_BITS: they would rename the functions it wraps.
$(FIX_DIR)/libfaults.so: tests/fixtures/faults.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(FIX_CF) -U_FORTIFY_SOURCE -fPIC -shared -fvisibility=hidden -o $@ $< -ldl

# ---- musl: uthash lives in /usr/include, which musl-gcc does not search -----
# A one-header include dir, so no other glibc header can leak into the build.
ifneq ($(findstring musl,$(notdir $(CC))),)
MUSL_INC = $(B)/musl-include
SHIM_CF += -I$(MUSL_INC)
$(CLI_OBJ) $(CLI): CFLAGS += -I$(MUSL_INC)
$(LIB_OBJ) $(CLI_OBJ) $(CLI): | $(MUSL_INC)/uthash.h
$(MUSL_INC)/uthash.h:
	@mkdir -p $(@D)
	@test -f /usr/include/uthash.h || { echo "uthash.h not found (apt-get install uthash-dev)" >&2; exit 1; }
	ln -sf /usr/include/uthash.h $@
endif

.PHONY: test-musl test-asan test-ubsan valgrind stress fuzz-parsers fuzz
test-musl: all fixtures
	@B=$(abspath $(B)) sh tests/run-integration.sh t_70_musl

# ---- fuzz corpora replayed as unit tests (normal compiler, cmocka) ----------
FUZZ_NAMES = config path mountinfo
HARD_UNIT  = $(FUZZ_NAMES:%=$(B)/unit/test_fuzz_%)
UNIT_BIN  += $(HARD_UNIT)

$(B)/unit/test_fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/unit/fake_real.c $(B)/core.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -D_GNU_SOURCE $(SHIM_INC) -Itests/unit \
	    -DFUZZ_CORPUS='"$(abspath tests/fuzz/corpus/$*)"' -o $@ \
	    tests/fuzz/replay.c $< tests/unit/fake_real.c $(B)/core.a -lcmocka

# ---- sanitizers: own build dirs, unit tests (and fuzz replays) run there ----
# The library is built too; preloading a sanitized library needs the
# sanitizer runtime first in LD_PRELOAD, which the smoke test below does.
ASAN_FLAGS  = -O1 -g -fsanitize=address -fno-omit-frame-pointer
UBSAN_FLAGS = -O1 -g -fsanitize=undefined -fno-sanitize-recover=all

test-asan:
	$(MAKE) B=$(B)-asan CC=$(SAN_CC) CFLAGS="$(ASAN_FLAGS)" lib $(B)-asan/fixtures/probe unit
	@B=$(abspath $(B))-asan SAN=address CC=$(SAN_CC) sh tests/sanitizer-smoke.sh

test-ubsan:
	$(MAKE) B=$(B)-ubsan CC=$(SAN_CC) CFLAGS="$(UBSAN_FLAGS)" lib $(B)-ubsan/fixtures/probe unit
	@B=$(abspath $(B))-ubsan SAN=undefined CC=$(SAN_CC) sh tests/sanitizer-smoke.sh

valgrind: all fixtures
	@B=$(abspath $(B)) sh tests/run-integration.sh t_81_valgrind

# then the state store's (tests/stress/store_stress.sh): kills, compactions,
# two containers, hostile pages; both run, either failing fails
stress: all fixtures
	@rc=0; B=$(abspath $(B)) VBF_STRESS_SECONDS=$(STRESS_SECONDS) VBF_STRESS_THREADS=32 VBF_STRESS_PROCS=4 \
	    VBF_TEST_TIMEOUT=$$(($(STRESS_SECONDS) * 3 + 120)) sh tests/run-integration.sh t_80_hardening || rc=1; \
	B=$(abspath $(B)) timeout -k 10 $$(($(STORE_STRESS_SECONDS) + 240)) \
	    bash tests/stress/store_stress.sh $(STORE_STRESS_SECONDS) </dev/null || rc=1; exit $$rc

# ---- libFuzzer: the parsers (the store loader is tests/fuzz/fuzz.mk's) -----
FUZZ_CORE = shim/base/config.c shim/base/log.c shim/base/path.c shim/base/shares.c shim/base/callmem.c shim/base/lock.c tests/unit/fake_real.c
FUZZ_BINS = $(FUZZ_NAMES:%=$(B)/fuzz/fuzz_%)

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_CORE) $(HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -std=c11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE $(DEFS) $(SHIM_INC) -Itests/unit \
	    -o $@ $< $(FUZZ_CORE)

fuzz-parsers: $(FUZZ_BINS)
	@for n in $(FUZZ_NAMES); do \
	    mkdir -p $(B)/fuzz/corpus-$$n; \
	    echo "## fuzz_$$n: $(FUZZ_TIME) s"; \
	    $(B)/fuzz/fuzz_$$n -max_total_time=$(FUZZ_TIME) -max_len=8192 -rss_limit_mb=1024 -timeout=5 \
	        -print_final_stats=1 $(B)/fuzz/corpus-$$n tests/fuzz/corpus/$$n || exit 1; \
	done

# The one definition of fuzz: every harness, the parsers' then the store's.
fuzz: fuzz-parsers fuzz-store
