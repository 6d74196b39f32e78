/* SPDX-License-Identifier: MIT */
/* Redirected FIFOs and sockets in directory listings (refuse.h: the index).
 * `ls -l datadir` must show mysql.sock; the object's local name is a hash,
 * so its directory and name are recorded beside it when it is made:
 *
 *   BASE/u<uid>/l<hash of the share directory>/<name> -> ../<hash>
 *
 * The index is in the creator's subdirectory, like the object, so only that
 * uid (or root) can add to it. It is a hint, never the truth: a listing shows
 * a name only when the lookup every stat makes finds its object, and finds
 * it in the subdirectory whose index proposed it (so a name is listed once
 * and is the object a stat of it shows). Everything here uses raw getdents
 * and no allocation: it runs inside readdir.
 */
#include "refuse.h"
#include "real.h"

/* the object's directory (at most VBF_REDIRECT_CAP), /l<16 hex>/<name> */
#define IDX_CAP (VBF_REDIRECT_CAP + 20 + NAME_MAX + 2)

/* The directory part of share path `sp`: what the directory's own share
 * path is ("/x" lies in "/", not in ""). */
static uint64_t dir_hash(const char *sp, const char *slash)
{
	if (slash == sp)
		return vbf_redirect_hash("/");
	return vbf_redirect_hash_n(VBF_FNV_INIT, sp, (size_t)(slash - sp));
}

int vbf_redirect_index_name(const char *local, const char *sp, char *out, size_t cap, size_t *dirlen)
{
	const char *ls = strrchr(local, '/'), *ss = strrchr(sp, '/');
	if (!ls || !ss || !ss[1])
		return -1;
	int n = snprintf(out, cap, "%.*s/l%016llx", (int)(ls - local), local,
			 (unsigned long long)dir_hash(sp, ss));
	if (n < 0 || (size_t)n >= cap)
		return -1;
	*dirlen = (size_t)n;
	int m = snprintf(out + n, cap - (size_t)n, "%s", ss);
	return m < 0 || (size_t)m >= cap - (size_t)n ? -1 : n + m;
}

void vbf_redirect_dir_hashes(const char *dsp, uint64_t *dh, uint64_t *ph)
{
	*dh = vbf_redirect_hash(dsp);
	/* the objects of "/" are "/name", of "/a" they are "/a/name" */
	*ph = vbf_redirect_hash_n(strcmp(dsp, "/") ? *dh : VBF_FNV_INIT, "/", 1);
}

void vbf_redirect_index(const char *local, const struct vbf_where *w, int add)
{
	char sp[VBF_PATH_CAP], idx[IDX_CAP];
	size_t dl;
	int saved = errno;
	if (vbf_share_path(w, sp, sizeof sp) < 0 || vbf_redirect_index_name(local, sp, idx, sizeof idx, &dl) < 0)
		goto out;
	if (add) {
		char target[32];
		snprintf(target, sizeof target, "..%s", strrchr(local, '/'));
		/* twice: a concurrent drop of the last entry may remove the
		 * directory between our mkdir and our symlink */
		for (int tries = 0; tries < 2; tries++) {
			if (REAL(symlink)(target, idx) == 0 || errno != ENOENT)
				break;
			idx[dl] = 0;
			int r = vbf_redirect_mkdir(idx, 0755);
			idx[dl] = '/';
			if (r != 0)
				break;
		}
	} else {
		REAL(unlinkat)(AT_FDCWD, idx, 0);
		idx[dl] = 0;
		/* no empty index directory left behind; ENOTEMPTY is the usual answer */
		REAL(unlinkat)(AT_FDCWD, idx, AT_REMOVEDIR);
	}
out:
	errno = saved;
}

int vbf_redirect_list_begin(int fd, struct vbf_list_pos *pos)
{
	char dsp[VBF_PATH_CAP];
	struct vbf_where w;
	struct vbf_rundir rd;
	int saved = errno, r = -1;
	/* nothing was ever redirected: this lstat is the whole cost (a base
	 * that is not a directory may still mean objects in the fallback).
	 * The descriptor is one the library opened on a share, whose real
	 * stream has just ended: a directory, named by /proc. No fstat: on a
	 * share it is a request for every listing, and the index is only a
	 * hint (listable() checks each name it proposes). */
	if (vbf_rundir_get(&rd) == 0 && vbf_where_name(fd, "", &w) >= 0 && w.key &&
	    vbf_share_path(&w, dsp, sizeof dsp) >= 0) {
		vbf_redirect_dir_hashes(dsp, &pos->dh, &pos->ph);
		pos->off = 0;
		pos->ui = 0;
		r = 0;
	}
	errno = saved;
	return r;
}

static int is_dot(const char *n) { return n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2])); }

/* Should `name`, proposed by the index of owner subdirectory `own`, be
 * listed in the directory `fd`? */
static int listable(int fd, const struct vbf_list_pos *pos, const char *own, const char *name, unsigned char *type,
		  uint64_t *ino)
{
	char obj[VBF_REDIRECT_CAP], ent[VBF_REDIRECT_CAP];
	struct stat st;
	size_t ol = strlen(own);
	if (is_dot(name) || vbf_redirect_find2(vbf_redirect_hash_n(pos->ph, name, (size_t)-1), obj, ent) != 0)
		return 0;
	/* another owner's entry wins the lookup: that owner's index lists it
	 * (an entry may be a forward to another owner's object) */
	if (strncmp(ent, own, ol) || ent[ol] != '/' || strchr(ent + ol + 1, '/'))
		return 0;
	if (vbf_redirect_lstat(obj, &st) != 0 || !vbf_redirect_is_object(&st))
		return 0;
	struct stat real;
	/* a real entry of that name was listed already and hides the object */
	if (REAL(fstatat)(fd, name, &real, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	*type = S_ISFIFO(st.st_mode) ? DT_FIFO : S_ISSOCK(st.st_mode) ? DT_SOCK : S_ISCHR(st.st_mode) ? DT_CHR : DT_BLK;
	*ino = (uint64_t)st.st_ino;
	return 1;
}

/* The next accepted entry of the index of owner subdirectory `own`, from
 * pos->off on; pos->off is left after what was read. */
static int next_in(int fd, struct vbf_list_pos *pos, const char *own, char *name, unsigned char *type,
		   uint64_t *ino)
{
	char idx[IDX_CAP];
	char d[2048] __attribute__((aligned(8)));
	long n;
	int found = 0;
	snprintf(idx, sizeof idx, "%s/l%016llx", own, (unsigned long long)pos->dh);
	/* raw: getdents64 has no wrapper before glibc 2.30, and opendir would
	 * allocate inside readdir; its descriptor and seek go with it */
	long xfd = vbf_raw_syscall(SYS_openat, AT_FDCWD, (long)idx, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0,
				   0, 0);
	if (xfd < 0)
		return 0;
	if (pos->off && vbf_raw_syscall(SYS_lseek, xfd, (long)pos->off, SEEK_SET, 0, 0, 0) < 0) {
		vbf_raw_syscall(SYS_close, xfd, 0, 0, 0, 0, 0);
		return 0;
	}
	while (!found && (n = vbf_raw_syscall(SYS_getdents64, xfd, (long)d, sizeof d, 0, 0, 0)) > 0) {
		for (long off = 0; off < n && !found;) {
			struct linux_dirent64_hdr *e = (void *)(d + off);
			off += e->reclen;
			pos->off = e->off;
			if (listable(fd, pos, own, e->name, type, ino)) {
				/* a kernel name fits NAME_MAX; bounded anyway */
				size_t l = strnlen(e->name, NAME_MAX);
				memcpy(name, e->name, l);
				name[l] = 0;
				found = 1;
			}
		}
	}
	vbf_raw_syscall(SYS_close, xfd, 0, 0, 0, 0, 0);
	return found;
}

int vbf_redirect_list_next(int fd, struct vbf_list_pos *pos, char name[NAME_MAX + 1], unsigned char *type,
			   uint64_t *ino)
{
	struct vbf_rundir rd;
	char d[2048] __attribute__((aligned(8)));
	char own[VBF_REDIRECT_CAP], mine[16];
	int saved = errno, found = 0, ui = 0, bad_own = 0;
	long n;
	if (vbf_rundir_get(&rd) != 0) {
		errno = saved;
		return 0;
	}
	snprintf(mine, sizeof mine, "u%u", rd.me);
	/* raw, as in next_in(): every owner subdirectory the lookup would read, in the base
	 * directory's order; pos->ui counts the ones already read to their end */
	long bfd = rd.own || rd.others != VBF_RD_NONE
			   ? vbf_raw_syscall(SYS_openat, AT_FDCWD, (long)rd.base,
					     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0, 0, 0)
			   : -1;
	while (bfd >= 0 && !found && (n = vbf_raw_syscall(SYS_getdents64, bfd, (long)d, sizeof d, 0, 0, 0)) > 0) {
		for (long off = 0; off < n && !found;) {
			struct linux_dirent64_hdr *e = (void *)(d + off);
			unsigned int uid;
			off += e->reclen;
			if (!vbf_redirect_owner_dir(rd.base, e->name, &uid)) {
				if (!strcmp(e->name, mine))
					bad_own = 1;
				continue;
			}
			if (!vbf_rundir_scans(&rd, uid) || ui++ < pos->ui)
				continue;
			snprintf(own, sizeof own, "%s/%s", rd.base, e->name);
			if (!(found = next_in(fd, pos, own, name, type, ino))) {
				pos->ui = ui;
				pos->off = 0;
			}
		}
	}
	if (bfd >= 0)
		vbf_raw_syscall(SYS_close, bfd, 0, 0, 0, 0, 0);
	/* last, this uid's fallback, where the lookup would look for its own
	 * objects (refuse_redirect.c) */
	if (!found && (!rd.own || bad_own) && ui++ >= pos->ui &&
	    vbf_redirect_fallback(rd.base, rd.me, own, sizeof own) > 0) {
		size_t l = strlen(own);
		snprintf(own + l, sizeof own - l, "/%s", mine);
		if (!(found = next_in(fd, pos, own, name, type, ino))) {
			pos->ui = ui;
			pos->off = 0;
		}
	}
	errno = saved;
	return found;
}
