/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the state-store loader (tests/fuzz/fuzz.mk):
 *   make -f tests/fuzz/fuzz.mk fuzz FUZZ_TIME=60 */
#include "fake_real.h"
#include "log.h"
#include "../fuzz/store_target.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fake_real_reset();
	vbf_log_level = -1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	store_target(data, size);
	return 0;
}
