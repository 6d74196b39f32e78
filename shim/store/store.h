/* SPDX-License-Identifier: MIT */
/* Recorded owners and modes: what programs asked of a share that the share
 * did not keep.
 *
 * Records are keyed by (share index, path relative to the share root): share
 * inode numbers are invented and recycled, so never by inode. The key of the
 * share root itself is "". A record carries a fingerprint of the real object
 * it was made for; a lookup whose real object no longer matches drops the
 * record quietly (a file replaced behind our back starts fresh).
 *
 * Thread-safe. Lookups never allocate and never block: a lookup that would
 * have to wait (a signal handler interrupting a writer in the same thread)
 * answers "no record" instead of deadlocking.
 */
#ifndef VBF_STORE_H
#define VBF_STORE_H

#include "sys.h"
#include "config.h"

#define VBF_REC_OWNER 0x1u /* uid and gid are valid */
#define VBF_REC_MODE  0x2u /* the permission bits of mode are valid */
/* One name of an emulated hard link (refuse_link.c): `link` names the
 * group, `link_ino` is the inode number its names present. A put without
 * it keeps the one the name has (a chown of a linked name stays linked);
 * only an unlink, a rename over the name or a forget drops it. */
#define VBF_REC_LINK  0x4u
/* What the library's own create of a regular file wrote, untouched since
 * (vbf_store_put_made): its fingerprint has no inode number, and the unlink
 * of its name leaves it in place, dormant, for the next create of the name
 * (docs/state-store.md, "Recreated files"). Any other put clears it. */
#define VBF_REC_MADE  0x8u
/* A made record whose name the last compaction did not find: the next one
 * that does not find it either drops it. Set by compaction only. */
#define VBF_REC_GONE  0x10u

struct vbf_rec {
	uint32_t flags;
	uint32_t uid, gid;
	uint32_t mode; /* permission bits (07777) when VBF_REC_MODE */
	uint64_t link, link_ino; /* when VBF_REC_LINK; link is never 0 */
};

/* What a record knows about the object it was made for. `type` is the
 * S_IFMT bits (0: any). `ino` counts only when `has_ino`: it is taken only on
 * shares whose inode numbers are stable (not vboxsf, which invents them per
 * mount); there a file replaced behind our back has a new inode. On vboxsf
 * only the type is compared (docs/state-store.md, "Fingerprint"). */
struct vbf_fp {
	uint32_t type;
	uint32_t has_ino;
	uint64_t ino;
};

/* The state file's name at the share root (hidden from programs). */
#define VBF_STORE_NAME ".vboxfix.state"

/* Open the store of share `idx`, whose root is the canonical path `root`.
 * `state_file` is VBOXFIX_STATE or NULL for the default location. Never
 * fails: a store that cannot be opened or read works from memory and warns
 * once. */
void vbf_store_open(int idx, const char *root, const char *state_file);

/* The same, but only when the store is first used: a process that never
 * touches a share never reads its state file (no request to the share). */
void vbf_store_defer(int idx, const char *root, const char *state_file);

/* Look up `key`; `real` is the object's real stat. Returns 1 and fills `out`
 * when a matching record exists, else 0. */
int vbf_store_get(int idx, const char *key, const struct stat *real, struct vbf_rec *out);

/* The nearest proper ancestor of `key` (the share root included) whose
 * record carries an owner: 1 and `out` (its owner, and its mode when
 * recorded), else 0. In memory only: the table and its bloom of ancestors
 * answer without a request to the share. A share whose records live in a
 * log above its root (store_where.c, look_above) also inherits from records
 * above its root there. */
int vbf_store_inherit(int idx, const char *key, struct vbf_rec *out);

/* A recorded proper ancestor of a key, for the rules that look along a
 * path (search permission): `len` is the length of its key, a prefix of
 * the key asked about (-1: above the share's root, in a log kept there),
 * `type` the S_IFMT bits it was recorded for (0: any). */
struct vbf_anc {
	int len;
	uint32_t type;
	struct vbf_rec rec;
};
/* The recorded proper ancestors of `key` (the share root included),
 * top-down, at most `cap` of them: their number. In memory only, the walk
 * of vbf_store_inherit. */
int vbf_store_ancestors(int idx, const char *key, struct vbf_anc *out, int cap);
/* How many such directories (a recorded mode that denies search to some
 * class) all stores of this process hold, plus one for each store not read
 * yet: while none, no path needs the walk (one load on every presented
 * stat). */
extern _Atomic unsigned long vbf_store_nclosed;
/* Has another process recorded something store idx has not read yet (so
 * that vbf_store_nclosed may be behind)? A hint: one load, no lock. */
int vbf_store_behind(int idx);

/* Record `rec` for `key` (replacing any earlier record); `real` is the
 * object's real stat, from which the fingerprint is taken. A rec with no
 * flags set removes the record. Returns 0, or -1 when it could only be kept
 * in memory (already warned). */
int vbf_store_put(int idx, const char *key, const struct stat *real, const struct vbf_rec *rec);

/* The record a create of the regular file `key` makes (VBF_REC_MADE is
 * added, the fingerprint is the type only). Nothing is appended when the
 * record the name holds, read from the log under its lock, is already
 * that one (a file recreated at every start of a service). */
int vbf_store_put_made(int idx, const char *key, const struct stat *real, const struct vbf_rec *rec);

/* How many names hold a VBF_REC_LINK record with this `link` (at least 1
 * when asked for a name that has one). One lookup, in memory. */
unsigned vbf_store_links(int idx, uint64_t link);

/* The name `key` is gone (unlink, rmdir): drop its record and, for a
 * directory, every record below it. */
void vbf_store_del(int idx, const char *key);

/* The name `key` of a non-directory is gone (unlink): like vbf_store_del,
 * but a made record without a link stays, dormant, for the name's next
 * create (nothing is appended). */
void vbf_store_unlinked(int idx, const char *key);

/* `from` was renamed to `to` (both keys of share idx): records of `to` and
 * below are dropped, those of `from` and below move. A made record of a
 * file is copied instead (from's stays dormant; nothing is appended when
 * `to` holds it already). `was`, when not NULL, is the record `from` had
 * before the rename: a made record that a compaction dropped meanwhile (it
 * did not find the name) still reaches `to`. */
void vbf_store_rename(int idx, const char *from, const char *to);
void vbf_store_rename_was(int idx, const char *from, const char *to, const struct vbf_rec *was);

/* Around the real rename of `key` (share idx): when made records lie below
 * it (a directory), the log's lock is taken shared and kept until
 * vbf_store_release, so no compaction can run while the names below have
 * moved and their records not yet (it would miss the names;
 * docs/state-store.md, "Recreated files"). Returns what to pass to
 * vbf_store_release (0: nothing held). */
int vbf_store_hold(int idx, const char *key);
void vbf_store_release(int idx, int held);

/* After fork in the child: reset locks (the parent may have held one). */
void vbf_store_atfork_child(void);
/* Before fork: take the locks (so the child's table is whole); after it in
 * the parent: release them. */
void vbf_store_atfork_prepare(void);
void vbf_store_atfork_parent(void);

/* ---- invisibility: for the wrappers ---- */

/* Is `key` of share idx one of the store's own files (the state file, its
 * compaction temp files)? open/rename/unlink/link wrappers answer ENOENT for
 * these. Cheap: a string compare. */
int vbf_store_is_internal(int idx, const char *key);
/* Is `name` (one directory entry) a store file name, whatever directory it
 * is in? readdir hides it when the directory is a share root. */
int vbf_store_name_internal(const char *name);
/* rmdir of the share root answered ENOTEMPTY. When the store's own files
 * are all the root holds, they are removed under the log's exclusive lock
 * and `again(arg)` retries the rmdir; if that still fails, the log is put
 * back with every record. Otherwise nothing changes. Returns again's result
 * (errno from it), or -1 with errno unchanged when nothing was tried. */
int vbf_store_rmdir_root(int idx, int (*again)(void *), void *arg);

/* ---- inspection and maintenance: for `vboxfix state` ---- */

/* vbf_store_open() is all the CLI needs to open a store by its root: it does
 * no share detection. */

struct vbf_store_info {
	const char *root;
	const char *path;     /* the state file, or "" when memory only */
	int persistent;       /* records reach the file */
	unsigned long records; /* of this share */
	uint64_t file_bytes;  /* log bytes read so far */
	uint64_t live_bytes;  /* what a compacted log would take */
	/* A share without a state file of its own uses the nearest one above
	 * its root on the same mount (or the one another share of this process
	 * uses there): key_prefix is its root's key in that file ("" for its
	 * own file), file_records all the file holds. */
	const char *key_prefix;
	unsigned long file_records;
};
/* Where the state file of a share rooted at `root` is, by the rule
 * vbf_store_open follows, without creating or opening anything. 1 when it
 * exists (path set, key_prefix as above), else 0 (path: where it would be
 * made). */
int vbf_store_locate(const char *root, const char *state_file, char *path, size_t cap, char *key_prefix,
		     size_t kcap);
/* 0, or -1 when idx is not open. */
int vbf_store_info(int idx, struct vbf_store_info *out);

/* Call `cb` for every record (after catching up with the log). The store is
 * locked meanwhile: `cb` must not call vbf_store_*. A non-zero return from
 * `cb` stops the walk and is returned. */
int vbf_store_foreach(int idx, int (*cb)(void *arg, const char *key, const struct vbf_rec *rec,
					 const struct vbf_fp *fp),
		      void *arg);
/* Record with an explicit fingerprint (import). Invalid keys are refused:
 * -1 with errno EINVAL. Otherwise like vbf_store_put. */
int vbf_store_put_fp(int idx, const char *key, const struct vbf_fp *fp, const struct vbf_rec *rec);
/* Drop the record of `key` only (not below it). */
void vbf_store_forget(int idx, const char *key);
/* Drop every record of the share. */
void vbf_store_reset(int idx);
/* Rewrite the log from the live records now. 0, or -1 (memory only, or the
 * rename failed). */
int vbf_store_compact(int idx);
/* Forget the store in this process (memory freed, descriptors closed); the
 * file stays. */
void vbf_store_close(int idx);

/* Open every log this process holds as a copy another process read
 * (docs/state-store.md, "Logs read from memory") while the credentials that
 * opened it before are still ours: before a set*id call. */
void vbf_store_open_copies(void);

#endif
