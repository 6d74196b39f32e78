/* SPDX-License-Identifier: MIT */
/* defer.c and dir_tail.c on a share (a real temporary directory): the
 * unlink of a file held open here that the host refuses busy, finished at
 * the last close, with the name renamed aside or, when the host refuses
 * that too, kept and hidden; and the tail of a listing, the redirected
 * FIFOs after the real entries. The host's answers are scripted through the
 * real-function table. */
#include "fake_real.h"
#include "fake_ops.h"
#include "config.h"
#include "defer.h"
#include "dir_tail.h"
#include "refuse.h"
#include "store.h"
#include "vbf.h"

/* Defined here so the library's constructor (vbf.o) is not linked in. */
void vbf_boot(void) {}

static char root[PATH_MAX];
#define P(slot, rel) fake_share_path(slot, rel)


static int holding;    /* the host answers unlink ETXTBSY while set */
static int busy_after; /* and this many more times once it is not */
static int unlinks;

/* the deferred unlink's own, at the last close (defer.c) */
static int f_unlink(const char *p)
{
	unlinks++;
	if (holding || (busy_after > 0 && busy_after--)) {
		errno = ETXTBSY;
		return -1;
	}
	return unlink(p);
}
/* the op's (refuse.c) */
static int f_unlinkat(int d, const char *p, int fl)
{
	if (!fl) {
		unlinks++;
		if (holding || (busy_after > 0 && busy_after--)) {
			errno = ETXTBSY;
			return -1;
		}
	}
	return unlinkat(d, p, fl);
}
/* a host that refuses the rename aside as well */
static int f_renameat_busy(int a, const char *p, int b, const char *q)
{
	errno = ETXTBSY;
	return -1;
}

static int setup(void **s)
{
	fake_real_reset();
	vbf_real.unlink = f_unlink;
	vbf_real.unlinkat = f_unlinkat;
	holding = busy_after = unlinks = 0;
	fake_share_make(root);
	return 0;
}

/* An open of a share file by the open wrapper: marked on a share. */
static int open_marked(const char *p, int fl)
{
	int fd = open(p, fl, 0644);
	assert_true(fd >= 0);
	vbf_fd_mark(fd, 1);
	return fd;
}

/* close and dup as the wrappers make them (wrap_fd.c) */
static void close_marked(int fd)
{
	unsigned char bits = vbf_fd_bits(fd);
	vbf_fd_mark(fd, 0);
	assert_int_equal(close(fd), 0);
	if (bits & VBF_FD_DEFER)
		vbf_defer_closed(fd, bits);
}

static int dup_marked(int fd)
{
	int to = dup(fd);
	assert_true(to >= 0);
	vbf_fd_mark(to, vbf_fd_marked(fd));
	if (vbf_fd_bits(fd) & VBF_FD_DEFER)
		vbf_defer_copied(fd, to, 0);
	return to;
}

/* Entries of the share root whose names start with `prefix`. */
static int count(const char *prefix)
{
	int n = 0;
	DIR *d = opendir(root);
	struct dirent *e;
	assert_non_null(d);
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

static void t_defer_at_last_close(void **s)
{
	struct stat st;
	struct vbf_rec rec = {.flags = VBF_REC_OWNER, .uid = 3, .gid = 3};
	int fd = open_marked(P(0, "f"), O_RDWR | O_CREAT);
	assert_int_equal(fstat(fd, &st), 0);
	vbf_store_put(0, "f", &st, &rec);
	holding = 1;
	errno = 4242;
	assert_int_equal(op_unlink(AT_FDCWD, P(0, "f"), 0), 0);
	assert_int_equal(errno, 4242);
	assert_int_equal(fake_slept, 0); /* no retry: it would wait for ourselves */
	/* the name is gone at once, the file renamed aside, its record dropped */
	assert_int_equal(access(P(0, "f"), F_OK), -1);
	assert_int_equal(count(VBF_DEFER_PREFIX), 1);
	assert_true(vbf_fd_bits(fd) & VBF_FD_DEFER);
	assert_false(vbf_defer_kept(0, "f"));
	assert_int_equal(vbf_store_get(0, "f", &st, &rec), 0);
	/* a new file may take the name meanwhile */
	close(open(P(0, "f"), O_WRONLY | O_CREAT, 0644));
	/* a copy made after holds it too: only the last close unlinks */
	int fd2 = dup_marked(fd);
	assert_true(vbf_fd_bits(fd2) & VBF_FD_DEFER);
	close_marked(fd);
	assert_int_equal(count(VBF_DEFER_PREFIX), 1);
	holding = 0;
	close_marked(fd2);
	assert_int_equal(count(VBF_DEFER_PREFIX), 0);
	assert_int_equal(access(P(0, "f"), F_OK), 0); /* the new file stays */
}

static void t_defer_kept_name(void **s)
{
	int fd = open_marked(P(0, "f"), O_RDWR | O_CREAT);
	vbf_real.renameat = f_renameat_busy;
	holding = 1;
	assert_int_equal(op_unlink(AT_FDCWD, P(0, "f"), 0), 0);
	/* the host still has the name: this process answers ENOENT for it */
	assert_int_equal(access(P(0, "f"), F_OK), 0);
	assert_int_equal(count(VBF_DEFER_PREFIX), 0);
	assert_true(vbf_defer_kept(0, "f"));
	assert_false(vbf_defer_kept(0, "g"));
	assert_int_equal(op_unlink(AT_FDCWD, P(0, "f"), 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(op_rename(AT_FDCWD, P(0, "f"), AT_FDCWD, P(1, "g"), 0), -1);
	assert_int_equal(errno, ENOENT);
	int dfd = open_marked(root, O_RDONLY | O_DIRECTORY);
	assert_true(vbf_defer_listed(dfd, "f"));
	assert_false(vbf_defer_listed(dfd, "g"));
	close(dfd);
	/* the last close unlinks it: a host still busy is asked again */
	holding = 0;
	busy_after = 2;
	unlinks = 0;
	close_marked(fd);
	assert_int_equal(unlinks, 3);
	assert_int_equal(fake_slept, 10 + 20);
	assert_int_equal(access(P(0, "f"), F_OK), -1);
	assert_false(vbf_defer_kept(0, "f"));
}

static void t_defer_only_when_held(void **s)
{
	struct vbf_where w;
	close(open(P(0, "f"), O_WRONLY | O_CREAT, 0644));
	assert_int_equal(vbf_where_name(AT_FDCWD, P(0, "f"), &w), 0);
	/* not open here: the busy answer stays for the caller to retry */
	assert_int_equal(vbf_defer_unlink(&w, AT_FDCWD, P(0, "f"), ETXTBSY), -1);
	assert_int_equal(errno, ETXTBSY);
	/* open, but not busy: nothing to defer */
	int fd = open_marked(P(0, "f"), O_RDONLY);
	assert_int_equal(vbf_defer_unlink(&w, AT_FDCWD, P(0, "f"), EACCES), -1);
	assert_int_equal(errno, EACCES);
	/* open on a descriptor the wrappers did not see (not marked): none */
	vbf_fd_mark(fd, 0);
	assert_int_equal(vbf_defer_unlink(&w, AT_FDCWD, P(0, "f"), EBUSY), -1);
	assert_int_equal(errno, EBUSY);
	assert_false(vbf_fd_bits(fd) & VBF_FD_DEFER);
	close(fd);
	assert_int_equal(access(P(0, "f"), F_OK), 0);
}

/* ---- the listing tail: redirected FIFOs after the real entries ---- */

/* Read `d` to its end as the readdir wrapper does, then its tail: the
 * names the tail gave, joined by spaces. */
static void list(DIR *d, char *out, size_t cap, int *real)
{
	struct dirent *e;
	struct vbf_tail *t;
	*real = 0;
	out[0] = 0;
	while ((e = readdir(d)))
		*real += e->d_name[0] != '.';
	while ((t = vbf_tail_next(d))) {
		assert_true(t->type == DT_FIFO);
		assert_true(t->ino != 0);
		snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? " " : "", t->name);
	}
}

static void t_listing_tail(void **s)
{
	char names[256];
	int real;
	assert_int_equal(mkdir(P(0, "d"), 0755), 0);
	close(open(P(0, "d/file"), O_WRONLY | O_CREAT, 0644));
	assert_int_equal(vbf_refuse_mknod(AT_FDCWD, P(0, "d/fifo"), S_IFIFO | 0644, 0), 0);
	assert_int_equal(access(P(0, "d/fifo"), F_OK), -1); /* it lives elsewhere */
	DIR *d = opendir(P(0, "d"));
	assert_non_null(d);
	/* a stream the wrappers did not mark (not on a share) has no tail */
	list(d, names, sizeof names, &real);
	assert_string_equal(names, "");
	vbf_fd_mark(dirfd(d), 1);
	rewinddir(d);
	vbf_tail_reset(d, 0);
	list(d, names, sizeof names, &real);
	assert_int_equal(real, 1);
	assert_string_equal(names, "fifo");
	/* at its end it stays at its end */
	assert_null(vbf_tail_next(d));
	/* a new pass lists it again */
	rewinddir(d);
	vbf_tail_reset(d, 0);
	list(d, names, sizeof names, &real);
	assert_string_equal(names, "fifo");
	/* after a seek the stream goes on with no tail */
	rewinddir(d);
	vbf_tail_reset(d, 0);
	seekdir(d, telldir(d));
	vbf_tail_reset(d, 1);
	list(d, names, sizeof names, &real);
	assert_int_equal(real, 1);
	assert_string_equal(names, "");
	/* a real entry of the same name hides the object */
	rewinddir(d);
	vbf_tail_reset(d, 0);
	close(open(P(0, "d/fifo"), O_WRONLY | O_CREAT, 0644));
	list(d, names, sizeof names, &real);
	assert_int_equal(real, 2);
	assert_string_equal(names, "");
	vbf_tail_reset(d, 0); /* closedir */
	vbf_fd_mark(dirfd(d), 0);
	closedir(d);
	/* a directory with nothing redirected takes no slot and lists nothing */
	d = opendir(root);
	vbf_fd_mark(dirfd(d), 1);
	list(d, names, sizeof names, &real);
	assert_string_equal(names, "");
	vbf_fd_mark(dirfd(d), 0);
	closedir(d);
}

int main(void)
{
	vbf_boot_state = 2; /* started, with shares */
	vbf_on = 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_defer_at_last_close, setup, fake_share_teardown),
		cmocka_unit_test_setup_teardown(t_defer_kept_name, setup, fake_share_teardown),
		cmocka_unit_test_setup_teardown(t_defer_only_when_held, setup, fake_share_teardown),
		cmocka_unit_test_setup_teardown(t_listing_tail, setup, fake_share_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
