/* SPDX-License-Identifier: MIT */
/* Inside the state store, top to bottom (each file uses only those below
 * it): the writes (store_write.c), the rest of the API (store.c), the made-record rules (store_made.c), which log a
 * store uses (store_where.c),
 * compaction and removal of the log (store_compact.c), the log file
 * (store_file.c), opening it (store_open.c), its counter and copies in
 * shared memory (store_page.c),
 * the table (store_table.c), the
 * record format and the store's file names (store_fmt.c). Not for other
 * modules; the fuzz harness and unit tests use it. */
#ifndef VBF_STORE_INT_H
#define VBF_STORE_INT_H

#include "store.h"
#include "arena.h"
#include "lock.h"
#include "shpage.h"
#include <stdatomic.h>
/* no malloc under the store's lock (arena.h) */
#define uthash_malloc(sz) vbf_arena_alloc(sz)
#define uthash_free(ptr, sz) vbf_arena_free(ptr, sz)
#include <uthash.h>

/* ---- format (docs/state-store.md has the byte layout) ---- */

#define VBF_FMT_VERSION 1
#define VBF_KEY_MAX 4095            /* longest key accepted anywhere */
#define VBF_REC_HDR 8               /* 'V' 'f' type version len32 */
#define VBF_REC_MAX (VBF_REC_HDR + 2 * (2 + VBF_KEY_MAX) + 4)
#define VBF_PUT_FIXED (VBF_REC_HDR + 28 + 2 + 4)
/* every flag a record can carry (older versions mask away the ones they do
 * not know: a made record is a plain one to them) */
#define VBF_REC_ALL (VBF_REC_OWNER | VBF_REC_MODE | VBF_REC_LINK | VBF_REC_MADE | VBF_REC_GONE)
/* A compaction ends the log it writes with a forget of this key, which no
 * record can have (a store file's name at the log's root: store.h,
 * vbf_store_is_internal), so every reader knows how large the log was then
 * and older versions read a forget of nothing. */
#define VBF_COMPACTED_KEY VBF_STORE_NAME ".compacted"

enum vbf_op_type {
	VBF_OP_HEAD = 'H',   /* file identification; ignored on replay */
	VBF_OP_PUT = 'P',    /* set the record of one key */
	VBF_OP_FORGET = 'F', /* drop the record of one key */
	VBF_OP_DEL = 'D',    /* drop a key and everything below it */
	VBF_OP_REN = 'R',    /* move a key and everything below it */
	VBF_OP_RESET = 'Z',  /* drop everything before this record */
	VBF_OP_SEAL = 'S',   /* a compaction replaced this file: look at the path again */
};

/* A decoded record; keys point into the buffer it was decoded from and are
 * NOT NUL-terminated. */
struct vbf_op {
	int type;
	struct vbf_rec rec;
	struct vbf_fp fp;
	const char *key, *key2;
	size_t klen, k2len;
	size_t at;           /* offset in the buffer it was decoded from (vbf_rec_scan) */
};

uint32_t vbf_crc32c(uint32_t crc, const void *buf, size_t n);
/* (vbf_store_name_internal, store.h, is in store_fmt.c too: which names
 * are the store's files.) */
/* A valid key: at most VBF_KEY_MAX bytes, no NUL, not absolute, no empty,
 * "." or ".." component, no trailing slash; "" is the share root. */
int vbf_key_valid(const char *k, size_t n);
/* Encode `op` into `out` (at least VBF_REC_MAX bytes). Returns the length,
 * or 0 when a key is invalid. */
size_t vbf_rec_encode(const struct vbf_op *op, uint8_t *out);
/* Decode one record at the start of buf[0..n). Returns its length (> 0),
 * 0 when the bytes so far are a plausible beginning of a record that is not
 * complete yet, -1 when this is not a valid record. */
long vbf_rec_decode(const uint8_t *buf, size_t n, struct vbf_op *op);

/* Walk buf[0..n), calling `apply` for each valid record in order. Garbage
 * followed by a valid record is skipped (counted in *skipped). When `eof`,
 * an invalid or incomplete record with nothing valid after it is a torn or
 * in-progress tail: the walk stops there. Returns the bytes consumed (the
 * offset of the first byte not yet accounted for). Bounded work on any
 * input. */
size_t vbf_rec_scan(const uint8_t *buf, size_t n, int eof, void (*apply)(void *arg, const struct vbf_op *op),
		    void *arg, unsigned *skipped);

/* ---- the table ---- */

struct vbf_ent {
	UT_hash_handle hh;
	struct vbf_rec rec;
	uint64_t ino;
	uint32_t fptype;  /* S_IFMT bits, 0 = any; VBF_FP_INO bit: ino valid */
	uint16_t klen;
	char key[];       /* NUL-terminated */
};

/* The number of records of one link group (VBF_REC_LINK), kept with the
 * table so that a stat of a linked name costs one lookup. */
struct vbf_lgrp {
	UT_hash_handle hh;
	uint64_t link;
	unsigned n;
};

#define VBF_FP_INO 0x1u   /* in vbf_ent.fptype's low bits (S_IFMT's are high) */
#define VBF_BLOOM_BITS (1u << 17)

/* The cross-process page, one for every store of the machine: a counter
 * per slot, a state file's slot chosen by a hash of its path. A counter is a
 * hint, never the truth: it moves after every append and compaction, so a
 * lookup reads the log only when it moved. Two files sharing a slot, or
 * another user writing the page, cost at most a read of the log's tail. */
#define VBF_GEN_SLOTS 4096
struct vbf_gen_page {
	struct vbf_shpage_hdr hdr;
	atomic_uint_least64_t gen[VBF_GEN_SLOTS];
};

struct vbf_store {
	vbf_lock lock;
	int open;
	int fd;            /* the log, O_APPEND; -1: memory only */
	dev_t fdev;        /* identity of fd, when /proc cannot tell */
	ino_t fino;
	int forked;        /* after fork fd shares its offset with the parent's: reopen before appending */
	int nolock;        /* the filesystem has no record locks: never compact */
	int sealed;        /* the last record read is a seal: the path may name a newer log */
	int holds;         /* vbf_file_hold's not released yet: the shared lock stays */
	uint64_t nowait_until; /* CLOCK_MONOTONIC ms: the lock was held past our wait; do not wait again before */
	int trust_ino;     /* st_ino is stable for this share (not vboxsf) */
	int walk_fresh;    /* the walk to the log refreshes its attributes (FUSE, vboxsf) */
	int writable;
	int nofollow;      /* O_NOFOLLOW for the default name */
	int later;         /* the table is a copy's (store_page.c): the log is opened at its first use (fd -1) */
	int whole;         /* the last read of the log began at 0 and holds all of it in iobuf */
	atomic_uint_least64_t *gen;          /* in the shared page, or: */
	atomic_uint_least64_t private_gen;  /* when no shared page can be had */
	uint64_t seen_gen;
	uint64_t pos;      /* log bytes applied */
	uint64_t live;     /* bytes the live records would take when compacted */
	uint64_t base;     /* log bytes up to the last compaction's mark (0: none read) */
	uint64_t next_compact_try;
	unsigned long nrec;
	_Atomic unsigned long nclosed; /* directories some class may not search (closed()) */
	int hint_pending;              /* deferred: counted once in vbf_store_nclosed until read */
	struct vbf_ent *tab;
	struct vbf_lgrp *groups; /* link group -> records in it */
	uint8_t *bloom;    /* ancestors of keys: "may have records below" */
	uint8_t *iobuf;    /* log reading chunk */
	uint8_t recbuf[VBF_REC_MAX];
	char root[PATH_MAX];
	char path[PATH_MAX];
	char intkey[PATH_MAX]; /* key of the state file when it is inside root */
	int pending;       /* vbf_store_defer'd: opened at first use */
	char pending_state[PATH_MAX];
	/* A share without a state file of its own uses one above its root
	 * (store_where.c, look_above): keys are then this prefix, '/', the key.
	 * `via` (1 + index) names the store of this process that holds that
	 * log already: never two descriptors of one log in a process. Both are
	 * set before `open` and never change while it is. */
	int via;
	char kprefix[PATH_MAX];
};

extern struct vbf_store vbf_stores[VBF_MAX_SHARES];
extern uint64_t vbf_compact_min; /* tunable by tests */

/* store.c, for store_write.c: the store of share `idx` (opened at its first
 * use) or NULL; the store whose log and table hold s's records; the key
 * there of s's `key`, when s's records live in another share's log (in
 * buf; NULL when too long); the table brought up to date when the shared
 * counter moved (lock held). */
struct vbf_store *vbf_store_of(int idx);
struct vbf_store *vbf_store_held_by(struct vbf_store *s);
const char *vbf_store_key_in(const struct vbf_store *s, const char *key, char *buf);
void vbf_store_catch_up(struct vbf_store *s);
/* A signal handler that stats a file while its thread is in the library
 * must not wait for a lock (lock.h): it sees no record. */
static inline int vbf_store_enter(struct vbf_store *s) { return vbf_enter(&s->lock); }
static inline void vbf_store_leave(struct vbf_store *s) { vbf_leave(&s->lock); }

/* store_table.c: apply one decoded record to the table; empty it (lock
 * held). */
void vbf_store_apply(struct vbf_store *s, const struct vbf_op *op);
void vbf_store_clear(struct vbf_store *s);

/* FNV-1a of a NUL-terminated name: the shared counter's slot of a log
 * (store_file.c) and the fallback logs' names (store_where.c). */
static inline uint64_t vbf_fnv64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 0x100000001b3ull;
	return h;
}

/* The table's lookups, inline: every stat of a share makes them. */

static inline uint32_t vbf_bloom_bit(uint64_t h) { return (uint32_t)((h ^ (h >> 29)) * 0x9e3779b97f4a7c15ull >> 47); }

/* May anything be recorded strictly below `k`? (The bloom of ancestors.) */
static inline int vbf_bloom_maybe(const struct vbf_store *s, const char *k, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)k[i]) * 0x100000001b3ull;
	uint32_t b = vbf_bloom_bit(h) & (VBF_BLOOM_BITS - 1);
	return n == 0 || (s->bloom[b >> 3] >> (b & 7)) & 1;
}

/* The record of exactly `k`, or NULL. */
static inline struct vbf_ent *vbf_ent_find(struct vbf_store *s, const char *k, size_t n)
{
	struct vbf_ent *e;
	HASH_FIND(hh, s->tab, k, n, e);
	return e;
}

/* A made record of a file (store.h, VBF_REC_MADE) not in a link group:
 * what an unlink or a rename away leaves dormant for the name's next
 * create, and what compaction looks for (store_made.c, store_compact.c). */
static inline int vbf_ent_dormant(const struct vbf_ent *e)
{
	return (e->rec.flags & (VBF_REC_MADE | VBF_REC_LINK)) == VBF_REC_MADE && (e->fptype & S_IFMT) == S_IFREG;
}

/* Is e's key `p` or below it ("" is the share root: everything)? */
static inline int vbf_ent_below(const struct vbf_ent *e, const char *p, size_t n)
{
	return n == 0 || (e->klen >= n && !memcmp(e->key, p, n) && (e->klen == n || e->key[n] == '/'));
}

struct vbf_snap_head;
/* store_open.c: opening a log. `path` as a log (with `create`, making it
 * when missing): never blocks, never accepts a file that is not a state
 * file. -1 with *why. _as: the same, *st its type, identity and size, and
 * with `known` (the file a copy was read from, store_page.c) its head not
 * read again when it is that file. _facts: the type, identity and size of
 * an open log, asking the host nothing where the open's lookup did; _at:
 * of a named one, statx `flags` (AT_STATX_DONT_SYNC or not). */
#define VBF_STATE_MAX (256ull << 20) /* a larger log is not read */
int vbf_file_open_log(const char *path, int nofollow, int create, const char **why);
int vbf_file_open_as(const char *path, int nofollow, int create, const struct vbf_snap_head *known, struct stat *st,
		     const char **why);
int vbf_file_facts(int fd, struct stat *st);
int vbf_file_facts_at(int dirfd, const char *name, int flags, struct stat *st);

/* store_file.c: the log and its protocol (docs/state-store.md,
 * "Concurrency"). Every function runs under the store's lock. */
/* Make `fd`, the log opened at `path`, the one s holds, and read it. */
void vbf_file_start(struct vbf_store *s, int fd, const char *path);
void vbf_file_close(struct vbf_store *s);
/* Bring the table up to date with the log, when the shared counter says
 * it moved; _now: whatever the counter says (a process of another
 * container moves another page: one read of the log's tail). */
void vbf_file_sync(struct vbf_store *s);
void vbf_file_sync_now(struct vbf_store *s);
/* Append one record and bring the table up to date, which applies it.
 * Returns 0 once the record is in the current log (the caller may then
 * compact: vbf_file_compact), or -1 when it was applied in memory only
 * (already warned). */
int vbf_file_append(struct vbf_store *s, const struct vbf_op *op);
/* The same, but what to append is decided under the log's lock, from the
 * table brought up to date with the log's end: `plan` sets *out from `want`
 * and returns non-zero to append it, 0 for nothing (store.c, the made
 * records). 0: appended or nothing needed; -1 as above. */
typedef int (*vbf_plan_fn)(struct vbf_store *s, const struct vbf_op *want, struct vbf_op *out, void *arg);
int vbf_file_append_plan(struct vbf_store *s, const struct vbf_op *want, vbf_plan_fn plan, void *arg);
/* Take the current log's lock shared and keep it (appends in between leave
 * it, compaction is not tried) until vbf_file_release: vbf_store_hold. 0,
 * or -1 when it cannot be had. */
int vbf_file_hold(struct vbf_store *s);
void vbf_file_release(struct vbf_store *s);
/* The lock on the log (F_RDLCK for appends, F_WRLCK to replace it); with
 * `wait`, for a bounded time. 0 or -1. (store_lock.c, as the three below;
 * vbf_file_lock_fd is the same on any descriptor, *nolock set where the
 * filesystem has no locks.) */
int vbf_file_lock(struct vbf_store *s, int type, int wait);
int vbf_file_lock_fd(int fd, int type, int wait, int *nolock);
void vbf_file_unlock(struct vbf_store *s);
/* Read and apply the log's tail; 1 when a seal was among it. */
int vbf_file_read_tail(struct vbf_store *s);
/* Does the path still name the log we hold? */
int vbf_file_is_current(struct vbf_store *s);
/* The lock that orders creating the log against renaming over it (a file
 * beside the log, never replaced): the descriptor holding it, or -1 (with
 * !create: also when there is no lock file yet, so no rename was ever under
 * way). */
int vbf_file_name_lock(const char *path, int create);
void vbf_file_name_unlock(int fd);
/* Open (or create) the log at s->path, checked like at start-up. */
int vbf_file_open_path(struct vbf_store *s, const char **why);
/* Make `fd` (a log just opened or written) the one we hold. */
void vbf_file_adopt(struct vbf_store *s, int fd, uint64_t pos, int reload);
int vbf_file_write_all(int fd, const uint8_t *b, size_t n);
int vbf_file_move_high(int fd);
void vbf_file_bump(struct vbf_store *s);

/* store_page.c: the store's shared pages. The counter of s's log (s->path
 * named): s->gen, in the page every user shares, or s->private_gen. */
void vbf_page_counter(struct vbf_store *s);
/* And a copy of each log as a process last read it whole, in a page of
 * this euid's, for the processes that start after it (docs/state-store.md,
 * "Logs read from memory"). */
#define VBF_SNAP_CAP (256u << 10) /* a larger log is read from the file */
struct vbf_snap_head {
	uint64_t gen;          /* the shared counter, taken before the read */
	uint64_t dev, ino;     /* the log read */
	uint64_t pos;          /* bytes of it, all applied */
};
/* The copy kept for the log named `name` (canonical): its head in *h and
 * its h->pos bytes in buf (at least VBF_SNAP_CAP). 0, or -1 when there is
 * none, or none intact. */
int vbf_snap_get(const char *name, struct vbf_snap_head *h, uint8_t *buf);
void vbf_snap_put(const char *name, const struct vbf_snap_head *h, const uint8_t *bytes);
/* Tests: the page's name before the euid, the page attached (NULL: none)
 * and its size; remove this euid's page (this process attaches a new one
 * at its next use). */
extern const char *vbf_page_copies_name;
void *vbf_page_copies(size_t *size);
int vbf_snap_remove(void);

/* store_file.c, the other half. _from_copy: 0 when s now holds the table of
 * the copy kept for the log `name` (canonical), which is still that file
 * and no longer, its log not opened yet (s->later); else -1 with s as it
 * was. _here: open that log and read what was appended since
 * the copy (every function of store_file.c and store_compact.c that needs
 * the log calls it first); 0, or -1: memory only, warned. */
int vbf_file_from_copy(struct vbf_store *s, const char *name);
int vbf_file_here(struct vbf_store *s);

/* store_where.c: which log a store uses. */
/* `all` is the array of this process's stores (s is all[idx]): which log
 * s uses can depend on those open already. Sets s->via instead of opening a
 * log when another store holds the one to use (the caller opens that one,
 * then completes s). */
void vbf_where_open(struct vbf_store *s, int idx, const char *state_file, const struct vbf_store *all);
/* Where the log of a share rooted at `root` is (VBOXFIX_STATE `state_file`,
 * else <root>/.vboxfix.state or the nearest one above it on the same
 * mount), without creating anything; `kprefix` receives the share root's
 * key there. 1 when that file exists, else 0 (path: where it would be). */
int vbf_where_locate(const char *root, const char *state_file, char *path, size_t cap, char *kprefix, size_t kcap);

/* store_made.c: the made-record rules. What the table says `want` (a put
 * of a made record, the delete of an unlinked file, a rename) should
 * append: the op as asked, a put of the new name instead of a rename
 * (COPY), or nothing, because nothing is recorded (NONE) or the record
 * stays as it is (KEPT). `arg`: for a rename, the record `from` had
 * before it, or NULL. _locked: the same as a vbf_plan_fn (append PLAIN and
 * COPY). */
enum { VBF_PLAN_NONE, VBF_PLAN_PLAIN, VBF_PLAN_KEPT, VBF_PLAN_COPY };
int vbf_made_plan(struct vbf_store *s, const struct vbf_op *want, struct vbf_op *out, void *arg);
int vbf_made_plan_locked(struct vbf_store *s, const struct vbf_op *want, struct vbf_op *out, void *arg);
/* A made record strictly below `k`? (What compaction could drop while `k`
 * is being renamed: vbf_store_hold.) */
int vbf_made_below(struct vbf_store *s, const char *k, size_t n);
/* Anything recorded for `k` (with below_too, or below it)? */
int vbf_store_any_at(struct vbf_store *s, const char *k, size_t n, int below_too);

/* store_compact.c */
/* Rewrite the log from the table when dead records dominate, or always when
 * `force`. Returns 0 when rewritten. */
int vbf_file_compact(struct vbf_store *s, int force);
/* rmdir of the share root answered ENOTEMPTY: see vbf_store_rmdir_root. */
int vbf_file_rmdir_root(struct vbf_store *s, int (*again)(void *), void *arg);

#endif
