/* SPDX-License-Identifier: MIT */
/* Replays the fuzz corpus (tests/fuzz/corpus/store) through the loader in a
 * normal build, and checks what the hand-made seeds decode to: they are
 * written by an independent encoder (tests/fuzz/gen_store_seeds.py) from the
 * format description in docs/state-store.md. */
#include "fake_real.h"
#include "log.h"
#include "../fuzz/store_target.h"
#include <dirent.h>

static const char *corpus_dir(void)
{
	const char *d = getenv("VBF_STORE_CORPUS");
	return d ? d : "tests/fuzz/corpus/store";
}

static uint8_t *slurp(const char *name, size_t *n)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", corpus_dir(), name);
	FILE *f = fopen(p, "rb");
	if (!f)
		return NULL;
	static uint8_t buf[1 << 20];
	*n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	return buf;
}

static void t_replay_all(void **st)
{
	DIR *d = opendir(corpus_dir());
	if (!d)
		skip();
	int files = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n;
		uint8_t *b;
		if (e->d_name[0] == '.' || !(b = slurp(e->d_name, &n)))
			continue;
		store_target(b, n);
		files++;
	}
	closedir(d);
	assert_true(files > 0);
}

static unsigned long loads(const char *name)
{
	size_t n;
	uint8_t *b = slurp(name, &n);
	assert_non_null(b);
	store_target(b, n);
	return tgt_a.nrec;
}

static int has(const char *k)
{
	struct vbf_ent *e;
	HASH_FIND(hh, tgt_a.tab, k, strlen(k), e);
	return e != NULL;
}

static void t_seeds(void **st)
{
	DIR *d = opendir(corpus_dir());
	if (!d)
		skip();
	closedir(d);
	assert_int_equal(loads("empty"), 0);
	assert_int_equal(loads("basic"), 4);
	assert_true(has("") && has("a/b"));
	assert_int_equal(loads("ops"), 1);
	assert_true(has("after"));
	assert_int_equal(loads("torn_tail"), 1);
	assert_int_equal(loads("torn_middle"), 2);
	assert_int_equal(loads("garbage_middle"), 2);
	assert_int_equal(loads("huge_len"), 1);
	assert_int_equal(loads("evil_keys"), 2); /* the non-UTF-8 name and "ok" */
	assert_true(has("ok"));
	assert_int_equal(loads("rename_into_self"), 1);
	assert_true(has("d/a"));
	assert_int_equal(loads("bad_version"), 1);
	assert_int_equal(loads("many"), 1);
	assert_int_equal(loads("deep"), 0); /* the moved key would be too long */
}

int main(void)
{
	fake_real_reset();
	vbf_log_level = -1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_replay_all),
		cmocka_unit_test(t_seeds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
