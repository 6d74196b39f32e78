/* SPDX-License-Identifier: MIT */
/* Unit tests run the core modules against this real-function table: every
 * entry starts as libc's own function (so a test may use a temp directory)
 * and a test swaps in fakes for what it wants to control. */
#ifndef FAKE_REAL_H
#define FAKE_REAL_H
#include "real.h"
#include <setjmp.h>
#include <cmocka.h>

/* Restore every entry to libc's function. Call in each test's setup. */
void fake_real_reset(void);

/* A scriptable fake filesystem for stat-based tests: entries are looked up
 * by the exact path string given to fstatat/stat/lstat. */
struct fake_node {
	const char *path;
	struct stat st;
	int err; /* when non-zero, the call fails with this errno */
};
void fake_fs_set(const struct fake_node *nodes, int n);
/* Install fake stat/lstat/fstatat/chown/chmod families that use fake_fs. */
void fake_fs_install(void);
/* Fake identity of the caller. */
void fake_ids(uid_t euid, gid_t egid, const gid_t *groups, int ngroups);

/* A real temporary directory made share 0 (a subtree share, recognised by
 * its path), its store kept in a state file outside it, and a run directory
 * of its own for redirected objects (VBOXFIX_RUNDIR). `root` receives its
 * canonical path. The configuration starts cleared with a 2000 ms retry
 * budget, and the retries' sleeps are counted, not slept: fake_slept ms in
 * fake_nslept sleeps. fake_share_drop (or, as a cmocka teardown,
 * fake_share_teardown) removes all three. */
void fake_share_make(char root[PATH_MAX]);
/* Share 0 is the existing directory `root`, nothing else set up. */
void fake_share_set(const char *root);
/* fake_real_reset, fake_share_make, and the library marked started. */
void fake_share_started(char root[PATH_MAX]);
void fake_share_drop(void);
int fake_share_teardown(void **state);
extern long fake_slept;
extern int fake_nslept;
/* The absolute path of `rel` in the share made last (a static buffer per
 * call slot: `slot` 0..3). */
const char *fake_share_path(int slot, const char *rel);
#endif
