/* SPDX-License-Identifier: MIT */
/* rules.c: POSIX chown/chmod/access rules on the presented owner. */
#include "fake_real.h"
#include "rules.h"

static struct vbf_cred cred(uid_t u, gid_t g, int ng, const gid_t *gs)
{
	struct vbf_cred c = {.uid = u, .gid = g, .ngroups = ng};
	for (int i = 0; i < ng; i++)
		c.groups[i] = gs[i];
	return c;
}

static void t_chown(void **s)
{
	gid_t gs[] = {20, 30};
	struct vbf_cred root = cred(0, 0, 0, NULL), user = cred(1000, 1000, 2, gs);
	assert_int_equal(vbf_rule_chown(&root, 5, 5, 999, 999), 0);
	assert_int_equal(vbf_rule_chown(&user, 1000, 1000, (uid_t)-1, 20), 0);   /* own group */
	assert_int_equal(vbf_rule_chown(&user, 1000, 1000, 1000, 1000), 0);      /* no-op */
	assert_int_equal(vbf_rule_chown(&user, 1000, 1000, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(vbf_rule_chown(&user, 1000, 1000, 999, (gid_t)-1), EPERM); /* give away */
	assert_int_equal(vbf_rule_chown(&user, 1000, 1000, (uid_t)-1, 40), EPERM);  /* foreign group */
	assert_int_equal(vbf_rule_chown(&user, 4242, 4242, (uid_t)-1, 20), EPERM);  /* not owner */
}

static void t_chmod(void **s)
{
	gid_t gs[] = {20};
	struct vbf_cred root = cred(0, 0, 0, NULL), user = cred(1000, 1000, 1, gs);
	assert_int_equal(vbf_rule_chmod(&root, 4242), 0);
	assert_int_equal(vbf_rule_chmod(&user, 1000), 0);
	assert_int_equal(vbf_rule_chmod(&user, 4242), EPERM);
	/* setgid dropped for a file of a foreign group, kept for dirs and root */
	assert_int_equal(vbf_rule_chmod_bits(&user, 50, S_IFREG, 02755), 0755);
	assert_int_equal(vbf_rule_chmod_bits(&user, 20, S_IFREG, 02755), 02755);
	assert_int_equal(vbf_rule_chmod_bits(&user, 50, S_IFDIR, 02755), 02755);
	assert_int_equal(vbf_rule_chmod_bits(&root, 50, S_IFREG, 02755), 02755);
	assert_int_equal(vbf_rule_chown_bits(S_IFREG, 06755), 0755);
	assert_int_equal(vbf_rule_chown_bits(S_IFREG, 02745), 02745); /* no group x: mandatory locking bit kept */
	assert_int_equal(vbf_rule_chown_bits(S_IFDIR, 06755), 06755);
}

static void t_access(void **s)
{
	gid_t gs[] = {50};
	struct vbf_cred root = cred(0, 0, 0, NULL), owner = cred(1000, 1000, 1, gs), other = cred(7, 7, 0, NULL);
	mode_t f700 = S_IFREG | 0700, f640 = S_IFREG | 0640, d700 = S_IFDIR | 0700, f600 = S_IFREG | 0600;
	assert_int_equal(vbf_rule_access(&owner, 1000, 1000, f700, R_OK | W_OK | X_OK), 0);
	assert_int_equal(vbf_rule_access(&other, 1000, 1000, f700, R_OK), EACCES);
	assert_int_equal(vbf_rule_access(&owner, 9, 50, f640, R_OK), 0);       /* via group */
	assert_int_equal(vbf_rule_access(&owner, 9, 50, f640, W_OK), EACCES);
	assert_int_equal(vbf_rule_access(&root, 9, 9, f600, R_OK | W_OK), 0);
	assert_int_equal(vbf_rule_access(&root, 9, 9, f600, X_OK), EACCES);    /* no x bit at all */
	assert_int_equal(vbf_rule_access(&root, 9, 9, d700, X_OK), 0);
	assert_int_equal(vbf_rule_access(&root, 9, 9, f700, X_OK), 0);
}

static void t_write_and_sticky(void **s)
{
	struct vbf_cred root = cred(0, 0, 0, NULL), user = cred(1000, 1000, 0, NULL);
	/* a write by anyone without CAP_FSETID clears setuid, and setgid with group x */
	assert_int_equal(vbf_rule_write_bits(&user, S_IFREG, 06755), 0755);
	assert_int_equal(vbf_rule_write_bits(&user, S_IFREG, 02745), 02745); /* no group x: a lock mark */
	assert_int_equal(vbf_rule_write_bits(&root, S_IFREG, 06755), 06755);
	assert_int_equal(vbf_rule_write_bits(&user, S_IFDIR, 02775), 02775);
	/* sticky: root, the directory's owner, the entry's owner */
	assert_int_equal(vbf_rule_sticky(&user, S_IFDIR | 01777, 0, 5), EPERM);
	assert_int_equal(vbf_rule_sticky(&user, S_IFDIR | 01777, 0, 1000), 0);
	assert_int_equal(vbf_rule_sticky(&user, S_IFDIR | 01777, 1000, 5), 0);
	assert_int_equal(vbf_rule_sticky(&root, S_IFDIR | 01777, 7, 5), 0);
	assert_int_equal(vbf_rule_sticky(&user, S_IFDIR | 0777, 0, 5), 0);
	/* chown(-1, -1) asks nothing of anyone */
	assert_int_equal(vbf_rule_chown(&user, 4242, 4242, (uid_t)-1, (gid_t)-1), 0);
}

static void t_narrows(void **s)
{
	assert_false(vbf_rule_chmod_narrows(0644, 0666));
	assert_false(vbf_rule_chmod_narrows(0777, 0777));
	assert_true(vbf_rule_chmod_narrows(0777, 0700));
	assert_true(vbf_rule_chmod_narrows(0666, 0644));
	assert_false(vbf_rule_chmod_narrows(04755, 0755)); /* dropping setuid takes no access */
}

static void t_cred(void **s)
{
	fake_real_reset();
	gid_t gs[] = {3, 4};
	fake_ids(1000, 1001, gs, 2);
	struct vbf_cred c;
	vbf_cred_get(&c, 1);
	assert_int_equal(c.uid, 1000);
	assert_int_equal(c.gid, 1001);
	assert_int_equal(c.ngroups, 2);
	assert_true(vbf_cred_in_group(&c, 4));
	assert_true(vbf_cred_in_group(&c, 1001));
	assert_false(vbf_cred_in_group(&c, 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_chown), cmocka_unit_test(t_chmod), cmocka_unit_test(t_access),
		cmocka_unit_test(t_narrows), cmocka_unit_test(t_cred), cmocka_unit_test(t_write_and_sticky),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
