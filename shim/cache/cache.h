/* SPDX-License-Identifier: MIT */
/* Path metadata cache for shares: a stat of a share path that was asked a
 * moment ago is answered from process memory instead of a host round trip.
 *
 * Entries are the REAL stat result (or ENOENT) of (share, key, follow);
 * presentation still runs on every answer, so recorded owners and modes are
 * never cached here. An entry is served only while all of these hold:
 *   - younger than VBOXFIX_TTL_MS (changes from outside the library);
 *   - no process under the library has changed the name, its parent's list,
 *     or any directory above it since the entry was filled (a shared
 *     /dev/shm page of generations, one atomic load per level);
 *   - no process under the library has the name open for writing (a shared
 *     per-bucket count, since write(2) is not interposed).
 * An fstat of a descriptor opened on a share fills, and for a directory is
 * answered, under the name the kernel gives the descriptor
 * (vbf_cache_fd_lookup); names
 * relative to such a descriptor are too, under the name /proc gives it.
 *
 * Hash collisions only ever cost a miss. Nothing on the hit path allocates
 * or makes a system call; a thread re-entering from a signal handler while
 * it holds the cache lock skips the cache.
 */
#ifndef VBF_CACHE_H
#define VBF_CACHE_H

#include "fdtab.h"
#include "shares.h"
#include "sys.h"

#define VBF_CACHE_DEPTH 24   /* deeper keys are not cached */
#define VBF_CACHE_KEYCAP 184 /* longer keys are not cached */

enum { VBF_CACHE_SKIP = -1, VBF_CACHE_MISS = 0, VBF_CACHE_HIT = 1, VBF_CACHE_NEG = 2, VBF_CACHE_FD = 3 };

/* A lookup that missed: what filling it afterwards needs. */
struct vbf_cq {
	uint64_t seq, t;     /* shared sequence and clock, taken BEFORE the real call */
	uint64_t h64;        /* full hash of the key (share root, name, follow) */
	uint32_t hv, self;   /* table hash; bucket of the key itself */
	uint16_t depth;
	uint16_t anc[VBF_CACHE_DEPTH + 1]; /* buckets of "", each ancestor, the key */
	uint16_t klen;
	char k[VBF_CACHE_KEYCAP]; /* share index, follow, key */
};

/* Lookups are on (VBOXFIX_TTL_MS > 0, VBOXFIX_CACHE_MAX > 0, shared page
 * usable). */
extern int vbf_cache_enabled;

/* Start-up, after the share table: map the shared page. Notifications
 * (generations, open-for-write counts) work even with lookups off, so a
 * process with VBOXFIX_TTL_MS=0 still keeps others coherent. */
void vbf_cache_init(void);
void vbf_cache_atfork_child(void);
void vbf_cache_atfork_prepare(void);
void vbf_cache_atfork_parent(void);

int vbf_cache_lookup(int dirfd, const char *path, int follow, struct stat *st, struct statx *stx, unsigned mask,
		     struct vbf_cq *q);

/* fstat of a descriptor opened on a share (fdtab.h): FD, the sequence and
 * clock taken before the real call; after it, vbf_cache_fill_fd with the
 * name /proc gives the descriptor (read after the call, so a rename through
 * the library in between is caught by the sequence). A compiler's fstat of
 * every header it opened is then a hit for make's stat of the same header
 * (bench/results.md, "Where the requests go").
 * vbf_cache_fd_lookup first asks for the lstat entry of that name: HIT
 * (st filled) only for a directory's entry filled before the lookup began, so that it
 * described what the name held when /proc named it, the descriptor's
 * object; else as vbf_cache_fd_begin. */
int vbf_cache_fd_begin(struct vbf_cq *q);
/* Is the directory of share key `key` (store index idx), the lexical key
 * of `path`, named canonically by its text: a valid entry of it says it is
 * a directory under that name? No system call. */
int vbf_cache_dir_canonical(int idx, const char *key, const char *path);
/* A walk of a name (policy/resolve.c) shows its directory canonical when
 * it reaches the directory under the name the text gives: begin before the
 * walk with the lexical key (-1: nothing to learn; callers ask only while
 * vbf_cache_enabled), seen after it with the
 * canonical key found; vbf_cache_dir_canonical then says yes for that
 * directory as it would for a valid entry of it (cache_canon.c). */
struct vbf_cdir {
	uint64_t seq, t, h;
	int idx;
	uint16_t depth, dlen;
	uint16_t anc[VBF_CACHE_DEPTH + 1];
	char dir[VBF_CACHE_KEYCAP];
};
int vbf_cache_dir_begin(int idx, const char *key, struct vbf_cdir *d);
void vbf_cache_dir_seen(const struct vbf_cdir *d, int idx, const char *canon);
int vbf_cache_fd_lookup(int fd, struct stat *st, struct vbf_cq *q);
void vbf_cache_fill_fd(struct vbf_cq *q, const struct vbf_where *w, const struct stat *st);

/* Before a real stat-family call on (dirfd, path): HIT (st filled with the
 * real result, present it as usual), NEG (answer -1/ENOENT), MISS (make the
 * call, then vbf_cache_fill), SKIP (make the call, nothing else). */
static inline int vbf_cache_stat(int dirfd, const char *path, int follow, struct stat *st, struct vbf_cq *q)
{
	/* enabled only once started with shares: no vbf_active() needed. A hit
	 * reads `path` and writes `st` with no real call to check them first,
	 * so only pages a successful call on a share has shown good are used
	 * (shares.h): the kernel's EFAULT stays an EFAULT, and a path outside
	 * the shares costs no probe. */
	if (vbf_cache_enabled && !path && vbf_fd_marked(dirfd))
		return st && vbf_buf_ok(st, sizeof *st, 0) ? vbf_cache_fd_lookup(dirfd, st, q) : vbf_cache_fd_begin(q);
	if (!vbf_cache_enabled || !path || !vbf_str_ok(path, 0) || !*path ||
	    (path[0] == '/' && !vbf_abs_maybe_share(path)) || !st || !vbf_buf_ok(st, sizeof *st, 0))
		return VBF_CACHE_SKIP;
	return vbf_cache_lookup(dirfd, path, follow, st, NULL, 0, q);
}

/* The same for statx; a hit fills what statx would, with an honest mask. */
static inline int vbf_cache_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx,
				  struct vbf_cq *q)
{
	if (!vbf_cache_enabled || (flags & AT_STATX_SYNC_TYPE) == AT_STATX_FORCE_SYNC || (flags & AT_EMPTY_PATH) ||
	    !path || !vbf_str_ok(path, 0) || !*path || !stx || !vbf_buf_ok(stx, sizeof *stx, 0))
		return VBF_CACHE_SKIP;
	return vbf_cache_lookup(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), NULL, stx, mask, q);
}

/* The same for a name its caller has classified (`w`, vbf_where_name of
 * (dirfd, path): chown and chmod, policy/own.c), stat only. A HIT's entry
 * was filled under a name that is the object's own (present.h fills no
 * other), so `w` names the object. */
int vbf_cache_stat_where(const struct vbf_where *w, const char *path, int follow, struct stat *st, struct vbf_cq *q);

/* The result of a stat-family call: 0 from a hit, -1/ENOENT from a
 * negative hit (what follows an ENOENT still runs), else the real call. */
#define VBF_CACHE_ANSWER(c, call)                                              \
	((c) == VBF_CACHE_HIT ? 0 : (c) == VBF_CACHE_NEG ? (errno = ENOENT, -1) : (call))

/* After the real call of a MISS: `r` its result (errno as it left it). */
void vbf_cache_fill(struct vbf_cq *q, int r, const struct stat *st);
void vbf_cache_fillx(struct vbf_cq *q, int r, const struct statx *stx);

/* ---- what mutating wrappers call (all keep errno, cost no system call
 * unless noted) ---- */

/* (dirfd, path) was created, removed, renamed to or from, truncated, had
 * its times, owner or mode changed: drop it, everything below it, and its
 * parent's entry, in every process. Call after the real call. */
void vbf_cache_changed(int dirfd, const char *path);
/* One-line hooks for wrappers: tell the cache whatever `r` was (a failed
 * call that emulated or retried may still have changed something). */
static inline int vbf_cache_after(int r, int dirfd, const char *path)
{
	vbf_cache_changed(dirfd, path);
	return r;
}
static inline int vbf_cache_after2(int r, int da, const char *a, int db, const char *b)
{
	vbf_cache_changed(da, a);
	vbf_cache_changed(db, b);
	return r;
}
/* The same for a classified key (own.c has it already). */
void vbf_cache_changed_key(int idx, const char *key);
/* The object open as `fd` changed (ftruncate, futimens). A readlink when
 * the fd is on a share and was not opened for writing here. */
void vbf_cache_changed_fd(int fd);

/* Opens for writing: call begin BEFORE the real open (the count must be up
 * before the first write can happen), end after it with the result. */
static inline int vbf_open_writes(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC));
}
int vbf_cache_write_begin(const struct vbf_where *w, int writes);
void vbf_cache_write_end(int token, int fd, const struct vbf_where *w);

/* close: take the fd's token before the real close (the number may be
 * reused by another thread right after), release it after. */
int vbf_cache_fd_take(int fd);
void vbf_cache_fd_release(int token);
/* dup family: `to` is a copy of `from` (and whatever `to` was is closed). */
void vbf_cache_fd_copied(int from, int to);

/* ---- for tests ---- */
extern uint64_t (*vbf_cache_clock)(void);  /* monotonic milliseconds */
extern const char *vbf_cache_shm_path;     /* default /dev/shm/vboxfix-cache */
unsigned long vbf_cache_size(void);        /* entries held */
void vbf_cache_hold(int on);               /* take the lock as a handler's thread would hold it */
void vbf_cache_reset(void);                /* drop every entry, unmap the page */

#endif
