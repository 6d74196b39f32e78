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
#include "log.h"
#include "own.h"
#include "real.h"
#include "store.h"
#include "vbf.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

static int fail(int err)
{
	errno = err;
	return -1;
}

VBF_TLS int vbf_link_pending;
static VBF_TLS struct {
	dev_t dev, src_dev;
	ino_t ino, src_ino;
	off_t size;
	struct timespec mtim;
} alias;

void vbf_link_alias_slow(struct stat *st)
{
	/* size and mtime too: share inode numbers are recycled */
	if (st->st_dev != alias.dev || st->st_ino != alias.ino || st->st_size != alias.size ||
	    st->st_mtim.tv_sec != alias.mtim.tv_sec || st->st_mtim.tv_nsec != alias.mtim.tv_nsec)
		return;
	st->st_dev = alias.src_dev;
	st->st_ino = alias.src_ino;
	vbf_link_pending = 0;
}

static int call_link(enum vbf_link_fn fn, int fa, const char *a, int fb, const char *b, int fl)
{
	return fn == VBF_LN_LINK ? REAL(link)(a, b) : REAL(linkat)(fa, a, fb, b, fl);
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
				return m < 0 ? -1 : fail(EIO);
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
		return fail(EEXIST);
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

static int emulate(int fa, const char *a, int fb, const char *b, int flags, const struct vbf_where *wa,
		   const struct vbf_where *wb, int err)
{
	struct stat src, dst;
	int empty = (flags & AT_EMPTY_PATH) && a && !*a;
	int follow = (flags & AT_SYMLINK_FOLLOW) != 0;
	if (REAL(fstatat)(fa, a, &src, (empty ? AT_EMPTY_PATH : 0) | (follow ? 0 : AT_SYMLINK_NOFOLLOW)) != 0)
		return -1;
	if (!S_ISREG(src.st_mode))
		return fail(err); /* directories, symlinks, devices: what the share said */
	if (REAL(fstatat)(fb, b, &dst, AT_SYMLINK_NOFOLLOW) == 0)
		return fail(EEXIST);
	if (errno != ENOENT)
		return -1;
	/* The kernel's protected_hardlinks rule: the owner, or read and write
	 * access (root passes). A copy needs only read; do not allow more. */
	if (REAL(geteuid)() != 0 && !empty &&
	    REAL(faccessat)(fa, a, R_OK | W_OK, AT_EACCESS | (follow ? 0 : AT_SYMLINK_NOFOLLOW)) != 0)
		return fail(err);

	char path[PATH_MAX], tmp[PATH_MAX + 32], tkey[VBF_PATH_CAP];
	const char *base;
	vbf_refuse_split(b, path, sizeof path, &base);
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return fail(err);
	int sfd;
	if (empty) {
		snprintf(path, sizeof path, "/proc/self/fd/%d", fa);
		sfd = REAL(openat)(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	} else
		sfd = REAL(openat)(fa, a, O_RDONLY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	if (sfd < 0)
		return -1;
	vbf_refuse_split(b, path, sizeof path, &base);
	static _Atomic unsigned int seq;
	int tfd = -1;
	for (int tries = 0; tfd < 0 && tries < 16; tries++) {
		unsigned int n = seq++ ^ (unsigned int)vbf_raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0) << 12;
		int len = strchr(b, '/') ? snprintf(tmp, sizeof tmp, "%s/.vbf-link.%06x", path, n & 0xffffff)
					 : snprintf(tmp, sizeof tmp, ".vbf-link.%06x", n & 0xffffff);
		if (len < 0 || (size_t)len >= sizeof tmp) {
			errno = ENAMETOOLONG;
			break;
		}
		tfd = REAL(openat)(fb, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, src.st_mode & 0777);
		if (tfd < 0 && errno != EEXIST)
			break;
	}
	if (tfd < 0) {
		int e = errno;
		REAL(close)(sfd);
		return fail(e);
	}
	int r = copy_data(sfd, tfd), e = errno;
	struct timespec times[2] = {src.st_atim, src.st_mtim};
	if (r == 0)
		vbf_raw_syscall(SYS_utimensat, tfd, 0, (long)times, 0, 0, 0);
	struct stat tst;
	int have_tst = r == 0 && REAL(fstat)(tfd, &tst) == 0;
	REAL(close)(sfd);
	if (REAL(close)(tfd) != 0 && r == 0) {
		r = -1;
		e = errno;
	}
	const char *tbase = strrchr(tmp, '/') ? strrchr(tmp, '/') + 1 : tmp;
	int keyed = sibling_key(wb->key, tbase, tkey, sizeof tkey) == 0;
	if (r == 0 && keyed && have_tst) {
		/* what the source presents, the copy presents */
		struct vbf_rec rec = {0};
		vbf_store_get(wa->idx, wa->key, &src, &rec);
		if (!(rec.flags & VBF_REC_MODE) && (tst.st_mode & 07777) != (src.st_mode & 07777)) {
			rec.flags |= VBF_REC_MODE;
			rec.mode = src.st_mode & 07777;
		}
		if (rec.flags)
			vbf_store_put(wb->idx, tkey, &tst, &rec);
	}
	if (r == 0 && place(fb, tmp, b) != 0) {
		r = -1;
		e = errno;
	}
	if (r != 0) {
		REAL(unlinkat)(fb, tmp, 0);
		if (keyed)
			vbf_store_del(wb->idx, tkey);
		return fail(e);
	}
	if (keyed)
		vbf_store_rename(wb->idx, tkey, wb->key);
	/* What the next stat of the new name will really show: the copy's
	 * times are the source's only when the share let this caller set
	 * them (a uid that does not own the mount gets EPERM there, and the
	 * copy keeps the time of its writes), and a share may change them at
	 * close or rename. */
	struct stat fin;
	if (have_tst && REAL(fstatat)(fb, b, &fin, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(fin.st_mode)) {
		alias.dev = fin.st_dev;
		alias.ino = fin.st_ino;
		alias.size = fin.st_size;
		alias.mtim = fin.st_mtim;
		alias.src_dev = src.st_dev;
		alias.src_ino = src.st_ino;
		vbf_link_pending = 1;
	}
	vbf_count(VBF_C_EMULATED);
	vbf_log_once(VBF_EV_LINK, VBF_INFO, "a hard link on a share was made as a copy (%s)", wb->key);
	return 0;
}

int vbf_op_link(enum vbf_link_fn fn, int fa, const char *a, int fb, const char *b, int flags)
{
	struct vbf_where wa, wb;
	int ia = vbf_where_name(fa, a, &wa), ib = vbf_where_name(fb, b, &wb);
	if (ia < 0 && ib < 0)
		return call_link(fn, fa, a, fb, b, flags);
	if ((ia >= 0 && vbf_store_is_internal(ia, wa.key)) || (ib >= 0 && vbf_store_is_internal(ib, wb.key)))
		return fail(ENOENT);
	int saved = errno;
	if (ia >= 0 && ib >= 0 && vbf_may_link(&wa, fa, a, &wb, fb, b, fn == VBF_LN_LINK ? 0 : flags))
		return -1; /* the presented owners and modes (own.h) */
	int r = call_link(fn, fa, a, fb, b, flags);
	if (r == 0 && ia >= 0 && ia == ib) {
		/* a real link: the new name presents what the old one does */
		struct stat st;
		struct vbf_rec rec;
		if (REAL(fstatat)(fb, b, &st, AT_SYMLINK_NOFOLLOW) == 0 && vbf_store_get(ia, wa.key, &st, &rec))
			vbf_store_put(ib, wb.key, &st, &rec);
		errno = saved;
		return 0;
	}
	if (r == 0 || errno != EPERM || ia < 0 || ia != ib)
		return r;
	int err = errno;
	r = emulate(fa, a, fb, b, fn == VBF_LN_LINK ? 0 : flags, &wa, &wb, err);
	if (r == 0)
		errno = saved;
	return r;
}
