/* SPDX-License-Identifier: MIT */
/* chown, chmod and access. A target named on a share goes through own.c.
 * Any other chown or chmod is the plain call, then one fstatat decides
 * whether it reached a share after all (a symlink from outside, a
 * /proc/self/fd name, an inherited descriptor): on a share that accepts
 * the call and changes nothing (vboxsf), only the device number tells.
 * Outside shares that fstatat is the whole cost (docs/design.md). */
#include "fdtab.h"
#include "own.h"
#include "real.h"
#include "refuse.h"
#include "shares.h"
#include "vbf.h"

/* the flags own.c takes */
#define OWN_FLAGS (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)

/* Is (d, p) on a share, for an op that takes the flags `known`? By name
 * for paths (`w` the classification, handed down: it is made once), by
 * mark for descriptors (w then says none). Other flags go to the plain
 * call first (libc or the kernel refuse what they do not know, EINVAL),
 * and only its success is looked at. */
static int on_share(int d, const char *p, int fl, int known, struct vbf_where *w)
{
	w->idx = -1;
	w->key = NULL;
	if ((fl & ~known) || !vbf_active())
		return 0;
	if ((fl & AT_EMPTY_PATH) && d != AT_FDCWD && vbf_str_ok(p, 1) && !*p)
		return vbf_fd_marked(d);
	return vbf_where_name(d, p, w) >= 0;
}

/* The plain call answered `r`: did it act on a share? Errors about the
 * target itself (ENOENT, EBADF, EFAULT...) are final; success and what a
 * share answers when it refuses are looked at once. */
static int reached_share(int r, int d, const char *p, int fl, int known)
{
	struct stat st;
	struct vbf_where w;
	if ((r != 0 && (!vbf_is_refusal(errno) || (fl & ~known))) || !vbf_active())
		return 0;
	int saved = errno;
	/* a share that is a subtree shares its device with the rest of its
	 * filesystem: there the name decides, lexically (shares.h) */
	int yes = REAL(fstatat)(d, p, &st, fl & OWN_FLAGS) == 0 && vbf_share_dev(st.st_dev) &&
		  vbf_where_stat(d, p, !(fl & AT_SYMLINK_NOFOLLOW), &st, &w) >= 0;
	errno = saved;
	return yes;
}

/* fchown/fchmod need a descriptor open for I/O: the kernel answers EBADF
 * for an O_PATH one (fchownat with AT_EMPTY_PATH takes it). */
static int opath(int fd)
{
	int saved = errno, fl = REAL(fcntl)(fd, F_GETFL);
	errno = saved;
	return fl != -1 && (fl & O_PATH);
}

static int ebadf(void)
{
	errno = EBADF;
	return -1;
}

/* A FIFO or socket redirected off the share (refuse.h) is changed where it
 * lives: the share has no such name. */
static int redirected_chown(const struct vbf_where *w, int r, int d, const char *p, uid_t u, gid_t g, int fl)
{
	char lb[VBF_REDIRECT_CAP];
	const char *lp = vbf_redirected_where(w, r, d, p, fl, lb);
	return lp ? REAL(fchownat)(AT_FDCWD, lp, u, g, fl & AT_SYMLINK_NOFOLLOW) : r;
}

static int redirected_chmod(const struct vbf_where *w, int r, int d, const char *p, mode_t m, int fl)
{
	char lb[VBF_REDIRECT_CAP];
	const char *lp = vbf_redirected_where(w, r, d, p, fl, lb);
	return lp ? REAL(chmod)(lp, m) : r;
}

/* On a share (w): the op, then a redirected object's own. */
static int chown_share(const struct vbf_where *w, int d, const char *p, uid_t u, gid_t g, int fl)
{
	return redirected_chown(w, vbf_op_chown_where(w, d, p, u, g, fl), d, p, u, g, fl);
}

static int chmod_share(const struct vbf_where *w, int d, const char *p, mode_t m, int fl)
{
	return redirected_chmod(w, vbf_op_chmod_where(w, d, p, m, fl), d, p, m, fl);
}

/* Elsewhere: the plain call answered `r`; recorded if it reached a share
 * after all (no name of it was classified: the op classifies if it must). */
static int chown_after(int r, int d, const char *p, uid_t u, gid_t g, int fl, int known)
{
	return reached_share(r, d, p, fl, known) ? vbf_op_chown_where(NULL, d, p, u, g, fl & OWN_FLAGS) : r;
}

static int chmod_after(int r, int d, const char *p, mode_t m, int fl, int known)
{
	return reached_share(r, d, p, fl, known) ? vbf_op_chmod_where(NULL, d, p, m, fl & OWN_FLAGS) : r;
}

VBF_EXPORT int chown(const char *p, uid_t u, gid_t g)
{
	struct vbf_where w;
	if (on_share(AT_FDCWD, p, 0, 0, &w))
		return chown_share(&w, AT_FDCWD, p, u, g, 0);
	return chown_after(REAL(chown)(p, u, g), AT_FDCWD, p, u, g, 0, 0);
}
VBF_EXPORT int lchown(const char *p, uid_t u, gid_t g)
{
	struct vbf_where w;
	const int fl = AT_SYMLINK_NOFOLLOW;
	if (on_share(AT_FDCWD, p, fl, fl, &w))
		return chown_share(&w, AT_FDCWD, p, u, g, fl);
	return chown_after(REAL(lchown)(p, u, g), AT_FDCWD, p, u, g, fl, fl);
}
VBF_EXPORT int fchown(int fd, uid_t u, gid_t g)
{
	struct vbf_where w;
	if (vbf_fd_marked(fd) && opath(fd))
		return ebadf();
	if (on_share(fd, "", AT_EMPTY_PATH, AT_EMPTY_PATH, &w))
		return chown_share(&w, fd, "", u, g, AT_EMPTY_PATH);
	return chown_after(REAL(fchown)(fd, u, g), fd, "", u, g, AT_EMPTY_PATH, AT_EMPTY_PATH);
}
VBF_EXPORT int fchownat(int d, const char *p, uid_t u, gid_t g, int fl)
{
	struct vbf_where w;
	if (on_share(d, p, fl, OWN_FLAGS, &w))
		return chown_share(&w, d, p, u, g, fl);
	return chown_after(REAL(fchownat)(d, p, u, g, fl), d, p, u, g, fl, OWN_FLAGS);
}

VBF_EXPORT int chmod(const char *p, mode_t m)
{
	struct vbf_where w;
	if (on_share(AT_FDCWD, p, 0, 0, &w))
		return chmod_share(&w, AT_FDCWD, p, m, 0);
	return chmod_after(REAL(chmod)(p, m), AT_FDCWD, p, m, 0, 0);
}
VBF_EXPORT int lchmod(const char *p, mode_t m)
{
	struct vbf_where w;
	const int fl = AT_SYMLINK_NOFOLLOW;
	if (on_share(AT_FDCWD, p, fl, fl, &w))
		return chmod_share(&w, AT_FDCWD, p, m, fl);
	int r = REAL(lchmod) ? REAL(lchmod)(p, m) : REAL(fchmodat)(AT_FDCWD, p, m, fl);
	return chmod_after(r, AT_FDCWD, p, m, fl, fl);
}
VBF_EXPORT int fchmod(int fd, mode_t m)
{
	struct vbf_where w;
	if (vbf_fd_marked(fd) && opath(fd))
		return ebadf();
	if (on_share(fd, "", AT_EMPTY_PATH, AT_EMPTY_PATH, &w))
		return chmod_share(&w, fd, "", m, AT_EMPTY_PATH);
	return chmod_after(REAL(fchmod)(fd, m), fd, "", m, AT_EMPTY_PATH, AT_EMPTY_PATH);
}
/* AT_EMPTY_PATH here is new (glibc 2.39, Linux 6.6): older ones say EINVAL */
VBF_EXPORT int fchmodat(int d, const char *p, mode_t m, int fl)
{
	struct vbf_where w;
	if (on_share(d, p, fl, AT_SYMLINK_NOFOLLOW, &w))
		return chmod_share(&w, d, p, m, fl);
	return chmod_after(REAL(fchmodat)(d, p, m, fl), d, p, m, fl, AT_SYMLINK_NOFOLLOW);
}

/* fchmodat2 (Linux 6.6) takes the flags fchmodat's system call lacks. The
 * real call is the system call (symbols.def); on a share, a kernel (or a
 * seccomp filter) without it gets its answer, ENOSYS, asked once, before
 * own.c would chmod there through fchmodat. */
static int fchmodat2_missing(void)
{
	static int err = -1;
	int e = __atomic_load_n(&err, __ATOMIC_RELAXED);
	if (e < 0) {
		int saved = errno;
		e = REAL(fchmodat2)(-1, "", 0, AT_EMPTY_PATH) < 0 && errno != EBADF ? errno : 0;
		errno = saved;
		__atomic_store_n(&err, e, __ATOMIC_RELAXED);
	}
	return e;
}

int vbf_wrap_fchmodat2(int d, const char *p, mode_t m, int fl)
{
	struct vbf_where w;
	if (on_share(d, p, fl, OWN_FLAGS, &w)) {
		int e = fchmodat2_missing();
		return e ? vbf_fail(e) : chmod_share(&w, d, p, m, fl);
	}
	return chmod_after(REAL(fchmodat2)(d, p, m, fl), d, p, m, fl, OWN_FLAGS);
}
VBF_EXPORT int fchmodat2(int d, const char *p, mode_t m, int fl) { return vbf_wrap_fchmodat2(d, p, m, fl); }

/* access: the real answer first (`r`, errno); on a share, also the
 * presented one. */
static int access_after(int r, int d, const char *p, int m, int fl)
{
	struct vbf_where w;
	int e = errno;
	if ((r && e == EFAULT) || !on_share(d, p, fl, fl, &w)) {
		errno = e;
		return r;
	}
	char lb[VBF_REDIRECT_CAP];
	errno = e;
	const char *lp = vbf_redirected_where(&w, r, d, p, fl, lb);
	if (lp)
		return REAL(faccessat)(AT_FDCWD, lp, m, fl & AT_EACCESS);
	return vbf_op_access(&w, d, p, m, fl, r, e);
}

VBF_EXPORT int access(const char *p, int m) { return access_after(REAL(access)(p, m), AT_FDCWD, p, m, 0); }
VBF_EXPORT int faccessat(int d, const char *p, int m, int fl)
{
	return access_after(REAL(faccessat)(d, p, m, fl), d, p, m, fl);
}
VBF_EXPORT int euidaccess(const char *p, int m)
{
	return access_after(REAL(euidaccess)(p, m), AT_FDCWD, p, m, AT_EACCESS);
}
VBF_EXPORT int eaccess(const char *p, int m) { return access_after(REAL(eaccess)(p, m), AT_FDCWD, p, m, AT_EACCESS); }
