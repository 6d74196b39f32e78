/* SPDX-License-Identifier: MIT */
/* Reading extended attributes of redirected FIFOs and sockets. `ls -l`
 * asks for a name's security context and ACL (lgetxattr, listxattr) right
 * after its lstat; with only the lstat redirected it would print the listed
 * socket as missing. Only a call answered ENOENT on a share looks further. */
#include "real.h"
#include "refuse.h"
#include "vbf.h"

/* The call on `p` answered r: where to ask again, or NULL. */
static const char *elsewhere(ssize_t r, const char *p, char lb[VBF_REDIRECT_CAP])
{
	return vbf_redirected(r < 0 ? -1 : 0, AT_FDCWD, p, 0, lb);
}

/* Each asks the share name first, then, on ENOENT there, the local object
 * (a macro that is the whole function: every return is in its body). */
#define XATTR_READ(name, ptype)                                                        \
	VBF_EXPORT ssize_t name(const char *p, ARGS_##ptype)                           \
	{                                                                              \
		char lb[VBF_REDIRECT_CAP];                                             \
		if (!REAL(name))                                                       \
			return vbf_no_function();                                      \
		ssize_t r = REAL(name)(p, PASS_##ptype);                               \
		const char *lp = elsewhere(r, p, lb);                                  \
		return lp ? REAL(name)(lp, PASS_##ptype) : r;                          \
	}
#define ARGS_get const char *n, void *v, size_t sz
#define PASS_get n, v, sz
#define ARGS_list char *l, size_t sz
#define PASS_list l, sz

XATTR_READ(getxattr, get)
XATTR_READ(lgetxattr, get)
XATTR_READ(listxattr, list)
XATTR_READ(llistxattr, list)
