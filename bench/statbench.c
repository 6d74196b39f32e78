/* SPDX-License-Identifier: MIT */
/* statbench: the cost of one stat(2)-family call, measured in-process.
 *
 *   statbench [-n CALLS] [-r ROUNDS] [-f stat|lstat|statx|fstatat] PATH...
 *
 * Each round times CALLS calls cycling over the PATHs; the answer is the
 * median of the rounds' microseconds per call (one line: `median_us=X
 * min_us=Y calls=N`). Failing calls (ENOENT) are timed like the others:
 * negative lookups count too. The library under test comes in through
 * LD_PRELOAD; nothing here knows about it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	long n = 100000, rounds = 7;
	const char *fn = "stat";
	int c;
	while ((c = getopt(argc, argv, "n:r:f:")) != -1) {
		switch (c) {
		case 'n': n = atol(optarg); break;
		case 'r': rounds = atol(optarg); break;
		case 'f': fn = optarg; break;
		default:
			fprintf(stderr, "usage: statbench [-n CALLS] [-r ROUNDS] [-f stat|lstat|statx|fstatat] PATH...\n");
			return 2;
		}
	}
	if (optind >= argc || n < 1 || rounds < 1 || rounds > 1000) {
		fprintf(stderr, "statbench: need PATH, CALLS >= 1, 1 <= ROUNDS <= 1000\n");
		return 2;
	}
	char **paths = argv + optind;
	int np = argc - optind;
	int kind = !strcmp(fn, "lstat") ? 1 : !strcmp(fn, "statx") ? 2 : !strcmp(fn, "fstatat") ? 3 : 0;
	double *us = calloc((size_t)rounds, sizeof *us);
	if (!us)
		return 1;
	struct stat st;
	struct statx stx;
	long fails = 0;
	for (long r = 0; r < rounds; r++) {
		double t0 = now_us();
		for (long i = 0; i < n; i++) {
			const char *p = paths[i % np];
			int rc;
			switch (kind) {
			case 1: rc = lstat(p, &st); break;
			case 2: rc = statx(AT_FDCWD, p, 0, STATX_BASIC_STATS, &stx); break;
			case 3: rc = fstatat(AT_FDCWD, p, &st, 0); break;
			default: rc = stat(p, &st); break;
			}
			fails += rc != 0;
		}
		us[r] = (now_us() - t0) / (double)n;
	}
	qsort(us, (size_t)rounds, sizeof *us, cmp);
	printf("median_us=%.4f min_us=%.4f calls=%ld failed=%ld\n", us[rounds / 2], us[0], n * rounds, fails);
	free(us);
	return 0;
}
