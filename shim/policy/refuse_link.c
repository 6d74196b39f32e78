/* SPDX-License-Identifier: MIT */
/* Hard links on a share that has none (vboxsf answers EPERM): the new name
 * becomes a COPY of the source, with its data, times and presented owner
 * and mode. It is not a shared inode: a later write through one name does
 * not show through the other, and nlink stays 1. That is what programs that
 * link to publish a finished file need (PostgreSQL <= 14 installing WAL
 * segments, git, lock-file idioms): the name appears complete and only if
 * it did not exist.
 *
 * The copy is written under a temporary name in the target's directory and
 * moved into place without replacing anything: RENAME_NOREPLACE, or where
 * the share refuses that flag, a check then a rename (a window in which
 * another process may create the name; docs/refusals.md). */
#include "refuse.h"
#include "view.h"
#include "log.h"
#include "own.h"
#include "real.h"
#include "store.h"
#include "config.h"
#include <time.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

/* A new group: a name no other group has (names, not inode numbers, which
 * a filesystem reuses as soon as a file is gone), presenting the source's
 * inode number as a stat showed it before the link (git compares its
 * earlier stat of the source with a stat of the new name). */
static void new_group(int idx, const struct stat *src, struct vbf_rec *rec)
{
	static _Atomic unsigned int seq;
	struct timespec ts;
	REAL(clock_gettime)(CLOCK_REALTIME, &ts);
	char seed[96];
	snprintf(seed, sizeof seed, "%lld.%ld.%ld.%u.%llu", (long long)ts.tv_sec, ts.tv_nsec,
		 (long)REAL(getpid)(), seq++, (unsigned long long)src->st_ino);
	rec->link = vbf_redirect_hash(seed);
	while (!rec->link || vbf_store_links(idx, rec->link))
		rec->link = rec->link * 0x100000001b3ull + 1;
	rec->link_ino = (uint64_t)src->st_ino;
	rec->flags |= VBF_REC_LINK;
}

static int copy_data(int from, int to)
{
	char buf[16384];
	for (;;) {
		ssize_t n = REAL(read)(from, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)n;
		for (ssize_t off = 0; off < n;) {
			ssize_t m = REAL(write)(to, buf + off, (size_t)(n - off));
			if (m < 0 && errno == EINTR)
				continue;
			if (m <= 0)
				return m < 0 ? -1 : vbf_fail(EIO);
			off += m;
		}
	}
}

/* Move `tmp` to `b` (both relative to fb) only if `b` does not exist. */
static int place(int fb, const char *tmp, const char *b)
{
	struct stat st;
	int r = REAL(renameat2)(fb, tmp, fb, b, RENAME_NOREPLACE);
	if (r == 0 || errno != EINVAL)
		return r;
	if (REAL(fstatat)(fb, b, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return vbf_fail(EEXIST);
	return errno == ENOENT ? REAL(renameat)(fb, tmp, fb, b) : -1;
}

/* The key of `tmpbase` next to `key` (its directory's). */
static int sibling_key(const char *key, const char *tmpbase, char *out, size_t cap)
{
	const char *slash = strrchr(key, '/');
	int n = slash ? snprintf(out, cap, "%.*s/%s", (int)(slash - key), key, tmpbase)
		      : snprintf(out, cap, "%s", tmpbase);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* The copy of `src` (open as sfd, or the symlink `text`) under a free
 * temporary name next to b (relative to fb): 0 with tmp and *tst, or -1. */
static int make_copy(int fb, const char *b, int sfd, const char *text, const struct stat *src, char *tmp, size_t cap,
		     struct stat *tst)
{
	static _Atomic unsigned int seq;
	char dir[PATH_MAX];
	const char *base;
	int tfd = -1, made = 0;
	vbf_refuse_split(b, dir, sizeof dir, &base);
	for (int tries = 0; !made && tries < 16; tries++) {
		unsigned int n = seq++ ^ (unsigned int)REAL(getpid)() << 12;
		int len = strchr(b, '/') ? snprintf(tmp, cap, "%s/.vbf-link.%06x", dir, n & 0xffffff)
					 : snprintf(tmp, cap, ".vbf-link.%06x", n & 0xffffff);
		if (len < 0 || (size_t)len >= cap)
			return vbf_fail(ENAMETOOLONG);
		if (text)
			made = REAL(symlinkat)(text, fb, tmp) == 0;
		else
			made = (tfd = REAL(openat)(fb, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, src->st_mode & 0777)) >= 0;
		if (!made && errno != EEXIST)
			return -1;
	}
	if (!made)
		return vbf_fail(EEXIST);
	if (text)
		return REAL(fstatat)(fb, tmp, tst, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : (REAL(unlinkat)(fb, tmp, 0), -1);
	int r = copy_data(sfd, tfd), e = errno;
	struct timespec times[2] = {src->st_atim, src->st_mtim};
	if (r == 0)
		REAL(futimens)(tfd, times);
	if (r == 0 && REAL(fstat)(tfd, tst) != 0) {
		r = -1;
		e = errno;
	}
	if (REAL(close)(tfd) != 0 && r == 0) {
		r = -1;
		e = errno;
	}
	if (r != 0) {
		REAL(unlinkat)(fb, tmp, 0);
		return vbf_fail(e);
	}
	return 0;
}

/* The share name of what descriptor `fd` opened (a followed symlink's
 * target): its records are the source's. */
static int where_fd(int fd, struct vbf_where *w)
{
	char p[32], real[PATH_MAX];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	ssize_t n = REAL(readlink)(p, real, sizeof real - 1);
	if (n <= 0)
		return -1;
	real[n] = 0;
	return vbf_where_name(AT_FDCWD, real, w);
}

static int emulate(int fa, const char *a, int fb, const char *b, int flags, const struct vbf_where *wa,
		   const struct vbf_where *wb, int err)
{
	struct stat src, dst, tst;
	int empty = (flags & AT_EMPTY_PATH) && a && !*a;
	int follow = (flags & AT_SYMLINK_FOLLOW) != 0;
	char text[PATH_MAX];
	if (REAL(fstatat)(fa, a, &src, (empty ? AT_EMPTY_PATH : 0) | (follow ? 0 : AT_SYMLINK_NOFOLLOW)) != 0) {
		if (empty || errno != ENOENT)
			return -1;
		/* a redirected FIFO, socket or device: a real link where it lives */
		int r = vbf_redirect_link(wa, fa, a, follow, wb, fb, b);
		return r == 0 || errno != ENOENT ? r : vbf_redirect_enoent_where(wa, -1, fa, a, 0);
	}
	/* a symlink's hard link is a symlink with its text; directories and
	 * devices keep what the share said */
	/* the kernel looks up the new name before it asks the filesystem */
	if (REAL(fstatat)(fb, b, &dst, AT_SYMLINK_NOFOLLOW) == 0 || vbf_redirect_taken(wb, fb, b))
		return vbf_fail(EEXIST);
	if (errno != ENOENT)
		return -1;
	int lnk = S_ISLNK(src.st_mode);
	if (!S_ISREG(src.st_mode) && !(lnk && !empty))
		return vbf_fail(err);
	/* The kernel's protected_hardlinks rule: the owner, or read and write
	 * access (root passes); a symlink only by its (presented) owner. A
	 * copy needs only read; do not allow more. */
	uid_t me = REAL(geteuid)();
	if (me != 0 && !empty && !lnk &&
	    REAL(faccessat)(fa, a, R_OK | W_OK, AT_EACCESS | (follow ? 0 : AT_SYMLINK_NOFOLLOW)) != 0)
		return vbf_fail(err);
	if (me != 0 && lnk) {
		struct vbf_view v;
		vbf_view_of(wa->idx, wa->key, &src, &v);
		if (v.uid != me)
			return vbf_fail(err);
	}

	char path[PATH_MAX], tmp[PATH_MAX + 32], tkey[VBF_PATH_CAP];
	const char *base;
	vbf_refuse_split(b, path, sizeof path, &base);
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return vbf_fail(err);
	int sfd = -1;
	if (lnk) {
		ssize_t n = REAL(readlinkat)(fa, a, text, sizeof text - 1);
		if (n < 0)
			return -1;
		text[n] = 0;
	} else if (empty) {
		snprintf(path, sizeof path, "/proc/self/fd/%d", fa);
		sfd = REAL(openat)(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	} else
		sfd = REAL(openat)(fa, a, O_RDONLY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	if (!lnk && sfd < 0)
		return -1;
	struct vbf_where wt;
	struct stat ls;
	/* followed through a symlink: the records are the target's */
	if (follow && !lnk && !empty && REAL(fstatat)(fa, a, &ls, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(ls.st_mode) &&
	    where_fd(sfd, &wt) == wa->idx)
		wa = &wt;
	int r = make_copy(fb, b, sfd, lnk ? text : NULL, &src, tmp, sizeof tmp, &tst), e = errno;
	if (sfd >= 0)
		REAL(close)(sfd);
	if (r != 0)
		return e == ENOENT ? vbf_redirect_enoent_where(wb, -1, fb, b, 0) : vbf_fail(e);
	const char *tbase = strrchr(tmp, '/') ? strrchr(tmp, '/') + 1 : tmp;
	int keyed = sibling_key(wb->key, tbase, tkey, sizeof tkey) == 0;
	struct vbf_rec rec = {0};
	int joined = 0;
	if (keyed && wa->key) {
		/* what the source presents, the copy presents */
		vbf_store_get(wa->idx, wa->key, &src, &rec);
		joined = (rec.flags & VBF_REC_LINK) != 0;
		if (!joined)
			new_group(wa->idx, &src, &rec);
		if (!(rec.flags & VBF_REC_MODE) && (tst.st_mode & 07777) != (src.st_mode & 07777) && !lnk) {
			rec.flags |= VBF_REC_MODE;
			rec.mode = src.st_mode & 07777;
		}
		vbf_store_put(wb->idx, tkey, &tst, &rec);
	}
	if (place(fb, tmp, b) != 0) {
		e = errno;
		REAL(unlinkat)(fb, tmp, 0);
		if (keyed)
			vbf_store_del(wb->idx, tkey);
		return vbf_fail(e);
	}
	if (keyed)
		vbf_store_rename(wb->idx, tkey, wb->key);
	if (keyed && wa->key && !joined) {
		/* the source joins the group (its own record, if any, kept) */
		struct vbf_rec sr = {0};
		vbf_store_get(wa->idx, wa->key, &src, &sr);
		sr.flags |= VBF_REC_LINK;
		sr.link = rec.link;
		sr.link_ino = rec.link_ino;
		vbf_store_put(wa->idx, wa->key, &src, &sr);
	}
	vbf_count(VBF_C_EMULATED);
	vbf_log_once(VBF_EV_LINK, VBF_INFO, "a hard link on a share was made as a copy (%s)", wb->key);
	return 0;
}

/* The kernel looks both names up before it judges the link (protected
 * hardlinks, a directory's link): a new name a redirected object holds is
 * EEXIST first, once the source is there. Local lookups, and a stat of the
 * source only where the name is held. 1 with errno EEXIST, else 0 with
 * errno kept. */
static int held_new_name(const struct vbf_where *wa, int fa, const char *a, const struct vbf_where *wb, int fb,
			 const char *b, int flags)
{
	struct stat st;
	struct vbf_where t;
	int saved = errno, follow = (flags & AT_SYMLINK_FOLLOW) != 0;
	if (!vbf_redirect_taken(wb, fb, b)) {
		errno = saved;
		return 0;
	}
	int there = REAL(fstatat)(fa, a, &st, (flags & AT_EMPTY_PATH) | (follow ? 0 : AT_SYMLINK_NOFOLLOW)) == 0 ||
		    (errno == ENOENT && wa->idx >= 0 && vbf_redirect_found(wa, fa, a, follow, &t));
	errno = there ? EEXIST : saved;
	return there;
}

int vbf_op_link(const struct vbf_where *wa, int fa, const char *a, const struct vbf_where *wb, int fb, const char *b,
		int flags)
{
	int ia = wa->idx, ib = wb->idx;
	if (ia < 0 && ib < 0)
		return REAL(linkat)(fa, a, fb, b, flags);
	if ((ia >= 0 && vbf_store_is_internal(ia, wa->key)) || (ib >= 0 && vbf_store_is_internal(ib, wb->key)))
		return vbf_fail(ENOENT);
	int saved = errno;
	/* the presented owners and modes (own.h); their EPERM (protected
	 * hardlinks, a directory) comes after the kernel's look at the new
	 * name, a search permission's EACCES before it */
	if (ia >= 0 && ib >= 0 && vbf_may_link(wa, fa, a, wb, fb, b, flags)) {
		if (errno == EPERM)
			held_new_name(wa, fa, a, wb, fb, b, flags);
		return -1;
	}
	/* the records of both names as the kernel's walk ends at them */
	struct vbf_where ka, kb;
	const struct vbf_where *lb = wb;
	wa = vbf_where_record(wa, fa, a, &ka);
	wb = vbf_where_record(wb, fb, b, &kb);
	int r = REAL(linkat)(fa, a, fb, b, flags);
	if (r == 0 && ia >= 0 && ia == ib) {
		/* a real link: the new name presents what the old one does */
		struct stat st;
		struct vbf_rec rec;
		if (REAL(fstatat)(fb, b, &st, AT_SYMLINK_NOFOLLOW) == 0 && vbf_store_get(ia, wa->key, &st, &rec))
			vbf_store_put(ib, wb->key, &st, &rec);
		vbf_where_record_changed(wb, lb);
		errno = saved;
		return 0;
	}
	if (r == 0 || errno != EPERM || ia < 0 || ia != ib)
		return r;
	int err = errno;
	r = emulate(fa, a, fb, b, flags, wa, wb, err);
	if (r == 0) {
		vbf_where_record_changed(wb, lb);
		errno = saved;
	}
	return r;
}
