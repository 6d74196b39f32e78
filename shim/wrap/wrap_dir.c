/* SPDX-License-Identifier: MIT */
/* Directory listing: the state store's files are not there as programs see
 * a share root. An "empty" share must stay empty for `ls -A`, initdb and
 * mysqld --initialize, and `rm -rf` must not trip over (or delete) it.
 *
 * The common case costs one byte compare per entry; only an entry that has
 * the store's name asks whether its directory is a share root, and that
 * asks the kernel for the directory's path (/proc/self/fd), not the share.
 *
 * FIFOs and sockets a share refused live elsewhere (refuse_list.c); when the
 * real stream of a share directory ends they follow it, one entry a call;
 * dir_tail.c keeps where each stream is in them. */
#include "defer.h"
#include "dir_tail.h"
#include "real.h"
#include "shares.h"
#include "store.h"
#include "vbf.h"

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

static int hide(DIR *d, const char *name)
{
	/* a name kept by an unlink that waits for the last close here */
	if (unlikely(__atomic_load_n(&vbf_defer_nkept, __ATOMIC_RELAXED)) && vbf_defer_listed(dirfd(d), name))
		return 1;
	if (likely(name[0] != '.' || name[1] != 'v'))
		return 0;
	/* a file unlinked while open here, waiting for its last close */
	if (vbf_defer_name(name))
		return vbf_active() && vbf_defer_dir_on_share(dirfd(d));
	if (!vbf_store_name_internal(name) || !vbf_active())
		return 0;
	int saved = errno;
	int r = dir_is_store_root(d);
	errno = saved;
	return r;
}

#define FILL(ent, t)                                                                               \
	do {                                                                                       \
		size_t len_ = strlen((t)->name);                                                   \
		(ent)->d_ino = (t)->ino;                                                           \
		(ent)->d_off = 0;                                                                  \
		(ent)->d_reclen = (unsigned short)((offsetof(__typeof__(*(ent)), d_name) + len_ + 8) & ~(size_t)7); \
		(ent)->d_type = (t)->type;                                                         \
		memcpy((ent)->d_name, (t)->name, len_ + 1);                                        \
	} while (0)

/* The four listing calls, alike but for the entry type: the real entries
 * without hidden names, then the redirected FIFOs and sockets. */
#define READDIR_WRAPPER(type, name, member)                                             \
	VBF_EXPORT type *name(DIR *d)                                                   \
	{                                                                               \
		type *e;                                                                \
		int saved = errno;                                                      \
		errno = 0; /* an end and an error both answer NULL: only errno tells */ \
		while ((e = REAL(name)(d)) && hide(d, e->d_name))                       \
			;                                                               \
		if (likely(e != NULL) || errno) {                                       \
			if (e)                                                          \
				errno = saved;                                          \
			return e;                                                       \
		}                                                                       \
		errno = saved;                                                          \
		struct vbf_tail *t = vbf_tail_next(d);                                  \
		if (!t)                                                                 \
			return NULL;                                                    \
		FILL(&t->out.member, t);                                                \
		return &t->out.member;                                                  \
	}

#define READDIR_R_WRAPPER(type, name)                                                   \
	VBF_EXPORT int name(DIR *d, type *buf, type **res)                              \
	{                                                                               \
		int r;                                                                  \
		while (!(r = REAL(name)(d, buf, res)) && *res && hide(d, (*res)->d_name)) \
			;                                                               \
		struct vbf_tail *t;                                                     \
		if (!r && !*res && (t = vbf_tail_next(d))) {                            \
			FILL(buf, t);                                                   \
			*res = buf;                                                     \
		}                                                                       \
		return r;                                                               \
	}

READDIR_WRAPPER(struct dirent, readdir, e)
READDIR_R_WRAPPER(struct dirent, readdir_r)
#if VBF_GLIBC
READDIR_WRAPPER(struct dirent64, readdir64, e64)
READDIR_R_WRAPPER(struct dirent64, readdir64_r)
#endif

VBF_EXPORT void rewinddir(DIR *d)
{
	vbf_tail_reset(d, 0);
	REAL(rewinddir)(d);
}

VBF_EXPORT void seekdir(DIR *d, long pos)
{
	REAL(seekdir)(d, pos);
	vbf_tail_reset(d, 1);
}
