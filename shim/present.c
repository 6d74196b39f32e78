/* SPDX-License-Identifier: MIT */
#include "present.h"
#include "config.h"
#include "defer.h"
#include "ids.h"
#include "log.h"
#include "own.h"
#include "real.h"
#include "statconv.h"
#include "refuse.h"
#include "vbf.h"
#include <sys/sysmacros.h>

static uint32_t mapped(uint32_t real, int is_gid, uint32_t fallback, int *hit)
{
	for (int i = 0; i < vbf_cfg.nmap; i++)
		if (vbf_cfg.map[i].is_gid == is_gid && vbf_cfg.map[i].from == real) {
			*hit = 1;
			return vbf_cfg.map[i].to;
		}
	return fallback;
}

void vbf_view_of(int idx, const char *key, const struct stat *st, struct vbf_view *v)
{
	struct vbf_rec rec = {0};
	if (key)
		vbf_store_get(idx, key, st, &rec);
	v->mode = st->st_mode;
	if (rec.flags & VBF_REC_MODE)
		v->mode = (st->st_mode & S_IFMT) | (rec.mode & 07777);
	if (rec.flags & VBF_REC_OWNER) {
		v->uid = rec.uid;
		v->gid = rec.gid;
		v->how = VBF_VIEW_RECORD;
		return;
	}
	vbf_view_inherited(idx, key, st, v);
}

void vbf_view_inherited(int idx, const char *key, const struct stat *st, struct vbf_view *v)
{
	struct vbf_rec anc;
	/* One view for every process: what the nearest recorded ancestor says
	 * (a data directory chowned once covers all that is made below it) */
	if (key && *key && vbf_store_inherit(idx, key, &anc)) {
		v->uid = anc.uid;
		v->gid = anc.gid;
		v->how = VBF_VIEW_INHERITED;
		return;
	}
	int hit = 0;
	uid_t du = vbf_cfg.have_owner ? vbf_cfg.owner_uid : vbf_euid();
	gid_t dg = vbf_cfg.have_owner ? vbf_cfg.owner_gid : vbf_egid();
	v->uid = st ? mapped(st->st_uid, 0, du, &hit) : du;
	v->gid = st ? mapped(st->st_gid, 1, dg, &hit) : dg;
	v->how = hit ? VBF_VIEW_MAPPED : vbf_cfg.have_owner ? VBF_VIEW_OWNER : VBF_VIEW_CALLER;
}

int vbf_present_stat(int dirfd, const char *path, int follow, struct stat *st)
{
	if (likely(!vbf_share_dev(st->st_dev)))
		return 0;
	int saved = errno;
	struct vbf_where w;
	if (vbf_where_stat(dirfd, path, follow, st, &w) >= 0) {
		if (w.key && (vbf_store_is_internal(w.idx, w.key) ||
			      (path && *path && vbf_defer_kept(w.idx, w.key)))) {
			errno = ENOENT; /* the state store is not the program's */
			return -1;
		}
		if (vbf_may_search(&w, path))
			return -1; /* EACCES: a presented directory on the way (own.h) */
		struct vbf_view v;
		vbf_view_of(w.idx, w.key, st, &v);
		st->st_uid = v.uid;
		st->st_gid = v.gid;
		st->st_mode = v.mode;
		vbf_count(VBF_C_PRESENTED);
	}
	errno = saved;
	return 0;
}

int vbf_stat_done_slow(int r, int c, struct vbf_cq *q, int dirfd, const char *path, int follow, struct stat *st)
{
	if (c == VBF_CACHE_MISS)
		vbf_cache_fill(q, r, st);
	/* the kernel has shown the caller's memory good: the next call may use
	 * the cache (not this answer: a query taken now would date it after a
	 * change another thread may have made since the call) */
	if (r == 0 && c == VBF_CACHE_SKIP)
		vbf_mem_learn(path, st, sizeof *st);
	if (r == 0) {
		if (!vbf_active())
			return 0;
		if (vbf_present_stat(dirfd, path, follow, st))
			return -1;
		vbf_link_alias(st);
		return 0;
	}
	if (vbf_missing_searched(dirfd, path))
		return -1;
	char lb[VBF_REDIRECT_CAP];
	const char *lp = vbf_redirected(r, dirfd, path, 0, lb);
	return lp ? REAL(fstatat)(AT_FDCWD, lp, st, follow ? 0 : AT_SYMLINK_NOFOLLOW) : r;
}

int vbf_present_statx(int dirfd, const char *path, int flags, struct statx *stx)
{
	dev_t dev = makedev(stx->stx_dev_major, stx->stx_dev_minor);
	if (likely(!vbf_share_dev(dev)))
		return 0;
	/* the view needs dev for the share, type and owner for the record
	 * fingerprint and the map */
	struct stat st;
	vbf_stat_from_statx(&st, stx);
	int saved = errno;
	struct vbf_where w;
	if (vbf_where_stat(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), &st, &w) >= 0) {
		if (w.key && (vbf_store_is_internal(w.idx, w.key) ||
			      (path && *path && vbf_defer_kept(w.idx, w.key)))) {
			errno = ENOENT;
			return -1;
		}
		if (vbf_may_search(&w, path))
			return -1;
		struct vbf_view v;
		vbf_view_of(w.idx, w.key, &st, &v);
		if (stx->stx_mask & STATX_UID)
			stx->stx_uid = v.uid;
		if (stx->stx_mask & STATX_GID)
			stx->stx_gid = v.gid;
		if (stx->stx_mask & STATX_MODE)
			stx->stx_mode = (uint16_t)((stx->stx_mode & S_IFMT) | (v.mode & 07777));
		vbf_count(VBF_C_PRESENTED);
	}
	errno = saved;
	return 0;
}

int vbf_statx_done(int r, int c, struct vbf_cq *q, int dirfd, const char *path, int flags, unsigned mask,
		   struct statx *stx)
{
	if (c == VBF_CACHE_MISS)
		vbf_cache_fillx(q, r, stx);
	if (r == 0 && c == VBF_CACHE_SKIP)
		vbf_mem_learn(path, stx, sizeof *stx); /* as for stat above */
	if (r == 0) {
		if (vbf_active())
			return vbf_present_statx(dirfd, path, flags, stx);
		return 0;
	}
	if (vbf_missing_searched(dirfd, path))
		return -1;
	char lb[VBF_REDIRECT_CAP];
	const char *lp = vbf_redirected(r, dirfd, path, flags, lb);
	return lp ? REAL(statx)(AT_FDCWD, lp, flags & ~AT_EMPTY_PATH, mask, stx) : r;
}
