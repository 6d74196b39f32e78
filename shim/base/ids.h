/* SPDX-License-Identifier: MIT */
/* The caller's effective uid and gid, without a system call on every
 * presented stat (two syscalls would cost more than a cached stat). The
 * values are fetched once and fetched again after any set*id wrapper ran
 * (wrap_ids.c). A raw syscall(SYS_setuid) is not seen: documented limit. */
#ifndef VBF_IDS_H
#define VBF_IDS_H

#include "sys.h"

uid_t vbf_euid(void);
gid_t vbf_egid(void);
/* A set*id call returned: fetch again on next use. */
void vbf_ids_changed(void);

#endif
