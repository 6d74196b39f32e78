/* Inside the state store: the record format (store_fmt.c), the log file and
 * its shared generation counter (store_file.c), and the table (store.c).
 * Not for other modules; the fuzz harness and unit tests use it. */
#ifndef VBF_STORE_INT_H
#define VBF_STORE_INT_H

#include "store.h"
#include "arena.h"
#include "lock.h"
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

enum vbf_op_type {
	VBF_OP_HEAD = 'H',   /* file identification; ignored on replay */
	VBF_OP_PUT = 'P',    /* set the record of one key */
	VBF_OP_FORGET = 'F', /* drop the record of one key */
	VBF_OP_DEL = 'D',    /* drop a key and everything below it */
	VBF_OP_REN = 'R',    /* move a key and everything below it */
	VBF_OP_RESET = 'Z',  /* drop everything before this record */
};

/* A decoded record; keys point into the buffer it was decoded from and are
 * NOT NUL-terminated. */
struct vbf_op {
	int type;
	struct vbf_rec rec;
	struct vbf_fp fp;
	const char *key, *key2;
	size_t klen, k2len;
};

uint32_t vbf_crc32c(uint32_t crc, const void *buf, size_t n);
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

#define VBF_FP_INO 0x1u   /* in vbf_ent.fptype's low bits (S_IFMT's are high) */
#define VBF_BLOOM_BITS (1u << 17)

/* The cross-process page in /dev/shm: one per state file. */
struct vbf_shm {
	uint32_t magic, version;
	atomic_uint_least64_t gen;   /* bumped after every append */
	atomic_uint_least64_t epoch; /* bumped after every compaction */
};

struct vbf_store {
	vbf_lock lock;
	int open;
	int fd;            /* the log, O_APPEND; -1: memory only */
	dev_t fdev;        /* identity of fd, checked before each write */
	ino_t fino;
	int shm_fd;        /* flock target; -1 when there is no shared page */
	int shm_reopen;    /* after fork: the flock must be on our own file */
	int trust_ino;     /* st_ino is stable for this share (not vboxsf) */
	int writable;
	int nofollow;      /* O_NOFOLLOW for the default name */
	struct vbf_shm *shm;
	struct vbf_shm private_shm; /* when /dev/shm is unusable */
	uint64_t seen_gen, seen_epoch;
	uint64_t pos;      /* log bytes applied */
	uint64_t live;     /* bytes the live records would take when compacted */
	uint64_t next_compact_try;
	unsigned long nrec;
	struct vbf_ent *tab;
	uint8_t *bloom;    /* ancestors of keys: "may have records below" */
	uint8_t *iobuf;    /* log reading chunk */
	uint8_t recbuf[VBF_REC_MAX];
	char root[PATH_MAX];
	char path[PATH_MAX];
	char intkey[PATH_MAX]; /* key of the state file when it is inside root */
	char shmname[48];  /* /dev/shm/vboxfix-<hash of path> */
	int pending;       /* vbf_store_defer'd: opened at first use */
	char pending_state[PATH_MAX];
};

extern struct vbf_store vbf_stores[VBF_MAX_SHARES];
extern uint64_t vbf_compact_min; /* tunable by tests */

/* store.c: apply one decoded record to the table (lock held). */
void vbf_store_apply(struct vbf_store *s, const struct vbf_op *op);
void vbf_store_clear(struct vbf_store *s);

/* store_file.c */
void vbf_file_open(struct vbf_store *s, int idx, const char *state_file);
void vbf_file_close(struct vbf_store *s);
/* Bring the table up to date with the log (lock held). */
void vbf_file_sync(struct vbf_store *s);
/* Append one record and bring the table up to date, which applies it.
 * Returns 0, or -1 when it was applied in memory only. */
int vbf_file_append(struct vbf_store *s, const struct vbf_op *op);
/* Rewrite the log from the table when dead records dominate, or always when
 * `force`. Returns 0 when rewritten. */
int vbf_file_compact(struct vbf_store *s, int force);

#endif
