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

/* Each name is classified once, here; names on no share are the call the
 * program made, the ops (refuse.h) take the *at form. */
VBF_EXPORT int rename(const char *a, const char *b)
{
	struct vbf_where wa, wb;
	if (!vbf_active() || !vbf_where_two(AT_FDCWD, a, &wa, AT_FDCWD, b, &wb))
		return REAL(rename)(a, b);
	return vbf_cache_after2(vbf_op_rename(&wa, AT_FDCWD, a, &wb, AT_FDCWD, b, 0), AT_FDCWD, a, AT_FDCWD, b);
}

VBF_EXPORT int renameat(int fa, const char *a, int fb, const char *b)
{
	struct vbf_where wa, wb;
	if (!vbf_active() || !vbf_where_two(fa, a, &wa, fb, b, &wb))
		return REAL(renameat)(fa, a, fb, b);
	return vbf_cache_after2(vbf_op_rename(&wa, fa, a, &wb, fb, b, 0), fa, a, fb, b);
}

VBF_EXPORT int renameat2(int fa, const char *a, int fb, const char *b, unsigned int fl)
{
	struct vbf_where wa, wb;
	if (!vbf_active() || !vbf_where_two(fa, a, &wa, fb, b, &wb))
		return REAL(renameat2)(fa, a, fb, b, fl);
	return vbf_cache_after2(vbf_op_rename(&wa, fa, a, &wb, fb, b, fl), fa, a, fb, b);
}

VBF_EXPORT int unlink(const char *p)
{
	struct vbf_where w;
	if (!vbf_active() || vbf_where_name(AT_FDCWD, p, &w) < 0)
		return REAL(unlink)(p);
	return vbf_cache_after(vbf_op_unlink(&w, AT_FDCWD, p, 0), AT_FDCWD, p);
}

VBF_EXPORT int unlinkat(int d, const char *p, int fl)
{
	struct vbf_where w;
	if (!vbf_active() || vbf_where_name(d, p, &w) < 0)
		return REAL(unlinkat)(d, p, fl);
	return vbf_cache_after(vbf_op_unlink(&w, d, p, fl), d, p);
}

VBF_EXPORT int rmdir(const char *p)
{
	struct vbf_where w;
	if (!vbf_active() || vbf_where_name(AT_FDCWD, p, &w) < 0)
		return REAL(rmdir)(p);
	return vbf_cache_after(vbf_op_unlink(&w, AT_FDCWD, p, AT_REMOVEDIR), AT_FDCWD, p);
}

/* libc's remove calls unlink and rmdir internally, out of our reach */
VBF_EXPORT int remove(const char *p)
{
	struct vbf_where w;
	if (!vbf_active() || vbf_where_name(AT_FDCWD, p, &w) < 0)
		return REAL(remove)(p);
	return vbf_cache_after(vbf_op_remove(&w, p), AT_FDCWD, p);
}

VBF_EXPORT int link(const char *a, const char *b)
{
	struct vbf_where wa, wb;
	if (!vbf_active() || !vbf_where_two(AT_FDCWD, a, &wa, AT_FDCWD, b, &wb))
		return REAL(link)(a, b);
	return vbf_cache_after2(vbf_op_link(&wa, AT_FDCWD, a, &wb, AT_FDCWD, b, 0), AT_FDCWD, a, AT_FDCWD, b);
}

VBF_EXPORT int linkat(int fa, const char *a, int fb, const char *b, int fl)
{
	struct vbf_where wa, wb;
	if (!vbf_active() || !vbf_where_two(fa, a, &wa, fb, b, &wb))
		return REAL(linkat)(fa, a, fb, b, fl);
	return vbf_cache_after2(vbf_op_link(&wa, fa, a, &wb, fb, b, fl), fa, a, fb, b);
}

/* A share without mknod answers EPERM; only then is the name looked at
 * (and the device read: libc has judged the pointer by then). */
static int mknod_after(int r, int d, const char *p, mode_t mode, const dev_t *dev)
{
	if (r < 0 && errno == EPERM)
		r = vbf_refuse_mknod(d, p, mode, dev ? *dev : 0);
	return vbf_cache_after(r, d, p);
}

VBF_EXPORT int mkfifo(const char *p, mode_t m)
{
	return mknod_after(REAL(mkfifo)(p, m), AT_FDCWD, p, S_IFIFO | (m & 07777), NULL);
}
VBF_EXPORT int mkfifoat(int d, const char *p, mode_t m)
{
	return mknod_after(REAL(mkfifoat)(d, p, m), d, p, S_IFIFO | (m & 07777), NULL);
}
VBF_EXPORT int mknod(const char *p, mode_t m, dev_t dev) { return mknod_after(REAL(mknod)(p, m, dev), AT_FDCWD, p, m, &dev); }
VBF_EXPORT int mknodat(int d, const char *p, mode_t m, dev_t dev)
{
	return mknod_after(REAL(mknodat)(d, p, m, dev), d, p, m, &dev);
}
VBF_EXPORT int __xmknod(int v, const char *p, mode_t m, dev_t *dev)
{
	return mknod_after(REAL(__xmknod)(v, p, m, dev), AT_FDCWD, p, m, dev);
}
VBF_EXPORT int __xmknodat(int v, int d, const char *p, mode_t m, dev_t *dev)
{
	return mknod_after(REAL(__xmknodat)(v, d, p, m, dev), d, p, m, dev);
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
