/* SPDX-License-Identifier: MIT */
#ifndef VBF_CALLMEM_H
#define VBF_CALLMEM_H

#include "sys.h"

/* Caller memory the library touches before the real call.
 * The kernel answers EFAULT for a path or buffer it cannot reach; the
 * library must not fault on the same pointer where it looks first (to
 * classify a name, to answer a stat from the cache). One cheap system call
 * checks a page, and the answer is remembered per thread (256 slots, one
 * per page number modulo 256), so a program that passes its paths and
 * buffers from the same pages pays it once. A page unmapped after it was
 * checked is the one case still touched unchecked. */

/* `s` is a NUL-terminated string shorter than VBF_PATH_CAP, every byte of it
 * readable. `probe`: a page not yet known costs one system call (else 0). */
int vbf_str_ok(const char *s, int probe);
/* The `n` (>= 8) bytes at `p` are writable. `probe`: a page not yet known
 * costs one system call, which writes 8 bytes inside the buffer (else 0). */
int vbf_buf_ok(void *p, size_t n, int probe);
/* After a real call that succeeded: the kernel read `s` (NULL: none) and
 * wrote the `n` bytes at `buf`, so their pages are known good without a
 * probe. Outside shares nothing calls this: no probe is ever paid there. */
void vbf_mem_learn(const char *s, void *buf, size_t n);

/* A forked child is another process: its pid is asked again. */
void vbf_callmem_atfork_child(void);

#endif
