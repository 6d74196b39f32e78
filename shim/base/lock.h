/* SPDX-License-Identifier: MIT */
/* A tiny spin lock on C11 atomics. pthread's trylock and rwlocks need
 * GLIBC_2.34 symbols (or libpthread before it); this needs nothing. The
 * critical sections it guards are a few hash operations. */
#ifndef VBF_LOCK_H
#define VBF_LOCK_H

#include <stdatomic.h>
#include "real.h"

typedef atomic_int vbf_lock;

static inline int vbf_trylock(vbf_lock *l)
{
	int z = 0;
	return atomic_compare_exchange_strong_explicit(l, &z, 1, memory_order_acquire, memory_order_relaxed);
}

static inline void vbf_lock_take(vbf_lock *l)
{
	for (int spins = 0; !vbf_trylock(l); spins++)
		if (spins > 64)
			vbf_raw_syscall(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
}

static inline void vbf_unlock(vbf_lock *l) { atomic_store_explicit(l, 0, memory_order_release); }

/* CLOCK_MONOTONIC in milliseconds: how long a lock or a slot of a shared
 * page has been held. */
static inline uint64_t vbf_mono_ms(void)
{
	struct timespec ts = {0, 0};
	REAL(clock_gettime)(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* In a fork child only the forking thread exists: a lock another thread
 * held is free. */
static inline void vbf_lock_reset(vbf_lock *l) { atomic_store(l, 0); }

/* Set while this thread holds any library lock. A signal handler that
 * enters the library meanwhile takes no lock at all (every caller can go on
 * without: no record, no cache, cwd unknown), so neither re-entry nor a
 * fork's prepare handler waiting on one lock while holding another can close
 * a cycle. Locks are never nested in ordinary code. */
extern VBF_TLS int vbf_lock_held;

/* Take `l` unless this thread already holds a library lock: 1 taken, 0 go
 * on without. */
static inline int vbf_enter(vbf_lock *l)
{
	if (vbf_lock_held)
		return 0;
	vbf_lock_held = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	vbf_lock_take(l);
	return 1;
}

static inline void vbf_leave(vbf_lock *l)
{
	vbf_unlock(l);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	vbf_lock_held = 0;
}

#endif
