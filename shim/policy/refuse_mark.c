/* SPDX-License-Identifier: MIT */
/* Which shares ever held a redirected FIFO or socket. After an ENOENT of a
 * name that may pass a symlink, the library walks the name to learn whether
 * it leads to a redirected object (refuse_redirect.c,
 * vbf_redirect_resolved), and that walk costs the share what the failed call
 * did: a compiler's include search, git's probes of missing files in .git.
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
