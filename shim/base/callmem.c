/* SPDX-License-Identifier: MIT */
/* Caller memory the library touches before the real call (callmem.h). */
#include "callmem.h"
#include "path.h"
#include "real.h"
#include <sys/uio.h>

#define PG ((uintptr_t)4096) /* the smallest page: a larger one only costs probes */
#define MEMO 256                /* direct-mapped by page number */
#define M_READ ((uintptr_t)1)
#define M_WRITE ((uintptr_t)2)

/* Pages known readable (and writable) in this thread, each entry written
 * with one store: a signal handler sees the old entry or the new one. One
 * slot per page number modulo MEMO: a look is one load (the stat path
 * outside shares asks it too), and a program's path strings spread over
 * the heap (an interpreter's) mostly stay known, so their stats are made
 * through the kernel's resolution (present.h) rather than as the plain
 * call. */
static VBF_TLS uintptr_t memo[MEMO];

static int known(uintptr_t pg, uintptr_t bits)
{
	uintptr_t m = memo[(pg / PG) % MEMO];
	return (m & ~(PG - 1)) == pg && (m & bits) == bits;
}

static void learn(uintptr_t pg, uintptr_t bits)
{
	uintptr_t *m = &memo[(pg / PG) % MEMO];
	*m = (*m & ~(PG - 1)) == pg ? *m | bits : pg | bits;
}

/* This process's pid, asked once (a fork child asks again; a vfork child
 * shares the memory it would read anyway). */
static pid_t pid_cached;
static pid_t my_pid(void)
{
	if (!pid_cached)
		pid_cached = (pid_t)REAL(getpid)();
	return pid_cached;
}

/* One byte copied from our own memory by the kernel: EFAULT when the page
 * cannot be read. No path lookup, no side effect, nothing memcheck calls an
 * uninitialised read; anything else it might answer (a seccomp filter)
 * counts as readable, as before this check existed. */
static int readable(uintptr_t at)
{
	char c;
	struct iovec local = {&c, 1}, remote = {(void *)at, 1};
	int saved = errno;
	/* raw: glibc 2.28 has the wrapper, but the probe must not be a call
	 * a fake table or another preload could answer */
	long r = vbf_raw_syscall(SYS_process_vm_readv, my_pid(), (long)&local, 1, (long)&remote, 1, 0);
	int bad = r == -1 && errno == EFAULT;
	errno = saved;
	return !bad;
}

int vbf_str_ok(const char *s, int probe)
{
	uintptr_t a = (uintptr_t)s;
	size_t n = 0;
	if (a < PG)
		return 0; /* NULL and its neighbours are never mapped */
	for (;;) {
		uintptr_t pg = a & ~(PG - 1);
		if (!known(pg, M_READ)) {
			if (!probe || !readable(a))
				return 0;
			learn(pg, M_READ);
		}
		for (; a < pg + PG; a++, n++) {
			if (n >= VBF_PATH_CAP)
				return 0;
			if (!*(const char *)a)
				return 1;
		}
	}
}

/* rt_sigprocmask with no new set writes the current mask, 8 bytes, to its
 * last argument: placed inside the caller's buffer, it finds the page
 * writable or EFAULT, and what it wrote is overwritten by the answer. */
static int writable(void *at)
{
	int saved = errno;
	/* raw: libc's sigprocmask copies through its own buffer, so the
	 * kernel would not be the one to touch `at` */
	long r = vbf_raw_syscall(SYS_rt_sigprocmask, 0 /* SIG_BLOCK */, 0, (long)at, 8, 0, 0);
	int bad = r == -1 && errno == EFAULT;
	errno = saved;
	return !bad;
}

int vbf_buf_ok(void *p, size_t n, int probe)
{
	uintptr_t a = (uintptr_t)p, last = a + n - 8;
	if (a < PG || n < 8)
		return 0;
	for (uintptr_t pg = a & ~(PG - 1); pg <= ((a + n - 1) & ~(PG - 1)); pg += PG) {
		if (known(pg, M_READ | M_WRITE))
			continue;
		uintptr_t at = pg < a ? a : pg;
		if (!probe || !writable((void *)(at <= last ? at : last)))
			return 0;
		learn(pg, M_READ | M_WRITE);
	}
	return 1;
}

void vbf_mem_learn(const char *s, void *buf, size_t n)
{
	uintptr_t a = (uintptr_t)s;
	if (s && a >= PG)
		for (;;) { /* the kernel read it up to its NUL: every byte is there */
			uintptr_t pg = a & ~(PG - 1);
			learn(pg, M_READ);
			while (a < pg + PG && *(const char *)a)
				a++;
			if (a < pg + PG)
				break;
		}
	a = (uintptr_t)buf;
	if (buf && a >= PG && n)
		for (uintptr_t pg = a & ~(PG - 1); pg <= ((a + n - 1) & ~(PG - 1)); pg += PG)
			learn(pg, M_READ | M_WRITE);
}

void vbf_callmem_atfork_child(void) { pid_cached = 0; }
