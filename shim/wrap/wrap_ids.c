/* SPDX-License-Identifier: MIT */
/* The set*id family: only so that the cached effective ids (ids.h) are
 * fetched again. Each is the plain call. */
#include "ids.h"
#include "real.h"

#define IDS_BODY(call)                                                         \
	int r = call;                                                          \
	vbf_ids_changed();                                                     \
	return r;

VBF_EXPORT int setuid(uid_t u) { IDS_BODY(REAL(setuid)(u)) }
VBF_EXPORT int seteuid(uid_t u) { IDS_BODY(REAL(seteuid)(u)) }
VBF_EXPORT int setreuid(uid_t r_, uid_t e) { IDS_BODY(REAL(setreuid)(r_, e)) }
VBF_EXPORT int setresuid(uid_t r_, uid_t e, uid_t s) { IDS_BODY(REAL(setresuid)(r_, e, s)) }
VBF_EXPORT int setgid(gid_t g) { IDS_BODY(REAL(setgid)(g)) }
VBF_EXPORT int setegid(gid_t g) { IDS_BODY(REAL(setegid)(g)) }
VBF_EXPORT int setregid(gid_t r_, gid_t e) { IDS_BODY(REAL(setregid)(r_, e)) }
VBF_EXPORT int setresgid(gid_t r_, gid_t e, gid_t s) { IDS_BODY(REAL(setresgid)(r_, e, s)) }
