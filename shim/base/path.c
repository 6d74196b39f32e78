/* SPDX-License-Identifier: MIT */
#include "path.h"
#include <string.h>

int vbf_path_join(char *out, size_t cap, const char *base, const char *path)
{
	size_t n = 0;
	if (cap < 2)
		return -1;
	out[n++] = '/';
	for (int pass = path[0] == '/' ? 1 : 0; pass < 2; pass++) {
		const char *s = pass == 0 ? base : path;
		while (*s) {
			while (*s == '/')
				s++;
			const char *e = s;
			while (*e && *e != '/')
				e++;
			size_t len = (size_t)(e - s);
			if (len == 0)
				break;
			if (len == 1 && s[0] == '.') {
				/* nothing */
			} else if (len == 2 && s[0] == '.' && s[1] == '.') {
				while (n > 1 && out[n - 1] != '/')
					n--;
				if (n > 1)
					n--; /* the slash before the dropped component */
			} else {
				if (n + (n > 1) + len + 1 > cap)
					return -1;
				if (n > 1)
					out[n++] = '/';
				memcpy(out + n, s, len);
				n += len;
			}
			s = e;
		}
	}
	out[n] = 0;
	return (int)n;
}

const char *vbf_path_below(const char *abs, const char *root, size_t rootlen)
{
	if (rootlen == 1 && root[0] == '/')
		return abs + 1;
	if (strncmp(abs, root, rootlen))
		return NULL;
	if (abs[rootlen] == 0)
		return abs + rootlen;
	if (abs[rootlen] == '/')
		return abs + rootlen + 1;
	return NULL;
}
