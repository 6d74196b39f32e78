/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: the /proc/self/mountinfo parser. Any text must parse
 * without reading or writing out of bounds, and every mount it reports has
 * absolute, NUL-terminated mount point and root and a bounded type. */
#include "fake_real.h"
#include "shares.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void each(void *arg, const char *mnt, const char *root, const char *type, dev_t dev)
{
	if (mnt[0] != '/' || root[0] != '/' || strlen(mnt) >= PATH_MAX || strlen(root) >= PATH_MAX ||
	    strlen(type) >= 32)
		__builtin_trap();
	++*(int *)arg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 20)
		return 0;
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = 0;
	int seen = 0;
	int n = vbf_mountinfo_parse(text, each, &seen);
	if (n != seen)
		__builtin_trap();
	free(text);
	return 0;
}
