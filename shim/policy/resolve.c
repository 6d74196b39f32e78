/* SPDX-License-Identifier: MIT */
/* Names resolved by the kernel (shares.h, "names resolved by the kernel").
 *
 * realpath() would find an object's canonical name with an lstat per
 * component and a readlink per symlink on top of the stat the caller makes:
 * on a share each is a request to the host. Here the stat itself is made as
 * a walk the library drives: the parent directory opened O_PATH (the
 * lookups the kernel makes for the stat), the last component opened O_PATH
 * without following, and, when following, readlinkat on it (the readlink
 * the kernel makes; a non-symlink answers at once, in memory) and the same
 * steps again for the target. The object is then stat'ed through its
 * descriptor, and /proc/self/fd names every directory reached as the
 * kernel resolved it. On the emulated share that is request for request
 * what a stat costs (docs/design.md, "Symlinks"); in system calls it is
 * four to seven where a stat is one, paid only for names on a share.
 */
#include "shares.h"
#include "cache.h"
#include "fdtab.h"
#include "real.h"
#include "store.h"
#include "statconv.h"
#include <sys/sysmacros.h>

#define HOPS 40 /* symlinks the kernel follows in one walk */
#define CANNOT -2

static void close_keep(int fd)
{
	int saved = errno;
	REAL(close)(fd);
	errno = saved;
}

/* Components of `s` ("." and empty ones skipped), counting up to 2; 2 for
 * any "..", which the text cannot resolve. */
static int components(const char *s)
{
	int n = 0;
	while (*s && n < 2) {
		while (*s == '/')
			s++;
		const char *e = s;
		while (*e && *e != '/')
			e++;
		if (e - s == 2 && s[0] == '.' && s[1] == '.')
			return 2;
		if (e > s && !(e - s == 1 && s[0] == '.'))
			n++;
		s = e;
	}
	return n;
}

/* Is the lexical name of (dirfd, path) the object's canonical one without
 * asking? The kernel names the working directory (getcwd), a descriptor
 * (/proc) and a share's root (mountinfo, realpath): below one of them, a
 * name of no component (the directory itself) or of one not followed
 * leaves no symlink to resolve. */
static int name_is_canonical(const char *path, int follow)
{
	if (!path || !*path)
		return 1;
	const char *rest = path[0] == '/' ? vbf_after_root(path) : path;
	if (!rest)
		return 0;
	int n = components(rest);
	return n == 0 || (n == 1 && !follow);
}

int vbf_name_canonical(const char *path, int follow) { return name_is_canonical(path, follow); }

int vbf_stat_resolvable(int dirfd, const char *path, int follow)
{
	struct vbf_where w;
	if (!vbf_nshares || !path || !vbf_str_ok(path, 0) || !*path)
		return 0;
	/* on a share by the text first: a name elsewhere costs nothing more */
	int on = path[0] == '/' ? vbf_abs_maybe_share(path)
		 : dirfd != AT_FDCWD ? vbf_fd_marked(dirfd)
				     : vbf_where_name(AT_FDCWD, path, &w) >= 0;
	return on && !name_is_canonical(path, follow);
}

int vbf_share_has_records(int idx)
{
	struct vbf_store_info si;
	return vbf_store_info(idx, &si) != 0 || si.file_records > 0;
}

int vbf_where_stat(int dirfd, const char *path, int follow, const struct stat *st, struct vbf_where *w)
{
	vbf_where_count++;
	/* A subtree share shares its device with the rest of its filesystem,
	 * which must not pay for walks: there the name's text must lie in the
	 * share before the kernel is asked which object it names. Where the
	 * share holds no record, every name of an object shows the same, and a
	 * share's root is named canonically by its text: no walk either (this
	 * is the first stat from a caller's page the library had not read
	 * before, made as the plain call: present.h). */
	int whole, r = vbf_where_text(dirfd, path, st, w, &whole);
	if (r == -1 || (r >= 0 && (name_is_canonical(path, follow) || !*w->key || !vbf_share_has_records(r))))
		return r;
	/* a last component not followed, in a directory the cache knows by
	 * this name: nothing to resolve (docs/design.md, "Symlinks") */
	if (r >= 0 && !follow && path && vbf_cache_dir_canonical(r, w->key, path))
		return r;
	/* the walk shows whether the directory is named canonically by this
	 * text: then the next name in it needs none (cache_canon.c) */
	struct vbf_cdir d;
	int learn = r >= 0 && vbf_cache_enabled && vbf_cache_dir_begin(r, w->key, &d) == 0;
	if (vbf_where_resolve(dirfd, path, follow, st, w) < 0)
		return vbf_where_lexical(dirfd, path, follow, st, w);
	if (learn)
		vbf_cache_dir_seen(&d, w->idx, w->key);
	return w->idx;
}

/* Write into `out` the name of the directory `dirfd` (one this walk opened
 * when `ours`, else the caller's, or the working directory) with `base`
 * appended. Length, or -1. */
static int name_in(int dirfd, int ours, const char *base, char *out, size_t cap)
{
	static const char del[] = " (deleted)";
	char link[32];
	if (!ours)
		return vbf_join_dir(dirfd, base, out, cap);
	snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
	int saved = errno;
	ssize_t n = REAL(readlink)(link, out, cap - 1);
	errno = saved;
	if (n <= 0 || out[0] != '/' || (size_t)n >= cap - 1)
		return -1;
	out[n] = 0;
	/* gone while we looked: no name to key by */
	if ((size_t)n >= sizeof del - 1 && !memcmp(out + n - (sizeof del - 1), del, sizeof del - 1))
		return -1;
	if (!*base)
		return (int)n;
	size_t bl = strlen(base);
	if ((size_t)n + 1 + bl + 1 > cap)
		return -1;
	if (n > 1)
		out[n++] = '/';
	memcpy(out + n, base, bl + 1);
	return (int)(n + (ssize_t)bl);
}

/* An error of our own opens rather than of the name: make the plain call. */
static int ours_failed(int err) { return err == EMFILE || err == ENFILE || err == ENOMEM || err == EINVAL; }

/* Walk (dirfd, path) as the kernel would. Returns an O_PATH descriptor of
 * the object with its absolute name in `abs`; or -1 with *err the lookup's
 * errno and `abs` the name a missing last component would have (past a
 * symlink, also the name a missing directory leads to; "" when unknown);
 * or CANNOT when the walk could not be made (the caller makes the
 * plain call). */
static int walk(int dirfd, const char *path, int follow, char *abs, size_t cap, int *err)
{
	char dir[PATH_MAX], tgt[PATH_MAX];
	int at = dirfd, own = -1, fd = -1;
	const char *p = path;
	abs[0] = 0;
	for (int hops = 0;; hops++) {
		const char *slash = strrchr(p, '/'), *base = slash ? slash + 1 : p;
		if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
			/* "a/", "a/.", "a/..": a directory, reached following */
			fd = REAL(openat)(at, p, O_PATH | O_CLOEXEC);
			if (fd < 0 || name_in(fd, 1, "", abs, cap) < 0)
				abs[0] = 0;
			break;
		}
		if (slash) {
			size_t dl = slash == p ? 1 : (size_t)(slash - p);
			if (dl >= sizeof dir) {
				*err = ENAMETOOLONG;
				fd = CANNOT;
				break;
			}
			memcpy(dir, p, dl);
			dir[dl] = 0;
			int pfd = REAL(openat)(at, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (pfd < 0) {
				/* past a symlink, the whole name it leads to: a FIFO or
				 * socket kept off the share on the way makes the stat's
				 * ENOENT the kernel's ENOTDIR (present.c, redirected) */
				int e = errno;
				if (hops > 0 && e == ENOENT && name_in(at, at == own, p, abs, cap) < 0)
					abs[0] = 0;
				errno = e;
				break;
			}
			if (own >= 0)
				close_keep(own);
			own = at = pfd;
		}
		fd = REAL(openat)(at, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			if (name_in(at, at == own, base, abs, cap) < 0)
				abs[0] = 0;
			errno = e;
			break;
		}
		/* a symlink reads its target (the request the kernel's walk makes
		 * too); anything else says ENOENT at once, without a request */
		long k = follow ? vbf_raw_syscall(SYS_readlinkat, fd, (long)"", (long)tgt, sizeof tgt - 1, 0, 0) : -1;
		if (k < 0) {
			if (name_in(fd, 1, "", abs, cap) < 0)
				abs[0] = 0;
			break;
		}
		close_keep(fd);
		fd = -1;
		if (hops >= HOPS || k == 0 || k >= (long)sizeof tgt - 1) {
			errno = hops >= HOPS ? ELOOP : k == 0 ? ENOENT : ENAMETOOLONG;
			break;
		}
		tgt[k] = 0;
		p = tgt;
	}
	if (fd == -1) {
		*err = errno;
		if (ours_failed(*err))
			fd = CANNOT;
	}
	if (own >= 0)
		close_keep(own);
	return fd;
}

/* w->buf holds the walk's name: classify it */
static void classify(struct vbf_where *w, int found, dev_t dev)
{
	vbf_where_count++;
	w->idx = -1;
	w->key = NULL;
	if (w->buf[0] == '/' && (!found || vbf_share_dev(dev)))
		vbf_where_match(w, found, dev);
}

static int lexically_same(int dirfd, const char *path, const struct vbf_where *w)
{
	struct vbf_where lex;
	return w->idx >= 0 && w->key && vbf_where_name(dirfd, path, &lex) == w->idx && lex.key &&
	       !strcmp(lex.key, w->key);
}

/* May the answer be cached under the name as asked? When the key is the
 * name's own; and for a name whose directory is missing (a module search
 * path, `__pycache__`), under its text as before: a symlink on the way is
 * not known then, and such an entry can outlive a create through another
 * name for VBOXFIX_TTL_MS (docs/design.md, "Symlinks"). */
static int cacheable(int r, int err, int dirfd, const char *path, const struct vbf_where *w)
{
	return lexically_same(dirfd, path, w) || (r && err == ENOENT && !w->buf[0]);
}

/* vbf_stat_where and vbf_statx_where: statx when `stx`, else stat */
static int stat_where(int dirfd, const char *path, int flags, struct stat *st, struct statx *stx, unsigned mask,
		      struct vbf_where *w, int *same)
{
	const int pass = stx ? AT_STATX_SYNC_TYPE | AT_NO_AUTOMOUNT : 0;
	int saved = errno, err = 0, r, follow = !(flags & AT_SYMLINK_NOFOLLOW);
	struct stat sx;
	int fd = path && *path && !(flags & ~(AT_SYMLINK_NOFOLLOW | pass))
			 ? walk(dirfd, path, follow, w->buf, sizeof w->buf, &err)
			 : CANNOT;
	if (same)
		*same = 0;
	w->idx = -1;
	w->key = NULL;
	if (fd == CANNOT) {
		errno = saved;
		r = stx ? REAL(statx)(dirfd, path, flags, mask, stx) : REAL(fstatat)(dirfd, path, st, flags);
		if (r == 0 && stx)
			vbf_stat_from_statx(st = &sx, stx);
		if (r == 0)
			vbf_where_stat(dirfd, path, follow, st, w);
		return r;
	}
	if (fd >= 0) {
		r = stx ? REAL(statx)(fd, "", AT_EMPTY_PATH | (flags & pass), mask, stx) : REAL(fstat)(fd, st);
		err = errno;
		close_keep(fd);
		if (r == 0)
			classify(w, 1, stx ? makedev(stx->stx_dev_major, stx->stx_dev_minor) : st->st_dev);
	} else {
		r = -1;
		if (err == ENOENT)
			classify(w, 0, 0);
	}
	if (same)
		*same = cacheable(r, err, dirfd, path, w);
	errno = r ? err : saved;
	return r;
}

int vbf_stat_where(int dirfd, const char *path, int flags, struct stat *st, struct vbf_where *w, int *same)
{
	return stat_where(dirfd, path, flags, st, NULL, 0, w, same);
}

int vbf_statx_where(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx, struct vbf_where *w,
		    int *same)
{
	return stat_where(dirfd, path, flags, NULL, stx, mask, w, same);
}

int vbf_where_resolve(int dirfd, const char *path, int follow, const struct stat *st, struct vbf_where *w)
{
	int saved = errno, err = 0;
	w->idx = -1;
	w->key = NULL;
	if (!path || !*path)
		return -1;
	int fd = walk(dirfd, path, follow, w->buf, sizeof w->buf, &err);
	if (fd >= 0) {
		close_keep(fd);
		/* the object `st` describes, found again a moment later */
		if (st)
			classify(w, 1, st->st_dev);
	} else if (fd == -1 && err == ENOENT && !st) {
		classify(w, 0, 0);
	}
	errno = saved;
	return w->idx;
}

int vbf_where_nofollow(int dirfd, const char *path, struct vbf_where *w)
{
	int saved = errno, err = 0;
	w->idx = -1;
	w->key = NULL;
	if (!path || !*path)
		return -1;
	/* the walk names what it reached, or the missing name by its
	 * directory: by that text alone, as the name lies where it was asked */
	int fd = walk(dirfd, path, 0, w->buf, sizeof w->buf, &err);
	if (fd >= 0)
		close_keep(fd);
	if (fd != CANNOT && (fd >= 0 || err == ENOENT))
		classify(w, 0, 0);
	errno = saved;
	return w->idx;
}

int vbf_cache_write_rename(int tok, int fd, const char *path, struct vbf_where *w)
{
	struct vbf_where c;
	if (tok <= 0 || vbf_name_canonical(path, 1) || vbf_where_name(fd, "", &c) < 0 || !c.key ||
	    (c.idx == w->idx && !strcmp(c.key, w->key)))
		return tok;
	int t = vbf_cache_write_begin(&c, 1);
	if (t <= 0)
		return tok;
	vbf_cache_fd_release(tok); /* counted under the name as asked: given back */
	w->idx = c.idx;
	memcpy(w->buf, c.buf, sizeof w->buf);
	w->key = w->buf + (c.key - c.buf);
	return t;
}
