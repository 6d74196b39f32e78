/* SPDX-License-Identifier: MIT */
/* shpage.c: a page is created, found again and shared across fork; a
 * segment of the wrong size, perms or header at a key is skipped for the
 * next key, and when every key is taken the caller gets NULL; an unstamped
 * page is stamped by whoever finds it; no descriptor is kept; errno is kept;
 * the umask does not narrow the perms; another uid can write the page but
 * neither remove, re-permission nor resize it (as root). Each test uses
 * names of its own and removes every segment it made. */
#include "fake_real.h"
#include "shpage.h"
#include <dirent.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>

#define MAGIC 0x74736574u
#define SIZE 8192

static char name[64];
static int squat[VBF_SHPAGE_TRIES];

static int setup(void **state)
{
	static int n;
	fake_real_reset();
	snprintf(name, sizeof name, "vbf-test-shpage-%d-%d", (int)getpid(), n++);
	for (int i = 0; i < VBF_SHPAGE_TRIES; i++)
		squat[i] = -1;
	return 0;
}

static int teardown(void **state)
{
	vbf_shpage_remove(name, SIZE, MAGIC, 1);
	for (int i = 0; i < VBF_SHPAGE_TRIES; i++)
		if (squat[i] >= 0)
			shmctl(squat[i], IPC_RMID, NULL);
	return 0;
}

/* a segment at attempt `i`'s key, as a squatter would leave it: created
 * by another uid when we are root (a segment of our own or root's with a
 * wrong header is taken for our page scribbled on, and stamped again) */
static int make_squatter(int i, size_t size, int mode, uint32_t magic, uint64_t name_hash)
{
	int key = vbf_shpage_key(name, SIZE, 1, i);
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t c = fork();
	if (c == 0) {
		if (geteuid() == 0 && (setgid(4300) || setuid(4300)))
			_exit(1);
		int id = shmget(key, size, IPC_CREAT | IPC_EXCL | mode);
		if (id >= 0 && (magic || name_hash)) {
			struct vbf_shpage_hdr *h = shmat(id, NULL, 0);
			if (h == (void *)-1)
				_exit(2);
			h->magic = magic;
			h->version = 1;
			h->size = size;
			h->name_hash = name_hash;
			shmdt(h);
		}
		if (write(pfd[1], &id, sizeof id) != sizeof id)
			_exit(3);
		_exit(0);
	}
	int id = -1;
	assert_int_equal(read(pfd[0], &id, sizeof id), sizeof id);
	waitpid(c, NULL, 0);
	close(pfd[0]);
	close(pfd[1]);
	assert_true(id >= 0);
	squat[i] = id;
	return id;
}

/* which attempt's segment is `p`? (-1: none) */
static int attempt_of(void *p)
{
	volatile char *c = p;
	for (int i = 0; i < VBF_SHPAGE_TRIES; i++) {
		int id = shmget(vbf_shpage_key(name, SIZE, 1, i), 0, 0);
		if (id < 0)
			continue;
		volatile char *q = shmat(id, NULL, SHM_RDONLY);
		if (q == (void *)-1)
			continue;
		c[SIZE - 1] = (char)(0x40 + i);
		int same = q[SIZE - 1] == (char)(0x40 + i);
		shmdt((void *)q);
		if (same)
			return i;
	}
	return -1;
}

static int nfds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void t_create_share_fork(void **state)
{
	int fds = nfds();
	mode_t um = umask(0777);
	errno = 1234;
	char *p = vbf_shpage_attach(name, SIZE, MAGIC, 1);
	assert_int_equal(errno, 1234);
	umask(um);
	assert_non_null(p);
	assert_int_equal(nfds(), fds);
	struct vbf_shpage_hdr *h = (struct vbf_shpage_hdr *)p;
	assert_int_equal(h->magic, MAGIC);
	assert_int_equal(h->version, 1);
	assert_int_equal(h->size, SIZE);
	assert_true(h->name_hash == vbf_shpage_hash(name));
	struct shmid_ds ds;
	int id = shmget(vbf_shpage_key(name, SIZE, 1, 0), 0, 0);
	assert_true(id >= 0);
	assert_int_equal(shmctl(id, IPC_STAT, &ds), 0);
	assert_int_equal(ds.shm_perm.mode & 0777, 0666); /* the umask did not narrow it */
	assert_int_equal(ds.shm_segsz, SIZE);
	/* a second attach is the same memory; a fork child shares it */
	char *q = vbf_shpage_attach(name, SIZE, MAGIC, 1);
	assert_non_null(q);
	p[100] = 7;
	assert_int_equal(q[100], 7);
	pid_t c = fork();
	if (c == 0) {
		p[200] = 9;
		_exit(0);
	}
	waitpid(c, NULL, 0);
	assert_int_equal(q[200], 9);
	/* another name, size or version is another segment */
	char *o = vbf_shpage_attach(name, SIZE, MAGIC, 2);
	assert_non_null(o);
	assert_int_equal(o[100], 0);
	vbf_shpage_detach(o, SIZE);
	char other[80];
	snprintf(other, sizeof other, "%s-b", name);
	o = vbf_shpage_attach(other, SIZE, MAGIC, 1);
	assert_non_null(o);
	assert_int_equal(o[100], 0);
	vbf_shpage_detach(o, SIZE);
	vbf_shpage_remove(name, SIZE, MAGIC, 2);
	vbf_shpage_remove(other, SIZE, MAGIC, 1);
	errno = 4321;
	vbf_shpage_detach(q, SIZE);
	vbf_shpage_detach(p, SIZE);
	assert_int_equal(errno, 4321);
	assert_int_equal(vbf_shpage_remove(name, SIZE, MAGIC, 1), 1);
	assert_true(shmget(vbf_shpage_key(name, SIZE, 1, 0), 0, 0) < 0);
}

static void t_squatters_skipped(void **state)
{
	if (geteuid() != 0)
		skip(); /* squatters of another uid */
	uint64_t nh = vbf_shpage_hash(name);
	make_squatter(0, 4096, 0666, 0, 0);         /* wrong size */
	make_squatter(1, SIZE, 0666, 0xdeadbeef, nh); /* another header */
	make_squatter(2, SIZE, 0600, MAGIC, nh);      /* right header, perms shut others out */
	char *p = vbf_shpage_attach(name, SIZE, MAGIC, 1);
	assert_non_null(p);
	assert_int_equal(attempt_of(p), 3);
	vbf_shpage_detach(p, SIZE);
	assert_int_equal(vbf_shpage_remove(name, SIZE, MAGIC, 1), 2); /* 3 and the 0600 one: right header */
	squat[2] = -1;
	/* every key taken: NULL, errno kept */
	make_squatter(2, 100, 0666, 0, 0);
	make_squatter(3, SIZE + 4096, 0666, 0, 0);
	errno = 1234;
	assert_null(vbf_shpage_attach(name, SIZE, MAGIC, 1));
	assert_int_equal(errno, 1234);
}

static void t_unstamped_page(void **state)
{
	if (geteuid() != 0)
		skip();
	/* a creator that died before stamping: the next one stamps and uses it */
	make_squatter(0, SIZE, 0666, 0, 0);
	char *p = vbf_shpage_attach(name, SIZE, MAGIC, 1);
	assert_non_null(p);
	assert_int_equal(attempt_of(p), 0);
	vbf_shpage_detach(p, SIZE);
	/* a zero first word but someone else's header: not touched */
	int id = make_squatter(1, SIZE, 0666, 0, 42);
	struct vbf_shpage_hdr *h = shmat(id, NULL, 0);
	shmctl(squat[0], IPC_RMID, NULL);
	squat[0] = -1;
	make_squatter(0, 1, 0666, 0, 0);
	p = vbf_shpage_attach(name, SIZE, MAGIC, 1);
	assert_non_null(p);
	assert_int_equal(attempt_of(p), 2);
	assert_int_equal(h->magic, 0);
	assert_int_equal(h->name_hash, 42);
	shmdt(h);
	vbf_shpage_detach(p, SIZE);
}

static void t_header_rewritten_later(void **state)
{
	/* the header is checked at attach only: a process attached keeps its
	 * page whatever is written there */
	char *p = vbf_shpage_attach(name, SIZE, MAGIC, 1);
	assert_non_null(p);
	memset(p, 0xff, SIZE);
	/* our own segment scribbled on: stamped again and used, not left for
	 * another key */
	char *q = vbf_shpage_attach(name, SIZE, MAGIC, 1);
	assert_non_null(q);
	assert_int_equal(attempt_of(q), 0);
	assert_int_equal(((struct vbf_shpage_hdr *)p)->magic, MAGIC);
	assert_int_equal((unsigned char)p[SIZE / 2], 0xff); /* the body is the caller's business */
	/* zeroed: stamped and used again */
	memset(p, 0, SIZE);
	char *r = vbf_shpage_attach(name, SIZE, MAGIC, 1);
	assert_non_null(r);
	assert_int_equal(attempt_of(r), 0);
	vbf_shpage_detach(p, SIZE);
	vbf_shpage_detach(q, SIZE);
	vbf_shpage_detach(r, SIZE);
	if (geteuid() != 0)
		return;
	/* a segment of another uid with a wrong header is not ours to fix */
	vbf_shpage_remove(name, SIZE, MAGIC, 1);
	make_squatter(0, SIZE, 0666, 0x12345678, 0);
	p = vbf_shpage_attach(name, SIZE, MAGIC, 1);
	assert_non_null(p);
	assert_int_equal(attempt_of(p), 1);
	vbf_shpage_detach(p, SIZE);
}

static void t_other_uid_cannot_shrink(void **state)
{
	if (geteuid() != 0)
		skip();
	volatile char *p = vbf_shpage_attach(name, SIZE, MAGIC, 1);
	assert_non_null(p);
	int id = shmget(vbf_shpage_key(name, SIZE, 1, 0), 0, 0);
	pid_t c = fork();
	if (c == 0) {
		if (setgid(4300) || setuid(4300))
			_exit(10);
		struct shmid_ds ds;
		if (shmctl(id, IPC_RMID, NULL) == 0 || errno != EPERM)
			_exit(11);
		if (shmctl(id, IPC_STAT, &ds) < 0)
			_exit(12);
		ds.shm_perm.mode = 0600;
		if (shmctl(id, IPC_SET, &ds) == 0 || errno != EPERM)
			_exit(13);
		if (shmget(vbf_shpage_key(name, SIZE, 1, 0), SIZE * 2, 0) >= 0)
			_exit(14);
		/* but it can attach and write: the page is hostile input */
		char *q = vbf_shpage_attach(name, SIZE, MAGIC, 1);
		if (!q)
			_exit(15);
		memset(q + sizeof(struct vbf_shpage_hdr), 0x5a, SIZE - sizeof(struct vbf_shpage_hdr));
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(p[SIZE - 1], 0x5a);
	/* removed by its owner: whoever is attached keeps every byte */
	assert_int_equal(vbf_shpage_remove(name, SIZE, MAGIC, 1), 1);
	for (size_t i = sizeof(struct vbf_shpage_hdr); i < SIZE; i += 512)
		assert_int_equal(p[i], 0x5a);
	vbf_shpage_detach((void *)p, SIZE);
}

static void t_bad_arguments(void **state)
{
	errno = 77;
	assert_null(vbf_shpage_attach(NULL, SIZE, MAGIC, 1));
	assert_null(vbf_shpage_attach(name, 8, MAGIC, 1));
	assert_null(vbf_shpage_attach(name, SIZE, 0, 1));
	vbf_shpage_detach(NULL, SIZE);
	assert_int_equal(errno, 77);
	/* the key is never IPC_PRIVATE, and the attempts differ */
	for (int i = 0; i < VBF_SHPAGE_TRIES; i++) {
		assert_int_not_equal(vbf_shpage_key(name, SIZE, 1, i), IPC_PRIVATE);
		if (i)
			assert_int_not_equal(vbf_shpage_key(name, SIZE, 1, i), vbf_shpage_key(name, SIZE, 1, i - 1));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_create_share_fork, setup, teardown),
		cmocka_unit_test_setup_teardown(t_squatters_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(t_unstamped_page, setup, teardown),
		cmocka_unit_test_setup_teardown(t_header_rewritten_later, setup, teardown),
		cmocka_unit_test_setup_teardown(t_other_uid_cannot_shrink, setup, teardown),
		cmocka_unit_test_setup_teardown(t_bad_arguments, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
