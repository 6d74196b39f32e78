/* SPDX-License-Identifier: MIT */
/* The table of real libc functions: the one way this library reaches the OS.
 *
 * Generated from symbols.def. Wrappers pass through with REAL(name); policy
 * modules call the same table, so a unit test replaces entries with fakes
 * and exercises the policy without touching a filesystem (SQLite's VFS idea).
 */
#ifndef VBF_REAL_H
#define VBF_REAL_H

#include "sys.h"

typedef int (*vbf_nftw_fn)(const char *, const struct stat *, int, struct FTW *);
typedef int (*vbf_ftw_fn)(const char *, const struct stat *, int);
typedef int (*vbf_nftw64_fn)(const char *, const struct stat64 *, int, struct FTW *);
typedef int (*vbf_ftw64_fn)(const char *, const struct stat64 *, int);

struct vbf_real {
#define VBF_SYM(ret, name, params, fallback) ret (*name) params;
#define VBF_OS(ret, name, params, fallback)  ret (*name) params;
#include "symbols.def"
#undef VBF_SYM
#undef VBF_OS
};

extern struct vbf_real vbf_real;

/* Prototypes of every listed function: newer headers no longer declare the
 * __xstat family or the _FORTIFY_SOURCE entry points. */
#define VBF_SYM(ret, name, params, fallback) ret name params;
#define VBF_OS(ret, name, params, fallback)
#include "symbols.def"
#undef VBF_SYM
#undef VBF_OS

/* 0 before resolution, 1 once every pointer is final. */
extern int vbf_real_ready;

/* Resolve the table (once; safe to call from any thread, before the
 * constructor, and re-entrantly: a call made while resolving keeps the
 * raw-syscall fallbacks). */
void vbf_real_init(void);

/* The slow path of REAL(): resolve if needed; NULL only when this libc has
 * no such function (the wrapper then answers ENOSYS). */
void *vbf_real_slow(void **slot);

#define REAL(name)                                                            \
	(__builtin_expect(vbf_real_ready, 1)                                  \
		 ? vbf_real.name                                              \
		 : (__typeof__(vbf_real.name))vbf_real_slow((void **)&vbf_real.name))

/* What /proc/self/fd/`fd` points to (for a directory or file: its path as
 * the kernel knows it, " (deleted)" appended once unlinked), NUL-terminated
 * in `buf`. Its length, or -1 with buf empty; errno is left alone. */
static inline ssize_t vbf_fd_path(int fd, char *buf, size_t cap)
{
	char proc[40];
	int saved = errno;
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	ssize_t n = cap > 1 ? REAL(readlink)(proc, buf, cap - 1) : -1;
	errno = saved;
	if (cap)
		buf[n > 0 ? n : 0] = 0;
	return n > 0 ? n : -1;
}

/* In a wrapper: a function this libc does not have answers ENOSYS, as a
 * program that found our export (dlsym, weak reference) would expect. The
 * one way to say it: `if (!REAL(name)) return vbf_no_function();`
 * (posix_spawn, which answers with its error number, returns ENOSYS). */
static inline int vbf_no_function(void)
{
	return vbf_fail(ENOSYS);
}

/* The same for a function that answers with a pointer (fopen, opendir). */
static inline void *vbf_no_function_null(void)
{
	errno = ENOSYS;
	return NULL;
}

/* A system call made without libc: used where libc's `syscall` may be our own
 * wrapper or not yet resolved. RAW(SYS_x, a, b...) takes up to six
 * arguments (the missing ones are 0). -1 and errno on failure. */
long vbf_raw_syscall(long n, long a, long b, long c, long d, long e, long f);
#define RAW(...) VBF_RAW_(__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0)
#define VBF_RAW_(n, a, b, c, d, e, f, ...)                                     \
	vbf_raw_syscall((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

#endif
