/* SPDX-License-Identifier: MIT */
/* shares.c: mountinfo parsing and where a path, dirfd or descriptor lies. */
#include "fake_real.h"
#include "fdtab.h"
#include "shares.h"
#include <sys/sysmacros.h>

struct seen {
	char mnt[8][256], root[8][256], type[8][32];
	dev_t dev[8];
	int n;
};

static void collect(void *arg, const char *mnt, const char *root, const char *type, dev_t dev)
{
	struct seen *s = arg;
	if (s->n >= 8)
		return;
	snprintf(s->mnt[s->n], 256, "%s", mnt);
	snprintf(s->root[s->n], 256, "%s", root);
	snprintf(s->type[s->n], 32, "%s", type);
	s->dev[s->n++] = dev;
}

static void t_mountinfo(void **st)
{
	struct seen s = {0};
	const char *text =
		"22 1 0:21 / / rw,relatime shared:1 - overlay overlay rw\n"
		"40 22 0:45 / /vagrant rw,nodev,relatime - vboxsf vagrant rw,uid=1000,gid=1000,ttl=0\n"
		"41 22 0:45 /sub /data\\040dir rw shared:7 master:2 - vboxsf vagrant rw\n"
		"garbage line without fields\n"
		"42 22 x:y / /bad rw - ext4 /dev/sda rw\n"
		"43 22 8:1 / /nodash rw ext4\n";
	assert_int_equal(vbf_mountinfo_parse(text, collect, &s), 3);
	assert_string_equal(s.mnt[1], "/vagrant");
	assert_string_equal(s.type[1], "vboxsf");
	assert_true(s.dev[1] == makedev(0, 45));
	assert_string_equal(s.mnt[2], "/data dir"); /* \040 unescaped */
	assert_string_equal(s.root[2], "/sub");
	assert_int_equal(vbf_mountinfo_parse("", collect, &s), 0);
}

/* A share table by hand: /share (mount, dev 0:45), its bind mount /alias
 * (prefix "sub"), and a subtree share /srv/data on the root fs (dev 8:1). */
static void setup_shares(void)
{
	memset(vbf_shares, 0, sizeof vbf_shares);
	struct vbf_share *s = vbf_shares;
	strcpy(s[0].root, "/share"), s[0].len = 6, s[0].dev = makedev(0, 45), s[0].whole_fs = 1, s[0].store = 0;
	strcpy(s[1].root, "/alias"), s[1].len = 6, s[1].dev = makedev(0, 45), s[1].whole_fs = 1, s[1].store = 0;
	strcpy(s[1].prefix, "sub");
	strcpy(s[2].root, "/srv/data"), s[2].len = 9, s[2].dev = makedev(8, 1), s[2].store = 2;
	vbf_nshares = 3;
}

static const char *fake_cwd = "/share/dir";
static int getcwd_calls, readlink_calls;
static char *f_getcwd(char *b, size_t n)
{
	getcwd_calls++;
	snprintf(b, n, "%s", fake_cwd);
	return b;
}
static ssize_t f_readlink(const char *p, char *b, size_t n)
{
	readlink_calls++;
	const char *t = strstr(p, "/fd/7") ? "/share/opened" : strstr(p, "/fd/8") ? "/elsewhere" : NULL;
	if (!t) {
		errno = EBADF;
		return -1;
	}
	size_t l = strlen(t);
	memcpy(b, t, l);
	return (ssize_t)l;
}
static char *f_realpath(const char *p, char *out)
{
	if (!strncmp(p, "/tmp/link", 9)) { /* /tmp/link -> /share/real */
		snprintf(out, PATH_MAX, "/share/real%s", p + 9);
		return out;
	}
	snprintf(out, PATH_MAX, "%s", p);
	return out;
}

static int setup(void **st)
{
	fake_real_reset();
	vbf_real.getcwd = f_getcwd;
	vbf_real.readlink = f_readlink;
	vbf_real.realpath = f_realpath;
	setup_shares();
	vbf_cwd_changed();
	memset(vbf_fdtab, 0, sizeof vbf_fdtab);
	getcwd_calls = readlink_calls = 0;
	return 0;
}

static void where_is(int dirfd, const char *path, int want_idx, const char *want_key)
{
	struct vbf_where w;
	assert_int_equal(vbf_where_name(dirfd, path, &w), want_idx);
	if (want_key)
		assert_string_equal(w.key, want_key);
}

static void t_where_name(void **st)
{
	where_is(AT_FDCWD, "/share", 0, "");
	where_is(AT_FDCWD, "/share/a/b", 0, "a/b");
	where_is(AT_FDCWD, "/share/a/../b/./c", 0, "b/c");
	where_is(AT_FDCWD, "/share/..", -1, NULL);
	where_is(AT_FDCWD, "/shared/x", -1, NULL);
	where_is(AT_FDCWD, "/alias/f", 0, "sub/f"); /* bind mount of /share/sub */
	where_is(AT_FDCWD, "/alias", 0, "sub");
	where_is(AT_FDCWD, "/srv/data/x", 2, "x");
	where_is(AT_FDCWD, "/etc/passwd", -1, NULL);
	assert_int_equal(getcwd_calls, 0); /* absolute paths cost nothing */
	where_is(AT_FDCWD, "f", 0, "dir/f");
	where_is(AT_FDCWD, "../x", 0, "x");
	where_is(AT_FDCWD, "../../etc", -1, NULL);
	assert_int_equal(getcwd_calls, 1); /* fetched once, then cached */
	vbf_cwd_changed();
	fake_cwd = "/home";
	where_is(AT_FDCWD, "f", -1, NULL);
	where_is(AT_FDCWD, "../share/f", 0, "f");
	assert_int_equal(getcwd_calls, 2);
	fake_cwd = "/share/dir";
	/* dirfd: only marked descriptors are looked up */
	where_is(7, "x", -1, NULL);
	assert_int_equal(readlink_calls, 0);
	vbf_fd_mark(7, 1);
	where_is(7, "x", 0, "opened/x");
	where_is(7, "", 0, "opened");
	/* a path longer than the cap is passed through, not misclassified */
	static char huge[VBF_PATH_CAP + 100];
	memset(huge, 'a', sizeof huge - 1);
	huge[0] = '/';
	where_is(AT_FDCWD, huge, -1, NULL);
}

static struct stat st_on(dev_t dev)
{
	struct stat s;
	memset(&s, 0, sizeof s);
	s.st_dev = dev;
	s.st_mode = S_IFREG | 0644;
	return s;
}

static void t_where_stat(void **st)
{
	struct vbf_where w;
	struct stat on = st_on(makedev(0, 45)), off = st_on(makedev(8, 2)), rootfs = st_on(makedev(8, 1));
	assert_int_equal(vbf_where_stat(AT_FDCWD, "/etc/x", 1, &off, &w), -1);
	assert_int_equal(readlink_calls + getcwd_calls, 0); /* not a share dev: nothing else done */
	assert_int_equal(vbf_where_stat(AT_FDCWD, "/share/a", 1, &on, &w), 0);
	assert_string_equal(w.key, "a");
	/* a symlink from outside into the share: resolved through realpath */
	assert_int_equal(vbf_where_stat(AT_FDCWD, "/tmp/link/f", 1, &on, &w), 0);
	assert_string_equal(w.key, "real/f");
	/* lstat of such a name: the parent is resolved, the last component kept */
	assert_int_equal(vbf_where_stat(AT_FDCWD, "/tmp/link/l", 0, &on, &w), 0);
	assert_string_equal(w.key, "real/l");
	/* a descriptor: its name comes from /proc */
	assert_int_equal(vbf_where_stat(7, NULL, 1, &on, &w), 0);
	assert_string_equal(w.key, "opened");
	/* subtree share: same device as the rest of the fs, so by path only */
	assert_int_equal(vbf_where_stat(AT_FDCWD, "/srv/data/f", 1, &rootfs, &w), 2);
	assert_int_equal(vbf_where_stat(AT_FDCWD, "/usr/bin/ls", 1, &rootfs, &w), -1);
	readlink_calls = 0;
	assert_int_equal(vbf_where_stat(9, "x", 1, &rootfs, &w), -1); /* unmarked dirfd: no lookup */
	assert_int_equal(readlink_calls, 0);
	/* on the share's fs but under no known name: presented, no record */
	assert_int_equal(vbf_where_stat(8, NULL, 1, &on, &w), 0);
	assert_null(w.key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_mountinfo),
		cmocka_unit_test_setup(t_where_name, setup),
		cmocka_unit_test_setup(t_where_stat, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
