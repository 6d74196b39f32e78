/* SPDX-License-Identifier: MIT */
/* Descriptors known to be on a share: set by the open wrappers (which know
 * the path), copied by dup, cleared by close. It lets fchown(fd) or
 * openat(dirfd, ...) outside shares stay free of extra system calls. A mark
 * can go stale (an fd closed inside libc and reused); users of a mark confirm
 * it with fstat, so a stale mark costs one call, never a wrong answer.
 * Descriptors opened before exec or inside libc are unknown (not marked). */
#ifndef VBF_FDTAB_H
#define VBF_FDTAB_H

#define VBF_FDTAB_SIZE 65536
extern unsigned char vbf_fdtab[VBF_FDTAB_SIZE];

/* Bits of an entry: on a share; a file whose unlink waits for its last
 * close here (defer.h). vbf_fd_mark sets the whole entry to 0 or 1. */
#define VBF_FD_SHARE 1
#define VBF_FD_DEFER 2

static inline int vbf_fd_marked(int fd)
{
	return fd >= 0 && fd < VBF_FDTAB_SIZE && (vbf_fdtab[fd] & VBF_FD_SHARE);
}

static inline unsigned char vbf_fd_bits(int fd)
{
	return fd >= 0 && fd < VBF_FDTAB_SIZE ? vbf_fdtab[fd] : 0;
}

static inline void vbf_fd_mark(int fd, int on)
{
	if (fd >= 0 && fd < VBF_FDTAB_SIZE && vbf_fdtab[fd] != on)
		vbf_fdtab[fd] = (unsigned char)on;
}

#endif
