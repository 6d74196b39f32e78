/* SPDX-License-Identifier: MIT */
#include "fake_real.h"
#include "config.h"
#include "retry.h"
#include "shares.h"
#include "store.h"

struct vbf_real vbf_real;
int vbf_real_ready = 1;
void vbf_real_init(void) {}
void *vbf_real_slow(void **slot) { return *slot; }
static int f_ids_on;
static uid_t f_euid;

long vbf_raw_syscall(long n, long a, long b, long c, long d, long e, long f)
{
	/* capget under fake ids: a fake root has every capability, others none */
	if (n == SYS_capget && f_ids_on && vbf_real.geteuid != geteuid) {
		uint32_t *data = (uint32_t *)b;
		memset(data, 0, 6 * sizeof *data);
		data[0] = data[1] = f_euid == 0 ? 0xffffffffu : 0;
		return 0;
	}
	return syscall(n, a, b, c, d, e, f);
}

/* Before any constructor of the code under test (vbf.c's boots the library
 * and calls through this table). */
__attribute__((constructor(101))) static void fake_real_init(void) { fake_real_reset(); }

/* Weak references: a listed function no libc has (fchmodat2) starts NULL,
 * as the library's table would without its fallback. */
#define FAKE_PRAGMA(x) _Pragma(#x)
#define VBF_SYM(ret, name, params, fallback) FAKE_PRAGMA(weak name)
#define VBF_OS VBF_SYM
#include "symbols.def"
#undef VBF_SYM
#undef VBF_OS

void fake_real_reset(void)
{
	memset(&vbf_real, 0, sizeof vbf_real);
#define VBF_SYM(ret, name, params, fallback) vbf_real.name = (ret(*) params)name;
#define VBF_OS VBF_SYM
#include "symbols.def"
#undef VBF_SYM
#undef VBF_OS
}

static const struct fake_node *nodes;
static int nnodes;
static gid_t f_egid;
static gid_t f_groups[32];
static int f_ngroups;

void fake_fs_set(const struct fake_node *n, int count)
{
	nodes = n;
	nnodes = count;
}

static const struct fake_node *find(const char *p)
{
	for (int i = 0; i < nnodes; i++)
		if (!strcmp(nodes[i].path, p))
			return &nodes[i];
	return NULL;
}

static int f_fstatat(int d, const char *p, struct stat *st, int fl)
{
	const struct fake_node *n = find(p);
	if (!n) {
		errno = ENOENT;
		return -1;
	}
	if (n->err) {
		errno = n->err;
		return -1;
	}
	*st = n->st;
	return 0;
}
static int f_stat(const char *p, struct stat *st) { return f_fstatat(AT_FDCWD, p, st, 0); }
static int f_lstat(const char *p, struct stat *st) { return f_fstatat(AT_FDCWD, p, st, AT_SYMLINK_NOFOLLOW); }
static uid_t f_geteuid(void) { return f_euid; }
static gid_t f_getegid(void) { return f_egid; }
static int f_getgroups(int n, gid_t *l)
{
	if (n == 0)
		return f_ngroups;
	if (f_ngroups)
		memcpy(l, f_groups, sizeof(gid_t) * (size_t)f_ngroups);
	return f_ngroups;
}

/* The fake names exist for the stat family only: the library's own walk
 * (shim/policy/resolve.c) finds no descriptor to open and makes the plain call. */
static int f_openat(int d, const char *p, int fl, ...)
{
	(void)d, (void)p, (void)fl;
	errno = EMFILE;
	return -1;
}

void fake_fs_install(void)
{
	vbf_real.openat = f_openat;
	vbf_real.fstatat = f_fstatat;
	vbf_real.stat = f_stat;
	vbf_real.lstat = f_lstat;
}

void fake_ids(uid_t euid, gid_t egid, const gid_t *groups, int ngroups)
{
	f_euid = euid;
	f_ids_on = 1;
	f_egid = egid;
	f_ngroups = ngroups;
	if (ngroups)
		memcpy(f_groups, groups, sizeof(gid_t) * (size_t)ngroups);
	vbf_real.geteuid = f_geteuid;
	vbf_real.getuid = f_geteuid;
	vbf_real.getegid = f_getegid;
	vbf_real.getgid = f_getegid;
	vbf_real.getgroups = f_getgroups;
}
