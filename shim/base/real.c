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
 * the library loads on glibc 2.28 (docs/hardening.md, "glibc floor"). */
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

/* The fallbacks, generated from the last field of each symbols.def line:
 * VBF_SYM(ret, name, params, KIND(args)) defines `static ret fb_name params`
 * with the body FB_DEF_<KIND> gives, and its line of install_fallbacks()
 * (nothing for NONE). The field's first word is pasted into
 * VBF_FB_KIND_<KIND>, which splits it into "KIND, (args)". */
#define VBF_FB_KIND_RAW(...) RAW, (__VA_ARGS__)
#define VBF_FB_KIND_EXPR(e) EXPR, (e)
#define VBF_FB_KIND_OPEN(...) OPEN, (__VA_ARGS__)
#define VBF_FB_KIND_VA(...) VA, (__VA_ARGS__)
#define VBF_FB_KIND_SYSCALL SYSCALL, ()
#define VBF_FB_KIND_NONE NONE, ()
#define FB_SPLIT(...) FB_SPLIT_(__VA_ARGS__)
#define FB_SPLIT_(what, ret, name, params, kind, args) what##_##kind(ret, name, params, args)
#define FB_DEF(ret, name, params, fb) FB_SPLIT(FB_DEF, ret, name, params, VBF_FB_KIND_##fb)
#define FB_ROW(ret, name, params, fb) FB_SPLIT(FB_ROW, ret, name, params, VBF_FB_KIND_##fb)

#define FB_DEF_RAW(ret, name, params, args) static ret fb_##name params { return (ret)RAW args; }
#define FB_DEF_EXPR(ret, name, params, args) static ret fb_##name params { return (ret)args; }
/* The mode argument exists only with O_CREAT or O_TMPFILE. */
#define FB_DEF_OPEN(ret, name, params, args) static ret fb_##name params { FB_OPEN args }
#define FB_OPEN(d, p, flags)                                                  \
	mode_t mode = 0;                                                      \
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {          \
		va_list ap;                                                   \
		va_start(ap, flags);                                          \
		mode = (mode_t)va_arg(ap, int);                               \
		va_end(ap);                                                   \
	}                                                                     \
	return (int)RAW(SYS_openat, d, p, flags, mode);
#define FB_DEF_VA(ret, name, params, args) static ret fb_##name params { FB_VA args }
#define FB_VA(n, a, last)                                                     \
	va_list ap;                                                           \
	va_start(ap, last);                                                   \
	void *arg = va_arg(ap, void *);                                       \
	va_end(ap);                                                           \
	return (int)RAW(n, a, last, arg);
#define FB_DEF_SYSCALL(ret, name, params, args)                               \
	static ret fb_##name(long n, ...)                                     \
	{                                                                     \
		va_list ap;                                                   \
		long a[6];                                                    \
		va_start(ap, n);                                              \
		for (int i = 0; i < 6; i++)                                   \
			a[i] = va_arg(ap, long);                              \
		va_end(ap);                                                   \
		return vbf_raw_syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]); \
	}
#define FB_DEF_NONE(ret, name, params, args)
#define FB_ROW_NONE(ret, name, params, args)
#define FB_ROW_ANY(name)                                                      \
	if (!vbf_real.name)                                                   \
		__atomic_store_n((void **)&vbf_real.name, (void *)fb_##name, __ATOMIC_RELEASE);
#define FB_ROW_RAW(ret, name, params, args) FB_ROW_ANY(name)
#define FB_ROW_EXPR FB_ROW_RAW
#define FB_ROW_OPEN FB_ROW_RAW
#define FB_ROW_VA FB_ROW_RAW
#define FB_ROW_SYSCALL FB_ROW_RAW

#define VBF_SYM FB_DEF
#define VBF_OS FB_DEF
#include "symbols.def"
#undef VBF_SYM
#undef VBF_OS

struct vbf_real vbf_real;
int vbf_real_ready;
static _Atomic int state; /* 0 unresolved, 1 resolving, 2 resolved */
static VBF_TLS int resolving_here;

/* Casts only: the *64 forms share their layout with the plain ones on the
 * 64-bit targets we build for. */
static void install_fallbacks(void)
{
#define VBF_SYM FB_ROW
#define VBF_OS FB_ROW
#include "symbols.def"
#undef VBF_SYM
#undef VBF_OS
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
#define VBF_SYM(ret, name, params, fallback)                                        \
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
