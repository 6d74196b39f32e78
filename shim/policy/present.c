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
#include <sys/sysmacros.h>

/* Search permission of the directories the kernel passed: those of the
 * object's name `w` and, when it was reached through a symlink (a -> .),
 * those of the name as written, which the kernel searched first. */
static int searched(const struct vbf_where *w, int dirfd, const char *path)
{
	struct vbf_where lex;
	if (vbf_may_search(w, path))
		return 1;
	return __atomic_load_n(&vbf_store_nclosed, __ATOMIC_RELAXED) && path && *path &&
	       !vbf_name_canonical(path, 1) && vbf_where_name(dirfd, path, &lex) == w->idx && lex.key &&
	       strcmp(lex.key, w->key) && vbf_may_search(&lex, path);
}

/* Present `st` as the object `w` names (w->idx < 0: not on a share);
 * (dirfd, `path`) as asked. */
static int present_as(const struct vbf_where *w, int dirfd, const char *path, struct stat *st)
{
	if (w->idx < 0)
		return 0;
	if (w->key && (vbf_store_is_internal(w->idx, w->key) || (path && *path && vbf_defer_kept(w->idx, w->key)))) {
		errno = ENOENT; /* the state store is not the program's */
		return -1;
	}
	/* the view first: it brings the table up to date, and with it the
	 * count of closed directories another process may just have added */
	struct vbf_view v;
	vbf_view_of(w->idx, w->key, st, &v);
	if (searched(w, dirfd, path))
		return -1; /* EACCES: a presented directory on the way (own.h) */
	st->st_uid = v.uid;
	st->st_gid = v.gid;
	st->st_mode = v.mode;
	if (v.link.flags)
		vbf_link_present(w->idx, &v.link, st);
	vbf_count(VBF_C_PRESENTED);
	return 0;
}

int vbf_present_stat(int dirfd, const char *path, int follow, struct stat *st)
{
	if (likely(!vbf_share_dev(st->st_dev)))
		return 0;
	int saved = errno;
	struct vbf_where w;
	vbf_where_lexical(dirfd, path, follow, st, &w);
	if (present_as(&w, dirfd, path, st))
		return -1;
	errno = saved;
	return 0;
}

/* The object a stat wrapper's answer describes: as the kernel resolved it;
 * a cache entry's name is its own (cache.h); else found after the fact. */
static const struct vbf_where *named(int c, const struct vbf_stat_name *n, int dirfd, const char *path, int follow,
				     const struct stat *st, struct vbf_where *w)
{
	if (n && n->resolved && (n->w.idx >= 0 || !vbf_share_dev(st->st_dev)))
		return &n->w;
	if (c == VBF_CACHE_HIT && path)
		vbf_where_lexical(dirfd, path, follow, st, w);
	else
		vbf_where_stat(dirfd, path, follow, st, w);
	return w;
}

/* After ENOENT: the FIFO or socket kept off the share under that name (a
 * resolved name: what a symlink there points at). `c` VBF_CACHE_NEG: the
 * answer is a cache entry's, whose name is the object's own (cache.h), as
 * for a hit in named(): only that name is looked up, with no walk (a walk
 * costs the share what the stat would, on every missing name asked again). */
static const char *redirected(int r, int c, const struct vbf_stat_name *n, int dirfd, const char *path, int follow,
			      char lb[VBF_REDIRECT_CAP])
{
	if (r == 0 || errno != ENOENT)
		return NULL;
	if (n && n->resolved) {
		int saved = errno;
		const char *lp = n->w.idx >= 0 && vbf_redirect_lookup(&n->w, lb) == 0 ? lb : NULL;
		struct vbf_where w;
		if (!lp && ((n->w.idx >= 0 && vbf_redirect_below(&n->w)) ||
			    (path && *path && vbf_where_name(dirfd, path, &w) >= 0 && vbf_redirect_below(&w))))
			saved = ENOTDIR; /* a path through one */
		errno = saved;
		return lp;
	}
	/* The plain call (a page not read before): by the name's text, and by
	 * the name a walk ends at (a symlink to a FIFO, or on the way to it:
	 * objects are kept under that name), where a share of this process
	 * ever held a redirected object (refuse_mark.c)
	 * (docs/design.md, "Symlinks"). */
	struct vbf_where w;
	int saved = errno;
	const char *lp = NULL;
	if (path && *path && vbf_ready() && vbf_where_name(dirfd, path, &w) >= 0 &&
	    (vbf_redirect_lookup(&w, lb) == 0 ||
	     (c != VBF_CACHE_NEG && vbf_redirect_lookup_name(&w, dirfd, path, follow, lb) == 0)))
		lp = lb;
	else if (path && *path && w.idx >= 0 && vbf_redirect_below(&w))
		saved = ENOTDIR; /* a path through one */
	errno = saved;
	return lp;
}

/* After ENOENT from the plain call (a page not read before) of a name on a
 * share: the kernel read the name, so its page is good; the answer buffer
 * costs one probe (no request). The next ask of that missing name is then
 * answered by the cache, as a found name's is after its first success:
 * without it a program probing missing names from fresh memory (module
 * resolution, PATH-like searches) paid the share on every ask. Outside
 * shares nothing is learned or probed. */
static void learn_missing(int r, int c, int dirfd, const char *path, void *buf, size_t n)
{
	struct vbf_where w;
	if (r == 0 || c != VBF_CACHE_SKIP || errno != ENOENT || !path || !*path || !vbf_ready())
		return;
	int saved = errno;
	if (vbf_where_name(dirfd, path, &w) >= 0) {
		vbf_mem_learn(path, NULL, 0);
		(void)vbf_buf_ok(buf, n, 1);
	}
	errno = saved;
}

/* A missing name below a directory the caller may not search: EACCES (-1).
 * Along the canonical name too, as the walk found it; a cache entry's name
 * is the object's own (cache.h), so asking again costs no walk. */
static int missing_searched(int c, const struct vbf_stat_name *n, int dirfd, const char *path, int follow)
{
	if (c == VBF_CACHE_NEG)
		return vbf_missing_searched(dirfd, path);
	return vbf_missing_searched_at(NULL, n && n->resolved ? &n->w : NULL, dirfd, path, follow);
}

int vbf_stat_done_slow(int r, int c, struct vbf_cq *q, int dirfd, const char *path, int follow, struct stat *st,
		       const struct vbf_stat_name *n)
{
	if (c == VBF_CACHE_MISS && (!n->resolved || n->same))
		vbf_cache_fill(q, r, st);
	/* the kernel has shown the caller's memory good: the next call may use
	 * the cache (not this answer: a query taken now would date it after a
	 * change another thread may have made since the call) */
	if (r == 0 && (c == VBF_CACHE_SKIP || c == VBF_CACHE_FD))
		vbf_mem_learn(path, st, sizeof *st);
	if (r == 0) {
		if (!vbf_ready())
			return 0;
		if (vbf_share_dev(st->st_dev)) {
			int saved = errno;
			struct vbf_where w;
			const struct vbf_where *wn = named(c, n, dirfd, path, follow, st, &w);
			if (c == VBF_CACHE_FD)
				vbf_cache_fill_fd(q, wn, st);
			if (present_as(wn, dirfd, path, st))
				return -1;
			errno = saved;
		}
		return 0;
	}
	learn_missing(r, c, dirfd, path, st, sizeof *st);
	if (missing_searched(c, n, dirfd, path, follow))
		return -1;
	char lb[VBF_REDIRECT_CAP];
	const char *lp = redirected(r, c, n, dirfd, path, follow, lb);
	if (!lp || REAL(fstatat)(AT_FDCWD, lp, st, follow ? 0 : AT_SYMLINK_NOFOLLOW) != 0)
		return lp ? -1 : r;
	/* the names that lead to it: a link given up by a uid that could not
	 * unlink it is none, a forward is one */
	int names = vbf_redirect_names(st);
	if (names > 0)
		st->st_nlink = (nlink_t)names;
	return 0;
}

static int present_as_x(const struct vbf_where *w, int dirfd, const char *path, struct statx *stx,
			const struct stat *st)
{
	if (w->idx < 0)
		return 0;
	if (w->key && (vbf_store_is_internal(w->idx, w->key) || (path && *path && vbf_defer_kept(w->idx, w->key)))) {
		errno = ENOENT;
		return -1;
	}
	struct vbf_view v;
	vbf_view_of(w->idx, w->key, st, &v); /* first: as in present_as */
	if (searched(w, dirfd, path))
		return -1; /* EACCES: a presented directory on the way (own.h) */
	if (stx->stx_mask & STATX_UID)
		stx->stx_uid = v.uid;
	if (stx->stx_mask & STATX_GID)
		stx->stx_gid = v.gid;
	if (stx->stx_mask & STATX_MODE)
		stx->stx_mode = (uint16_t)((stx->stx_mode & S_IFMT) | (v.mode & 07777));
	if (v.link.flags) {
		struct stat ls = *st;
		vbf_link_present(w->idx, &v.link, &ls);
		if (stx->stx_mask & STATX_INO)
			stx->stx_ino = (uint64_t)ls.st_ino;
		if (stx->stx_mask & STATX_NLINK)
			stx->stx_nlink = (uint32_t)ls.st_nlink;
	}
	vbf_count(VBF_C_PRESENTED);
	return 0;
}

/* `n` NULL: by the name's text (syscall(2)), as vbf_present_stat */
static int present_statx(int c, const struct vbf_stat_name *n, int dirfd, const char *path, int flags,
			 struct statx *stx)
{
	dev_t dev = makedev(stx->stx_dev_major, stx->stx_dev_minor);
	if (likely(!vbf_share_dev(dev)))
		return 0;
	/* the view needs dev for the share, type and owner for the record
	 * fingerprint and the map */
	struct stat st;
	vbf_stat_from_statx(&st, stx);
	int saved = errno, follow = !(flags & AT_SYMLINK_NOFOLLOW);
	struct vbf_where w;
	const struct vbf_where *wp = &w;
	if (n)
		wp = named(c, n, dirfd, path, follow, &st, &w);
	else
		vbf_where_lexical(dirfd, path, follow, &st, &w);
	if (present_as_x(wp, dirfd, path, stx, &st))
		return -1;
	errno = saved;
	return 0;
}

int vbf_present_statx(int dirfd, const char *path, int flags, struct statx *stx)
{
	return present_statx(VBF_CACHE_SKIP, NULL, dirfd, path, flags, stx);
}

int vbf_statx_done(int r, int c, struct vbf_cq *q, int dirfd, const char *path, int flags, unsigned mask,
		   struct statx *stx, const struct vbf_stat_name *n)
{
	if (c == VBF_CACHE_MISS && (!n->resolved || n->same))
		vbf_cache_fillx(q, r, stx);
	if (r == 0 && c == VBF_CACHE_SKIP)
		vbf_mem_learn(path, stx, sizeof *stx); /* as for stat above */
	if (r == 0) {
		if (vbf_ready())
			return present_statx(c, n, dirfd, path, flags, stx);
		return 0;
	}
	learn_missing(r, c, dirfd, path, stx, sizeof *stx);
	if (missing_searched(c, n, dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW)))
		return -1;
	char lb[VBF_REDIRECT_CAP];
	const char *lp = redirected(r, c, n, dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), lb);
	if (!lp || REAL(statx)(AT_FDCWD, lp, flags & ~AT_EMPTY_PATH, mask, stx) != 0)
		return lp ? -1 : r;
	if ((stx->stx_mask & STATX_NLINK) && stx->stx_nlink > 1) {
		struct stat ls = {.st_mode = stx->stx_mode, .st_nlink = stx->stx_nlink, .st_ino = stx->stx_ino,
				  .st_dev = makedev(stx->stx_dev_major, stx->stx_dev_minor)};
		int names = vbf_redirect_names(&ls);
		if (names > 0)
			stx->stx_nlink = (uint32_t)names;
	}
	return 0;
}
