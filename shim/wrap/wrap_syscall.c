/* SPDX-License-Identifier: MIT */
/* syscall(2): node/libuv, Rust and Boost make some calls this way. The stat
 * calls by name go through the same steps as their libc forms (present.h,
 * without the cache), fstat is fixed after; chown and chmod go through the
 * same policy as their libc forms (fchmodat2, which libc lacks, through its
 * wrapper). */
#include "own.h"
#include "present.h"
#include "real.h"
#include "refuse.h"
#include "shares.h"
#include "vbf.h"

/* A stat by name made through syscall(2): kernel-resolved where worth it. */
static long stat_call(long n, const long a[6], int d, const char *p, int follow, struct stat *st)
{
	struct vbf_stat_name sn;
	long r;
	if (vbf_active() && vbf_stat_resolvable(d, p, follow))
		sn.resolved = 1, r = vbf_stat_where(d, p, follow ? 0 : AT_SYMLINK_NOFOLLOW, st, &sn.w, &sn.same);
	else
		sn.resolved = 0, r = REAL(syscall)(n, a[0], a[1], a[2], a[3], a[4], a[5]);
	return vbf_active() ? vbf_stat_done((int)r, VBF_CACHE_SKIP, NULL, d, p, follow, st, &sn) : r;
}

VBF_EXPORT long syscall(long n, ...)
{
	va_list ap;
	long a[6];
	va_start(ap, n);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long); /* as glibc does: extra arguments are harmless */
	va_end(ap);

	if (n == SYS_fchownat || n == SYS_fchmodat) {
		struct vbf_where w;
		int d = (int)a[0];
		const char *p = (const char *)a[1];
		if (vbf_active() && vbf_where_name(d, p, &w) >= 0)
			return n == SYS_fchownat ? vbf_op_chown(d, p, (uid_t)a[2], (gid_t)a[3], (int)a[4])
						 : vbf_op_chmod(d, p, (mode_t)a[2], 0);
	}
	if (n == SYS_fchmodat2)
		return vbf_wrap_fchmodat2((int)a[0], (const char *)a[1], (mode_t)a[2], (int)a[3]);
	if (n == SYS_renameat2) {
		struct vbf_where wa, wb;
		if (vbf_active() && vbf_where_two((int)a[0], (const char *)a[1], &wa, (int)a[2], (const char *)a[3], &wb))
			return vbf_op_rename(&wa, (int)a[0], (const char *)a[1], &wb, (int)a[2], (const char *)a[3],
					     (unsigned int)a[4]);
	}
	/* the stats, as their libc forms (wrap_stat.c) without the cache */
	if (n == SYS_newfstatat && !(a[3] & ~AT_SYMLINK_NOFOLLOW))
		return stat_call(n, a, (int)a[0], (const char *)a[1], !(a[3] & AT_SYMLINK_NOFOLLOW), (struct stat *)a[2]);
#ifdef SYS_stat
	if (n == SYS_stat || n == SYS_lstat)
		return stat_call(n, a, AT_FDCWD, (const char *)a[0], n == SYS_stat, (struct stat *)a[1]);
#endif
	if (n == SYS_statx && !(a[2] & AT_EMPTY_PATH)) {
		struct vbf_stat_name sn;
		int d = (int)a[0], fl = (int)a[2];
		const char *p = (const char *)a[1];
		struct statx *stx = (struct statx *)a[4];
		long r;
		if (vbf_active() && vbf_stat_resolvable(d, p, !(fl & AT_SYMLINK_NOFOLLOW)))
			sn.resolved = 1, r = vbf_statx_where(d, p, fl, (unsigned)a[3], stx, &sn.w, &sn.same);
		else
			sn.resolved = 0, r = REAL(syscall)(n, a[0], a[1], a[2], a[3], a[4], a[5]);
		return vbf_active() ? vbf_statx_done((int)r, VBF_CACHE_SKIP, NULL, d, p, fl, (unsigned)a[3], stx, &sn) : r;
	}
	long r = REAL(syscall)(n, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (r != 0 || !vbf_active())
		return r;
	switch (n) {
	case SYS_statx:
		r = vbf_present_statx((int)a[0], (const char *)a[1], (int)a[2], (struct statx *)a[4]);
		break;
	case SYS_newfstatat:
		r = vbf_present_stat((int)a[0], (const char *)a[1], !(a[3] & AT_SYMLINK_NOFOLLOW), (struct stat *)a[2]);
		break;
	case SYS_fstat:
		vbf_present_stat((int)a[0], NULL, 1, (struct stat *)a[1]);
		break;
	}
	return r;
}
