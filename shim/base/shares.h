/* SPDX-License-Identifier: MIT */
/* Which trees are shares, and where a path or descriptor lies.
 *
 * Shares are every vboxsf mount (from /proc/self/mountinfo) plus the trees in
 * VBOXFIX_PATHS. A share that is a mount point is recognised by the device
 * number of a stat result, which is free (no extra system call) and right for
 * relative, dirfd-relative, symlinked and fd-based access alike. Other mounts
 * of the same filesystem below it (bind mounts) are aliases of it. A share
 * that is only a subtree of a filesystem is recognised by its path.
 */
#ifndef VBF_SHARES_H
#define VBF_SHARES_H

#include "config.h"
#include "path.h"
#include "callmem.h"

struct vbf_share {
	/* what every call reads first, together at the front */
	dev_t dev;
	size_t len;
	int whole_fs;         /* root is a mount point: its dev identifies it */
	int store;            /* index of the share whose records it uses */
	char root[PATH_MAX];  /* canonical mount point or subtree root */
	char prefix[PATH_MAX];/* key of `root` inside that share ("" for itself) */
	char fstype[32];
};

extern struct vbf_share vbf_shares[VBF_MAX_SHARES];
extern int vbf_nshares;

/* Fill the table from the config and mountinfo. Called once at start-up. */
void vbf_shares_init(const struct vbf_config *c);

/* At VBOXFIX_LOG=info, once per process, when a share is first used (not
 * at start: a process that never touches a share stays silent): version,
 * shares, the state file in use and its records, the owner setting. Here,
 * not in log.c: the log is what the shares and the settings stand on. */
void vbf_shares_log_start(const char *state, const char *key_prefix, unsigned long records);

/* Parse /proc/self/mountinfo text, calling `fn` for each mount with its
 * mount point (unescaped), root within the fs, fs type and dev. Bounded and
 * safe on any input; returns the number of mounts reported. */
int vbf_mountinfo_parse(const char *text, void (*fn)(void *arg, const char *mnt, const char *root,
						     const char *fstype, dev_t dev),
			void *arg);

/* Is `dev` the device of a share? Cheap: called after every stat. */
static inline int vbf_share_dev(dev_t dev)
{
	for (int i = 0; i < vbf_nshares; i++)
		if (vbf_shares[i].dev == dev)
			return 1;
	return 0;
}

/* Does the absolute path `p` start with a share root? A quick test for the
 * cache, which keeps only names spelled below a root; "/a/../share/x" says
 * no here and is simply not cached (the stat result's device still decides
 * what is presented). */
static inline int vbf_abs_maybe_share(const char *p)
{
	for (int i = 0; i < vbf_nshares; i++) {
		const struct vbf_share *s = &vbf_shares[i];
		if (s->len == 1 || (p[1] == s->root[1] && !strncmp(p, s->root, s->len) &&
				    (p[s->len] == '/' || p[s->len] == 0)))
			return 1;
	}
	return 0;
}

/* A place on a share: the share whose records apply and the key there. */
struct vbf_where {
	int idx;           /* store index, -1 when not on a share */
	const char *key;   /* into buf */
	char buf[VBF_PATH_CAP];
};

/* Lexical classification of (dirfd, path) before a call: no system call for
 * absolute paths or fds not known to be on a share; the working directory
 * is fetched once after each chdir. Returns idx or -1. */
int vbf_where_name(int dirfd, const char *path, struct vbf_where *w);

/* Classifications this thread made (vbf_where_name, vbf_where_stat, the
 * walk of vbf_stat_where): a
 * wrapper classifies its names once and hands the result down, and the
 * unit tests hold every op to it by counting (tests/unit/test_once.c). */
extern VBF_TLS unsigned long vbf_where_count;

/* Classification after a successful stat: `st` is the real result for
 * (dirfd, path) or, when path is NULL or empty, for the descriptor dirfd.
 * System calls happen only when st->st_dev is a share's. The key is the
 * object's canonical name: symlinks in the path (and at its end when
 * `follow`) resolved. Where the name itself shows that (a descriptor, a
 * last component not followed) that costs nothing; else the kernel walks
 * the name once more (vbf_where_resolve). Stat wrappers avoid that walk
 * with vbf_stat_where. */
int vbf_where_stat(int dirfd, const char *path, int follow, const struct stat *st, struct vbf_where *w);
/* The same by the name's text alone (as vbf_where_name, with st's device
 * deciding; realpath only for a name not under any root): for names known
 * to be canonical, such as a cache entry's (cache.h keeps only those). */
int vbf_where_lexical(int dirfd, const char *path, int follow, const struct stat *st, struct vbf_where *w);

/* ---- names resolved by the kernel (resolve.c) ----
 *
 * Records and cache entries are keyed by an object's canonical name on its
 * share. The kernel resolves every symlink of a path while it walks it;
 * these make that walk themselves (the parent opened O_PATH, the last
 * component looked up without following, a symlink there read and walked
 * on) and read the names of what they reached from /proc/self/fd: the same
 * lookups and readlinks a stat makes, so no request to the share beyond
 * the stat's own (docs/design.md, "Symlinks"). */

/* stat/statx of (dirfd, path) as fstatat/statx with `flags` would answer
 * (result, errno, buffer), and `w` names what it found: the object's
 * canonical key, or for a missing name (ENOENT) the key it would have
 * (w->idx -1 when not on a share or unknown). *same (may be NULL): the
 * key is the name's own lexical key, so a cache entry under that name is
 * told of every change to the object. Outside shares it costs a few
 * system calls: callers use it for names already classified on a share. */
int vbf_stat_where(int dirfd, const char *path, int flags, struct stat *st, struct vbf_where *w, int *same);
int vbf_statx_where(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx, struct vbf_where *w,
		    int *same);
/* Before a stat-family call: is (dirfd, path) worth vbf_stat_where? Its
 * text is readable without a probe (shares.h), it is lexically on a share
 * or relative to a descriptor opened on one, and the name does not show
 * its canonical form by itself. No system call. */
int vbf_stat_resolvable(int dirfd, const char *path, int follow);
/* The key of the object (dirfd, path, follow) names, by one more walk;
 * `st` (may be NULL) is what a stat of it found, and must be what the walk
 * finds. -1 when unknown; a missing name gets the key it would have. */
int vbf_where_resolve(int dirfd, const char *path, int follow, const struct stat *st, struct vbf_where *w);

/* The key of (dirfd, path) with its last component not followed, whether
 * or not it exists (before a create, after a removal or rename): the
 * symlinks of its directories resolved by one walk. -1 when unknown. For
 * names the store keeps records under (a rename, a link's new name). */
int vbf_where_nofollow(int dirfd, const char *path, struct vbf_where *w);

/* Does the text of (dirfd, path) show the object's canonical name by
 * itself: a descriptor (NULL or empty path), or one last component not
 * followed, below a directory the kernel names? */
int vbf_name_canonical(const char *path, int follow);

/* Does the share (store index) hold any record? With none, every name of
 * an object shows the same, and finding its canonical one can wait. */
int vbf_share_has_records(int idx);

/* An open of (dirfd, path), lexically `w`, for writing returned `fd` with
 * the cache's write token `tok` (cache.h) taken under w's name. Where the
 * text may not be the object's own name (a symlink on the way), `w`
 * becomes the name /proc gives the descriptor, and the token is taken
 * again under it: a write through a symlink keeps the target's cache entry
 * from being served. One readlink, no request. Returns the token. */
int vbf_cache_write_rename(int tok, int fd, const char *path, struct vbf_where *w);

/* for resolve.c: the part of the absolute `abs` below a share's root or
 * the working directory (names the kernel gave), or NULL; where_text is
 * vbf_where_lexical without the realpath for a name under no root (-2) */
const char *vbf_after_root(const char *abs);
int vbf_where_text(int dirfd, const char *path, const struct stat *st, struct vbf_where *w, int *whole);
/* for resolve.c: `path` joined to the directory dirfd names (the working
 * directory, or /proc's name for a descriptor); match w->buf to a share */
int vbf_join_dir(int dirfd, const char *path, char *out, size_t cap);
int vbf_where_match(struct vbf_where *w, int have_dev, dev_t dev);

/* After fork in the child: free the locks other threads held. */
void vbf_shares_atfork_child(void);
void vbf_shares_atfork_prepare(void);
void vbf_shares_atfork_parent(void);

/* The working directory changed (chdir, fchdir): fetch it again when next needed. */
void vbf_cwd_changed(void);

/* The absolute path of share name `w` (its root and key) in `out`: its
 * length, or -1 when it does not fit or `w` is not on a share. */
int vbf_share_path(const struct vbf_where *w, char *out, size_t cap);

#endif
