/* The cache's shared half: a page in /dev/shm that every process under the
 * library maps, holding
 *   - a sequence number, bumped by every change a wrapper makes on a share;
 *   - per hash bucket, the sequence of the last change to a name ("self":
 *     its parent's listing changed) and to a name or anything below it
 *     ("tree");
 *   - per hash bucket, how many descriptors are open for writing.
 * The store's page (store_file.c) is the same idea for records; this one is
 * separate because it is keyed by bucket and must work with no store file.
 * No locks, no descriptor kept open: plain atomics on a shared mapping, so
 * nothing here blocks, allocates or can be closed by a program.
 *
 * Each open-for-write also claims a slot naming its process: a process
 * that dies (or execs and then dies) with descriptors open for writing
 * leaves slots behind, and the next process to start gives back the slots
 * of processes that no longer exist. Until then those names are just not
 * cached, which is safe. Slots are tried by pid: processes in different pid
 * namespaces sharing one /dev/shm could take a live writer for dead
 * (documented limit).
 */
#include "cache_int.h"
#include "config.h"
#include "log.h"
#include "real.h"
#include <stdatomic.h>

#define SHM_MAGIC 0x76626663u /* "cfbv" */
#define SHM_VERSION 2
#define B_MASK (VBF_CACHE_NB - 1)
#define NSLOT 4096u
#define T_COUNT 0x8000u /* token bit: counted, no slot (all slots taken) */

struct wslot {
	atomic_int pid;
	atomic_uint bucket; /* + 1; 0 while free or being given back */
};

struct shm {
	uint32_t magic, version, nb, pad;
	_Alignas(64) atomic_uint_least64_t seq;
	_Alignas(64) atomic_uint_least64_t self_gen[VBF_CACHE_NB];
	atomic_uint_least64_t tree_gen[VBF_CACHE_NB];
	atomic_int busy[VBF_CACHE_NB];
	struct wslot slot[NSLOT];
};

const char *vbf_cache_shm_path = "/dev/shm/vboxfix-cache-v2";
static struct shm *S;
static uint64_t seed[VBF_MAX_SHARES];
/* Per descriptor: the token (slot + 1, or T_COUNT | bucket) of what it has
 * open for writing, else 0. */
static _Atomic uint16_t wfd[VBF_FDTAB_SIZE];
static atomic_int nwfd;
static int mypid;
static int token_bucket(int t);

#define RAW(n, a, b, c, d) vbf_raw_syscall(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
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

int vbf_cache_busy(uint32_t b) { return S && atomic_load(&S->busy[b]) > 0; }

uint64_t vbf_cache_seq(void) { return S ? atomic_load(&S->seq) : 0; }

int vbf_cache_valid(uint32_t self, const uint16_t *anc, uint16_t depth, uint64_t seq)
{
	/* busy first: a writer bumps before it uncounts, so a reader that sees
	 * the count gone also sees the bump */
	if (!S || atomic_load(&S->busy[self]) > 0)
		return 0;
	if (atomic_load_explicit(&S->self_gen[self], memory_order_acquire) > seq)
		return 0;
	for (uint16_t i = 0; i < depth; i++)
		if (atomic_load_explicit(&S->tree_gen[anc[i]], memory_order_acquire) > seq)
			return 0;
	return 1;
}

static void raise_to(atomic_uint_least64_t *g, uint64_t s)
{
	uint64_t cur = atomic_load(g);
	while (cur < s && !atomic_compare_exchange_weak(g, &cur, s))
		;
}

static void bump_bucket(uint32_t b)
{
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
	if (!S || !path) /* S is mapped only once started with shares */
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
	uint16_t t = fd < VBF_FDTAB_SIZE ? atomic_load(&wfd[fd]) : 0;
	int b = t ? token_bucket(t) : -1;
	if (b >= 0)
		bump_bucket((uint32_t)b);
	else if (vbf_fd_marked(fd) && vbf_where_name(fd, "", &w) >= 0 && w.key)
		vbf_cache_changed_key(w.idx, w.key);
	errno = saved;
}

/* ---- open for writing ---- */

static int claim(uint32_t b)
{
	atomic_fetch_add(&S->busy[b], 1);
	for (uint32_t n = 0, i = ((uint32_t)mypid * 31u + b) % NSLOT; n < NSLOT; n++, i = (i + 1) % NSLOT) {
		int zero = 0;
		if (atomic_load_explicit(&S->slot[i].pid, memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_strong(&S->slot[i].pid, &zero, mypid)) {
			atomic_store(&S->slot[i].bucket, b + 1);
			return (int)i + 1;
		}
	}
	return (int)(T_COUNT | b);
}

int vbf_cache_write_begin(const struct vbf_where *w, int writes)
{
	if (!S || !writes || w->idx < 0 || !w->key)
		return 0;
	return claim(bucket(fnv(seed[w->idx], w->key, strlen(w->key))));
}

static int token_bucket(int t)
{
	if (t & T_COUNT)
		return t & (int)B_MASK;
	return (int)atomic_load(&S->slot[t - 1].bucket) - 1;
}

void vbf_cache_fd_release(int token)
{
	if (!S || token <= 0)
		return;
	uint32_t b;
	if (token & T_COUNT) {
		b = (uint32_t)token & B_MASK;
	} else {
		struct wslot *sl = &S->slot[token - 1];
		uint32_t v = atomic_exchange(&sl->bucket, 0);
		atomic_store(&sl->pid, 0);
		if (!v)
			return; /* given back already */
		b = v - 1;
	}
	/* the file's size and times moved while it was open: bump, then
	 * uncount (vbf_cache_valid reads in the other order) */
	bump_bucket(b);
	atomic_fetch_sub(&S->busy[b], 1);
}

static void track(int fd, int token)
{
	uint16_t old = atomic_exchange(&wfd[fd], (uint16_t)token);
	if (old)
		vbf_cache_fd_release(old);
	else
		atomic_fetch_add(&nwfd, 1);
}

void vbf_cache_write_end(int token, int fd, const struct vbf_where *w)
{
	if (!token)
		return;
	int saved = errno;
	if (fd < 0)
		vbf_cache_fd_release(token);
	else if (fd < VBF_FDTAB_SIZE)
		track(fd, token);
	/* else: never uncounted here; given back when this process is gone */
	vbf_cache_changed_key(w->idx, w->key);
	errno = saved;
}

/* Give back the slots of processes that no longer exist. */
static void reap(void)
{
	for (uint32_t i = 0; i < NSLOT; i++) {
		int p = atomic_load_explicit(&S->slot[i].pid, memory_order_relaxed);
		if (p <= 0 || p == mypid || RAW(SYS_kill, p, 0, 0, 0) == 0 || errno != ESRCH)
			continue;
		uint32_t v = atomic_exchange(&S->slot[i].bucket, 0);
		if (v) {
			bump_bucket(v - 1);
			atomic_fetch_sub(&S->busy[v - 1], 1);
		}
		atomic_compare_exchange_strong(&S->slot[i].pid, &p, 0);
	}
}

int vbf_cache_fd_take(int fd)
{
	if (fd < 0 || fd >= VBF_FDTAB_SIZE || !atomic_load_explicit(&wfd[fd], memory_order_relaxed))
		return 0;
	uint16_t t = atomic_exchange(&wfd[fd], 0);
	if (t)
		atomic_fetch_sub(&nwfd, 1);
	return t;
}

void vbf_cache_fd_copied(int from, int to)
{
	if (!S || from == to || to < 0 || to >= VBF_FDTAB_SIZE)
		return;
	int saved = errno;
	uint16_t t = from >= 0 && from < VBF_FDTAB_SIZE ? atomic_load(&wfd[from]) : 0;
	int b = t ? token_bucket(t) : -1;
	if (b >= 0) {
		track(to, claim((uint32_t)b));
	} else {
		vbf_cache_fd_release(vbf_cache_fd_take(to)); /* dup2 closed it */
	}
	errno = saved;
}

/* ---- the page ---- */

static struct shm *map_shm(void)
{
	int fd = (int)RAW(SYS_openat, AT_FDCWD, vbf_cache_shm_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
	if (fd < 0)
		return NULL;
	struct stat st;
	void *m = NULL;
	if (RAW(SYS_fstat, fd, &st, 0, 0) < 0 || !S_ISREG(st.st_mode))
		goto out;
	/* every service user shares the page: umask must not shut one out */
	if (st.st_uid == (uid_t)RAW(SYS_geteuid, 0, 0, 0, 0) && (st.st_mode & 0777) != 0666)
		RAW(SYS_fchmod, fd, 0666, 0, 0);
	if ((size_t)st.st_size < sizeof(struct shm) && RAW(SYS_ftruncate, fd, sizeof(struct shm), 0, 0) < 0)
		goto out;
	long p = vbf_raw_syscall(SYS_mmap, 0, sizeof(struct shm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == -1)
		goto out;
	m = (void *)p;
	struct shm *s = m;
	uint32_t zero = 0;
	/* zero is a fine start; the first process stamps the layout */
	if (__atomic_compare_exchange_n(&s->magic, &zero, SHM_MAGIC, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		s->version = SHM_VERSION;
		s->nb = VBF_CACHE_NB;
	} else if (s->magic != SHM_MAGIC || (s->version && s->version != SHM_VERSION) ||
		   (s->nb && s->nb != VBF_CACHE_NB)) {
		RAW(SYS_munmap, m, sizeof(struct shm), 0, 0);
		m = NULL;
	}
out:
	RAW(SYS_close, fd, 0, 0, 0);
	return m;
}

void vbf_cache_init(void)
{
	int saved = errno;
	vbf_cache_table_init();
	for (int i = 0; i < vbf_nshares && i < VBF_MAX_SHARES; i++)
		seed[i] = fnv(0xcbf29ce484222325ull, vbf_shares[i].root, strlen(vbf_shares[i].root));
	mypid = (int)RAW(SYS_getpid, 0, 0, 0, 0);
	if (vbf_nshares > 0 && !S && (S = map_shm()) != NULL)
		reap();
	if (!S && vbf_nshares > 0)
		vbf_log(VBF_INFO, "no shared page %s: metadata cache off", vbf_cache_shm_path);
	vbf_cache_enabled = S && vbf_cfg.ttl_ms > 0 && vbf_cfg.cache_max > 0;
	errno = saved;
}

void vbf_cache_atfork_child(void)
{
	vbf_cache_table_atfork_child();
	mypid = (int)RAW(SYS_getpid, 0, 0, 0, 0);
	/* the child holds copies of the parent's write descriptors: they get
	 * slots of its own, which its closes (or its death) give back */
	if (!S || atomic_load(&nwfd) <= 0)
		return;
	for (int fd = 0; fd < VBF_FDTAB_SIZE; fd++) {
		uint16_t t = atomic_load_explicit(&wfd[fd], memory_order_relaxed);
		int b = t ? token_bucket(t) : -1;
		if (b >= 0)
			atomic_store(&wfd[fd], (uint16_t)claim((uint32_t)b));
	}
}

void vbf_cache_reset(void)
{
	vbf_cache_table_reset();
	for (int fd = 0; fd < VBF_FDTAB_SIZE; fd++)
		atomic_store(&wfd[fd], 0);
	atomic_store(&nwfd, 0);
	if (S)
		RAW(SYS_munmap, S, sizeof(struct shm), 0, 0);
	S = NULL;
	vbf_cache_enabled = 0;
}
