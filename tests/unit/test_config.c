/* config.c: VBOXFIX_* parsing; bad values warn and keep defaults. */
#include "config.h"
#include "fake_real.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(t_owner), cmocka_unit_test(t_map), cmocka_unit_test(t_load)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
