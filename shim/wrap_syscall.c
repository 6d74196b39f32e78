/* SPDX-License-Identifier: MIT */
/* syscall(2): node/libuv, Rust and Boost make some calls this way. The stat
 * calls are fixed after; chown and chmod go through the same policy as
 * their libc forms (fchmodat2, which libc lacks, through its wrapper). */
#include "own.h"
#include "present.h"
#include "real.h"
#include "refuse.h"
#include "shares.h"
#include "vbf.h"

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
	if (n == SYS_renameat2 && vbf_active())
		return vbf_op_rename(VBF_RN_SYSCALL, (int)a[0], (const char *)a[1], (int)a[2], (const char *)a[3],
				     (unsigned int)a[4]);
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
#ifdef SYS_stat
	case SYS_stat:
		r = vbf_present_stat(AT_FDCWD, (const char *)a[0], 1, (struct stat *)a[1]);
		break;
	case SYS_lstat:
		r = vbf_present_stat(AT_FDCWD, (const char *)a[0], 0, (struct stat *)a[1]);
		break;
#endif
	case SYS_fstat:
		vbf_present_stat((int)a[0], NULL, 1, (struct stat *)a[1]);
		break;
	}
	return r;
}
