/* SPDX-License-Identifier: MIT */
/* An open, opendir or mkdir on a share, of a name the wrapper classified
 * (wrap_open.c). An open: the presented owner and mode, what the share
 * refuses (refuse.h), whether this call created the file (only then is the
 * program's mode its mode), the descriptor noted and the cache told of
 * writes. The real calls are openat and mkdirat; the wrappers pass
 * O_LARGEFILE for their 64-bit forms. */
#include "cache.h"
#include "fdtab.h"
#include "own.h"
#include "real.h"
#include "refuse.h"

static int creates(int fl) { return (fl & O_CREAT) || (fl & O_TMPFILE) == O_TMPFILE; }

static int call_openat(void *ctx, int d, const char *p, int fl, mode_t m) { return REAL(openat)(d, p, fl, m); }

static int is_dir(int fd)
{
	struct stat st;
	int saved = errno, r = REAL(fstat)(fd, &st) == 0 && S_ISDIR(st.st_mode);
	errno = saved;
	return r;
}

/* O_CREAT without O_EXCL: did this call create the file? Asked with O_EXCL
 * first (one extra request, only when it exists). */
static int open_create(const struct vbf_where *w, int d, const char *p, int fl, mode_t m, int *created,
		       struct vbf_where *walked)
{
	int fd = vbf_refuse_open(w, d, p, fl | O_EXCL, m, call_openat, NULL, walked);
	*created = fd >= 0;
	if (fd >= 0 || errno != EEXIST)
		return fd;
	/* The name exists: opened as it is. ENOENT then is a symlink whose
	 * target is missing, which O_CREAT makes. */
	fd = vbf_refuse_open(w, d, p, fl & ~O_CREAT, m, call_openat, NULL, walked);
	if (fd < 0 && errno == ENOENT) {
		fd = vbf_refuse_open(w, d, p, fl, m, call_openat, NULL, walked);
		*created = fd >= 0;
	} else if (fd >= 0 && (fl & O_ACCMODE) == O_RDONLY && is_dir(fd)) {
		/* O_CREAT on a directory: EISDIR (for writing the open without
		 * it said so already) */
		REAL(close)(fd);
		fd = vbf_fail(EISDIR);
	}
	return fd;
}

/* The O_TRUNC of an open made without it: what the open would have done
 * (the kernel ignores it for a FIFO or socket: ftruncate's EINVAL). */
static int truncate_late(int fd)
{
	int saved = errno;
	if (REAL(ftruncate)(fd, 0) == 0 || errno == EINVAL) {
		errno = saved;
		return fd;
	}
	saved = errno;
	REAL(close)(fd);
	return vbf_fail(saved);
}

int vbf_op_open(struct vbf_where *w, int d, const char *p, int fl, mode_t m)
{
	int fd, created;
	struct vbf_where walked = {.idx = -1};
	/* O_TRUNC through a name that may not be its object's own: opened
	 * without it, judged by the object, then truncated (own.h) */
	int late = vbf_open_trunc_after(w, p, fl), ofl = late ? fl & ~O_TRUNC : fl;
	/* the presented owner and mode (own.h): in memory, nothing asked of
	 * the share unless they deny */
	if (vbf_may_open(w, d, p, ofl))
		return -1;
	int wtok = vbf_cache_write_begin(w, vbf_open_writes(fl));
	if ((ofl & O_CREAT) && !(ofl & O_EXCL))
		fd = open_create(w, d, p, ofl, m, &created, &walked);
	else {
		fd = vbf_refuse_open(w, d, p, ofl, m, call_openat, NULL, &walked);
		created = fd >= 0 && creates(ofl) && (ofl & O_EXCL || (ofl & O_TMPFILE) == O_TMPFILE);
	}
	int err;
	if (fd >= 0 && !created && (err = vbf_may_opened(w, p, ofl, fd))) {
		REAL(close)(fd);
		fd = vbf_fail(err);
	}
	if (fd >= 0 && late && !created)
		fd = truncate_late(fd);
	if (fd >= 0) {
		vbf_fd_mark(fd, 1);
		wtok = vbf_cache_write_rename(wtok, fd, p, w);
		if (created)
			vbf_op_created(d, p, fd, m);
		else if ((fl & O_ACCMODE) != O_RDONLY || (fl & O_TRUNC))
			vbf_op_write_open(w, fd);
	}
	vbf_cache_write_end(wtok, fd, w);
	/* a directory the symlinks led through, not searchable: along the
	 * name the redirect's walk ended at when it made one */
	if (fd < 0)
		vbf_missing_searched_at(w, walked.idx >= 0 && walked.key ? &walked : NULL, d, p, !(fl & O_NOFOLLOW));
	return fd;
}

int vbf_op_mkdir(const struct vbf_where *w, int d, const char *p, mode_t m)
{
	/* the kernel's order: the search on the way (EACCES), then a name
	 * that exists (EEXIST: a redirected FIFO or socket has it), then
	 * the permission to make one */
	if (vbf_may_search(w, p) || vbf_redirect_taken(w, d, p))
		return -1;
	if (vbf_may_create(w, d, p))
		return -1;
	int r = REAL(mkdirat)(d, p, m);
	if (r < 0)
		return vbf_redirect_enoent_where(w, r, d, p, 0);
	vbf_cache_changed_key(w->idx, w->key);
	vbf_op_created(d, p, -1, m);
	return r;
}

DIR *vbf_op_opendir(const struct vbf_where *w, const char *p)
{
	const int fl = O_RDONLY | O_DIRECTORY;
	if (vbf_may_open(w, AT_FDCWD, p, fl))
		return NULL;
	DIR *d = REAL(opendir)(p);
	if (!d) {
		vbf_redirect_enoent_where(w, -1, AT_FDCWD, p, ENOTDIR); /* a redirected FIFO, socket */
		return NULL;
	}
	/* through a symlink: the directory it leads to is judged (own.h) */
	int err = vbf_may_opened(w, p, fl, dirfd(d));
	if (err) {
		REAL(closedir)(d);
		errno = err;
		return NULL;
	}
	vbf_fd_mark(dirfd(d), 1);
	return d;
}

/* The open(2) flags of an fopen mode string ("r", "w+", "ax"...). */
static int stdio_flags(const char *mode)
{
	if (!mode)
		return O_RDONLY;
	int plus = strchr(mode, '+') != NULL;
	int fl = mode[0] == 'r' ? (plus ? O_RDWR : O_RDONLY) : (plus ? O_RDWR : O_WRONLY) | O_CREAT;
	if (mode[0] == 'w')
		fl |= O_TRUNC;
	return fl | (strchr(mode, 'x') ? O_EXCL : 0);
}

FILE *vbf_op_fopen(const struct vbf_where *w, FILE *(*fn)(const char *, const char *), const char *p, const char *mode)
{
	/* did this call create the file? Only then is it its creator's */
	int writes = mode && (mode[0] == 'w' || mode[0] == 'a');
	struct stat st;
	int saved = errno;
	int existed = writes && REAL(stat)(p, &st) == 0;
	errno = saved;
	if (vbf_may_open(w, AT_FDCWD, p, stdio_flags(mode)))
		return NULL;
	int wtok = vbf_cache_write_begin(w, writes || (mode && strchr(mode, '+')));
	FILE *f = fn(p, mode);
	vbf_cache_write_end(wtok, f ? fileno(f) : -1, w);
	if (f) {
		vbf_fd_mark(fileno(f), 1);
		if (writes && !existed)
			vbf_op_created(AT_FDCWD, p, fileno(f), 0666);
		else if (writes || strchr(mode, '+'))
			vbf_op_write_open(w, fileno(f));
	}
	return f;
}
