/* SPDX-License-Identifier: MIT */
#include "rules.h"
#include "real.h"

void vbf_cred_get(struct vbf_cred *c, int eff)
{
	c->uid = eff ? REAL(geteuid)() : REAL(getuid)();
	c->gid = eff ? REAL(getegid)() : REAL(getgid)();
	int n = REAL(getgroups)(64, c->groups);
	c->ngroups = n < 0 ? 0 : n;
}

int vbf_cred_in_group(const struct vbf_cred *c, gid_t g)
{
	if (c->gid == g)
		return 1;
	for (int i = 0; i < c->ngroups; i++)
		if (c->groups[i] == g)
			return 1;
	return 0;
}

int vbf_rule_chown(const struct vbf_cred *c, uid_t uid, gid_t gid, uid_t new_uid, gid_t new_gid)
{
	if (c->uid == 0)
		return 0;
	/* chown(-1, -1) changes nothing, and the kernel asks nothing of the
	 * caller for it (but see vbf_rule_chown_bits: the setuid bits) */
	if (new_uid == (uid_t)-1 && new_gid == (gid_t)-1)
		return 0;
	/* Only the owner may chown, may not give the file away, and may only
	 * pick one of its own groups (POSIX _POSIX_CHOWN_RESTRICTED). */
	if (c->uid != uid)
		return EPERM;
	if (new_uid != (uid_t)-1 && new_uid != uid)
		return EPERM;
	if (new_gid != (gid_t)-1 && new_gid != gid && !vbf_cred_in_group(c, new_gid))
		return EPERM;
	return 0;
}

int vbf_rule_chmod(const struct vbf_cred *c, uid_t uid) { return c->uid == 0 || c->uid == uid ? 0 : EPERM; }

mode_t vbf_rule_chmod_bits(const struct vbf_cred *c, gid_t gid, mode_t type, mode_t mode)
{
	mode &= 07777;
	if (c->uid != 0 && !S_ISDIR(type) && !vbf_cred_in_group(c, gid))
		mode &= ~(mode_t)S_ISGID;
	return mode;
}

mode_t vbf_rule_chown_bits(mode_t type, mode_t perm)
{
	if (S_ISDIR(type))
		return perm;
	perm &= ~(mode_t)S_ISUID;
	if (perm & S_IXGRP)
		perm &= ~(mode_t)S_ISGID;
	return perm;
}

int vbf_rule_access(const struct vbf_cred *c, uid_t uid, gid_t gid, mode_t mode, int want)
{
	want &= R_OK | W_OK | X_OK;
	if (c->uid == 0) {
		/* root: read and write always; execute needs some x bit on a file */
		if ((want & X_OK) && !S_ISDIR(mode) && !(mode & (S_IXUSR | S_IXGRP | S_IXOTH)))
			return EACCES;
		return 0;
	}
	int shift = c->uid == uid ? 6 : vbf_cred_in_group(c, gid) ? 3 : 0;
	int have = (int)(mode >> shift) & 7;
	return (want & ~have) ? EACCES : 0;
}

int vbf_rule_chmod_narrows(mode_t old_perm, mode_t new_perm) { return (old_perm & ~new_perm & 0777) != 0; }

mode_t vbf_rule_write_bits(const struct vbf_cred *c, mode_t type, mode_t perm)
{
	/* the kernel's rule for a write: CAP_FSETID keeps them (root here) */
	if (c->uid == 0 || S_ISDIR(type))
		return perm;
	perm &= ~(mode_t)S_ISUID;
	if (perm & S_IXGRP)
		perm &= ~(mode_t)S_ISGID;
	return perm;
}

int vbf_rule_sticky(const struct vbf_cred *c, mode_t dir_mode, uid_t dir_uid, uid_t uid)
{
	if (!(dir_mode & S_ISVTX) || c->uid == 0 || c->uid == dir_uid || c->uid == uid)
		return 0;
	return EPERM;
}
