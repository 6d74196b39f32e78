/* SPDX-License-Identifier: MIT */
/* Directory listing: the names the library keeps are not there as programs
 * see a share (hidden.h).
 *
 * FIFOs and sockets a share refused live elsewhere (refuse_list.c); when the
 * real stream of a share directory ends they follow it, one entry a call;
 * dir_tail.c keeps where each stream is in them. */
#include "dir_tail.h"
#include "hidden.h"
#include "real.h"
#include "vbf.h"

/* The policy decides (hidden.c); the start-up, which only a wrapper may run,
 * first for a name that may be the library's own. */
static int hide(DIR *d, const char *name)
{
	if (unlikely(vbf_list_own_name(name)))
		(void)vbf_active();
	return vbf_list_hides(d, name);
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
