/* Reading extended attributes of redirected FIFOs and sockets. `ls -l`
 * asks for a name's security context and ACL (lgetxattr, listxattr) right
 * after its lstat; with only the lstat redirected it would print the listed
 * socket as missing. Only a call answered ENOENT on a share looks further. */
#include "real.h"
#include "refuse.h"
#include "vbf.h"

#define NEED(fn)                       \
	if (!REAL(fn)) {               \
		errno = ENOSYS;        \
		return -1;             \
	}

/* The call on `p` answered r: where to ask again, or NULL. */
static const char *elsewhere(ssize_t r, const char *p, char lb[VBF_REDIRECT_CAP])
{
	return vbf_redirected(r < 0 ? -1 : 0, AT_FDCWD, p, 0, lb);
}

VBF_EXPORT ssize_t getxattr(const char *p, const char *n, void *v, size_t sz)
{
	char lb[VBF_REDIRECT_CAP];
	NEED(getxattr);
	ssize_t r = REAL(getxattr)(p, n, v, sz);
	const char *lp = elsewhere(r, p, lb);
	return lp ? REAL(getxattr)(lp, n, v, sz) : r;
}

VBF_EXPORT ssize_t lgetxattr(const char *p, const char *n, void *v, size_t sz)
{
	char lb[VBF_REDIRECT_CAP];
	NEED(lgetxattr);
	ssize_t r = REAL(lgetxattr)(p, n, v, sz);
	const char *lp = elsewhere(r, p, lb);
	return lp ? REAL(lgetxattr)(lp, n, v, sz) : r;
}

VBF_EXPORT ssize_t listxattr(const char *p, char *l, size_t sz)
{
	char lb[VBF_REDIRECT_CAP];
	NEED(listxattr);
	ssize_t r = REAL(listxattr)(p, l, sz);
	const char *lp = elsewhere(r, p, lb);
	return lp ? REAL(listxattr)(lp, l, sz) : r;
}

VBF_EXPORT ssize_t llistxattr(const char *p, char *l, size_t sz)
{
	char lb[VBF_REDIRECT_CAP];
	NEED(llistxattr);
	ssize_t r = REAL(llistxattr)(p, l, sz);
	const char *lp = elsewhere(r, p, lb);
	return lp ? REAL(llistxattr)(lp, l, sz) : r;
}
