/* SPDX-License-Identifier: MIT */
/* The presented owner and mode enforced before a call on a share: search
 * permission along the path, read/write permission of an open or truncate,
 * write permission of the directory a name is made in or removed from, the
 * sticky-directory rule, and the owner's rights on times (docs/design.md,
 * "One view, and the owner rules on it").
 *
 * The verdict comes from memory: the records and their ancestors
 * (store.h), no request to the share. Only a denial is confirmed by one
 * stat of the real object (the record may be stale, and errors such as
 * ENOENT or EEXIST come before permission in the kernel); a caller that is
 * allowed pays nothing. Where nothing recorded a mode, the presented mode
 * is the real one and the kernel has already judged it. The library only
 * ever refuses more: the real call still runs and the kernel has its say. */
#include "config.h"
#include "own_int.h"
#include "real.h"
#include "refuse.h"
#include "rules.h"
#include <sys/syscall.h>

/* The key of the directory holding `key` (none for the share root). */
static int parent_key(const char *key, char *pk, size_t cap)
{
	const char *slash = strrchr(key, '/');
	size_t n = slash ? (size_t)(slash - key) : 0;
	if (!*key || n >= cap)
		return 0;
	memcpy(pk, key, n);
	pk[n] = 0;
	return 1;
}


/* What every check starts with: the caller (its ids not fetched, nor the
 * struct zeroed whole: they are fetched when first needed) and the search
 * along the path. 1 to check the rest; 0 to decide now, *err being the
 * answer (0: nothing to check, the place is not a share name). */
static int begin(struct vbf_who *me, const struct vbf_where *w, const char *path, int *err)
{
	me->have = 0;
	*err = 0;
	if (!w->key || !path || !*path)
		return 0;
	*err = vbf_perm_search(me, w->idx, w->key, path);
	return !*err;
}

/* A FIFO, socket or device kept off the share under the name `w`
 * (refuse.h): the share has nothing there, yet the kernel of a local disk
 * would find it (EEXIST, the sticky rule, the permission to remove it).
 * It shows its real owner and mode, as a stat of it does. 0, or -1 with
 * errno kept. Local lookups only, made on the way to a denial. */
static int redirected_view(const struct vbf_where *w, int dirfd, const char *path, int follow, struct stat *st,
			   struct vbf_view *v)
{
	char obj[VBF_REDIRECT_CAP];
	struct vbf_where t;
	const struct vbf_where *h;
	int saved = errno;
	if (!w || w->idx < 0 || !w->key || !(h = vbf_redirect_found(w, dirfd, path, follow, &t)) ||
	    vbf_redirect_lookup(h, obj) != 0 || REAL(fstatat)(AT_FDCWD, obj, st, 0) != 0) {
		errno = saved;
		return -1;
	}
	v->uid = st->st_uid;
	v->gid = st->st_gid;
	v->mode = st->st_mode;
	v->how = VBF_VIEW_RECORD;
	v->link.flags = 0;
	errno = saved;
	return 0;
}

/* The real object of (dirfd, path), lexically `w`, and its view: 0, or -1
 * when it is not there (or not on a share) and the real call is left to
 * answer. */
static int real_view(const struct vbf_where *w, int dirfd, const char *path, int follow, struct stat *st,
		     struct vbf_view *v)
{
	struct vbf_where f;
	if (REAL(fstatat)(dirfd, path, st, follow ? 0 : AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? redirected_view(w, dirfd, path, follow, st, v) : -1;
	if (vbf_where_stat(dirfd, path, follow, st, &f) < 0 || !f.key)
		return -1;
	vbf_view_of(f.idx, f.key, st, v);
	return 0;
}

/* Is the directory the last name of (dirfd, path) goes into there? A
 * missing one is the kernel's ENOENT (ENOTDIR for a non-directory, a FIFO
 * or socket kept off the share included), before the permission to make
 * a name in it. */
/* The directory the last name of (dirfd, path) goes into, stat'ed: 0, -1
 * when it cannot be, -2 when the name is too long to tell. */
static int parent_stat(int dirfd, const char *path, struct stat *st)
{
	char p[VBF_PATH_CAP];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	if (n >= sizeof p)
		return -2;
	memcpy(p, slash ? path : ".", slash ? n : 1);
	p[slash ? n : 1] = 0;
	if (slash && !n)
		strcpy(p, "/");
	return REAL(fstatat)(dirfd, p, st, 0) == 0 ? 0 : -1;
}

static int parent_there(int dirfd, const char *path)
{
	struct stat st;
	int r = parent_stat(dirfd, path, &st);
	return r == -2 || (r == 0 && S_ISDIR(st.st_mode));
}

/* A new name in the directory holding `key`: write and search permission
 * there. 1 when memory says it is denied. */
static int create_denied(struct vbf_who *me, int idx, const char *key)
{
	char pk[VBF_PATH_CAP];
	struct vbf_view p;
	return parent_key(key, pk, sizeof pk) && vbf_perm_view(idx, pk, &p) &&
	       vbf_perm_denies(me, p.uid, p.gid, S_IFDIR | p.mode, W_OK | X_OK);
}

static int open_want(int flags)
{
	if (flags & O_PATH)
		return 0;
	int acc = flags & O_ACCMODE;
	int want = acc == O_RDONLY ? R_OK : acc == O_WRONLY ? W_OK : R_OK | W_OK;
	return want | (flags & O_TRUNC ? W_OK : 0);
}

int vbf_may_open(const struct vbf_where *w, int dirfd, const char *path, int flags)
{
	int saved = errno, err;
	struct vbf_who me;
	/* flags the kernel refuses before it walks (EINVAL) */
	if ((flags & (O_CREAT | O_DIRECTORY)) == (O_CREAT | O_DIRECTORY) && (flags & O_TMPFILE) != O_TMPFILE)
		return 0;
	if (!begin(&me, w, path, &err))
		return err ? vbf_fail(err) : 0;
	if ((flags & O_TMPFILE) == O_TMPFILE) /* its directory: the kernel's */
		return 0;
	int want = open_want(flags), creating = (flags & O_CREAT) != 0, excl = creating && (flags & O_EXCL);
	int follow = !(flags & O_NOFOLLOW) && !excl;
	struct vbf_view v;
	int has = want && vbf_perm_view(w->idx, w->key, &v), file_no = has && vbf_perm_denies(&me, v.uid, v.gid, v.mode, want);
	int dir_no = creating && create_denied(&me, w->idx, w->key);
	/* a truncate cannot be judged after the open (vbf_may_opened): the
	 * object the name reaches, before it */
	struct vbf_where c;
	if (want && !has && (flags & O_TRUNC) && !excl && vbf_perm_elsewhere(w, path, follow) &&
	    !vbf_perm_place_of(dirfd, path, follow, w, &c)) {
		if ((err = vbf_perm_canon_denies(&me, w, path, &c, want, &v)) > 0)
			return vbf_fail(err);
		file_no = err < 0;
	}
	if (!file_no && !dir_no)
		return 0; /* the common case: nothing more is asked */
	struct stat st;
	if (real_view(w, dirfd, path, follow, &st, &v)) {
		int gone = errno == ENOENT && parent_there(dirfd, path);
		errno = saved;
		return gone && dir_no ? vbf_fail(EACCES) : 0;
	}
	errno = saved;
	/* the kernel's errors that come first: EEXIST, EISDIR, ENOTDIR, ELOOP */
	if (excl || (S_ISDIR(st.st_mode) && ((want & W_OK) || creating)) ||
	    ((flags & O_DIRECTORY) && !S_ISDIR(st.st_mode)) || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
		return 0;
	err = want ? vbf_rule_access(vbf_who_cred(&me), v.uid, v.gid, v.mode, want) : 0;
	errno = saved;
	return err ? vbf_fail(err) : 0;
}

int vbf_open_trunc_after(const struct vbf_where *w, const char *path, int flags)
{
	struct vbf_view v;
	return (flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY && !(flags & O_EXCL) && !(flags & O_PATH) &&
	       w->key && path && *path && !vbf_perm_view(w->idx, w->key, &v) &&
	       vbf_perm_elsewhere(w, path, !(flags & O_NOFOLLOW));
}

int vbf_may_opened(const struct vbf_where *w, const char *path, int flags, int fd)
{
	int want = open_want(flags), err;
	struct vbf_view v;
	struct vbf_where c;
	struct vbf_who me;
	if (!want || (flags & O_TRUNC) || !w->key || !path || !*path || vbf_perm_view(w->idx, w->key, &v) ||
	    !vbf_perm_elsewhere(w, path, !(flags & O_NOFOLLOW)) || vbf_perm_place_of_fd(fd, w, &c))
		return 0;
	me.have = 0;
	int saved = errno;
	struct stat st;
	/* a denial in memory is confirmed by the real object (the record may
	 * be stale); the open itself has shown it reachable */
	if ((err = vbf_perm_canon_denies(&me, w, path, &c, want, &v)) < 0) {
		err = 0;
		if (REAL(fstat)(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
			vbf_view_of(c.idx, c.key, &st, &v);
			err = vbf_rule_access(vbf_who_cred(&me), v.uid, v.gid, v.mode, want);
		}
	}
	errno = saved;
	return err;
}

int vbf_may_create(const struct vbf_where *w, int dirfd, const char *path)
{
	int saved = errno, err;
	struct vbf_who me;
	if (!begin(&me, w, path, &err))
		return err ? vbf_fail(err) : 0;
	if (!create_denied(&me, w->idx, w->key))
		return 0;
	struct stat st;
	/* an existing name is the kernel's EEXIST, which comes first */
	int gone = REAL(fstatat)(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT &&
		   parent_there(dirfd, path);
	errno = saved;
	return gone ? vbf_fail(EACCES) : 0;
}

/* Removing the name `key` (unlink, rmdir, the source or target of a
 * rename): write and search permission of its directory, then the sticky
 * rule (may_delete). `must`: the name must exist (else the real call
 * answers); a rename target that does not exist still needs the write
 * permission. */
static int delete_check(struct vbf_who *me, const struct vbf_where *w, int dirfd, const char *path, int must)
{
	char pk[VBF_PATH_CAP];
	struct vbf_view p, v;
	if (!parent_key(w->key, pk, sizeof pk) || !vbf_perm_view(w->idx, pk, &p))
		return 0;
	int no_w = vbf_perm_denies(me, p.uid, p.gid, S_IFDIR | p.mode, W_OK | X_OK);
	int sticky = (p.mode & S_ISVTX) && !no_w;
	if (sticky) {
		vbf_perm_view(w->idx, w->key, &v);
		sticky = vbf_rule_sticky(vbf_who_cred(me), p.mode, p.uid, v.uid) != 0;
	}
	if (!no_w && !sticky)
		return 0;
	struct stat st;
	if (real_view(w, dirfd, path, 0, &st, &v))
		return errno == ENOENT && !must && no_w && parent_there(dirfd, path) ? EACCES : 0;
	if (no_w)
		return EACCES;
	return vbf_rule_sticky(vbf_who_cred(me), p.mode, p.uid, v.uid);
}

int vbf_may_delete(const struct vbf_where *w, int dirfd, const char *path)
{
	int saved = errno, err;
	struct vbf_who me;
	if (begin(&me, w, path, &err))
		err = delete_check(&me, w, dirfd, path, 1);
	errno = saved;
	return err ? vbf_fail(err) : 0;
}

/* The search along a link's new path: the kernel resolves the old one
 * first, so a missing one is its ENOENT. */
static int second_search(struct vbf_who *me, const struct vbf_where *wb, const char *b, int fa, const char *a, int follow)
{
	struct stat st;
	int err = vbf_perm_search(me, wb->idx, wb->key, b);
	if (err && REAL(fstatat)(fa, a, &st, follow & AT_SYMLINK_FOLLOW ? 0 : AT_SYMLINK_NOFOLLOW) != 0)
		err = 0;
	return err;
}

static int into_itself(const char *a, const char *b)
{
	size_t n = strlen(a);
	return !strncmp(a, b, n) && b[n] == '/';
}

/* A directory moved to another parent has its ".." rewritten: write
 * permission on the directory itself (vfs_rename). */
static int moved_dir_check(struct vbf_who *me, const struct vbf_where *wa, int fa, const char *a,
			   const struct vbf_where *wb, int fb, const char *b)
{
	const char *sa = strrchr(wa->key, '/'), *sb = strrchr(wb->key, '/');
	size_t na = sa ? (size_t)(sa - wa->key) : 0, nb = sb ? (size_t)(sb - wb->key) : 0;
	struct vbf_view v;
	struct stat st;
	if ((na == nb && !strncmp(wa->key, wb->key, na)) || !vbf_perm_view(wa->idx, wa->key, &v) ||
	    !vbf_perm_denies(me, v.uid, v.gid, S_IFDIR | v.mode, W_OK))
		return 0;
	/* lexically another parent, really the same one (d -> ., then d/x):
	 * nothing is rewritten */
	struct stat pa, pb;
	if (!parent_stat(fa, a, &pa) && !parent_stat(fb, b, &pb) && pa.st_dev == pb.st_dev && pa.st_ino == pb.st_ino)
		return 0;
	if (real_view(wa, fa, a, 0, &st, &v) || !S_ISDIR(st.st_mode) || !parent_there(fb, b))
		return 0;
	return vbf_rule_access(vbf_who_cred(me), v.uid, v.gid, v.mode, W_OK);
}

int vbf_may_rename(const struct vbf_where *wa, int fa, const char *a, const struct vbf_where *wb, int fb,
		   const char *b)
{
	int saved = errno, err = 0;
	struct vbf_who me;
	if (!begin(&me, wa, a, &err) && (err || !wa->key))
		return err ? vbf_fail(err) : 0;
	/* the kernel's order: both parents are walked (search; a source
	 * parent that is no directory is its ENOTDIR), then EINVAL/ENOTEMPTY
	 * for a directory moved into itself or onto an ancestor, then the
	 * names: a missing source (ENOENT), may_delete, may_create */
	if (wb->key && b && *b && (err = vbf_perm_search(&me, wb->idx, wb->key, b)) && !parent_there(fa, a))
		err = 0;
	if (err || !wb->key || !*b || into_itself(wa->key, wb->key) || into_itself(wb->key, wa->key)) {
		errno = saved;
		return err ? vbf_fail(err) : 0;
	}
	if (!(err = delete_check(&me, wa, fa, a, 1)))
		err = moved_dir_check(&me, wa, fa, a, wb, fb, b);
	if (!err) {
		struct stat st;
		err = delete_check(&me, wb, fb, b, 0);
		if (err && REAL(fstatat)(fa, a, &st, AT_SYMLINK_NOFOLLOW) != 0)
			err = 0;
	}
	errno = saved;
	return err ? vbf_fail(err) : 0;
}

/* Are the times explicit (not NULL, not all UTIME_NOW/UTIME_OMIT)? -1 when
 * the kernel cannot read them (it answers EFAULT): asked of the kernel
 * itself, without touching the file (fd -1 fails after the copy). */
static int explicit_times(const struct timespec *t)
{
	if (!t)
		return 0;
	if (vbf_raw_syscall(SYS_utimensat, -1, 0, (long)t, 0, 0, 0) == -EFAULT)
		return -1;
	for (int i = 0; i < 2; i++)
		if (t[i].tv_nsec != UTIME_NOW && t[i].tv_nsec != UTIME_OMIT)
			return 1;
	return 0;
}

/* fs.protected_hardlinks, read once (1, the kernel's default, when it
 * cannot be read) */
static int protected_hardlinks(void)
{
	static _Atomic int v = -1;
	int x = v;
	if (x < 0) {
		char c = '1';
		int fd = REAL(open)("/proc/sys/fs/protected_hardlinks", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (REAL(read)(fd, &c, 1) != 1)
				c = '1';
			REAL(close)(fd);
		}
		v = x = c != '0';
	}
	return x;
}

/* may_linkat: who is not the owner (nor has CAP_FOWNER) may link only a
 * regular file it may read and write that is not setuid, nor setgid with
 * group exec. 0 or EPERM. */
static int link_denied(struct vbf_who *me, const struct stat *st, const struct vbf_view *v)
{
	const struct vbf_cred *c = vbf_who_cred(me);
	if (c->uid == v->uid || (c->caps & VBF_CAP_FOWNER))
		return 0;
	mode_t m = v->mode;
	if (!S_ISREG(st->st_mode) || (m & S_ISUID) || (m & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) ||
	    vbf_rule_access(c, v->uid, v->gid, S_IFREG | (m & 07777), R_OK | W_OK))
		return EPERM;
	return 0;
}

int vbf_may_link(const struct vbf_where *wa, int fa, const char *a, const struct vbf_where *wb, int fb, const char *b,
		 int flags)
{
	if (!wa->key || !wb->key || !*a || !*b)
		return 0;
	int saved = errno, err;
	struct vbf_who me;
	me.have = 0; /* not zeroed whole: the ids are fetched when first needed */
	if ((err = vbf_perm_search(&me, wa->idx, wa->key, a)) || (err = second_search(&me, wb, b, fa, a, flags)))
		return vbf_fail(err);
	struct vbf_view v;
	vbf_perm_view(wa->idx, wa->key, &v);
	int prot = vbf_euid() != v.uid && protected_hardlinks();
	int dir_no = create_denied(&me, wb->idx, wb->key);
	if (!prot && !dir_no)
		return 0;
	struct stat st, sb;
	/* the kernel's ENOENT for the source, then its lookup of the new
	 * name: EEXIST, or ENOENT/ENOTDIR for a directory that is not there
	 * (a record may outlive its name) */
	if (real_view(wa, fa, a, (flags & AT_SYMLINK_FOLLOW) != 0, &st, &v) ||
	    REAL(fstatat)(fb, b, &sb, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT || !parent_there(fb, b)) {
		errno = saved;
		return 0;
	}
	err = prot ? link_denied(&me, &st, &v) : 0;
	errno = saved;
	return err ? vbf_fail(err) : dir_no ? vbf_fail(EACCES) : 0;
}

int vbf_may_times(int dirfd, const char *path, int flags, const struct timespec *t)
{
	struct vbf_where w;
	int saved = errno, err = 0, expl = 0;
	struct vbf_who me;
	/* where_name first: it checks the pointer before anything reads it */
	if (vbf_where_name(dirfd, path, &w) < 0 || !begin(&me, &w, path, &err))
		return err ? vbf_fail(err) : 0;
	struct vbf_view v;
	struct vbf_where c;
	int has_mode = vbf_perm_view(w.idx, w.key, &v), follow = !(flags & AT_SYMLINK_NOFOLLOW);
	/* an owner the name only inherits may not be its object's (a symlink,
	 * a symlinked directory): the object's record, found before the call */
	if (vbf_euid() == v.uid && v.how != VBF_VIEW_RECORD && !has_mode && vbf_perm_elsewhere(&w, path, follow) &&
	    !vbf_perm_place_of(dirfd, path, follow, &w, &c)) {
		if ((err = vbf_perm_search_from(&me, c.idx, c.key, vbf_perm_canon_start(w.key, path, c.key))))
			return vbf_fail(err);
		has_mode = vbf_perm_view(c.idx, c.key, &v);
	}
	/* the presented owner (the cached euid) may; so may anyone with write
	 * permission when the times are "now" */
	if (vbf_euid() == v.uid || (expl = explicit_times(t)) < 0 ||
	    (!expl && has_mode && !vbf_perm_denies(&me, v.uid, v.gid, v.mode, W_OK)))
		return 0;
	struct stat st;
	if (real_view(&w, dirfd, path, follow, &st, &v) || S_ISLNK(st.st_mode)) {
		errno = saved;
		return 0;
	}
	err = vbf_rule_times(vbf_who_cred(&me), v.uid, v.gid, v.mode, expl);
	errno = saved;
	return err ? vbf_fail(err) : 0;
}
