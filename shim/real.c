/* SPDX-License-Identifier: MIT */
/* The real-function table: resolved once with dlsym(RTLD_NEXT), with
 * raw-syscall fallbacks in place from the start so that a call arriving
 * before the constructor, during resolution (dlsym may allocate, an
 * allocator may open files) or on a libc that lacks the symbol still works.
 */
#include "real.h"
#include <dlfcn.h>
#include <stdatomic.h>

#if VBF_GLIBC && defined(__x86_64__)
/* glibc 2.34 moved dlsym into libc under a new version; bind the old one so
 * the library loads on glibc 2.28 (interposition.md, pitfall 3). */
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
#elif VBF_GLIBC && defined(__aarch64__)
__asm__(".symver dlsym,dlsym@GLIBC_2.17");
#endif

long vbf_raw_syscall(long n, long a, long b, long c, long d, long e, long f)
{
	unsigned long ret;
#if defined(__x86_64__)
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;
	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
	ret = (unsigned long)x0;
#else
#error "vboxfix supports x86_64 and aarch64"
#endif
	if (ret > -4096UL) {
		errno = (int)-ret;
		return -1;
	}
	return (long)ret;
}

#define RAW(n, a, b, c, d) vbf_raw_syscall(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define NOFOLLOW AT_SYMLINK_NOFOLLOW

/* The mode argument exists only with O_CREAT or O_TMPFILE. */
#define OPEN_MODE(flags, ap, last)                                            \
	mode_t mode = 0;                                                      \
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {          \
		va_list ap;                                                   \
		va_start(ap, last);                                           \
		mode = (mode_t)va_arg(ap, int);                               \
		va_end(ap);                                                   \
	}

static int fb_stat(const char *p, struct stat *st) { return RAW(SYS_newfstatat, AT_FDCWD, p, st, 0); }
static int fb_lstat(const char *p, struct stat *st) { return RAW(SYS_newfstatat, AT_FDCWD, p, st, NOFOLLOW); }
static int fb_fstat(int fd, struct stat *st) { return RAW(SYS_fstat, fd, st, 0, 0); }
static int fb_fstatat(int d, const char *p, struct stat *st, int fl) { return RAW(SYS_newfstatat, d, p, st, fl); }
static int fb_xstat(int v, const char *p, struct stat *st) { return fb_stat(p, st); }
static int fb_lxstat(int v, const char *p, struct stat *st) { return fb_lstat(p, st); }
static int fb_fxstat(int v, int fd, struct stat *st) { return fb_fstat(fd, st); }
static int fb_fxstatat(int v, int d, const char *p, struct stat *st, int fl) { return fb_fstatat(d, p, st, fl); }
static int fb_statx(int d, const char *p, int fl, unsigned m, struct statx *b)
{
	return (int)vbf_raw_syscall(SYS_statx, d, (long)p, fl, m, (long)b, 0);
}
static long fb_syscall(long n, ...)
{
	va_list ap;
	long a[6];
	va_start(ap, n);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	return vbf_raw_syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}
static int fb_openat(int d, const char *p, int flags, ...)
{
	OPEN_MODE(flags, ap, flags);
	return RAW(SYS_openat, d, p, flags, mode);
}
static int fb_open(const char *p, int flags, ...)
{
	OPEN_MODE(flags, ap, flags);
	return RAW(SYS_openat, AT_FDCWD, p, flags, mode);
}
static int fb_open_2(const char *p, int flags) { return RAW(SYS_openat, AT_FDCWD, p, flags, 0); }
static int fb_openat_2(int d, const char *p, int flags) { return RAW(SYS_openat, d, p, flags, 0); }
static int fb_creat(const char *p, mode_t m) { return RAW(SYS_openat, AT_FDCWD, p, O_CREAT | O_WRONLY | O_TRUNC, m); }
static int fb_mkdir(const char *p, mode_t m) { return RAW(SYS_mkdirat, AT_FDCWD, p, m, 0); }
static int fb_mkdirat(int d, const char *p, mode_t m) { return RAW(SYS_mkdirat, d, p, m, 0); }
static int fb_close(int fd) { return RAW(SYS_close, fd, 0, 0, 0); }
static int fb_dup(int fd) { return RAW(SYS_dup, fd, 0, 0, 0); }
static int fb_dup3(int a, int b, int fl) { return RAW(SYS_dup3, a, b, fl, 0); }
static int fb_dup2(int a, int b)
{
	if (a == b)
		return RAW(SYS_fcntl, a, F_GETFD, 0, 0) < 0 ? -1 : b;
	return fb_dup3(a, b, 0);
}
static int fb_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return RAW(SYS_fcntl, fd, cmd, arg, 0);
}
static int fb_chdir(const char *p) { return RAW(SYS_chdir, p, 0, 0, 0); }
static int fb_fchdir(int fd) { return RAW(SYS_fchdir, fd, 0, 0, 0); }
static mode_t fb_umask(mode_t m) { return (mode_t)RAW(SYS_umask, m, 0, 0, 0); }
static int fb_faccessat(int d, const char *p, int m, int fl)
{
	return fl ? RAW(439 /* faccessat2 */, d, p, m, fl) : RAW(SYS_faccessat, d, p, m, 0);
}
static int fb_access(const char *p, int m) { return fb_faccessat(AT_FDCWD, p, m, 0); }
static int fb_euidaccess(const char *p, int m) { return fb_faccessat(AT_FDCWD, p, m, AT_EACCESS); }
static int fb_fchownat(int d, const char *p, uid_t u, gid_t g, int fl)
{
	return (int)vbf_raw_syscall(SYS_fchownat, d, (long)p, u, g, fl, 0);
}
static int fb_chown(const char *p, uid_t u, gid_t g) { return fb_fchownat(AT_FDCWD, p, u, g, 0); }
static int fb_lchown(const char *p, uid_t u, gid_t g) { return fb_fchownat(AT_FDCWD, p, u, g, NOFOLLOW); }
static int fb_fchown(int fd, uid_t u, gid_t g) { return RAW(SYS_fchown, fd, u, g, 0); }
static int fb_fchmodat(int d, const char *p, mode_t m, int fl)
{
	if (fl) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return RAW(SYS_fchmodat, d, p, m, 0);
}
static int fb_chmod(const char *p, mode_t m) { return RAW(SYS_fchmodat, AT_FDCWD, p, m, 0); }
static int fb_lchmod(const char *p, mode_t m) { return fb_fchmodat(AT_FDCWD, p, m, NOFOLLOW); }
static int fb_fchmod(int fd, mode_t m) { return RAW(SYS_fchmod, fd, m, 0, 0); }
static uid_t fb_geteuid(void) { return (uid_t)RAW(SYS_geteuid, 0, 0, 0, 0); }
static gid_t fb_getegid(void) { return (gid_t)RAW(SYS_getegid, 0, 0, 0, 0); }
static uid_t fb_getuid(void) { return (uid_t)RAW(SYS_getuid, 0, 0, 0, 0); }
static gid_t fb_getgid(void) { return (gid_t)RAW(SYS_getgid, 0, 0, 0, 0); }
static int fb_getgroups(int n, gid_t *l) { return RAW(SYS_getgroups, n, l, 0, 0); }
static ssize_t fb_readlink(const char *p, char *b, size_t n) { return RAW(SYS_readlinkat, AT_FDCWD, p, b, n); }
static char *fb_getcwd(char *b, size_t n) { return RAW(SYS_getcwd, b, n, 0, 0) < 0 ? NULL : b; }
static ssize_t fb_read(int fd, void *b, size_t n) { return RAW(SYS_read, fd, b, n, 0); }
static ssize_t fb_write(int fd, const void *b, size_t n) { return RAW(SYS_write, fd, b, n, 0); }
static int fb_statfs(const char *p, struct statfs *b) { return RAW(SYS_statfs, p, b, 0, 0); }
static int fb_renameat2(int a, const char *p, int b, const char *q, unsigned fl)
{
	return (int)vbf_raw_syscall(SYS_renameat2, a, (long)p, b, (long)q, fl, 0);
}
static int fb_renameat(int a, const char *p, int b, const char *q) { return fb_renameat2(a, p, b, q, 0); }
static int fb_rename(const char *p, const char *q) { return fb_renameat2(AT_FDCWD, p, AT_FDCWD, q, 0); }
static int fb_unlinkat(int d, const char *p, int fl) { return RAW(SYS_unlinkat, d, p, fl, 0); }
static int fb_unlink(const char *p) { return RAW(SYS_unlinkat, AT_FDCWD, p, 0, 0); }
static int fb_rmdir(const char *p) { return RAW(SYS_unlinkat, AT_FDCWD, p, AT_REMOVEDIR, 0); }
static int fb_remove(const char *p)
{
	/* as glibc: a directory answers EISDIR (or EPERM) to unlink */
	if (fb_unlink(p) == 0)
		return 0;
	return errno == EISDIR || errno == EPERM ? fb_rmdir(p) : -1;
}
static int fb_linkat(int a, const char *p, int b, const char *q, int fl)
{
	return (int)vbf_raw_syscall(SYS_linkat, a, (long)p, b, (long)q, fl, 0);
}
static int fb_link(const char *p, const char *q) { return fb_linkat(AT_FDCWD, p, AT_FDCWD, q, 0); }
static int fb_mknodat(int d, const char *p, mode_t m, dev_t dv) { return RAW(SYS_mknodat, d, p, m, dv); }
static int fb_mknod(const char *p, mode_t m, dev_t dv) { return fb_mknodat(AT_FDCWD, p, m, dv); }
static int fb_mkfifoat(int d, const char *p, mode_t m) { return fb_mknodat(d, p, (m & 07777) | S_IFIFO, 0); }
static int fb_mkfifo(const char *p, mode_t m) { return fb_mkfifoat(AT_FDCWD, p, m); }
static int fb_xmknod(int v, const char *p, mode_t m, dev_t *dv) { return fb_mknodat(AT_FDCWD, p, m, dv ? *dv : 0); }
static int fb_xmknodat(int v, int d, const char *p, mode_t m, dev_t *dv) { return fb_mknodat(d, p, m, dv ? *dv : 0); }
static int fb_bind(int fd, const struct sockaddr *a, socklen_t n) { return RAW(SYS_bind, fd, a, n, 0); }
static int fb_connect(int fd, const struct sockaddr *a, socklen_t n) { return RAW(SYS_connect, fd, a, n, 0); }
static int fb_fsync(int fd) { return RAW(SYS_fsync, fd, 0, 0, 0); }
static int fb_fdatasync(int fd) { return RAW(SYS_fdatasync, fd, 0, 0, 0); }

/* Casts only: the *64 forms share their layout with the plain ones on the
 * 64-bit targets we build for. */
#define FB(fn) ((void *)(fn))
struct vbf_real vbf_real;
static void *const fallbacks[][2] = {
	{&vbf_real.stat, FB(fb_stat)}, {&vbf_real.stat64, FB(fb_stat)},
	{&vbf_real.lstat, FB(fb_lstat)}, {&vbf_real.lstat64, FB(fb_lstat)},
	{&vbf_real.fstat, FB(fb_fstat)}, {&vbf_real.fstat64, FB(fb_fstat)},
	{&vbf_real.fstatat, FB(fb_fstatat)}, {&vbf_real.fstatat64, FB(fb_fstatat)},
	{&vbf_real.__xstat, FB(fb_xstat)}, {&vbf_real.__xstat64, FB(fb_xstat)},
	{&vbf_real.__lxstat, FB(fb_lxstat)}, {&vbf_real.__lxstat64, FB(fb_lxstat)},
	{&vbf_real.__fxstat, FB(fb_fxstat)}, {&vbf_real.__fxstat64, FB(fb_fxstat)},
	{&vbf_real.__fxstatat, FB(fb_fxstatat)}, {&vbf_real.__fxstatat64, FB(fb_fxstatat)},
	{&vbf_real.statx, FB(fb_statx)}, {&vbf_real.syscall, FB(fb_syscall)},
	{&vbf_real.open, FB(fb_open)}, {&vbf_real.open64, FB(fb_open)},
	{&vbf_real.openat, FB(fb_openat)}, {&vbf_real.openat64, FB(fb_openat)},
	{&vbf_real.__open_2, FB(fb_open_2)}, {&vbf_real.__open64_2, FB(fb_open_2)},
	{&vbf_real.__openat_2, FB(fb_openat_2)}, {&vbf_real.__openat64_2, FB(fb_openat_2)},
	{&vbf_real.creat, FB(fb_creat)}, {&vbf_real.creat64, FB(fb_creat)},
	{&vbf_real.mkdir, FB(fb_mkdir)}, {&vbf_real.mkdirat, FB(fb_mkdirat)},
	{&vbf_real.close, FB(fb_close)}, {&vbf_real.dup, FB(fb_dup)},
	{&vbf_real.dup2, FB(fb_dup2)}, {&vbf_real.dup3, FB(fb_dup3)},
	{&vbf_real.fcntl, FB(fb_fcntl)}, {&vbf_real.fcntl64, FB(fb_fcntl)},
	{&vbf_real.chdir, FB(fb_chdir)}, {&vbf_real.fchdir, FB(fb_fchdir)},
	{&vbf_real.umask, FB(fb_umask)},
	{&vbf_real.access, FB(fb_access)}, {&vbf_real.faccessat, FB(fb_faccessat)},
	{&vbf_real.euidaccess, FB(fb_euidaccess)}, {&vbf_real.eaccess, FB(fb_euidaccess)},
	{&vbf_real.chown, FB(fb_chown)}, {&vbf_real.lchown, FB(fb_lchown)},
	{&vbf_real.fchown, FB(fb_fchown)}, {&vbf_real.fchownat, FB(fb_fchownat)},
	{&vbf_real.chmod, FB(fb_chmod)}, {&vbf_real.lchmod, FB(fb_lchmod)},
	{&vbf_real.fchmod, FB(fb_fchmod)}, {&vbf_real.fchmodat, FB(fb_fchmodat)},
	{&vbf_real.geteuid, FB(fb_geteuid)}, {&vbf_real.getegid, FB(fb_getegid)},
	{&vbf_real.getuid, FB(fb_getuid)}, {&vbf_real.getgid, FB(fb_getgid)},
	{&vbf_real.getgroups, FB(fb_getgroups)}, {&vbf_real.readlink, FB(fb_readlink)},
	{&vbf_real.getcwd, FB(fb_getcwd)}, {&vbf_real.read, FB(fb_read)},
	{&vbf_real.write, FB(fb_write)}, {&vbf_real.statfs, FB(fb_statfs)},
	{&vbf_real.rename, FB(fb_rename)}, {&vbf_real.renameat, FB(fb_renameat)},
	{&vbf_real.renameat2, FB(fb_renameat2)}, {&vbf_real.unlink, FB(fb_unlink)},
	{&vbf_real.unlinkat, FB(fb_unlinkat)}, {&vbf_real.rmdir, FB(fb_rmdir)},
	{&vbf_real.remove, FB(fb_remove)}, {&vbf_real.link, FB(fb_link)},
	{&vbf_real.linkat, FB(fb_linkat)}, {&vbf_real.mkfifo, FB(fb_mkfifo)},
	{&vbf_real.mkfifoat, FB(fb_mkfifoat)}, {&vbf_real.mknod, FB(fb_mknod)},
	{&vbf_real.mknodat, FB(fb_mknodat)}, {&vbf_real.__xmknod, FB(fb_xmknod)},
	{&vbf_real.__xmknodat, FB(fb_xmknodat)}, {&vbf_real.bind, FB(fb_bind)},
	{&vbf_real.connect, FB(fb_connect)}, {&vbf_real.fsync, FB(fb_fsync)},
	{&vbf_real.fdatasync, FB(fb_fdatasync)},
};

int vbf_real_ready;
static _Atomic int state; /* 0 unresolved, 1 resolving, 2 resolved */
static VBF_TLS int resolving_here;

static void install_fallbacks(void)
{
	for (size_t i = 0; i < sizeof fallbacks / sizeof fallbacks[0]; i++) {
		void **slot = fallbacks[i][0];
		if (!*slot)
			__atomic_store_n(slot, fallbacks[i][1], __ATOMIC_RELEASE);
	}
}

static void *next(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	size_t n = strlen(name);
	if (!p && n > 2 && name[n - 2] == '6' && name[n - 1] == '4' && n < 64) {
		/* musl >= 1.2.4: the LFS64 names are gone, the plain ones are the same */
		char plain[64];
		memcpy(plain, name, n - 2);
		plain[n - 2] = 0;
		p = dlsym(RTLD_NEXT, plain);
	}
	return p;
}

static void resolve(void)
{
	void *p;
#define VBF_SYM(ret, name, params)                                                  \
	if ((p = next(#name)) != NULL)                                              \
		__atomic_store_n((void **)&vbf_real.name, p, __ATOMIC_RELEASE);
#define VBF_OS VBF_SYM
#include "symbols.def"
#undef VBF_SYM
#undef VBF_OS
}

void vbf_real_init(void)
{
	if (__atomic_load_n(&vbf_real_ready, __ATOMIC_ACQUIRE) || resolving_here)
		return;
	int expected = 0;
	if (atomic_compare_exchange_strong(&state, &expected, 1)) {
		resolving_here = 1;
		install_fallbacks();
		resolve();
		resolving_here = 0;
		atomic_store(&state, 2);
		__atomic_store_n(&vbf_real_ready, 1, __ATOMIC_RELEASE);
		return;
	}
	/* Another thread resolves: its fallbacks are usable meanwhile. */
}

void *vbf_real_slow(void **slot)
{
	vbf_real_init();
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	/* Wait only for a function that has no fallback, and never in the thread
	 * that is resolving (that would be waiting for itself). */
	while (!p && atomic_load(&state) == 1 && !resolving_here) {
		vbf_raw_syscall(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
		p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	}
	return p;
}
