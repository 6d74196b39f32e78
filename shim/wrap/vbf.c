/* SPDX-License-Identifier: MIT */
#include "vbf.h"
#include "arena.h"
#include "cache.h"
#include "config.h"
#include "defer.h"
#include "dir_tail.h"
#include "env.h"
#include "lock.h"
#include "log.h"
#include "real.h"
#include "shares.h"
#include "store.h"
#include <pthread.h>
#include <sys/auxv.h>

static VBF_TLS int booting_here;
static int inert_libc; /* a glibc build in a process whose libc is not glibc */

static const char *env(const char *name) { return getenv(name); }

/* Through the table so a unit test can fake a setuid start. Without
 * getauxval, differing real and effective ids are the sign. */
int vbf_secure(void)
{
	if (REAL(getauxval))
		return REAL(getauxval)(AT_SECURE) != 0;
	return REAL(getuid)() != REAL(geteuid)() || REAL(getgid)() != REAL(getegid)();
}

/* Locks are held across fork so that a child never inherits a table that
 * another thread was changing, nor a lock that only a thread missing in the
 * child could release: cache, then store, then cwd, then the deferred-unlink
 * table, then the listing tails (no code path takes them in another order). */
static VBF_TLS int fork_holds; /* this thread's prepare handler took the locks */

#if VBF_GLIBC
/* The glibc build is also loaded by musl programs (an Alpine image given a
 * Debian-built library, a musl binary started under a glibc preload). Its
 * every reference must then resolve, or musl's loader refuses the program
 * before main: pthread_atfork is glibc's libc_nonshared.a calling
 * __register_atfork, which musl lacks, so we make that call ourselves through
 * a weak reference. Both weak names are absent from musl: the process is not
 * glibc's, and the library stays inert (vbf_boot). */
extern int __register_atfork(void (*)(void), void (*)(void), void (*)(void), void *) __attribute__((weak));
extern const char *gnu_get_libc_version(void) __attribute__((weak));
extern void *__dso_handle __attribute__((weak, visibility("hidden")));

static int libc_is_ours(void) { return gnu_get_libc_version && __register_atfork; }

static void register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
	__register_atfork(prepare, parent, child, __dso_handle);
}
#else
static int libc_is_ours(void) { return 1; }

static void register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
	pthread_atfork(prepare, parent, child);
}
#endif

static void atfork_prepare(void)
{
	/* A fork from a signal handler that interrupted the library cannot wait
	 * for a lock its own thread holds: it holds none, the child resets. */
	if (vbf_lock_held)
		return;
	vbf_lock_held = 1;
	vbf_cache_atfork_prepare();
	vbf_store_atfork_prepare();
	vbf_shares_atfork_prepare();
	vbf_defer_atfork_prepare();
	vbf_tail_atfork_prepare();
	fork_holds = 1;
}

static void atfork_parent(void)
{
	if (!fork_holds)
		return;
	fork_holds = 0;
	vbf_tail_atfork_parent();
	vbf_defer_atfork_parent();
	vbf_shares_atfork_parent();
	vbf_store_atfork_parent();
	vbf_cache_atfork_parent();
	vbf_lock_held = 0;
}

static void atfork_child(void)
{
	fork_holds = 0;
	vbf_lock_held = 0;
	vbf_arena_atfork_child();
	vbf_tail_atfork_child();
	vbf_store_atfork_child();
	vbf_shares_atfork_child();
	vbf_cache_atfork_child();
	vbf_defer_atfork_child();
}

void vbf_boot(void)
{
	if (booting_here)
		return; /* a call from inside start-up: pass it through */
	int expected = 0;
	if (!__atomic_compare_exchange_n(&vbf_boot_state, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		/* another thread is starting up; it takes microseconds (raw:
		 * start-up resolves the table this wait would go through) */
		while (__atomic_load_n(&vbf_boot_state, __ATOMIC_ACQUIRE) == 1)
			vbf_raw_syscall(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
		return;
	}
	booting_here = 1;
	int saved = errno;
	vbf_real_init();
	/* setuid/setcap programs (reachable through /etc/ld.so.preload): do
	 * nothing at all. */
	int on = !vbf_secure();
	if (on) {
		vbf_config_load(&vbf_cfg, env);
		on = !vbf_cfg.off;
	}
	if (on && !libc_is_ours()) {
		/* Nothing of ours runs here: every wrapper passes through to the
		 * next definition (real.c resolves it, or its raw-syscall
		 * fallback answers), nothing is recorded or presented. */
		vbf_log(VBF_INFO, "this program's C library is not glibc (musl?): the glibc build of libvboxfix.so "
				  "does nothing here; build it with 'make CC=musl-gcc' for musl programs (Alpine)");
		on = 0;
		inert_libc = 1;
	}
	if (on)
		vbf_env_init(); /* before share detection: children need it even with no share here */
	if (on) {
		vbf_shares_init(&vbf_cfg);
		for (int i = 0; i < vbf_nshares; i++)
			if (vbf_shares[i].store == i)
				vbf_store_defer(i, vbf_shares[i].root, vbf_cfg.state);
		vbf_cache_init();
		register_atfork(atfork_prepare, atfork_parent, atfork_child);
		on = vbf_nshares > 0;
	}
	vbf_on = on;
	errno = saved;
	booting_here = 0;
	__atomic_store_n(&vbf_boot_state, 2, __ATOMIC_RELEASE);
}

__attribute__((constructor)) static void vbf_ctor(void) { vbf_boot(); }

__attribute__((destructor)) static void vbf_dtor(void)
{
	if (vbf_boot_state != 2 || inert_libc)
		return;
	vbf_defer_exit();
	if (vbf_cfg.stats && !vbf_cfg.off)
		vbf_stats_dump();
}
