/* SPDX-License-Identifier: MIT */
/* store*.c: the record format, every operation, compaction, torn tails,
 * hostile files, and two store instances on one file standing in for two
 * processes. Each test works in its own temporary share root. */
#include "fake_real.h"
#include "store_int.h"
#include "log.h"
#include <sys/stat.h>
#include <time.h>

static char root[64];

static void sh(const char *fmt, const char *arg)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, fmt, arg);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **st)
{
	fake_real_reset();
	vbf_log_level = -1; /* expected warnings stay quiet */
	snprintf(root, sizeof root, "/tmp/vbf-store-XXXXXX");
	assert_non_null(mkdtemp(root));
	return 0;
}

static int teardown(void **st)
{
	for (int i = 0; i < VBF_MAX_SHARES; i++) {
		vbf_store_close(i);
	}
	vbf_compact_min = 256 * 1024;
	sh("rm -rf %s", root);
	return 0;
}

static char *state_path(void)
{
	static char p[128];
	snprintf(p, sizeof p, "%s/" VBF_STORE_NAME, root);
	return p;
}

static off_t file_size(void)
{
	struct stat st;
	assert_int_equal(stat(state_path(), &st), 0);
	return st.st_size;
}

static struct stat fake_st(mode_t type, ino_t ino)
{
	struct stat st;
	memset(&st, 0, sizeof st);
	st.st_mode = type | 0644;
	st.st_ino = ino;
	return st;
}

static const struct vbf_rec R_OWN = {VBF_REC_OWNER, 999, 998, 0, 0, 0};
static const struct vbf_rec R_MODE = {VBF_REC_MODE, 0, 0, 0700, 0, 0};

static int has(int idx, const char *key, const struct vbf_rec *want)
{
	struct vbf_rec r;
	if (!vbf_store_get(idx, key, NULL, &r))
		return 0;
	if (want)
		assert_memory_equal(&r, want, sizeof r);
	return 1;
}

/* A link group (refuse_link.c): counted, kept by a put without a link,
 * moved by a rename, gone with an unlink, and read back by another
 * process from the log. */
static void t_links(void **st)
{
	vbf_store_open(0, root, NULL);
	struct vbf_rec l = {VBF_REC_LINK, 0, 0, 0, 42, 7};
	assert_int_equal(vbf_store_links(0, 42), 0);
	vbf_store_put(0, "a", NULL, &l);
	vbf_store_put(0, "b", NULL, &l);
	assert_int_equal(vbf_store_links(0, 42), 2);
	vbf_store_put(0, "b", NULL, &R_OWN); /* a chown of one name */
	struct vbf_rec r;
	assert_true(vbf_store_get(0, "b", NULL, &r));
	assert_int_equal(r.flags, VBF_REC_OWNER | VBF_REC_LINK);
	assert_int_equal(r.link, 42);
	struct vbf_rec none = {0};
	vbf_store_put(0, "a", NULL, &none);
	assert_true(vbf_store_get(0, "a", NULL, &r));
	assert_int_equal(r.flags, VBF_REC_LINK);
	vbf_store_rename(0, "b", "c");
	assert_int_equal(vbf_store_links(0, 42), 2);
	vbf_store_close(0);
	vbf_store_open(0, root, NULL);
	assert_true(vbf_store_get(0, "c", NULL, &r));
	assert_int_equal(r.link, 42);
	vbf_store_del(0, "a");
	assert_int_equal(vbf_store_links(0, 42), 1);
	vbf_store_compact(0);
	vbf_store_close(0);
	vbf_store_open(0, root, NULL);
	assert_int_equal(vbf_store_links(0, 42), 1);
	assert_true(vbf_store_get(0, "c", NULL, &r));
	assert_int_equal(r.flags, VBF_REC_OWNER | VBF_REC_LINK);
}

/* ---- format ---- */

static void t_keys(void **st)
{
	static const char *good[] = {"", "a", "a/b", "...", "a/.b/..c", ".vboxfix", "\xff\xfe/x"};
	static const char *bad[] = {"/", "/a", "a/", "a//b", ".", "..", "a/..", "../a", "a/./b"};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		assert_true(vbf_key_valid(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_false(vbf_key_valid(bad[i], strlen(bad[i])));
	assert_false(vbf_key_valid("a\0b", 3));
	char big[VBF_KEY_MAX + 2];
	memset(big, 'x', sizeof big);
	assert_true(vbf_key_valid(big, VBF_KEY_MAX));
	assert_false(vbf_key_valid(big, VBF_KEY_MAX + 1));
	/* a known CRC-32C check value */
	assert_int_equal(vbf_crc32c(0, "123456789", 9), 0xE3069283u);
}

static void t_roundtrip(void **st)
{
	uint8_t buf[VBF_REC_MAX];
	struct vbf_op in[] = {
		{.type = VBF_OP_HEAD},
		{.type = VBF_OP_PUT, .key = "a/b", .klen = 3, .rec = {3, 1, 2, 0755}, .fp = {S_IFDIR, 1, 1ull << 40}},
		{.type = VBF_OP_PUT, .key = "", .klen = 0, .rec = {1, 7, 8, 0, 0, 0}},
		{.type = VBF_OP_PUT, .key = "l", .klen = 1, .rec = {VBF_REC_LINK | 1, 7, 8, 0, 1ull << 60 | 5, 77}},
		{.type = VBF_OP_FORGET, .key = "x", .klen = 1},
		{.type = VBF_OP_DEL, .key = "d/e", .klen = 3},
		{.type = VBF_OP_REN, .key = "p", .klen = 1, .key2 = "q/r", .k2len = 3},
		{.type = VBF_OP_RESET},
	};
	for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
		size_t n = vbf_rec_encode(&in[i], buf);
		assert_true(n > 0);
		struct vbf_op out;
		assert_int_equal(vbf_rec_decode(buf, n, &out), (long)n);
		assert_int_equal(out.type, in[i].type);
		assert_int_equal(out.klen, in[i].klen);
		if (in[i].klen)
			assert_memory_equal(out.key, in[i].key, in[i].klen);
		assert_int_equal(out.k2len, in[i].k2len);
		assert_memory_equal(&out.rec, &in[i].rec, sizeof out.rec);
		assert_memory_equal(&out.fp, &in[i].fp, sizeof out.fp);
		/* every proper prefix is "incomplete", never a record */
		for (size_t k = 0; k < n; k++)
			assert_int_equal(vbf_rec_decode(buf, k, &out), 0);
		/* any flipped bit is caught */
		for (size_t k = 0; k < n; k++) {
			buf[k] ^= 0x10;
			assert_true(vbf_rec_decode(buf, n, &out) <= 0);
			buf[k] ^= 0x10;
		}
	}
	struct vbf_op badk = {.type = VBF_OP_PUT, .key = "../x", .klen = 4, .rec = {1, 0, 0, 0, 0, 0}};
	assert_int_equal(vbf_rec_encode(&badk, buf), 0);
}

/* ---- operations ---- */

static void t_put_get_del(void **st)
{
	vbf_store_open(0, root, NULL);
	struct vbf_store_info info;
	assert_int_equal(vbf_store_info(0, &info), 0);
	assert_true(info.persistent);
	assert_string_equal(info.path, state_path());
	assert_false(has(0, "a", NULL));
	assert_int_equal(vbf_store_put(0, "a", NULL, &R_OWN), 0);
	assert_int_equal(vbf_store_put(0, "", NULL, &R_MODE), 0);
	assert_true(has(0, "a", &R_OWN));
	assert_true(has(0, "", &R_MODE));
	assert_int_equal(vbf_store_put(0, "a", NULL, &R_MODE), 0); /* replace */
	assert_true(has(0, "a", &R_MODE));
	struct vbf_rec none = {0};
	assert_int_equal(vbf_store_put(0, "a", NULL, &none), 0); /* no flags: removed */
	assert_false(has(0, "a", NULL));
	vbf_store_put(0, "b", NULL, &R_OWN);
	vbf_store_del(0, "b");
	assert_false(has(0, "b", NULL));
	assert_true(has(0, "", NULL));
	assert_int_equal(vbf_store_put(0, "x/../y", NULL, &R_OWN), -1);
	assert_int_equal(vbf_store_put(0, "/abs", NULL, &R_OWN), -1);
	/* survives a restart */
	vbf_store_put(0, "keep/me", NULL, &R_OWN);
	vbf_store_close(0);
	vbf_store_open(0, root, NULL);
	assert_true(has(0, "keep/me", &R_OWN));
	assert_true(has(0, "", &R_MODE));
	assert_false(has(0, "b", NULL));
}

static void t_subtree(void **st)
{
	vbf_store_open(0, root, NULL);
	const char *keys[] = {"d", "d/x", "d/y/z", "dd", "d.x", "e", "t", "t/old"};
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
		vbf_store_put(0, keys[i], NULL, &R_OWN);
	vbf_store_rename(0, "d", "t");
	assert_true(has(0, "t", NULL));
	assert_true(has(0, "t/x", NULL));
	assert_true(has(0, "t/y/z", NULL));
	assert_false(has(0, "t/old", NULL)); /* the replaced target's records go */
	assert_false(has(0, "d", NULL));
	assert_false(has(0, "d/x", NULL));
	assert_true(has(0, "dd", NULL)); /* a sibling sharing the prefix stays */
	assert_true(has(0, "d.x", NULL));
	/* a plain file rename, and into a deeper place */
	vbf_store_rename(0, "e", "t/y/e");
	assert_true(has(0, "t/y/e", NULL));
	assert_false(has(0, "e", NULL));
	/* into itself: ignored */
	vbf_store_rename(0, "t", "t/y/q");
	assert_true(has(0, "t/x", NULL));
	vbf_store_del(0, "t/y");
	assert_false(has(0, "t/y/z", NULL));
	assert_false(has(0, "t/y/e", NULL));
	assert_true(has(0, "t/x", NULL));
	vbf_store_del(0, "t");
	assert_false(has(0, "t", NULL));
	assert_false(has(0, "t/x", NULL));
	assert_true(has(0, "dd", NULL));
	/* the log replays to the same thing */
	vbf_store_close(0);
	vbf_store_open(0, root, NULL);
	assert_true(has(0, "dd", NULL));
	assert_true(has(0, "d.x", NULL));
	assert_false(has(0, "t/x", NULL));
	assert_false(has(0, "d/x", NULL));
	struct vbf_store_info info;
	vbf_store_info(0, &info);
	assert_int_equal(info.records, 2);
	vbf_store_del(0, "");
	vbf_store_info(0, &info);
	assert_int_equal(info.records, 0);
}

/* the recorded ancestors of a key, top-down, and the count of directories
 * closed to some class that lets a stat skip the walk */
static void t_ancestors(void **st)
{
	vbf_store_open(0, root, NULL);
	struct stat d = fake_st(S_IFDIR, 1), f = fake_st(S_IFREG, 2);
	struct vbf_anc a[8];
	unsigned long base = vbf_store_nclosed;
	assert_int_equal(vbf_store_ancestors(0, "d/e/f", a, 8), 0); /* nothing closed: no walk */
	const struct vbf_rec open_dir = {.flags = VBF_REC_MODE, .mode = 0755}, closed_file = {.flags = VBF_REC_MODE, .mode = 0600};
	vbf_store_put(0, "", &d, &R_OWN);
	vbf_store_put(0, "d", &d, &R_MODE); /* 0700: closed */
	vbf_store_put(0, "d/e", &d, &open_dir);
	vbf_store_put(0, "d/e/f", &f, &closed_file); /* a file: never closes a path */
	assert_int_equal(vbf_store_nclosed, base + 1);
	int n = vbf_store_ancestors(0, "d/e/f", a, 8);
	assert_int_equal(n, 3); /* "", "d", "d/e": not the key itself */
	assert_int_equal(a[0].len, 0);
	assert_int_equal(a[0].rec.uid, 999);
	assert_int_equal(a[1].len, 1);
	assert_int_equal(a[1].rec.mode, 0700);
	assert_int_equal(a[1].type, S_IFDIR);
	assert_int_equal(a[2].len, 3);
	assert_int_equal(vbf_store_ancestors(0, "d/e/f", a, 2), 2); /* at most cap */
	assert_int_equal(vbf_store_ancestors(0, "x/y", a, 8), 1); /* only the root's */
	/* a changed record, a rename and a delete keep the count */
	vbf_store_put(0, "d", &d, &open_dir);
	assert_int_equal(vbf_store_nclosed, base);
	vbf_store_put(0, "d/e", &d, &R_MODE);
	assert_int_equal(vbf_store_nclosed, base + 1);
	vbf_store_rename(0, "d", "g");
	assert_int_equal(vbf_store_nclosed, base + 1);
	assert_int_equal(vbf_store_ancestors(0, "g/e/f", a, 8), 3);
	vbf_store_del(0, "g");
	assert_int_equal(vbf_store_nclosed, base);
}

static void t_fingerprint(void **st)
{
	vbf_store_open(0, root, NULL);
	struct stat f1 = fake_st(S_IFREG, 100), f2 = fake_st(S_IFREG, 101), d1 = fake_st(S_IFDIR, 100);
	struct vbf_rec r;
	vbf_store_put(0, "f", &f1, &R_OWN);
	assert_true(vbf_store_get(0, "f", &f1, &r));
	/* /tmp is not vboxsf: inode numbers count */
	assert_false(vbf_store_get(0, "f", &f2, &r));
	assert_false(vbf_store_get(0, "f", &d1, &r));
	/* stale is not fatal and the next record replaces it */
	vbf_store_put(0, "f", &f2, &R_MODE);
	assert_true(vbf_store_get(0, "f", &f2, &r));
	assert_int_equal(r.mode, 0700);
	/* on a share whose inode numbers are invented only the type counts */
	vbf_stores[0].trust_ino = 0;
	vbf_store_put(0, "g", &f1, &R_OWN);
	assert_true(vbf_store_get(0, "g", &f2, &r));
	assert_false(vbf_store_get(0, "g", &d1, &r));
	/* a record made without a stat matches anything */
	vbf_store_put(0, "h", NULL, &R_OWN);
	assert_true(vbf_store_get(0, "h", &d1, &r));
}

static void t_compaction(void **st)
{
	vbf_store_open(0, root, NULL);
	char k[32];
	for (int i = 0; i < 100; i++) {
		snprintf(k, sizeof k, "f%d", i);
		vbf_store_put(0, k, NULL, &R_OWN);
	}
	for (int round = 0; round < 50; round++)
		for (int i = 0; i < 100; i += 2) {
			snprintf(k, sizeof k, "f%d", i);
			struct vbf_rec r = {VBF_REC_MODE, 0, 0, (uint32_t)round, 0, 0};
			vbf_store_put(0, k, NULL, &r);
		}
	off_t before = file_size();
	assert_int_equal(vbf_store_compact(0), 0);
	off_t after = file_size();
	assert_true(after < before / 10);
	struct vbf_rec r;
	assert_true(vbf_store_get(0, "f10", NULL, &r));
	assert_int_equal(r.mode, 49);
	/* a second instance (another process) follows the new file */
	vbf_store_open(1, root, NULL);
	assert_true(has(1, "f99", &R_OWN));
	vbf_store_put(0, "after", NULL, &R_OWN);
	assert_true(has(1, "after", NULL));
	/* automatic: the file stays near its live size */
	vbf_compact_min = 4096;
	for (int i = 0; i < 5000; i++)
		vbf_store_put(1, "hot", NULL, (i & 1) ? &R_OWN : &R_MODE);
	assert_true(file_size() < 4 * (after + 4096));
	assert_true(has(0, "hot", &R_OWN));
	assert_true(has(0, "f99", &R_OWN));
	vbf_store_close(0);
	vbf_store_open(0, root, NULL);
	assert_true(has(0, "hot", &R_OWN));
	struct vbf_store_info info;
	vbf_store_info(0, &info);
	assert_int_equal(info.records, 102);
}

static void append_bytes(const void *b, size_t n)
{
	FILE *f = fopen(state_path(), "ab");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, n, f), n);
	fclose(f);
}

static void t_torn_tail(void **st)
{
	vbf_store_open(0, root, NULL);
	vbf_store_put(0, "a", NULL, &R_OWN);
	vbf_store_put(0, "b", NULL, &R_OWN);
	vbf_store_close(0);
	/* a writer killed in the middle of its record */
	uint8_t rec[VBF_REC_MAX];
	struct vbf_op op = {.type = VBF_OP_PUT, .key = "torn", .klen = 4, .rec = R_OWN};
	size_t n = vbf_rec_encode(&op, rec);
	append_bytes(rec, n - 3);
	vbf_store_open(0, root, NULL);
	assert_true(has(0, "a", NULL));
	assert_true(has(0, "b", NULL));
	assert_false(has(0, "torn", NULL));
	/* records appended after the torn one are read, here and elsewhere */
	vbf_store_open(1, root, NULL);
	vbf_store_put(0, "c", NULL, &R_OWN);
	assert_true(has(0, "c", NULL));
	assert_true(has(1, "c", NULL));
	vbf_store_close(1);
	vbf_store_open(1, root, NULL);
	assert_true(has(1, "c", NULL));
	assert_false(has(1, "torn", NULL));
}

static void t_hostile(void **st)
{
	/* garbage, a huge length, a valid-CRC record with a ".." key, an
	 * absolute key, a NUL in a key, then one good record, all after a
	 * valid head (a file without one is not ours: t_foreign) */
	uint8_t rec[VBF_REC_MAX];
	struct vbf_op head = {.type = VBF_OP_HEAD};
	append_bytes(rec, vbf_rec_encode(&head, rec));
	append_bytes("garbage\0\xff\xff\xff\xff", 12);
	uint8_t huge[12] = {'V', 'f', 'P', 1, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4};
	append_bytes(huge, sizeof huge);
	const char *evil[] = {"a/../../etc", "/etc/passwd", "a\0b"};
	size_t evlen[] = {11, 11, 3};
	for (int i = 0; i < 3; i++) {
		struct vbf_op op = {.type = VBF_OP_PUT, .key = "aaaaaaaaaaa", .klen = evlen[i], .rec = R_OWN};
		size_t n = vbf_rec_encode(&op, rec);
		memcpy(rec + VBF_REC_HDR + 34, evil[i], evlen[i]); /* after the key length */
		uint32_t c = vbf_crc32c(0, rec, n - 4);
		memcpy(rec + n - 4, &c, 4);
		append_bytes(rec, n);
	}
	struct vbf_op good = {.type = VBF_OP_PUT, .key = "good", .klen = 4, .rec = R_OWN};
	size_t n = vbf_rec_encode(&good, rec);
	append_bytes(rec, n);
	vbf_store_open(0, root, NULL);
	assert_true(has(0, "good", &R_OWN));
	struct vbf_store_info info;
	vbf_store_info(0, &info);
	assert_int_equal(info.records, 1);
	/* still writable after all that */
	assert_int_equal(vbf_store_put(0, "new", NULL, &R_OWN), 0);
	vbf_store_close(0);
	vbf_store_open(0, root, NULL);
	assert_true(has(0, "new", NULL));
}

static void same_bytes(const char *path, const char *want, size_t n)
{
	char got[256];
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(got, 1, sizeof got, f), n);
	fclose(f);
	assert_memory_equal(got, want, n);
}

static void t_foreign(void **st)
{
	/* VBOXFIX_STATE naming a file that is not a state file: never
	 * appended to, never replaced; records live in memory */
	char path[128];
	static const char text[] = "root:x:0:0:root:/root:/bin/bash\n";
	snprintf(path, sizeof path, "%s/shadow-copy", root);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	vbf_store_open(0, root, path);
	assert_int_equal(vbf_store_put(0, "a", NULL, &R_OWN), -1);
	assert_true(has(0, "a", &R_OWN));
	assert_int_equal(vbf_store_compact(0), -1);
	vbf_store_close(0);
	same_bytes(path, text, sizeof text - 1);
	/* the default name taken by something else: the fallback is used */
	f = fopen(state_path(), "w");
	fputs(text, f);
	fclose(f);
	vbf_store_open(0, root, NULL);
	struct vbf_store_info info;
	vbf_store_info(0, &info);
	assert_non_null(strstr(info.path, "/var/tmp/vboxfix/"));
	vbf_store_put(0, "b", NULL, &R_OWN);
	same_bytes(state_path(), text, sizeof text - 1);
	unlink(info.path);
	vbf_store_close(0);
	unlink(state_path());
}

static void t_not_regular(void **st)
{
	/* a FIFO or a device must never block a process */
	char path[128];
	snprintf(path, sizeof path, "%s/fifo", root);
	assert_int_equal(mkfifo(path, 0666), 0);
	vbf_store_open(0, root, path);
	assert_int_equal(vbf_store_put(0, "a", NULL, &R_OWN), -1);
	vbf_store_close(0);
	vbf_store_open(0, root, "/dev/zero");
	assert_int_equal(vbf_store_put(0, "a", NULL, &R_OWN), -1);
	assert_true(has(0, "a", &R_OWN));
	vbf_store_close(0);
	assert_int_equal(mkfifo(state_path(), 0666), 0);
	vbf_store_open(0, root, NULL);
	vbf_store_put(0, "b", NULL, &R_OWN);
	assert_true(has(0, "b", &R_OWN));
	struct vbf_store_info info;
	vbf_store_info(0, &info);
	unlink(info.path);
	vbf_store_close(0);
	unlink(state_path());
}

static void t_huge_sparse(void **st)
{
	/* a 2 GB sparse file costs nothing at open: it is not read */
	uint8_t rec[VBF_REC_MAX];
	struct vbf_op head = {.type = VBF_OP_HEAD};
	append_bytes(rec, vbf_rec_encode(&head, rec));
	assert_int_equal(truncate(state_path(), 2000000000), 0);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	vbf_store_open(0, root, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(b.tv_sec - a.tv_sec < 2);
	vbf_store_put(0, "a", NULL, &R_OWN);
	assert_true(has(0, "a", &R_OWN));
	vbf_store_close(0);
	unlink(state_path());
	/* 200 MB of holes after the head: read, in bounded time */
	append_bytes(rec, vbf_rec_encode(&head, rec));
	assert_int_equal(truncate(state_path(), 200000000), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	vbf_store_open(0, root, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(b.tv_sec - a.tv_sec < 10);
	vbf_store_close(0);
}

static void t_two_processes(void **st)
{
	vbf_store_open(0, root, NULL);
	vbf_store_open(1, root, NULL);
	assert_int_equal(vbf_store_put(0, "x", NULL, &R_OWN), 0);
	assert_true(has(1, "x", &R_OWN)); /* at once, no timeout */
	vbf_store_put(1, "x", NULL, &R_MODE);
	assert_true(has(0, "x", &R_MODE));
	vbf_store_put(0, "dir/a", NULL, &R_OWN);
	vbf_store_put(0, "dir/b", NULL, &R_OWN);
	vbf_store_rename(1, "dir", "moved");
	assert_true(has(0, "moved/a", NULL));
	assert_false(has(0, "dir/b", NULL));
	vbf_store_del(0, "moved");
	assert_false(has(1, "moved/b", NULL));
	vbf_store_reset(1);
	assert_false(has(0, "x", NULL));
}

static void t_memory_only(void **st)
{
	char bad[128];
	snprintf(bad, sizeof bad, "%s/no/such/dir/state", root);
	vbf_store_open(0, root, bad);
	struct vbf_store_info info;
	vbf_store_info(0, &info);
	assert_false(info.persistent);
	assert_int_equal(vbf_store_put(0, "a", NULL, &R_OWN), -1);
	assert_true(has(0, "a", &R_OWN));
	vbf_store_rename(0, "a", "b");
	assert_true(has(0, "b", &R_OWN));
}

static void t_explicit_and_fallback(void **st)
{
	char p[128];
	snprintf(p, sizeof p, "%s/elsewhere.state", root);
	vbf_store_open(0, root, p);
	vbf_store_put(0, "a", NULL, &R_OWN);
	struct stat sb;
	assert_int_equal(stat(p, &sb), 0);
	assert_int_not_equal(stat(state_path(), &sb), 0);
	/* a second share naming the same file gets its own */
	char r2[128];
	snprintf(r2, sizeof r2, "%s/sub", root);
	mkdir(r2, 0755);
	vbf_store_open(1, r2, p);
	struct vbf_store_info i0, i1;
	vbf_store_info(0, &i0);
	vbf_store_info(1, &i1);
	assert_string_not_equal(i0.path, i1.path);
	assert_false(has(1, "a", NULL));
	if (getuid() == 0)
		return; /* root writes anywhere: the fallback is not reachable */
	chmod(r2, 0555);
	vbf_store_close(1);
	vbf_store_open(1, r2, NULL);
	vbf_store_info(1, &i1);
	assert_true(i1.persistent);
	assert_non_null(strstr(i1.path, "/var/tmp/vboxfix/"));
	chmod(r2, 0755);
	unlink(i1.path);
}

static int rmdir_root(void *arg) { return rmdir(root); }

static int rmdir_fails(void *arg)
{
	mkdir(arg, 0700); /* a file appears just before the rmdir */
	return rmdir(root);
}

static void t_internal(void **st)
{
	vbf_store_open(0, root, NULL);
	assert_true(vbf_store_is_internal(0, VBF_STORE_NAME));
	assert_true(vbf_store_is_internal(0, VBF_STORE_NAME ".tmp.123"));
	assert_false(vbf_store_is_internal(0, "sub/" VBF_STORE_NAME));
	assert_false(vbf_store_is_internal(0, VBF_STORE_NAME "x"));
	assert_false(vbf_store_is_internal(0, ".vboxfix"));
	assert_false(vbf_store_is_internal(0, ""));
	assert_true(vbf_store_name_internal(VBF_STORE_NAME));
	assert_false(vbf_store_name_internal("."));
	struct vbf_store_info info;
	vbf_store_info(0, &info);
	/* removing the share root: the store's file goes with it, but only
	 * when nothing else is left */
	vbf_store_put(0, "a", NULL, &R_OWN);
	char other[128];
	snprintf(other, sizeof other, "%s/x", root);
	assert_int_equal(mkdir(other, 0700), 0);
	assert_int_equal(vbf_store_rmdir_root(0, rmdir_root, NULL), -1);
	assert_true(has(0, "a", NULL));
	assert_int_equal(file_size() > 0, 1);
	rmdir(other);
	/* an entry appearing between the check and the rmdir: the log comes
	 * back whole */
	assert_int_equal(vbf_store_rmdir_root(0, rmdir_fails, other), -1);
	assert_int_equal(errno, ENOTEMPTY);
	assert_true(has(0, "a", NULL));
	vbf_store_close(0);
	vbf_store_open(0, root, NULL);
	assert_true(has(0, "a", NULL));
	rmdir(other);
	assert_int_equal(vbf_store_rmdir_root(0, rmdir_root, NULL), 0);
	assert_int_equal(access(root, F_OK), -1);
	assert_false(has(0, "a", NULL));
	mkdir(root, 0700);
}

static void t_closed_fd(void **st)
{
	/* a daemon closes every descriptor and reuses the number */
	vbf_store_open(0, root, NULL);
	int fd = vbf_stores[0].fd;
	close(fd);
	char other[128];
	snprintf(other, sizeof other, "%s/victim", root);
	int v = open(other, O_RDWR | O_CREAT | O_APPEND, 0644);
	assert_int_equal(dup2(v, fd), fd);
	vbf_store_put(0, "a", NULL, &R_OWN);
	struct stat sb;
	assert_int_equal(stat(other, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	vbf_store_close(0);
	close(v);
	vbf_store_open(0, root, NULL);
	assert_true(has(0, "a", NULL));
	/* a reader whose descriptor was taken still sees other writers */
	vbf_store_open(1, root, NULL);
	fd = vbf_stores[1].fd;
	v = open(other, O_RDWR | O_APPEND);
	assert_int_equal(dup2(v, fd), fd);
	vbf_store_put(0, "b", NULL, &R_OWN);
	assert_true(has(1, "b", NULL));
	assert_int_equal(stat(other, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	close(v);
}

static int cb_count(void *arg, const char *key, const struct vbf_rec *r, const struct vbf_fp *fp)
{
	(*(int *)arg)++;
	return 0;
}

static void t_foreach_import(void **st)
{
	vbf_store_open(0, root, NULL);
	struct vbf_fp fp = {S_IFDIR, 1, 77};
	assert_int_equal(vbf_store_put_fp(0, "imp", &fp, &R_OWN), 0);
	assert_int_equal(vbf_store_put_fp(0, "../x", &fp, &R_OWN), -1);
	vbf_store_put(0, "two", NULL, &R_MODE);
	int n = 0;
	assert_int_equal(vbf_store_foreach(0, cb_count, &n), 0);
	assert_int_equal(n, 2);
	vbf_store_forget(0, "imp");
	n = 0;
	vbf_store_foreach(0, cb_count, &n);
	assert_int_equal(n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(t_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(t_put_get_del, setup, teardown),
		cmocka_unit_test_setup_teardown(t_links, setup, teardown),
		cmocka_unit_test_setup_teardown(t_subtree, setup, teardown),
		cmocka_unit_test_setup_teardown(t_ancestors, setup, teardown),
		cmocka_unit_test_setup_teardown(t_fingerprint, setup, teardown),
		cmocka_unit_test_setup_teardown(t_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(t_foreign, setup, teardown),
		cmocka_unit_test_setup_teardown(t_not_regular, setup, teardown),
		cmocka_unit_test_setup_teardown(t_huge_sparse, setup, teardown),
		cmocka_unit_test_setup_teardown(t_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(t_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(t_two_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(t_memory_only, setup, teardown),
		cmocka_unit_test_setup_teardown(t_explicit_and_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(t_internal, setup, teardown),
		cmocka_unit_test_setup_teardown(t_closed_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(t_foreach_import, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
