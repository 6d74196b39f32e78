/* SPDX-License-Identifier: MIT */
/* Which calls made through syscall(2) the library takes (sysroute.h). */
#include "sysroute.h"
#include "real.h"

enum vbf_sysroute vbf_sysroute(long n, const long a[6])
{
	if (n == SYS_fchownat || n == SYS_fchmodat)
		return VBF_SYS_OWN;
	if (n == SYS_fchmodat2)
		return VBF_SYS_CHMOD2;
	if (n == SYS_renameat2)
		return VBF_SYS_RENAME;
	if (n == SYS_newfstatat)
		return a[3] & ~AT_SYMLINK_NOFOLLOW ? VBF_SYS_FIX_AFTER : VBF_SYS_STAT;
#ifdef SYS_stat
	if (n == SYS_stat || n == SYS_lstat)
		return VBF_SYS_STAT;
#endif
	if (n == SYS_statx)
		return a[2] & AT_EMPTY_PATH ? VBF_SYS_FIX_AFTER : VBF_SYS_STATX;
	if (n == SYS_fstat)
		return VBF_SYS_FIX_AFTER;
	return VBF_SYS_PLAIN;
}

void vbf_sysstat_args(long n, const long a[6], struct vbf_sysstat *s)
{
	if (n == SYS_newfstatat) {
		s->dirfd = (int)a[0];
		s->path = (const char *)a[1];
		s->follow = !(a[3] & AT_SYMLINK_NOFOLLOW);
		s->st = (struct stat *)a[2];
		return;
	}
	s->dirfd = AT_FDCWD;
	s->path = (const char *)a[0];
#ifdef SYS_stat
	s->follow = n == SYS_stat;
#else
	s->follow = 1;
#endif
	s->st = (struct stat *)a[1];
}
