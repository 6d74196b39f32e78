/* SPDX-License-Identifier: MIT */
/* Names, links, special files and sync: what vboxsf refuses (refuse.h).
 * Outside shares each wrapper is the plain call: the ops classify the names
 * lexically (no system call) and call straight through when neither is on a
 * share; the mknod and fsync families look further only after the call
 * failed the way a share refuses. */
#include "cache.h"
#include "real.h"
#include "refuse.h"
#include "vbf.h"

VBF_EXPORT int rename(const char *a, const char *b)
{
	if (!vbf_active())
		return REAL(rename)(a, b);
	return vbf_cache_after2(vbf_op_rename(VBF_RN_RENAME, AT_FDCWD, a, AT_FDCWD, b, 0), AT_FDCWD, a, AT_FDCWD, b);
}

VBF_EXPORT int renameat(int fa, const char *a, int fb, const char *b)
{
	if (!vbf_active())
		return REAL(renameat)(fa, a, fb, b);
	return vbf_cache_after2(vbf_op_rename(VBF_RN_RENAMEAT, fa, a, fb, b, 0), fa, a, fb, b);
}

VBF_EXPORT int renameat2(int fa, const char *a, int fb, const char *b, unsigned int fl)
{
	if (!vbf_active())
		return REAL(renameat2)(fa, a, fb, b, fl);
	return vbf_cache_after2(vbf_op_rename(VBF_RN_RENAMEAT2, fa, a, fb, b, fl), fa, a, fb, b);
}

VBF_EXPORT int unlink(const char *p)
{
	if (!vbf_active())
		return REAL(unlink)(p);
	return vbf_cache_after(vbf_op_unlink(VBF_UN_UNLINK, AT_FDCWD, p, 0), AT_FDCWD, p);
}

VBF_EXPORT int unlinkat(int d, const char *p, int fl)
{
	if (!vbf_active())
		return REAL(unlinkat)(d, p, fl);
	return vbf_cache_after(vbf_op_unlink(VBF_UN_UNLINKAT, d, p, fl), d, p);
}

VBF_EXPORT int rmdir(const char *p)
{
	if (!vbf_active())
		return REAL(rmdir)(p);
	return vbf_cache_after(vbf_op_unlink(VBF_UN_RMDIR, AT_FDCWD, p, AT_REMOVEDIR), AT_FDCWD, p);
}

/* libc's remove calls unlink and rmdir internally, out of our reach */
VBF_EXPORT int remove(const char *p)
{
	if (!vbf_active())
		return REAL(remove)(p);
	return vbf_cache_after(vbf_op_unlink(VBF_UN_REMOVE, AT_FDCWD, p, 0), AT_FDCWD, p);
}

VBF_EXPORT int link(const char *a, const char *b)
{
	if (!vbf_active())
		return REAL(link)(a, b);
	return vbf_cache_after2(vbf_op_link(VBF_LN_LINK, AT_FDCWD, a, AT_FDCWD, b, 0), AT_FDCWD, a, AT_FDCWD, b);
}

VBF_EXPORT int linkat(int fa, const char *a, int fb, const char *b, int fl)
{
	if (!vbf_active())
		return REAL(linkat)(fa, a, fb, b, fl);
	return vbf_cache_after2(vbf_op_link(VBF_LN_LINKAT, fa, a, fb, b, fl), fa, a, fb, b);
}

/* A share without mknod answers EPERM; only then is the name looked at. */
#define MKNOD_BODY(call, d, p, mode, dev)                                      \
	int r = call;                                                          \
	if (r < 0 && errno == EPERM)                                           \
		r = vbf_refuse_mknod(d, p, mode, dev);                         \
	return vbf_cache_after(r, d, p);

VBF_EXPORT int mkfifo(const char *p, mode_t m) { MKNOD_BODY(REAL(mkfifo)(p, m), AT_FDCWD, p, S_IFIFO | (m & 07777), 0) }
VBF_EXPORT int mkfifoat(int d, const char *p, mode_t m)
{
	MKNOD_BODY(REAL(mkfifoat)(d, p, m), d, p, S_IFIFO | (m & 07777), 0)
}
VBF_EXPORT int mknod(const char *p, mode_t m, dev_t dev) { MKNOD_BODY(REAL(mknod)(p, m, dev), AT_FDCWD, p, m, dev) }
VBF_EXPORT int mknodat(int d, const char *p, mode_t m, dev_t dev)
{
	MKNOD_BODY(REAL(mknodat)(d, p, m, dev), d, p, m, dev)
}
/* the device is read only after libc has (an EPERM comes after EFAULT) */
VBF_EXPORT int __xmknod(int v, const char *p, mode_t m, dev_t *dev)
{
	MKNOD_BODY(REAL(__xmknod)(v, p, m, dev), AT_FDCWD, p, m, dev ? *dev : 0)
}
VBF_EXPORT int __xmknodat(int v, int d, const char *p, mode_t m, dev_t *dev)
{
	MKNOD_BODY(REAL(__xmknodat)(v, d, p, m, dev), d, p, m, dev ? *dev : 0)
}

/* A share without a directory fsync answers EINVAL. */
VBF_EXPORT int fsync(int fd)
{
	int saved = errno, r = REAL(fsync)(fd);
	if (r < 0 && errno == EINVAL && vbf_active())
		return vbf_refuse_dirsync(fd, saved);
	return r;
}

VBF_EXPORT int fdatasync(int fd)
{
	int saved = errno, r = REAL(fdatasync)(fd);
	if (r < 0 && errno == EINVAL && vbf_active())
		return vbf_refuse_dirsync(fd, saved);
	return r;
}
