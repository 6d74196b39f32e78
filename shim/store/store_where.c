/* SPDX-License-Identifier: MIT */
/* Which log a store uses: VBOXFIX_STATE, the share's own
 * <root>/.vboxfix.state, one above the share root on the same mount (or the
 * log another store of this process holds there), or a fallback in
 * /var/tmp/vboxfix (docs/state-store.md, "Where the records live"). Once
 * per store, at open; the log itself, once found, is store_file.c's. */
#include "store_int.h"
#include "log.h"

#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif

/* The share's own log: <root>/.vboxfix.state. The length snprintf gives. */
static int own_name(const char *root, char *out, size_t cap)
{
	return snprintf(out, cap, "%s/" VBF_STORE_NAME, strcmp(root, "/") ? root : "");
}

/* Is `dir` the root of a mount (bind mounts of one filesystem included)?
 * statx says so since Linux 5.8; before, only a change of device tells. */
static int mount_root(const char *dir)
{
	struct statx sx;
	int saved = errno;
	long r = REAL(statx)(AT_FDCWD, dir, AT_SYMLINK_NOFOLLOW, 0, &sx);
	errno = saved;
	return r == 0 && (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* A share named by a subdirectory (VBOXFIX_PATHS=/share/pg after records
 * were made with /share) must find those records: the nearest directory
 * above `root`, up to the root of its mount and never past it, that holds
 * a state file, or (with `all`, the stores of this process) that is the
 * root of another of them than all[idx]. 1: path is that file; 2: *other
 * is that store; 0: none. kprefix receives root's key below that
 * directory. Costs two stats per level, once per process, only for a share
 * without a state file of its own. */
static int look_above(const char *root, int idx, const struct vbf_store *all, char *path, size_t cap, char *kprefix,
		      size_t kcap, int *other)
{
	char dir[PATH_MAX];
	struct stat top, st;
	size_t rl = strlen(root);
	if (root[0] != '/' || rl < 2 || rl >= sizeof dir || REAL(stat)(root, &top) != 0 || mount_root(root))
		return 0;
	memcpy(dir, root, rl + 1);
	for (;;) {
		char *slash = strrchr(dir, '/');
		slash[slash == dir] = 0; /* "/a" -> "/", "/a/b" -> "/a" */
		size_t dl = strlen(dir);
		if (REAL(stat)(dir, &st) != 0 || st.st_dev != top.st_dev)
			return 0;
		snprintf(kprefix, kcap, "%s", root + (dl == 1 ? 1 : dl + 1));
		for (int k = 0; all && k < VBF_MAX_SHARES; k++)
			if (k != idx && (all[k].open || all[k].pending) && !strcmp(all[k].root, dir)) {
				*other = k;
				return 2;
			}
		if (snprintf(path, cap, "%s/" VBF_STORE_NAME, dl == 1 ? "" : dir) < (int)cap &&
		    REAL(fstatat)(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			return 1;
		if (dl == 1 || mount_root(dir)) {
			kprefix[0] = 0;
			return 0;
		}
	}
}

/* The default name has no state file yet: one above it (look_above), held
 * by another store of this process or not. -1 and s->via set: use that
 * store; a descriptor of the file above; or -1: the share's own, as before. */
static int open_above(struct vbf_store *s, int idx, const struct vbf_store *all, char *path, size_t cap)
{
	char above[PATH_MAX];
	const char *why;
	int other = -1, r = look_above(s->root, idx, all, above, sizeof above, s->kprefix, sizeof s->kprefix, &other);
	for (int k = 0; r == 1 && k < VBF_MAX_SHARES; k++)
		if (k != idx && all[k].open && !all[k].via && !strcmp(all[k].path, above))
			other = k, r = 2;
	if (r == 2) {
		s->via = other + 1;
		return -1;
	}
	int fd = r == 1 ? vbf_file_open_log(above, O_NOFOLLOW, 1, &why) : -1;
	if (fd >= 0)
		snprintf(path, cap, "%s", above);
	else
		s->kprefix[0] = 0;
	return fd;
}

int vbf_where_locate(const char *root, const char *state_file, char *path, size_t cap, char *kprefix, size_t kcap)
{
	struct stat st;
	int other;
	kprefix[0] = 0;
	if (state_file && *state_file) {
		if (REAL(stat)(state_file, &st) == 0 && S_ISDIR(st.st_mode))
			snprintf(path, cap, "%s/%016llx.state", state_file, (unsigned long long)vbf_fnv64(root));
		else
			snprintf(path, cap, "%s", state_file);
		return REAL(stat)(path, &st) == 0;
	}
	char own[PATH_MAX];
	own_name(root, own, sizeof own);
	if (REAL(fstatat)(AT_FDCWD, own, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT ||
	    look_above(root, -1, NULL, path, cap, kprefix, kcap, &other) != 1) {
		kprefix[0] = 0;
		snprintf(path, cap, "%s", own);
		if (REAL(fstatat)(AT_FDCWD, own, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return 1;
		snprintf(own, sizeof own, "/var/tmp/vboxfix/%016llx.state", (unsigned long long)vbf_fnv64(root));
		if (REAL(stat)(own, &st) != 0)
			return 0;
		snprintf(path, cap, "%s", own);
	}
	return 1;
}

/* Where the records live: VBOXFIX_STATE, else <root>/.vboxfix.state, else
 * (not writable, or something else has that name) /var/tmp/vboxfix/<hash
 * of root>.state. */
static int open_where(struct vbf_store *s, int idx, const struct vbf_store *all, const char *state_file, char *path,
		      size_t cap)
{
	const char *why;
	int fd = -1, n;
	if (state_file && *state_file) {
		struct stat st;
		if (REAL(stat)(state_file, &st) == 0 && S_ISDIR(st.st_mode))
			n = snprintf(path, cap, "%s/%016llx.state", state_file, (unsigned long long)vbf_fnv64(s->root));
		else
			n = snprintf(path, cap, "%s", state_file);
		/* two shares must not share one log: keys would collide */
		for (int i = 0; i < VBF_MAX_SHARES && n < (int)cap; i++)
			if (i != idx && all[i].open && !strcmp(all[i].path, path))
				n = snprintf(path, cap, "%s-%016llx", state_file, (unsigned long long)vbf_fnv64(s->root));
		why = "name too long";
		if (n < (int)cap)
			fd = vbf_file_open_log(path, 0, 1, &why);
		if (fd < 0)
			vbf_log_once(VBF_EV_STORE_RO, VBF_WARN,
				     "VBOXFIX_STATE=%s cannot be used (%s): records kept in memory only", path, why);
		return fd;
	}
	n = own_name(s->root, path, cap);
	s->nofollow = O_NOFOLLOW;
	why = "name too long";
	/* the share's own file; without one, a file above it; else a new own */
	if (n < (int)cap && ((fd = vbf_file_open_log(path, O_NOFOLLOW, 0, &why)) >= 0 ||
			     (errno == ENOENT && ((fd = open_above(s, idx, all, path, cap)) >= 0 || s->via)) ||
			     (fd = vbf_file_open_log(path, O_NOFOLLOW, 1, &why)) >= 0))
		return fd;
	const char *why0 = why;
	if (REAL(mkdir)("/var/tmp/vboxfix", 0700) == 0)
		REAL(fchmodat)(AT_FDCWD, "/var/tmp/vboxfix", 01777, 0); /* every user's fallback */
	snprintf(path, cap, "/var/tmp/vboxfix/%016llx.state", (unsigned long long)vbf_fnv64(s->root));
	fd = vbf_file_open_log(path, O_NOFOLLOW, 1, &why);
	vbf_log_once(VBF_EV_STORE_RO, VBF_WARN, "state store at %s cannot be used (%s): using %s%s", s->root, why0,
		     fd >= 0 ? path : "memory only", fd >= 0 ? "" : " (that failed too)");
	return fd;
}

void vbf_where_open(struct vbf_store *s, int idx, const char *state_file, const struct vbf_store *all)
{
	char path[PATH_MAX];
	s->fd = -1;
	s->writable = 0;
	s->nofollow = 0;
	s->intkey[0] = 0;
	s->via = 0;
	s->kprefix[0] = 0;
	if (vbf_cfg.compact_min > 0) /* 0: settings not loaded (the CLI, unit tests) */
		vbf_compact_min = (uint64_t)vbf_cfg.compact_min;
	/* the share's own log as another process of this euid read it, when
	 * it is still that file (store_page.c): opened at first use. The root
	 * is canonical, so is this name, which the copy is kept under. */
	if (!(state_file && *state_file) && own_name(s->root, path, sizeof path) < (int)sizeof path &&
	    vbf_file_from_copy(s, path) == 0) {
		s->nofollow = O_NOFOLLOW;
		return;
	}
	int fd = open_where(s, idx, all, state_file, path, sizeof path);
	if (fd < 0) { /* memory only, or s->via */
		s->path[0] = 0;
		return;
	}
	vbf_file_start(s, fd, path);
}
