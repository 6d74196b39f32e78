/* SPDX-License-Identifier: MIT */
/* Replays a fuzz corpus through a harness, built with the normal compiler
 * and run by `make test` like a unit test (cmocka output):
 *   test_fuzz_NAME [DIR]     default DIR: tests/fuzz/corpus/NAME
 * A corpus file that crashes the harness crashes this test. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *dir = FUZZ_CORPUS;

static void replay(void **state)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[4096];
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		FILE *f = fopen(p, "rb");
		if (!f)
			continue;
		static uint8_t buf[1 << 20];
		size_t len = fread(buf, 1, sizeof buf, f);
		fclose(f);
		uint8_t *copy = malloc(len ? len : 1); /* exact size: overreads stay visible to ASan */
		memcpy(copy, buf, len);
		LLVMFuzzerTestOneInput(copy, len);
		free(copy);
		n++;
	}
	closedir(d);
	print_message("replayed %d inputs from %s\n", n, dir);
	assert_true(n > 0);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		dir = argv[1];
	const struct CMUnitTest tests[] = {cmocka_unit_test(replay)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
