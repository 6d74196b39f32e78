/* SPDX-License-Identifier: MIT */
#include "rules.h"
#include "real.h"
#include <sys/syscall.h>

/* linux/capability.h, version 3: two 32-bit words per set */
struct cap_hdr {
	uint32_t version;
	int pid;
};
struct cap_data {
	uint32_t effective, permitted, inheritable;
};

static uint32_t caps_get(int eff, uid_t ruid)
{
	struct cap_hdr h = {0x20080522, 0};
	struct cap_data d[2] = {{0}};
	/* raw: libc's syscall() may be our own wrapper */
	if (vbf_raw_syscall(SYS_capget, (long)&h, (long)d, 0, 0, 0, 0) != 0)
		return 0;
	if (eff)
		return d[0].effective;
	return ruid == 0 ? d[0].permitted : 0;
}

void vbf_cred_get(struct vbf_cred *c, int eff)
{
	int saved = errno;
	c->uid = eff ? REAL(geteuid)() : REAL(getuid)();
	c->gid = eff ? REAL(getegid)() : REAL(getgid)();
	int n = REAL(getgroups)(64, c->groups);
	c->ngroups = n < 0 ? 0 : n;
	c->caps = caps_get(eff, c->uid);
	errno = saved;
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

static int cap(const struct vbf_cred *c, uint32_t bit) { return (c->caps & bit) != 0; }

int vbf_rule_chown(const struct vbf_cred *c, uid_t uid, gid_t gid, uid_t new_uid, gid_t new_gid)
{
	if (cap(c, VBF_CAP_CHOWN))
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

int vbf_rule_chmod(const struct vbf_cred *c, uid_t uid) { return cap(c, VBF_CAP_FOWNER) || c->uid == uid ? 0 : EPERM; }

mode_t vbf_rule_chmod_bits(const struct vbf_cred *c, gid_t gid, mode_t type, mode_t mode)
{
	mode &= 07777;
	if (!cap(c, VBF_CAP_FSETID) && !S_ISDIR(type) && !vbf_cred_in_group(c, gid))
		mode &= ~(mode_t)S_ISGID;
	return mode;
}

/* setattr_should_drop_sgid: with group exec always, else for a caller
 * outside the group without CAP_FSETID */
static int drop_sgid(const struct vbf_cred *c, gid_t gid, mode_t perm)
{
	return (perm & S_ISGID) && ((perm & S_IXGRP) || (!vbf_cred_in_group(c, gid) && !cap(c, VBF_CAP_FSETID)));
}

mode_t vbf_rule_chown_bits(const struct vbf_cred *c, gid_t gid, mode_t type, mode_t perm)
{
	if (S_ISDIR(type))
		return perm;
	if (drop_sgid(c, gid, perm))
		perm &= ~(mode_t)S_ISGID;
	return perm & ~(mode_t)S_ISUID;
}

mode_t vbf_rule_write_bits(const struct vbf_cred *c, gid_t gid, mode_t type, mode_t perm)
{
	if (cap(c, VBF_CAP_FSETID) || !S_ISREG(type))
		return perm;
	if (drop_sgid(c, gid, perm))
		perm &= ~(mode_t)S_ISGID;
	return perm & ~(mode_t)S_ISUID;
}

mode_t vbf_rule_create_bits(const struct vbf_cred *c, mode_t type, mode_t mode, mode_t umask, int parent_sgid,
			    gid_t pgid)
{
	if (S_ISDIR(type))
		return (mode & 01777 & ~umask) | (parent_sgid ? S_ISGID : 0);
	mode &= 07777 & ~umask;
	if (parent_sgid && (mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) && !vbf_cred_in_group(c, pgid) &&
	    !cap(c, VBF_CAP_FSETID))
		mode &= ~(mode_t)S_ISGID;
	return mode;
}

int vbf_rule_access(const struct vbf_cred *c, uid_t uid, gid_t gid, mode_t mode, int want)
{
	want &= R_OK | W_OK | X_OK;
	int shift = c->uid == uid ? 6 : vbf_cred_in_group(c, gid) ? 3 : 0;
	int have = (int)(mode >> shift) & 7;
	if (!(want & ~have))
		return 0;
	/* generic_permission's capability overrides */
	int dir = S_ISDIR(mode), x = (mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0;
	if (cap(c, VBF_CAP_DAC_OVERRIDE) && (!(want & X_OK) || dir || x))
		return 0;
	if (cap(c, VBF_CAP_DAC_READ_SEARCH) && !(want & W_OK) && (!(want & X_OK) || dir))
		return 0;
	return EACCES;
}

int vbf_rule_times(const struct vbf_cred *c, uid_t uid, gid_t gid, mode_t mode, int expl)
{
	if (c->uid == uid || cap(c, VBF_CAP_FOWNER))
		return 0;
	if (expl)
		return EPERM;
	return vbf_rule_access(c, uid, gid, mode, W_OK);
}

int vbf_rule_chmod_narrows(mode_t old_perm, mode_t new_perm) { return (old_perm & ~new_perm & 0777) != 0; }

int vbf_rule_sticky(const struct vbf_cred *c, mode_t dir_mode, uid_t dir_uid, uid_t uid)
{
	if (!(dir_mode & S_ISVTX) || cap(c, VBF_CAP_FOWNER) || c->uid == dir_uid || c->uid == uid)
		return 0;
	return EPERM;
}
