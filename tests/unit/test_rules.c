/* SPDX-License-Identifier: MIT */
/* rules.c: POSIX chown/chmod/access rules on the presented owner. */
#include "fake_real.h"
#include "rules.h"

#define ALL_CAPS \
	(VBF_CAP_CHOWN | VBF_CAP_DAC_OVERRIDE | VBF_CAP_DAC_READ_SEARCH | VBF_CAP_FOWNER | VBF_CAP_FSETID)

static struct vbf_cred cred(uid_t u, gid_t g, int ng, const gid_t *gs)
{
	/* root with the capabilities a container keeps; others none */
	struct vbf_cred c = {.uid = u, .gid = g, .ngroups = ng, .caps = u == 0 ? ALL_CAPS : 0};
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
	assert_int_equal(vbf_rule_chown_bits(&user, 20, S_IFREG, 06755), 0755);
	assert_int_equal(vbf_rule_chown_bits(&root, 50, S_IFREG, 06755), 0755); /* root's chown too */
	/* no group x: a lock mark, kept for a member or CAP_FSETID only */
	assert_int_equal(vbf_rule_chown_bits(&user, 20, S_IFREG, 02745), 02745);
	assert_int_equal(vbf_rule_chown_bits(&user, 50, S_IFREG, 02745), 0745);
	assert_int_equal(vbf_rule_chown_bits(&root, 50, S_IFREG, 02745), 02745);
	assert_int_equal(vbf_rule_chown_bits(&user, 50, S_IFDIR, 06755), 06755);
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
	assert_int_equal(vbf_rule_write_bits(&user, 1000, S_IFREG, 06755), 0755);
	assert_int_equal(vbf_rule_write_bits(&user, 1000, S_IFREG, 02745), 02745); /* no group x: a lock mark */
	assert_int_equal(vbf_rule_write_bits(&user, 50, S_IFREG, 02745), 0745);    /* ... not the caller's group */
	assert_int_equal(vbf_rule_write_bits(&root, 50, S_IFREG, 06755), 06755);
	assert_int_equal(vbf_rule_write_bits(&user, 1000, S_IFDIR, 02775), 02775);
	struct vbf_cred bare = root;
	bare.caps = 0; /* root without CAP_FSETID (--cap-drop) is an ordinary writer */
	assert_int_equal(vbf_rule_write_bits(&bare, 0, S_IFREG, 06755), 0755);
	/* sticky: root, the directory's owner, the entry's owner */
	assert_int_equal(vbf_rule_sticky(&user, S_IFDIR | 01777, 0, 5), EPERM);
	assert_int_equal(vbf_rule_sticky(&user, S_IFDIR | 01777, 0, 1000), 0);
	assert_int_equal(vbf_rule_sticky(&user, S_IFDIR | 01777, 1000, 5), 0);
	assert_int_equal(vbf_rule_sticky(&root, S_IFDIR | 01777, 7, 5), 0);
	assert_int_equal(vbf_rule_sticky(&user, S_IFDIR | 0777, 0, 5), 0);
	/* chown(-1, -1) asks nothing of anyone */
	assert_int_equal(vbf_rule_chown(&user, 4242, 4242, (uid_t)-1, (gid_t)-1), 0);
}

static void t_caps(void **s)
{
	struct vbf_cred bare = cred(0, 0, 0, NULL), search = cred(7, 7, 0, NULL);
	bare.caps = 0;
	search.caps = VBF_CAP_DAC_READ_SEARCH;
	/* root without capabilities is held to the mode bits */
	assert_int_equal(vbf_rule_access(&bare, 9, 9, S_IFREG | 0600, R_OK), EACCES);
	assert_int_equal(vbf_rule_access(&bare, 0, 0, S_IFREG | 0600, R_OK), 0);
	assert_int_equal(vbf_rule_chmod(&bare, 9), EPERM);
	assert_int_equal(vbf_rule_chown(&bare, 0, 0, 9, (gid_t)-1), EPERM);
	assert_int_equal(vbf_rule_sticky(&bare, S_IFDIR | 01777, 7, 5), EPERM);
	/* CAP_DAC_READ_SEARCH: read anything, search directories, nothing more */
	assert_int_equal(vbf_rule_access(&search, 9, 9, S_IFREG | 0600, R_OK), 0);
	assert_int_equal(vbf_rule_access(&search, 9, 9, S_IFDIR | 0700, R_OK | X_OK), 0);
	assert_int_equal(vbf_rule_access(&search, 9, 9, S_IFREG | 0700, X_OK), EACCES);
	assert_int_equal(vbf_rule_access(&search, 9, 9, S_IFREG | 0600, W_OK), EACCES);
}

static void t_create_and_times(void **s)
{
	gid_t gs[] = {20};
	struct vbf_cred root = cred(0, 0, 0, NULL), user = cred(1000, 1000, 1, gs);
	/* mkdir takes S_ISGID only from a setgid parent, never from its argument */
	assert_int_equal(vbf_rule_create_bits(&user, S_IFDIR, 02755, 022, 0, 0), 0755);
	assert_int_equal(vbf_rule_create_bits(&user, S_IFDIR, 0755, 022, 1, 50), 02755);
	assert_int_equal(vbf_rule_create_bits(&user, S_IFDIR, 01777, 022, 0, 0), 01755);
	/* a file keeps its setuid bits at the create ... */
	assert_int_equal(vbf_rule_create_bits(&user, S_IFREG, 04777, 022, 0, 0), 04755);
	assert_int_equal(vbf_rule_create_bits(&user, S_IFREG, 02775, 022, 0, 0), 02755);
	/* ... but not S_ISGID in a setgid directory of a foreign group */
	assert_int_equal(vbf_rule_create_bits(&user, S_IFREG, 02775, 022, 1, 50), 0755);
	assert_int_equal(vbf_rule_create_bits(&user, S_IFREG, 02775, 022, 1, 20), 02755);
	assert_int_equal(vbf_rule_create_bits(&root, S_IFREG, 02775, 022, 1, 50), 02755);
	/* times: explicit ones are the owner's; "now" also a writer's */
	assert_int_equal(vbf_rule_times(&user, 1000, 1000, S_IFREG | 0444, 1), 0);
	assert_int_equal(vbf_rule_times(&user, 7, 7, S_IFREG | 0666, 1), EPERM);
	assert_int_equal(vbf_rule_times(&user, 7, 7, S_IFREG | 0666, 0), 0);
	assert_int_equal(vbf_rule_times(&user, 7, 7, S_IFREG | 0644, 0), EACCES);
	assert_int_equal(vbf_rule_times(&root, 7, 7, S_IFREG | 0444, 1), 0);
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
	/* the fake capget gives a fake root every capability, others none */
	assert_int_equal(c.caps, 0);
	fake_ids(0, 0, NULL, 0);
	vbf_cred_get(&c, 1);
	assert_true(c.caps & VBF_CAP_DAC_OVERRIDE);
	assert_true(c.caps & VBF_CAP_FSETID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_chown), cmocka_unit_test(t_chmod), cmocka_unit_test(t_access),
		cmocka_unit_test(t_narrows), cmocka_unit_test(t_cred), cmocka_unit_test(t_write_and_sticky),
		cmocka_unit_test(t_caps), cmocka_unit_test(t_create_and_times),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
