/* SPDX-License-Identifier: MIT */
/* Memory for the state store's tables, straight from mmap. The store holds
 * its lock while it allocates; with malloc there, a signal handler that
 * interrupted another thread inside malloc and stats a share path would
 * wait for the store's lock while its holder waits for malloc's. This
 * allocator takes no lock a signal handler could hold. Callers say the size
 * again when they free (uthash does). */
#ifndef VBF_ARENA_H
#define VBF_ARENA_H

#include <stddef.h>

void *vbf_arena_alloc(size_t n);
void *vbf_arena_calloc(size_t n);
void vbf_arena_free(void *p, size_t n);
void vbf_arena_atfork_child(void);
/* Bytes in use (blocks rounded to their size class, mappings to pages). */
size_t vbf_arena_in_use(void);

#endif
