/* SPDX-License-Identifier: MIT */
/* store*.c: made records (store.h, VBF_REC_MADE; docs/state-store.md,
 * "Recreated files"): a file recreated, unlinked and renamed over the same
 * names appends nothing after its first round; whatever else touches its
 * record appends as before; compaction drops a made record only when its
 * name is missing at two compactions; and the log's mark of its last
 * compaction makes the next one due when the log has doubled. Two store
 * instances on one file stand in for two processes. */
#include "fake_real.h"
#include "store_int.h"
#include "log.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char root[64];

static int setup(void **st)
{
	fake_real_reset();
	vbf_log_level = -1;
	snprintf(root, sizeof root, "/tmp/vbf-made-XXXXXX");
	assert_non_null(mkdtemp(root));
	return 0;
}

static int teardown(void **st)
{
	char cmd[128];
	for (int i = 0; i < VBF_MAX_SHARES; i++)
		vbf_store_close(i);
	vbf_compact_min = 256 * 1024;
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static off_t log_size(void)
{
	char p[128];
	struct stat st;
	snprintf(p, sizeof p, "%s/" VBF_STORE_NAME, root);
	assert_int_equal(stat(p, &st), 0);
	return st.st_size;
}

/* a real file at `key` below the root (compaction looks for names) */
static void touch(const char *key)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", root, key);
	int fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
}

static void gone(const char *key)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", root, key);
	assert_int_equal(unlink(p), 0);
}

static struct stat reg(ino_t ino)
{
	struct stat st;
	memset(&st, 0, sizeof st);
	st.st_mode = S_IFREG | 0777;
	st.st_ino = ino;
	return st;
}

static const struct vbf_rec R600 = {VBF_REC_MODE, 0, 0, 0600, 0, 0};
static const struct vbf_rec R644 = {VBF_REC_MODE, 0, 0, 0644, 0, 0};

static uint32_t mode_of(int idx, const char *key)
{
	struct vbf_rec r;
	return vbf_store_get(idx, key, NULL, &r) && (r.flags & VBF_REC_MODE) ? r.mode : 0;
}

/* postmaster.pid, ibtmp1: made at every start, unlinked at every stop */
static void t_recreated(void **st)
{
	vbf_store_open(0, root, NULL);
	vbf_stores[0].trust_ino = 1; /* a share with stable inode numbers */
	struct stat a = reg(10), b = reg(11);
	vbf_store_put_made(0, "pid", &a, &R600);
	vbf_store_unlinked(0, "pid");
	off_t size = log_size();
	for (int i = 0; i < 5; i++) {
		struct stat s = i & 1 ? a : b; /* a new inode number each time */
		vbf_store_put_made(0, "pid", &s, &R600);
		assert_int_equal(mode_of(0, "pid"), 0600);
		vbf_store_unlinked(0, "pid");
	}
	assert_int_equal(log_size(), size);
	/* the dormant record is the next file's until it is made otherwise */
	assert_int_equal(mode_of(0, "pid"), 0600);
	vbf_store_put_made(0, "pid", &b, &R644);
	assert_int_equal(mode_of(0, "pid"), 0644);
	assert_true(log_size() > size);
	/* another process sees the same */
	vbf_store_open(1, root, NULL);
	assert_int_equal(mode_of(1, "pid"), 0644);
}

/* a made record changed since (chmod) is an ordinary one: an unlink drops
 * it, and a directory's record goes with rmdir as before */
static void t_changed_drops(void **st)
{
	vbf_store_open(0, root, NULL);
	struct stat a = reg(10);
	vbf_store_put_made(0, "f", &a, &R600);
	vbf_store_put(0, "f", &a, &R644);
	vbf_store_unlinked(0, "f");
	assert_int_equal(mode_of(0, "f"), 0);
	/* a made record put through the plain API is plain */
	struct vbf_rec m = R600;
	m.flags |= VBF_REC_MADE;
	vbf_store_put(0, "g", &a, &m);
	vbf_store_unlinked(0, "g");
	assert_int_equal(mode_of(0, "g"), 0);
	/* a directory is never made-kept */
	struct stat d = reg(12);
	d.st_mode = S_IFDIR | 0777;
	vbf_store_put_made(0, "d", &d, &R600);
	vbf_store_put_made(0, "d/x", &a, &R600);
	vbf_store_del(0, "d");
	assert_int_equal(mode_of(0, "d"), 0);
	assert_int_equal(mode_of(0, "d/x"), 0);
	/* the lookup of a made record matches any file of its type */
	vbf_store_put_made(0, "h", &a, &R600);
	struct stat other = reg(99);
	struct vbf_rec r;
	vbf_stores[0].trust_ino = 1;
	assert_true(vbf_store_get(0, "h", &other, &r));
	other.st_mode = S_IFDIR | 0777;
	assert_false(vbf_store_get(0, "h", &other, &r));
}

/* pgstat.tmp -> pgstat.stat, ib_buffer_pool.incomplete -> ib_buffer_pool */
static void t_rename_over(void **st)
{
	vbf_store_open(0, root, NULL);
	vbf_store_open(1, root, NULL);
	struct stat a = reg(10);
	struct vbf_rec was;
	vbf_store_put_made(0, "tmp", &a, &R600);
	vbf_store_rename_was(0, "tmp", "final", NULL);
	assert_int_equal(mode_of(1, "final"), 0600);
	off_t size = log_size();
	for (int i = 0; i < 3; i++) {
		vbf_store_unlinked(1, "final"); /* read at start, removed */
		vbf_store_put_made(0, "tmp", &a, &R600);
		assert_true(vbf_store_get(0, "tmp", NULL, &was));
		vbf_store_rename_was(0, "tmp", "final", &was);
	}
	assert_int_equal(log_size(), size);
	assert_int_equal(mode_of(1, "final"), 0600);
	/* a different record at the target is replaced */
	struct vbf_rec own = {VBF_REC_OWNER | VBF_REC_MODE, 7, 8, 0640, 0, 0};
	vbf_store_put(1, "final", &a, &own);
	vbf_store_rename_was(0, "tmp", "final", NULL);
	assert_int_equal(mode_of(1, "final"), 0600);
	/* a plain record moves as before, and leaves nothing behind */
	vbf_store_put(0, "plain", &a, &R644);
	vbf_store_rename_was(0, "plain", "final", NULL);
	assert_int_equal(mode_of(1, "final"), 0644);
	assert_int_equal(mode_of(1, "plain"), 0);
	/* a made record a compaction dropped meanwhile: the one seen before
	 * the rename reaches the new name */
	was = R600;
	was.flags |= VBF_REC_MADE;
	vbf_store_rename_was(0, "nothing-now", "final", &was);
	assert_int_equal(mode_of(1, "final"), 0600);
}

/* temporary files with unique names: dropped at the second compaction that
 * misses them, kept while they exist */
static void t_compaction_prunes(void **st)
{
	vbf_store_open(0, root, NULL);
	vbf_store_open(1, root, NULL);
	struct stat a = reg(10);
	char k[32];
	assert_int_equal(mkdir(strcat(strcpy(k, root), "/sub"), 0700), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(k, sizeof k, "sub/t%d", i);
		touch(k);
		vbf_store_put_made(0, k, &a, &R600);
		if (i % 2) {
			gone(k);
			vbf_store_unlinked(0, k);
		}
	}
	touch("live");
	vbf_store_put_made(0, "live", &a, &R600);
	assert_int_equal(vbf_store_compact(0), 0); /* marks the missing ones */
	assert_int_equal(mode_of(1, "sub/t1"), 0600);
	/* one comes back in between: made again, it stays */
	touch("sub/t3");
	vbf_store_put_made(1, "sub/t3", &a, &R600);
	assert_int_equal(vbf_store_compact(1), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(k, sizeof k, "sub/t%d", i);
		assert_int_equal(mode_of(0, k), i % 2 && i != 3 ? 0 : 0600);
	}
	assert_int_equal(mode_of(0, "live"), 0600);
	/* a file renamed while a compaction runs (its name moved, its record
	 * not yet): marked gone, then moved by the rename, so kept */
	char from[128], to[128];
	struct vbf_rec was;
	touch("sub/r");
	vbf_store_put_made(0, "sub/r", &a, &R600);
	assert_true(vbf_store_get(0, "sub/r", NULL, &was));
	snprintf(from, sizeof from, "%s/sub/r", root);
	snprintf(to, sizeof to, "%s/sub/r2", root);
	assert_int_equal(rename(from, to), 0);
	vbf_store_compact(0);
	vbf_store_rename_was(1, "sub/r", "sub/r2", &was);
	vbf_store_compact(0);
	vbf_store_compact(1);
	assert_int_equal(mode_of(0, "sub/r2"), 0600);
	/* ... and a renamer stalled over two compactions still carries the
	 * record it saw before the rename */
	assert_int_equal(rename(to, from), 0);
	assert_true(vbf_store_get(0, "sub/r2", NULL, &was));
	assert_int_equal(vbf_store_compact(0), 0);
	assert_int_equal(vbf_store_compact(0), 0);
	assert_int_equal(mode_of(0, "sub/r2"), 0);
	vbf_store_rename_was(1, "sub/r2", "sub/r", &was);
	assert_int_equal(mode_of(0, "sub/r"), 0600);
}

/* made records in more directories than one compaction lists
 * (store_compact.c, PRUNE_DIRS): each compaction looks at a part, under
 * the exclusive lock, and the rest is dropped by later ones. On the code
 * before, the first two compactions listed all 300 directories and
 * dropped all 300 records. */
static void t_prune_budget(void **st)
{
	vbf_store_open(0, root, NULL);
	struct stat a = reg(10);
	char k[64], d[160];
	enum { N = 300 };
	for (int i = 0; i < N; i++) {
		snprintf(d, sizeof d, "%s/d%d", root, i);
		assert_int_equal(mkdir(d, 0700), 0);
		snprintf(k, sizeof k, "d%d/f", i);
		touch(k);
		vbf_store_put_made(0, k, &a, &R600);
		gone(k);
		vbf_store_unlinked(0, k);
	}
	int left = N, rounds = 0;
	for (; left && rounds < 30; rounds++) {
		assert_int_equal(vbf_store_compact(0), 0);
		left = 0;
		for (int i = 0; i < N; i++) {
			snprintf(k, sizeof k, "d%d/f", i);
			left += mode_of(0, k) != 0;
		}
		if (rounds == 1)
			assert_true(left >= N - 256); /* two looks each, 256 at most */
	}
	assert_int_equal(left, 0);
}

/* a made record's key through a symlink on the share, to a directory
 * elsewhere (anyone can write such records into the log): compaction does
 * not list or look up names there, so whether a record survives tells
 * nothing of what lies outside the share. On the code before, the record
 * of the missing name was dropped and the other kept. */
static void t_prune_no_symlinks(void **st)
{
	char out[160], p[200], q[200];
	snprintf(out, sizeof out, "%s-out", root);
	assert_int_equal(mkdir(out, 0700), 0);
	snprintf(p, sizeof p, "%s/present", out);
	int fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(q, sizeof q, "%s/x", root);
	assert_int_equal(symlink(out, q), 0);
	vbf_store_open(0, root, NULL);
	struct stat a = reg(10);
	vbf_store_put_made(0, "x/present", &a, &R600);
	vbf_store_put_made(0, "x/absent", &a, &R600);
	assert_int_equal(vbf_store_compact(0), 0);
	assert_int_equal(vbf_store_compact(0), 0);
	assert_int_equal(vbf_store_compact(0), 0);
	assert_int_equal(mode_of(0, "x/present"), 0600);
	assert_int_equal(mode_of(0, "x/absent"), 0600);
	unlink(p);
	rmdir(out);
}

/* the mark of the last compaction: a log of live, dormant records is
 * compacted again when it has doubled, not at every append */
static void t_growth_trigger(void **st)
{
	vbf_store_open(0, root, NULL);
	vbf_store_open(1, root, NULL);
	vbf_compact_min = 4096;
	struct stat a = reg(10);
	char k[32];
	for (int i = 0; i < 400; i++) { /* never recreated: all dormant */
		snprintf(k, sizeof k, "tmp.%d", i);
		vbf_store_put_made(i & 1, k, &a, &R600);
		vbf_store_unlinked(i & 1, k);
	}
	/* 400 x ~50 bytes appended, but at most ~2 x 4 KiB stays: every
	 * compaction after the first drops what two of them missed */
	assert_true(log_size() < 3 * 4096);
	struct vbf_store_info info;
	vbf_store_info(1, &info);
	assert_true(info.records < 200);
	assert_true(vbf_stores[1].base > 0);
	/* a process that opens the log now reads the same mark */
	vbf_store_close(1);
	vbf_store_open(1, root, NULL);
	assert_int_equal(vbf_stores[1].base, vbf_stores[0].base);
}

/* the rename of a directory with made records below holds the log: no
 * compaction, of this process or another, until released */
static void t_hold(void **st)
{
	vbf_store_open(0, root, NULL);
	struct stat a = reg(10);
	vbf_store_put_made(0, "file", &a, &R600);
	assert_int_equal(vbf_store_hold(0, "file"), 0); /* nothing below a file */
	vbf_store_put_made(0, "dir/x", &a, &R600);
	int held = vbf_store_hold(0, "dir");
	assert_true(held);
	vbf_store_put_made(0, "dir/y", &a, &R600); /* an append in between keeps it */
	assert_int_equal(vbf_store_compact(0), -1);
	pid_t pid = fork();
	if (pid == 0) {
		vbf_store_open(1, root, NULL);
		_exit(vbf_store_compact(1) == -1 ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	vbf_store_rename_was(0, "dir", "moved", NULL);
	vbf_store_release(0, held);
	assert_int_equal(mode_of(0, "moved/y"), 0600);
	assert_int_equal(vbf_store_compact(0), 0);
	pid = fork();
	if (pid == 0) {
		vbf_store_open(1, root, NULL);
		vbf_store_put_made(1, "more", &a, &R644);
		_exit(vbf_store_compact(1) == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_recreated, setup, teardown),
		cmocka_unit_test_setup_teardown(t_changed_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(t_rename_over, setup, teardown),
		cmocka_unit_test_setup_teardown(t_compaction_prunes, setup, teardown),
		cmocka_unit_test_setup_teardown(t_prune_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(t_prune_no_symlinks, setup, teardown),
		cmocka_unit_test_setup_teardown(t_growth_trigger, setup, teardown),
		cmocka_unit_test_setup_teardown(t_hold, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
