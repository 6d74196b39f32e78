/* Every system header the library needs, in one place, without
 * _FILE_OFFSET_BITS or _TIME_BITS: those would rename our `stat` to `stat64`
 * and `open` to `open64` behind our back (interposition.md, pitfall 4). */
#ifndef VBF_SYS_H
#define VBF_SYS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#ifdef _FILE_OFFSET_BITS
#error "build the shim without _FILE_OFFSET_BITS"
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
#include <sys/un.h>
#include <unistd.h>
#include <utime.h>

#ifdef __GLIBC__
#define VBF_GLIBC 1
#else
#define VBF_GLIBC 0
/* musl >= 1.2.4 dropped the LFS64 names; the layout is the same */
#ifndef stat64
#define stat64 stat
#endif
#endif

#if !defined(STATX_TYPE)
/* older headers and musl before 1.2.5 have no struct statx */
#include <linux/stat.h>
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

#define VBF_EXPORT __attribute__((visibility("default")))
#define VBF_TLS __thread __attribute__((tls_model("initial-exec")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif
