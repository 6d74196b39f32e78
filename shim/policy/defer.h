/* SPDX-License-Identifier: MIT */
/* An unlink of a file this process holds open, on a share whose host
 * refuses it (a Windows host: ETXTBSY, a sharing violation): the name goes
 * away at once, the file itself at the last close here (docs/refusals.md).
 *
 * The name is renamed to a hidden one in the same directory
 * (.vbf-deleted.<pid>.<n>, not listed by readdir), or, when the host
 * refuses that rename too, kept and answered ENOENT in this process (stat,
 * open, access, unlink, rename, readdir). The descriptors on the file carry
 * VBF_FD_DEFER in the fd table: close, fclose, closedir and dup2/dup3 over
 * them check that one bit and do the rest only when it is set. */
#ifndef VBF_DEFER_H
#define VBF_DEFER_H

#include "fdtab.h"
#include "shares.h"

#define VBF_DEFER_PREFIX ".vbf-deleted."

/* unlink of (dirfd, path) on share `w` answered the busy error `err`. When
 * this process holds the regular file open on marked descriptors: hide the
 * name, remember the descriptors, return 0 (errno untouched). Else -1 with
 * errno = err. */
int vbf_defer_unlink(const struct vbf_where *w, int dirfd, const char *path, int err);

/* Names kept because the rename was refused: how many, and is (idx, key)
 * one of them. Cheap (one load) while there are none. */
extern int vbf_defer_nkept;
int vbf_defer_kept_slow(int idx, const char *key);
static inline int vbf_defer_kept(int idx, const char *key)
{
	return unlikely(__atomic_load_n(&vbf_defer_nkept, __ATOMIC_RELAXED)) && idx >= 0 && key &&
	       vbf_defer_kept_slow(idx, key);
}
/* readdir: is `name` in the directory open as `dfd` a kept name? */
int vbf_defer_listed(int dfd, const char *name);
/* A hidden name, and: is the directory open as `dfd` on a share (where
 * such names are hidden)? Keeps errno. */
int vbf_defer_name(const char *name);
int vbf_defer_dir_on_share(int dfd);

/* After the real close of `fd`, whose table bits were `bits` (with
 * VBF_FD_DEFER): the last close of a deferred file unlinks it. Keeps errno.
 * In another process (a fork or vfork child) it only puts the bits back. */
void vbf_defer_closed(int fd, unsigned char bits);
/* After dup/dup2/dup3/F_DUPFD made `to` a copy of `from`; `old` were the
 * bits of `to` before (dup2 over a deferred fd closes it). */
void vbf_defer_copied(int from, int to, unsigned char old);

/* At exit: close the descriptors still open on deferred files and try
 * once to unlink them. */
void vbf_defer_exit(void);

/* fork (shim/wrap/vbf.c): the table's lock is held across it like the other
 * library locks, so a child never starts with it taken by a thread that
 * does not exist there; the child resets it. */
void vbf_defer_atfork_prepare(void);
void vbf_defer_atfork_parent(void);
void vbf_defer_atfork_child(void);

#endif
