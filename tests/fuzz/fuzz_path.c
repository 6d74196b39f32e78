/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: the path canonicaliser. Input: BASE \0 PATH \0 ROOT.
 * Checks what callers rely on: the result is absolute and canonical (no
 * empty, "." or ".." component), fits the buffer, is a fixed point, and
 * vbf_path_below agrees with a plain prefix test. */
#include "path.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_canonical(const char *p, int n)
{
	if (n < 1 || (size_t)n != strlen(p) || p[0] != '/')
		__builtin_trap();
	if (n > 1 && p[n - 1] == '/')
		__builtin_trap();
	for (const char *s = p; *s; s++)
		if (s[0] == '/' && (s[1] == '/' || (s[1] == '.' && (s[2] == '/' || !s[2])) ||
				    (s[1] == '.' && s[2] == '.' && (s[3] == '/' || !s[3]))))
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 3 * 4096)
		return 0;
	char *in = malloc(size + 3);
	memcpy(in, data, size);
	in[size] = in[size + 1] = in[size + 2] = 0;
	const char *base = in, *path = base + strlen(base) + 1;
	if (path > in + size)
		path = in + size + 1;
	const char *root = path + strlen(path) + 1;
	if (root > in + size + 1)
		root = in + size + 2;

	static char b[VBF_PATH_CAP], out[VBF_PATH_CAP], again[VBF_PATH_CAP], r[VBF_PATH_CAP], small[64];
	/* the base must be absolute and canonical, as callers give it */
	int bn = vbf_path_join(b, sizeof b, "/", base[0] ? base : "/");
	if (bn >= 0) {
		check_canonical(b, bn);
		int n = vbf_path_join(out, sizeof out, b, path);
		if (n >= 0) {
			check_canonical(out, n);
			if (vbf_path_join(again, sizeof again, "/", out) != n || strcmp(again, out))
				__builtin_trap();
			int rn = vbf_path_join(r, sizeof r, "/", root[0] ? root : "/");
			if (rn >= 0) {
				const char *below = vbf_path_below(out, r, (size_t)rn);
				int prefix = !strcmp(r, "/") || (!strncmp(out, r, (size_t)rn) && (out[rn] == '/' || !out[rn]));
				if (!below != !prefix)
					__builtin_trap();
			}
		}
		int sn = vbf_path_join(small, sizeof small, b, path);
		if (sn >= (int)sizeof small)
			__builtin_trap();
	}
	free(in);
	return 0;
}
