/* SPDX-License-Identifier: MIT */
/* A share name held by a redirected FIFO, socket or device node answers
 * every call as a local filesystem would (refuse.h, docs/refusals.md): the
 * share itself has nothing under that name, so without these checks the
 * name looks free (mkdir, symlink, link and a directory renamed onto it
 * succeed), a path through it is ENOENT instead of ENOTDIR, and a directory
 * holding only such objects is empty to rmdir.
 *
 * Every check here runs only on a share, and the lookups are local (the run
 * directory): when nothing was ever redirected their whole cost is one
 * lstat of the run directory. None of them sends a request to the share
 * except where an object was found.
 */
#include "refuse.h"
#include "log.h"
#include "real.h"
#include "config.h"
#include <sys/syscall.h>

int vbf_redirect_enoent_where(const struct vbf_where *w, int r, int dirfd, const char *path, int self_err)
{
	char obj[VBF_REDIRECT_CAP];
	if (r >= 0 || errno != ENOENT || !vbf_ready() || w->idx < 0 || !*path)
		return r;
	struct vbf_where rw;
	int e = ENOENT;
	if (self_err && vbf_redirect_lookup(w, obj) == 0)
		e = self_err;
	else if (vbf_redirect_below(w))
		e = ENOTDIR;
	else if (vbf_redirect_resolved(w, dirfd, path, 1, &rw) >= 0)
		e = self_err && vbf_redirect_lookup(&rw, obj) == 0 ? self_err : vbf_redirect_below(&rw) ? ENOTDIR : ENOENT;
	errno = e;
	return r;
}

int vbf_redirect_enoent(int r, int dirfd, const char *path, int self_err)
{
	struct vbf_where w;
	if (r >= 0 || errno != ENOENT || !vbf_ready() || vbf_where_name(dirfd, path, &w) < 0)
		return r;
	return vbf_redirect_enoent_where(&w, r, dirfd, path, self_err);
}

int vbf_redirect_taken(const struct vbf_where *w, int dirfd, const char *path)
{
	struct vbf_where t;
	if (!vbf_ready() || w->idx < 0 || !w->key || !*w->key)
		return 0;
	if (!vbf_redirect_found(w, dirfd, path ? path : "", 0, &t))
		return 0;
	errno = EEXIST;
	return 1;
}

int vbf_redirect_link(const struct vbf_where *wa, int fa, const char *a, int follow, const struct vbf_where *wb, int fb,
		      const char *b)
{
	char obj[VBF_REDIRECT_CAP], to[VBF_REDIRECT_CAP];
	struct vbf_where ta, tb;
	if (!(wa = vbf_redirect_found(wa, fa, a, follow, &ta)) || vbf_redirect_lookup(wa, obj) != 0) {
		errno = ENOENT;
		return -1;
	}
	wb = vbf_redirect_canon(wb, fb, b, 0, &tb);
	if (vbf_redirect_prepare(wb, fb, b, to) != 0)
		return -1;
	/* the local filesystem's own rules (protected_hardlinks) decide */
	if (REAL(link)(obj, to) != 0)
		return -1;
	vbf_redirect_index(to, wb, 1);
	vbf_count(VBF_C_EMULATED);
	return 0;
}

/* `w` with `name` appended to its key, in `out`. */
static int child(const struct vbf_where *w, const char *name, struct vbf_where *out)
{
	int n = snprintf(out->buf, sizeof out->buf, "%s%s%s", w->key, *w->key ? "/" : "", name);
	if (n < 0 || (size_t)n >= sizeof out->buf)
		return -1;
	out->idx = w->idx;
	out->key = out->buf;
	return 0;
}

#define MOVE_BATCH 16
#define MOVE_ROUNDS 16

void vbf_redirect_dir_moved(const struct vbf_where *wa, const struct vbf_where *wb)
{
	char dsp[VBF_PATH_CAP], names[MOVE_BATCH][NAME_MAX + 1];
	struct vbf_rundir rd;
	unsigned char type;
	uint64_t ino;
	int saved = errno, moved = 1;
	if (wa->idx < 0 || wa->idx != wb->idx || !wa->key || !wb->key || vbf_rundir_get(&rd) != 0 ||
	    vbf_share_path(wa, dsp, sizeof dsp) < 0)
		goto out;
	/* in batches, the names first: each move changes the index being
	 * read; a batch that moves nothing ends it */
	for (int round = 0; moved && round < MOVE_ROUNDS; round++) {
		struct vbf_list_pos pos = {0};
		int n = 0;
		vbf_redirect_dir_hashes(dsp, &pos.dh, &pos.ph);
		while (n < MOVE_BATCH && vbf_redirect_list_next(-1, &pos, names[n], &type, &ino))
			n++;
		moved = 0;
		for (int i = 0; i < n; i++) {
			struct vbf_where ca, cb;
			if (child(wa, names[i], &ca) == 0 && child(wb, names[i], &cb) == 0 && vbf_redirect_move(&ca, &cb) == 0)
				moved++;
		}
	}
out:
	errno = saved;
}

int vbf_redirect_dir_holds(const struct vbf_where *w)
{
	char dsp[VBF_PATH_CAP], name[NAME_MAX + 1];
	struct vbf_list_pos pos = {0};
	struct vbf_rundir rd;
	unsigned char type;
	uint64_t ino;
	int saved = errno, r = 0;
	if (w->idx >= 0 && w->key && vbf_rundir_get(&rd) == 0 && vbf_share_path(w, dsp, sizeof dsp) >= 0) {
		vbf_redirect_dir_hashes(dsp, &pos.dh, &pos.ph);
		/* no descriptor: a real entry of the same name would make the
		 * directory not empty anyway */
		r = vbf_redirect_list_next(-1, &pos, name, &type, &ino);
	}
	errno = saved;
	return r;
}

/* Are the 16 hex digits at s `h`? */
static int hex16(const char *s, uint64_t *h)
{
	uint64_t v = 0;
	for (int i = 0; i < 16; i++) {
		int c = s[i], d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*h = v;
	return s[16] ? -1 : 0;
}

static int same_inode(const char *p, const struct stat *st)
{
	struct stat ls;
	return vbf_redirect_lstat(p, &ls) == 0 && ls.st_dev == st->st_dev && ls.st_ino == st->st_ino;
}

/* Does entry dir/<h> (a real link, or a forward) put the object `st`
 * under a name? */
static int entry_of(const char *dir, const char *name, const struct stat *st)
{
	char p[VBF_REDIRECT_CAP + 20], t[VBF_REDIRECT_CAP], odir[VBF_REDIRECT_CAP], obj[VBF_REDIRECT_CAP];
	struct vbf_rd_id id;
	if (snprintf(p, sizeof p, "%s/%.16s", dir, name) >= (int)sizeof p)
		return 0;
	if (same_inode(p, st))
		return 1;
	ssize_t n = REAL(readlink)(p, t, sizeof t - 1);
	return n > 3 && !memcmp(t, "../", 3) && vbf_redirect_parse_id(t + 3, (size_t)n - 3, &id) == 0 &&
	       snprintf(odir, sizeof odir, "%s/u%u", vbf_redirect_base(), id.uid) < (int)sizeof odir &&
	       vbf_redirect_where_id(odir, &id, obj) == 0 && same_inode(obj, st);
}

int vbf_redirect_names(const struct stat *st)
{
	char dirs[8][VBF_REDIRECT_CAP], obj[VBF_REDIRECT_CAP], ent[VBF_REDIRECT_CAP];
	char buf[2048] __attribute__((aligned(8)));
	uint64_t names[VBF_KILLS_MAX];
	int nn = 0, saved = errno;
	if (st->st_nlink < 2 || !vbf_redirect_is_object(st))
		return 0;
	int nd = vbf_redirect_dirs(dirs, 8);
	for (int i = 0; i < nd; i++) {
		/* raw: getdents64 has no wrapper before glibc 2.30 */
		long fd = vbf_raw_syscall(SYS_openat, AT_FDCWD, (long)dirs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
					  0, 0, 0);
		long n;
		while (fd >= 0 && (n = vbf_raw_syscall(SYS_getdents64, fd, (long)buf, sizeof buf, 0, 0, 0)) > 0)
			for (long off = 0; off < n;) {
				struct linux_dirent64_hdr *e = (void *)(buf + off);
				uint64_t h;
				int dup = 0;
				off += e->reclen;
				if (hex16(e->name, &h) || nn >= VBF_KILLS_MAX)
					continue;
				for (int j = 0; j < nn && !dup; j++)
					dup = names[j] == h;
				/* a name that leads to this object, lists of names
				 * given up and all */
				if (!dup && entry_of(dirs[i], e->name, st) && vbf_redirect_find2(h, obj, ent) == 0 &&
				    same_inode(obj, st))
					names[nn++] = h;
			}
		if (fd >= 0)
			vbf_raw_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
	}
	errno = saved;
	return nn;
}
