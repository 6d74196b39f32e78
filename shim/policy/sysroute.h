/* SPDX-License-Identifier: MIT */
/* Which calls made through syscall(2) the library takes (node/libuv, Rust
 * and Boost make some calls this way), and on which road: the same one as
 * their libc forms. Every other number goes to the kernel unchanged. */
#ifndef VBF_SYSROUTE_H
#define VBF_SYSROUTE_H

#include "sys.h"

enum vbf_sysroute {
	VBF_SYS_PLAIN,    /* the kernel's call, nothing after */
	VBF_SYS_OWN,      /* fchownat, fchmodat by name: the owner policy (own.h) on a share */
	VBF_SYS_CHMOD2,   /* fchmodat2: as its wrapper (libc lacks it) */
	VBF_SYS_RENAME,   /* renameat2: the rename policy (refuse.h) */
	VBF_SYS_STAT,     /* newfstatat (no flag but NOFOLLOW), stat, lstat: as the stat wrappers */
	VBF_SYS_STATX,    /* statx of a name: as the statx wrapper */
	VBF_SYS_FIX_AFTER /* statx, newfstatat with other flags, fstat: the call, then presented */
};

/* The road of system call `n` with arguments `a` (pure: looks at nothing
 * else). */
enum vbf_sysroute vbf_sysroute(long n, const long a[6]);

/* A stat by name among the VBF_SYS_STAT numbers: what it looks at. */
struct vbf_sysstat {
	int dirfd;
	const char *path;
	int follow;
	struct stat *st;
};
void vbf_sysstat_args(long n, const long a[6], struct vbf_sysstat *s);

#endif
