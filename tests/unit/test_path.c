/* SPDX-License-Identifier: MIT */
/* path.c: lexical canonicalisation and "below a root". */
#include "fake_real.h"
#include "path.h"

static void join_is(const char *base, const char *path, const char *want)
{
	char out[VBF_PATH_CAP];
	int n = vbf_path_join(out, sizeof out, base, path);
	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(out, want);
}

static void t_join(void **s)
{
	join_is("/", "/a/b", "/a/b");
	join_is("/x", "a/b", "/x/a/b");
	join_is("/x/y", "../a", "/x/a");
	join_is("/x/y", "../../../../a", "/a");
	join_is("/", "..", "/");
	join_is("/x", ".", "/x");
	join_is("/x", "", "/x");
	join_is("/x//y/", "./z//w/.", "/x/y/z/w");
	join_is("/share", "a/../b/./c/..", "/share/b");
	join_is("/ignored", "/abs/../x", "/x");
	join_is("/a", "b/..", "/a");
	join_is("/", "...", "/...");
	join_is("/", "a/.../..b", "/a/.../..b");
}

static void t_join_too_long(void **s)
{
	char out[64];
	assert_int_equal(vbf_path_join(out, sizeof out, "/", "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), -1);
	/* longer than PATH_MAX but within the cap: still exact */
	static char big[6000], buf[VBF_PATH_CAP];
	memset(big, 'a', sizeof big - 1);
	for (int i = 100; i < (int)sizeof big - 1; i += 100)
		big[i] = '/';
	assert_true(vbf_path_join(buf, sizeof buf, "/base", big) > 4096);
	/* and a cap of 2 holds only "/" */
	assert_int_equal(vbf_path_join(out, 2, "/", "a"), -1);
	assert_int_equal(vbf_path_join(out, 2, "/", "/"), 1);
}

static void t_below(void **s)
{
	assert_string_equal(vbf_path_below("/share", "/share", 6), "");
	assert_string_equal(vbf_path_below("/share/a/b", "/share", 6), "a/b");
	assert_null(vbf_path_below("/shared/a", "/share", 6));
	assert_null(vbf_path_below("/sha", "/share", 6));
	assert_string_equal(vbf_path_below("/x/y", "/", 1), "x/y");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_join),
		cmocka_unit_test(t_join_too_long),
		cmocka_unit_test(t_below),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
