/* SPDX-License-Identifier: MIT */
/* syscall(2): the numbers the library takes go the same road as their libc
 * forms (sysroute.h decides which and how); the stats by name through the
 * same steps as the stat wrappers without the cache (present.h), fstat and
 * the rest fixed after; chown and chmod through the same policy as their
 * libc forms (fchmodat2, which libc lacks, through its wrapper). Every
 * other number is the plain call. */
#include "own.h"
#include "present.h"
#include "real.h"
#include "refuse.h"
#include "shares.h"
#include "sysroute.h"
#include "vbf.h"

static long plain(long n, const long a[6])
{
	return REAL(syscall)(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* fchownat, fchmodat: the owner policy on a share, else the kernel. */
static long own_call(long n, const long a[6])
{
	struct vbf_where w;
	int d = (int)a[0];
	const char *p = (const char *)a[1];
	if (!vbf_active() || vbf_where_name(d, p, &w) < 0)
		return plain(n, a);
	return n == SYS_fchownat ? vbf_op_chown(d, p, (uid_t)a[2], (gid_t)a[3], (int)a[4])
				 : vbf_op_chmod(d, p, (mode_t)a[2], 0);
}

static long rename_call(long n, const long a[6])
{
	struct vbf_where wa, wb;
	int fa = (int)a[0], fb = (int)a[2];
	const char *pa = (const char *)a[1], *pb = (const char *)a[3];
	if (!vbf_active() || !vbf_where_two(fa, pa, &wa, fb, pb, &wb))
		return plain(n, a);
	return vbf_op_rename(&wa, fa, pa, &wb, fb, pb, (unsigned int)a[4]);
}

/* A stat by name: kernel-resolved where worth it. */
static long stat_call(long n, const long a[6])
{
	struct vbf_sysstat s;
	struct vbf_stat_name sn;
	long r;
	vbf_sysstat_args(n, a, &s);
	if (vbf_active() && vbf_stat_resolvable(s.dirfd, s.path, s.follow))
		sn.resolved = 1,
		r = vbf_stat_where(s.dirfd, s.path, s.follow ? 0 : AT_SYMLINK_NOFOLLOW, s.st, &sn.w, &sn.same);
	else
		sn.resolved = 0, r = plain(n, a);
	return vbf_active() ? vbf_stat_done((int)r, VBF_CACHE_SKIP, NULL, s.dirfd, s.path, s.follow, s.st, &sn) : r;
}

static long statx_call(long n, const long a[6])
{
	struct vbf_stat_name sn;
	int d = (int)a[0], fl = (int)a[2];
	const char *p = (const char *)a[1];
	unsigned mask = (unsigned)a[3];
	struct statx *stx = (struct statx *)a[4];
	long r;
	if (vbf_active() && vbf_stat_resolvable(d, p, !(fl & AT_SYMLINK_NOFOLLOW)))
		sn.resolved = 1, r = vbf_statx_where(d, p, fl, mask, stx, &sn.w, &sn.same);
	else
		sn.resolved = 0, r = plain(n, a);
	return vbf_active() ? vbf_statx_done((int)r, VBF_CACHE_SKIP, NULL, d, p, fl, mask, stx, &sn) : r;
}

/* statx with AT_EMPTY_PATH, newfstatat with other flags, fstat: the call,
 * then what it filled presented. */
static long fix_after(long n, const long a[6])
{
	long r = plain(n, a);
	if (r != 0 || !vbf_active())
		return r;
	if (n == SYS_statx)
		return vbf_present_statx((int)a[0], (const char *)a[1], (int)a[2], (struct statx *)a[4]);
	if (n == SYS_newfstatat)
		return vbf_present_stat((int)a[0], (const char *)a[1], !(a[3] & AT_SYMLINK_NOFOLLOW),
					(struct stat *)a[2]);
	vbf_present_stat((int)a[0], NULL, 1, (struct stat *)a[1]); /* fstat */
	return r;
}

VBF_EXPORT long syscall(long n, ...)
{
	va_list ap;
	long a[6];
	va_start(ap, n);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long); /* as glibc does: extra arguments are harmless */
	va_end(ap);

	switch (vbf_sysroute(n, a)) {
	case VBF_SYS_OWN:
		return own_call(n, a);
	case VBF_SYS_CHMOD2:
		return vbf_wrap_fchmodat2((int)a[0], (const char *)a[1], (mode_t)a[2], (int)a[3]);
	case VBF_SYS_RENAME:
		return rename_call(n, a);
	case VBF_SYS_STAT:
		return stat_call(n, a);
	case VBF_SYS_STATX:
		return statx_call(n, a);
	case VBF_SYS_FIX_AFTER:
		return fix_after(n, a);
	case VBF_SYS_PLAIN:
		break;
	}
	return plain(n, a);
}
