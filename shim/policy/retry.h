/* SPDX-License-Identifier: MIT */
/* Busy names: a Windows host refuses to delete or rename a file some
 * process there holds open (ETXTBSY, EBUSY). The decision to try again, the
 * backoff, and the loop, for refuse.c (renames, unlinks) and defer.c (the
 * unlink at the last close). Only for calls that did nothing when they
 * failed: a call that may have partly happened is never repeated. */
#ifndef VBF_RETRY_H
#define VBF_RETRY_H

#include "config.h"
#include "log.h"

/* ETXTBSY or EBUSY: a Windows host's sharing violation. */
int vbf_is_busy(int err);

/* How long to sleep before retry number `attempt` (0 = the first retry)
 * when `waited_ms` of a `budget_ms` total have been spent; 0 = give up.
 * 10 ms doubling, at most 500 ms at a time, never past the budget. */
long vbf_backoff_delay(int attempt, long waited_ms, long budget_ms);

/* The sleep the retries use (nanosleep without libc); tests replace it. */
extern void (*vbf_refuse_sleep)(long ms);

/* Run `expr` (an int-valued call) again while it fails busy, within
 * `budget` milliseconds (VBOXFIX_RETRY_MS for calls a program made). */
#define VBF_BUSY_RETRY(r, expr, budget)                                                  \
	do {                                                                             \
		(r) = (expr);                                                            \
		VBF_BUSY_AGAIN(r, expr, budget);                                         \
	} while (0)

/* The same when `r` and errno already hold the first attempt's answer. */
#define VBF_BUSY_AGAIN(r, expr, budget)                                                  \
	do {                                                                             \
		long waited_ = 0, d_;                                                    \
		for (int a_ = 0; (r) < 0 && vbf_is_busy(errno) &&                        \
				 (d_ = vbf_backoff_delay(a_, waited_, (budget))) > 0;    \
		     a_++) {                                                             \
			vbf_refuse_sleep(d_);                                            \
			waited_ += d_;                                                   \
			vbf_count(VBF_C_RETRY);                                          \
			vbf_log_once(VBF_EV_BUSY, VBF_INFO, "a busy name on a share was retried"); \
			(r) = (expr);                                                    \
		}                                                                        \
	} while (0)

#endif
