/* SPDX-License-Identifier: MIT */
/* The search (x) permission of the directories a path passes, by their
 * presented modes, and the canonical place of an object a name reaches
 * through symlinks inside the share (docs/design.md, "One view, and the
 * owner rules on it" and "Symlinks"). From memory, except where a name may
 * not be its object's own on a share holding records: then the kernel's
 * own walk (an O_PATH open, or resolve.c after a missing name) and the
 * name /proc gives the object. */
#include "config.h"
#include "own_int.h"
#include "real.h"
#include "rules.h"

const struct vbf_cred *vbf_who_cred(struct vbf_who *me)
{
	if (!me->have) {
		vbf_cred_get(&me->c, 1);
		me->have = 1;
	}
	return &me->c;
}

/* EACCES when `want` (R_OK|W_OK|X_OK) is denied on (uid, gid, mode). Bits
 * every class has, and the owner's own bits for its owner, need no ids. */
int vbf_perm_denies(struct vbf_who *me, uid_t uid, gid_t gid, mode_t mode, int want)
{
	int m = (int)mode & 0777;
	if ((((m >> 6) & (m >> 3) & m) & want) == want)
		return 0;
	if (vbf_euid() == uid && ((m >> 6) & want) == want)
		return 0;
	return vbf_rule_access(vbf_who_cred(me), uid, gid, mode, want);
}

/* What memory says of `key` without a stat: 1 when a mode is recorded
 * (then v holds it and the owner), 0 when the real mode is presented (or
 * the owner cannot be known without one). */
int vbf_perm_view(int idx, const char *key, struct vbf_view *v)
{
	struct vbf_rec rec = {0};
	vbf_store_get(idx, key, NULL, &rec);
	if (rec.flags & VBF_REC_OWNER) {
		v->uid = rec.uid;
		v->gid = rec.gid;
		v->how = VBF_VIEW_RECORD;
	} else
		vbf_view_inherited(idx, key, NULL, v);
	v->mode = rec.mode & 07777;
	/* an owner no record gives may be VBOXFIX_MAP's of the real one, which
	 * needs a stat: then the kernel decides */
	if (v->how != VBF_VIEW_RECORD && v->how != VBF_VIEW_INHERITED && vbf_cfg.nmap)
		return 0;
	return (rec.flags & VBF_REC_MODE) != 0;
}

/* Where the kernel's walk of `path` starts, as a length of `key`: the
 * directories it searches are that one and those below it (-1: all, for
 * an absolute path or one climbing above where its key can tell). */
static int walk_start(const char *key, const char *path)
{
	if (!path || *path == '/')
		return -1;
	int comps = 0;
	for (const char *p = path; *p;) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		/* "." adds no level; ".." is counted as none (lenient) */
		if (n && !(n == 1 && p[0] == '.') && !(n == 2 && p[0] == '.' && p[1] == '.'))
			comps++;
		p = *e ? e + 1 : e;
	}
	size_t n = strlen(key);
	while (comps-- > 0) {
		const char *s = memrchr(key, '/', n);
		if (!s)
			return comps > 0 ? -1 : 0;
		n = (size_t)(s - key);
	}
	return (int)n;
}

#define VBF_ANC_MAX 32

/* Search (x) permission of every recorded directory below `from` (a length
 * of `key`, -1: all) on the way to `key`: 0 or EACCES. */
int vbf_perm_search_from(struct vbf_who *me, int idx, const char *key, int from)
{
	struct vbf_anc a[VBF_ANC_MAX];
	int n = vbf_store_ancestors(idx, key, a, VBF_ANC_MAX);
	if (n <= 0)
		return 0;
	struct vbf_view d;
	vbf_view_inherited(idx, "", NULL, &d);
	uid_t ou = d.uid;
	gid_t og = d.gid;
	int known = 0;
	for (int i = 0; i < n; i++) {
		if (a[i].rec.flags & VBF_REC_OWNER) {
			ou = a[i].rec.uid;
			og = a[i].rec.gid;
			known = 1;
		}
		/* without a recorded owner, VBOXFIX_MAP of the real one (which
		 * needs a stat) may be what is presented: the kernel decides */
		if (!(a[i].rec.flags & VBF_REC_MODE) || (a[i].type && a[i].type != S_IFDIR) || a[i].len < from ||
		    (!known && vbf_cfg.nmap))
			continue;
		if (vbf_perm_denies(me, ou, og, S_IFDIR | (a[i].rec.mode & 07777), X_OK))
			return EACCES;
	}
	return 0;
}

/* The search along the path as written (to `key`): 0 or EACCES. "." is
 * looked up in the directory itself (the working directory or a
 * descriptor's: a directory), which must be searchable too. */
int vbf_perm_search(struct vbf_who *me, int idx, const char *key, const char *path)
{
	struct vbf_view v;
	int err = vbf_perm_search_from(me, idx, key, walk_start(key, path));
	if (!err && path && !strcmp(path, ".") && vbf_perm_view(idx, key, &v) &&
	    vbf_perm_denies(me, v.uid, v.gid, S_IFDIR | v.mode, X_OK))
		err = EACCES;
	return err;
}

int vbf_may_search_slow(const struct vbf_where *w, const char *path)
{
	struct vbf_who me;
	me.have = 0; /* not zeroed whole: the ids are fetched when first needed */
	int err = w->key && path && *path ? vbf_perm_search(&me, w->idx, w->key, path) : 0;
	return err ? vbf_fail(err) : 0;
}


/* The search along the canonical name of a missing object: `canon` where
 * a walk found it, else found by the walk now (resolve.c). */
static int canon_missing_denied(const struct vbf_where *lex, const struct vbf_where *canon, int dirfd,
				const char *path, int follow)
{
	struct vbf_who me;
	struct vbf_where c;
	me.have = 0;
	if (!canon || canon->idx < 0 || !canon->key) {
		if (vbf_where_resolve(dirfd, path, follow, NULL, &c) < 0 || !c.key)
			return 0;
		canon = &c;
	}
	if (!strcmp(canon->key, lex->key) && canon->idx == lex->idx)
		return 0;
	return vbf_perm_search_from(&me, canon->idx, canon->key, vbf_perm_canon_start(lex->key, path, canon->key)) != 0;
}

/* `canon_too`: also along the canonical name (vbf_missing_searched_at) */
static int missing_searched(const struct vbf_where *lex, const struct vbf_where *canon, int dirfd,
			    const char *path, int follow, int canon_too)
{
	struct vbf_where w;
	int saved = errno;
	/* what the kernel would only have met below a directory it may not
	 * search: along the name as written, and along the canonical name
	 * where symlinks led elsewhere (only while a directory is closed) */
	if ((saved == ENOENT || saved == ENOTDIR || saved == ELOOP) && vbf_ready()) {
		if (!lex && vbf_where_name(dirfd, path, &w) >= 0)
			lex = &w;
		if (lex && lex->idx >= 0 && *path && vbf_may_search(lex, path))
			return 1;
		if (canon_too && lex && lex->idx >= 0 && lex->key && *path &&
		    (__atomic_load_n(&vbf_store_nclosed, __ATOMIC_RELAXED) || vbf_store_behind(lex->idx)) &&
		    ((canon && canon->key) || !vbf_name_canonical(path, follow)) &&
		    canon_missing_denied(lex, canon, dirfd, path, follow)) {
			errno = EACCES;
			return 1;
		}
	}
	errno = saved;
	return 0;
}

int vbf_missing_searched_at(const struct vbf_where *lex, const struct vbf_where *canon, int dirfd, const char *path,
			    int follow)
{
	return missing_searched(lex, canon, dirfd, path, follow, 1);
}

int vbf_missing_searched_where(const struct vbf_where *lex, int dirfd, const char *path)
{
	return missing_searched(lex, NULL, dirfd, path, 0, 0);
}

int vbf_missing_searched(int dirfd, const char *path) { return missing_searched(NULL, NULL, dirfd, path, 0, 0); }
/* May (dirfd, path) name an object whose canonical name is not `w`'s, so
 * that its record judges the call? Only where the share holds records and
 * the text does not show the canonical name (resolve.c): elsewhere nothing
 * more is asked. */
int vbf_perm_elsewhere(const struct vbf_where *w, const char *path, int follow)
{
	return !vbf_name_canonical(path, follow) && vbf_share_has_records(w->idx);
}

/* The canonical place of the object open as `fd` (the name /proc gives
 * it): 0, or -1 when it is not on a share or is `w` itself (w NULL: any). */
int vbf_perm_place_of_fd(int fd, const struct vbf_where *w, struct vbf_where *c)
{
	char abs[VBF_PATH_CAP];
	int saved = errno, r = -1;
	ssize_t n = vbf_fd_path(fd, abs, sizeof abs);
	if (n > 0 && abs[0] == '/' && vbf_where_name(AT_FDCWD, abs, c) >= 0 && c->key)
		r = w && c->idx == w->idx && !strcmp(c->key, w->key) ? -1 : 0;
	errno = saved;
	return r;
}

/* The same for the object (dirfd, path) names, found by the kernel's own
 * walk: an O_PATH open (the lookups the call makes too; nothing is opened
 * on the share). -1 also when it is missing (the call answers that). */
int vbf_perm_place_of(int dirfd, const char *path, int follow, const struct vbf_where *w, struct vbf_where *c)
{
	int saved = errno, r = -1, fd = REAL(openat)(dirfd, path, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	if (fd >= 0) {
		r = vbf_perm_place_of_fd(fd, w, c);
		REAL(close)(fd);
	}
	errno = saved;
	return r;
}

/* Where the kernel's walk of `path` (to `key`) started, carried over to
 * the canonical name `ckey` of the object it reached: a symlink's target
 * is walked from the symlink's directory, below that start unless it
 * climbs out; then it counts from the deepest directory both names share. */
int vbf_perm_canon_start(const char *key, const char *path, const char *ckey)
{
	int from = walk_start(key, path), i = 0, last = 0;
	if (from <= 0)
		return from;
	for (; i < from && key[i] == ckey[i]; i++)
		if (key[i] == '/')
			last = i;
	return i == from && (ckey[i] == '/' || !ckey[i]) ? from : last;
}

/* The object at its canonical place `c`, reached by `path` (place `w`):
 * the search along the directories the symlinks led through, then `want`
 * by its presented mode in memory. 0; EACCES; or -1 when memory denies
 * `want` (v then holds the view; a stat of the real object confirms). */
int vbf_perm_canon_denies(struct vbf_who *me, const struct vbf_where *w, const char *path, const struct vbf_where *c,
			int want, struct vbf_view *v)
{
	int err = vbf_perm_search_from(me, c->idx, c->key, vbf_perm_canon_start(w->key, path, c->key));
	if (err)
		return err;
	return want && vbf_perm_view(c->idx, c->key, v) && vbf_perm_denies(me, v->uid, v->gid, v->mode, want) ? -1 : 0;
}
