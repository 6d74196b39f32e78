/* SPDX-License-Identifier: MIT */
/* Start-up and the library-wide switch. Every wrapper asks vbf_active()
 * before doing anything of its own: calls can arrive before the constructor
 * (another library's constructor, the dynamic loader), from several threads
 * at once, or from inside our own start-up. */
#ifndef VBF_VBF_H
#define VBF_VBF_H

#include "sys.h"
#include "config.h"


void vbf_boot(void);

/* Secure execution (setuid, file capabilities): the library stays inert. */
int vbf_secure(void);

/* fchmodat2 for the exported function and syscall(SYS_fchmodat2) alike
 * (wrap_own.c) */
int vbf_wrap_fchmodat2(int d, const char *p, mode_t m, int fl);

static inline int vbf_active(void)
{
	if (likely(__atomic_load_n(&vbf_boot_state, __ATOMIC_ACQUIRE) == 2))
		return vbf_on;
	vbf_boot();
	return __atomic_load_n(&vbf_boot_state, __ATOMIC_ACQUIRE) == 2 && vbf_on;
}

#endif
