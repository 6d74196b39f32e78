/* SPDX-License-Identifier: MIT */
/* Lexical path arithmetic: no system calls, so it can be fuzzed and unit
 * tested on its own. */
#ifndef VBF_PATH_H
#define VBF_PATH_H

#include <stddef.h>

/* Paths we build may be longer than PATH_MAX (a long relative path under a
 * deep cwd is legal); anything longer is "unknown" and passed through. */
#define VBF_PATH_CAP (2 * 4096)

/* Write the canonical form of `path` resolved against the absolute `base`
 * (ignored when `path` is absolute) into `out`: "." and empty components
 * dropped, ".." removes the previous component (never above "/"). Symlinks
 * are not resolved. Returns the length, or -1 when it does not fit `cap`.
 * `out` may not alias `path` or `base`. */
int vbf_path_join(char *out, size_t cap, const char *base, const char *path);

/* If `abs` (canonical) is `root` or below it, return the part below it ("" for
 * the root itself), else NULL. `root` is canonical, "/" allowed. */
const char *vbf_path_below(const char *abs, const char *root, size_t rootlen);

#endif
