/* SPDX-License-Identifier: MIT */
/* Shared by own_perm.c (the checks before a call) and own_search.c (the
 * search along a path, and the canonical place of an object reached
 * through symlinks). Not for other modules: own.h is the interface. */
#ifndef VBF_OWN_INT_H
#define VBF_OWN_INT_H
#include "ids.h"
#include "own.h"
#include "rules.h"
#include "view.h"

/* The caller's identity, fetched (several system calls) only when a rule
 * cannot be decided from the mode bits and the cached euid alone. */
struct vbf_who {
	int have;
	struct vbf_cred c;
};
const struct vbf_cred *vbf_who_cred(struct vbf_who *me);
/* EACCES when `want` (R_OK|W_OK|X_OK) is denied on (uid, gid, mode). */
int vbf_perm_denies(struct vbf_who *me, uid_t uid, gid_t gid, mode_t mode, int want);
/* What memory says of `key` without a stat: 1 when a mode is recorded
 * (v then holds it and the owner). */
int vbf_perm_view(int idx, const char *key, struct vbf_view *v);

/* Search permission along the path as written (to `key`), or of the
 * recorded directories below `from` (a length of key; -1: all): 0 or
 * EACCES. */
int vbf_perm_search(struct vbf_who *me, int idx, const char *key, const char *path);
int vbf_perm_search_from(struct vbf_who *me, int idx, const char *key, int from);
/* May (path) name an object whose canonical name is not `w`'s? */
int vbf_perm_elsewhere(const struct vbf_where *w, const char *path, int follow);
/* The canonical place of the object open as `fd`, or that (dirfd, path)
 * names: 0, or -1 (not on a share, missing, or `w` itself; w NULL: any). */
int vbf_perm_place_of_fd(int fd, const struct vbf_where *w, struct vbf_where *c);
int vbf_perm_place_of(int dirfd, const char *path, int follow, const struct vbf_where *w, struct vbf_where *c);
/* Where the walk of `path` (to `key`) started, as a length of `ckey`. */
int vbf_perm_canon_start(const char *key, const char *path, const char *ckey);
/* The object at its canonical place `c`: 0, EACCES, or -1 when memory
 * denies `want` (v holds the view). */
int vbf_perm_canon_denies(struct vbf_who *me, const struct vbf_where *w, const char *path, const struct vbf_where *c,
			  int want, struct vbf_view *v);

#endif
