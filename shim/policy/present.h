/* SPDX-License-Identifier: MIT */
/* What a stat result shows for an object on a share: the recorded owner,
 * else the owner recorded for its nearest ancestor, else a VBOXFIX_MAP
 * mapping of the real owner, else VBOXFIX_OWNER, else (nothing is known
 * about it) the caller's effective uid/gid; the recorded mode, else the
 * real one. Type, size, times, nlink, ino and dev stay real. */
#ifndef VBF_PRESENT_H
#define VBF_PRESENT_H

#include "shares.h"
#include "store.h"
#include "view.h"
#include "cache.h"
#include "config.h"

/* Fix a stat result in place when it is on a share. (dirfd, path, follow)
 * name what was asked, as for vbf_where_lexical: the name's text is taken
 * as the object's (fts and nftw results: names from a walk). Keeps
 * errno; -1 (ENOENT) for the state store's own file, which programs must
 * not see. */
int vbf_present_stat(int dirfd, const char *path, int follow, struct stat *st);

/* What a stat wrapper learned of the name it stat'ed: `resolved` when
 * vbf_stat_where made the call (w names the object, `same` says whether
 * that is the name's own lexical key). */
struct vbf_stat_name {
	int resolved, same;
	struct vbf_where w;
};

/* Everything after a stat-family call: `r` is the answer (from the cache
 * when `c` says so, else the real call's), `q` the cache query, `n` what
 * VBF_STAT_CALL learned. Fills the cache (only under a name that is the
 * object's own: cache.h), presents the view, or finds a FIFO/socket kept
 * off the share. Returns what the wrapper returns. */
int vbf_stat_done_slow(int r, int c, struct vbf_cq *q, int dirfd, const char *path, int follow, struct stat *st,
		       const struct vbf_stat_name *n);

static inline int vbf_stat_done(int r, int c, struct vbf_cq *q, int dirfd, const char *path, int follow,
				struct stat *st, const struct vbf_stat_name *n)
{
	/* outside shares: one device comparison, no call */
	if (likely(r == 0 && c == VBF_CACHE_SKIP && __atomic_load_n(&vbf_boot_state, __ATOMIC_ACQUIRE) == 2 &&
		   (!vbf_on || !vbf_share_dev(st->st_dev))))
		return 0;
	return vbf_stat_done_slow(r, c, q, dirfd, path, follow, st, n);
}

/* The same for statx: only the fields its mask says are filled. */
int vbf_present_statx(int dirfd, const char *path, int flags, struct statx *stx);
int vbf_statx_done(int r, int c, struct vbf_cq *q, int dirfd, const char *path, int flags, unsigned mask,
		   struct statx *stx, const struct vbf_stat_name *n);

#endif
