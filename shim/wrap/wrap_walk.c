/* SPDX-License-Identifier: MIT */
/* Tree walkers stat inside libc, where no wrapper reaches: fix what they
 * hand back. Paths they report are relative to the working directory at the
 * start of the walk, which is what our cached cwd still holds even when the
 * walker changes directory internally. */
#include "present.h"
#include "real.h"
#include "vbf.h"

#if VBF_GLIBC
static void fix_ent(FTSENT *e)
{
	for (; e; e = e->fts_link)
		if (e->fts_statp && e->fts_info != FTS_NS && e->fts_info != FTS_NSOK && e->fts_info != FTS_ERR)
			vbf_present_stat(AT_FDCWD, e->fts_path, !S_ISLNK(e->fts_statp->st_mode), e->fts_statp);
}

static void fix_one(FTSENT *e)
{
	if (e && vbf_active()) {
		FTSENT *link = e->fts_link;
		e->fts_link = NULL;
		fix_ent(e);
		e->fts_link = link;
	}
}

VBF_EXPORT FTSENT *fts_read(FTS *f)
{
	FTSENT *e = REAL(fts_read)(f);
	fix_one(e);
	return e;
}

VBF_EXPORT FTSENT *fts_children(FTS *f, int opt)
{
	FTSENT *e = REAL(fts_children)(f, opt);
	if (e && vbf_active())
		fix_ent(e);
	return e;
}

VBF_EXPORT FTSENT64 *fts64_read(FTS64 *f)
{
	FTSENT64 *e = REAL(fts64_read)(f);
	fix_one((FTSENT *)e);
	return e;
}

VBF_EXPORT FTSENT64 *fts64_children(FTS64 *f, int opt)
{
	FTSENT64 *e = REAL(fts64_children)(f, opt);
	if (e && vbf_active())
		fix_ent((FTSENT *)e);
	return e;
}

/* nftw gives no closure argument: the program's callback waits in a
 * thread-local slot (saved and restored, so nested walks work). */
static VBF_TLS vbf_nftw_fn user_nftw;
static VBF_TLS vbf_ftw_fn user_ftw;

static int nftw_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	if (sb && flag != FTW_NS)
		vbf_present_stat(AT_FDCWD, p, flag != FTW_SL && flag != FTW_SLN, (struct stat *)sb);
	return user_nftw(p, sb, flag, ftw);
}

static int ftw_cb(const char *p, const struct stat *sb, int flag)
{
	if (sb && flag != FTW_NS)
		vbf_present_stat(AT_FDCWD, p, 1, (struct stat *)sb);
	return user_ftw(p, sb, flag);
}

static int do_nftw(int (*real)(const char *, vbf_nftw_fn, int, int), const char *dir, vbf_nftw_fn fn, int fds,
		   int fl)
{
	if (!vbf_active())
		return real(dir, fn, fds, fl);
	vbf_nftw_fn saved = user_nftw;
	user_nftw = fn;
	int r = real(dir, nftw_cb, fds, fl);
	user_nftw = saved;
	return r;
}

static int do_ftw(int (*real)(const char *, vbf_ftw_fn, int), const char *dir, vbf_ftw_fn fn, int fds)
{
	if (!vbf_active())
		return real(dir, fn, fds);
	vbf_ftw_fn saved = user_ftw;
	user_ftw = fn;
	int r = real(dir, ftw_cb, fds);
	user_ftw = saved;
	return r;
}

VBF_EXPORT int nftw(const char *d, vbf_nftw_fn fn, int fds, int fl) { return do_nftw(REAL(nftw), d, fn, fds, fl); }
VBF_EXPORT int nftw64(const char *d, vbf_nftw64_fn fn, int fds, int fl)
{
	return do_nftw((int (*)(const char *, vbf_nftw_fn, int, int))REAL(nftw64), d, (vbf_nftw_fn)fn, fds, fl);
}
VBF_EXPORT int ftw(const char *d, vbf_ftw_fn fn, int fds) { return do_ftw(REAL(ftw), d, fn, fds); }
VBF_EXPORT int ftw64(const char *d, vbf_ftw64_fn fn, int fds)
{
	return do_ftw((int (*)(const char *, vbf_ftw_fn, int))REAL(ftw64), d, (vbf_ftw_fn)fn, fds);
}
#endif
