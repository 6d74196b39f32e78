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
	uint32_t caps;  /* VBF_CAP_* bits of the effective capability set */
};

/* The capabilities the rules ask about (bit numbers of linux/capability.h) */
#define VBF_CAP_CHOWN           (1u << 0)
#define VBF_CAP_DAC_OVERRIDE    (1u << 1)
#define VBF_CAP_DAC_READ_SEARCH (1u << 2)
#define VBF_CAP_FOWNER          (1u << 3)
#define VBF_CAP_FSETID          (1u << 4)

/* The caller's effective (eff=1) or real identity, from the real table, and
 * its effective capabilities (capget: root without them, as in a container
 * started with --cap-drop, is an ordinary user to the rules). For the real
 * identity, as access(2) does: root's permitted set, nothing for others. */
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

/* The bits chown by `c` leaves on a non-directory of group `gid`: S_ISUID
 * always, S_ISGID with group exec always, and without group exec when `c`
 * is outside the group and lacks CAP_FSETID (the kernel's chown_common and
 * setattr_should_drop_sgid). */
mode_t vbf_rule_chown_bits(const struct vbf_cred *c, gid_t gid, mode_t type, mode_t perm);

/* The bits a write, truncate or O_TRUNC open by `c` leaves on a regular
 * file of group `gid`: with CAP_FSETID all; else S_ISUID goes, and S_ISGID
 * when group exec is set or `c` is outside the group (the kernel's
 * setattr_should_drop_suidgid, which file_remove_privs applies). */
mode_t vbf_rule_write_bits(const struct vbf_cred *c, gid_t gid, mode_t type, mode_t perm);

/* The permission bits a new object gets from mkdir/open(O_CREAT) `mode`
 * under `umask`: a directory never takes S_ISGID from the argument, only
 * from a setgid parent (`parent_sgid`); a file created in a setgid
 * directory loses S_ISGID with group exec when `c` is outside the
 * directory's group `pgid` and lacks CAP_FSETID (mode_strip_sgid). */
mode_t vbf_rule_create_bits(const struct vbf_cred *c, mode_t type, mode_t mode, mode_t umask, int parent_sgid,
			    gid_t pgid);

/* The owner's rights on times: utimensat with explicit times (`expl`)
 * needs the owner or CAP_FOWNER (else EPERM); with NULL/UTIME_NOW also
 * write permission will do (else EACCES). */
int vbf_rule_times(const struct vbf_cred *c, uid_t uid, gid_t gid, mode_t mode, int expl);

/* unlink/rmdir/rename of an entry owned by `uid` in a directory presented
 * with `dir_mode` and owner `dir_uid`: in a sticky directory only the
 * directory's owner, the entry's owner and CAP_FOWNER may. 0 or EPERM. */
int vbf_rule_sticky(const struct vbf_cred *c, mode_t dir_mode, uid_t dir_uid, uid_t uid);

/* access(want: R_OK|W_OK|X_OK) by `c` against (uid, gid, mode): 0 or EACCES.
 * CAP_DAC_OVERRIDE grants read and write, and execute of a directory or of
 * a file with some x bit; CAP_DAC_READ_SEARCH grants read, and search of a
 * directory (generic_permission). */
int vbf_rule_access(const struct vbf_cred *c, uid_t uid, gid_t gid, mode_t mode, int want);

/* Would changing `old` to `new` permission bits remove anything from anyone?
 * A real chmod on a share is only passed on when it would not: the share's
 * real owner is usually someone else, and a real chmod 700 would lock the
 * service out of its own data. */
int vbf_rule_chmod_narrows(mode_t old_perm, mode_t new_perm);

#endif
