/* SPDX-License-Identifier: MIT */
/* resolve.c: the kernel's walk made by the library names the object a path
 * reaches, on a real temp directory made a (subtree) share. */
#include "fake_real.h"
#include "shares.h"
#include <stdlib.h>

static char root[PATH_MAX];

static void mk(const char *rel, const char *link_to)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	if (link_to)
		assert_int_equal(symlink(link_to, p), 0);
	else if (rel[strlen(rel) - 1] == '/')
		assert_int_equal(mkdir(p, 0755), 0);
	else
		close(open(p, O_WRONLY | O_CREAT, 0644));
}

static int setup(void **st)
{
	(void)st;
	char tmpl[] = "/tmp/vbf-resolve.XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	assert_non_null(realpath(tmpl, root));
	mk("dir/", NULL);
	mk("dir/sub/", NULL);
	mk("dir/f", NULL);
	mk("link", "dir/f");
	mk("chain", "link");
	mk("dot", ".");
	mk("subl", "dir/sub");
	mk("dangling", "nx");
	mk("loop1", "loop2");
	mk("loop2", "loop1");
	fake_share_set(root);
	assert_int_equal(chdir(root), 0);
	vbf_cwd_changed();
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	char cmd[PATH_MAX + 16];
	assert_int_equal(chdir("/"), 0);
	vbf_cwd_changed();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	return system(cmd);
}

/* key of (AT_FDCWD, path) by vbf_stat_where; "-" when not on the share */
static const char *key_of(const char *path, int flags, int *r, int *same)
{
	static struct vbf_where w;
	struct stat st;
	errno = 1234;
	*r = vbf_stat_where(AT_FDCWD, path, flags, &st, &w, same);
	if (*r == 0)
		assert_int_equal(errno, 1234); /* kept on success */
	return w.idx >= 0 && w.key ? w.key : "-";
}

static void t_walk(void **st)
{
	(void)st;
	int r, same;
	char abs[PATH_MAX + 16];
	assert_string_equal(key_of("dir/f", 0, &r, &same), "dir/f");
	assert_true(r == 0 && same);
	assert_string_equal(key_of("link", 0, &r, &same), "dir/f"); /* followed */
	assert_true(r == 0 && !same);
	assert_string_equal(key_of("link", AT_SYMLINK_NOFOLLOW, &r, &same), "link"); /* the link itself */
	assert_true(r == 0 && same);
	assert_string_equal(key_of("chain", 0, &r, &same), "dir/f");
	assert_string_equal(key_of("dot/dot/dir/f", 0, &r, &same), "dir/f");
	assert_false(same);
	assert_string_equal(key_of("subl/../f", 0, &r, &same), "dir/f"); /* `..` of the target */
	snprintf(abs, sizeof abs, "%s/dot/link", root);
	assert_string_equal(key_of(abs, 0, &r, &same), "dir/f");
	assert_string_equal(key_of("dir/sub/", AT_SYMLINK_NOFOLLOW, &r, &same), "dir/sub");
	/* missing names: the key they would have */
	assert_string_equal(key_of("dot/dir/nx", 0, &r, &same), "dir/nx");
	assert_true(r == -1 && errno == ENOENT && !same);
	assert_string_equal(key_of("dangling", 0, &r, &same), "nx"); /* what a create through it makes */
	assert_true(r == -1 && errno == ENOENT);
	assert_string_equal(key_of("dangling", AT_SYMLINK_NOFOLLOW, &r, &same), "dangling");
	assert_int_equal(r, 0);
	/* a missing directory: no key; cached under its text as before */
	assert_string_equal(key_of("nodir/x", 0, &r, &same), "-");
	assert_true(r == -1 && errno == ENOENT && same);
	/* errors as the stat gives them */
	key_of("loop1", 0, &r, &same);
	assert_true(r == -1 && errno == ELOOP);
	key_of("dir/f/x", 0, &r, &same);
	assert_true(r == -1 && errno == ENOTDIR);
	key_of("", 0, &r, &same);
	assert_true(r == -1 && errno == ENOENT);
}

static void t_canonical_text(void **st)
{
	(void)st;
	char abs[PATH_MAX + 16];
	assert_true(vbf_name_canonical(NULL, 1));
	assert_true(vbf_name_canonical("f", 0));
	assert_false(vbf_name_canonical("f", 1));   /* may be a symlink to follow */
	assert_false(vbf_name_canonical("d/f", 0)); /* d may be one */
	assert_false(vbf_name_canonical("..", 0));
	assert_true(vbf_name_canonical(".", 1));    /* the working directory */
	assert_true(vbf_name_canonical(root, 1));   /* the share's root, and the cwd */
	snprintf(abs, sizeof abs, "%s/dir", root);
	assert_true(vbf_name_canonical(abs, 0));
	assert_false(vbf_name_canonical(abs, 1));
	snprintf(abs, sizeof abs, "%s/dir/../dir", root);
	assert_false(vbf_name_canonical(abs, 0));
	assert_true(vbf_stat_resolvable(AT_FDCWD, "dir/f", 1) || !vbf_str_ok("dir/f", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_walk),
		cmocka_unit_test(t_canonical_text),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
