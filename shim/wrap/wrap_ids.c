/* SPDX-License-Identifier: MIT */
/* The set*id family: only so that the cached effective ids (ids.h) are
 * fetched again. Each is the plain call. */
#include "ids.h"
#include "real.h"

/* The answer of a set*id call `r`, once the cached ids are stale. */
static int ids_changed(int r)
{
	vbf_ids_changed();
	return r;
}

VBF_EXPORT int setuid(uid_t u) { return ids_changed(REAL(setuid)(u)); }
VBF_EXPORT int seteuid(uid_t u) { return ids_changed(REAL(seteuid)(u)); }
VBF_EXPORT int setreuid(uid_t r_, uid_t e) { return ids_changed(REAL(setreuid)(r_, e)); }
VBF_EXPORT int setresuid(uid_t r_, uid_t e, uid_t s) { return ids_changed(REAL(setresuid)(r_, e, s)); }
VBF_EXPORT int setgid(gid_t g) { return ids_changed(REAL(setgid)(g)); }
VBF_EXPORT int setegid(gid_t g) { return ids_changed(REAL(setegid)(g)); }
VBF_EXPORT int setregid(gid_t r_, gid_t e) { return ids_changed(REAL(setregid)(r_, e)); }
VBF_EXPORT int setresgid(gid_t r_, gid_t e, gid_t s) { return ids_changed(REAL(setresgid)(r_, e, s)); }
