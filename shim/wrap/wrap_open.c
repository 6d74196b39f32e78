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

static int creates(int fl) { return (fl & O_CREAT) || (fl & O_TMPFILE) == O_TMPFILE; }

/* Is (d, p) on a share? `w`: its classification, made once, handed down. */
static int on_share(int d, const char *p, struct vbf_where *w) { return vbf_active() && vbf_where_name(d, p, w) >= 0; }

#define MODE_ARG(fl, last)                                                     \
	mode_t m = 0;                                                          \
	if (creates(fl)) {                                                     \
		va_list ap;                                                    \
		va_start(ap, last);                                            \
		m = (mode_t)va_arg(ap, int);                                   \
		va_end(ap);                                                    \
	}

/* Outside shares each is the call the program made; on a share the op
 * (own.h, vbf_op_open) makes openat, with O_LARGEFILE for the 64-bit
 * forms as libc adds it. */
VBF_EXPORT int open(const char *p, int fl, ...)
{
	struct vbf_where w;
	MODE_ARG(fl, fl);
	return on_share(AT_FDCWD, p, &w) ? vbf_op_open(&w, AT_FDCWD, p, fl, m) : REAL(open)(p, fl, m);
}
VBF_EXPORT int open64(const char *p, int fl, ...)
{
	struct vbf_where w;
	MODE_ARG(fl, fl);
	return on_share(AT_FDCWD, p, &w) ? vbf_op_open(&w, AT_FDCWD, p, fl | O_LARGEFILE, m) : REAL(open64)(p, fl, m);
}
VBF_EXPORT int openat(int d, const char *p, int fl, ...)
{
	struct vbf_where w;
	MODE_ARG(fl, fl);
	return on_share(d, p, &w) ? vbf_op_open(&w, d, p, fl, m) : REAL(openat)(d, p, fl, m);
}
VBF_EXPORT int openat64(int d, const char *p, int fl, ...)
{
	struct vbf_where w;
	MODE_ARG(fl, fl);
	return on_share(d, p, &w) ? vbf_op_open(&w, d, p, fl | O_LARGEFILE, m) : REAL(openat64)(d, p, fl, m);
}
/* the fortified forms: a create without a mode is libc's to refuse */
VBF_EXPORT int __open_2(const char *p, int fl)
{
	struct vbf_where w;
	return !creates(fl) && on_share(AT_FDCWD, p, &w) ? vbf_op_open(&w, AT_FDCWD, p, fl, 0) : REAL(__open_2)(p, fl);
}
VBF_EXPORT int __open64_2(const char *p, int fl)
{
	struct vbf_where w;
	return !creates(fl) && on_share(AT_FDCWD, p, &w) ? vbf_op_open(&w, AT_FDCWD, p, fl | O_LARGEFILE, 0)
							  : REAL(__open64_2)(p, fl);
}
VBF_EXPORT int __openat_2(int d, const char *p, int fl)
{
	struct vbf_where w;
	return !creates(fl) && on_share(d, p, &w) ? vbf_op_open(&w, d, p, fl, 0) : REAL(__openat_2)(d, p, fl);
}
VBF_EXPORT int __openat64_2(int d, const char *p, int fl)
{
	struct vbf_where w;
	return !creates(fl) && on_share(d, p, &w) ? vbf_op_open(&w, d, p, fl | O_LARGEFILE, 0)
						  : REAL(__openat64_2)(d, p, fl);
}
VBF_EXPORT int creat(const char *p, mode_t m)
{
	struct vbf_where w;
	const int fl = O_CREAT | O_WRONLY | O_TRUNC;
	return on_share(AT_FDCWD, p, &w) ? vbf_op_open(&w, AT_FDCWD, p, fl, m) : REAL(creat)(p, m);
}
VBF_EXPORT int creat64(const char *p, mode_t m)
{
	struct vbf_where w;
	const int fl = O_CREAT | O_WRONLY | O_TRUNC | O_LARGEFILE;
	return on_share(AT_FDCWD, p, &w) ? vbf_op_open(&w, AT_FDCWD, p, fl, m) : REAL(creat64)(p, m);
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
		vbf_redirect_enoent_where(&w, -1, p, ENOTDIR); /* a redirected FIFO, socket */
	return d;
}

VBF_EXPORT int mkdir(const char *p, mode_t m)
{
	struct vbf_where w;
	return on_share(AT_FDCWD, p, &w) ? vbf_op_mkdir(&w, AT_FDCWD, p, m) : REAL(mkdir)(p, m);
}
VBF_EXPORT int mkdirat(int d, const char *p, mode_t m)
{
	struct vbf_where w;
	return on_share(d, p, &w) ? vbf_op_mkdir(&w, d, p, m) : REAL(mkdirat)(d, p, m);
}
