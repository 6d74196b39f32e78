/* SPDX-License-Identifier: MIT */
/* The stat family: call the real function, then fix the result if it is on
 * a share. Classification is by the result's device, so it costs nothing
 * outside shares and is right for any path, dirfd or descriptor. A share
 * name that is not there may be a FIFO or socket living off the share
 * (refuse.h): that is what stat shows then. */
#include "cache.h"
#include "present.h"
#include "real.h"
#include "vbf.h"

/* Make the stat-family call: from the cache (`c`), through the kernel's
 * resolution when the name needs it (shares.h, vbf_stat_resolvable), or
 * as `plain`. */
#define VBF_STAT_CALL(c, n, dirfd, path, follow, st, plain)                                               \
	((c) == VBF_CACHE_HIT || (c) == VBF_CACHE_NEG || !vbf_active() || !vbf_stat_resolvable(dirfd, path, follow) \
		 ? ((n)->resolved = 0, VBF_CACHE_ANSWER(c, plain))                                        \
		 : ((n)->resolved = 1,                                                                    \
		    vbf_stat_where(dirfd, path, (follow) ? 0 : AT_SYMLINK_NOFOLLOW, st, &(n)->w, &(n)->same)))

#define FOLLOW 1
#define NOFOLLOW 0
#define FLAGS_FOLLOW(fl) (!((fl) & AT_SYMLINK_NOFOLLOW))

/* One stat-like wrapper: `call` is the real call, (dirfd, path, follow) what
 * it looked at, `st` the buffer it filled (struct stat64 has the same
 * layout as struct stat on our 64-bit targets). */
#define STAT_WRAPPER(ret, name, params, call, dirfd, path, follow, st)                  \
	VBF_EXPORT ret name params                                                      \
	{                                                                               \
		struct vbf_cq q;                                                        \
		struct vbf_stat_name n;                                                 \
		int c = vbf_cache_stat(dirfd, path, follow, (struct stat *)(st), &q);   \
		int r = VBF_STAT_CALL(c, &n, dirfd, path, follow, (struct stat *)(st), call); \
		return vbf_stat_done(r, c, &q, dirfd, path, follow, (struct stat *)(st), &n); \
	}

STAT_WRAPPER(int, stat, (const char *p, struct stat *st), REAL(stat)(p, st), AT_FDCWD, p, FOLLOW, st)
STAT_WRAPPER(int, stat64, (const char *p, struct stat64 *st), REAL(stat64)(p, st), AT_FDCWD, p, FOLLOW, st)
STAT_WRAPPER(int, lstat, (const char *p, struct stat *st), REAL(lstat)(p, st), AT_FDCWD, p, NOFOLLOW, st)
STAT_WRAPPER(int, lstat64, (const char *p, struct stat64 *st), REAL(lstat64)(p, st), AT_FDCWD, p, NOFOLLOW, st)
STAT_WRAPPER(int, fstat, (int fd, struct stat *st), REAL(fstat)(fd, st), fd, NULL, FOLLOW, st)
STAT_WRAPPER(int, fstat64, (int fd, struct stat64 *st), REAL(fstat64)(fd, st), fd, NULL, FOLLOW, st)
STAT_WRAPPER(int, fstatat, (int d, const char *p, struct stat *st, int fl), REAL(fstatat)(d, p, st, fl), d, p,
	     FLAGS_FOLLOW(fl), st)
STAT_WRAPPER(int, fstatat64, (int d, const char *p, struct stat64 *st, int fl), REAL(fstatat64)(d, p, st, fl), d,
	     p, FLAGS_FOLLOW(fl), st)

STAT_WRAPPER(int, __xstat, (int v, const char *p, struct stat *st), REAL(__xstat)(v, p, st), AT_FDCWD, p, FOLLOW,
	     st)
STAT_WRAPPER(int, __xstat64, (int v, const char *p, struct stat64 *st), REAL(__xstat64)(v, p, st), AT_FDCWD, p,
	     FOLLOW, st)
STAT_WRAPPER(int, __lxstat, (int v, const char *p, struct stat *st), REAL(__lxstat)(v, p, st), AT_FDCWD, p,
	     NOFOLLOW, st)
STAT_WRAPPER(int, __lxstat64, (int v, const char *p, struct stat64 *st), REAL(__lxstat64)(v, p, st), AT_FDCWD, p,
	     NOFOLLOW, st)
STAT_WRAPPER(int, __fxstat, (int v, int fd, struct stat *st), REAL(__fxstat)(v, fd, st), fd, NULL, FOLLOW, st)
STAT_WRAPPER(int, __fxstat64, (int v, int fd, struct stat64 *st), REAL(__fxstat64)(v, fd, st), fd, NULL, FOLLOW,
	     st)
STAT_WRAPPER(int, __fxstatat, (int v, int d, const char *p, struct stat *st, int fl),
	     REAL(__fxstatat)(v, d, p, st, fl), d, p, FLAGS_FOLLOW(fl), st)
STAT_WRAPPER(int, __fxstatat64, (int v, int d, const char *p, struct stat64 *st, int fl),
	     REAL(__fxstatat64)(v, d, p, st, fl), d, p, FLAGS_FOLLOW(fl), st)

VBF_EXPORT int statx(int d, const char *p, int fl, unsigned int mask, struct statx *stx)
{
	struct vbf_cq q;
	struct vbf_stat_name n;
	int c = vbf_cache_statx(d, p, fl, mask, stx, &q), r;
	if (c == VBF_CACHE_HIT || c == VBF_CACHE_NEG || !vbf_active() || (fl & AT_EMPTY_PATH) ||
	    !vbf_stat_resolvable(d, p, !(fl & AT_SYMLINK_NOFOLLOW)))
		n.resolved = 0, r = VBF_CACHE_ANSWER(c, REAL(statx)(d, p, fl, mask, stx));
	else
		n.resolved = 1, r = vbf_statx_where(d, p, fl, mask, stx, &n.w, &n.same);
	return vbf_statx_done(r, c, &q, d, p, fl, mask, stx, &n);
}
