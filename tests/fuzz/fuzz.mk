# SPDX-License-Identifier: MIT
# Fuzzing the state-store loader with libFuzzer (clang from Debian).
#   make fuzz-store FUZZ_TIME=60   (make fuzz runs it after the parsers' harnesses,
#                                  mk/hardening.mk)
# New inputs go to $(B)/fuzz/corpus; tests/fuzz/corpus/store is the seed
# corpus kept in git (a unit test replays it in every build). Add a crash
# reproducer there after fixing it.
# FUZZ_CC and FUZZ_TIME: mk/hardening.mk, included before this file.
# The loader is the table and the format alone (no file, no shared page).
FUZZ_SRC   = tests/fuzz/fuzz_store.c shim/store/store_table.c shim/store/store_fmt.c shim/base/arena.c shim/base/log.c \
             tests/unit/fake_real.c

$(B)/fuzz/fuzz_store: $(FUZZ_SRC) tests/fuzz/store_target.h $(HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -std=c11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE $(DEFS) $(SHIM_INC) -Itests/unit \
	    -o $@ $(FUZZ_SRC)

.PHONY: fuzz-store
fuzz-store: $(B)/fuzz/fuzz_store
	@mkdir -p $(B)/fuzz/corpus
	$(B)/fuzz/fuzz_store -max_total_time=$(FUZZ_TIME) -max_len=65536 -rss_limit_mb=512 -timeout=5 \
	    $(B)/fuzz/corpus tests/fuzz/corpus/store
