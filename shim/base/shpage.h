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

#endif
