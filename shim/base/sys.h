/* SPDX-License-Identifier: MIT */
/* Every system header the library needs, in one place, without
 * _FILE_OFFSET_BITS or _TIME_BITS: those would rename our `stat` to `stat64`
 * and `open` to `open64` behind our back. */
#ifndef VBF_SYS_H
#define VBF_SYS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#ifdef _FILE_OFFSET_BITS
#error "build the shim without _FILE_OFFSET_BITS"
#endif

/* glibc marks the path and buffer of stat, open, chown... __nonnull. Our
 * definitions of those functions would inherit it, and GCC would then drop
 * every `!path` test in them and in what they inline: stat(NULL, &st) must
 * reach the kernel (EFAULT, or success with AT_EMPTY_PATH), not crash here.
 * It works where sys.h is the first header (every wrap_*.c); t_84 checks. */
#if !defined(__nonnull) && !defined(__attribute_nonnull__)
#define __nonnull(params)
#define __attribute_nonnull__(params)
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <fts.h>
#endif
#include <ftw.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/auxv.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#ifdef __GLIBC__
#define VBF_GLIBC 1
#else
#define VBF_GLIBC 0
/* musl's headers make the LFS64 names macros for the plain ones (always
 * before 1.2.4, with _LARGEFILE64_SOURCE after): our stat64 wrapper would
 * become a second stat. Undo them. `struct stat64` is then an incomplete
 * type that is only ever passed on or cast: the layout is struct stat's. */
#undef stat64
#undef lstat64
#undef fstat64
#undef fstatat64
#undef open64
#undef openat64
#undef creat64
#undef fopen64
struct stat64;
#endif

#if !defined(STATX_TYPE) && VBF_GLIBC
/* glibc before 2.28 headers: the kernel's definition */
#include <linux/stat.h>
#elif !defined(STATX_TYPE)
/* musl before 1.2.5 has no struct statx, and musl-gcc's include path has no
 * kernel headers: the kernel ABI (stable), spelled out. */
struct statx_timestamp {
	int64_t tv_sec;
	uint32_t tv_nsec;
	int32_t __reserved;
};
struct statx {
	uint32_t stx_mask, stx_blksize;
	uint64_t stx_attributes;
	uint32_t stx_nlink, stx_uid, stx_gid;
	uint16_t stx_mode, __spare0;
	uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
	struct statx_timestamp stx_atime, stx_btime, stx_ctime, stx_mtime;
	uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
	uint64_t __spare2[14];
};
#define STATX_TYPE 0x1U
#define STATX_MODE 0x2U
#define STATX_NLINK 0x4U
#define STATX_UID 0x8U
#define STATX_GID 0x10U
#define STATX_ATIME 0x20U
#define STATX_MTIME 0x40U
#define STATX_CTIME 0x80U
#define STATX_INO 0x100U
#define STATX_SIZE 0x200U
#define STATX_BLOCKS 0x400U
#define STATX_BASIC_STATS 0x7ffU
#define STATX_BTIME 0x800U
#define STATX_ALL 0xfffU
#define STATX__RESERVED 0x80000000U
#ifndef AT_STATX_SYNC_AS_STAT
#define AT_STATX_SYNC_AS_STAT 0x0000
#define AT_STATX_FORCE_SYNC 0x2000
#define AT_STATX_DONT_SYNC 0x4000
#endif
#endif

/* glibc declares bind/connect with a transparent union under _GNU_SOURCE;
 * symbols.def must spell the same type or the generated prototypes clash. */
#if defined(__GLIBC__) && defined(__USE_GNU)
typedef __CONST_SOCKADDR_ARG vbf_csockaddr;
#define VBF_SOCKADDR(a) ((a).__sockaddr__)
#else
typedef const struct sockaddr *vbf_csockaddr;
#define VBF_SOCKADDR(a) (a)
#endif

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452 /* Linux 6.6, the same number on x86_64 and aarch64 */
#endif

/* The one way to fail with an errno: `return vbf_fail(EINVAL);` */
static inline int vbf_fail(int err)
{
	errno = err;
	return -1;
}

#define VBF_EXPORT __attribute__((visibility("default")))
#define VBF_TLS __thread __attribute__((tls_model("initial-exec")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif
