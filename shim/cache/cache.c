/* SPDX-License-Identifier: MIT */
/* The metadata cache (cache.h): the in-process table. The shared page and
 * the open-for-write registry are in cache_shm.c.
 *
 * Entries live in fixed-size slots taken from mmap'd chunks, never from
 * malloc (a stat from a signal handler that interrupted malloc must not
 * deadlock), and are recycled by a clock sweep once VBOXFIX_CACHE_MAX slots
 * exist: memory is bounded by VBOXFIX_CACHE_MAX * ENT_SIZE however many
 * paths a process walks.
 */
#include "cache_int.h"
#include "config.h"
#include "lock.h"
#include "statconv.h"
#include "log.h"
#include "real.h"
#include <sys/sysmacros.h>

/* raw, as the store's arena (base/arena.c): these run under the cache's
 * lock, where a first REAL() call would resolve the whole table */
static void *map_pages(size_t n)
{
	int saved = errno;
	long p = vbf_raw_syscall(SYS_mmap, 0, (long)n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	errno = saved;
	return p == -1 ? NULL : (void *)p;
}

static void unmap_pages(void *p, size_t n)
{
	int saved = errno;
	vbf_raw_syscall(SYS_munmap, (long)p, (long)n, 0, 0, 0, 0);
	errno = saved;
}

static int add_failed;
#undef uthash_malloc
#undef uthash_free
#define uthash_malloc(sz) map_pages(sz)
#define uthash_free(p, sz) unmap_pages(p, sz)
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(e) (add_failed = 1)
#include <uthash.h>

#define ENT_SIZE 512
#define CHUNK_ENTS 1024
#define MAX_CHUNKS 4096 /* 4M entries: far above any sane VBOXFIX_CACHE_MAX */

struct cent {
	UT_hash_handle hh;
	struct vbf_cval v;
	uint32_t self, slot, next_free;
	uint16_t depth, klen;
	uint8_t used, ref;
	uint16_t anc[VBF_CACHE_DEPTH + 1];
	char k[VBF_CACHE_KEYCAP];
};
_Static_assert(sizeof(struct cent) <= ENT_SIZE, "cache entry outgrew its slot");

int vbf_cache_enabled;
static vbf_lock lk;
static struct cent *tab;
static struct cent *chunks[MAX_CHUNKS];
static uint32_t nslots, cap, hand, free_head; /* free_head: slot + 1, 0 = none */
static unsigned long held;


/* A signal handler re-entering while its thread holds the lock would spin
 * forever: it skips the cache instead. */
static int enter(void) { return vbf_enter(&lk); }
static void leave(void) { vbf_leave(&lk); }

void vbf_cache_hold(int on)
{
	if (on)
		enter();
	else
		leave();
}

static struct cent *slot_at(uint32_t i) { return (struct cent *)((char *)chunks[i / CHUNK_ENTS] + (size_t)(i % CHUNK_ENTS) * ENT_SIZE); }

static void drop(struct cent *e)
{
	HASH_DELETE(hh, tab, e);
	e->used = 0;
	e->next_free = free_head;
	free_head = e->slot + 1;
	held--;
}

/* A slot for a new entry: a free one, a new one while under the cap, else
 * the clock's victim (an entry not hit since the hand last passed). */
static struct cent *take_slot(void)
{
	if (free_head) {
		struct cent *e = slot_at(free_head - 1);
		free_head = e->next_free;
		return e;
	}
	if (nslots < cap) {
		uint32_t c = nslots / CHUNK_ENTS;
		if (!chunks[c] && !(chunks[c] = map_pages((size_t)CHUNK_ENTS * ENT_SIZE)))
			return NULL;
		struct cent *e = slot_at(nslots);
		e->slot = nslots++;
		return e;
	}
	for (uint32_t n = 0; n < 2 * nslots + 1; n++) {
		if (hand >= nslots)
			hand = 0;
		struct cent *e = slot_at(hand++);
		if (!e->used)
			return e;
		if (e->ref) {
			e->ref = 0;
			continue;
		}
		drop(e);
		free_head = e->next_free; /* take it back off the free list */
		return e;
	}
	return NULL;
}

/* The two hashes of a key: the process table's and the shared table's. */
static void set_hash(struct vbf_cq *q, uint64_t h, int follow)
{
	q->hv = (uint32_t)(h ^ (h >> 32)) ^ (uint32_t)follow;
	q->h64 = h ^ (follow ? 0x9e3779b97f4a7c15ull : 0);
}

/* q's key: (share, follow, key) and its hashes. */
static int set_key(struct vbf_cq *q, int idx, const char *key, int follow)
{
	size_t kl = strlen(key);
	if (kl + 2 > sizeof q->k)
		return -1;
	q->k[0] = (char)idx;
	q->k[1] = (char)follow;
	memcpy(q->k + 2, key, kl);
	q->klen = (uint16_t)(kl + 2);
	uint64_t h;
	if (vbf_cache_key_hash(idx, key, q->anc, &q->depth, &h) < 0)
		return -1;
	q->self = q->anc[q->depth - 1];
	set_hash(q, h, follow);
	return 0;
}

/* A quick no for absolute paths that do not start with a share's root: the
 * common case outside shares pays two string compares. A path that reaches
 * a share some other way (symlink, "//") is simply not cached. A name
 * relative to a directory descriptor (what tree walkers use: fts in find,
 * chown -R, tar, git) is keyed by the directory's name from /proc, one
 * readlink and no request, and only for a descriptor opened on a share
 * (fdtab.h): any other costs nothing. The key is the one a path gives, so
 * a change through any name drops the entry. */
static int prepare(struct vbf_cq *q, int dirfd, const char *path, int follow)
{
	if (vbf_cache_dotdot(path))
		return -1;
	struct vbf_where w;
	if (vbf_where_name(dirfd, path, &w) < 0 || !w.key)
		return -1;
	return set_key(q, w.idx, w.key, follow);
}

/* q's name cut to its first j components (1 <= j <= depth - 2), followed
 * (a missing directory is missing whether or not a link led there): the key
 * of a directory above q, for the negative answers below one. */
static void cut(const struct vbf_cq *q, uint16_t j, struct vbf_cq *p)
{
	const char *key = q->k + 2;
	uint16_t n = 0, seen = 0;
	while (n < q->klen - 2 && !(key[n] == '/' && ++seen == j))
		n++;
	p->k[0] = q->k[0];
	p->k[1] = 1;
	memcpy(p->k + 2, key, n);
	p->klen = (uint16_t)(n + 2);
	memcpy(p->anc, q->anc, sizeof p->anc[0] * (j + 1u));
	p->depth = (uint16_t)(j + 1);
	p->self = p->anc[j];
	set_hash(p, vbf_cache_prefix_hash((uint8_t)q->k[0], key, n), 1);
}

static void to_statx(const struct vbf_cval *e, unsigned mask, struct statx *x)
{
	const struct stat *s = &e->st;
	memset(x, 0, sizeof *x);
	x->stx_mask = STATX_BASIC_STATS | (e->has_btime && (mask & STATX_BTIME) ? STATX_BTIME : 0);
	x->stx_blksize = (uint32_t)s->st_blksize;
	x->stx_attributes = e->attr;
	x->stx_attributes_mask = e->attr_mask;
	x->stx_nlink = (uint32_t)s->st_nlink;
	x->stx_uid = s->st_uid;
	x->stx_gid = s->st_gid;
	x->stx_mode = (uint16_t)s->st_mode;
	x->stx_ino = s->st_ino;
	x->stx_size = (uint64_t)s->st_size;
	x->stx_blocks = (uint64_t)s->st_blocks;
	x->stx_atime.tv_sec = s->st_atim.tv_sec;
	x->stx_atime.tv_nsec = (uint32_t)s->st_atim.tv_nsec;
	x->stx_mtime.tv_sec = s->st_mtim.tv_sec;
	x->stx_mtime.tv_nsec = (uint32_t)s->st_mtim.tv_nsec;
	x->stx_ctime.tv_sec = s->st_ctim.tv_sec;
	x->stx_ctime.tv_nsec = (uint32_t)s->st_ctim.tv_nsec;
	if (x->stx_mask & STATX_BTIME)
		x->stx_btime = e->btime;
	x->stx_rdev_major = major(s->st_rdev);
	x->stx_rdev_minor = minor(s->st_rdev);
	x->stx_dev_major = major(s->st_dev);
	x->stx_dev_minor = minor(s->st_dev);
}

/* statx fields a cached entry can honestly give */
#define STATX_CACHEABLE (STATX_BASIC_STATS | STATX_BTIME)

/* Answer from an entry: HIT or NEG, or MISS when it lacks what statx asks. */
static int answer(const struct vbf_cval *v, struct stat *st, struct statx *stx, unsigned mask)
{
	if (stx && v->err == 0 && (mask & STATX_BTIME) && !v->has_btime && v->from_statx == 0)
		return VBF_CACHE_MISS; /* a birth time a stat-filled entry does not know */
	if (v->err)
		return VBF_CACHE_NEG;
	if (st)
		*st = v->st;
	else
		to_statx(v, mask, stx);
	return VBF_CACHE_HIT;
}

static void put_local(struct vbf_cq *q, const struct vbf_cval *v);

/* Under the lock: the answer held for q's key, ours or another process's
 * (copied into ours; `buf` holds it when ours has no room), checked for TTL
 * and changes; NULL when there is none. Valid until the lock is left. */
static const struct vbf_cval *find(struct vbf_cq *q, uint64_t now, struct vbf_cval *buf)
{
	struct cent *e;
	HASH_FIND_BYHASHVALUE(hh, tab, q->k, q->klen, q->hv, e);
	if (e) {
		int fresh = now - e->v.t < (uint64_t)vbf_cfg.ttl_ms;
		if (fresh && vbf_cache_valid(e->self, e->anc, e->depth, e->v.seq)) {
			e->ref = 1;
			return &e->v;
		}
		if (fresh)
			vbf_count(VBF_C_CACHE_INVAL);
		drop(e);
	}
	if (vbf_scache_get(q, vbf_cache_root_id((uint8_t)q->k[0]), now, buf) &&
	    vbf_cache_valid(q->self, q->anc, q->depth, buf->seq)) {
		put_local(q, buf);
		return buf;
	}
	return NULL;
}

/* Under the lock: is a directory above q's name known to be missing (then
 * so is q's name: the walk stops there with ENOENT)? The nearest directory
 * known either way decides. */
static int below_missing(const struct vbf_cq *q, uint64_t now)
{
	for (int j = q->depth - 2; j >= 1; j--) {
		struct vbf_cq p;
		struct vbf_cval buf;
		cut(q, (uint16_t)j, &p);
		const struct vbf_cval *v = find(&p, now, &buf);
		if (v)
			return v->err == ENOENT;
	}
	return 0;
}

/* The lookup proper, q prepared. */
static int lookup_q(struct vbf_cq *q, struct stat *st, struct statx *stx, unsigned mask)
{
	if (!enter())
		return VBF_CACHE_SKIP;
	int rc = VBF_CACHE_MISS;
	uint64_t now = vbf_cache_clock();
	struct vbf_cval buf;
	const struct vbf_cval *v = find(q, now, &buf);
	if (v)
		rc = answer(v, st, stx, mask);
	else if (below_missing(q, now))
		rc = VBF_CACHE_NEG;
	if (rc == VBF_CACHE_MISS) {
		/* both taken before the real call: a change that lands after
		 * them makes what it returns stale, and is caught */
		q->seq = vbf_cache_seq();
		q->t = now;
	}
	leave();
	vbf_count(rc == VBF_CACHE_MISS ? VBF_C_CACHE_MISS : VBF_C_CACHE_HIT);
	if (rc != VBF_CACHE_MISS)
		vbf_count(VBF_C_AVOIDED);
	return rc;
}

int vbf_cache_lookup(int dirfd, const char *path, int follow, struct stat *st, struct statx *stx, unsigned mask,
		     struct vbf_cq *q)
{
	if ((path[0] == '/' && !vbf_abs_maybe_share(path)) || (stx && (mask & ~STATX_CACHEABLE & ~(unsigned)STATX__RESERVED)))
		return VBF_CACHE_SKIP;
	int saved = errno;
	int rc = prepare(q, dirfd, path, follow) < 0 ? VBF_CACHE_SKIP : lookup_q(q, st, stx, mask);
	errno = saved;
	return rc;
}

int vbf_cache_stat_where(const struct vbf_where *w, const char *path, int follow, struct stat *st, struct vbf_cq *q)
{
	if (!vbf_cache_enabled || w->idx < 0 || !w->key || !path || !*path || vbf_cache_dotdot(path))
		return VBF_CACHE_SKIP;
	int saved = errno;
	int rc = set_key(q, w->idx, w->key, follow) < 0 ? VBF_CACHE_SKIP : lookup_q(q, st, NULL, 0);
	errno = saved;
	return rc;
}

/* Under the lock. */
static void put_local(struct vbf_cq *q, const struct vbf_cval *v)
{
	struct cent *e;
	HASH_FIND_BYHASHVALUE(hh, tab, q->k, q->klen, q->hv, e);
	if (e)
		drop(e);
	e = take_slot();
	if (!e)
		return;
	e->used = 1;
	e->ref = 0;
	e->v = *v;
	e->self = q->self;
	e->depth = q->depth;
	memcpy(e->anc, q->anc, sizeof e->anc[0] * q->depth);
	e->klen = q->klen;
	memcpy(e->k, q->k, q->klen);
	add_failed = 0;
	HASH_ADD_KEYPTR_BYHASHVALUE(hh, tab, e->k, e->klen, q->hv, e);
	if (add_failed) {
		e->used = 0;
		e->next_free = free_head;
		free_head = e->slot + 1;
	} else {
		held++;
	}
}

static void insert(struct vbf_cq *q, const struct stat *st, const struct statx *x, int err)
{
	if (vbf_cache_busy(q->self))
		return; /* open for writing somewhere: its size and times move */
	struct vbf_cval v;
	memset(&v, 0, sizeof v);
	v.err = err;
	if (st)
		v.st = *st;
	v.from_statx = x != NULL;
	v.has_btime = x && (x->stx_mask & STATX_BTIME);
	if (v.has_btime)
		v.btime = x->stx_btime;
	v.attr = x ? x->stx_attributes : 0;
	v.attr_mask = x ? x->stx_attributes_mask : 0;
	v.seq = q->seq;
	v.t = q->t;
	if (!enter())
		return;
	put_local(q, &v);
	leave();
	vbf_scache_put(q, vbf_cache_root_id((uint8_t)q->k[0]), &v);
}

/* A name was missing: find out which directory above it is (if one is)
 * and remember it, so that every name below it is answered (module
 * resolution asks for many names in node_modules directories that do not
 * exist). One stat of each directory not known yet, nearest first, until
 * one exists: at most one extra request per directory per TTL. */
static void probe_above(const struct vbf_cq *q)
{
	int idx = (uint8_t)q->k[0];
	if (idx >= vbf_nshares)
		return;
	const char *root = vbf_shares[idx].root;
	size_t rl = strlen(root);
	for (int j = q->depth - 2; j >= 1; j--) {
		struct vbf_cq p;
		struct vbf_cval buf;
		cut(q, (uint16_t)j, &p);
		if (!enter())
			return;
		int known = find(&p, vbf_cache_clock(), &buf) != NULL;
		p.seq = vbf_cache_seq();
		p.t = vbf_cache_clock();
		leave();
		char path[PATH_MAX];
		if (known || rl + p.klen + 1 > sizeof path)
			return;
		memcpy(path, root, rl);
		path[rl] = '/';
		memcpy(path + rl + 1, p.k + 2, p.klen - 2u);
		path[rl + p.klen - 1] = 0;
		/* not following: a symlink there (dangling, or to a directory
		 * elsewhere) is not the directory's own name, and an answer
		 * under it would outlive a create of its target */
		struct stat st;
		if (REAL(fstatat)(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISDIR(st.st_mode) && vbf_share_dev(st.st_dev))
				insert(&p, &st, NULL, 0);
			return;
		}
		if (errno != ENOENT)
			return;
		insert(&p, NULL, NULL, ENOENT);
	}
}

void vbf_cache_fill(struct vbf_cq *q, int r, const struct stat *st)
{
	int saved = errno;
	if (r == 0 && vbf_share_dev(st->st_dev)) {
		insert(q, st, NULL, 0);
	} else if (r != 0 && saved == ENOENT) {
		insert(q, NULL, NULL, ENOENT);
		probe_above(q);
	}
	errno = saved;
}

int vbf_cache_fd_begin(struct vbf_cq *q)
{
	q->seq = vbf_cache_seq();
	q->t = vbf_cache_clock();
	return VBF_CACHE_FD;
}

int vbf_cache_dir_canonical(int idx, const char *key, const char *path)
{
	const char *slash = strrchr(key, '/');
	char dir[VBF_CACHE_KEYCAP];
	size_t n = slash ? (size_t)(slash - key) : 0;
	int saved = errno, yes = 0;
	/* ".." in the text was resolved lexically in the key: not the kernel's */
	if (!vbf_cache_enabled || n + 1 > sizeof dir || vbf_cache_dotdot(path))
		return 0;
	memcpy(dir, key, n);
	dir[n] = 0;
	if (n && vbf_cache_dir_memo(idx, dir, n)) {
		errno = saved;
		return 1;
	}
	uint64_t now = vbf_cache_clock();
	/* a directory's entry, followed or not, is under its canonical name
	 * only (cache.h); followed, the name is no symlink to elsewhere, and
	 * not followed, a directory is no symlink */
	for (int follow = 1; follow >= 0 && !yes; follow--) {
		struct vbf_cq q;
		struct vbf_cval buf;
		if (set_key(&q, idx, dir, follow) < 0 || !enter())
			break;
		const struct vbf_cval *v = find(&q, now, &buf);
		yes = v && !v->err && S_ISDIR(v->st.st_mode);
		leave();
	}
	errno = saved;
	return yes;
}

int vbf_cache_fd_lookup(int fd, struct stat *st, struct vbf_cq *q)
{
	static const char del[] = " (deleted)";
	int saved = errno, rc = VBF_CACHE_FD;
	struct vbf_where w;
	char name[PATH_MAX];
	uint64_t s0 = vbf_cache_seq(), now = vbf_cache_clock();
	/* the name read after s0: an entry filled before s0 and still valid
	 * tells of no change to that name since, so what the name held when
	 * /proc gave it, the descriptor's object, is what the entry says. An
	 * unlinked file has no name to ask by (and finding out whether the
	 * suffix is a real name's would cost a request). */
	ssize_t n = vbf_fd_path(fd, name, sizeof name);
	if (n > 0 && name[0] == '/' &&
	    ((size_t)n < sizeof del - 1 || memcmp(name + n - (sizeof del - 1), del, sizeof del - 1)) &&
	    vbf_where_name(AT_FDCWD, name, &w) >= 0 && w.key) {
		/* the name's own entry (lstat's); a stat's is the same object
		 * unless the descriptor is a symlink's (O_PATH) */
		for (int follow = 0; follow < 2 && rc != VBF_CACHE_HIT; follow++) {
			if (follow && (REAL(fcntl)(fd, F_GETFL) & O_PATH))
				break;
			if (set_key(q, w.idx, w.key, follow) < 0 || !enter())
				break;
			struct vbf_cval buf;
			const struct vbf_cval *v = find(q, now, &buf);
			/* a directory only: a file replaced or rewritten outside the
			 * library since the entry was filled is another size under
			 * the same name, and a program reads st_size bytes of the
			 * descriptor (a compiler, mmap), where a stale stat by name
			 * is only a stale answer (docs/design.md, "Descriptors") */
			if (v && v->seq <= s0 && S_ISDIR(v->st.st_mode) && answer(v, st, NULL, 0) == VBF_CACHE_HIT)
				rc = VBF_CACHE_HIT;
			leave();
		}
	}
	vbf_count(rc == VBF_CACHE_HIT ? VBF_C_CACHE_HIT : VBF_C_CACHE_MISS);
	if (rc == VBF_CACHE_HIT)
		vbf_count(VBF_C_AVOIDED);
	q->seq = s0;
	q->t = now;
	errno = saved;
	return rc;
}

void vbf_cache_fill_fd(struct vbf_cq *q, const struct vbf_where *w, const struct stat *st)
{
	int saved = errno;
	/* a descriptor of a symlink (O_PATH|O_NOFOLLOW) answers for lstat
	 * only; anything else answers for both, its name being its own */
	for (int follow = !S_ISLNK(st->st_mode); follow >= 0; follow--)
		if (w->idx >= 0 && w->key && vbf_share_dev(st->st_dev) && set_key(q, w->idx, w->key, follow) == 0)
			insert(q, st, NULL, 0);
	errno = saved;
}

void vbf_cache_fillx(struct vbf_cq *q, int r, const struct statx *x)
{
	int saved = errno;
	if (r == 0 && (x->stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS) {
		struct stat st;
		vbf_stat_from_statx(&st, x);
		if (vbf_share_dev(st.st_dev))
			insert(q, &st, x, 0);
	} else if (r != 0 && saved == ENOENT) {
		insert(q, NULL, NULL, ENOENT);
		probe_above(q);
	}
	errno = saved;
}

unsigned long vbf_cache_size(void) { return held; }

static void table_init(void)
{
	long m = vbf_cfg.cache_max;
	if (m > (long)MAX_CHUNKS * CHUNK_ENTS)
		m = (long)MAX_CHUNKS * CHUNK_ENTS;
	cap = (uint32_t)(m > 0 ? m : 0);
}

/* fork: the lock is held across it so the child's table is whole (a thread
 * forking from inside the cache, in a signal handler, skips: its child
 * resets). */
void vbf_cache_atfork_prepare(void)
{
	vbf_lock_take(&lk);
	vbf_cache_dir_atfork(-1);
}

void vbf_cache_atfork_parent(void)
{
	vbf_cache_dir_atfork(0);
	vbf_unlock(&lk);
}

void vbf_cache_table_reset(void)
{
	if (!enter())
		return;
	HASH_CLEAR(hh, tab);
	for (uint32_t i = 0; i < MAX_CHUNKS && chunks[i]; i++) {
		unmap_pages(chunks[i], (size_t)CHUNK_ENTS * ENT_SIZE);
		chunks[i] = NULL;
	}
	nslots = hand = free_head = 0;
	held = 0;
	leave();
	vbf_cache_dir_forget();
}

/* Start-up, fork and reset of the whole cache: this table, the page of
 * generations (cache_shm.c) and the table a uid's processes share
 * (cache_shared.c), in that order of dependence. */
void vbf_cache_init(void)
{
	table_init();
	vbf_cache_enabled = vbf_cache_shm_init() && vbf_cfg.ttl_ms > 0 && vbf_cfg.cache_max > 0;
	if (vbf_cache_enabled)
		vbf_scache_init();
}

void vbf_cache_atfork_child(void)
{
	vbf_lock_reset(&lk);
	vbf_cache_dir_atfork(1);
	vbf_cache_shm_atfork_child();
}

void vbf_cache_reset(void)
{
	vbf_cache_table_reset();
	vbf_cache_shm_reset();
	vbf_scache_reset();
	vbf_cache_enabled = 0;
}
