/* SPDX-License-Identifier: MIT */
#include "retry.h"
#include "real.h"

int vbf_is_busy(int err) { return err == ETXTBSY || err == EBUSY; }

long vbf_backoff_delay(int attempt, long waited_ms, long budget_ms)
{
	if (attempt < 0 || budget_ms <= 0 || waited_ms >= budget_ms)
		return 0;
	long d = 10L << (attempt < 6 ? attempt : 6);
	if (d > 500)
		d = 500;
	return d < budget_ms - waited_ms ? d : budget_ms - waited_ms;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	/* raw: libc's nanosleep may be a cancellation point or interposed; an
	 * EINTR only shortens the wait, the budget still bounds the total */
	vbf_raw_syscall(SYS_nanosleep, (long)&ts, 0, 0, 0, 0, 0);
}

void (*vbf_refuse_sleep)(long ms) = sleep_ms;
