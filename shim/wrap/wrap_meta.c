/* SPDX-License-Identifier: MIT */
/* Times, sizes and symlinks: calls that change what a stat of a share name
 * shows without passing any other wrapper. Each is the plain call; on
 * success the metadata cache is told (cache.h), which outside shares costs
 * a lexical test and no system call. */
#include "cache.h"
#include "fdtab.h"
#include "own.h"
#include "real.h"
#include "refuse.h"
#include "vbf.h"

/* (d, p) names the object, or the descriptor d when p is NULL or empty */
static int changed(int r, int d, const char *p)
{
	if (r == 0 && vbf_active()) {
		if (p && *p)
			vbf_cache_changed(d, p);
		else
			vbf_cache_changed_fd(d);
	}
	return r;
}

/* lexically on a share (no system call), or a descriptor opened on one */
static int maybe_share(int d, const char *p)
{
	struct vbf_where w;
	return p && *p ? vbf_where_name(d, p, &w) >= 0 : vbf_fd_marked(d);
}

/* Before a call by name on a share: the presented owner and mode may
 * refuse it first (own.h). 0 to go on. */
static int may_write(const char *p)
{
	struct vbf_where w;
	return vbf_active() && p && vbf_where_name(AT_FDCWD, p, &w) >= 0 ? vbf_may_open(&w, AT_FDCWD, p, O_WRONLY | O_TRUNC) : 0;
}

static int may_times(int d, const char *p, int fl, const struct timespec *t)
{
	return vbf_active() ? vbf_may_times(d, p, fl, t) : 0;
}

/* A call by name that failed: EACCES where a directory on the way, its
 * canonical one included, may not be searched (own.h). Only after the
 * kernel's lookup errors, which show the path readable (not EFAULT). */
static int missing(int r, int d, const char *p, int follow)
{
	if (r != 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) && p && *p && vbf_active())
		vbf_missing_searched_at(NULL, NULL, d, p, follow);
	return r;
}

/* truncate by name: S_ISUID/S_ISGID go as at a write (own.h) */
static int truncated(int r, const char *p)
{
	if (r == 0 && vbf_active())
		vbf_op_write_path(AT_FDCWD, p);
	return changed(missing(r, AT_FDCWD, p, 1), AT_FDCWD, p);
}

/* explicit times given in a form that is not a timespec (utimes, utime) */
static const struct timespec EXPLICIT[2] = {{0, 0}, {0, 0}};

static int explicit_ts(const struct timespec t[2])
{
	for (int i = 0; t && i < 2; i++)
		if (t[i].tv_nsec != UTIME_NOW && t[i].tv_nsec != UTIME_OMIT)
			return 1;
	return 0;
}

/* Explicit times are the owner's right, and on a share the kernel checks
 * the mount's real owner: a presented owner that is refused is answered
 * like a chown the share ignores (own.h). `e` is errno before the call.
 * The times are read only after the kernel has (EPERM comes after EFAULT). */
static int times_done(int r, int e, int d, const char *p, int fl, const struct timespec *t)
{
	if (r != 0 && errno == EPERM && explicit_ts(t) && vbf_active() && maybe_share(d, p) &&
	    vbf_op_owner_refused(d, p, fl, "setting explicit file times")) {
		errno = e;
		return 0;
	}
	return changed(missing(r, d, p, !(fl & AT_SYMLINK_NOFOLLOW)), d, p);
}

/* The share has no such name: a FIFO, socket or device redirected off it
 * (refuse.h) takes its times where it lives, under the local object's own
 * owner rule (tar x sets a FIFO's times right after making it). `ts` are
 * the times as a timespec pair, or NULL for "now"; the program's pointer
 * was read by libc or the kernel before the path answered ENOENT. */
static int times_redirected(int r, int d, const char *p, int fl, const struct timespec *ts)
{
	char lb[VBF_REDIRECT_CAP];
	const char *lp = r != 0 && p && *p ? vbf_redirected(r, d, p, fl, lb) : NULL;
	return lp ? REAL(utimensat)(AT_FDCWD, lp, ts, fl & AT_SYMLINK_NOFOLLOW) : missing(r, d, p, !(fl & AT_SYMLINK_NOFOLLOW));
}

static const struct timespec *from_tv(const struct timeval *tv, struct timespec ts[2])
{
	if (!tv)
		return NULL;
	for (int i = 0; i < 2; i++) {
		ts[i].tv_sec = tv[i].tv_sec;
		ts[i].tv_nsec = tv[i].tv_usec * 1000;
	}
	return ts;
}

VBF_EXPORT int utimensat(int d, const char *p, const struct timespec t[2], int fl)
{
	if (!REAL(utimensat))
		return vbf_no_function();
	int e = errno;
	if (may_times(d, p, fl, t))
		return -1;
	int r = REAL(utimensat)(d, p, t, fl);
	if (r != 0 && errno == ENOENT)
		return times_redirected(r, d, p, fl, t);
	return times_done(r, e, d, p, fl, t);
}
VBF_EXPORT int futimens(int fd, const struct timespec t[2])
{
	if (!REAL(futimens))
		return vbf_no_function();
	int e = errno;
	return times_done(REAL(futimens)(fd, t), e, fd, NULL, 0, t);
}
VBF_EXPORT int utimes(const char *p, const struct timeval t[2])
{
	if (!REAL(utimes))
		return vbf_no_function();
	int e = errno;
	if (may_times(AT_FDCWD, p, 0, t ? EXPLICIT : NULL))
		return -1;
	int r = REAL(utimes)(p, t);
	struct timespec ts[2];
	if (r != 0 && errno == ENOENT)
		return times_redirected(r, AT_FDCWD, p, 0, from_tv(t, ts));
	return times_done(r, e, AT_FDCWD, p, 0, t ? EXPLICIT : NULL);
}
VBF_EXPORT int lutimes(const char *p, const struct timeval t[2])
{
	if (!REAL(lutimes))
		return vbf_no_function();
	int e = errno;
	if (may_times(AT_FDCWD, p, AT_SYMLINK_NOFOLLOW, t ? EXPLICIT : NULL))
		return -1;
	int r = REAL(lutimes)(p, t);
	struct timespec ts[2];
	if (r != 0 && errno == ENOENT)
		return times_redirected(r, AT_FDCWD, p, AT_SYMLINK_NOFOLLOW, from_tv(t, ts));
	return times_done(r, e, AT_FDCWD, p, AT_SYMLINK_NOFOLLOW, t ? EXPLICIT : NULL);
}
VBF_EXPORT int futimes(int fd, const struct timeval t[2])
{
	if (!REAL(futimes))
		return vbf_no_function();
	int e = errno;
	return times_done(REAL(futimes)(fd, t), e, fd, NULL, 0, t ? EXPLICIT : NULL);
}
VBF_EXPORT int futimesat(int d, const char *p, const struct timeval t[2])
{
	if (!REAL(futimesat))
		return vbf_no_function();
	int e = errno;
	if (may_times(d, p, 0, t ? EXPLICIT : NULL))
		return -1;
	int r = REAL(futimesat)(d, p, t);
	struct timespec ts[2];
	if (r != 0 && errno == ENOENT)
		return times_redirected(r, d, p, 0, from_tv(t, ts));
	return times_done(r, e, d, p, 0, t ? EXPLICIT : NULL);
}
VBF_EXPORT int utime(const char *p, const struct utimbuf *t)
{
	if (!REAL(utime))
		return vbf_no_function();
	int e = errno;
	if (may_times(AT_FDCWD, p, 0, t ? EXPLICIT : NULL))
		return -1;
	int r = REAL(utime)(p, t);
	if (r != 0 && errno == ENOENT) {
		struct timespec ts[2];
		if (t) {
			ts[0] = (struct timespec){.tv_sec = t->actime};
			ts[1] = (struct timespec){.tv_sec = t->modtime};
		}
		return times_redirected(r, AT_FDCWD, p, 0, t ? ts : NULL);
	}
	return times_done(r, e, AT_FDCWD, p, 0, t ? EXPLICIT : NULL);
}

VBF_EXPORT int truncate(const char *p, off_t n)
{
	if (!REAL(truncate))
		return vbf_no_function();
	if (may_write(p))
		return -1;
	return truncated(vbf_redirect_enoent(REAL(truncate)(p, n), AT_FDCWD, p, EINVAL), p);
}
VBF_EXPORT int ftruncate(int fd, off_t n)
{
	if (!REAL(ftruncate))
		return vbf_no_function();
	return changed(REAL(ftruncate)(fd, n), fd, NULL);
}
#if VBF_GLIBC
VBF_EXPORT int truncate64(const char *p, off64_t n)
{
	if (!REAL(truncate64))
		return vbf_no_function();
	if (may_write(p))
		return -1;
	return truncated(vbf_redirect_enoent(REAL(truncate64)(p, n), AT_FDCWD, p, EINVAL), p);
}
VBF_EXPORT int ftruncate64(int fd, off64_t n)
{
	if (!REAL(ftruncate64))
		return vbf_no_function();
	return changed(REAL(ftruncate64)(fd, n), fd, NULL);
}
#endif

/* A new symlink can put a whole tree under a name cached as missing. On a
 * share it is its creator's, as any file made there (own.h). A redirected
 * FIFO or socket holds its name (refuse.h). */
static int symlink_done(const struct vbf_where *w, int r, int d, const char *p)
{
	if (w->idx >= 0) {
		r = vbf_redirect_enoent_where(w, r, d, p, 0);
		if (r == 0)
			vbf_op_created(d, p, -1, 0777);
	}
	return changed(r, d, p);
}

/* `w`: the name's classification, made once here and handed down */
static int may_symlink(int d, const char *p, struct vbf_where *w)
{
	w->idx = -1;
	w->key = NULL;
	if (!vbf_active() || vbf_where_name(d, p, w) < 0)
		return 0;
	return vbf_may_search(w, p) || vbf_redirect_taken(w, d, p) || vbf_may_create(w, d, p);
}

VBF_EXPORT int symlink(const char *target, const char *p)
{
	struct vbf_where w;
	if (!REAL(symlink))
		return vbf_no_function();
	if (may_symlink(AT_FDCWD, p, &w))
		return -1;
	return symlink_done(&w, REAL(symlink)(target, p), AT_FDCWD, p);
}
VBF_EXPORT int symlinkat(const char *target, int d, const char *p)
{
	struct vbf_where w;
	if (!REAL(symlinkat))
		return vbf_no_function();
	if (may_symlink(d, p, &w))
		return -1;
	return symlink_done(&w, REAL(symlinkat)(target, d, p), d, p);
}

/* A share name a redirected FIFO or socket holds is no symlink (EINVAL), a
 * path through one is ENOTDIR (refuse.h); only an ENOENT is looked at. */
VBF_EXPORT ssize_t readlink(const char *p, char *buf, size_t n)
{
	if (!REAL(readlink))
		return vbf_no_function();
	ssize_t r = REAL(readlink)(p, buf, n);
	return r < 0 && errno == ENOENT ? vbf_redirect_enoent(-1, AT_FDCWD, p, EINVAL) : r;
}
VBF_EXPORT ssize_t readlinkat(int d, const char *p, char *buf, size_t n)
{
	if (!REAL(readlinkat))
		return vbf_no_function();
	ssize_t r = REAL(readlinkat)(d, p, buf, n);
	return r < 0 && errno == ENOENT ? vbf_redirect_enoent(-1, d, p, EINVAL) : r;
}

/* Setting a POSIX ACL is the owner's right, and the kernel checks the
 * mount's real owner: refused to the presented owner with EPERM, the honest
 * answer is the one vboxsf gives, "ACLs not supported", so that cp -a, tar
 * and rsync fall back to chmod. Only the ACL names, only EPERM, only on a
 * share, only for the presented owner. */
static int acl_done(int r, int d, const char *p, int fl, const char *name)
{
	if (r != 0 && errno == EPERM && name && !strncmp(name, "system.posix_acl_", 17) && vbf_active() &&
	    maybe_share(d, p) && vbf_op_owner_refused(d, p, fl, "setting an ACL"))
		errno = EOPNOTSUPP;
	return r;
}

VBF_EXPORT int setxattr(const char *p, const char *n, const void *v, size_t sz, int fl)
{
	if (!REAL(setxattr))
		return vbf_no_function();
	return acl_done(REAL(setxattr)(p, n, v, sz, fl), AT_FDCWD, p, 0, n);
}
VBF_EXPORT int lsetxattr(const char *p, const char *n, const void *v, size_t sz, int fl)
{
	if (!REAL(lsetxattr))
		return vbf_no_function();
	return acl_done(REAL(lsetxattr)(p, n, v, sz, fl), AT_FDCWD, p, AT_SYMLINK_NOFOLLOW, n);
}
VBF_EXPORT int fsetxattr(int fd, const char *n, const void *v, size_t sz, int fl)
{
	if (!REAL(fsetxattr))
		return vbf_no_function();
	return acl_done(REAL(fsetxattr)(fd, n, v, sz, fl), fd, NULL, 0, n);
}
