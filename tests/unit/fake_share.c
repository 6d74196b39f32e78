/* SPDX-License-Identifier: MIT */
/* A temporary directory made share 0 for the unit tests that need a real
 * filesystem under the fake table (fake_real.h). Kept apart from
 * fake_real.c so that the fuzz builds, which link only the modules they
 * test, need neither the store nor cmocka. */
#include "fake_real.h"
#include "config.h"
#include "retry.h"
#include "shares.h"
#include "store.h"

static char share_root[PATH_MAX], share_state[PATH_MAX + 8], share_rundir[64];
long fake_slept;
int fake_nslept;

static void count_sleep(long ms)
{
	fake_slept += ms;
	fake_nslept++;
}

void fake_share_set(const char *root)
{
	struct stat st;
	assert_int_equal(stat(root, &st), 0);
	memset(vbf_shares, 0, sizeof vbf_shares);
	snprintf(vbf_shares[0].root, sizeof vbf_shares[0].root, "%s", root);
	vbf_shares[0].len = strlen(root);
	vbf_shares[0].dev = st.st_dev;
	vbf_nshares = 1;
}

void fake_share_started(char root[PATH_MAX])
{
	fake_real_reset();
	fake_share_make(root);
	/* started, with shares: the steps a started library takes run */
	vbf_boot_state = 2;
	vbf_on = 1;
}

void fake_share_make(char root[PATH_MAX])
{
	char tmpl[] = "/tmp/vbf-unit-share.XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	assert_non_null(realpath(tmpl, share_root));
	fake_share_set(share_root);
	snprintf(share_state, sizeof share_state, "%s.state", share_root);
	unlink(share_state);
	vbf_store_open(0, share_root, share_state);
	assert_true(strlen(share_root) < 58); /* VBOXFIX_RUNDIR is shorter than 64 */
	snprintf(share_rundir, sizeof share_rundir, "%.58s.run", share_root);
	setenv("VBOXFIX_RUNDIR", share_rundir, 1);
	memset(&vbf_cfg, 0, sizeof vbf_cfg);
	vbf_cfg.retry_ms = 2000;
	vbf_refuse_sleep = count_sleep;
	fake_slept = fake_nslept = 0;
	memcpy(root, share_root, PATH_MAX);
}

void fake_share_drop(void)
{
	char cmd[4 * PATH_MAX];
	vbf_store_close(0);
	vbf_nshares = 0;
	unsetenv("VBOXFIX_RUNDIR");
	snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s.lock' '%s'", share_root, share_state, share_state, share_rundir);
	assert_int_equal(system(cmd), 0);
}

int fake_share_teardown(void **state)
{
	fake_share_drop();
	return 0;
}

const char *fake_share_path(int slot, const char *rel)
{
	static char out[4][2 * PATH_MAX];
	snprintf(out[slot & 3], sizeof out[0], "%s/%s", share_root, rel);
	return out[slot & 3];
}
