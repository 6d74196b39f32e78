/* SPDX-License-Identifier: MIT */
/* Names a listing does not show: the state store's files at a share root (an
 * "empty" share must stay empty for `ls -A`, initdb and mysqld
 * --initialize, and `rm -rf` must not trip over or delete them), and files
 * unlinked while open here that wait for their last close (defer.h). */
#ifndef VBF_HIDDEN_H
#define VBF_HIDDEN_H

#include "defer.h"
#include "sys.h"

/* Can `name` be one of the library's own names? The common case of a
 * listing costs this one compare per entry; only such a name needs the
 * library started before vbf_list_hides answers. */
static inline int vbf_list_own_name(const char *name)
{
	return name[0] == '.' && name[1] == 'v';
}

/* The rare case of vbf_list_hides, out of line. */
int vbf_list_hides_rare(DIR *d, const char *name);

/* Is the entry `name` of the stream `d` hidden? Only a name the library
 * keeps asks the kernel for the directory's path (/proc/self/fd), never
 * the share. errno is left alone. */
static inline int vbf_list_hides(DIR *d, const char *name)
{
	if (likely(!__atomic_load_n(&vbf_defer_nkept, __ATOMIC_RELAXED) && !vbf_list_own_name(name)))
		return 0;
	return vbf_list_hides_rare(d, name);
}

#endif
