/* SPDX-License-Identifier: MIT */
/* Resolve once: a call on a share classifies each of its names once (the
 * wrapper's vbf_where_name) and the policy works from that; every further
 * vbf_where_name or vbf_where_stat is a canonicalisation and share match
 * paid again (shares.h, vbf_where_count). The share is a temporary
 * directory (fake_share_make); the real calls are libc's. */
#include "fake_real.h"
#include "fake_ops.h"
#include "config.h"
#include "own.h"
#include "refuse.h"
#include "shares.h"
#include "vbf.h"

/* Defined here so the library's constructor (vbf.o) is not linked in. */
void vbf_boot(void) {}

static char root[PATH_MAX];
#define P(slot, rel) fake_share_path(slot, rel)

static int setup(void **s)
{
	/* started: the steps that look further only in a started library
	 * (vbf_ready) run, and are counted */
	fake_share_started(root);
	return 0;
}

static void make_file(const char *p)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	close(fd);
}

/* the classifications of one call, the wrapper's included */
static unsigned long counted;
#define COUNT(call)                                                            \
	do {                                                                   \
		unsigned long c0_ = vbf_where_count;                           \
		call;                                                          \
		counted = vbf_where_count - c0_;                               \
	} while (0)

/* the wrappers' way: classify, then the op (wrap_own.c, wrap_names.c) */
static int op_chown(const char *p, uid_t u, gid_t g)
{
	struct vbf_where w;
	if (vbf_where_name(AT_FDCWD, p, &w) < 0)
		return chown(p, u, g);
	return vbf_op_chown_where(&w, AT_FDCWD, p, u, g, 0);
}

static int op_chmod(const char *p, mode_t m)
{
	struct vbf_where w;
	if (vbf_where_name(AT_FDCWD, p, &w) < 0)
		return chmod(p, m);
	return vbf_op_chmod_where(&w, AT_FDCWD, p, m, 0);
}

/* chown and chmod: the wrapper's classification, then the one stat made
 * as the kernel's walk that names the object canonically (own.h): two */
static void t_chown(void **s)
{
	make_file(P(0, "f"));
	COUNT(assert_int_equal(op_chown(P(0, "f"), (uid_t)-1, getgid()), 0));
	assert_int_equal(counted, 2);
	/* a missing name: the search rights on the way come from the
	 * wrapper's classification, not a new one */
	COUNT(assert_int_equal(op_chown(P(0, "missing"), (uid_t)-1, getgid()), -1));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(counted, 2);
}

static void t_chmod(void **s)
{
	make_file(P(0, "f"));
	COUNT(assert_int_equal(op_chmod(P(0, "f"), 0600), 0));
	assert_int_equal(counted, 2);
	COUNT(assert_int_equal(op_chmod(P(0, "nodir/f"), 0600), -1));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(counted, 2);
}

static void t_access(void **s)
{
	struct vbf_where w;
	make_file(P(0, "f"));
	/* F_OK: no stat, only the search on the way */
	COUNT(assert_true(vbf_where_name(AT_FDCWD, P(0, "f"), &w) >= 0);
	      assert_int_equal(vbf_op_access(&w, AT_FDCWD, P(0, "f"), F_OK, 0, 0, 0), 0));
	assert_int_equal(counted, 1);
	errno = ENOENT;
	COUNT(assert_true(vbf_where_name(AT_FDCWD, P(0, "gone"), &w) >= 0);
	      assert_int_equal(vbf_op_access(&w, AT_FDCWD, P(0, "gone"), R_OK, 0, -1, ENOENT), -1));
	assert_int_equal(counted, 1);
}

static void t_rename(void **s)
{
	make_file(P(0, "a"));
	COUNT(assert_int_equal(op_rename(AT_FDCWD, P(0, "a"), AT_FDCWD, P(1, "b"), 0), 0));
	assert_int_equal(counted, 2);
	/* refused paths too: a missing source (the redirect lookup), a
	 * directory onto a file */
	COUNT(assert_int_equal(op_rename(AT_FDCWD, P(0, "missing"), AT_FDCWD, P(1, "c"), 0), -1));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(counted, 2);
	assert_int_equal(mkdir(P(0, "d"), 0755), 0);
	COUNT(assert_int_equal(op_rename(AT_FDCWD, P(0, "d"), AT_FDCWD, P(1, "b"), 0), -1));
	assert_int_equal(errno, ENOTDIR);
	assert_int_equal(counted, 2);
}

static void t_unlink(void **s)
{
	make_file(P(0, "a"));
	COUNT(assert_int_equal(op_unlink(AT_FDCWD, P(0, "a"), 0), 0));
	assert_int_equal(counted, 1);
	COUNT(assert_int_equal(op_unlink(AT_FDCWD, P(0, "a"), 0), -1));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(counted, 1);
	assert_int_equal(mkdir(P(0, "d"), 0755), 0);
	COUNT(assert_int_equal(op_unlink(AT_FDCWD, P(0, "d"), AT_REMOVEDIR), 0));
	assert_int_equal(counted, 1);
	COUNT(assert_int_equal(op_unlink(AT_FDCWD, P(0, "nodir/x"), AT_REMOVEDIR), -1));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(counted, 1);
}

static int op_open(const char *p, int fl, mode_t m)
{
	struct vbf_where w;
	if (vbf_where_name(AT_FDCWD, p, &w) < 0)
		return open(p, fl, m);
	return vbf_op_open(&w, AT_FDCWD, p, fl, m);
}

static void t_open(void **s)
{
	int fd;
	COUNT(fd = op_open(P(0, "f"), O_RDONLY, 0));
	assert_int_equal(fd, -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(counted, 1);
	COUNT(fd = op_open(P(0, "f"), O_WRONLY | O_CREAT, 0640));
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(counted, 2); /* and the new object's canonical name, from its descriptor */
	COUNT(fd = op_open(P(0, "f"), O_RDONLY, 0));
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(counted, 1);
}

static void t_mkdir(void **s)
{
	struct vbf_where w;
	COUNT(assert_true(vbf_where_name(AT_FDCWD, P(0, "d"), &w) >= 0);
	      assert_int_equal(vbf_op_mkdir(&w, AT_FDCWD, P(0, "d"), 0750), 0));
	assert_int_equal(counted, 2); /* and the new directory's canonical name */
	COUNT(assert_true(vbf_where_name(AT_FDCWD, P(0, "nodir/d"), &w) >= 0);
	      assert_int_equal(vbf_op_mkdir(&w, AT_FDCWD, P(0, "nodir/d"), 0750), -1));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(counted, 1);
}

static void t_remove(void **s)
{
	struct vbf_where w;
	assert_int_equal(mkdir(P(0, "d"), 0755), 0);
	COUNT(assert_true(vbf_where_name(AT_FDCWD, P(0, "d"), &w) >= 0);
	      assert_int_equal(vbf_op_remove(&w, P(0, "d")), 0));
	assert_int_equal(counted, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_chown, setup, fake_share_teardown),
		cmocka_unit_test_setup_teardown(t_chmod, setup, fake_share_teardown),
		cmocka_unit_test_setup_teardown(t_access, setup, fake_share_teardown),
		cmocka_unit_test_setup_teardown(t_rename, setup, fake_share_teardown),
		cmocka_unit_test_setup_teardown(t_unlink, setup, fake_share_teardown),
		cmocka_unit_test_setup_teardown(t_remove, setup, fake_share_teardown),
		cmocka_unit_test_setup_teardown(t_open, setup, fake_share_teardown),
		cmocka_unit_test_setup_teardown(t_mkdir, setup, fake_share_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
