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

/* Is (d, p) on a share? By name for paths, by mark for descriptors. */
static int on_share(int d, const char *p, int fl)
{
	struct vbf_where w;
	if (!vbf_active())
		return 0;
	if ((fl & AT_EMPTY_PATH) && d != AT_FDCWD && vbf_str_ok(p, 1) && !*p)
		return vbf_fd_marked(d);
	return vbf_where_name(d, p, &w) >= 0;
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
static int redirected_chown(int r, int d, const char *p, uid_t u, gid_t g, int fl)
{
	char lb[VBF_REDIRECT_CAP];
	const char *lp = vbf_redirected(r, d, p, fl, lb);
	return lp ? REAL(fchownat)(AT_FDCWD, lp, u, g, fl & AT_SYMLINK_NOFOLLOW) : r;
}

static int redirected_chmod(int r, int d, const char *p, mode_t m, int fl)
{
	char lb[VBF_REDIRECT_CAP];
	const char *lp = vbf_redirected(r, d, p, fl, lb);
	return lp ? REAL(chmod)(lp, m) : r;
}

/* `known`: the flags the op takes for this call. Others go to the plain
 * call first (libc or the kernel refuse what they do not know, EINVAL),
 * and only its success is looked at. */

#define CHOWN_BODY(d, p, u, g, fl, known, plain)                               \
	if (!((fl) & ~(known)) && on_share(d, p, fl))                          \
		return redirected_chown(vbf_op_chown(d, p, u, g, fl), d, p, u, g, fl); \
	int r = plain;                                                         \
	return reached_share(r, d, p, fl, known) ? vbf_op_chown(d, p, u, g, (fl) & OWN_FLAGS) : r;

#define CHMOD_BODY(d, p, m, fl, known, plain)                                  \
	if (!((fl) & ~(known)) && on_share(d, p, fl))                          \
		return redirected_chmod(vbf_op_chmod(d, p, m, fl), d, p, m, fl); \
	int r = plain;                                                         \
	return reached_share(r, d, p, fl, known) ? vbf_op_chmod(d, p, m, (fl) & OWN_FLAGS) : r;

VBF_EXPORT int chown(const char *p, uid_t u, gid_t g) { CHOWN_BODY(AT_FDCWD, p, u, g, 0, 0, REAL(chown)(p, u, g)) }
VBF_EXPORT int lchown(const char *p, uid_t u, gid_t g)
{
	CHOWN_BODY(AT_FDCWD, p, u, g, AT_SYMLINK_NOFOLLOW, AT_SYMLINK_NOFOLLOW, REAL(lchown)(p, u, g))
}
VBF_EXPORT int fchown(int fd, uid_t u, gid_t g)
{
	if (vbf_fd_marked(fd) && opath(fd))
		return ebadf();
	CHOWN_BODY(fd, "", u, g, AT_EMPTY_PATH, AT_EMPTY_PATH, REAL(fchown)(fd, u, g))
}
VBF_EXPORT int fchownat(int d, const char *p, uid_t u, gid_t g, int fl)
{
	CHOWN_BODY(d, p, u, g, fl, OWN_FLAGS, REAL(fchownat)(d, p, u, g, fl))
}

VBF_EXPORT int chmod(const char *p, mode_t m) { CHMOD_BODY(AT_FDCWD, p, m, 0, 0, REAL(chmod)(p, m)) }
VBF_EXPORT int lchmod(const char *p, mode_t m)
{
	CHMOD_BODY(AT_FDCWD, p, m, AT_SYMLINK_NOFOLLOW, AT_SYMLINK_NOFOLLOW,
		   REAL(lchmod) ? REAL(lchmod)(p, m) : REAL(fchmodat)(AT_FDCWD, p, m, AT_SYMLINK_NOFOLLOW))
}
VBF_EXPORT int fchmod(int fd, mode_t m)
{
	if (vbf_fd_marked(fd) && opath(fd))
		return ebadf();
	CHMOD_BODY(fd, "", m, AT_EMPTY_PATH, AT_EMPTY_PATH, REAL(fchmod)(fd, m))
}
/* AT_EMPTY_PATH here is new (glibc 2.39, Linux 6.6): older ones say EINVAL */
VBF_EXPORT int fchmodat(int d, const char *p, mode_t m, int fl)
{
	CHMOD_BODY(d, p, m, fl, AT_SYMLINK_NOFOLLOW, REAL(fchmodat)(d, p, m, fl))
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
	if (!(fl & ~OWN_FLAGS) && on_share(d, p, fl)) {
		int e = fchmodat2_missing();
		return e ? vbf_fail(e) : redirected_chmod(vbf_op_chmod(d, p, m, fl), d, p, m, fl);
	}
	int r = REAL(fchmodat2)(d, p, m, fl);
	return reached_share(r, d, p, fl, OWN_FLAGS) ? vbf_op_chmod(d, p, m, fl) : r;
}
VBF_EXPORT int fchmodat2(int d, const char *p, mode_t m, int fl) { return vbf_wrap_fchmodat2(d, p, m, fl); }

/* access: the real answer first; on a share, also the presented one. */
#define ACCESS_BODY(d, p, m, fl, plain)                                        \
	int r = plain, e = errno;                                              \
	if ((r && e == EFAULT) || !on_share(d, p, fl))                         \
		return errno = e, r;                                           \
	char lb_[VBF_REDIRECT_CAP];                                            \
	errno = e;                                                             \
	const char *lp_ = vbf_redirected(r, d, p, fl, lb_);                    \
	if (lp_)                                                               \
		return REAL(faccessat)(AT_FDCWD, lp_, m, fl & AT_EACCESS);     \
	return vbf_op_access(d, p, m, fl, r, e);

VBF_EXPORT int access(const char *p, int m) { ACCESS_BODY(AT_FDCWD, p, m, 0, REAL(access)(p, m)) }
VBF_EXPORT int faccessat(int d, const char *p, int m, int fl) { ACCESS_BODY(d, p, m, fl, REAL(faccessat)(d, p, m, fl)) }
VBF_EXPORT int euidaccess(const char *p, int m) { ACCESS_BODY(AT_FDCWD, p, m, AT_EACCESS, REAL(euidaccess)(p, m)) }
VBF_EXPORT int eaccess(const char *p, int m) { ACCESS_BODY(AT_FDCWD, p, m, AT_EACCESS, REAL(eaccess)(p, m)) }
