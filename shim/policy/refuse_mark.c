/* SPDX-License-Identifier: MIT */
/* After a share answered ENOENT: is the name a redirected FIFO or socket
 * (refuse_redirect.c finds one by its name), under the name as written or
 * the one the kernel's walk ends at, and which shares need that walk. The
 * walk costs the share what the failed call did (a compiler's include
 * search, git's probes of missing files in .git), so it is made only for a
 * process one of whose shares ever held a redirected object.
 * A mark for each directory above every redirected name lets a process
 * whose shares never held one skip it:
 *
 *   <owner subdirectory>/a<hash of the directory's share path>  -> "."
 *
 * Marks are made in the owner subdirectory that will hold the name before
 * the object (or the rename that gives it the name) is made, so a lookup
 * that begins after that call returned sees them; they are never removed,
 * and a mark left over only costs the walk every ENOENT paid before marks.
 * Every directory above the name gets one, so a process whose share root
 * is any of them finds it (VBOXFIX_PATHS may differ between processes).
 * Only a subdirectory's uid can add to it (refuse_redirect.c), and a mark
 * another user adds where the lookup trusts it costs walks, nothing more.
 * Objects made by a library without marks are found under the name they
 * were made under, as always, and through symlinks once made again
 * (docs/refusals.md). */
#include "refuse.h"
#include "real.h"

static int mark_name(const char *dir, const char *sp, size_t n, char out[VBF_REDIRECT_CAP])
{
	uint64_t h = n ? vbf_redirect_hash_n(VBF_FNV_INIT, sp, n) : vbf_redirect_hash("/");
	int r = snprintf(out, VBF_REDIRECT_CAP, "%s/a%016llx", dir, (unsigned long long)h);
	return r < 0 || r >= VBF_REDIRECT_CAP ? -1 : 0;
}

int vbf_redirect_mark(const char *dir, const struct vbf_where *w)
{
	char sp[VBF_PATH_CAP], m[VBF_REDIRECT_CAP];
	struct stat st;
	int saved = errno;
	const char *last = vbf_share_path(w, sp, sizeof sp) > 0 ? strrchr(sp, '/') : NULL;
	if (!last)
		return -1;
	/* made top down, so the parent's mark means all are there */
	size_t plen = (size_t)(last - sp);
	if (mark_name(dir, sp, plen, m) == 0 && vbf_redirect_lstat(m, &st) == 0) {
		errno = saved;
		return 0;
	}
	for (const char *s = sp;; s = strchr(s + 1, '/')) {
		if (mark_name(dir, sp, (size_t)(s - sp), m) != 0 || (REAL(symlink)(".", m) != 0 && errno != EEXIST))
			return -1;
		if (s == last)
			break;
	}
	errno = saved;
	return 0;
}

int vbf_redirect_marked(void)
{
	char dirs[8][VBF_REDIRECT_CAP], m[VBF_REDIRECT_CAP];
	struct stat st;
	int saved = errno, found = 0;
	int nd = vbf_redirect_dirs(dirs, 8);
	for (int i = 0; i < vbf_nshares && !found; i++) {
		const char *root = vbf_shares[i].root;
		size_t n = strcmp(root, "/") ? strlen(root) : 0;
		for (int j = 0; j < nd && !found; j++)
			found = mark_name(dirs[j], root, n, m) != 0 || vbf_redirect_lstat(m, &st) == 0;
	}
	errno = saved;
	return found;
}

int vbf_redirect_lookup_name(const struct vbf_where *w, int dirfd, const char *path, int follow,
			     char buf[VBF_REDIRECT_CAP])
{
	struct vbf_where r;
	if (vbf_redirect_lookup(w, buf) == 0)
		return 0;
	if (vbf_redirect_resolved(w, dirfd, path, follow, &r) < 0)
		return -1;
	return vbf_redirect_lookup(&r, buf);
}

int vbf_redirect_after_enoent(const struct vbf_where *w, int dirfd, const char *path, int follow,
			      char buf[VBF_REDIRECT_CAP], struct vbf_where *out)
{
	struct vbf_where own, *r = out ? out : &own;
	int saved = errno, res = -1;
	r->idx = -1;
	r->key = NULL;
	/* the walk costs the share what the failed call did: once, not once
	 * per question */
	int walked = -2;
	if (buf && (vbf_redirect_lookup(w, buf) == 0 ||
		    ((walked = vbf_redirect_resolved(w, dirfd, path, follow, r)) >= 0 &&
		     vbf_redirect_lookup(r, buf) == 0)))
		res = 0;
	else if (vbf_redirect_below(w) ||
		 ((walked == -2 ? vbf_redirect_resolved(w, dirfd, path, follow, r) : walked) >= 0 &&
		  vbf_redirect_below(r)))
		res = 1;
	errno = saved;
	return res;
}

int vbf_redirect_resolved(const struct vbf_where *w, int dirfd, const char *path, int follow, struct vbf_where *r)
{
	/* a symlink on the way (or at the end) may lead to one: the name the
	 * kernel's walk ends at, one more walk, only after an ENOENT, and only
	 * once something was redirected on one of this process's shares (a few
	 * local lstats: refuse_mark.c). Objects are made under that name
	 * (vbf_redirect_canon), so whether the share holds records does not
	 * matter here. */
	if (w->idx < 0 || vbf_name_canonical(path, follow) || !vbf_redirect_marked())
		return -1;
	return vbf_where_resolve(dirfd, path, follow, NULL, r);
}

const struct vbf_where *vbf_redirect_canon(const struct vbf_where *w, int dirfd, const char *path, int follow,
					   struct vbf_where *tmp)
{
	/* the share has nothing under a redirected object's name, so the walk
	 * ends at ENOENT and names the missing object by its directory as the
	 * kernel resolved it (one walk, only for a name that may pass a
	 * symlink) */
	int saved = errno, r = -1;
	if (w->idx >= 0 && path && *path && !vbf_name_canonical(path, follow))
		r = vbf_where_resolve(dirfd, path, follow, NULL, tmp);
	errno = saved;
	return r >= 0 && tmp->key ? tmp : w;
}

const struct vbf_where *vbf_redirect_found(const struct vbf_where *w, int dirfd, const char *path, int follow,
					   struct vbf_where *tmp)
{
	char obj[VBF_REDIRECT_CAP];
	if (vbf_redirect_lookup(w, obj) == 0)
		return w;
	int saved = errno;
	const struct vbf_where *r =
		vbf_redirect_resolved(w, dirfd, path, follow, tmp) >= 0 && vbf_redirect_lookup(tmp, obj) == 0 ? tmp : NULL;
	errno = saved;
	return r;
}

const char *vbf_redirected_where(const struct vbf_where *w, int r, int dirfd, const char *path, int flags,
				 char buf[VBF_REDIRECT_CAP])
{
	if (r >= 0 || errno != ENOENT || !path || !*path || !vbf_ready() || w->idx < 0)
		return NULL;
	int saved = errno;
	const char *res = NULL;
	int found = vbf_redirect_after_enoent(w, dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), buf, NULL);
	if (found == 0)
		res = buf;
	else if (found == 1)
		saved = ENOTDIR; /* a path through one */
	errno = saved;
	return res;
}

const char *vbf_redirected(int r, int dirfd, const char *path, int flags, char buf[VBF_REDIRECT_CAP])
{
	struct vbf_where w;
	if (r >= 0 || errno != ENOENT || !path || !*path || !vbf_ready())
		return NULL;
	int saved = errno;
	if (vbf_where_name(dirfd, path, &w) < 0) {
		errno = saved;
		return NULL;
	}
	errno = saved;
	return vbf_redirected_where(&w, r, dirfd, path, flags, buf);
}
