/* SPDX-License-Identifier: MIT */
/* Retry and emulation of what a share refuses: busy names, O_DIRECT,
 * directory fsync, rename flags and directories, and the store kept in step
 * with names that move or go away. Redirected FIFOs and sockets are in
 * refuse_redirect.c, hard links in refuse_link.c. */
#include "refuse.h"
#include "cache.h"
#include "config.h"
#include "defer.h"
#include "fdtab.h"
#include "log.h"
#include "own.h"
#include "view.h"
#include "real.h"
#include "retry.h"
#include "store.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

#define BUSY_RETRY(r, expr) VBF_BUSY_RETRY(r, expr, vbf_cfg.retry_ms)
#define BUSY_AGAIN(r, expr) VBF_BUSY_AGAIN(r, expr, vbf_cfg.retry_ms)

static int internal(const struct vbf_where *w) { return w->idx >= 0 && w->key && vbf_store_is_internal(w->idx, w->key); }

void vbf_where_record_changed(const struct vbf_where *k, const struct vbf_where *w)
{
	if (k != w && k->idx >= 0 && k->key)
		vbf_cache_changed_key(k->idx, k->key);
}

const struct vbf_where *vbf_where_record(const struct vbf_where *w, int dirfd, const char *path, struct vbf_where *tmp)
{
	/* a share without records has nothing to key, and a name of one
	 * component below a directory the kernel names is its own */
	if (w->idx < 0 || !path || vbf_name_canonical(path, 0) || !vbf_share_has_records(w->idx) ||
	    vbf_where_nofollow(dirfd, path, tmp) != w->idx || !tmp->key)
		return w;
	return tmp;
}

/* ---- opens ---- */

static int writes(int fl) { return (fl & O_ACCMODE) != O_RDONLY || (fl & O_TRUNC); }

int vbf_refuse_open(const struct vbf_where *w, int dirfd, const char *path, int flags, mode_t mode,
		    vbf_open_call call, void *ctx, struct vbf_where *walked)
{
	char local[VBF_REDIRECT_CAP];
	struct vbf_where cw;
	if (internal(w))
		return vbf_fail(ENOENT);
	/* A name whose unlink waits for the last close is gone here; the host
	 * still has it, so a create cannot make a new file there yet. */
	if (vbf_defer_kept(w->idx, w->key))
		return vbf_fail(flags & O_CREAT ? ETXTBSY : ENOENT);
	/* A create must not put a regular file over a redirected FIFO's name. */
	const struct vbf_where *held =
		flags & O_CREAT ? vbf_redirect_found(w, dirfd, path, !(flags & (O_EXCL | O_NOFOLLOW)), &cw) : NULL;
	if (held && vbf_redirect_lookup(held, local) == 0) {
		/* the kernel refuses that pair before it looks (EINVAL), and
		 * never creates with it */
		if (flags & O_DIRECTORY)
			return REAL(openat)(AT_FDCWD, local, flags & ~O_DIRECT, 0);
		if (flags & O_EXCL)
			return vbf_fail(EEXIST);
		return REAL(openat)(AT_FDCWD, local, flags & ~(O_CREAT | O_EXCL | O_DIRECT), 0);
	}
	int fd = call(ctx, dirfd, path, flags, mode);
	if (fd < 0 && errno == EINVAL && (flags & O_DIRECT)) {
		/* The kernel creates before it asks for direct_IO: a refused
		 * O_CREAT|O_EXCL open has made the file, which is ours. */
		int fl = flags & ~O_DIRECT;
		if ((fl & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
			fl &= ~O_EXCL;
		fd = call(ctx, dirfd, path, fl, mode);
		if (fd >= 0) {
			vbf_count(VBF_C_EMULATED);
			vbf_log_once(VBF_EV_ODIRECT, VBF_INFO, "O_DIRECT refused on a share: opened without it");
		}
		flags = fl;
	}
	if (fd < 0 && writes(flags))
		BUSY_AGAIN(fd, call(ctx, dirfd, path, flags, mode));
	int found;
	if (fd < 0 && errno == ENOENT &&
	    (found = vbf_redirect_after_enoent(w, dirfd, path, !(flags & O_NOFOLLOW), flags & O_CREAT ? NULL : local,
						walked)) >= 0) {
		if (found == 0)
			fd = REAL(openat)(AT_FDCWD, local, flags & ~O_DIRECT, 0);
		else
			errno = ENOTDIR;
	}
	return fd;
}

/* Is the descriptor on a share? Asked only after the share refused. */
static int fd_on_share(int fd, struct stat *st)
{
	struct vbf_where w;
	int saved = errno;
	int yes = vbf_fd_marked(fd) && REAL(fstat)(fd, st) == 0 && vbf_where_stat(fd, NULL, 1, st, &w) >= 0;
	errno = saved;
	return yes;
}

int vbf_refuse_setfl(int (*fn)(int, int, ...), int fd, int flags)
{
	int r = fn(fd, F_SETFL, flags);
	struct stat st;
	if (r < 0 && errno == EINVAL && (flags & O_DIRECT) && fd_on_share(fd, &st)) {
		r = fn(fd, F_SETFL, flags & ~O_DIRECT);
		if (r == 0) {
			vbf_count(VBF_C_EMULATED);
			vbf_log_once(VBF_EV_ODIRECT, VBF_INFO, "O_DIRECT refused on a share: dropped");
		}
	}
	return r;
}

int vbf_refuse_dirsync(int fd, int saved)
{
	struct stat st;
	if (!fd_on_share(fd, &st) || !S_ISDIR(st.st_mode))
		return vbf_fail(EINVAL);
	vbf_count(VBF_C_EMULATED);
	vbf_log_once(VBF_EV_DIRSYNC, VBF_INFO, "fsync of a directory on a share answered 0 (the share has none)");
	errno = saved;
	return 0;
}

/* ---- rename ---- */

/* renameat2 only with flags: a libc or kernel without it still renames */
static int call_rename(int fa, const char *a, int fb, const char *b, unsigned int fl)
{
	return fl ? REAL(renameat2)(fa, a, fb, b, fl) : REAL(renameat)(fa, a, fb, b);
}

static int is_dir_at(int d, const char *p, struct stat *st)
{
	return REAL(fstatat)(d, p, st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st->st_mode);
}

/* rename(dir, existing dir) that the share refuses (the host is asked
 * without "replace" for directories): POSIX replaces an empty target, so
 * remove it and try once more. A target that is not empty stays, and the
 * answer is ENOTEMPTY as a local filesystem gives. */
static int rename_onto_dir(int fa, const char *a, int fb, const char *b, int err)
{
	struct stat sa, sb;
	if (!is_dir_at(fa, a, &sa) || !is_dir_at(fb, b, &sb))
		return vbf_fail(err);
	if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
		return vbf_fail(err);
	if (REAL(unlinkat)(fb, b, AT_REMOVEDIR) != 0)
		return vbf_fail(errno == ENOTEMPTY || errno == EEXIST ? ENOTEMPTY : err);
	int r = call_rename(fa, a, fb, b, 0);
	if (r != 0) {
		/* put the empty target back so the failed call changed nothing;
		 * a window where it was missing remains (docs/refusals.md) */
		int e = errno;
		REAL(mkdirat)(fb, b, sb.st_mode & 07777);
		return vbf_fail(e);
	}
	vbf_count(VBF_C_EMULATED);
	vbf_log_once(VBF_EV_RENAME, VBF_INFO, "a directory renamed onto an empty one on a share: target removed first");
	return 0;
}

/* RENAME_NOREPLACE answered EINVAL: check, then a plain rename. Another
 * process can create the target in between (the documented window). */
static int rename_noreplace(int fa, const char *a, int fb, const char *b, const struct vbf_where *wb)
{
	struct stat st;
	char local[VBF_REDIRECT_CAP];
	if (REAL(fstatat)(fb, b, &st, AT_SYMLINK_NOFOLLOW) == 0 || vbf_redirect_lookup(wb, local) == 0)
		return vbf_fail(EEXIST);
	if (errno != ENOENT)
		return -1;
	int r;
	BUSY_RETRY(r, call_rename(fa, a, fb, b, 0));
	if (r == 0) {
		vbf_count(VBF_C_EMULATED);
		vbf_log_once(VBF_EV_RENAME, VBF_INFO, "RENAME_NOREPLACE refused on a share: checked, then renamed");
	}
	return r;
}

/* Is the name `key` strictly below the directory `anc` (both the same
 * share's)? The kernel's rename refuses a directory moved below itself
 * (EINVAL) and a name moved onto a directory above it (ENOTEMPTY) before it
 * looks at what the names are. */
static int strictly_below(const struct vbf_where *k, const struct vbf_where *anc)
{
	const char *r = k->idx >= 0 && k->idx == anc->idx && k->key && anc->key && *anc->key
				? vbf_path_below(k->key, anc->key, strlen(anc->key))
				: NULL;
	return r && *r;
}

/* Are the local objects `a` and `b` one, under one name or two (a hard
 * link of a FIFO or socket is a real one where they live)? */
static int same_object(const char *a, const char *b)
{
	struct stat sa, sb;
	int saved = errno;
	int r = !strcmp(a, b) || (vbf_redirect_lstat(a, &sa) == 0 && vbf_redirect_lstat(b, &sb) == 0 &&
				  sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
	errno = saved;
	return r;
}

/* The source is a redirected FIFO/socket/device: move it to the target's
 * name. Whatever the target name held goes, as a rename replaces it. */
static int rename_redirected(int fa, const char *a, int fb, const char *b, const struct vbf_where *wa,
			     const struct vbf_where *wb, unsigned int flags)
{
	char obj[VBF_REDIRECT_CAP], ent[VBF_REDIRECT_CAP], tobj[VBF_REDIRECT_CAP], tent[VBF_REDIRECT_CAP];
	struct vbf_where ca, cb;
	struct stat st;
	if (wa->idx < 0 || wb->idx < 0 || !(wa = vbf_redirect_found(wa, fa, a, 0, &ca)) ||
	    vbf_redirect_lookup2(wa, obj, ent) != 0)
		return vbf_fail(ENOENT);
	/* onto a directory it lies in (e/p onto e): the kernel's ENOTEMPTY
	 * comes first (with RENAME_NOREPLACE, EEXIST below) */
	if (!(flags & RENAME_NOREPLACE) && strictly_below(wa, wb))
		return vbf_fail(ENOTEMPTY);
	/* both share directories must be there and writable, as for a
	 * rename on the share itself */
	if (vbf_refuse_parent_ok(fa, a) != 0 || vbf_refuse_parent_ok(fb, b) != 0)
		return -1;
	if (REAL(fstatat)(fb, b, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (flags & RENAME_NOREPLACE)
			return vbf_fail(EEXIST);
		if (S_ISDIR(st.st_mode))
			return vbf_fail(EISDIR);
		/* the real file would hide the moved object: it is replaced */
		if (REAL(unlinkat)(fb, b, 0) != 0)
			return -1;
	}
	/* kept under the name the kernel's walk ends at, as it was made */
	wb = vbf_redirect_canon(wb, fb, b, 0, &cb);
	if (vbf_redirect_lookup2(wb, tobj, tent) == 0) {
		if (same_object(obj, tobj))
			return 0; /* two names of one object: nothing to do */
		if (flags & RENAME_NOREPLACE)
			return vbf_fail(EEXIST);
		for (int i = 0; i < 4 && vbf_redirect_remove(wb, -1, NULL) == 0; i++)
			;
	}
	return vbf_redirect_move(wa, wb);
}

/* Is the directory of (d, p) a symlink that leads to a redirected object
 * (e -> fifo, then e/x) or through one (e -> fifo/y)? A walk of that
 * directory, after an ENOENT. */
static int dir_leads_to_object(int d, const char *p, const struct vbf_where *pw)
{
	char dir[VBF_PATH_CAP];
	const char *base, *slash;
	struct vbf_where w;
	vbf_refuse_split(p, dir, sizeof dir, &base);
	/* the directory's key is the name's without its last component: no
	 * classification more */
	if (pw->idx < 0 || !pw->key || !(slash = strrchr(pw->key, '/')) || !strcmp(dir, "."))
		return 0;
	w.idx = pw->idx;
	memcpy(w.buf, pw->key, (size_t)(slash - pw->key));
	w.buf[slash - pw->key] = 0;
	w.key = w.buf;
	char obj[VBF_REDIRECT_CAP];
	return vbf_redirect_after_enoent(&w, d, dir, 1, obj, NULL) >= 0; /* one walk for both questions */
}

/* Is a path of a rename that answered ENOENT through a redirected object?
 * The kernel looks up the source's directory, then the target's: a
 * missing source directory is ENOENT first. */
static int through_object(int fa, const char *a, const struct vbf_where *wa, int fb, const char *b,
			  const struct vbf_where *wb)
{
	char dir[VBF_PATH_CAP];
	const char *base;
	struct stat st;
	if (vbf_redirect_below(wa) || dir_leads_to_object(fa, a, wa))
		return 1;
	if (!vbf_redirect_below(wb) && !dir_leads_to_object(fb, b, wb))
		return 0;
	vbf_refuse_split(a, dir, sizeof dir, &base);
	return REAL(fstatat)(fa, dir, &st, 0) == 0;
}

/* Two names of one emulated hard link (refuse_link.c): a rename of one
 * onto the other does nothing, as for two names of one inode. */
static int same_link(const struct vbf_where *wa, const struct vbf_where *wb)
{
	struct vbf_rec ra, rb;
	return wa->idx >= 0 && wa->idx == wb->idx && wa->key && wb->key && strcmp(wa->key, wb->key) &&
	       vbf_store_get(wa->idx, wa->key, NULL, &ra) && vbf_store_get(wb->idx, wb->key, NULL, &rb) &&
	       (ra.flags & rb.flags & VBF_REC_LINK) && ra.link == rb.link;
}

/* A directory renamed onto a name a redirected object holds: ENOTDIR, as
 * onto any non-directory (the share has nothing there and would accept),
 * or EINVAL where that name is below the directory (d onto d/fifo: the
 * kernel's check comes first). 1 with errno set, else 0. */
static int onto_object(int fa, const char *a, const struct vbf_where *wa, const struct vbf_where *wb)
{
	struct stat st;
	int saved = errno;
	if (!vbf_redirect_taken(wb, AT_FDCWD, NULL) || REAL(fstatat)(fa, a, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) {
		errno = saved;
		return 0;
	}
	errno = strictly_below(wb, wa) ? EINVAL : ENOTDIR;
	return 1;
}

int vbf_op_rename(const struct vbf_where *wa, int fa, const char *a, const struct vbf_where *wb, int fb,
		  const char *b, unsigned int flags)
{
	int ia = wa->idx, ib = wb->idx;
	if (ia < 0 && ib < 0)
		return call_rename(fa, a, fb, b, flags);
	if (internal(wa) || internal(wb) || vbf_defer_kept(wa->idx, wa->key))
		return vbf_fail(ENOENT);
	if (vbf_may_rename(wa, fa, a, wb, fb, b))
		return -1; /* the presented owners and modes (own.h) */
	if (onto_object(fa, a, wa, wb))
		return -1;
	/* from here on the names records are kept under */
	struct vbf_where ka, kb;
	const struct vbf_where *la = wa, *lb = wb;
	wa = vbf_where_record(wa, fa, a, &ka);
	wb = vbf_where_record(wb, fb, b, &kb);
	if (!(flags & ~RENAME_NOREPLACE) && same_link(wa, wb))
		return (flags & RENAME_NOREPLACE) ? vbf_fail(EEXIST) : 0;
	struct vbf_view was;
	int keep = ia >= 0 && ia == ib && !(flags & ~RENAME_NOREPLACE) && vbf_op_rename_owner(ia, wa->key, &was);
	/* the record it has now: one a compaction drops while the name is
	 * between the rename and its record still reaches the new name */
	struct vbf_rec had;
	int has = ia >= 0 && ia == ib && vbf_store_get(ia, wa->key, NULL, &had);
	/* ... and for the records below a directory, no compaction until
	 * they have moved too (store.h, vbf_store_hold) */
	int held = ia >= 0 && ia == ib && !(flags & ~RENAME_NOREPLACE) ? vbf_store_hold(ia, wa->key) : 0;
	int r;
	BUSY_RETRY(r, call_rename(fa, a, fb, b, flags));
	if (r < 0 && errno == EINVAL && flags == RENAME_NOREPLACE)
		r = rename_noreplace(fa, a, fb, b, wb);
	else if (r < 0 && (errno == EEXIST || errno == ENOTEMPTY) && flags == 0)
		r = rename_onto_dir(fa, a, fb, b, errno);
	else if (r < 0 && errno == ENOENT && !(flags & ~RENAME_NOREPLACE)) {
		int e = errno;
		r = rename_redirected(fa, a, fb, b, wa, wb, flags);
		if (r < 0 && errno == ENOENT)
			errno = through_object(fa, a, wa, fb, b, wb) ? ENOTDIR : e;
		vbf_store_release(ia, held);
		return r; /* nothing of the store moves: the object is not on the share */
	}
	if (r != 0) {
		vbf_store_release(ia, held);
		return r;
	}
	int saved = errno;
	if (flags & ~RENAME_NOREPLACE) {
		/* RENAME_EXCHANGE swapped the objects: rather no records than
		 * records on the wrong names */
		if (ia >= 0)
			vbf_store_del(ia, wa->key);
		if (ib >= 0)
			vbf_store_del(ib, wb->key);
	} else if (ia >= 0 && ia == ib) {
		vbf_store_rename_was(ia, wa->key, wb->key, has ? &had : NULL);
		vbf_store_release(ia, held);
		if (keep)
			vbf_op_renamed(ib, wb->key, fb, b, &was);
	} else {
		if (ia >= 0)
			vbf_store_del(ia, wa->key);
		if (ib >= 0)
			vbf_store_del(ib, wb->key);
	}
	/* A redirected object under the target name is replaced, as the
	 * name's old object would have been, whoever made it (the share
	 * allowed this rename). */
	for (int i = 0; ib >= 0 && i < 4 && vbf_redirect_remove(wb, -1, NULL) == 0; i++)
		;
	/* a directory's FIFOs and sockets go with it */
	if (!(flags & ~RENAME_NOREPLACE))
		vbf_redirect_dir_moved(wa, wb);
	vbf_where_record_changed(wa, la);
	vbf_where_record_changed(wb, lb);
	errno = saved;
	return 0;
}

/* ---- unlink, rmdir, remove ---- */

/* rmdir of a share directory that holds redirected objects: what a local
 * filesystem answers for a directory that is not empty, after the checks
 * it makes first (a directory, its parent writable). 1 with errno set, or
 * 0: let the share answer. */
static int rmdir_busy(int d, const char *p)
{
	struct stat st;
	int saved = errno;
	if (REAL(fstatat)(d, p, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) || vbf_refuse_parent_ok(d, p) != 0) {
		errno = saved;
		return 0;
	}
	errno = ENOTEMPTY;
	return 1;
}

struct unlink_call {
	int d, fl;
	const char *p;
};

static int unlink_again(void *arg)
{
	struct unlink_call *c = arg;
	return REAL(unlinkat)(c->d, c->p, c->fl);
}

int vbf_op_unlink(const struct vbf_where *w, int d, const char *p, int fl)
{
	if (w->idx < 0)
		return REAL(unlinkat)(d, p, fl);
	if (internal(w) || vbf_defer_kept(w->idx, w->key))
		return vbf_fail(ENOENT);
	if (vbf_may_delete(w, d, p))
		return -1;
	int dir = (fl & AT_REMOVEDIR) != 0;
	/* its redirected objects live elsewhere: the share would take the
	 * directory from over them */
	if (dir && vbf_redirect_dir_holds(w) && rmdir_busy(d, p))
		return -1;
	int e0 = errno, r = REAL(unlinkat)(d, p, fl);
	/* A file this process holds open stays busy until it closes it: no
	 * retry, the unlink finishes at the last close (defer.h). */
	if (r < 0 && vbf_is_busy(errno) && !dir && vbf_defer_unlink(w, d, p, errno) == 0) {
		r = 0;
		errno = e0;
	} else
		BUSY_AGAIN(r, REAL(unlinkat)(d, p, fl));
	/* A share root that holds only the store's own files: they go with
	 * it (store.h says when, and how a failed retry keeps the records). */
	if (r < 0 && errno == ENOTEMPTY && dir && w->key && !w->key[0]) {
		struct unlink_call c = {d, fl, p};
		int e = errno, r2 = vbf_store_rmdir_root(w->idx, unlink_again, &c);
		if (r2 == 0)
			return 0; /* its records went with it */
		if (errno != ENOTEMPTY)
			errno = e;
	}
	if (r < 0 && errno == ENOENT && !dir) {
		int e = errno;
		struct vbf_where c;
		const struct vbf_where *at = vbf_redirect_found(w, d, p, 0, &c);
		r = vbf_redirect_remove(at ? at : w, d, p);
		if (r == 0)
			errno = e0;
		else if (errno == ENOENT)
			errno = vbf_redirect_below(w) ? ENOTDIR : e;
		return r;
	}
	if (r < 0 && errno == ENOENT)
		return vbf_redirect_enoent_where(w, r, d, p, ENOTDIR);
	if (r == 0) {
		int saved = errno;
		struct vbf_where k;
		const struct vbf_where *at = vbf_where_record(w, d, p, &k);
		if (dir)
			vbf_store_del(at->idx, at->key);
		else
			vbf_store_unlinked(at->idx, at->key);
		vbf_where_record_changed(at, w);
		errno = saved;
	}
	return r;
}

int vbf_op_remove(const struct vbf_where *w, const char *p)
{
	int r = vbf_op_unlink(w, AT_FDCWD, p, 0);
	if (r == 0 || (errno != EISDIR && errno != EPERM))
		return r;
	/* EPERM may be the share's refusal of a file, not a directory's:
	 * that answer stands when the removal as a directory fails too */
	int e = errno;
	r = vbf_op_unlink(w, AT_FDCWD, p, AT_REMOVEDIR);
	if (r < 0 && e == EPERM)
		errno = e;
	return r;
}
