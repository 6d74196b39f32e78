/* SPDX-License-Identifier: MIT */
/* POSIX ownership and permission rules, applied to the presented view. Pure
 * functions: the caller's identity and the object's presented owner and
 * mode in, a verdict out. */
#ifndef VBF_RULES_H
#define VBF_RULES_H

#include "sys.h"

struct vbf_cred {
	uid_t uid;      /* effective or real, depending on the check */
	gid_t gid;
	gid_t groups[64];
	int ngroups;
};

/* The caller's effective (eff=1) or real identity, from the real table. */
void vbf_cred_get(struct vbf_cred *c, int eff);
int vbf_cred_in_group(const struct vbf_cred *c, gid_t g);

/* chown(new_uid, new_gid) by `c` of an object presented as (uid, gid):
 * 0 or EPERM. (uid_t)-1 / (gid_t)-1 keep a value; (-1, -1) is allowed to
 * anyone (it only clears setuid bits, which is chmod's right: the caller
 * checks that with vbf_rule_chmod when vbf_rule_chown_bits clears any). */
int vbf_rule_chown(const struct vbf_cred *c, uid_t uid, gid_t gid, uid_t new_uid, gid_t new_gid);

/* chmod by `c` of an object presented as owned by `uid`: 0 or EPERM. */
int vbf_rule_chmod(const struct vbf_cred *c, uid_t uid);

/* The mode chmod really sets: a non-root caller outside the file's group
 * loses S_ISGID on a non-directory, as the kernel does. */
mode_t vbf_rule_chmod_bits(const struct vbf_cred *c, gid_t gid, mode_t type, mode_t mode);

/* The bits chown leaves: S_ISUID, and S_ISGID with group exec, are cleared
 * on a non-directory. */
mode_t vbf_rule_chown_bits(mode_t type, mode_t perm);

/* The bits a write (or open for writing, or truncate) leaves: a caller
 * without CAP_FSETID (not root) clears S_ISUID, and S_ISGID with group
 * exec, of a non-directory, whoever owns it, as the kernel does. */
mode_t vbf_rule_write_bits(const struct vbf_cred *c, mode_t type, mode_t perm);

/* unlink/rmdir/rename of an entry owned by `uid` in a directory presented
 * with `dir_mode` and owner `dir_uid`: in a sticky directory only root, the
 * directory's owner and the entry's owner may. 0 or EPERM. */
int vbf_rule_sticky(const struct vbf_cred *c, mode_t dir_mode, uid_t dir_uid, uid_t uid);

/* access(want: R_OK|W_OK|X_OK) by `c` against (uid, gid, mode): 0 or EACCES. */
int vbf_rule_access(const struct vbf_cred *c, uid_t uid, gid_t gid, mode_t mode, int want);

/* Would changing `old` to `new` permission bits remove anything from anyone?
 * A real chmod on a share is only passed on when it would not: the share's
 * real owner is usually someone else, and a real chmod 700 would lock the
 * service out of its own data. */
int vbf_rule_chmod_narrows(mode_t old_perm, mode_t new_perm);

#endif
