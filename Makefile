# vboxfix: libvboxfix.so (LD_PRELOAD library), the vboxfix command, tests.
#   make            build into $(B)/
#   make test       install missing Debian packages (as root), build, run every test
#   make demo       install, build, emulate a share and show the difference
#   make install    PREFIX=/usr DESTDIR=... -> $(DESTDIR)$(PREFIX)/lib/libvboxfix.so
#   make bench      benchmarks -> bench/results.md
# B= chooses the build directory, so parallel builds (CC=musl-gcc, sanitizers)
# never share objects.

PREFIX  ?= /usr/local
DESTDIR ?=
B       ?= build
CC      ?= cc
CFLAGS  ?= -O2 -g
VERSION := 0.1.0

# No _FILE_OFFSET_BITS here: it would rename our stat/open (sys.h refuses it).
WARN     = -std=c11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
SHIM_CF  = $(WARN) -D_GNU_SOURCE -fPIC -fvisibility=hidden -DVBF_VERSION='"$(VERSION)"' \
           -DVBF_LIBDIR='"$(PREFIX)/lib"' -Ishim
LIBS     = -Wl,--no-as-needed -ldl -lpthread -Wl,--as-needed

WRAP_SRC = $(wildcard shim/wrap_*.c)
CORE_SRC = $(filter-out $(WRAP_SRC) shim/real.c, $(wildcard shim/*.c))
CORE_OBJ = $(CORE_SRC:shim/%.c=$(B)/obj/%.o)
LIB_OBJ  = $(CORE_OBJ) $(WRAP_SRC:shim/%.c=$(B)/obj/%.o) $(B)/obj/real.o
LIB      = $(B)/libvboxfix.so
CLI_SRC  = $(wildcard shim/cli/*.c)
CLI      = $(B)/vboxfix
HDRS     = $(wildcard shim/*.h) shim/symbols.def

UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/unit/%)

.PHONY: all lib cli install uninstall test unit integration check-abi demo bench clean deps fixtures
all: $(LIB) $(CLI)
lib: $(LIB)
cli: $(CLI)

$(B)/obj/%.o: shim/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SHIM_CF) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	$(CC) $(CFLAGS) -shared -o $@ $(LIB_OBJ) -Wl,-z,defs \
	    -Wl,-z,nodelete -Wl,-soname,libvboxfix.so $(LIBS)

$(B)/core.a: $(CORE_OBJ)
	rm -f $@; ar rcs $@ $^

$(CLI): $(CLI_SRC) $(B)/obj/real.o $(B)/core.a $(wildcard shim/cli/*.h) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -D_GNU_SOURCE -Ishim -Ishim/cli -DVBF_VERSION='"$(VERSION)"' \
	    -DVBF_LIBDIR='"$(PREFIX)/lib"' -o $@ $(CLI_SRC) $(B)/obj/real.o $(B)/core.a $(LIBS)

$(B)/obj/real.o: $(HDRS)

# Unit tests: the core modules with the real-function table replaced by fakes.
$(B)/unit/%: tests/unit/%.c tests/unit/fake_real.c tests/unit/fake_real.h $(B)/core.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -D_GNU_SOURCE -Ishim -Itests/unit -o $@ $< tests/unit/fake_real.c $(B)/core.a -lcmocka

# Test fixtures: probes and the refusal preload (rules in tests/fixtures.mk).
include tests/fixtures.mk
-include mk/hardening.mk
-include tests/fuzz/fuzz.mk

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(LIB) $(DESTDIR)$(PREFIX)/lib/libvboxfix.so
	install -m 0755 $(CLI) $(DESTDIR)$(PREFIX)/bin/vboxfix
	if [ -d docs/man ]; then install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man7; \
	    for m in docs/man/*.1; do [ -f $$m ] && install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man1/; done; \
	    for m in docs/man/*.7; do [ -f $$m ] && install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man7/; done; true; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/libvboxfix.so $(DESTDIR)$(PREFIX)/bin/vboxfix

deps:
	@sh .ci/deps.sh

unit: $(UNIT_BIN)
	@sh tests/run-unit.sh $(UNIT_BIN)

integration: all fixtures
	@B=$(abspath $(B)) sh tests/run-integration.sh

check-abi: $(LIB)
	@B=$(abspath $(B)) sh tests/check-abi.sh

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
