/* SPDX-License-Identifier: MIT */
/* own.c + present.c: chown/chmod/access on a share against a faked
 * filesystem; the outcome decides, not the share's errno. */
#include "config.h"
#include "fake_real.h"
#include "ids.h"
#include "own.h"
#include "present.h"
#include <sys/sysmacros.h>

#define SHARE_DEV makedev(0, 45)
static struct fake_node nodes[6];
static int chown_calls, chmod_calls, chown_errno, chmod_errno;
static char state[64];

static int chown_applies; /* the share changes the owner (not like vboxsf) */

static int f_fchownat(int d, const char *p, uid_t u, gid_t g, int fl)
{
	chown_calls++;
	if (chown_errno) {
		errno = chown_errno;
		return -1;
	}
	if (chown_applies && !strcmp(p, "/share/f"))
		nodes[0].st.st_uid = u;
	return 0; /* like vboxsf: success, nothing changes */
}

static int f_fchmodat(int d, const char *p, mode_t m, int fl)
{
	chmod_calls++;
	if (chmod_errno) {
		errno = chmod_errno;
		return -1;
	}
	return 0;
}

static int setup(void **s)
{
	fake_real_reset();
	fake_fs_install();
	vbf_real.fchownat = f_fchownat;
	vbf_real.fchmodat = f_fchmodat;
	memset(nodes, 0, sizeof nodes);
	nodes[0].path = "/share/f";
	nodes[0].st.st_dev = SHARE_DEV;
	nodes[0].st.st_mode = S_IFREG | 0666;
	nodes[0].st.st_uid = nodes[0].st.st_gid = 4242;
	nodes[1] = nodes[0];
	nodes[1].path = "/share/d";
	nodes[1].st.st_mode = S_IFDIR | 0777;
	nodes[2].path = "/share/gone";
	nodes[2].err = ENOTDIR;
	nodes[3] = nodes[0];
	nodes[3].path = "/share/d/x";
	nodes[4] = nodes[1];
	nodes[4].path = "/share/d/e";
	nodes[5] = nodes[1];
	nodes[5].path = "/share";
	fake_fs_set(nodes, 6);
	memset(vbf_shares, 0, sizeof vbf_shares);
	strcpy(vbf_shares[0].root, "/share");
	vbf_shares[0].len = 6;
	vbf_shares[0].dev = SHARE_DEV;
	vbf_shares[0].whole_fs = 1;
	vbf_nshares = 1;
	memset(&vbf_cfg, 0, sizeof vbf_cfg);
	snprintf(state, sizeof state, "/tmp/vbf-unit-own.%d", getpid());
	unlink(state);
	vbf_store_open(0, "/share", state);
	chown_calls = chmod_calls = chown_errno = chmod_errno = chown_applies = 0;
	vbf_op_chown_forget();
	return 0;
}

static int teardown(void **s)
{
	vbf_store_close(0);
	unlink(state);
	return 0;
}

/* as the wrapper calls it: the name classified first (wrap_own.c) */
static int op_access(int d, const char *p, int m, int fl, int rc, int err)
{
	struct vbf_where w;
	vbf_where_name(d, p, &w);
	return vbf_op_access(&w, d, p, m, fl, rc, err);
}

static void view(const char *p, uid_t *u, gid_t *g, mode_t *m)
{
	struct stat st;
	assert_int_equal(vbf_real.stat(p, &st), 0);
	vbf_present_stat(AT_FDCWD, p, 1, &st);
	*u = st.st_uid, *g = st.st_gid, *m = st.st_mode;
}

static void t_presented_default(void **s)
{
	uid_t u;
	gid_t g;
	mode_t m;
	fake_ids(1000, 1001, NULL, 0);
	view("/share/f", &u, &g, &m);
	assert_int_equal(u, 1000); /* the caller */
	assert_int_equal(g, 1001);
	assert_int_equal(m, S_IFREG | 0666);
	vbf_cfg.have_owner = 1, vbf_cfg.owner_uid = 999, vbf_cfg.owner_gid = 998;
	view("/share/f", &u, &g, &m);
	assert_int_equal(u, 999); /* VBOXFIX_OWNER */
	vbf_cfg.nmap = 1;
	vbf_cfg.map[0] = (struct vbf_map_ent){.is_gid = 0, .from = 4242, .to = 77};
	view("/share/f", &u, &g, &m);
	assert_int_equal(u, 77);  /* VBOXFIX_MAP beats VBOXFIX_OWNER */
	assert_int_equal(g, 998); /* the gid has no mapping */
}

static void t_chown_outcomes(void **s)
{
	static const int refusals[] = {0, EPERM, EINVAL, ENOTSUP, ENOSYS};
	uid_t u;
	gid_t g;
	mode_t m;
	fake_ids(0, 0, NULL, 0);
	for (unsigned i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
		chown_errno = refusals[i];
		errno = 0;
		vbf_op_chown_forget(); /* each answer is the share's, not one learned */
		assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", 100 + i, 200 + i, 0), 0);
		view("/share/f", &u, &g, &m);
		assert_int_equal(u, 100 + i);
		assert_int_equal(g, 200 + i);
	}
	/* -1 keeps a value */
	chown_errno = 0;
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", (uid_t)-1, 7, 0), 0);
	view("/share/f", &u, &g, &m);
	assert_int_equal(u, 104);
	assert_int_equal(g, 7);
	/* a real error of the share is the program's */
	vbf_op_chown_forget();
	chown_errno = EROFS;
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", 1, 1, 0), -1);
	assert_int_equal(errno, EROFS);
	/* errors about the path come from the stat, before any change */
	chown_calls = 0;
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/missing", 1, 1, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/gone", 1, 1, 0), -1);
	assert_int_equal(errno, ENOTDIR);
	assert_int_equal(chown_calls, 0);
}

/* A share that accepted a chown and changed nothing is sent no more: the
 * stat before it has answered for the name, the share's answer is known. */
static void t_chown_learned(void **s)
{
	uid_t u;
	gid_t g;
	mode_t m;
	fake_ids(0, 0, NULL, 0);
	/* asking for the owner it shows teaches nothing */
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", 4242, 4242, 0), 0);
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", 5, 5, 0), 0);
	assert_int_equal(chown_calls, 2);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", 10 + i, 20, 0), 0);
	assert_int_equal(chown_calls, 2);
	view("/share/f", &u, &g, &m);
	assert_int_equal(u, 12);
	assert_int_equal(g, 20);
	/* errors about the name still come from the stat */
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/missing", 1, 1, 0), -1);
	assert_int_equal(errno, ENOENT);
	/* a share that applies it keeps getting it */
	vbf_op_chown_forget();
	chown_applies = 1;
	chown_calls = 0;
	for (int i = 0; i < 3; i++)
		assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", 30 + i, 20, 0), 0);
	assert_int_equal(chown_calls, 3);
	/* vboxsf by its type: the first accepted chown decides, without a stat */
	vbf_op_chown_forget();
	chown_applies = 0;
	strcpy(vbf_shares[0].fstype, "vboxsf");
	chown_calls = 0;
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", 4242, 4242, 0), 0);
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", 4242, 4242, 0), 0);
	assert_int_equal(chown_calls, 1);
	/* a refusal teaches nothing */
	vbf_op_chown_forget();
	chown_errno = EPERM;
	chown_calls = 0;
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", 1, 1, 0), 0);
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", 2, 2, 0), 0);
	assert_int_equal(chown_calls, 2);
}

static void t_chown_rules(void **s)
{
	gid_t groups[] = {50};
	fake_ids(1000, 1000, groups, 1);
	/* presented as the caller's own: may pick one of its groups */
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", (uid_t)-1, 50, 0), 0);
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", (uid_t)-1, 51, 0), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", 0, (gid_t)-1, 0), -1);
	assert_int_equal(errno, EPERM);
	/* recorded as someone else's: the caller is not the owner any more */
	fake_ids(0, 0, NULL, 0);
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", 999, 999, 0), 0);
	fake_ids(1000, 1000, groups, 1);
	chown_calls = 0;
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", (uid_t)-1, 50, 0), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(vbf_op_chmod(AT_FDCWD, "/share/f", 0777, 0), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(chown_calls, 0);
}

static void t_chmod(void **s)
{
	uid_t u;
	gid_t g;
	mode_t m;
	fake_ids(0, 0, NULL, 0);
	/* narrowing: recorded, never applied for real */
	assert_int_equal(vbf_op_chmod(AT_FDCWD, "/share/d", 0700, 0), 0);
	assert_int_equal(chmod_calls, 0);
	view("/share/d", &u, &g, &m);
	assert_int_equal(m, S_IFDIR | 0700);
	/* widening: passed on; a refusal is absorbed */
	chmod_errno = EPERM;
	assert_int_equal(vbf_op_chmod(AT_FDCWD, "/share/f", 06777, 0), 0);
	assert_int_equal(chmod_calls, 1);
	view("/share/f", &u, &g, &m);
	assert_int_equal(m, S_IFREG | 06777);
	/* chown of a file clears setuid and setgid (with group x) */
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", 5, 5, 0), 0);
	view("/share/f", &u, &g, &m);
	assert_int_equal(m, S_IFREG | 0777);
	/* chmod keeps a recorded owner */
	assert_int_equal(u, 5);
}

static void t_access(void **s)
{
	fake_ids(0, 0, NULL, 0);
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", 999, 999, 0), 0);
	assert_int_equal(vbf_op_chmod(AT_FDCWD, "/share/f", 0600, 0), 0);
	fake_ids(1000, 1000, NULL, 0);
	/* the kernel said yes, the presented view says no */
	errno = 0;
	assert_int_equal(op_access(AT_FDCWD, "/share/f", R_OK, 0, 0, 0), -1);
	assert_int_equal(errno, EACCES);
	/* the kernel said no: that stands */
	assert_int_equal(op_access(AT_FDCWD, "/share/f", R_OK, 0, -1, EROFS), -1);
	assert_int_equal(errno, EROFS);
	/* F_OK is about existence only */
	errno = 1234;
	assert_int_equal(op_access(AT_FDCWD, "/share/f", F_OK, 0, 0, 1234), 0);
	assert_int_equal(errno, 1234);
	fake_ids(999, 999, NULL, 0);
	errno = 55;
	assert_int_equal(op_access(AT_FDCWD, "/share/f", R_OK | W_OK, 0, 0, 55), 0);
	assert_int_equal(errno, 55); /* errno kept on success */
}

static void as(uid_t u, gid_t g)
{
	fake_ids(u, g, NULL, 0);
	vbf_ids_changed();
}

/* One view: an unrecorded object shows its nearest recorded ancestor's
 * owner to everyone; a create records only what differs from that. */
static void t_inherit(void **s)
{
	uid_t u;
	gid_t g;
	mode_t m;
	struct vbf_rec rec;
	vbf_umask_set(0);
	as(0, 0);
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/d", 7, 8, 0), 0);
	as(1000, 1000);
	view("/share/d/x", &u, &g, &m);
	assert_int_equal(u, 7);
	assert_int_equal(g, 8);
	as(0, 0);
	view("/share/d/x", &u, &g, &m);
	assert_int_equal(u, 7);
	/* the owner's create below its directory: nothing to record */
	as(7, 8);
	vbf_op_created(AT_FDCWD, "/share/d/x", -1, 0666);
	assert_int_equal(vbf_store_get(0, "d/x", NULL, &rec), 0);
	/* root's create there: root's, to everyone */
	as(0, 0);
	vbf_op_created(AT_FDCWD, "/share/d/e", -1, 0777);
	as(7, 8);
	view("/share/d/e", &u, &g, &m);
	assert_int_equal(u, 0);
	assert_int_equal(g, 0);
	/* the share root's record covers everything nothing closer covers */
	assert_int_equal(vbf_store_inherit(0, "f", &rec), 0);
	as(0, 0);
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share", 9, 9, 0), 0);
	as(1000, 1000);
	view("/share/f", &u, &g, &m);
	assert_int_equal(u, 9);
	view("/share/d/x", &u, &g, &m);
	assert_int_equal(u, 7); /* the nearest wins */
}

static void t_nothing_known(void **s)
{
	uid_t u;
	gid_t g;
	mode_t m;
	struct vbf_rec rec;
	vbf_umask_set(0);
	/* a create where nothing is known keeps each caller's view: no record */
	as(1000, 1000);
	vbf_op_created(AT_FDCWD, "/share/f", -1, 0666);
	assert_int_equal(vbf_store_get(0, "f", NULL, &rec), 0);
	/* chown(-1, -1) by anyone: 0, nothing recorded */
	as(1001, 1001);
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", (uid_t)-1, (gid_t)-1, 0), 0);
	assert_int_equal(vbf_store_get(0, "f", NULL, &rec), 0);
	as(0, 0);
	view("/share/f", &u, &g, &m);
	assert_int_equal(u, 0);
	/* ... but it clears setuid bits, the owner's (chmod's) right */
	assert_int_equal(vbf_op_chmod(AT_FDCWD, "/share/f", 04755, 0), 0);
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", 5, 5, 0), 0);
	view("/share/f", &u, &g, &m);
	assert_int_equal(m & 07777, 0755);
	as(5, 5);
	assert_int_equal(vbf_op_chmod(AT_FDCWD, "/share/f", 04755, 0), 0);
	as(6, 6);
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", (uid_t)-1, (gid_t)-1, 0), -1);
	assert_int_equal(errno, EPERM);
	as(5, 5);
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/f", (uid_t)-1, (gid_t)-1, 0), 0);
	view("/share/f", &u, &g, &m);
	assert_int_equal(m & 07777, 0755);
	assert_int_equal(u, 5);
}

static void t_setgid_dir(void **s)
{
	uid_t u;
	gid_t g;
	mode_t m;
	vbf_umask_set(022);
	as(0, 0);
	assert_int_equal(vbf_op_chown(AT_FDCWD, "/share/d", 0, 44, 0), 0);
	assert_int_equal(vbf_op_chmod(AT_FDCWD, "/share/d", 02777, 0), 0);
	as(1000, 1000);
	vbf_op_created(AT_FDCWD, "/share/d/x", -1, 0666);
	vbf_op_created(AT_FDCWD, "/share/d/e", -1, 0777);
	as(0, 0);
	view("/share/d/x", &u, &g, &m);
	assert_int_equal(u, 1000);
	assert_int_equal(g, 44);
	assert_int_equal(m, S_IFREG | 0644);
	view("/share/d/e", &u, &g, &m);
	assert_int_equal(g, 44);
	assert_int_equal(m, S_IFDIR | 02755);
}

static void t_refusal_classes(void **s)
{
	assert_true(vbf_is_refusal(EPERM));
	assert_true(vbf_is_refusal(EINVAL));
	assert_true(vbf_is_refusal(EOPNOTSUPP));
	assert_true(vbf_is_refusal(ENOSYS));
	assert_false(vbf_is_refusal(ENOENT));
	assert_false(vbf_is_refusal(EACCES));
	assert_false(vbf_is_refusal(EROFS));
	assert_false(vbf_is_refusal(ENOSPC));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_presented_default, setup, teardown),
		cmocka_unit_test_setup_teardown(t_chown_outcomes, setup, teardown),
		cmocka_unit_test_setup_teardown(t_chown_learned, setup, teardown),
		cmocka_unit_test_setup_teardown(t_chown_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(t_chmod, setup, teardown),
		cmocka_unit_test_setup_teardown(t_access, setup, teardown),
		cmocka_unit_test_setup_teardown(t_inherit, setup, teardown),
		cmocka_unit_test_setup_teardown(t_nothing_known, setup, teardown),
		cmocka_unit_test_setup_teardown(t_setgid_dir, setup, teardown),
		cmocka_unit_test(t_refusal_classes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
