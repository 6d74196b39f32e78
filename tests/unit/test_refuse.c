/* SPDX-License-Identifier: MIT */
/* refuse.c and refuse_redirect.c: the busy-retry decision, the open policy
 * (O_DIRECT dropped, busy writers retried, nothing else), and the local
 * names of redirected FIFOs and sockets. */
#include "fake_real.h"
#include "config.h"
#include "refuse.h"
#include "vbf.h"

/* Defined here so the library's constructor (vbf.o) is not linked in and
 * never runs against an unfilled table; main() marks the library started. */
void vbf_boot(void) {}

/* ---- backoff ---- */

static void t_backoff_doubles_and_caps(void **s)
{
	long want[] = {10, 20, 40, 80, 160, 320, 500, 500, 370};
	long waited = 0;
	int i = 0;
	for (long d; (d = vbf_backoff_delay(i, waited, 2000)) > 0; i++) {
		assert_true(i < (int)(sizeof want / sizeof want[0]));
		assert_int_equal(d, want[i]);
		waited += d;
	}
	assert_int_equal(i, 9);
	assert_int_equal(waited, 2000); /* the whole budget, never more */
}

static void t_backoff_bounds(void **s)
{
	assert_int_equal(vbf_backoff_delay(0, 0, 0), 0);     /* VBOXFIX_RETRY_MS=0: no retry */
	assert_int_equal(vbf_backoff_delay(0, 0, -5), 0);
	assert_int_equal(vbf_backoff_delay(0, 0, 3), 3);     /* a tiny budget is kept */
	assert_int_equal(vbf_backoff_delay(3, 2000, 2000), 0);
	assert_int_equal(vbf_backoff_delay(1000, 0, 100000), 500); /* no shift overflow */
	assert_int_equal(vbf_backoff_delay(-1, 0, 2000), 0);
}

static void t_busy_errnos(void **s)
{
	assert_true(vbf_is_busy(ETXTBSY));
	assert_true(vbf_is_busy(EBUSY));
	assert_false(vbf_is_busy(EPERM));
	assert_false(vbf_is_busy(EACCES));
	assert_false(vbf_is_busy(ENOSPC));
}

/* ---- the open policy, against a scripted open ---- */

static long slept[64];
static int nslept;
static void fake_sleep(long ms)
{
	if (nslept < 64)
		slept[nslept++] = ms;
}

struct script {
	int n, calls;
	int err[16];   /* errno for call i, 0 = success */
	int flags[16]; /* flags call i was given */
};

static int scripted(void *ctx, int d, const char *p, int fl, mode_t m)
{
	struct script *sc = ctx;
	int i = sc->calls++;
	sc->flags[i < 16 ? i : 15] = fl;
	if (i < sc->n && sc->err[i]) {
		errno = sc->err[i];
		return -1;
	}
	return 100 + i;
}

static struct vbf_where nowhere = {.idx = -1};

static int setup(void **s)
{
	fake_real_reset();
	vbf_refuse_sleep = fake_sleep;
	nslept = 0;
	vbf_cfg.retry_ms = 2000;
	return 0;
}

static void t_open_plain(void **s)
{
	struct script sc = {.n = 1, .err = {0}};
	assert_int_equal(vbf_refuse_open(&nowhere, AT_FDCWD, "f", O_RDONLY, 0, scripted, &sc, NULL), 100);
	assert_int_equal(sc.calls, 1);
}

static void t_open_odirect_dropped(void **s)
{
	struct script sc = {.n = 2, .err = {EINVAL, 0}};
	int fd = vbf_refuse_open(&nowhere, AT_FDCWD, "f", O_RDWR | O_DIRECT, 0, scripted, &sc, NULL);
	assert_int_equal(fd, 101);
	assert_int_equal(sc.flags[1], O_RDWR);
}

static void t_open_odirect_excl_create(void **s)
{
	/* the refused exclusive create made the file: the retry must not say EEXIST */
	struct script sc = {.n = 2, .err = {EINVAL, 0}};
	int fl = O_RDWR | O_CREAT | O_EXCL | O_DIRECT;
	assert_int_equal(vbf_refuse_open(&nowhere, AT_FDCWD, "f", fl, 0600, scripted, &sc, NULL), 101);
	assert_int_equal(sc.flags[1], O_RDWR | O_CREAT);
}

static void t_open_einval_without_odirect_stays(void **s)
{
	struct script sc = {.n = 1, .err = {EINVAL}};
	assert_int_equal(vbf_refuse_open(&nowhere, AT_FDCWD, "f", O_RDWR, 0, scripted, &sc, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(sc.calls, 1);
}

static void t_open_busy_writer_retried(void **s)
{
	struct script sc = {.n = 3, .err = {ETXTBSY, EBUSY, 0}};
	assert_int_equal(vbf_refuse_open(&nowhere, AT_FDCWD, "f", O_WRONLY | O_TRUNC, 0, scripted, &sc, NULL), 102);
	assert_int_equal(nslept, 2);
	assert_int_equal(slept[0], 10);
	assert_int_equal(slept[1], 20);
}

static void t_open_busy_reader_not_retried(void **s)
{
	struct script sc = {.n = 1, .err = {ETXTBSY}};
	assert_int_equal(vbf_refuse_open(&nowhere, AT_FDCWD, "f", O_RDONLY, 0, scripted, &sc, NULL), -1);
	assert_int_equal(errno, ETXTBSY);
	assert_int_equal(nslept, 0);
}

static void t_open_busy_gives_up(void **s)
{
	struct script sc = {.n = 16};
	for (int i = 0; i < 16; i++)
		sc.err[i] = ETXTBSY;
	vbf_cfg.retry_ms = 100;
	assert_int_equal(vbf_refuse_open(&nowhere, AT_FDCWD, "f", O_RDWR, 0, scripted, &sc, NULL), -1);
	assert_int_equal(errno, ETXTBSY);
	long total = 0;
	for (int i = 0; i < nslept; i++)
		total += slept[i];
	assert_int_equal(total, 100);
	assert_int_equal(sc.calls, nslept + 1);
}

static void t_open_real_errors_stay(void **s)
{
	int errs[] = {ENOSPC, EACCES, ENOENT, EROFS};
	for (unsigned i = 0; i < sizeof errs / sizeof errs[0]; i++) {
		struct script sc = {.n = 1, .err = {errs[i]}};
		assert_int_equal(vbf_refuse_open(&nowhere, AT_FDCWD, "f", O_RDWR | O_CREAT | O_DIRECT, 0644, scripted, &sc, NULL),
				 -1);
		assert_int_equal(errno, errs[i]);
		assert_int_equal(sc.calls, 1);
	}
	assert_int_equal(nslept, 0);
}

/* ---- redirect names ---- */

static void t_name_stable_and_short(void **s)
{
	char a[VBF_REDIRECT_CAP], b[VBF_REDIRECT_CAP];
	static char longpath[4000];
	memset(longpath, 'x', sizeof longpath - 1);
	longpath[0] = '/';
	assert_true(vbf_redirect_name("/tmp/.vboxfix", 999, "/media/sf_data/mysql/mysql.sock", a, sizeof a) > 0);
	assert_true(vbf_redirect_name("/tmp/.vboxfix", 999, "/media/sf_data/mysql/mysql.sock", b, sizeof b) > 0);
	assert_string_equal(a, b); /* another process computes the same name */
	assert_int_equal(strncmp(a, "/tmp/.vboxfix/u999/", 19), 0);
	assert_int_equal(strlen(a), 19 + 16);
	/* any share path, however long, gives a name that fits sun_path */
	assert_true(vbf_redirect_name("/tmp/.vboxfix", 4294967295u, longpath, a, sizeof a) > 0);
	assert_true(strlen(a) < 108);
	/* different paths, different names */
	vbf_redirect_name("/r", 0, "/share/a", a, sizeof a);
	vbf_redirect_name("/r", 0, "/share/b", b, sizeof b);
	assert_string_not_equal(a, b);
	/* and the uid is part of it */
	vbf_redirect_name("/r", 1, "/share/a", b, sizeof b);
	assert_string_not_equal(a, b);
}

static void t_name_too_long_base(void **s)
{
	char a[VBF_REDIRECT_CAP], base[100];
	memset(base, 'b', sizeof base - 1);
	base[0] = '/';
	base[sizeof base - 1] = 0;
	assert_int_equal(vbf_redirect_name(base, 0, "/share/x", a, sizeof a), -1);
}

/* The index entry of an object: in its owner's subdirectory, under the hash
 * of the share directory that a listing of that directory computes. */
static void t_index_name(void **s)
{
	char a[VBF_REDIRECT_CAP], x[400], want[400];
	size_t dl;
	uint64_t dh, ph;
	vbf_redirect_name("/r", 7, "/share/d/mysql.sock", a, sizeof a);
	assert_true(vbf_redirect_index_name(a, "/share/d/mysql.sock", x, sizeof x, &dl) > 0);
	vbf_redirect_dir_hashes("/share/d", &dh, &ph);
	snprintf(want, sizeof want, "/r/u7/l%016llx/mysql.sock", (unsigned long long)dh);
	assert_string_equal(x, want);
	assert_int_equal(dl, strlen(want) - strlen("/mysql.sock"));
	/* continued with a name, the listing's hash is the object's */
	assert_true(vbf_redirect_hash_n(ph, "mysql.sock", (size_t)-1) == vbf_redirect_hash("/share/d/mysql.sock"));
	/* a share rooted at "/": "/x" lies in "/" */
	vbf_redirect_name("/r", 0, "/x", a, sizeof a);
	assert_true(vbf_redirect_index_name(a, "/x", x, sizeof x, &dl) > 0);
	vbf_redirect_dir_hashes("/", &dh, &ph);
	snprintf(want, sizeof want, "/r/u0/l%016llx/x", (unsigned long long)dh);
	assert_string_equal(x, want);
	assert_true(vbf_redirect_hash_n(ph, "x", (size_t)-1) == vbf_redirect_hash("/x"));
	/* no name, or no room: no entry */
	assert_int_equal(vbf_redirect_index_name(a, "/share/d/", x, sizeof x, &dl), -1);
	assert_int_equal(vbf_redirect_index_name(a, "/share/d/n", x, 20, &dl), -1);
}

static void t_hash_known(void **s)
{
	/* FNV-1a 64: the name must never change between versions, or a client
	 * and a server built apart would not meet */
	assert_true(vbf_redirect_hash("") == 0xcbf29ce484222325ull);
	assert_true(vbf_redirect_hash("a") == 0xaf63dc4c8601ec8cull);
}

static void t_split(void **s)
{
	char dir[64];
	const char *base;
	vbf_refuse_split("a/b/c", dir, sizeof dir, &base);
	assert_string_equal(dir, "a/b");
	assert_string_equal(base, "c");
	vbf_refuse_split("/c", dir, sizeof dir, &base);
	assert_string_equal(dir, "/");
	assert_string_equal(base, "c");
	vbf_refuse_split("c", dir, sizeof dir, &base);
	assert_string_equal(dir, ".");
	assert_string_equal(base, "c");
	vbf_refuse_split("d/", dir, sizeof dir, &base);
	assert_string_equal(dir, "d");
	assert_string_equal(base, "");
}

static void t_share_path(void **s)
{
	struct vbf_where w = {.idx = 0};
	char out[64];
	vbf_nshares = 1;
	snprintf(vbf_shares[0].root, sizeof vbf_shares[0].root, "/media/sf_x");
	w.key = "db/mysql.sock";
	assert_int_equal(vbf_share_path(&w, out, sizeof out), (int)strlen("/media/sf_x/db/mysql.sock"));
	assert_string_equal(out, "/media/sf_x/db/mysql.sock");
	w.key = "";
	vbf_share_path(&w, out, sizeof out);
	assert_string_equal(out, "/media/sf_x");
	snprintf(vbf_shares[0].root, sizeof vbf_shares[0].root, "/");
	w.key = "p";
	vbf_share_path(&w, out, sizeof out);
	assert_string_equal(out, "/p");
	w.key = "";
	vbf_share_path(&w, out, sizeof out);
	assert_string_equal(out, "/");
	w.idx = -1;
	assert_int_equal(vbf_share_path(&w, out, sizeof out), -1);
	vbf_nshares = 0;
}

/* ---- whose run directory: the checks before any bind or connect ---- */

static void t_rundir_value(void **s)
{
	char fb[VBF_REDIRECT_CAP], obj[VBF_REDIRECT_CAP], base[80];
	assert_true(vbf_redirect_base_ok("/tmp/.vboxfix"));
	assert_true(vbf_redirect_base_ok("/run/vbf/.x..y"));
	const char *bad[] = {NULL, "", "/", "rel", "rel/dir", "/tmp/", "/tmp/x/..", "/tmp/./x", "/tmp/../tmp/x", "//"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(vbf_redirect_base_ok(bad[i]));
	/* the longest accepted base: its fallback's objects still fit sun_path */
	memset(base, 'b', VBF_REDIRECT_BASE_MAX - 1);
	base[0] = '/';
	base[VBF_REDIRECT_BASE_MAX - 1] = 0;
	assert_true(vbf_redirect_base_ok(base));
	assert_true(vbf_redirect_fallback(base, 4294967295u, fb, sizeof fb) > 0);
	assert_true(vbf_redirect_hname(fb, 4294967295u, ~0ull, obj, sizeof obj) > 0);
	assert_true(strlen(obj) < 108);
	base[VBF_REDIRECT_BASE_MAX - 1] = 'b';
	base[VBF_REDIRECT_BASE_MAX] = 0;
	assert_false(vbf_redirect_base_ok(base));
	vbf_redirect_fallback("/tmp/.vboxfix", 999, fb, sizeof fb);
	assert_string_equal(fb, "/tmp/.vboxfix-999");
}

static struct stat st_of(mode_t mode, uid_t uid)
{
	struct stat st;
	memset(&st, 0, sizeof st);
	st.st_mode = mode;
	st.st_uid = uid;
	return st;
}

static void t_rundir_trust(void **s)
{
	static const struct {
		mode_t mode;
		uid_t uid;
		int own, others;
	} c[] = {
		{S_IFDIR | 01777, 0, 1, VBF_RD_ALL},   /* the usual shared base */
		{S_IFDIR | 0755, 0, 1, VBF_RD_ALL},
		{S_IFDIR | 0755, 5, 1, VBF_RD_ALL},    /* the caller's own */
		{S_IFDIR | 01777, 5, 1, VBF_RD_ALL},
		{S_IFDIR | 01777, 6, 0, VBF_RD_OWNER}, /* another user's: only its own objects */
		{S_IFDIR | 0755, 6, 0, VBF_RD_OWNER},
		{S_IFDIR | 0777, 0, 0, VBF_RD_NONE},   /* anyone can rename what is in it */
		{S_IFDIR | 0775, 5, 0, VBF_RD_NONE},
		{S_IFLNK | 0777, 5, 0, VBF_RD_NONE},
		{S_IFREG | 0644, 0, 0, VBF_RD_NONE},
	};
	struct fake_node n[1] = {{.path = "/rb"}};
	struct vbf_rundir rd;
	setenv("VBOXFIX_RUNDIR", "/rb", 1);
	fake_fs_install();
	fake_ids(5, 5, NULL, 0);
	fake_fs_set(n, 0);
	assert_int_equal(vbf_rundir_get(&rd), -1); /* nothing there */
	fake_fs_set(n, 1);
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		n[0].st = st_of(c[i].mode, c[i].uid);
		assert_int_equal(vbf_rundir_get(&rd), 0);
		assert_int_equal(rd.own, c[i].own);
		assert_int_equal(rd.others, c[i].others);
		assert_int_equal(vbf_rundir_scans(&rd, 5), c[i].own);
		assert_int_equal(vbf_rundir_scans(&rd, 6), c[i].others != VBF_RD_NONE);
		assert_int_equal(vbf_rundir_scans(&rd, 7), c[i].others == VBF_RD_ALL);
	}
	unsetenv("VBOXFIX_RUNDIR");
}

#define OBJ "0000000000001234"

/* find(): which objects it returns, by who owns their directories */
static const char *find_with(struct fake_node *n, int count, char *buf)
{
	fake_fs_set(n, count);
	errno = 4321;
	int r = vbf_redirect_find(0x1234, buf);
	assert_int_equal(errno, 4321);
	return r == 0 ? buf : "none";
}

static void t_rundir_find(void **s)
{
	char buf[VBF_REDIRECT_CAP];
	struct fake_node n[] = {
		{.path = "/rb"},			/* 0: the base */
		{.path = "/rb/u5"},			/* 1: the caller's directory */
		{.path = "/rb/u5/" OBJ},		/* 2 */
		{.path = "/rb-5"},			/* 3: its fallback */
		{.path = "/rb-5/u5"},			/* 4 */
		{.path = "/rb-5/u5/" OBJ},		/* 5 */
		{.path = "/rb/u6"},			/* 6: the base owner's directory */
		{.path = "/rb/u6/" OBJ},		/* 7 */
	};
	const int N = (int)(sizeof n / sizeof n[0]);
	setenv("VBOXFIX_RUNDIR", "/rb", 1);
	fake_fs_install();
	fake_ids(5, 5, NULL, 0);
	n[0].st = st_of(S_IFDIR | 01777, 0);
	n[1].st = st_of(S_IFDIR | 0755, 5);
	n[2].st = st_of(S_IFSOCK | 0755, 5);
	n[3].st = st_of(S_IFDIR | 0700, 5);
	n[4].st = st_of(S_IFDIR | 0755, 5);
	n[5].st = st_of(S_IFSOCK | 0755, 5);
	n[6].st = st_of(S_IFDIR | 0755, 6);
	n[7].st = st_of(S_IFSOCK | 0755, 6);
	assert_string_equal(find_with(n, N, buf), "/rb/u5/" OBJ);
	/* the caller's directory made by someone else, or writable by others,
	 * or a symlink: its objects are never used; the fallback's are */
	n[1].st = st_of(S_IFDIR | 0755, 6);
	assert_string_equal(find_with(n, N, buf), "/rb-5/u5/" OBJ);
	n[1].st = st_of(S_IFDIR | 0777, 5);
	assert_string_equal(find_with(n, N, buf), "/rb-5/u5/" OBJ);
	n[1].st = st_of(S_IFLNK | 0777, 5);
	assert_string_equal(find_with(n, N, buf), "/rb-5/u5/" OBJ);
	assert_string_equal(find_with(n, 3, buf), "none");
	/* a fallback that is not the caller's own is not used either */
	n[3].st = st_of(S_IFDIR | 0700, 6);
	assert_string_equal(find_with(n, N, buf), "none");
	n[3].st = st_of(S_IFDIR | 0777, 5);
	assert_string_equal(find_with(n, N, buf), "none");
	n[3].st = st_of(S_IFDIR | 0700, 5);
	n[4].st = st_of(S_IFDIR | 0755, 6);
	assert_string_equal(find_with(n, N, buf), "none");
	n[4].st = st_of(S_IFDIR | 0755, 5);
	/* a base of uid 6: the caller's objects are in its fallback, and of
	 * the base only u6 is read, when it is uid 6's own */
	n[0].st = st_of(S_IFDIR | 01777, 6);
	n[1].st = st_of(S_IFDIR | 0755, 5);
	assert_string_equal(find_with(n, N, buf), "/rb-5/u5/" OBJ);
	assert_string_equal(find_with(n, 3, buf), "none");
	n[5].err = ENOENT;
	assert_string_equal(find_with(n, N, buf), "/rb/u6/" OBJ);
	n[6].st = st_of(S_IFDIR | 0775, 6);
	assert_string_equal(find_with(n, N, buf), "none");
	n[6].st = st_of(S_IFDIR | 0755, 7);
	assert_string_equal(find_with(n, N, buf), "none");
	/* a base anyone can rename things in: nothing in it */
	n[0].st = st_of(S_IFDIR | 0777, 0);
	n[6].st = st_of(S_IFDIR | 0755, 6);
	assert_string_equal(find_with(n, N, buf), "none");
	n[5].err = 0;
	assert_string_equal(find_with(n, N, buf), "/rb-5/u5/" OBJ);
	unsetenv("VBOXFIX_RUNDIR");
}

/* the identity of an object in a forward or a list of names given up */
static void t_parse_id(void **s)
{
	struct vbf_rd_id id;
	const char *ok = "u4300/00000000000012ab#1700000000.123456789.42";
	assert_int_equal(vbf_redirect_parse_id(ok, strlen(ok), &id), 0);
	assert_int_equal(id.uid, 4300);
	assert_true(id.h == 0x12ab);
	assert_string_equal(id.birth, "1700000000.123456789.42");
	/* a list is cut at spaces: the length bounds the parse */
	assert_int_equal(vbf_redirect_parse_id("u0/ffffffffffffffff# u1", 20, &id), 0);
	assert_true(id.h == ~0ull);
	assert_string_equal(id.birth, "");
	static const char *bad[] = {
		"", "u", "x0/0000000000000000#", "u/0000000000000000#", "u4294967296/0000000000000000#",
		"u0/000000000000000#", "u0/000000000000000G#", "u0/0000000000000000", "u0/0000000000000000#1/2",
		"u0/0000000000000000#12345678901234567890123456789012345678901",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(vbf_redirect_parse_id(bad[i], strlen(bad[i]), &id), -1);
}

int main(void)
{
	vbf_boot_state = 2; /* started, with shares */
	vbf_on = 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_backoff_doubles_and_caps),
		cmocka_unit_test(t_backoff_bounds),
		cmocka_unit_test(t_busy_errnos),
		cmocka_unit_test_setup(t_open_plain, setup),
		cmocka_unit_test_setup(t_open_odirect_dropped, setup),
		cmocka_unit_test_setup(t_open_odirect_excl_create, setup),
		cmocka_unit_test_setup(t_open_einval_without_odirect_stays, setup),
		cmocka_unit_test_setup(t_open_busy_writer_retried, setup),
		cmocka_unit_test_setup(t_open_busy_reader_not_retried, setup),
		cmocka_unit_test_setup(t_open_busy_gives_up, setup),
		cmocka_unit_test_setup(t_open_real_errors_stay, setup),
		cmocka_unit_test(t_name_stable_and_short),
		cmocka_unit_test(t_name_too_long_base),
		cmocka_unit_test(t_hash_known),
		cmocka_unit_test(t_index_name),
		cmocka_unit_test(t_split),
		cmocka_unit_test(t_share_path),
		cmocka_unit_test_setup(t_rundir_value, setup),
		cmocka_unit_test_setup(t_rundir_trust, setup),
		cmocka_unit_test_setup(t_rundir_find, setup),
		cmocka_unit_test(t_parse_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
