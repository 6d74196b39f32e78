/* SPDX-License-Identifier: MIT */
/* Names a listing does not show (hidden.h). */
#include "hidden.h"
#include "config.h"
#include "real.h"
#include "shares.h"
#include "store.h"

/* Is the directory behind `d` the root of a share (or a bind mount of that
 * root), where the store keeps its files? */
static int dir_is_store_root(DIR *d)
{
	char path[PATH_MAX];
	if (vbf_fd_path(dirfd(d), path, sizeof path) < 0)
		return 0;
	for (int i = 0; i < vbf_nshares; i++)
		if (!vbf_shares[i].prefix[0] && !strcmp(vbf_shares[i].root, path))
			return 1;
	return 0;
}

int vbf_list_hides_rare(DIR *d, const char *name)
{
	/* a name kept by an unlink that waits for the last close here */
	if (unlikely(__atomic_load_n(&vbf_defer_nkept, __ATOMIC_RELAXED)) && vbf_defer_listed(dirfd(d), name))
		return 1;
	if (likely(!vbf_list_own_name(name)))
		return 0;
	/* a file unlinked while open here, waiting for its last close */
	if (vbf_defer_name(name))
		return vbf_ready() && vbf_defer_dir_on_share(dirfd(d));
	if (!vbf_store_name_internal(name) || !vbf_ready())
		return 0;
	int saved = errno;
	int r = dir_is_store_root(d);
	errno = saved;
	return r;
}
