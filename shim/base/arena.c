/* SPDX-License-Identifier: MIT */
#include "arena.h"
#include "lock.h"
#include <sys/mman.h>

/* Small blocks: 16-byte size classes carved from 64 KiB chunks, kept on a
 * free list per class. Large ones (bucket arrays, read buffers): their own
 * mapping. Memory of small blocks is reused, never returned: the store's
 * size tracks its live records, and compaction rebuilds nothing here. */
#define GRAIN 16
#define SMALL_MAX 2048
#define CHUNK (64 * 1024)

struct free_blk { struct free_blk *next; };

static struct free_blk *free_list[SMALL_MAX / GRAIN + 1];
static char *bump, *bump_end;
/* Taken only inside these functions, which call nothing that waits: safe
 * to nest under any library lock. */
static vbf_lock arena_lock;
static size_t in_use; /* bytes handed out, rounded as kept */

size_t vbf_arena_in_use(void) { return __atomic_load_n(&in_use, __ATOMIC_RELAXED); }

/* raw: taken under any library lock, where the first use of REAL() would
 * resolve the whole table (dlsym, which may allocate and take the loader's
 * lock) */
static void *map(size_t n)
{
	long p = vbf_raw_syscall(SYS_mmap, 0, (long)n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == -1 ? NULL : (void *)p;
}

static size_t page_round(size_t n) { return (n + 4095) & ~(size_t)4095; }

void *vbf_arena_alloc(size_t n)
{
	if (n > SMALL_MAX) {
		void *m = map(page_round(n));
		if (m)
			__atomic_add_fetch(&in_use, page_round(n), __ATOMIC_RELAXED);
		return m;
	}
	size_t c = (n + GRAIN - 1) / GRAIN, sz = c * GRAIN;
	if (c == 0)
		c = 1, sz = GRAIN;
	int saved = errno;
	void *p = NULL;
	vbf_lock_take(&arena_lock);
	if (free_list[c]) {
		p = free_list[c];
		free_list[c] = free_list[c]->next;
	} else {
		if (!bump || (size_t)(bump_end - bump) < sz) {
			char *m = map(CHUNK);
			if (m)
				bump = m, bump_end = m + CHUNK;
		}
		if (bump && (size_t)(bump_end - bump) >= sz) {
			p = bump;
			bump += sz;
		}
	}
	if (p)
		in_use += sz;
	vbf_unlock(&arena_lock);
	errno = saved;
	return p;
}

void *vbf_arena_calloc(size_t n)
{
	void *p = vbf_arena_alloc(n);
	if (p)
		memset(p, 0, n); /* recycled small blocks are not zero */
	return p;
}

void vbf_arena_free(void *p, size_t n)
{
	if (!p)
		return;
	if (n > SMALL_MAX) {
		int saved = errno;
		vbf_raw_syscall(SYS_munmap, (long)p, (long)page_round(n), 0, 0, 0, 0);
		__atomic_sub_fetch(&in_use, page_round(n), __ATOMIC_RELAXED);
		errno = saved;
		return;
	}
	size_t c = (n + GRAIN - 1) / GRAIN;
	if (c == 0)
		c = 1;
	struct free_blk *b = p;
	vbf_lock_take(&arena_lock);
	b->next = free_list[c];
	free_list[c] = b;
	in_use -= c * GRAIN;
	vbf_unlock(&arena_lock);
}

/* fork: a child inherits the arena as the forking thread left it; another
 * thread cannot have been inside (it would have held a store lock, which
 * the prepare handler waits for), but reset the lock all the same. */
void vbf_arena_atfork_child(void) { vbf_lock_reset(&arena_lock); }
