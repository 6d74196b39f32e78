/* SPDX-License-Identifier: MIT */
/* config.c: VBOXFIX_* parsing; bad values warn and keep defaults. */
#include "config.h"
#include "fake_real.h"
#include "log.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *passwd = "root:x:0:0:root:/root:/bin/sh\nmysql:x:999:998::/nonexistent:/bin/false\n"
			    "postgres:x:105:110::/var/lib/postgresql:/bin/bash\n";
static const char *group = "root:x:0:\nmysql:x:998:\nvboxsf:x:50:\npostgres:x:110:\n";

static void t_owner(void **s)
{
	uint32_t u, g;
	assert_int_equal(vbf_parse_owner("1000:50", &u, &g, passwd, group), 0);
	assert_int_equal(u, 1000);
	assert_int_equal(g, 50);
	assert_int_equal(vbf_parse_owner("mysql", &u, &g, passwd, group), 0);
	assert_int_equal(u, 999);
	assert_int_equal(g, 998);
	assert_int_equal(vbf_parse_owner("postgres:vboxsf", &u, &g, passwd, group), 0);
	assert_int_equal(u, 105);
	assert_int_equal(g, 50);
	assert_int_equal(vbf_parse_owner("1000", &u, &g, passwd, group), 0);
	assert_int_equal(g, 1000);
	assert_int_equal(vbf_parse_owner("nobody-here", &u, &g, passwd, group), -1);
	assert_int_equal(vbf_parse_owner("mysql:nogroup", &u, &g, passwd, group), -1);
	assert_int_equal(vbf_parse_owner("", &u, &g, passwd, group), -1);
	assert_int_equal(vbf_parse_owner("4294967295:1", &u, &g, passwd, group), -1); /* (uid_t)-1 */
	assert_int_equal(vbf_parse_owner("99999999999:1", &u, &g, passwd, group), -1);
	assert_int_equal(vbf_parse_owner("12a:1", &u, &g, NULL, NULL), -1);
	assert_int_equal(vbf_parse_owner("my", &u, &g, passwd, group), -1); /* prefix of a name */
}

static void t_map(void **s)
{
	struct vbf_map_ent m[4];
	int n;
	assert_int_equal(vbf_parse_map("1000/999:@50/@998", m, 4, &n, passwd, group), 0);
	assert_int_equal(n, 2);
	assert_false(m[0].is_gid);
	assert_int_equal(m[0].from, 1000);
	assert_int_equal(m[0].to, 999);
	assert_true(m[1].is_gid);
	assert_int_equal(m[1].from, 50);
	assert_int_equal(m[1].to, 998);
	assert_int_equal(vbf_parse_map("root/mysql:@vboxsf/@mysql", m, 4, &n, passwd, group), 0);
	assert_int_equal(m[0].to, 999);
	assert_int_equal(m[1].from, 50);
	assert_int_equal(vbf_parse_map("1000/@5", m, 4, &n, passwd, group), -1);
	assert_int_equal(vbf_parse_map("1000", m, 4, &n, passwd, group), -1);
	assert_int_equal(vbf_parse_map("1/2:3/4:5/6:7/8:9/10", m, 4, &n, passwd, group), -1);
}

static const char *const *env_table;
static const char *fake_env(const char *name)
{
	for (int i = 0; env_table[i]; i += 2)
		if (!strcmp(env_table[i], name))
			return env_table[i + 1];
	return NULL;
}

static void t_load(void **s)
{
	fake_real_reset();
	struct vbf_config c;
	static const char *const e1[] = {"VBOXFIX_PATHS", "/a:relative::/b", "VBOXFIX_TTL_MS", "250",
					 "VBOXFIX_OWNER", "0:0", "VBOXFIX_LOG", "error", NULL};
	env_table = e1;
	vbf_config_load(&c, fake_env);
	assert_int_equal(c.npaths, 2);
	assert_string_equal(c.paths[0], "/a");
	assert_string_equal(c.paths[1], "/b");
	assert_int_equal(c.ttl_ms, 250);
	assert_true(c.have_owner);
	assert_false(c.off);
	assert_true(c.autodetect);

	static const char *const e2[] = {"VBOXFIX_TTL_MS", "soon", "VBOXFIX_RETRY_MS", "-5", "VBOXFIX_STATS",
					 "yes", "VBOXFIX", "off", "VBOXFIX_LOG", "error", NULL};
	env_table = e2;
	vbf_config_load(&c, fake_env);
	assert_int_equal(c.ttl_ms, 1000);
	assert_int_equal(c.retry_ms, 2000);
	assert_int_equal(c.stats, 0);
	assert_true(c.off);
}

/* How many lines of `path` contain `needle`. */
static int count_lines(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	int n = 0;
	assert_non_null(f);
	while (fgets(line, sizeof line, f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* Each bad setting is named once, even several together; a long
 * VBOXFIX_PATHS gives one line that counts what was left out. */
static void t_warnings(void **s)
{
	fake_real_reset();
	char dir[] = "/tmp/vbf-unit-cfg.XXXXXX", log[64], paths[4096];
	assert_non_null(mkdtemp(dir));
	snprintf(log, sizeof log, "%s/log", dir);
	int n = snprintf(paths, sizeof paths, "rel:");
	for (int i = 0; i < 40; i++) /* 20 distinct, each twice */
		n += snprintf(paths + n, sizeof paths - (size_t)n, "/s/%d:", i % 20);
	static const char *e[] = {"VBOXFIX_PATHS", NULL, "VBOXFIX_TTL_MS", "soon", "VBOXFIX_RETRY_MS", "x",
				  "VBOXFIX_CACHE_MAX", "-1", "VBOXFIX_LOG_FILE", NULL, NULL};
	e[1] = paths;
	e[9] = log;
	env_table = e;
	struct vbf_config c;
	vbf_config_load(&c, fake_env);
	assert_int_equal(c.npaths, 16); /* the repeats took no slot */
	assert_string_equal(c.paths[15], "/s/15");
	assert_int_equal(count_lines(log, "VBOXFIX_PATHS"), 1);
	/* rel, then /s/16../s/19 twice each */
	assert_int_equal(count_lines(log, "VBOXFIX_PATHS: 9 entries ignored: 1 not absolute (first: 'rel'), "
					  "8 beyond the limit (first: '/s/16'); 16 shares used"),
			 1);
	assert_int_equal(count_lines(log, "VBOXFIX_TTL_MS=soon"), 1);
	assert_int_equal(count_lines(log, "VBOXFIX_RETRY_MS=x"), 1);
	assert_int_equal(count_lines(log, "VBOXFIX_CACHE_MAX=-1"), 1);
	unlink(log);
	rmdir(dir);
}

/* A log "file" that is a FIFO, a directory or a device: the load returns at
 * once (alarm: a hang fails the test), with one warning on stderr. */
static void t_log_file(void **s)
{
	fake_real_reset();
	char dir[] = "/tmp/vbf-unit-log.XXXXXX", fifo[64], err[64], missing[80];
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	snprintf(err, sizeof err, "%s/stderr", dir);
	snprintf(missing, sizeof missing, "%s/no/such/log", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	const char *targets[] = {fifo, dir, "/dev/zero", missing};
	const char *why[] = {"is not a regular file", "is not a regular file", "is not a regular file",
			     "cannot be opened (No such file or directory)"};
	for (int i = 0; i < 4; i++) {
		int efd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600), saved = dup(2);
		assert_true(efd >= 0 && saved >= 0);
		dup2(efd, 2);
		static const char *e[] = {"VBOXFIX_LOG_FILE", NULL, NULL};
		e[1] = targets[i];
		env_table = e;
		struct vbf_config c;
		alarm(5);
		vbf_config_load(&c, fake_env);
		vbf_log(VBF_WARN, "after");
		alarm(0);
		dup2(saved, 2);
		close(saved);
		close(efd);
		assert_int_equal(count_lines(err, why[i]), 1);
		assert_int_equal(count_lines(err, "after"), 1); /* still logging to stderr */
	}
	unlink(err);
	unlink(fifo);
	rmdir(dir);
}

/* The parsers the CLI shares (vboxfix --ttl, --log, user and group ids). */
static void t_shared_parsers(void **s)
{
	uint32_t id = 7;
	long v = 7;
	assert_int_equal(vbf_parse_id("4294967294", 10, &id), 0);
	assert_int_equal(id, 4294967294u);
	assert_int_equal(vbf_parse_id("4294967295", 10, &id), -1); /* (uid_t)-1 */
	assert_int_equal(vbf_parse_id("12x", 3, &id), -1);
	assert_int_equal(vbf_parse_id("12x", 2, &id), 0);
	assert_int_equal(id, 12);
	assert_int_equal(vbf_parse_id("", 0, &id), -1);
	errno = 1234;
	assert_int_equal(vbf_parse_long("99999999999999999999", 0, VBF_TTL_MS_MAX, &v), -1);
	assert_int_equal(errno, 1234);
	assert_int_equal(vbf_parse_long("86400001", 0, VBF_TTL_MS_MAX, &v), -1);
	assert_int_equal(vbf_parse_long("5ms", 0, VBF_TTL_MS_MAX, &v), -1);
	assert_int_equal(vbf_parse_long("", 0, VBF_TTL_MS_MAX, &v), -1);
	assert_int_equal(vbf_parse_long(NULL, 0, VBF_TTL_MS_MAX, &v), -1);
	assert_int_equal(v, 7);
	assert_int_equal(vbf_parse_long("86400000", 0, VBF_TTL_MS_MAX, &v), 0);
	assert_int_equal(v, VBF_TTL_MS_MAX);
	assert_int_equal(vbf_level_parse("debug"), VBF_DEBUG);
	assert_int_equal(vbf_level_parse(NULL), VBF_WARN);
	assert_int_equal(vbf_level_parse("loud"), -1);
	for (int i = 0; i <= VBF_DEBUG; i++)
		assert_int_equal(vbf_level_parse(vbf_level_names[i]), i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(t_owner), cmocka_unit_test(t_map), cmocka_unit_test(t_load),
					   cmocka_unit_test(t_warnings), cmocka_unit_test(t_log_file),
					   cmocka_unit_test(t_shared_parsers)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
