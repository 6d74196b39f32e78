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

/* stdio opens inside libc, out of our reach: the policy fixes up after. */
static FILE *do_fopen(FILE *(*fn)(const char *, const char *), const char *p, const char *mode)
{
	struct vbf_where w;
	if (!fn)
		return vbf_no_function_null();
	if (!on_share(AT_FDCWD, p, &w))
		return fn(p, mode);
	return vbf_op_fopen(&w, fn, p, mode);
}

VBF_EXPORT FILE *fopen(const char *p, const char *mode) { return do_fopen(REAL(fopen), p, mode); }
VBF_EXPORT FILE *fopen64(const char *p, const char *mode) { return do_fopen(REAL(fopen64), p, mode); }

VBF_EXPORT DIR *opendir(const char *p)
{
	struct vbf_where w;
	if (!REAL(opendir))
		return vbf_no_function_null();
	if (!vbf_active() || vbf_where_name(AT_FDCWD, p, &w) < 0)
		return REAL(opendir)(p);
	return vbf_op_opendir(&w, p);
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
