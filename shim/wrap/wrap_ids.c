/* SPDX-License-Identifier: MIT */
/* The set*id family: so that the cached effective ids (ids.h) are fetched
 * again, and so that a log this process holds as another's copy is opened
 * with the credentials it has now, as it would have been at its start
 * (store.h, vbf_store_open_copies). Each is the plain call. */
#include "ids.h"
#include "real.h"
#include "store.h"

/* The answer of a set*id call `r`, once the cached ids are stale. */
static int ids_changed(int r)
{
	vbf_ids_changed();
	return r;
}

/* The copies opened first (evaluated before `call`), then the call. */
#define IDS_CALL(call) (vbf_store_open_copies(), ids_changed(call))

VBF_EXPORT int setuid(uid_t u) { return IDS_CALL(REAL(setuid)(u)); }
VBF_EXPORT int seteuid(uid_t u) { return IDS_CALL(REAL(seteuid)(u)); }
VBF_EXPORT int setreuid(uid_t r_, uid_t e) { return IDS_CALL(REAL(setreuid)(r_, e)); }
VBF_EXPORT int setresuid(uid_t r_, uid_t e, uid_t s) { return IDS_CALL(REAL(setresuid)(r_, e, s)); }
VBF_EXPORT int setgid(gid_t g) { return IDS_CALL(REAL(setgid)(g)); }
VBF_EXPORT int setegid(gid_t g) { return IDS_CALL(REAL(setegid)(g)); }
VBF_EXPORT int setregid(gid_t r_, gid_t e) { return IDS_CALL(REAL(setregid)(r_, e)); }
VBF_EXPORT int setresgid(gid_t r_, gid_t e, gid_t s) { return IDS_CALL(REAL(setresgid)(r_, e, s)); }
