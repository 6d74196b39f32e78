/* SPDX-License-Identifier: MIT */
/* State store benchmark: load time and memory for N records, cost of a put
 * (one recorded chown, without the chown itself), of a lookup, and of a
 * lookup right after another process wrote.
 *
 *   store_bench [N [DIR]]           N records (default 100000) in DIR (a temp
 *                                   dir under /tmp by default)
 *   store_bench --chown N FILE...   chown each FILE to its own owner N times
 *                                   round-robin and print us/chown: run it
 *                                   under LD_PRELOAD=libvboxfix.so and under
 *                                   fakeroot to compare (bench/store_bench.sh)
 *
 * Goals from the issue: load < 50 ms and < 200 bytes/record at 100,000. */
#include "arena.h"
#include "store_int.h"
#include "log.h"
#include <malloc.h>
#include <sys/wait.h>
#include <time.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The store allocates from its own arena (shim/base/arena.c), not malloc. */
static size_t heap(void)
{
	struct mallinfo2 m = mallinfo2();
	return m.uordblks + m.hblkhd + vbf_arena_in_use();
}

static void key_of(char *k, size_t cap, long i)
{
	/* a PostgreSQL-like tree: 100 directories of up to 1000 files */
	snprintf(k, cap, "base/%ld/%ld", 16384 + i % 100, i);
}

static int chown_bench(int argc, char **argv)
{
	long n = atol(argv[2]);
	int nf = argc - 3;
	struct stat *st = calloc((size_t)nf, sizeof *st);
	for (int i = 0; i < nf; i++)
		if (stat(argv[3 + i], &st[i]) < 0)
			return perror(argv[3 + i]), 1;
	double t0 = now();
	for (long i = 0; i < n; i++) {
		int f = (int)(i % nf);
		if (chown(argv[3 + f], st[f].st_uid + (uid_t)(i & 1), st[f].st_gid) < 0)
			return perror("chown"), 1;
	}
	double t = now() - t0;
	printf("chown: %.2f us/call over %ld calls\n", t * 1e6 / (double)n, n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "--chown"))
		return chown_bench(argc, argv);
	long n = argc > 1 ? atol(argv[1]) : 100000;
	char dir[PATH_MAX];
	if (argc > 2)
		snprintf(dir, sizeof dir, "%s", argv[2]);
	else if (!mkdtemp(strcpy(dir, "/tmp/vbf-bench-XXXXXX")))
		return perror("mkdtemp"), 1;
	vbf_log_level = VBF_WARN;
	vbf_compact_min = UINT64_MAX; /* measure appends, not compactions */
	char k[64];
	struct vbf_rec rec = {VBF_REC_OWNER | VBF_REC_MODE, 999, 999, 0700};
	struct stat st = {.st_mode = S_IFREG | 0644};

	vbf_store_open(0, dir, NULL);
	double t0 = now();
	for (long i = 0; i < n; i++) {
		key_of(k, sizeof k, i);
		st.st_ino = (ino_t)i;
		vbf_store_put(0, k, &st, &rec);
	}
	double tput = now() - t0;
	struct vbf_store_info info;
	vbf_store_info(0, &info);
	printf("records: %lu, file: %llu bytes (%.1f bytes/record)\n", info.records,
	       (unsigned long long)info.file_bytes, (double)info.file_bytes / (double)n);
	printf("put (append + read back): %.2f us/put\n", tput * 1e6 / (double)n);
	vbf_store_close(0);

	/* load: a new process opening the share */
	size_t h0 = heap();
	t0 = now();
	vbf_store_open(0, dir, NULL);
	double tload = now() - t0;
	size_t h1 = heap();
	vbf_store_info(0, &info);
	printf("load: %.1f ms for %lu records (goal < 50 ms)\n", tload * 1e3, info.records);
	printf("memory: %.1f bytes/record incl. hash buckets and read buffer (goal < 200)\n",
	       (double)(h1 - h0) / (double)info.records);

	/* lookups with nothing new in the log: one memory load, no I/O */
	struct vbf_rec out;
	long hits = 0, m = 2000000;
	t0 = now();
	for (long i = 0; i < m; i++) {
		key_of(k, sizeof k, i % n);
		st.st_ino = (ino_t)(i % n);
		hits += vbf_store_get(0, k, &st, &out);
	}
	double tget = now() - t0;
	printf("get: %.0f ns/lookup (%ld hits of %ld)\n", tget * 1e9 / (double)m, hits, m);

	/* another process writes; how soon and at what cost do we see it */
	int down[2], up[2];
	if (pipe(down) < 0 || pipe(up) < 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		vbf_store_atfork_child();
		vbf_store_close(0);
		vbf_store_open(0, dir, NULL);
		for (int i = 0; i < 1000; i++) {
			char c;
			if (read(down[0], &c, 1) != 1)
				_exit(1);
			snprintf(k, sizeof k, "other/%d", i);
			vbf_store_put(0, k, &st, &rec);
			if (write(up[1], &c, 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	double tseen = 0;
	int seen = 0;
	for (int i = 0; i < 1000; i++) {
		char c = 'x';
		/* the child's put has returned when it answers */
		if (write(down[1], &c, 1) != 1 || read(up[0], &c, 1) != 1)
			break;
		snprintf(k, sizeof k, "other/%d", i);
		double t1 = now();
		seen += vbf_store_get(0, k, &st, &out);
		tseen += now() - t1;
	}
	waitpid(pid, NULL, 0);
	printf("get after another process's put: %.2f us (visible at once in %d of 1000)\n", tseen * 1e6 / 1000, seen);
	vbf_store_close(0);
	if (argc <= 2) {
		char cmd[PATH_MAX + 16];
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return 0;
}
