/* SPDX-License-Identifier: MIT */
/* hidden.c: which names a listing of a share does not show. */
#include "config.h"
#include "fake_real.h"
#include "hidden.h"

static char root[PATH_MAX];

static int setup(void **s)
{
	fake_share_started(root);
	return 0;
}

static int teardown(void **s)
{
	vbf_boot_state = 0;
	vbf_on = 0;
	return fake_share_teardown(s);
}

/* The store's names at the share root, and nothing else, errno kept. */
static void t_store_root(void **s)
{
	DIR *d = opendir(root);
	assert_non_null(d);
	errno = EXDEV;
	assert_true(vbf_list_hides(d, ".vboxfix.state"));
	assert_int_equal(errno, EXDEV);
	assert_true(vbf_list_hides(d, ".vboxfix.state.new"));
	assert_false(vbf_list_hides(d, ".vboxfix.statex"));
	assert_false(vbf_list_hides(d, ".vimrc"));
	assert_false(vbf_list_hides(d, "file"));
	assert_false(vbf_list_hides(d, ".v"));
	assert_int_equal(errno, EXDEV);
	closedir(d);
}

/* Below the root the same name is a file like another. */
static void t_below_root(void **s)
{
	char sub[PATH_MAX + 8];
	snprintf(sub, sizeof sub, "%s/sub", root);
	assert_int_equal(mkdir(sub, 0755), 0);
	DIR *d = opendir(sub);
	assert_non_null(d);
	assert_false(vbf_list_hides(d, ".vboxfix.state"));
	closedir(d);
	rmdir(sub);
}

/* Before the library is started, nothing is hidden (the policy never
 * starts it: the wrapper does). */
static void t_not_ready(void **s)
{
	DIR *d = opendir(root);
	assert_non_null(d);
	vbf_boot_state = 0;
	assert_false(vbf_list_hides(d, ".vboxfix.state"));
	vbf_boot_state = 2;
	closedir(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_store_root, setup, teardown),
		cmocka_unit_test_setup_teardown(t_below_root, setup, teardown),
		cmocka_unit_test_setup_teardown(t_not_ready, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
