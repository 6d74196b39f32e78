/* SPDX-License-Identifier: MIT */
/* Pages shared by every process and every uid of the machine (or of the
 * container: one IPC namespace), that no other user can shrink.
 *
 * A page is a SysV shared memory segment: its size is fixed when it is
 * created and nobody can resize it, so unlike a mapped /dev/shm file another
 * user's truncate can never turn a load into SIGBUS. The segment is created
 * with IPC perms 0666 (not subject to the umask), so any user under the
 * library can attach it; any user can therefore also write every byte of
 * it. Callers must treat the whole page, header included, as hostile input:
 * range-check every index, count and pid read from it.
 *
 * The IPC key derives from a 64-bit hash of (name, size, version). The page
 * starts with struct vbf_shpage_hdr. A segment found at the key is used only
 * when its size is exactly `size`, its perms are 0666 and its header says
 * (magic, version, size, hash of name); an all-zero header (a creator that
 * has not stamped it yet, or died first) is stamped by whoever finds it:
 * the stamp is the same bytes whoever writes it. A wrong header on a
 * segment created by root or by the caller's euid is stamped again (another
 * user scribbled on our page; no other user can create a segment as us).
 * Anything else (a squatter, a key collision, another layout) is skipped
 * for the next of VBF_SHPAGE_TRIES keys; after that the caller gets NULL
 * and falls back.
 * The header is checked at attach only: what is written to it later changes
 * nothing for processes already attached.
 *
 * No descriptor is kept. Attachments survive fork (the child shares the
 * page) and are dropped by exec. A segment outlives its processes until
 * removed (vbf_shpage_remove, `ipcrm`) or the IPC namespace ends.
 * System calls only (no libc), errno preserved on every path.
 */
#ifndef VBF_SHPAGE_H
#define VBF_SHPAGE_H

#include "sys.h"
#include <stdatomic.h>

struct vbf_shpage_hdr {
	uint32_t magic, version;
	uint64_t size;      /* of the whole page, header included */
	uint64_t name_hash; /* vbf_shpage_hash(name) */
	uint64_t reserved;
};

#define VBF_SHPAGE_TRIES 4

/* Attach the page named `name` of `size` bytes (size includes the header
 * struct vbf_shpage_hdr that starts it). Returns the mapping, or NULL (the
 * caller falls back and may warn). Memory never shrinks under us. `magic`
 * must not be 0 (zero means "not stamped yet"). */
void *vbf_shpage_attach(const char *name, size_t size, uint32_t magic, uint32_t version);
/* The same for a page only the caller's euid may read or write: mode 0600,
 * used only when created by that euid (a segment anyone else made at the
 * key is skipped like a squatter). Put the euid in `name`: each uid then
 * has its own page. */
void *vbf_shpage_attach_own(const char *name, size_t size, uint32_t magic, uint32_t version);
void vbf_shpage_detach(void *page, size_t size);
/* `prefix` followed by the decimal `uid` in name[cap]: an own page's name. */
void vbf_shpage_name_uid(char *name, size_t cap, const char *prefix, uid_t uid);

/* Remove (IPC_RMID) every segment of this page this caller may remove:
 * owned by its euid, or any as root. Processes attached keep their mapping;
 * the next attach creates a new segment. Returns how many were removed. */
int vbf_shpage_remove(const char *name, size_t size, uint32_t magic, uint32_t version);

/* The 64-bit hash of a name (FNV-1a) and the IPC key of attempt 0..TRIES-1:
 * for tests and for tools that list or remove pages (`ipcs -m`). */
uint64_t vbf_shpage_hash(const char *name);
int vbf_shpage_key(const char *name, size_t size, uint32_t version, int attempt);

/* Slots of a page that any process writes without a lock (a seqlock): a
 * version per slot, odd while the slot is written, and when it was claimed.
 * A writer claims a slot by a CAS on its version: an even one becomes odd;
 * an odd one (its writer died, or the caller judged so: vbf_slot_dead)
 * stays odd, so the slow writer's give-back fails and what it wrote is
 * never taken for whole. A reader copies a slot out and uses the copy only
 * when the version was even and unchanged around the copy; a torn copy
 * that slips through is for the caller's checksum. */

/* Was the slot claimed so long ago (or in the future) that its writer is
 * gone? */
static inline int vbf_slot_dead(_Atomic uint64_t *claimed, uint64_t now, uint64_t dead_ms)
{
	uint64_t c = atomic_load_explicit(claimed, memory_order_relaxed);
	return c > now || now - c > dead_ms;
}

/* The version to give the slot back with (odd, never 0), or 0: another
 * writer got it. The new contents may be written after this returns. */
static inline uint32_t vbf_slot_claim(atomic_uint_least32_t *ver, _Atomic uint64_t *claimed, uint64_t now)
{
	uint32_t v = atomic_load_explicit(ver, memory_order_relaxed);
	uint32_t mine = (v & 1) ? v + 2 : v + 1;
	if (!atomic_compare_exchange_strong(ver, &v, mine))
		return 0;
	atomic_store_explicit(claimed, now, memory_order_relaxed);
	/* the odd version is seen before any byte of the new contents */
	atomic_thread_fence(memory_order_release);
	return mine;
}

static inline void vbf_slot_give(atomic_uint_least32_t *ver, uint32_t mine)
{
	uint32_t exp = mine;
	atomic_compare_exchange_strong_explicit(ver, &exp, mine + 1, memory_order_release, memory_order_relaxed);
}

/* Reading: the version before the copy (odd: being written, skip it), then
 * whether it is unchanged after the copy. */
static inline uint32_t vbf_slot_read_begin(atomic_uint_least32_t *ver)
{
	return atomic_load_explicit(ver, memory_order_acquire);
}

static inline int vbf_slot_read_ok(atomic_uint_least32_t *ver, uint32_t v1)
{
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(ver, memory_order_relaxed) == v1;
}

#endif
