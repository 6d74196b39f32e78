/* SPDX-License-Identifier: MIT */
/* store_page.c's copies of logs (docs/state-store.md, "Logs read from
 * memory"): a store opened after another read its log whole replays the
 * copy, opens the log only to write, and shows every record; a copy is not
 * used once the log grew without the counter moving (another container),
 * was replaced by another file, or the counter moved; a scribbled copy is
 * a miss. Stores 0 and 1 stand in for processes, each test in its own
 * share root and page. */
#include "fake_real.h"
#include "store_int.h"
#include "config.h"
#include "log.h"
#include <sys/stat.h>

static char root[64], pname[48];
static const struct vbf_rec R1 = {VBF_REC_OWNER, 999, 998, 0, 0, 0};
static const struct vbf_rec R2 = {VBF_REC_OWNER, 1001, 1002, 0, 0, 0};

static int setup(void **st)
{
	fake_real_reset();
	vbf_log_level = -1;
	snprintf(root, sizeof root, "/tmp/vbf-copy-XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(pname, sizeof pname, "vbf-copy-test-%d-", (int)getpid());
	vbf_page_copies_name = pname;
	vbf_cfg.shared_cache = 64;
	vbf_cfg.ttl_ms = 1000;
	return 0;
}

static int teardown(void **st)
{
	char cmd[128];
	for (int i = 0; i < VBF_MAX_SHARES; i++)
		vbf_store_close(i);
	vbf_snap_remove();
	vbf_cfg.shared_cache = 0;
	vbf_cfg.ttl_ms = 0;
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static int owner_of(int idx, const char *key)
{
	struct vbf_rec r;
	return vbf_store_get(idx, key, NULL, &r) ? (int)r.uid : -1;
}

static void put(int idx, const char *key, const struct vbf_rec *rec)
{
	struct vbf_fp fp = {0, 0, 0};
	assert_int_equal(vbf_store_put_fp(idx, key, &fp, rec), 0);
}

/* A new "process": store 0 closed and opened again; 1 when from a copy. */
static int reopen0(void)
{
	vbf_store_close(0);
	vbf_store_open(0, root, NULL);
	return vbf_stores[0].later;
}

static void t_replayed(void **st)
{
	vbf_store_open(0, root, NULL);
	put(0, "a", &R1);
	assert_int_equal(reopen0(), 0); /* the counter moved: read whole, kept */
	assert_int_equal(reopen0(), 1);
	assert_int_equal(vbf_stores[0].fd, -1);
	assert_int_equal(owner_of(0, "a"), 999);
	struct vbf_store_info si;
	assert_int_equal(vbf_store_info(0, &si), 0);
	assert_int_equal(si.persistent, 1);
	/* the first write opens the log; another process sees the record */
	put(0, "b", &R2);
	assert_int_equal(vbf_stores[0].later, 0);
	assert_true(vbf_stores[0].fd >= 0);
	vbf_store_open(1, root, NULL);
	assert_int_equal(owner_of(1, "b"), 1001);
	assert_int_equal(owner_of(1, "a"), 999);
	/* store 1 read it whole and kept it: 0 replays it, and sees a
	 * record 1 writes then (the counter moved) */
	vbf_store_close(1);
	assert_int_equal(reopen0(), 1);
	vbf_store_open(1, root, NULL);
	put(1, "c", &R1);
	assert_int_equal(owner_of(0, "c"), 999);
	assert_int_equal(vbf_stores[0].later, 0);
}

/* A record another container appended (no counter of ours moved): the log
 * is longer than the copy, which is not used. */
static void t_grown(void **st)
{
	vbf_store_open(0, root, NULL);
	put(0, "a", &R1);
	assert_int_equal(reopen0(), 0);
	uint8_t rec[VBF_REC_MAX];
	struct vbf_op op = {.type = VBF_OP_PUT, .rec = R2, .key = "x", .klen = 1};
	size_t n = vbf_rec_encode(&op, rec);
	assert_true(n > 0);
	char path[128];
	snprintf(path, sizeof path, "%s/" VBF_STORE_NAME, root);
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, rec, n), (ssize_t)n);
	close(fd);
	assert_int_equal(reopen0(), 0);
	assert_int_equal(owner_of(0, "x"), 1001);
	assert_int_equal(reopen0(), 1); /* kept again by that read */
	assert_int_equal(owner_of(0, "x"), 1001);
}

/* The log replaced by another file of the same length (a compaction, a
 * restore): not the copy's file. */
static void t_replaced(void **st)
{
	vbf_store_open(0, root, NULL);
	put(0, "a", &R1);
	assert_int_equal(reopen0(), 0);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "cp %s/%s %s/new && mv %s/new %s/%s", root, VBF_STORE_NAME, root, root, root,
		 VBF_STORE_NAME);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(reopen0(), 0);
	assert_int_equal(owner_of(0, "a"), 999);
}

/* The log emptied in place (same inode) while a store holds its copy: the
 * store's first write finds it shorter than the copy, checks its head
 * again (an empty log gets one) and reads it whole; the log stays a log. */
static void t_truncated(void **st)
{
	vbf_store_open(0, root, NULL);
	put(0, "a", &R1);
	assert_int_equal(reopen0(), 0);
	assert_int_equal(reopen0(), 1);
	char path[128];
	snprintf(path, sizeof path, "%s/" VBF_STORE_NAME, root);
	assert_int_equal(truncate(path, 0), 0);
	put(0, "b", &R2);
	vbf_store_open(1, root, NULL);
	assert_int_equal(owner_of(1, "b"), 1001);
	assert_int_equal(owner_of(1, "a"), -1);
}

/* Every byte of the page scribbled, a few ways: a miss, never a record
 * that is not in the log. */
static void t_scribbled(void **st)
{
	vbf_store_open(0, root, NULL);
	put(0, "a", &R1);
	assert_int_equal(reopen0(), 0);
	size_t n;
	unsigned char *pg = vbf_page_copies(&n);
	assert_non_null(pg);
	for (int round = 0; round < 16; round++) {
		uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(round + 1);
		for (size_t i = sizeof(struct vbf_shpage_hdr); i < n; i += 1 + (x & 4095)) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			pg[i] = round % 4 == 1 ? 0xff : round % 4 == 2 ? 0 : (unsigned char)x;
		}
		reopen0();
		assert_int_equal(owner_of(0, "a"), 999);
		assert_int_equal(owner_of(0, "b"), -1);
	}
	/* and the copies work again once one is written */
	memset(pg + sizeof(struct vbf_shpage_hdr), 0, n - sizeof(struct vbf_shpage_hdr));
	assert_int_equal(reopen0(), 0);
	assert_int_equal(reopen0(), 1);
	assert_int_equal(owner_of(0, "a"), 999);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_replayed, setup, teardown),
		cmocka_unit_test_setup_teardown(t_grown, setup, teardown),
		cmocka_unit_test_setup_teardown(t_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(t_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(t_scribbled, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
