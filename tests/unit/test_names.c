/* SPDX-License-Identifier: MIT */
/* refuse.c and refuse_link.c: rename, unlink and link on a share (a real
 * temporary directory), with the share's refusals scripted through the
 * real-function table: the store kept in step with names that move or go,
 * busy answers retried within the budget, RENAME_NOREPLACE and hard links
 * emulated. */
#include "fake_real.h"
#include "fake_ops.h"
#include "config.h"
#include "refuse.h"
#include "store.h"
#include "vbf.h"

/* Defined here so the library's constructor (vbf.o) is not linked in. */
void vbf_boot(void) {}

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

static char root[PATH_MAX];
#define P(slot, rel) fake_share_path(slot, rel)


/* ---- the share's answers, scripted ---- */

static int busy;      /* answer this many calls EBUSY first */
static int once;      /* then, when set, the next call this errno */
static int refuse;    /* then, when set, always this errno */
static int no_flags;  /* renameat2 with flags answers EINVAL (vboxsf) */
static int calls;

static int scripted(void)
{
	calls++;
	if (busy > 0) {
		busy--;
		errno = EBUSY;
		return -1;
	}
	if (once || refuse) {
		errno = once ? once : refuse;
		once = 0;
		return -1;
	}
	return 0;
}

static int f_renameat(int fa, const char *a, int fb, const char *b) { return scripted() ? -1 : renameat(fa, a, fb, b); }
static int f_renameat2(int fa, const char *a, int fb, const char *b, unsigned int fl)
{
	if (fl && no_flags) {
		calls++;
		errno = EINVAL;
		return -1;
	}
	return scripted() ? -1 : renameat2(fa, a, fb, b, fl);
}
/* the share's answers to unlink; a directory's removal is the real one */
static int f_unlinkat(int d, const char *p, int fl) { return !fl && scripted() ? -1 : unlinkat(d, p, fl); }
/* the share has no hard links: its own answer, apart from the others' */
static int link_err;
static int f_linkat(int fa, const char *a, int fb, const char *b, int fl)
{
	calls++;
	if (link_err) {
		errno = link_err;
		return -1;
	}
	return linkat(fa, a, fb, b, fl);
}

static int setup(void **s)
{
	fake_real_reset();
	vbf_real.renameat = f_renameat;
	vbf_real.renameat2 = f_renameat2;
	vbf_real.unlinkat = f_unlinkat;
	vbf_real.linkat = f_linkat;
	busy = once = refuse = link_err = no_flags = calls = 0;
	fake_share_make(root);
	return 0;
}

static void make_file(const char *p, const char *text)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void record(const char *key, const char *path, uid_t uid, mode_t mode)
{
	struct stat st;
	struct vbf_rec rec = {.flags = VBF_REC_OWNER | VBF_REC_MODE, .uid = uid, .gid = uid, .mode = mode};
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(vbf_store_put(0, key, &st, &rec), 0);
}

/* The record of `key` (whose object is at `path`): 1 and *rec, else 0. */
static int has(const char *key, const char *path, struct vbf_rec *rec)
{
	struct stat st;
	struct vbf_rec r;
	if (lstat(path, &st) != 0)
		memset(&st, 0, sizeof st);
	return vbf_store_get(0, key, &st, rec ? rec : &r);
}

/* ---- rename ---- */

static void t_rename_moves_record(void **s)
{
	struct vbf_rec rec;
	make_file(P(0, "a"), "x");
	record("a", P(0, "a"), 123, 0600);
	assert_int_equal(op_rename(AT_FDCWD, P(0, "a"), AT_FDCWD, P(1, "b"), 0), 0);
	assert_int_equal(access(P(0, "b"), F_OK), 0);
	assert_true(has("b", P(0, "b"), &rec));
	assert_int_equal(rec.uid, 123);
	assert_int_equal(rec.mode, 0600);
	assert_false(has("a", P(0, "b"), NULL));
	/* a rename over a recorded name: its record goes, the source's wins */
	make_file(P(0, "c"), "y");
	record("c", P(0, "c"), 7, 0640);
	assert_int_equal(op_rename(AT_FDCWD, P(0, "b"), AT_FDCWD, P(1, "c"), 0), 0);
	assert_true(has("c", P(0, "c"), &rec));
	assert_int_equal(rec.uid, 123);
	assert_int_equal(calls, 2);
}

static void t_rename_dir_subtree(void **s)
{
	struct vbf_rec rec;
	assert_int_equal(mkdir(P(0, "d"), 0755), 0);
	assert_int_equal(mkdir(P(0, "d/s"), 0755), 0);
	make_file(P(0, "d/s/f"), "x");
	record("d", P(0, "d"), 10, 0700);
	record("d/s/f", P(0, "d/s/f"), 11, 0600);
	assert_int_equal(op_rename(AT_FDCWD, P(0, "d"), AT_FDCWD, P(1, "e"), 0), 0);
	assert_true(has("e", P(0, "e"), &rec));
	assert_int_equal(rec.uid, 10);
	assert_true(has("e/s/f", P(0, "e/s/f"), &rec));
	assert_int_equal(rec.uid, 11);
	assert_false(has("d", P(0, "e"), NULL));
	assert_false(has("d/s/f", P(0, "e/s/f"), NULL));
}

static void t_rename_busy_retried(void **s)
{
	struct vbf_rec rec;
	make_file(P(0, "a"), "x");
	record("a", P(0, "a"), 5, 0600);
	busy = 2;
	assert_int_equal(op_rename(AT_FDCWD, P(0, "a"), AT_FDCWD, P(1, "b"), 0), 0);
	assert_int_equal(calls, 3);
	assert_int_equal(fake_nslept, 2);
	assert_int_equal(fake_slept, 10 + 20);
	assert_true(has("b", P(0, "b"), &rec));
	assert_int_equal(rec.uid, 5);
}

static void t_rename_busy_gives_up(void **s)
{
	struct vbf_rec rec;
	make_file(P(0, "a"), "x");
	record("a", P(0, "a"), 5, 0600);
	busy = 1000;
	vbf_cfg.retry_ms = 100;
	assert_int_equal(op_rename(AT_FDCWD, P(0, "a"), AT_FDCWD, P(1, "b"), 0), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(fake_slept, 100); /* the whole budget, never more */
	assert_int_equal(calls, fake_nslept + 1);
	/* nothing moved: the record stays with the name */
	assert_true(has("a", P(0, "a"), &rec));
	assert_int_equal(access(P(0, "b"), F_OK), -1);
	/* no budget: one call, no sleep */
	busy = 1000;
	calls = fake_nslept = 0;
	vbf_cfg.retry_ms = 0;
	assert_int_equal(op_rename(AT_FDCWD, P(0, "a"), AT_FDCWD, P(1, "b"), 0), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(calls, 1);
	assert_int_equal(fake_nslept, 0);
}

static void t_rename_noreplace_emulated(void **s)
{
	struct vbf_rec rec;
	no_flags = 1;
	make_file(P(0, "a"), "a");
	make_file(P(0, "b"), "b");
	record("a", P(0, "a"), 9, 0600);
	record("b", P(0, "b"), 8, 0600);
	/* the target exists: EEXIST, both names and records as they were */
	assert_int_equal(op_rename(AT_FDCWD, P(0, "a"), AT_FDCWD, P(1, "b"), RENAME_NOREPLACE), -1);
	assert_int_equal(errno, EEXIST);
	assert_true(has("a", P(0, "a"), &rec));
	assert_true(has("b", P(0, "b"), &rec));
	assert_int_equal(rec.uid, 8);
	/* a free target: checked, then a plain rename, the record moved */
	calls = 0;
	assert_int_equal(op_rename(AT_FDCWD, P(0, "a"), AT_FDCWD, P(1, "c"), RENAME_NOREPLACE), 0);
	assert_int_equal(calls, 2); /* refused with the flag, then made without */
	assert_int_equal(access(P(0, "a"), F_OK), -1);
	assert_true(has("c", P(0, "c"), &rec));
	assert_int_equal(rec.uid, 9);
	/* a real error of the check stays what it is */
	assert_int_equal(op_rename(AT_FDCWD, P(0, "c"), AT_FDCWD, P(1, "nodir/c"), RENAME_NOREPLACE),
			 -1);
	assert_int_equal(errno, ENOENT);
	assert_true(has("c", P(0, "c"), NULL));
}

/* The host refuses a directory renamed onto an existing one (EEXIST):
 * POSIX replaces an empty target. */
static void t_rename_onto_empty_dir(void **s)
{
	struct vbf_rec rec;
	const char *dirs[] = {"src", "dst", "src2", "dst2", "dst3"};
	for (int i = 0; i < 5; i++)
		assert_int_equal(mkdir(P(0, dirs[i]), 0755), 0);
	record("src", P(0, "src"), 4, 0700);
	once = EEXIST;
	assert_int_equal(op_rename(AT_FDCWD, P(0, "src"), AT_FDCWD, P(1, "dst"), 0), 0);
	assert_int_equal(calls, 2);
	assert_int_equal(access(P(0, "src"), F_OK), -1);
	assert_true(has("dst", P(0, "dst"), &rec));
	assert_int_equal(rec.uid, 4);
	/* a target that is not empty stays, and the answer is ENOTEMPTY */
	make_file(P(0, "dst2/x"), "x");
	once = EEXIST;
	assert_int_equal(op_rename(AT_FDCWD, P(0, "src2"), AT_FDCWD, P(1, "dst2"), 0), -1);
	assert_int_equal(errno, ENOTEMPTY);
	assert_int_equal(access(P(0, "dst2/x"), F_OK), 0);
	assert_int_equal(access(P(0, "src2"), F_OK), 0);
	/* refused again once the target is gone: the empty target is put back */
	refuse = EEXIST;
	assert_int_equal(op_rename(AT_FDCWD, P(0, "src2"), AT_FDCWD, P(1, "dst3"), 0), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(access(P(0, "dst3"), F_OK), 0);
	assert_int_equal(access(P(0, "src2"), F_OK), 0);
}

/* ---- unlink ---- */

static void t_unlink_drops_record(void **s)
{
	make_file(P(0, "a"), "x");
	record("a", P(0, "a"), 3, 0600);
	assert_int_equal(op_unlink(AT_FDCWD, P(0, "a"), 0), 0);
	assert_int_equal(access(P(0, "a"), F_OK), -1);
	/* a new file under the name starts with no record */
	make_file(P(0, "a"), "x");
	assert_false(has("a", P(0, "a"), NULL));
	/* a failed unlink keeps it */
	record("a", P(0, "a"), 3, 0600);
	refuse = EACCES;
	assert_int_equal(op_unlink(AT_FDCWD, P(0, "a"), 0), -1);
	assert_int_equal(errno, EACCES);
	assert_int_equal(fake_nslept, 0);
	assert_true(has("a", P(0, "a"), NULL));
}

static void t_unlink_busy(void **s)
{
	make_file(P(0, "a"), "x");
	record("a", P(0, "a"), 3, 0600);
	/* not open here: no deferral, the unlink is tried again */
	busy = 3;
	assert_int_equal(op_unlink(AT_FDCWD, P(0, "a"), 0), 0);
	assert_int_equal(calls, 4);
	assert_int_equal(fake_slept, 10 + 20 + 40);
	assert_int_equal(access(P(0, "a"), F_OK), -1);
	make_file(P(0, "a"), "x");
	assert_false(has("a", P(0, "a"), NULL));
	/* busy past the budget: given up, the record kept */
	record("a", P(0, "a"), 3, 0600);
	busy = 1000;
	fake_slept = 0;
	vbf_cfg.retry_ms = 250;
	assert_int_equal(op_unlink(AT_FDCWD, P(0, "a"), 0), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(fake_slept, 250);
	assert_true(has("a", P(0, "a"), NULL));
}

/* ---- link: the share has none (EPERM), a copy carries the record ---- */

static void t_link_emulated(void **s)
{
	struct vbf_rec ra, rb;
	struct stat sa;
	char buf[16] = {0};
	make_file(P(0, "a"), "hello");
	record("a", P(0, "a"), 77, 0600);
	assert_int_equal(lstat(P(0, "a"), &sa), 0);
	link_err = EPERM;
	errno = 4242;
	assert_int_equal(op_link(AT_FDCWD, P(0, "a"), AT_FDCWD, P(1, "b"), 0), 0);
	assert_int_equal(errno, 4242); /* kept on success */
	int fd = open(P(0, "b"), O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof buf), 5);
	close(fd);
	assert_string_equal(buf, "hello");
	/* the copy presents what the source does, and both are one group */
	assert_true(has("b", P(0, "b"), &rb));
	assert_true(has("a", P(0, "a"), &ra));
	assert_int_equal(rb.uid, 77);
	assert_int_equal(rb.mode, 0600);
	assert_true(ra.flags & rb.flags & VBF_REC_LINK);
	assert_true(ra.link != 0);
	assert_true(ra.link == rb.link);
	assert_true(rb.link_ino == (uint64_t)sa.st_ino);
	assert_int_equal(vbf_store_links(0, ra.link), 2);
	/* a third name joins the same group */
	assert_int_equal(op_link(AT_FDCWD, P(0, "b"), AT_FDCWD, P(1, "c"), 0), 0);
	assert_int_equal(vbf_store_links(0, ra.link), 3);
	/* a rename of one name onto another of its group does nothing */
	calls = 0;
	assert_int_equal(op_rename(AT_FDCWD, P(0, "a"), AT_FDCWD, P(1, "b"), 0), 0);
	assert_int_equal(calls, 0);
	assert_int_equal(access(P(0, "a"), F_OK), 0);
	/* an unlink leaves the group one name smaller */
	assert_int_equal(op_unlink(AT_FDCWD, P(0, "c"), 0), 0);
	assert_int_equal(vbf_store_links(0, ra.link), 2);
	/* no temporary copy was left behind */
	DIR *d = opendir(root);
	struct dirent *e;
	while ((e = readdir(d)))
		assert_int_not_equal(strncmp(e->d_name, ".vbf-link.", 10), 0);
	closedir(d);
}

static void t_link_target_exists(void **s)
{
	make_file(P(0, "a"), "a");
	make_file(P(0, "b"), "b");
	link_err = EPERM;
	assert_int_equal(op_link(AT_FDCWD, P(0, "a"), AT_FDCWD, P(1, "b"), 0), -1);
	assert_int_equal(errno, EEXIST);
	assert_false(has("b", P(0, "b"), NULL));
	/* a directory is not linked: the share's answer stays */
	assert_int_equal(mkdir(P(0, "d"), 0755), 0);
	assert_int_equal(op_link(AT_FDCWD, P(0, "d"), AT_FDCWD, P(1, "e"), 0), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(access(P(0, "e"), F_OK), -1);
	/* another refusal than EPERM is no cue to copy */
	link_err = EACCES;
	assert_int_equal(op_link(AT_FDCWD, P(0, "a"), AT_FDCWD, P(1, "f"), 0), -1);
	assert_int_equal(errno, EACCES);
	assert_int_equal(access(P(0, "f"), F_OK), -1);
}

int main(void)
{
	vbf_boot_state = 2; /* started, with shares */
	vbf_on = 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_rename_moves_record, setup, fake_share_teardown),
		cmocka_unit_test_setup_teardown(t_rename_dir_subtree, setup, fake_share_teardown),
		cmocka_unit_test_setup_teardown(t_rename_busy_retried, setup, fake_share_teardown),
		cmocka_unit_test_setup_teardown(t_rename_busy_gives_up, setup, fake_share_teardown),
		cmocka_unit_test_setup_teardown(t_rename_noreplace_emulated, setup, fake_share_teardown),
		cmocka_unit_test_setup_teardown(t_rename_onto_empty_dir, setup, fake_share_teardown),
		cmocka_unit_test_setup_teardown(t_unlink_drops_record, setup, fake_share_teardown),
		cmocka_unit_test_setup_teardown(t_unlink_busy, setup, fake_share_teardown),
		cmocka_unit_test_setup_teardown(t_link_emulated, setup, fake_share_teardown),
		cmocka_unit_test_setup_teardown(t_link_target_exists, setup, fake_share_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
