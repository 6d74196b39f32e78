/* chown, chmod and access. Outside shares: the plain call, unless the share
 * could only be recognised by its answer (a refusal through a symlink or an
 * inherited descriptor): then one stat decides. */
#include "fdtab.h"
#include "own.h"
#include "real.h"
#include "refuse.h"
#include "shares.h"
#include "vbf.h"

/* Is (d, p) on a share? By name for paths, by mark for descriptors. */
static int on_share(int d, const char *p, int fl)
{
	struct vbf_where w;
	if (!vbf_active())
		return 0;
	if ((fl & AT_EMPTY_PATH) && p && !*p)
		return vbf_fd_marked(d);
	return vbf_where_name(d, p, &w) >= 0;
}

/* The plain call failed the way a share refuses: was it a share? */
static int refused_on_share(int r, int d, const char *p, int fl)
{
	struct stat st;
	if (r == 0 || !vbf_is_refusal(errno) || !vbf_active())
		return 0;
	int saved = errno;
	int yes = REAL(fstatat)(d, p, &st, fl & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) == 0 && vbf_share_dev(st.st_dev);
	errno = saved;
	return yes;
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

#define CHOWN_BODY(d, p, u, g, fl, plain)                                      \
	if (on_share(d, p, fl))                                                \
		return redirected_chown(vbf_op_chown(d, p, u, g, fl), d, p, u, g, fl); \
	int r = plain;                                                         \
	return refused_on_share(r, d, p, fl) ? vbf_op_chown(d, p, u, g, fl) : r;

#define CHMOD_BODY(d, p, m, fl, plain)                                         \
	if (on_share(d, p, fl))                                                \
		return redirected_chmod(vbf_op_chmod(d, p, m, fl), d, p, m, fl); \
	int r = plain;                                                         \
	return refused_on_share(r, d, p, fl) ? vbf_op_chmod(d, p, m, fl) : r;

VBF_EXPORT int chown(const char *p, uid_t u, gid_t g) { CHOWN_BODY(AT_FDCWD, p, u, g, 0, REAL(chown)(p, u, g)) }
VBF_EXPORT int lchown(const char *p, uid_t u, gid_t g)
{
	CHOWN_BODY(AT_FDCWD, p, u, g, AT_SYMLINK_NOFOLLOW, REAL(lchown)(p, u, g))
}
VBF_EXPORT int fchown(int fd, uid_t u, gid_t g) { CHOWN_BODY(fd, "", u, g, AT_EMPTY_PATH, REAL(fchown)(fd, u, g)) }
VBF_EXPORT int fchownat(int d, const char *p, uid_t u, gid_t g, int fl)
{
	CHOWN_BODY(d, p, u, g, fl, REAL(fchownat)(d, p, u, g, fl))
}

VBF_EXPORT int chmod(const char *p, mode_t m) { CHMOD_BODY(AT_FDCWD, p, m, 0, REAL(chmod)(p, m)) }
VBF_EXPORT int lchmod(const char *p, mode_t m)
{
	if (!REAL(lchmod))
		return fchmodat(AT_FDCWD, p, m, AT_SYMLINK_NOFOLLOW);
	CHMOD_BODY(AT_FDCWD, p, m, AT_SYMLINK_NOFOLLOW, REAL(lchmod)(p, m))
}
VBF_EXPORT int fchmod(int fd, mode_t m) { CHMOD_BODY(fd, "", m, AT_EMPTY_PATH, REAL(fchmod)(fd, m)) }
VBF_EXPORT int fchmodat(int d, const char *p, mode_t m, int fl) { CHMOD_BODY(d, p, m, fl, REAL(fchmodat)(d, p, m, fl)) }

/* access: the real answer first; on a share, also the presented one. */
#define ACCESS_BODY(d, p, m, fl, plain)                                        \
	int r = plain, e = errno;                                              \
	if (!on_share(d, p, fl))                                               \
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
