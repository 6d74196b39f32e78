/* SPDX-License-Identifier: MIT */
/* The cache's table shared by every process of one euid (cache.h): a stat
 * one process made is a hit for the next process, within the same promises
 * as the per-process table, which stays in front of it.
 *
 * One SysV page per euid (shpage.h, vbf_shpage_attach_own): mode 0600 and
 * created by that euid, so no other user can write an entry, and an answer
 * is never shared between users (a name one user reaches may be EACCES for
 * another: only successes and ENOENT are cached). Its size is
 * VBOXFIX_SHARED_CACHE entries, fixed; sets of WAYS entries, a new entry
 * replacing an expired one of its set, else one at random (take()).
 *
 * Entries hold the REAL stat result, the time of the call and the shared
 * sequence taken before it (cache_shm.c): a reader checks them exactly like
 * a per-process entry (TTL, generations of the name, its parent and every
 * ancestor, open for writing), so a change made under the library drops an
 * entry for every process with no write to this table at all.
 *
 * No lock: each entry has a version, odd while written (seqlock); a reader
 * copies the entry out and uses it only when the version was even and
 * unchanged around the copy, the checksum over the copy matches, and the key
 * is its own byte for byte. A writer takes an entry with a CAS and gives it
 * back with a CAS (shpage.h, the vbf_slot_* functions); a writer that died
 * leaves its entry odd, and a writer takes it over once it has been odd for
 * DEAD_MS. Two writers on one entry
 * (a slow one taken over) can tear it: the checksum makes that a miss. The page is still treated as hostile (root, a bug, a program of the
 * same uid): every length is checked before use, a bad entry is a miss.
 */
#include "cache_int.h"
#include "config.h"
#include "ids.h"

#define WAYS 4u
#define SC_MAGIC 0x76626373u /* "scbv" */
#define SC_VERSION 1
#define SC_KEYCAP VBF_CACHE_KEYCAP
/* q->k without its first byte, the share's index in this process (the
 * entry's root says which share instead) */
#define KEY(q) ((q)->k + 1)
#define KLEN(q) ((uint16_t)((q)->klen - 1))

/* A stat result in fixed-width fields: every build of the library (glibc,
 * musl) reads the same bytes. */
struct sc_val {
	uint64_t ino, size, blocks, attr, attr_mask, rdev, dev;
	int64_t atime, mtime, ctime, btime;
	uint32_t ansec, mnsec, cnsec, bnsec;
	uint32_t mode, nlink, uid, gid, blksize;
	int32_t err;
	uint8_t has_btime, from_statx, pad[6];
};

struct sc_ent {
	atomic_uint_least32_t ver;
	uint16_t klen, pad;
	_Atomic uint64_t claimed; /* when the last writer took it (ms) */
	uint64_t h, root, t, seq, sum;
	struct sc_val v;
	char k[SC_KEYCAP];
};

struct sc_page {
	struct vbf_shpage_hdr h;
	_Alignas(64) struct sc_ent e[];
};

static struct sc_page *P;
static uint32_t nsets; /* a power of two; 0: no page */
static size_t psize;
static uid_t owner;

static size_t page_size(uint32_t sets) { return sizeof(struct sc_page) + (size_t)sets * WAYS * sizeof(struct sc_ent); }

/* "vboxfix-scache-<euid>": every uid its own page (see above) */
static void page_name(char name[48]) { vbf_shpage_name_uid(name, 48, "vboxfix-scache-", vbf_euid()); }

static uint32_t sets_wanted(void)
{
	long n = vbf_cfg.shared_cache / WAYS;
	uint32_t sets = 1;
	if (n <= 0)
		return 0;
	while ((long)sets * 2 <= n && sets < (1u << 22))
		sets *= 2;
	return sets;
}

void vbf_scache_init(void)
{
	uint32_t sets = sets_wanted();
	if (P || !sets)
		return;
	char name[48];
	page_name(name);
	P = vbf_shpage_attach_own(name, page_size(sets), SC_MAGIC, SC_VERSION);
	if (P) {
		nsets = sets;
		psize = page_size(sets);
		owner = vbf_euid();
	}
}

int vbf_scache_remove(void)
{
	char name[48];
	page_name(name);
	return sets_wanted() ? vbf_shpage_remove(name, page_size(sets_wanted()), SC_MAGIC, SC_VERSION) : 0;
}

void *vbf_scache_page(size_t *size)
{
	*size = psize;
	return P;
}

void vbf_scache_reset(void)
{
	vbf_shpage_detach(P, psize);
	P = NULL;
	nsets = 0;
}

/* Over every byte a reader uses: a torn or scribbled entry fails it (not a
 * defence against a forger, who cannot write this page, but against tears). */
static uint64_t checksum(const struct sc_ent *e)
{
	uint64_t x = 0x9e3779b97f4a7c15ull ^ e->klen;
	const unsigned char *parts[2] = {(const unsigned char *)&e->h, (const unsigned char *)e->k};
	size_t lens[2] = {offsetof(struct sc_ent, sum) - offsetof(struct sc_ent, h), e->klen};
	for (int p = 0; p < 2; p++)
		for (size_t i = 0; i < lens[p]; i++)
			x = (x ^ parts[p][i]) * 0x100000001b3ull;
	const unsigned char *v = (const unsigned char *)&e->v;
	for (size_t i = 0; i < sizeof e->v; i++)
		x = (x ^ v[i]) * 0x100000001b3ull;
	return x ^ (x >> 29);
}

static void to_val(struct sc_val *v, const struct vbf_cval *c)
{
	const struct stat *s = &c->st;
	memset(v, 0, sizeof *v);
	v->err = c->err;
	if (c->err)
		return;
	v->ino = s->st_ino;
	v->size = (uint64_t)s->st_size;
	v->blocks = (uint64_t)s->st_blocks;
	v->attr = c->attr;
	v->attr_mask = c->attr_mask;
	v->rdev = s->st_rdev;
	v->dev = s->st_dev;
	v->atime = s->st_atim.tv_sec;
	v->mtime = s->st_mtim.tv_sec;
	v->ctime = s->st_ctim.tv_sec;
	v->ansec = (uint32_t)s->st_atim.tv_nsec;
	v->mnsec = (uint32_t)s->st_mtim.tv_nsec;
	v->cnsec = (uint32_t)s->st_ctim.tv_nsec;
	v->btime = c->btime.tv_sec;
	v->bnsec = c->btime.tv_nsec;
	v->mode = s->st_mode;
	v->nlink = (uint32_t)s->st_nlink;
	v->uid = s->st_uid;
	v->gid = s->st_gid;
	v->blksize = (uint32_t)s->st_blksize;
	v->has_btime = c->has_btime;
	v->from_statx = c->from_statx;
}

/* 0, or -1 when the value cannot be a real answer (a scribble that passed
 * the checksum): it is a miss. */
static int from_val(struct vbf_cval *c, const struct sc_val *v)
{
	memset(c, 0, sizeof *c);
	if (v->err != 0 && v->err != ENOENT)
		return -1;
	c->err = v->err;
	if (v->err)
		return 0;
	if (v->ansec >= 1000000000u || v->mnsec >= 1000000000u || v->cnsec >= 1000000000u ||
	    v->bnsec >= 1000000000u || v->has_btime > 1 || v->from_statx > 1 || !vbf_share_dev((dev_t)v->dev))
		return -1;
	struct stat *s = &c->st;
	s->st_ino = v->ino;
	s->st_size = (off_t)v->size;
	s->st_blocks = (blkcnt_t)v->blocks;
	s->st_rdev = (dev_t)v->rdev;
	s->st_dev = (dev_t)v->dev;
	s->st_atim.tv_sec = v->atime;
	s->st_mtim.tv_sec = v->mtime;
	s->st_ctim.tv_sec = v->ctime;
	s->st_atim.tv_nsec = v->ansec;
	s->st_mtim.tv_nsec = v->mnsec;
	s->st_ctim.tv_nsec = v->cnsec;
	s->st_mode = v->mode;
	s->st_nlink = v->nlink;
	s->st_uid = v->uid;
	s->st_gid = v->gid;
	s->st_blksize = (blksize_t)v->blksize;
	c->attr = v->attr;
	c->attr_mask = v->attr_mask;
	c->btime.tv_sec = v->btime;
	c->btime.tv_nsec = v->bnsec;
	c->has_btime = v->has_btime;
	c->from_statx = v->from_statx;
	return 0;
}

static int usable(void) { return P && vbf_euid() == owner; }

static struct sc_ent *set_of(uint64_t h) { return &P->e[(size_t)((h ^ (h >> 29)) & (nsets - 1)) * WAYS]; }

int vbf_scache_get(const struct vbf_cq *q, uint64_t root, uint64_t now, struct vbf_cval *out)
{
	if (!usable())
		return 0;
	struct sc_ent *set = set_of(q->h64), c;
	for (uint32_t w = 0; w < WAYS; w++) {
		struct sc_ent *e = &set[w];
		uint32_t v1 = vbf_slot_read_begin(&e->ver);
		if ((v1 & 1) || e->h != q->h64)
			continue;
		memcpy(&c, e, sizeof c);
		if (!vbf_slot_read_ok(&e->ver, v1))
			continue;
		if (c.root != root || c.klen != KLEN(q) || c.klen > SC_KEYCAP || memcmp(c.k, KEY(q), c.klen) ||
		    c.sum != checksum(&c) || c.t > now || now - c.t >= (uint64_t)vbf_cfg.ttl_ms ||
		    from_val(out, &c.v) < 0)
			continue;
		out->seq = c.seq;
		out->t = c.t;
		return 1;
	}
	return 0;
}

/* A writer holds an entry for a microsecond: one odd for longer was left by
 * a writer that died (or was stopped; taking over then costs a torn entry,
 * which is a miss). */
#define DEAD_MS 100

/* The entry of the set to write: the key's own, else an empty one, else one
 * a dead writer left odd, else an expired one, else one at random (the
 * oldest would make names read in a cycle, more than WAYS to a set, evict
 * each other every time). Taken with a CAS; returns the version to give it
 * back with, or 0. */
static uint32_t take(struct sc_ent *set, const struct vbf_cq *q, uint64_t root, uint64_t now, struct sc_ent **out)
{
	struct sc_ent *e = NULL, *dead = NULL, *old = NULL;
	for (uint32_t w = 0; w < WAYS && !e; w++) {
		struct sc_ent *x = &set[w];
		uint32_t v = atomic_load_explicit(&x->ver, memory_order_relaxed);
		if (v & 1) {
			if (!dead && vbf_slot_dead(&x->claimed, now, DEAD_MS))
				dead = x;
		} else if (v == 0 || (x->h == q->h64 && x->root == root)) {
			e = x;
		} else if (!old && (x->t > now || now - x->t >= (uint64_t)vbf_cfg.ttl_ms)) {
			old = x;
		}
	}
	if (!e)
		e = dead ? dead : old ? old : &set[(q->h64 >> 32 ^ now ^ (now >> 7)) % WAYS];
	uint32_t mine = vbf_slot_claim(&e->ver, &e->claimed, now);
	*out = e;
	return mine;
}

void vbf_scache_put(const struct vbf_cq *q, uint64_t root, const struct vbf_cval *c)
{
	if (!usable() || q->klen < 1 || KLEN(q) > SC_KEYCAP)
		return;
	struct sc_ent *e = NULL, n;
	uint32_t mine = take(set_of(q->h64), q, root, vbf_cache_clock(), &e);
	if (!mine)
		return; /* another writer is at it: this answer is just not shared */
	memset(&n, 0, sizeof n);
	n.klen = KLEN(q);
	n.h = q->h64;
	n.root = root;
	n.t = c->t;
	n.seq = c->seq;
	to_val(&n.v, c);
	memcpy(n.k, KEY(q), n.klen);
	n.sum = checksum(&n);
	size_t skip = offsetof(struct sc_ent, h);
	memcpy((char *)e + skip, (char *)&n + skip, sizeof n - skip);
	e->klen = n.klen;
	vbf_slot_give(&e->ver, mine);
}
