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

/* ---- caller memory the library touches before the real call ----
 *
 * The kernel answers EFAULT for a path or buffer it cannot reach; the
 * library must not fault on the same pointer where it looks first (to
 * classify a name, to answer a stat from the cache). One cheap system call
 * checks a page, and the answer is remembered per thread (32 pages), so a
 * program that passes its paths and buffers from the same few pages pays
 * it once (32 pages). A page unmapped after it was checked is the one case still
 * touched unchecked. */

/* `s` is a NUL-terminated string shorter than VBF_PATH_CAP, every byte of it
 * readable. `probe`: a page not yet known costs one system call (else 0). */
int vbf_str_ok(const char *s, int probe);
/* The `n` (>= 8) bytes at `p` are writable. `probe`: a page not yet known
 * costs one system call, which writes 8 bytes inside the buffer (else 0). */
int vbf_buf_ok(void *p, size_t n, int probe);
/* After a real call that succeeded: the kernel read `s` (NULL: none) and
 * wrote the `n` bytes at `buf`, so their pages are known good without a
 * probe. Outside shares nothing calls this: no probe is ever paid there. */
void vbf_mem_learn(const char *s, void *buf, size_t n);

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

/* Classification after a successful stat: `st` is the real result for
 * (dirfd, path) or, when path is NULL or empty, for the descriptor dirfd.
 * System calls happen only when st->st_dev is a share's. */
int vbf_where_stat(int dirfd, const char *path, int follow, const struct stat *st, struct vbf_where *w);

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
