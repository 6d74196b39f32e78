/* SPDX-License-Identifier: MIT */
/* The open family. Outside shares: exactly the call the program made. On a
 * share: note the descriptor (so fchown/fchmod/openat on it are recognised)
 * and record the mode of what it creates when the share ignores it. */
#include "cache.h"
#include "fdtab.h"
#include "own.h"
#include "real.h"
#include "refuse.h"
#include "shares.h"
#include "vbf.h"

enum open_fn { F_OPEN, F_OPEN64, F_OPENAT, F_OPENAT64, F_OPEN_2, F_OPEN64_2, F_OPENAT_2, F_OPENAT64_2, F_CREAT, F_CREAT64 };

static int call(enum open_fn fn, int d, const char *p, int fl, mode_t m)
{
	switch (fn) {
	case F_OPEN: return REAL(open)(p, fl, m);
	case F_OPEN64: return REAL(open64)(p, fl, m);
	case F_OPENAT: return REAL(openat)(d, p, fl, m);
	case F_OPENAT64: return REAL(openat64)(d, p, fl, m);
	case F_OPEN_2: return REAL(__open_2)(p, fl);
	case F_OPEN64_2: return REAL(__open64_2)(p, fl);
	case F_OPENAT_2: return REAL(__openat_2)(d, p, fl);
	case F_OPENAT64_2: return REAL(__openat64_2)(d, p, fl);
	case F_CREAT: return REAL(creat)(p, m);
	case F_CREAT64: return REAL(creat64)(p, m);
	}
	return -1;
}

static int creates(int fl) { return (fl & O_CREAT) || (fl & O_TMPFILE) == O_TMPFILE; }

/* On a share every attempt goes through what the share refuses (refuse.h). */
static int call_cb(void *fn, int d, const char *p, int fl, mode_t m) { return call(*(enum open_fn *)fn, d, p, fl, m); }

static int is_dir(int fd)
{
	struct stat st;
	int saved = errno, r = REAL(fstat)(fd, &st) == 0 && S_ISDIR(st.st_mode);
	errno = saved;
	return r;
}

static int do_open(enum open_fn fn, int d, const char *p, int fl, mode_t m)
{
	struct vbf_where w;
	if (!vbf_active() || vbf_where_name(d, p, &w) < 0)
		return call(fn, d, p, fl, m);
	int fd, created = 0;
	if (fn == F_CREAT || fn == F_CREAT64)
		fl = O_CREAT | O_WRONLY | O_TRUNC;
	/* the presented owner and mode (own.h): in memory, nothing asked of
	 * the share unless they deny */
	if (vbf_may_open(&w, d, p, fl))
		return -1;
	int wtok = vbf_cache_write_begin(&w, vbf_open_writes(fl));
	if ((fl & O_CREAT) && !(fl & O_EXCL)) {
		/* Did this call create the file? Only then is `m` its mode: ask
		 * with O_EXCL first (one extra request, only when it exists). */
		enum open_fn probe = fn == F_CREAT || fn == F_CREAT64 ? F_OPEN : fn;
		fd = vbf_refuse_open(&w, d, p, fl | O_EXCL, m, call_cb, &probe);
		created = fd >= 0;
		/* The name exists: opened as it is. ENOENT then is a symlink
		 * whose target is missing, which O_CREAT makes. */
		if (fd < 0 && errno == EEXIST) {
			fd = vbf_refuse_open(&w, d, p, fl & ~O_CREAT, m, call_cb, &probe);
			if (fd < 0 && errno == ENOENT) {
				fd = vbf_refuse_open(&w, d, p, fl, m, call_cb, &fn);
				created = fd >= 0;
			} else if (fd >= 0 && (fl & O_ACCMODE) == O_RDONLY && is_dir(fd)) {
				/* O_CREAT on a directory: EISDIR (for writing the
				 * open without it said so already) */
				REAL(close)(fd);
				fd = -1;
				errno = EISDIR;
			}
		}
	} else {
		fd = vbf_refuse_open(&w, d, p, fl, m, call_cb, &fn);
		created = fd >= 0 && creates(fl) && (fl & O_EXCL || (fl & O_TMPFILE) == O_TMPFILE);
	}
	if (fd >= 0) {
		vbf_fd_mark(fd, 1);
		wtok = vbf_cache_write_rename(wtok, fd, p, &w);
		if (created)
			vbf_op_created(d, p, fd, m);
		else if ((fl & O_ACCMODE) != O_RDONLY || (fl & O_TRUNC))
			vbf_op_write_open(&w, fd);
	}
	vbf_cache_write_end(wtok, fd, &w);
	return fd;
}

#define MODE_ARG(fl, last)                                                     \
	mode_t m = 0;                                                          \
	if (creates(fl)) {                                                     \
		va_list ap;                                                    \
		va_start(ap, last);                                            \
		m = (mode_t)va_arg(ap, int);                                   \
		va_end(ap);                                                    \
	}

VBF_EXPORT int open(const char *p, int fl, ...) { MODE_ARG(fl, fl); return do_open(F_OPEN, AT_FDCWD, p, fl, m); }
VBF_EXPORT int open64(const char *p, int fl, ...) { MODE_ARG(fl, fl); return do_open(F_OPEN64, AT_FDCWD, p, fl, m); }
VBF_EXPORT int openat(int d, const char *p, int fl, ...) { MODE_ARG(fl, fl); return do_open(F_OPENAT, d, p, fl, m); }
VBF_EXPORT int openat64(int d, const char *p, int fl, ...) { MODE_ARG(fl, fl); return do_open(F_OPENAT64, d, p, fl, m); }
VBF_EXPORT int __open_2(const char *p, int fl) { return do_open(F_OPEN_2, AT_FDCWD, p, fl, 0); }
VBF_EXPORT int __open64_2(const char *p, int fl) { return do_open(F_OPEN64_2, AT_FDCWD, p, fl, 0); }
VBF_EXPORT int __openat_2(int d, const char *p, int fl) { return do_open(F_OPENAT_2, d, p, fl, 0); }
VBF_EXPORT int __openat64_2(int d, const char *p, int fl) { return do_open(F_OPENAT64_2, d, p, fl, 0); }
VBF_EXPORT int creat(const char *p, mode_t m) { return do_open(F_CREAT, AT_FDCWD, p, O_CREAT, m); }
VBF_EXPORT int creat64(const char *p, mode_t m) { return do_open(F_CREAT64, AT_FDCWD, p, O_CREAT, m); }

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

/* stdio and directories open inside libc, out of our reach: fix up after. */
static FILE *do_fopen(FILE *(*fn)(const char *, const char *), const char *p, const char *mode)
{
	struct vbf_where w;
	if (!fn) {
		errno = ENOSYS;
		return NULL;
	}
	if (!vbf_active() || vbf_where_name(AT_FDCWD, p, &w) < 0)
		return fn(p, mode);
	int writes = mode && (mode[0] == 'w' || mode[0] == 'a');
	struct stat st;
	int saved = errno;
	int existed = writes && REAL(stat)(p, &st) == 0;
	errno = saved;
	if (vbf_may_open(&w, AT_FDCWD, p, stdio_flags(mode)))
		return NULL;
	int wtok = vbf_cache_write_begin(&w, writes || (mode && strchr(mode, '+')));
	FILE *f = fn(p, mode);
	vbf_cache_write_end(wtok, f ? fileno(f) : -1, &w);
	if (f) {
		vbf_fd_mark(fileno(f), 1);
		if (writes && !existed)
			vbf_op_created(AT_FDCWD, p, fileno(f), 0666);
		else if (writes || strchr(mode, '+'))
			vbf_op_write_open(&w, fileno(f));
	}
	return f;
}

VBF_EXPORT FILE *fopen(const char *p, const char *mode) { return do_fopen(REAL(fopen), p, mode); }
VBF_EXPORT FILE *fopen64(const char *p, const char *mode) { return do_fopen(REAL(fopen64), p, mode); }

VBF_EXPORT DIR *opendir(const char *p)
{
	struct vbf_where w;
	if (!REAL(opendir)) {
		errno = ENOSYS;
		return NULL;
	}
	if (!vbf_active() || vbf_where_name(AT_FDCWD, p, &w) < 0)
		return REAL(opendir)(p);
	if (vbf_may_open(&w, AT_FDCWD, p, O_RDONLY | O_DIRECTORY))
		return NULL;
	DIR *d = REAL(opendir)(p);
	if (d)
		vbf_fd_mark(dirfd(d), 1);
	if (!d)
		vbf_redirect_enoent(-1, AT_FDCWD, p, ENOTDIR); /* a redirected FIFO, socket */
	return d;
}

static int do_mkdir(int d, const char *p, mode_t m, int at)
{
	struct vbf_where w;
	if (!vbf_active() || vbf_where_name(d, p, &w) < 0)
		return at ? REAL(mkdirat)(d, p, m) : REAL(mkdir)(p, m);
	if (vbf_redirect_taken(&w))
		return -1; /* EEXIST: a redirected FIFO or socket has the name */
	if (vbf_may_create(&w, d, p))
		return -1;
	int r = at ? REAL(mkdirat)(d, p, m) : REAL(mkdir)(p, m);
	if (r < 0)
		return vbf_redirect_enoent(r, d, p, 0);
	if (r == 0)
		vbf_cache_changed_key(w.idx, w.key);
	if (r == 0)
		vbf_op_created(d, p, -1, m);
	return r;
}

VBF_EXPORT int mkdir(const char *p, mode_t m) { return do_mkdir(AT_FDCWD, p, m, 0); }
VBF_EXPORT int mkdirat(int d, const char *p, mode_t m) { return do_mkdir(d, p, m, 1); }
