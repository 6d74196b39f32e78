/* SPDX-License-Identifier: MIT */
/* What a share refuses that a local filesystem does, and what we do instead
 * (docs/refusals.md):
 *
 *   retry     busy names on Windows hosts (ETXTBSY/EBUSY), with a bounded
 *             exponential backoff, only for calls that cannot have partly
 *             happened (rename, unlink, rmdir, opens for writing)
 *   emulate   O_DIRECT (dropped), hard links (a copy, not a shared inode),
 *             RENAME_NOREPLACE (check, then rename), directory fsync (0),
 *             a directory renamed onto an existing empty one
 *   redirect  FIFOs, AF_UNIX sockets and root's device nodes live in a
 *             local directory under a name derived from the share path, so
 *             every process finds them; any uid may remove or rename them
 *
 * Every op here is called by a wrapper that already knows the call is on a
 * share (vbf_where_name) or that the share refused it; outside shares the
 * wrappers make exactly the plain call. Nothing here turns a real error
 * (ENOSPC, EACCES, a missing parent) into success.
 */
#ifndef VBF_REFUSE_H
#define VBF_REFUSE_H

#include "shares.h"
#include "store.h"
#include "retry.h"

/* ---- opens, fcntl, fsync ---- */

typedef int (*vbf_open_call)(void *ctx, int dirfd, const char *path, int flags, mode_t mode);

/* An open on the share `w` names: the store's own files are ENOENT, a
 * redirected FIFO/socket is opened where it lives, O_DIRECT refused with
 * EINVAL is dropped, a busy open for writing is retried. `call` makes the
 * program's open with the given flags. `walked` (NULL: not wanted): after
 * an ENOENT, the name the kernel's walk ended at, as
 * vbf_redirect_after_enoent gives it. */
int vbf_refuse_open(const struct vbf_where *w, int dirfd, const char *path, int flags, mode_t mode,
		    vbf_open_call call, void *ctx,
		    struct vbf_where *walked);

/* fcntl(fd, F_SETFL, flags) with O_DIRECT: `fn` is the real fcntl. */
int vbf_refuse_setfl(int (*fn)(int, int, ...), int fd, int flags);

/* fsync/fdatasync answered -1/EINVAL: 0 for a directory on a share, else
 * -1/EINVAL. `saved` is errno from before the call. */
int vbf_refuse_dirsync(int fd, int saved);

/* ---- names ---- */

/* The *at call with these arguments, made on a share: retried when busy,
 * emulated when refused, and the store told what moved or went away. `wa`,
 * `wb`, `w` are the names as the wrapper classified them (vbf_where_name,
 * once per call), either of two may be the one on the share; the ops
 * classify no name again. A name on no share is the wrapper's to call
 * plainly, as the program made it (outside shares the same system calls).
 * rename is renameat (renameat2 with flags), unlink and rmdir unlinkat;
 * remove is unlinkat, then with AT_REMOVEDIR for a directory (EISDIR, or
 * EPERM as POSIX lets unlink answer), as libc's. */
int vbf_op_rename(const struct vbf_where *wa, int fa, const char *a, const struct vbf_where *wb, int fb,
		  const char *b, unsigned int flags);
int vbf_op_unlink(const struct vbf_where *w, int dirfd, const char *path, int flags);
int vbf_op_remove(const struct vbf_where *w, const char *path);
int vbf_op_link(const struct vbf_where *wa, int fa, const char *a, const struct vbf_where *wb, int fb, const char *b,
		int flags);

/* The name the store keeps the records of (dirfd, path), lexically `w`,
 * under: where the share holds records and a symlink may lie on the way,
 * the name the kernel's walk ends at (the last component not followed), in
 * `tmp`; else `w`. */
const struct vbf_where *vbf_where_record(const struct vbf_where *w, int dirfd, const char *path, struct vbf_where *tmp);
/* After the call: `k`, what vbf_where_record gave for `w`, changed (the
 * cache of every process drops it; the wrapper told it of `w`). */
void vbf_where_record_changed(const struct vbf_where *k, const struct vbf_where *w);

/* Classify both names of a two-name call (each once): is either on a share? */
static inline int vbf_where_two(int fa, const char *a, struct vbf_where *wa, int fb, const char *b,
				struct vbf_where *wb)
{
	int ia = vbf_where_name(fa, a, wa), ib = vbf_where_name(fb, b, wb);
	return ia >= 0 || ib >= 0;
}

/* mknod/mkfifo answered EPERM on a share: a FIFO, a socket or (made by
 * root) a character or block device `dev` is made in the local directory,
 * a regular file with an exclusive create; a device made by anyone else
 * stays EPERM. */
int vbf_refuse_mknod(int dirfd, const char *path, mode_t mode, dev_t dev);

/* ---- redirected FIFOs, sockets and device nodes ---- */

/* Room for a local name: it must fit sockaddr_un.sun_path. */
#define VBF_REDIRECT_CAP 108

/* The stable local name of share path `share_path` (canonical, absolute) for
 * objects made by `uid`: BASE/u<uid>/<16 hex digits of a 64-bit FNV-1a hash>.
 * Returns the length, or -1 when it does not fit `cap`. */
int vbf_redirect_name(const char *base, unsigned int uid, const char *share_path, char *out, size_t cap);
uint64_t vbf_redirect_hash(const char *s);

/* The call on (dirfd, path) answered `r`: when that is -1/ENOENT for a
 * share path whose FIFO/socket was redirected, return where it lives (in
 * `buf`), else NULL. `flags` may hold AT_EMPTY_PATH (then never). Keeps
 * errno, except that a path through a redirected object (fifo/x) is
 * ENOTDIR. */
const char *vbf_redirected(int r, int dirfd, const char *path, int flags, char buf[VBF_REDIRECT_CAP]);
/* the same for a name classified already (`w`, vbf_where_name) */
const char *vbf_redirected_where(const struct vbf_where *w, int r, int dirfd, const char *path, int flags,
				 char buf[VBF_REDIRECT_CAP]);
/* vbf_redirect_lookup for (dirfd, path), lexically `w`: where that finds
 * nothing and symlinks may lie on the way, the name the kernel's walk ends
 * at (shares.h, vbf_where_resolve). */
int vbf_redirect_lookup_name(const struct vbf_where *w, int dirfd, const char *path, int follow,
			     char buf[VBF_REDIRECT_CAP]);
/* That name the kernel's walk ends at, into `r`: its share index, or -1
 * (no symlink may lie on the way, or nothing was ever redirected on this
 * process's shares: refuse_mark.c). */
int vbf_redirect_resolved(const struct vbf_where *w, int dirfd, const char *path, int follow, struct vbf_where *r);
/* After an ENOENT of (dirfd, path), lexically `w`: 0 when a redirected
 * object is that name (vbf_redirect_lookup_name, its local name in `buf`);
 * 1 when a directory on its way is one, of the name as written or of the
 * name its symlinks lead to (b -> fifo/x: the kernel's ENOTDIR); else -1.
 * `buf` NULL: only the second question. The kernel's walk is made once
 * for both; `walked` (NULL: not wanted) gets the name it ended at, idx -1
 * when none was made, so a later question about the same missing name
 * needs no walk of its own. Keeps errno. */
int vbf_redirect_after_enoent(const struct vbf_where *w, int dirfd, const char *path, int follow,
			      char buf[VBF_REDIRECT_CAP], struct vbf_where *walked);
/* The name objects made or found at (dirfd, path), lexically `w`, are
 * kept under: where symlinks may lie on the way (and at the end when
 * `follow`), the name the kernel's walk ends at, in `tmp`; else `w`. Every
 * name of a directory then leads to the objects in it (e -> d, e/a is
 * d/a). One walk for a name of more than one component; keeps errno. */
const struct vbf_where *vbf_redirect_canon(const struct vbf_where *w, int dirfd, const char *path, int follow,
					   struct vbf_where *tmp);
/* The name a redirected object is found under for (dirfd, path),
 * lexically `w`: `w`, or the name the kernel's walk ends at (in `tmp`,
 * vbf_redirect_resolved); NULL when neither leads to one. Keeps errno. */
const struct vbf_where *vbf_redirect_found(const struct vbf_where *w, int dirfd, const char *path, int follow,
					   struct vbf_where *tmp);

/* Create side, for bind: the local name for share path (dirfd, path), its
 * directory made and checked. 0, or -1 with errno as the refused call
 * should answer (the name exists: EEXIST; parent errors as they are). */
int vbf_redirect_prepare(const struct vbf_where *w, int dirfd, const char *path, char buf[VBF_REDIRECT_CAP]);

/* bind() answered EPERM / connect() answered ENOENT on an AF_UNIX path:
 * use the redirected name when the path is on a share. Else -1 with the
 * original errno. */
int vbf_refuse_bind(int fd, const struct sockaddr *sa, socklen_t len, int err);
int vbf_refuse_connect(int fd, const struct sockaddr *sa, socklen_t len, int err);

/* ---- a share name held by one (refuse_held.c) ---- */

/* The call on share name (dirfd, path) answered `r`: when that is -1/ENOENT,
 * errno becomes `self_err` (when not 0) if the name itself is a redirected
 * object, or ENOTDIR if a directory in its path is one, as a local
 * filesystem answers; the name as written, else the one symlinks on the way
 * lead to (vbf_redirect_resolved; following the last one changes nothing
 * for a call that does not: an ENOENT then means the last name is missing).
 * Returns r. */
int vbf_redirect_enoent(int r, int dirfd, const char *path, int self_err);
/* the same for a name classified already (`w`, vbf_where_name) */
int vbf_redirect_enoent_where(const struct vbf_where *w, int r, int dirfd, const char *path, int self_err);
/* Is a directory in the path of share name `w` a redirected object? Keeps
 * errno. */
int vbf_redirect_below(const struct vbf_where *w);
/* Before a create (mkdir, symlink, a link's new name): 1 with errno EEXIST
 * when `w`, the name as classified, or the name the kernel's walk of
 * (dirfd, path) ends at (path NULL: only `w`), is a share name a
 * redirected object holds, else 0. */
int vbf_redirect_taken(const struct vbf_where *w, int dirfd, const char *path);
/* link() of share name `wa` (fa, a; its last symlink followed when
 * `follow`), which a redirected object holds, to share name `wb` (fb, b):
 * a hard link in the run directory, so both names lead to one object. Both
 * names as the kernel's walk ends at them (vbf_redirect_found, _canon). 0,
 * or -1 with errno (ENOENT: `wa` holds none). */
int vbf_redirect_link(const struct vbf_where *wa, int fa, const char *a, int follow, const struct vbf_where *wb, int fb,
		      const char *b);
/* Share directory `wa` was renamed to `wb`: the redirected objects listed
 * in it (at most 256) move with it. Objects in its subdirectories stay
 * under their old names (docs/refusals.md). Keeps errno. */
void vbf_redirect_dir_moved(const struct vbf_where *wa, const struct vbf_where *wb);
/* Does share directory `w` hold redirected objects (rmdir: ENOTEMPTY)? Keeps
 * errno. */
int vbf_redirect_dir_holds(const struct vbf_where *w);

/* ---- listing them: a reverse index by share directory ---- */

/* The local names are hashes, which no listing can turn back into names:
 * each object also gets an index entry, kept by the calls that create,
 * unlink and rename it, in its creator's subdirectory:
 *
 *   BASE/u<uid>/l<hash of the share directory>/<name> -> ../<hash>
 *
 * An entry only proposes a name; a listing shows it when the object it
 * names exists (the same lookup as stat), so a stale entry costs nothing
 * but a failed lstat. */

/* The index entry for the object `local` (BASE/u<uid>/<hash>) of share path
 * `sp`: its length, or -1 when it does not fit; *dirlen is the length of its
 * directory part. Pure. */
int vbf_redirect_index_name(const char *local, const char *sp, char *out, size_t cap, size_t *dirlen);

/* Add (add=1) or drop the index entry of `local`, the object of share path
 * `w`. Best effort: a missing entry only hides the object from listings.
 * Keeps errno. */
void vbf_redirect_index(const char *local, const struct vbf_where *w, int add);

/* Where a listing of one directory stands: the hashes of the directory's
 * share path (`dh`) and of that path followed by "/" (`ph`, continued with
 * a name it is the name's object hash), the ordinal of the owner
 * subdirectory being read and the offset in its index directory. */
struct vbf_list_pos {
	uint64_t dh, ph;
	int64_t off;
	int ui;
};

/* The hashes of directory share path `dsp`. Pure. */
void vbf_redirect_dir_hashes(const char *dsp, uint64_t *dh, uint64_t *ph);

/* The real stream of directory descriptor `fd` ended: 0 and `pos` at the
 * start of its redirected objects, or -1 (no redirect directory, not a
 * share directory). One lstat when nothing was ever redirected. Keeps errno. */
int vbf_redirect_list_begin(int fd, struct vbf_list_pos *pos);

/* The next redirected object of the directory, skipping names the real
 * directory `fd` has: 1 with name, DT_FIFO/DT_SOCK/DT_CHR/DT_BLK and inode,
 * 0 at the end.
 * Keeps errno. */
int vbf_redirect_list_next(int fd, struct vbf_list_pos *pos, char name[NAME_MAX + 1], unsigned char *type,
			   uint64_t *ino);

/* Internal to the module (refuse*.c). */
#define VBF_FNV_INIT 0xcbf29ce484222325ull
#define VBF_REDIRECT_BASE_MAX 64
struct linux_dirent64_hdr {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};
uint64_t vbf_redirect_hash_n(uint64_t h, const char *s, size_t n);
int vbf_redirect_hname(const char *base, unsigned int uid, uint64_t h, char *out, size_t cap);
/* VBOXFIX_RUNDIR when it is an absolute path without "." or ".."
 * components or a trailing slash, shorter than VBF_REDIRECT_BASE_MAX (else
 * one warning and /tmp/.vboxfix). */
const char *vbf_redirect_base(void);
int vbf_redirect_base_ok(const char *b);
/* The fallback of `uid` when BASE or BASE/u<uid> is not its to trust:
 * BASE-<uid>, private to it, holding u<uid> as BASE would. */
int vbf_redirect_fallback(const char *base, unsigned int uid, char *out, size_t cap);
/* What the base directory, as it is now, may be used for by this euid. */
enum { VBF_RD_NONE, VBF_RD_ALL, VBF_RD_OWNER };
struct vbf_rundir {
	const char *base;
	unsigned int me, owner;	/* euid; the base's owner */
	unsigned char own;	/* BASE/u<me> may hold this uid's objects */
	unsigned char others;	/* VBF_RD_ALL: every genuine u<V>; VBF_RD_OWNER: only u<owner> */
};
/* One lstat of the base: -1 when there is nothing there. */
int vbf_rundir_get(struct vbf_rundir *rd);
/* May u<uid> in this base be read for objects (its own check aside)? */
int vbf_rundir_scans(const struct vbf_rundir *rd, unsigned int uid);
int vbf_redirect_lstat(const char *p, struct stat *st);
int vbf_redirect_is_object(const struct stat *st);
/* `name` in `base` is u<uid>, a directory of that uid that group and
 * others cannot write (lstat: not a symlink). */
int vbf_redirect_owner_dir(const char *base, const char *name, unsigned int *uid);
int vbf_redirect_mkdir(const char *p, mode_t mode);
/* What hash `h` leads to (refuse_redirect.c, "what a name leads to"):
 * the object where it lives; find2 also gives the entry that puts it under
 * the name (the object, or a forward). 0, or -1 when nothing. Keep errno. */
int vbf_redirect_find(uint64_t h, char buf[VBF_REDIRECT_CAP]);
int vbf_redirect_find2(uint64_t h, char obj[VBF_REDIRECT_CAP], char ent[VBF_REDIRECT_CAP]);
/* An object's identity in a forward or a list of names given up:
 * "u<uid>/<16 hex>#<birth>". Pure. */
#define VBF_BIRTH_MAX 40
struct vbf_rd_id {
	unsigned int uid;
	uint64_t h;
	char birth[VBF_BIRTH_MAX];
};
int vbf_redirect_parse_id(const char *s, size_t n, struct vbf_rd_id *id);
/* Shared by refuse_redirect.c (finding) and refuse_rdmake.c (changing). */
#define VBF_KILLS_MAX 32
int vbf_redirect_dir_private(const struct stat *st, unsigned int uid);
int vbf_redirect_read_entry(const char *dir, const char *prefix, uint64_t h, char *out, size_t cap);
void vbf_redirect_birth_of(const char *dir, uint64_t h, char out[VBF_BIRTH_MAX]);
void vbf_redirect_parse_ids(const char *text, struct vbf_rd_id *ids, int *n);
int vbf_redirect_same_id(const struct vbf_rd_id *a, const struct vbf_rd_id *b);
/* Where object `id` of owner subdirectory `dir` is: its slot <h> while
 * the birth there is its own, else <h>#<hash of its birth>, where its
 * creator put it aside when it made the name again (a forward another uid
 * left may still lead to it). 0 with `out`, or -1. */
int vbf_redirect_where_id(const char *dir, const struct vbf_rd_id *id, char out[VBF_REDIRECT_CAP]);
int vbf_redirect_stash_name(const char *dir, const struct vbf_rd_id *id, char out[VBF_REDIRECT_CAP]);
/* How many share names lead to the redirected object `st` (its real links
 * and forwards, less those given up: refuse_redirect.c), for the st_nlink
 * a stat presents; 0 when not counted (one link). Reads every owner
 * subdirectory, only for an object of more than one link (refuse_held.c). */
int vbf_redirect_names(const struct stat *st);
/* Shares that ever held a redirected object (refuse_mark.c): marks for
 * every directory above share name `w`, in owner subdirectory `dir`, made
 * before the name is given (0, or -1 with errno); and whether one of this
 * process's share roots has a mark where a lookup reads (keeps errno). */
int vbf_redirect_mark(const char *dir, const struct vbf_where *w);
int vbf_redirect_marked(void);
/* The owner subdirectories a lookup reads, in its order (at most max). */
int vbf_redirect_dirs(char (*out)[VBF_REDIRECT_CAP], int max);
int vbf_redirect_find_entry(uint64_t h, char obj[VBF_REDIRECT_CAP], char ent[VBF_REDIRECT_CAP], struct vbf_rd_id *oid);
int vbf_redirect_lookup(const struct vbf_where *w, char buf[VBF_REDIRECT_CAP]);
int vbf_redirect_lookup2(const struct vbf_where *w, char obj[VBF_REDIRECT_CAP], char ent[VBF_REDIRECT_CAP]);
/* Remove what share name `w` leads to: its entry when this uid may remove
 * it, else the object is given up under this name (k<h>), when (dirfd,
 * path) is given and the caller may write its share directory. 0, or -1
 * with errno (ENOENT: nothing there). */
int vbf_redirect_remove(const struct vbf_where *w, int dirfd, const char *path);
/* Put what `wa` leads to under `wb` (where nothing is, checked by the
 * caller): its entry moved when this uid may, else a forward at `wb` and
 * the object given up under `wa`. 0, or -1 with errno. */
int vbf_redirect_move(const struct vbf_where *wa, const struct vbf_where *wb);
int vbf_refuse_parent_ok(int dirfd, const char *path);
void vbf_refuse_split(const char *path, char *dir, size_t cap, const char **base);

#endif
