/* Between the two halves of the cache: the table (cache.c) and the shared
 * page with the open-for-write registry (cache_shm.c). */
#ifndef VBF_CACHE_INT_H
#define VBF_CACHE_INT_H

#include "cache.h"
#include "fdtab.h"
#include <sys/mman.h>

#define VBF_CACHE_NB 16384u /* buckets of the shared page; a power of two */

/* Buckets of "" and of every ancestor of `key`, then of `key` itself, into
 * anc[0..*depth); *h the key's full hash. -1 when the key is too deep. */
int vbf_cache_key_hash(int idx, const char *key, uint16_t *anc, uint16_t *depth, uint64_t *h);
/* Has nothing changed since `seq` for the entry of these buckets? */
int vbf_cache_valid(uint32_t self, const uint16_t *anc, uint16_t depth, uint64_t seq);
uint64_t vbf_cache_seq(void);
/* Is bucket `b` open for writing by some process? */
int vbf_cache_busy(uint32_t b);

/* ".." lexically undoes a symlink the kernel would follow: such names are
 * never cached, and a change through one invalidates its whole share. */
static inline int vbf_cache_dotdot(const char *p)
{
	for (const char *s = p; (s = strstr(s, "..")) != NULL; s += 2)
		if ((s == p || s[-1] == '/') && (s[2] == '/' || s[2] == 0))
			return 1;
	return 0;
}

void vbf_cache_table_init(void);
void vbf_cache_table_atfork_child(void);
void vbf_cache_table_reset(void);

#endif
