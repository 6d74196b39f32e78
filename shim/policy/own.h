/* SPDX-License-Identifier: MIT */
/* chown, chmod, access and creation on a share: the presented owner decides
 * who may do what (rules.h), the outcome is recorded (store.h), and the real
 * call is made only where it cannot hurt. Callers have already decided the
 * target is probably on a share (vbf_where_name, or a marked fd); each op
 * stats it first and, if it is not on a share after all, does exactly the
 * plain call.
 *
 * A target is (dirfd, path, flags) as for the *at calls; a descriptor is
 * (fd, "", AT_EMPTY_PATH). Every op returns the call's result with errno
 * set as the program should see it. */
#ifndef VBF_OWN_H
#define VBF_OWN_H

#include "sys.h"
#include "shares.h"
#include "store.h"

/* `lex` is the name as the wrapper classified it (vbf_where_name): the ops
 * classify it no more; NULL where no one has (they do, when they must).
 * The object itself is found by one stat made as the kernel's walk
 * (vbf_stat_where), which gives its canonical key. */
int vbf_op_chown_where(const struct vbf_where *lex, int dirfd, const char *path, uid_t uid, gid_t gid, int flags);
int vbf_op_chmod_where(const struct vbf_where *lex, int dirfd, const char *path, mode_t mode, int flags);
int vbf_op_chown(int dirfd, const char *path, uid_t uid, gid_t gid, int flags);
int vbf_op_chmod(int dirfd, const char *path, mode_t mode, int flags);

/* `real_rc`/`real_errno` are what the real access check answered (it always
 * runs first: we never say yes where the kernel says no). AT_EACCESS in
 * flags selects the effective ids. `lex` as above, never NULL. */
int vbf_op_access(const struct vbf_where *lex, int dirfd, const char *path, int mode, int flags, int real_rc,
		  int real_errno);

/* An owner's right (explicit file times, setting an ACL) on (dirfd, path)
 * was refused with EPERM because the kernel checks the mount's real owner.
 * Returns 1 when the target is on a share and presented as the caller's own,
 * so that a normal filesystem would have allowed it; the caller then answers
 * as the share would if it simply did not keep that metadata. Counted, and
 * logged once per process as `what`. */
int vbf_op_owner_refused(int dirfd, const char *path, int flags, const char *what);

/* A create on a share returned `fd` (or, for mkdir, 0 with fd = -1): record
 * `mode & ~umask` when the share did not give the object that mode, and the
 * creator (euid, egid or a setgid directory's group) when that is not the
 * owner the object inherits (view.h). */
void vbf_op_created(int dirfd, const char *path, int fd, mode_t mode);
/* openat(dirfd, path, flags, mode) of share name `w`, as the wrapper
 * classified it (open.c): becomes the name /proc gives the descriptor
 * where a symlink may be on the way (vbf_cache_write_rename). */
int vbf_op_open(struct vbf_where *w, int dirfd, const char *path, int flags, mode_t mode);
/* fopen of share name `w` by libc's `fn` (fopen, fopen64), fixed up after
 * the call: libc opens out of our reach (open.c) */
FILE *vbf_op_fopen(const struct vbf_where *w, FILE *(*fn)(const char *, const char *), const char *path,
		   const char *mode);
/* opendir of share name `w` (open.c): judged as an open for reading,
 * and through a symlink by the directory it leads to (vbf_may_opened) */
DIR *vbf_op_opendir(const struct vbf_where *w, const char *path);
/* mkdirat(dirfd, path, mode) of share name `w` (open.c) */
int vbf_op_mkdir(const struct vbf_where *w, int dirfd, const char *path, mode_t mode);

/* An existing object (lexically `w`) was opened for writing as `fd`, or a
 * new one created for writing: a caller without CAP_FSETID clears its
 * recorded S_ISUID/S_ISGID, as the kernel does at the first write, a
 * truncate or an O_TRUNC open (write(2) itself is not interposed, so the
 * open stands for the write). Only a lookup in memory unless such bits are
 * recorded. */
struct vbf_where;
void vbf_op_write_open(const struct vbf_where *w, int fd);

/* ---- the presented owner and mode, enforced before a call (own_perm.c) ----
 * Each answers 0 (go on with the real call: the kernel has its say too) or
 * -1 with errno EACCES or EPERM, as a local disk would refuse the call by
 * the presented owners and modes. `w` is the lexical place of (dirfd,
 * path) (vbf_where_name). Decided in memory; only a denial costs a stat. */
/* Search permission of the directories the path passes. */
int vbf_may_search_slow(const struct vbf_where *w, const char *path);
static inline int vbf_may_search(const struct vbf_where *w, const char *path)
{
	/* the count may be behind records another process just made */
	return __atomic_load_n(&vbf_store_nclosed, __ATOMIC_RELAXED) || (w->idx >= 0 && vbf_store_behind(w->idx))
		       ? vbf_may_search_slow(w, path)
		       : 0;
}
/* open(flags): search, read/write permission of an existing object (write
 * for O_TRUNC), write permission of the directory for a new one. */
int vbf_may_open(const struct vbf_where *w, int dirfd, const char *path, int flags);
/* After an open of (path) as `fd` that created nothing: the object's
 * record where the name is not its canonical one (a symlink, a symlinked
 * directory), which vbf_may_open could not see without a look; O_TRUNC is
 * judged before, by vbf_may_open. 0, or the errno (EACCES) to answer
 * after closing `fd` (close or closedir: the caller's). No system call
 * unless the share holds records and the name's text does not show its
 * canonical form (one readlink of /proc then). */
int vbf_may_opened(const struct vbf_where *w, const char *path, int flags, int fd);
/* Should an O_TRUNC open for writing of (path) be made without O_TRUNC,
 * judged by vbf_may_opened, and then truncated (ftruncate)? Where the
 * name may not be its object's own (as for vbf_may_opened): request for
 * request what the O_TRUNC open costs, where a look before it would cost
 * the lookups again. */
int vbf_open_trunc_after(const struct vbf_where *w, const char *path, int flags);
/* mkdir, mknod, symlink: write permission of the directory. */
int vbf_may_create(const struct vbf_where *w, int dirfd, const char *path);
/* unlink, rmdir: write permission of the directory, and the sticky rule. */
int vbf_may_delete(const struct vbf_where *w, int dirfd, const char *path);
/* rename: the same for both names (the target may be missing). */
int vbf_may_rename(const struct vbf_where *wa, int fa, const char *a, const struct vbf_where *wb, int fb,
		   const char *b);
/* link (an emulated one included): search, write permission of the new
 * name's directory, and fs.protected_hardlinks on the presented owner. */
int vbf_may_link(const struct vbf_where *wa, int fa, const char *a, const struct vbf_where *wb, int fb, const char *b,
		 int flags);
/* A call by name failed with ENOENT (errno): 1 with errno EACCES when a
 * directory on the way may not be searched, as a local disk says first. */
int vbf_missing_searched(int dirfd, const char *path);
/* the same for a name the wrapper classified (`lex`, vbf_where_name; NULL:
 * classify it here) */
int vbf_missing_searched_where(const struct vbf_where *lex, int dirfd, const char *path);
/* the same, with `canon` the canonical place of the missing name where a
 * walk found it (resolve.c; NULL: walked here, only while a directory is
 * recorded closed and the name's text is not canonical), `follow` as the
 * call follows a last symlink */
int vbf_missing_searched_at(const struct vbf_where *lex, const struct vbf_where *canon, int dirfd, const char *path,
			    int follow);
/* utimensat and friends by name: explicit times `t` are the owner's,
 * "now" (t NULL, or all UTIME_NOW/UTIME_OMIT) the owner's or a writer's. */
int vbf_may_times(int dirfd, const char *path, int flags, const struct timespec *t);
/* A write-like change by name (truncate) succeeded: clear S_ISUID/S_ISGID
 * as vbf_op_write_open does. */
void vbf_op_write_path(int dirfd, const char *path);

/* A rename on share idx keeps the owner an object shows: before it, 1 and
 * `was` when that owner is only inherited (from a recorded ancestor or
 * VBOXFIX_OWNER), so that the new place could show another; after it,
 * vbf_op_renamed records it at the new name (dirfd, path) where that place
 * would show another. Renames within one directory record nothing. */
struct vbf_view;
int vbf_op_rename_owner(int idx, const char *key, struct vbf_view *was);
void vbf_op_renamed(int idx, const char *key, int dirfd, const char *path, const struct vbf_view *was);

/* The process umask, without changing it (read once, then tracked). */
mode_t vbf_umask_get(void);
void vbf_umask_set(mode_t m);

/* For tests: forget what accepted chowns taught about the shares (own.c:
 * a share that accepts and ignores them is sent no more). */
void vbf_op_chown_forget(void);

/* Is `err` how a share says "I do not do ownership/modes"? */
int vbf_is_refusal(int err);

#endif
