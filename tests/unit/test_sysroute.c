/* SPDX-License-Identifier: MIT */
/* sysroute.c: which numbers syscall(2) takes, and on which road. */
#include "fake_real.h"
#include "sysroute.h"

static void t_routes(void **st)
{
	long a[6] = {0};
	assert_int_equal(vbf_sysroute(SYS_fchownat, a), VBF_SYS_OWN);
	assert_int_equal(vbf_sysroute(SYS_fchmodat, a), VBF_SYS_OWN);
	assert_int_equal(vbf_sysroute(SYS_fchmodat2, a), VBF_SYS_CHMOD2);
	assert_int_equal(vbf_sysroute(SYS_renameat2, a), VBF_SYS_RENAME);
	assert_int_equal(vbf_sysroute(SYS_fstat, a), VBF_SYS_FIX_AFTER);
	assert_int_equal(vbf_sysroute(SYS_getpid, a), VBF_SYS_PLAIN);
	assert_int_equal(vbf_sysroute(SYS_openat, a), VBF_SYS_PLAIN);
#ifdef SYS_stat
	assert_int_equal(vbf_sysroute(SYS_stat, a), VBF_SYS_STAT);
	assert_int_equal(vbf_sysroute(SYS_lstat, a), VBF_SYS_STAT);
#endif
}

/* The flags decide between the stat wrappers' road and fixing after. */
static void t_flags(void **st)
{
	long a[6] = {0};
	a[3] = AT_SYMLINK_NOFOLLOW;
	assert_int_equal(vbf_sysroute(SYS_newfstatat, a), VBF_SYS_STAT);
	a[3] = AT_EMPTY_PATH;
	assert_int_equal(vbf_sysroute(SYS_newfstatat, a), VBF_SYS_FIX_AFTER);
	a[3] = 0;
	a[2] = AT_SYMLINK_NOFOLLOW;
	assert_int_equal(vbf_sysroute(SYS_statx, a), VBF_SYS_STATX);
	a[2] = AT_EMPTY_PATH;
	assert_int_equal(vbf_sysroute(SYS_statx, a), VBF_SYS_FIX_AFTER);
}

static void t_stat_args(void **st)
{
	struct stat buf;
	struct vbf_sysstat s;
	long a[6] = {7, (long)"x", (long)&buf, AT_SYMLINK_NOFOLLOW, 0, 0};
	vbf_sysstat_args(SYS_newfstatat, a, &s);
	assert_int_equal(s.dirfd, 7);
	assert_string_equal(s.path, "x");
	assert_int_equal(s.follow, 0);
	assert_ptr_equal(s.st, &buf);
#ifdef SYS_stat
	long b[6] = {(long)"y", (long)&buf, 0, 0, 0, 0};
	vbf_sysstat_args(SYS_lstat, b, &s);
	assert_int_equal(s.dirfd, AT_FDCWD);
	assert_string_equal(s.path, "y");
	assert_int_equal(s.follow, 0);
	vbf_sysstat_args(SYS_stat, b, &s);
	assert_int_equal(s.follow, 1);
	assert_ptr_equal(s.st, &buf);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_routes),
		cmocka_unit_test(t_flags),
		cmocka_unit_test(t_stat_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
