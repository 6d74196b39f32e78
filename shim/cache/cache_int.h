/* SPDX-License-Identifier: MIT */
/* Between the two halves of the cache: the table (cache.c) and the shared
 * page with the open-for-write registry (cache_shm.c). */
#ifndef VBF_CACHE_INT_H
#define VBF_CACHE_INT_H

#include "cache.h"
#include "fdtab.h"
#include "shpage.h"
#include <stdatomic.h>
#include <sys/mman.h>

#define VBF_CACHE_NB 16384u  /* buckets of the shared page; a power of two */
#define VBF_CACHE_NSLOT 4096u /* open-for-write registry slots */
#define VBF_CACHE_MAGIC 0x76626663u /* "cfbv" */
#define VBF_CACHE_VERSION 3

/* The shared page (cache_shm.c). Every user can write all of it: nothing
 * read from it is used as an index, count or pid without a range check. */
struct vbf_cache_wslot {
	atomic_int pid;
	atomic_uint bucket; /* + 1; 0 while free or being given back */
};
struct vbf_cache_page {
	struct vbf_shpage_hdr h;
	_Alignas(64) atomic_uint_least64_t seq;
	_Alignas(64) atomic_uint_least64_t self_gen[VBF_CACHE_NB];
	atomic_uint_least64_t tree_gen[VBF_CACHE_NB];
	atomic_int busy[VBF_CACHE_NB];
	struct vbf_cache_wslot slot[VBF_CACHE_NSLOT];
};
/* For tests: the page this process uses (NULL: none), and how many
 * liveness probes (kill 0) the last start-up's reap made. */
struct vbf_cache_page *vbf_cache_page(void);
extern unsigned vbf_cache_reap_probes;

/* Buckets of "" and of every ancestor of `key`, then of `key` itself, into
 * anc[0..*depth); *h the key's full hash. -1 when the key is too deep. */
int vbf_cache_key_hash(int idx, const char *key, uint16_t *anc, uint16_t *depth, uint64_t *h);
/* The full hash of the first n bytes of `key`: what vbf_cache_key_hash
 * gives for that prefix as a key of its own. */
uint64_t vbf_cache_prefix_hash(int idx, const char *key, size_t n);
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

/* What an entry holds, in either table: the real answer, and the shared
 * sequence and clock taken before the call that gave it. */
struct vbf_cval {
	struct stat st;
	struct statx_timestamp btime;
	uint64_t attr, attr_mask, seq, t;
	int32_t err; /* 0 or ENOENT */
	uint8_t has_btime, from_statx;
};

/* The identity of share `idx` across processes (its root and device): the
 * shared table's keys hold it instead of the index, which is per process. */
uint64_t vbf_cache_root_id(int idx);

/* The table shared by every process of the euid (cache_shared.c). get: 1
 * and `out` filled when an entry of q's key younger than the TTL is there
 * (the caller still checks the generations); put: offer an answer. */
void vbf_scache_init(void);
void vbf_scache_reset(void);
int vbf_scache_get(const struct vbf_cq *q, uint64_t root, uint64_t now, struct vbf_cval *out);
void vbf_scache_put(const struct vbf_cq *q, uint64_t root, const struct vbf_cval *c);
/* For tests: the shared table's page and its size (NULL: none); remove
 * the segment VBOXFIX_SHARED_CACHE and the euid name. */
void *vbf_scache_page(size_t *size);
int vbf_scache_remove(void);

/* cache_canon.c: is the directory dir[0..n) of share idx in the memo of
 * canonical directories, still valid? Forget: drop the memo. */
int vbf_cache_dir_memo(int idx, const char *dir, size_t n);
void vbf_cache_dir_forget(void);
/* around fork: -1 prepare, 0 parent, 1 child */
void vbf_cache_dir_atfork(int phase);

/* Drop this process's entries (vbf_cache_reset; tests: a new process). */
void vbf_cache_table_reset(void);

/* cache_shm.c's part of vbf_cache_init/atfork_child/reset (cache.c);
 * init answers whether the page is usable. */
int vbf_cache_shm_init(void);
void vbf_cache_shm_atfork_child(void);
void vbf_cache_shm_reset(void);

#endif
