/* SPDX-License-Identifier: MIT */
/* statx -> struct stat, for code that keeps one form (the cache, the
 * presented view). Fields the statx mask does not cover come out as they
 * were in the kernel's answer (usually 0). */
#ifndef VBF_STATCONV_H
#define VBF_STATCONV_H

#include "sys.h"
#include <sys/sysmacros.h>

static inline void vbf_stat_from_statx(struct stat *st, const struct statx *x)
{
	memset(st, 0, sizeof *st);
	st->st_dev = makedev(x->stx_dev_major, x->stx_dev_minor);
	st->st_ino = x->stx_ino;
	st->st_nlink = x->stx_nlink;
	st->st_mode = x->stx_mode;
	st->st_uid = x->stx_uid;
	st->st_gid = x->stx_gid;
	st->st_rdev = makedev(x->stx_rdev_major, x->stx_rdev_minor);
	st->st_size = (off_t)x->stx_size;
	st->st_blksize = x->stx_blksize;
	st->st_blocks = (blkcnt_t)x->stx_blocks;
	st->st_atim.tv_sec = x->stx_atime.tv_sec;
	st->st_atim.tv_nsec = x->stx_atime.tv_nsec;
	st->st_mtim.tv_sec = x->stx_mtime.tv_sec;
	st->st_mtim.tv_nsec = x->stx_mtime.tv_nsec;
	st->st_ctim.tv_sec = x->stx_ctime.tv_sec;
	st->st_ctim.tv_nsec = x->stx_ctime.tv_nsec;
}

#endif
