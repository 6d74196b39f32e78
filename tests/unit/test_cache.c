/* SPDX-License-Identifier: MIT */
/* cache*.c: hits, negative entries, the TTL, invalidation of a name, its
 * parent and a subtree, the open-for-write rule, eviction, re-entry and
 * errno; a shared page rewritten by a hostile user (poisoned slots, random
 * bytes, forged generations and counts) costs no crash, a bounded reap and
 * at worst misses or entries kept for the TTL. The share is a table entry
 * (no filesystem); the shared page is a SysV segment of a name of this test
 * (removed at teardown); the clock is fake. */
#include "fake_real.h"
#include "cache_int.h"
#include "config.h"
#include "log.h"
#include "shares.h"
#include <sys/sysmacros.h>
#include <sys/wait.h>

static char shm[64];
static uint64_t fake_now = 1000;
static uint64_t fake_clock(void) { return fake_now; }

static int setup(void **state)
{
	fake_real_reset();
	vbf_log_level = -1;
	snprintf(shm, sizeof shm, "vbf-cache-test-%d", (int)getpid());
	vbf_cache_shm_path = shm;
	vbf_cache_clock = fake_clock;
	memset(&vbf_shares[0], 0, sizeof vbf_shares[0]);
	strcpy(vbf_shares[0].root, "/share");
	vbf_shares[0].len = 6;
	vbf_shares[0].dev = makedev(0, 42);
	vbf_shares[0].whole_fs = 1;
	vbf_nshares = 1;
	vbf_cfg.ttl_ms = 1000;
	vbf_cfg.cache_max = 64;
	vbf_cache_init();
	assert_true(vbf_cache_enabled);
	return 0;
}

static int teardown(void **state)
{
	vbf_cache_reset();
	vbf_shpage_remove(shm, sizeof(struct vbf_cache_page), VBF_CACHE_MAGIC, VBF_CACHE_VERSION);
	return 0;
}

/* The library consults the cache only for memory a successful call on a
 * share has shown good (shares.h, vbf_mem_learn); here every path and buffer
 * is good, as after such a call. */
/* The library remembers good pages in a direct-mapped memo (256 slots by
 * page number, base/callmem.c): a path whose page shares a slot with the
 * answer buffer's would be forgotten when the buffer is learned, and the
 * call made plainly (VBF_CACHE_SKIP). The path is copied to a page of its
 * own whose slot differs from the buffer's, so no stack layout makes a
 * check fail. */
static const char *own_page(const char *p, const void *out, size_t n)
{
	_Alignas(4096) static char pages[3][4096];
	uintptr_t a = (uintptr_t)out / 4096 % 256, b = ((uintptr_t)out + n - 1) / 4096 % 256;
	for (int i = 0; i < 3; i++) {
		uintptr_t slot = (uintptr_t)pages[i] / 4096 % 256;
		if (slot != a && slot != b && strlen(p) < sizeof pages[i]) {
			strcpy(pages[i], p);
			return pages[i];
		}
	}
	return p;
}

static int cs(int d, const char *p, int follow, struct stat *out, struct vbf_cq *q)
{
	p = p ? own_page(p, out, sizeof *out) : p;
	vbf_mem_learn(p, out, sizeof *out);
	return vbf_cache_stat(d, p, follow, out, q);
}

static int csx(int d, const char *p, int fl, unsigned mask, struct statx *out, struct vbf_cq *q)
{
	p = p ? own_page(p, out, sizeof *out) : p;
	vbf_mem_learn(p, out, sizeof *out);
	return vbf_cache_statx(d, p, fl, mask, out, q);
}

static struct stat st_of(off_t size)
{
	struct stat st;
	memset(&st, 0, sizeof st);
	st.st_dev = makedev(0, 42);
	st.st_mode = S_IFREG | 0644;
	st.st_size = size;
	st.st_ino = 7;
	return st;
}

/* stat `p` through the cache, the "real" answer being `real` (NULL: ENOENT) */
static int cstat(const char *p, const struct stat *real, struct stat *out)
{
	struct vbf_cq q;
	int c = cs(AT_FDCWD, p, 1, out, &q);
	if (c == VBF_CACHE_MISS) {
		int r = real ? 0 : -1;
		if (real)
			*out = *real;
		else
			errno = ENOENT;
		vbf_cache_fill(&q, r, out);
	}
	return c;
}

static struct stat dir_st(void)
{
	struct stat st = st_of(0);
	st.st_mode = S_IFDIR | 0755;
	return st;
}

static void t_hit_and_negative(void **state)
{
	/* the directory the missing name's probe looks at (probe_above) */
	struct fake_node nodes[] = {{"/share/a", dir_st(), 0}};
	fake_fs_set(nodes, 1);
	fake_fs_install();
	struct stat real = st_of(5), out;
	assert_int_equal(cstat("/share/a/f", &real, &out), VBF_CACHE_MISS);
	memset(&out, 0, sizeof out);
	assert_int_equal(cstat("/share/a/f", &real, &out), VBF_CACHE_HIT);
	assert_memory_equal(&out, &real, sizeof out);
	assert_int_equal(cstat("/share/a/none", NULL, &out), VBF_CACHE_MISS);
	assert_int_equal(cstat("/share/a/none", NULL, &out), VBF_CACHE_NEG);
	/* lstat and stat of one name are separate entries */
	struct vbf_cq q;
	assert_int_equal(cs(AT_FDCWD, "/share/a/f", 0, &out, &q), VBF_CACHE_MISS);
}

/* A name below a directory that is missing is missing: one probe of the
 * directories above a missing name (nearest first, until one exists), then
 * every name below the missing one is answered, until it is created. */
static void t_below_missing(void **state)
{
	struct fake_node nodes[] = {{"/share/app", dir_st(), 0}, {"/share/app/nm", {0}, ENOENT}};
	fake_fs_set(nodes, 2);
	fake_fs_install();
	struct stat out;
	assert_int_equal(cstat("/share/app/nm/p1", NULL, &out), VBF_CACHE_MISS);
	assert_int_equal(cstat("/share/app/nm/p1.js", NULL, &out), VBF_CACHE_NEG);
	assert_int_equal(cstat("/share/app/nm/p2/lib/x.json", NULL, &out), VBF_CACHE_NEG);
	struct vbf_cq q;
	assert_int_equal(cs(AT_FDCWD, "/share/app/nm/p3", 0, &out, &q), VBF_CACHE_NEG); /* lstat too */
	/* a name missing in a directory that exists says nothing of others */
	assert_int_equal(cstat("/share/app/none", NULL, &out), VBF_CACHE_MISS);
	assert_int_equal(cstat("/share/app/other", NULL, &out), VBF_CACHE_MISS);
	/* created under the library: seen at once */
	vbf_cache_changed(AT_FDCWD, "/share/app/nm");
	assert_int_equal(cstat("/share/app/nm/p1.js", NULL, &out), VBF_CACHE_MISS);
	/* past the TTL the missing directory is asked again */
	assert_int_equal(cstat("/share/app/nm/q", NULL, &out), VBF_CACHE_NEG);
	fake_now += 1000;
	assert_int_equal(cstat("/share/app/nm/q2", NULL, &out), VBF_CACHE_MISS);
}

/* The shared table: another process's answer is a hit; an entry torn,
 * scribbled on or left odd by a dead writer is a miss, never a wrong
 * answer; the table works again once written. */
static void t_shared_table(void **state)
{
	vbf_cache_reset();
	vbf_cfg.shared_cache = 64;
	vbf_scache_remove(); /* a run before may have left one */
	vbf_cache_init();
	size_t n;
	unsigned char *pg = vbf_scache_page(&n);
	assert_non_null(pg);
	struct stat real = st_of(77), out;
	assert_int_equal(cstat("/share/s/f", &real, &out), VBF_CACHE_MISS);
	vbf_cache_table_reset(); /* as a new process: only the shared table */
	assert_int_equal(cstat("/share/s/f", &real, &out), VBF_CACHE_HIT);
	assert_memory_equal(&out, &real, sizeof out);
	/* every byte after the header scribbled, a few ways */
	for (int round = 0; round < 64; round++) {
		uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(round + 1);
		for (size_t i = sizeof(struct vbf_shpage_hdr); i < n; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			if (round % 4 == 0 || (x & 15) == 0)
				pg[i] = round % 8 == 1 ? 0xff : round % 8 == 2 ? 0 : (unsigned char)x;
		}
		vbf_cache_table_reset();
		memset(&out, 0, sizeof out);
		int c = cstat("/share/s/f", &real, &out);
		assert_true(c == VBF_CACHE_MISS || c == VBF_CACHE_HIT);
		assert_memory_equal(&out, &real, sizeof out);
	}
	vbf_cache_table_reset();
	assert_int_equal(cstat("/share/s/f", &real, &out), VBF_CACHE_HIT);
	assert_int_equal(vbf_scache_remove(), 1);
	vbf_cfg.shared_cache = 0;
}

static void t_not_cached(void **state)
{
	struct stat real = st_of(5), out;
	struct vbf_cq q;
	assert_int_equal(cstat("/elsewhere/f", &real, &out), VBF_CACHE_SKIP);
	assert_int_equal(cstat("/share/a/../f", &real, &out), VBF_CACHE_SKIP);
	assert_int_equal(cs(3, "", 1, &out, &q), VBF_CACHE_SKIP);  /* a descriptor */
	assert_int_equal(cs(3, NULL, 1, &out, &q), VBF_CACHE_SKIP);
	/* a result on another device (a mount inside the share) is not kept */
	real.st_dev = makedev(0, 43);
	cstat("/share/mnt/x", &real, &out);
	assert_int_equal(cstat("/share/mnt/x", &real, &out), VBF_CACHE_MISS);
}

/* Names relative to a directory descriptor opened on a share are keyed by
 * the directory's name from /proc, as a path to them is: one entry for
 * both, dropped by a change through either; a descriptor not known to be
 * on a share costs no readlink. */
static int readlinks;
static ssize_t f_readlink(const char *p, char *b, size_t n)
{
	readlinks++;
	const char *t = strstr(p, "/fd/7") ? "/share/d" : NULL;
	if (!t) {
		errno = EBADF;
		return -1;
	}
	memcpy(b, t, strlen(t));
	return (ssize_t)strlen(t);
}

static int cstat_at(int d, const char *p, int follow, const struct stat *real, struct stat *out)
{
	struct vbf_cq q;
	int c = cs(d, p, follow, out, &q);
	if (c == VBF_CACHE_MISS) {
		*out = *real;
		vbf_cache_fill(&q, 0, out);
	}
	return c;
}

static void t_dirfd(void **state)
{
	vbf_real.readlink = f_readlink;
	memset(vbf_fdtab, 0, sizeof vbf_fdtab);
	vbf_fd_mark(7, 1);
	struct stat real = st_of(5), out;
	assert_int_equal(cstat_at(7, "f", 0, &real, &out), VBF_CACHE_MISS);
	assert_int_equal(cstat_at(7, "f", 0, &real, &out), VBF_CACHE_HIT);
	assert_int_equal(cstat_at(AT_FDCWD, "/share/d/f", 0, &real, &out), VBF_CACHE_HIT);
	/* changed through the path: the descriptor's name misses */
	vbf_cache_changed(AT_FDCWD, "/share/d/f");
	assert_int_equal(cstat_at(7, "f", 0, &real, &out), VBF_CACHE_MISS);
	/* and the other way round, the directory's entry with it */
	assert_int_equal(cstat_at(AT_FDCWD, "/share/d/f", 0, &real, &out), VBF_CACHE_HIT);
	assert_int_equal(cstat_at(AT_FDCWD, "/share/d", 1, &real, &out), VBF_CACHE_MISS);
	vbf_cache_changed(7, "f");
	assert_int_equal(cstat_at(AT_FDCWD, "/share/d/f", 0, &real, &out), VBF_CACHE_MISS);
	assert_int_equal(cstat_at(AT_FDCWD, "/share/d", 1, &real, &out), VBF_CACHE_MISS);
	/* a descriptor not marked as on a share: skipped, nothing asked */
	readlinks = 0;
	assert_int_equal(cstat_at(8, "f", 0, &real, &out), VBF_CACHE_SKIP);
	assert_int_equal(readlinks, 0);
	/* ".." may leave the directory: not cached */
	assert_int_equal(cstat_at(7, "../x", 0, &real, &out), VBF_CACHE_SKIP);
	vbf_fd_mark(7, 0);
}

static void t_ttl(void **state)
{
	struct stat real = st_of(5), out;
	cstat("/share/f", &real, &out);
	fake_now += 999;
	assert_int_equal(cstat("/share/f", &real, &out), VBF_CACHE_HIT);
	fake_now += 1;
	assert_int_equal(cstat("/share/f", &real, &out), VBF_CACHE_MISS);
}

static void t_changed_name_parent_subtree(void **state)
{
	struct stat real = st_of(5), out;
	const char *names[] = {"/share/a", "/share/a/b", "/share/a/b/c", "/share/a/x", "/share/z"};
	for (int i = 0; i < 5; i++)
		cstat(names[i], &real, &out);
	vbf_cache_changed(AT_FDCWD, "/share/a/b/c");
	assert_int_equal(cstat("/share/a/b/c", &real, &out), VBF_CACHE_MISS); /* the name */
	assert_int_equal(cstat("/share/a/b", &real, &out), VBF_CACHE_MISS);   /* its parent */
	assert_int_equal(cstat("/share/a/x", &real, &out), VBF_CACHE_HIT);    /* not a sibling */
	assert_int_equal(cstat("/share/a", &real, &out), VBF_CACHE_HIT);
	vbf_cache_changed(AT_FDCWD, "/share/a"); /* rename or rmdir of a tree */
	assert_int_equal(cstat("/share/a/x", &real, &out), VBF_CACHE_MISS);
	assert_int_equal(cstat("/share/a/b/c", &real, &out), VBF_CACHE_MISS);
	assert_int_equal(cstat("/share/z", &real, &out), VBF_CACHE_HIT);
	/* a change through ".." may be anywhere on the share */
	vbf_cache_changed(AT_FDCWD, "/share/q/../z2");
	assert_int_equal(cstat("/share/z", &real, &out), VBF_CACHE_MISS);
	/* a change that landed between the lookup and the fill makes what the
	 * real call read stale: it is not served */
	struct vbf_cq q;
	assert_int_equal(cs(AT_FDCWD, "/share/r", 1, &out, &q), VBF_CACHE_MISS);
	vbf_cache_changed(AT_FDCWD, "/share/r");
	vbf_cache_fill(&q, 0, &real);
	assert_int_equal(cstat("/share/r", &real, &out), VBF_CACHE_MISS);
	assert_true(vbf_counter_get(VBF_C_CACHE_INVAL) > 0);
}

static void t_open_for_writing(void **state)
{
	struct stat real = st_of(5), out;
	struct vbf_where w;
	assert_int_equal(vbf_where_name(AT_FDCWD, "/share/log", &w), 0);
	cstat("/share/log", &real, &out);
	int tok = vbf_cache_write_begin(&w, vbf_open_writes(O_WRONLY | O_APPEND));
	assert_true(tok > 0);
	assert_int_equal(cstat("/share/log", &real, &out), VBF_CACHE_MISS); /* old entry gone */
	vbf_cache_write_end(tok, 9, &w);
	assert_int_equal(cstat("/share/log", &real, &out), VBF_CACHE_MISS); /* busy: never kept */
	assert_int_equal(cstat("/share/log", &real, &out), VBF_CACHE_MISS);
	vbf_cache_fd_copied(9, 10); /* dup: still open after the first close */
	vbf_cache_fd_release(vbf_cache_fd_take(9));
	assert_int_equal(cstat("/share/log", &real, &out), VBF_CACHE_MISS);
	vbf_cache_fd_release(vbf_cache_fd_take(10));
	cstat("/share/log", &real, &out);
	assert_int_equal(cstat("/share/log", &real, &out), VBF_CACHE_HIT);
	/* a failed open uncounts at once; a read-only open counts nothing */
	assert_int_equal(vbf_cache_write_begin(&w, vbf_open_writes(O_RDONLY)), 0);
	tok = vbf_cache_write_begin(&w, 1);
	vbf_cache_write_end(tok, -1, &w);
	cstat("/share/log", &real, &out);
	assert_int_equal(cstat("/share/log", &real, &out), VBF_CACHE_HIT);
}

static void t_bounded(void **state)
{
	vbf_cache_reset();
	vbf_cfg.cache_max = 8;
	vbf_cache_init();
	struct stat real = st_of(1), out;
	char p[64];
	for (int i = 0; i < 5000; i++) {
		snprintf(p, sizeof p, "/share/walk/%d", i);
		cstat(p, &real, &out);
		assert_true(vbf_cache_size() <= 8);
	}
	/* an entry hit since the hand passed survives the next eviction */
	cstat("/share/hot", &real, &out);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(cstat("/share/hot", &real, &out), VBF_CACHE_HIT);
		snprintf(p, sizeof p, "/share/cold/%d", i);
		cstat(p, &real, &out);
	}
}

static void t_reentry_and_errno(void **state)
{
	struct stat real = st_of(5), out;
	cstat("/share/f", &real, &out);
	vbf_cache_hold(1); /* as a signal handler interrupting the holder */
	struct vbf_cq q;
	assert_int_equal(cs(AT_FDCWD, "/share/f", 1, &out, &q), VBF_CACHE_SKIP);
	vbf_cache_hold(0);
	errno = 1234;
	assert_int_equal(cs(AT_FDCWD, "/share/f", 1, &out, &q), VBF_CACHE_HIT);
	assert_int_equal(errno, 1234);
	assert_int_equal(cs(AT_FDCWD, "/share/g", 1, &out, &q), VBF_CACHE_MISS);
	errno = 4321;
	vbf_cache_fill(&q, 0, &real);
	vbf_cache_changed(AT_FDCWD, "/share/g");
	assert_int_equal(errno, 4321);
}

static void t_statx(void **state)
{
	struct statx x, out;
	memset(&x, 0, sizeof x);
	x.stx_mask = STATX_BASIC_STATS | STATX_BTIME;
	x.stx_mode = S_IFREG | 0600;
	x.stx_size = 77;
	x.stx_dev_minor = 42;
	x.stx_btime.tv_sec = 99;
	struct vbf_cq q;
	assert_int_equal(csx(AT_FDCWD, "/share/x", 0, STATX_BASIC_STATS | STATX_BTIME, &out, &q),
			 VBF_CACHE_MISS);
	vbf_cache_fillx(&q, 0, &x);
	assert_int_equal(csx(AT_FDCWD, "/share/x", 0, STATX_BASIC_STATS | STATX_BTIME, &out, &q),
			 VBF_CACHE_HIT);
	assert_int_equal(out.stx_size, 77);
	assert_int_equal(out.stx_btime.tv_sec, 99);
	assert_int_equal(out.stx_mask, STATX_BASIC_STATS | STATX_BTIME);
	assert_int_equal(csx(AT_FDCWD, "/share/x", AT_STATX_FORCE_SYNC, STATX_BASIC_STATS, &out, &q),
			 VBF_CACHE_SKIP);
	/* a stat-filled entry knows no birth time: a statx asking for it misses */
	struct stat real = st_of(3), st;
	cstat("/share/y", &real, &st);
	assert_int_equal(csx(AT_FDCWD, "/share/y", 0, STATX_BTIME, &out, &q), VBF_CACHE_MISS);
	assert_int_equal(csx(AT_FDCWD, "/share/y", 0, STATX_BASIC_STATS, &out, &q), VBF_CACHE_HIT);
	assert_int_equal(out.stx_mask, STATX_BASIC_STATS);
	assert_int_equal(out.stx_size, 3);
}

/* ---- a hostile shared page ---- */

/* a process start: detach, attach again, reap */
static void restart(void)
{
	vbf_cache_reset();
	vbf_cache_init();
}

static void body_fill(struct vbf_cache_page *P, int c)
{
	memset((char *)P + sizeof P->h, c, sizeof *P - sizeof P->h);
}

static void body_random(struct vbf_cache_page *P, unsigned seed)
{
	unsigned char *b = (unsigned char *)P + sizeof P->h;
	for (size_t i = 0; i < sizeof *P - sizeof P->h; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (unsigned char)(seed >> 16);
	}
}

/* everything a wrapper does with the page, on names that hash anywhere */
static void exercise(void)
{
	struct stat real = st_of(5), out;
	struct vbf_where w;
	char p[64];
	for (int i = 0; i < 64; i++) {
		snprintf(p, sizeof p, "/share/d%d/f%d", i % 7, i);
		cstat(p, &real, &out);
		cstat(p, &real, &out);
		assert_int_equal(vbf_where_name(AT_FDCWD, p, &w), 0);
		int tok = vbf_cache_write_begin(&w, 1);
		vbf_cache_write_end(tok, 100 + i, &w);
		vbf_cache_changed_fd(100 + i);
		vbf_cache_fd_copied(100 + i, 300 + i);
		vbf_cache_fd_release(vbf_cache_fd_take(100 + i));
		vbf_cache_changed(AT_FDCWD, p);
	}
	for (int i = 0; i < 64; i++)
		vbf_cache_fd_release(vbf_cache_fd_take(300 + i));
	/* tokens that were never ours */
	vbf_cache_fd_release(0x7fffffff);
	vbf_cache_fd_release(-5);
	vbf_cache_fd_release(1);
}

static void t_hostile_poisoned_slots(void **state)
{
	struct vbf_cache_page *P = vbf_cache_page();
	assert_non_null(P);
	/* the pattern that crashed every new process in its constructor */
	for (uint32_t i = 0; i < VBF_CACHE_NSLOT; i++) {
		atomic_store(&P->slot[i].pid, 999999999);
		atomic_store(&P->slot[i].bucket, 0x40000000u);
	}
	restart();
	P = vbf_cache_page();
	assert_non_null(P);
	assert_true(vbf_cache_enabled);
	assert_int_equal(vbf_cache_reap_probes, 0); /* no pid can be that big: no kill() */
	for (uint32_t i = 0; i < VBF_CACHE_NSLOT; i++)
		assert_int_equal(atomic_load(&P->slot[i].pid), 0);
	/* negative pids (a kill() would signal a process group), huge buckets */
	for (uint32_t i = 0; i < VBF_CACHE_NSLOT; i++) {
		atomic_store(&P->slot[i].pid, -(int)i - 1);
		atomic_store(&P->slot[i].bucket, 0xffffffffu - i);
	}
	restart();
	exercise();
	P = vbf_cache_page();
	/* once the page is clean again, everything works as before */
	body_fill(P, 0);
	struct stat real = st_of(5), out;
	cstat("/share/after", &real, &out);
	assert_int_equal(cstat("/share/after", &real, &out), VBF_CACHE_HIT);
}

static void t_hostile_random_bytes(void **state)
{
	for (unsigned round = 0; round < 40; round++) {
		struct vbf_cache_page *P = vbf_cache_page();
		assert_non_null(P);
		body_random(P, round * 7919u + 1);
		if (round % 3 == 0)
			restart();
		exercise();
		if (round % 4 == 1)
			body_fill(vbf_cache_page(), round % 8 == 1 ? 0xff : 0x80);
		exercise();
	}
	body_fill(vbf_cache_page(), 0);
	restart();
	struct stat real = st_of(9), out;
	cstat("/share/after", &real, &out);
	assert_int_equal(cstat("/share/after", &real, &out), VBF_CACHE_HIT);
	assert_int_equal(out.st_size, 9);
}

static void t_hostile_counters(void **state)
{
	struct vbf_cache_page *P = vbf_cache_page();
	struct stat real = st_of(5), out;
	/* every generation at the top: nothing is served (misses only) */
	for (uint32_t b = 0; b < VBF_CACHE_NB; b++)
		atomic_store(&P->tree_gen[b], UINT64_MAX);
	cstat("/share/g", &real, &out);
	assert_int_equal(cstat("/share/g", &real, &out), VBF_CACHE_MISS);
	/* the sequence at the top and generations rewound: a change is no
	 * longer seen, but an entry lives no longer than the TTL */
	body_fill(P, 0);
	atomic_store(&P->seq, UINT64_MAX - 1);
	cstat("/share/g", &real, &out);
	vbf_cache_changed(AT_FDCWD, "/share/g");
	for (uint32_t b = 0; b < VBF_CACHE_NB; b++)
		atomic_store(&P->self_gen[b], 0), atomic_store(&P->tree_gen[b], 0);
	assert_int_equal(cstat("/share/g", &real, &out), VBF_CACHE_HIT); /* stale, within the TTL */
	fake_now += 1000;
	assert_int_equal(cstat("/share/g", &real, &out), VBF_CACHE_MISS);
	/* busy counts forged high: that bucket is not cached; forged low:
	 * cached for the TTL */
	body_fill(P, 0);
	for (uint32_t b = 0; b < VBF_CACHE_NB; b++)
		atomic_store(&P->busy[b], INT32_MAX);
	cstat("/share/h", &real, &out);
	assert_int_equal(cstat("/share/h", &real, &out), VBF_CACHE_MISS);
	for (uint32_t b = 0; b < VBF_CACHE_NB; b++)
		atomic_store(&P->busy[b], INT32_MIN);
	exercise();
	cstat("/share/h", &real, &out);
	assert_int_equal(cstat("/share/h", &real, &out), VBF_CACHE_HIT);
}

static void t_hostile_own_slot(void **state)
{
	struct vbf_cache_page *P = vbf_cache_page();
	struct stat real = st_of(5), out;
	struct vbf_where w;
	assert_int_equal(vbf_where_name(AT_FDCWD, "/share/w", &w), 0);
	/* our slot's bucket rewritten: the close uncounts the token's own
	 * bucket, never the one the slot now names */
	int tok = vbf_cache_write_begin(&w, 1);
	vbf_cache_write_end(tok, 9, &w);
	for (uint32_t i = 0; i < VBF_CACHE_NSLOT; i++)
		if (atomic_load(&P->slot[i].pid) == (int)getpid())
			atomic_store(&P->slot[i].bucket, 0x40000000u);
	vbf_cache_fd_release(vbf_cache_fd_take(9));
	cstat("/share/w", &real, &out);
	assert_int_equal(cstat("/share/w", &real, &out), VBF_CACHE_HIT);
	for (uint32_t b = 0; b < VBF_CACHE_NB; b++)
		assert_true(atomic_load(&P->busy[b]) == 0);
	/* our slot taken over from outside: the count stays up (that name is
	 * just not cached), nothing else is touched */
	tok = vbf_cache_write_begin(&w, 1);
	vbf_cache_write_end(tok, 9, &w);
	for (uint32_t i = 0; i < VBF_CACHE_NSLOT; i++)
		if (atomic_load(&P->slot[i].pid) == (int)getpid())
			atomic_store(&P->slot[i].pid, 1);
	vbf_cache_fd_release(vbf_cache_fd_take(9));
	cstat("/share/w", &real, &out);
	assert_int_equal(cstat("/share/w", &real, &out), VBF_CACHE_MISS);
}

static void t_reap_bounded(void **state)
{
	struct vbf_cache_page *P = vbf_cache_page();
	struct stat real = st_of(5), out;
	struct vbf_where w;
	/* a writer that died: the next start gives its slot back */
	pid_t c = fork();
	if (c == 0)
		_exit(0);
	waitpid(c, NULL, 0);
	assert_int_equal(vbf_where_name(AT_FDCWD, "/share/dead", &w), 0);
	int tok = vbf_cache_write_begin(&w, 1);
	assert_true(tok > 0);
	for (uint32_t i = 0; i < VBF_CACHE_NSLOT; i++)
		if (atomic_load(&P->slot[i].pid) == (int)getpid())
			atomic_store(&P->slot[i].pid, (int)c);
	restart();
	cstat("/share/dead", &real, &out);
	assert_int_equal(cstat("/share/dead", &real, &out), VBF_CACHE_HIT);
	/* every slot a different dead pid: a start probes a bounded number,
	 * later starts the rest */
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
	long pid_max = 0;
	if (!f || fscanf(f, "%ld", &pid_max) != 1 || pid_max > 4194304 - (long)VBF_CACHE_NSLOT) {
		if (f)
			fclose(f);
		skip();
	}
	fclose(f);
	P = vbf_cache_page();
	for (uint32_t i = 0; i < VBF_CACHE_NSLOT; i++) {
		atomic_store(&P->slot[i].pid, (int)(pid_max + i));
		atomic_store(&P->slot[i].bucket, i + 1);
		atomic_store(&P->busy[i], 1);
	}
	int starts = 0;
	for (;;) {
		restart();
		starts++;
		assert_true(vbf_cache_reap_probes <= 256);
		P = vbf_cache_page();
		uint32_t left = 0;
		for (uint32_t i = 0; i < VBF_CACHE_NSLOT; i++)
			left += atomic_load(&P->slot[i].pid) != 0;
		if (!left)
			break;
		assert_true(starts < 20);
	}
	assert_int_equal(starts, VBF_CACHE_NSLOT / 256);
	for (uint32_t i = 0; i < VBF_CACHE_NSLOT; i++)
		assert_int_equal(atomic_load(&P->busy[i]), 0); /* dead writers uncounted */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_hit_and_negative, setup, teardown),
		cmocka_unit_test_setup_teardown(t_below_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(t_dirfd, setup, teardown),
		cmocka_unit_test_setup_teardown(t_shared_table, setup, teardown),
		cmocka_unit_test_setup_teardown(t_not_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(t_ttl, setup, teardown),
		cmocka_unit_test_setup_teardown(t_changed_name_parent_subtree, setup, teardown),
		cmocka_unit_test_setup_teardown(t_open_for_writing, setup, teardown),
		cmocka_unit_test_setup_teardown(t_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(t_reentry_and_errno, setup, teardown),
		cmocka_unit_test_setup_teardown(t_statx, setup, teardown),
		cmocka_unit_test_setup_teardown(t_hostile_poisoned_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(t_hostile_random_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(t_hostile_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(t_hostile_own_slot, setup, teardown),
		cmocka_unit_test_setup_teardown(t_reap_bounded, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
