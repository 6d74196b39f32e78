/* SPDX-License-Identifier: MIT */
/* The cache's shared half: a page (shpage.h) that every process under the
 * library attaches, holding
 *   - a sequence number, bumped by every change a wrapper makes on a share;
 *   - per hash bucket, the sequence of the last change to a name ("self":
 *     its parent's listing changed) and to a name or anything below it
 *     ("tree");
 *   - per hash bucket, how many descriptors are open for writing.
 * The store's page is the same idea for records; this one is separate
 * because it is keyed by bucket and must work with no store file.
 * No locks, no descriptor kept open: plain atomics on a shared mapping, so
 * nothing here blocks, allocates or can be closed by a program.
 *
 * Each open-for-write also claims a slot naming its process: a process
 * that dies (or execs and then dies) with descriptors open for writing
 * leaves slots behind, and the next process to start gives back the slots
 * of processes that no longer exist. Until then those names are just not
 * cached, which is safe. Slots are tried by pid: processes in different pid
 * namespaces sharing one IPC namespace could take a live writer for dead
 * (documented limit).
 *
 * Any local user can write every byte of the page. What that may cost is
 * bounded: every bucket, slot index and pid read from it is range-checked
 * before use (a bucket of a token is kept in process memory, never re-read
 * from the page); loops over it are bounded (reap probes at most
 * REAP_PROBES pids per start, a CAS loop gives up after RAISE_TRIES); forged
 * counts and generations only cost misses, or keep an entry for at most
 * VBOXFIX_TTL_MS (a generation rewound, a busy count set to 0); a busy
 * count set high keeps that bucket's names out of the cache until the
 * segment is removed. The segment cannot shrink (shpage.h): no SIGBUS.
 */
#include "cache_int.h"
#include "config.h"
#include "log.h"
#include "real.h"
#include <time.h>

#define B_MASK (VBF_CACHE_NB - 1)
#define NSLOT VBF_CACHE_NSLOT
/* A token (what a descriptor open for writing holds): TOK_ON, the bucket,
 * and slot + 1 (0: counted without a slot, all slots were taken). */
#define TOK_ON (1u << 30)
#define TOK_BSHIFT 13
#define TOK_SLOT 0x1fffu
_Static_assert(NSLOT < TOK_SLOT && ((uint64_t)B_MASK << TOK_BSHIFT) < TOK_ON, "token fields overlap");
#define PID_LIMIT 4194304 /* the kernel's PID_MAX_LIMIT: no pid reaches it */
#define REAP_PROBES 256   /* kill(pid, 0) per start, at most */
#define RAISE_TRIES 64

const char *vbf_cache_shm_path = "vboxfix-cache";
unsigned vbf_cache_reap_probes;
static struct vbf_cache_page *S;
static uint64_t seed[VBF_MAX_SHARES];
/* Per descriptor: the token of what it has open for writing, else 0. */
static _Atomic uint32_t wfd[VBF_FDTAB_SIZE];
static atomic_int nwfd;
static int mypid;

static uint32_t tok_bucket(uint32_t t) { return (t >> TOK_BSHIFT) & B_MASK; }

struct vbf_cache_page *vbf_cache_page(void) { return S; }

#define FNV_P 0x100000001b3ull

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * FNV_P;
	return h;
}

static uint32_t bucket(uint64_t h) { return (uint32_t)(h ^ (h >> 31)) & B_MASK; }

int vbf_cache_key_hash(int idx, const char *key, uint16_t *anc, uint16_t *depth, uint64_t *h)
{
	if (idx < 0 || idx >= VBF_MAX_SHARES)
		return -1;
	uint64_t x = seed[idx];
	uint16_t d = 0;
	anc[d++] = (uint16_t)bucket(x);
	for (const char *p = key; *p; p++) {
		if (*p == '/') {
			if (d >= VBF_CACHE_DEPTH)
				return -1;
			anc[d++] = (uint16_t)bucket(x);
		}
		x = (x ^ (uint8_t)*p) * FNV_P;
	}
	if (*key) {
		if (d > VBF_CACHE_DEPTH)
			return -1;
		anc[d++] = (uint16_t)bucket(x);
	}
	*depth = d;
	*h = x;
	return 0;
}

uint64_t vbf_cache_prefix_hash(int idx, const char *key, size_t n)
{
	return idx < 0 || idx >= VBF_MAX_SHARES ? 0 : fnv(seed[idx], key, n);
}

uint64_t vbf_cache_root_id(int idx)
{
	if (idx < 0 || idx >= VBF_MAX_SHARES)
		return 0;
	return (seed[idx] ^ (uint64_t)vbf_shares[idx].dev) * FNV_P;
}

int vbf_cache_busy(uint32_t b) { return S && atomic_load(&S->busy[b & B_MASK]) > 0; }

uint64_t vbf_cache_seq(void) { return S ? atomic_load(&S->seq) : 0; }

int vbf_cache_valid(uint32_t self, const uint16_t *anc, uint16_t depth, uint64_t seq)
{
	/* busy first: a writer bumps before it uncounts, so a reader that sees
	 * the count gone also sees the bump */
	if (!S || depth > VBF_CACHE_DEPTH + 1 || atomic_load(&S->busy[self & B_MASK]) > 0)
		return 0;
	if (atomic_load_explicit(&S->self_gen[self & B_MASK], memory_order_acquire) > seq)
		return 0;
	for (uint16_t i = 0; i < depth; i++)
		if (atomic_load_explicit(&S->tree_gen[anc[i] & B_MASK], memory_order_acquire) > seq)
			return 0;
	return 1;
}

/* Bounded: a writer outside the library rewriting the word as fast as we
 * read it must not keep us here. Giving up leaves the change unpublished,
 * which only that writer could arrange anyway (it can write any value). */
static void raise_to(atomic_uint_least64_t *g, uint64_t s)
{
	uint64_t cur = atomic_load(g);
	for (int n = 0; n < RAISE_TRIES && cur < s; n++)
		if (atomic_compare_exchange_weak(g, &cur, s))
			return;
}

static void bump_bucket(uint32_t b)
{
	if (b >= VBF_CACHE_NB)
		return;
	uint64_t s = atomic_fetch_add(&S->seq, 1) + 1;
	raise_to(&S->tree_gen[b], s);
	raise_to(&S->self_gen[b], s);
}

void vbf_cache_changed_key(int idx, const char *key)
{
	if (!S || idx < 0 || idx >= VBF_MAX_SHARES || !key)
		return;
	size_t n = strlen(key);
	const char *slash = strrchr(key, '/');
	uint64_t s = atomic_fetch_add(&S->seq, 1) + 1;
	raise_to(&S->tree_gen[bucket(fnv(seed[idx], key, n))], s);
	if (n) /* the parent's listing, size and times changed too */
		raise_to(&S->self_gen[bucket(fnv(seed[idx], key, slash ? (size_t)(slash - key) : 0))], s);
}

void vbf_cache_changed(int dirfd, const char *path)
{
	struct vbf_where w;
	if (!S || !path) /* S is attached only once started with shares */
		return;
	int saved = errno;
	if (vbf_where_name(dirfd, path, &w) >= 0 && w.key)
		vbf_cache_changed_key(w.idx, vbf_cache_dotdot(path) ? "" : w.key);
	errno = saved;
}

void vbf_cache_changed_fd(int fd)
{
	struct vbf_where w;
	if (!S || fd < 0)
		return;
	int saved = errno;
	uint32_t t = fd < VBF_FDTAB_SIZE ? atomic_load(&wfd[fd]) : 0;
	if (t)
		bump_bucket(tok_bucket(t));
	/* the name it has now too: a rename since the open left the token's
	 * bucket with the old name, and another process's entry of the new
	 * one would be served (one readlink of /proc, no request) */
	if (vbf_fd_marked(fd) && vbf_where_name(fd, "", &w) >= 0 && w.key)
		vbf_cache_changed_key(w.idx, w.key);
	errno = saved;
}

/* ---- open for writing ---- */

static uint32_t claim(uint32_t b)
{
	b &= B_MASK;
	atomic_fetch_add(&S->busy[b], 1);
	for (uint32_t n = 0, i = ((uint32_t)mypid * 31u + b) % NSLOT; n < NSLOT; n++, i = (i + 1) % NSLOT) {
		int zero = 0;
		if (atomic_load_explicit(&S->slot[i].pid, memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_strong(&S->slot[i].pid, &zero, mypid)) {
			atomic_store(&S->slot[i].bucket, b + 1);
			return TOK_ON | b << TOK_BSHIFT | (i + 1);
		}
	}
	return TOK_ON | b << TOK_BSHIFT;
}

int vbf_cache_write_begin(const struct vbf_where *w, int writes)
{
	if (!S || !writes || w->idx < 0 || w->idx >= VBF_MAX_SHARES || !w->key)
		return 0;
	return (int)claim(bucket(fnv(seed[w->idx], w->key, strlen(w->key))));
}

void vbf_cache_fd_release(int token)
{
	uint32_t t = (uint32_t)token;
	if (!S || token <= 0 || !(t & TOK_ON))
		return;
	uint32_t b = tok_bucket(t), i = t & TOK_SLOT;
	if (i) {
		if (i > NSLOT)
			return;
		struct vbf_cache_wslot *sl = &S->slot[i - 1];
		int me = mypid;
		/* no longer ours: a start-up took us for dead and gave it back
		 * (and uncounted it), or it was written from outside (then the
		 * count stays up: that bucket is just not cached) */
		if (atomic_load(&sl->pid) != me)
			return;
		uint32_t v = atomic_exchange(&sl->bucket, 0);
		atomic_compare_exchange_strong(&sl->pid, &me, 0);
		if (!v)
			return; /* given back meanwhile */
	}
	/* the file's size and times moved while it was open: bump, then
	 * uncount (vbf_cache_valid reads in the other order). The bucket is
	 * the token's, never what the slot now says. */
	bump_bucket(b);
	atomic_fetch_sub(&S->busy[b], 1);
}

static void track(int fd, uint32_t token)
{
	uint32_t old = atomic_exchange(&wfd[fd], token);
	if (old)
		vbf_cache_fd_release((int)old);
	else
		atomic_fetch_add(&nwfd, 1);
}

void vbf_cache_write_end(int token, int fd, const struct vbf_where *w)
{
	if (token <= 0)
		return;
	int saved = errno;
	if (fd < 0)
		vbf_cache_fd_release(token);
	else if (fd < VBF_FDTAB_SIZE)
		track(fd, (uint32_t)token);
	/* else: never uncounted here; given back when this process is gone */
	vbf_cache_changed_key(w->idx, w->key);
	errno = saved;
}

static void give_back(uint32_t i, int pid, int uncount)
{
	uint32_t v = atomic_exchange(&S->slot[i].bucket, 0);
	if (uncount && v && v <= VBF_CACHE_NB) {
		bump_bucket(v - 1);
		atomic_fetch_sub(&S->busy[v - 1], 1);
	}
	atomic_compare_exchange_strong(&S->slot[i].pid, &pid, 0);
}

/* Give back the slots of processes that no longer exist. Every start runs
 * it (a writer that died is cached again by the next process), so its cost
 * is bounded whatever the page says: a pid no process can have is cleared
 * without a system call (and without uncounting: no writer of ours wrote
 * it), one process's many slots cost one probe, and at most REAP_PROBES
 * pids are probed, from a place that differs by pid, so what one start
 * leaves the next ones reach. */
static void reap(void)
{
	struct { int pid, dead; } memo[16];
	memset(memo, 0, sizeof memo);
	unsigned probes = 0;
	uint32_t start = ((uint32_t)mypid * 2654435761u) % NSLOT;
	for (uint32_t n = 0; n < NSLOT; n++) {
		uint32_t i = (start + n) % NSLOT;
		int p = atomic_load_explicit(&S->slot[i].pid, memory_order_relaxed);
		if (p == 0 || p == mypid)
			continue;
		if (p < 0 || p >= PID_LIMIT) { /* never kill() a negative pid: a process group */
			give_back(i, p, 0);
			continue;
		}
		int dead, h = p & 15;
		if (memo[h].pid == p) {
			dead = memo[h].dead;
		} else {
			if (probes >= REAP_PROBES)
				continue;
			probes++;
			/* raw: kill is not in the table, and signal 0 sends nothing */
			dead = RAW(SYS_kill, p, 0, 0, 0) < 0 && errno == ESRCH;
			memo[h].pid = p;
			memo[h].dead = dead;
		}
		if (dead)
			give_back(i, p, 1);
	}
	vbf_cache_reap_probes = probes;
}

int vbf_cache_fd_take(int fd)
{
	if (fd < 0 || fd >= VBF_FDTAB_SIZE || !atomic_load_explicit(&wfd[fd], memory_order_relaxed))
		return 0;
	uint32_t t = atomic_exchange(&wfd[fd], 0);
	if (t)
		atomic_fetch_sub(&nwfd, 1);
	return (int)t;
}

void vbf_cache_fd_copied(int from, int to)
{
	if (!S || from == to || to < 0 || to >= VBF_FDTAB_SIZE)
		return;
	int saved = errno;
	uint32_t t = from >= 0 && from < VBF_FDTAB_SIZE ? atomic_load(&wfd[from]) : 0;
	if (t)
		track(to, claim(tok_bucket(t)));
	else
		vbf_cache_fd_release(vbf_cache_fd_take(to)); /* dup2 closed it */
	errno = saved;
}

/* ---- the page ---- */

/* The page's part of the cache's start-up (cache.c): 1 when the page is
 * usable. */
int vbf_cache_shm_init(void)
{
	static atomic_int warned;
	int saved = errno;
	for (int i = 0; i < vbf_nshares && i < VBF_MAX_SHARES; i++)
		seed[i] = fnv(0xcbf29ce484222325ull, vbf_shares[i].root, strlen(vbf_shares[i].root));
	mypid = (int)REAL(getpid)();
	if (vbf_nshares > 0 && !S) {
		S = vbf_shpage_attach(vbf_cache_shm_path, sizeof *S, VBF_CACHE_MAGIC, VBF_CACHE_VERSION);
		if (S)
			reap();
		else if (!atomic_exchange(&warned, 1))
			vbf_log(VBF_WARN, "no usable shared page %s (SysV shm): metadata cache off", vbf_cache_shm_path);
	}
	errno = saved;
	return S != NULL;
}

void vbf_cache_shm_atfork_child(void)
{
	mypid = (int)REAL(getpid)();
	/* the child holds copies of the parent's write descriptors: they get
	 * slots of its own, which its closes (or its death) give back */
	if (!S || atomic_load(&nwfd) <= 0)
		return;
	for (int fd = 0; fd < VBF_FDTAB_SIZE; fd++) {
		uint32_t t = atomic_load_explicit(&wfd[fd], memory_order_relaxed);
		if (t)
			atomic_store(&wfd[fd], claim(tok_bucket(t)));
	}
}

void vbf_cache_shm_reset(void)
{
	for (int fd = 0; fd < VBF_FDTAB_SIZE; fd++)
		atomic_store(&wfd[fd], 0);
	atomic_store(&nwfd, 0);
	vbf_shpage_detach(S, sizeof *S);
	S = NULL;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	/* a vDSO call: no system call, jiffy resolution is plenty for a TTL */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
uint64_t (*vbf_cache_clock)(void) = mono_ms;
