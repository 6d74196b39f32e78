/* SPDX-License-Identifier: MIT */
/* env.c: what a child's environment gets back; vbf.c: secure mode makes the
 * library inert (getauxval faked through the real table). */
#include "env.h"
#include "fake_real.h"
#include "vbf.h"
#include <sys/wait.h>

static struct vbf_envsave s;
static char *slots[64];
static char pre[VBF_ENV_PRELOAD_CAP];
#define LIB "/usr/lib/libvboxfix.so"

static void capture(void)
{
	char *start[] = {"PATH=/bin", "LD_PRELOAD=" LIB, "VBOXFIX_PATHS=/data", "VBOXFIX_OWNER=999:999",
			 "VBOXFIXNOT=1", "VBOXFIX_=x", NULL};
	vbf_env_capture(&s, start, LIB);
}

static int count(char *const *e)
{
	int n = 0;
	while (e && e[n])
		n++;
	return n;
}

static const char *get(char *const *e, const char *name)
{
	size_t n = strlen(name);
	for (; e && *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

static void t_capture(void **st)
{
	capture();
	assert_true(s.active);
	assert_true(s.preload);
	assert_string_equal(s.base, "libvboxfix.so");
	assert_int_equal(s.nvars, 2); /* VBOXFIXNOT and a bare VBOXFIX_ are not settings */
	assert_string_equal(s.vars[0], "VBOXFIX_PATHS=/data");
}

static void t_empty_env(void **st)
{
	capture();
	char *const *e = vbf_env_fix(&s, NULL, slots, 64, pre, sizeof pre);
	assert_int_equal(count(e), 3);
	assert_string_equal(get(e, "LD_PRELOAD"), LIB);
	assert_string_equal(get(e, "VBOXFIX_PATHS"), "/data");
	assert_string_equal(get(e, "VBOXFIX_OWNER"), "999:999");
}

static void t_replaced_preload(void **st)
{
	capture();
	char *env[] = {"HOME=/", "LD_PRELOAD=/usr/lib/libnss_wrapper.so", "VBOXFIX_OWNER=1:1", NULL};
	char *const *e = vbf_env_fix(&s, env, slots, 64, pre, sizeof pre);
	assert_string_equal(get(e, "LD_PRELOAD"), LIB " /usr/lib/libnss_wrapper.so");
	assert_string_equal(get(e, "VBOXFIX_OWNER"), "1:1"); /* the child's own value stays */
	assert_string_equal(get(e, "VBOXFIX_PATHS"), "/data");
	assert_int_equal(count(e), 4);
}

static void t_unchanged(void **st)
{
	capture();
	char *env[] = {"LD_PRELOAD=/other/path/libvboxfix.so:/x.so", "VBOXFIX_PATHS=/d", "VBOXFIX_OWNER=1", NULL};
	assert_ptr_equal(vbf_env_fix(&s, env, slots, 64, pre, sizeof pre), env);
}

static void t_off(void **st)
{
	capture();
	char *env[] = {"VBOXFIX=off", NULL};
	assert_ptr_equal(vbf_env_fix(&s, env, slots, 64, pre, sizeof pre), env);
	s.active = 0;
	char *env2[] = {NULL};
	assert_ptr_equal(vbf_env_fix(&s, env2, slots, 64, pre, sizeof pre), env2);
}

static void t_does_not_fit(void **st)
{
	capture();
	char *env[] = {"A=1", "B=2", NULL};
	assert_ptr_equal(vbf_env_fix(&s, env, slots, 4, pre, sizeof pre), env); /* 2 + 3 + NULL > 4 */
	char tiny[8];
	char *env2[] = {"VBOXFIX_PATHS=/d", "VBOXFIX_OWNER=1", NULL};
	assert_ptr_equal(vbf_env_fix(&s, env2, slots, 64, tiny, sizeof tiny), env2);
}

static void t_duplicate_preload(void **st)
{
	capture();
	char *env[] = {"LD_PRELOAD=" LIB, "LD_PRELOAD=/a.so", "VBOXFIX_PATHS=/d", "VBOXFIX_OWNER=1", NULL};
	char *const *e = vbf_env_fix(&s, env, slots, 64, pre, sizeof pre);
	int n = 0;
	for (char *const *p = e; *p; p++)
		n += !strncmp(*p, "LD_PRELOAD=", 11);
	assert_int_equal(n, 1);
	assert_string_equal(get(e, "LD_PRELOAD"), LIB " /a.so");
}

static void t_not_from_ld_preload(void **st)
{
	/* loaded from /etc/ld.so.preload: children get it without our help */
	char *start[] = {"VBOXFIX_PATHS=/data", NULL};
	vbf_env_capture(&s, start, LIB);
	assert_false(s.preload);
	char *env[] = {NULL};
	char *const *e = vbf_env_fix(&s, env, slots, 64, pre, sizeof pre);
	assert_null(get(e, "LD_PRELOAD"));
	assert_string_equal(get(e, "VBOXFIX_PATHS"), "/data");
}

static void t_preload_has(void **st)
{
	assert_true(vbf_env_preload_has(LIB, LIB, "libvboxfix.so"));
	assert_true(vbf_env_preload_has("  /a.so:" LIB " ", LIB, "libvboxfix.so"));
	assert_true(vbf_env_preload_has("libvboxfix.so", LIB, "libvboxfix.so"));
	assert_false(vbf_env_preload_has("/usr/lib/notlibvboxfix.so", LIB, "libvboxfix.so"));
	assert_false(vbf_env_preload_has("/usr/lib/libvboxfix.so.bak", LIB, "libvboxfix.so"));
	assert_false(vbf_env_preload_has("", LIB, "libvboxfix.so"));
}

/* vbf.o's constructor boots before main: give it libc's table first. */
__attribute__((constructor(101))) static void early(void) { fake_real_reset(); }

static unsigned long fake_auxval_secure(unsigned long t) { return t == AT_SECURE; }

/* vbf_boot runs once per process: each case runs in a child that forgets
 * the constructor's start-up. */
static void t_secure_is_inert(void **st)
{
	pid_t pid = fork();
	if (pid == 0) {
		fake_real_reset();
		vbf_real.getauxval = fake_auxval_secure;
		setenv("VBOXFIX_PATHS", "/tmp", 1);
		vbf_boot_state = 0;
		memset(&vbf_envsave, 0, sizeof vbf_envsave);
		vbf_boot();
		_exit(vbf_boot_state == 2 && !vbf_on && !vbf_envsave.active && vbf_secure() ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void t_not_secure_is_active(void **st)
{
	pid_t pid = fork();
	if (pid == 0) {
		fake_real_reset();
		setenv("VBOXFIX_PATHS", "/tmp", 1);
		vbf_boot_state = 0;
		memset(&vbf_envsave, 0, sizeof vbf_envsave);
		vbf_boot();
		_exit(vbf_boot_state == 2 && vbf_on && vbf_envsave.active && !vbf_secure() ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* clearenv's policy: the settings and LD_PRELOAD come back, errno kept. */
static void t_put_back(void **st)
{
	char *start[] = {"LD_PRELOAD=" LIB, "VBOXFIX_PATHS=/data", "VBOXFIX_OWNER=999:999", NULL};
	vbf_env_capture(&vbf_envsave, start, LIB);
	assert_int_equal(clearenv(), 0);
	errno = EXDEV;
	vbf_env_put_back();
	assert_int_equal(errno, EXDEV);
	assert_string_equal(getenv("LD_PRELOAD"), LIB);
	assert_string_equal(getenv("VBOXFIX_PATHS"), "/data");
	assert_string_equal(getenv("VBOXFIX_OWNER"), "999:999");
	assert_null(getenv("PATH"));
	/* off: nothing put back */
	assert_int_equal(clearenv(), 0);
	vbf_envsave.active = 0;
	vbf_env_put_back();
	assert_null(getenv("VBOXFIX_PATHS"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_capture),          cmocka_unit_test(t_empty_env),
		cmocka_unit_test(t_replaced_preload), cmocka_unit_test(t_unchanged),
		cmocka_unit_test(t_off),              cmocka_unit_test(t_does_not_fit),
		cmocka_unit_test(t_duplicate_preload), cmocka_unit_test(t_not_from_ld_preload),
		cmocka_unit_test(t_preload_has),      cmocka_unit_test(t_secure_is_inert),
		cmocka_unit_test(t_not_secure_is_active), cmocka_unit_test(t_put_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
