/* SPDX-License-Identifier: MIT */
/* FIFOs and AF_UNIX sockets on a share: vboxsf has no mknod, and bind()
 * of a socket path goes through mknod. The object is made in a local
 * directory instead, under a name derived from the share path alone, so a
 * process that never saw the mkfifo or bind (a client connecting to a
 * server's socket) finds it the same way: no shared table, no placeholder
 * on the share (that would need the mknod the share refuses).
 *
 *   BASE/u<uid>/<hash>    BASE = VBOXFIX_RUNDIR or /tmp/.vboxfix
 *
 * One subdirectory per creating uid, owned by it and 0755: nobody can put
 * an object under another user's name. The whole name stays far below the
 * 108 bytes of sun_path. Names are of the lexical share path: a FIFO
 * reached through a symlink inside the share is a different name
 * (docs/refusals.md).
 *
 * Who may change what a name leads to decides what is used. A directory
 * that others cannot write (or that is sticky) lets only its owner, the
 * owner of an entry and root rename entries, so:
 *
 *   BASE          used for one's own u<uid> only when owned by root or by
 *                 the caller, and either sticky or not writable by others;
 *                 made 01777 by root, 0755 by anyone else
 *   BASE/u<uid>   used only when owned by that uid, a directory (not a
 *                 symlink) and not writable by group or others
 *   BASE-<uid>    the caller's fallback when BASE or its own u<uid> there
 *                 is someone else's: 0700, with the same u<uid> inside
 *
 * Another user's u<V> is used only in a BASE owned by root or the caller,
 * or when V owns BASE itself (a service user that made the base first):
 * the owner of a sticky base can rename anything in it, so its other
 * subdirectories could be swapped after the check. Once these checks pass
 * nobody but root and the owners named can change the path, so checking
 * with lstat and then using the name is sound; creation checks the
 * directory it made through a descriptor (O_NOFOLLOW), not by name.
 */
#include "refuse.h"
#include "log.h"
#include "own.h"
#include "real.h"
#include "vbf.h"

#define DEFAULT_BASE "/tmp/.vboxfix"
#define BASE_MAX VBF_REDIRECT_BASE_MAX

uint64_t vbf_redirect_hash_n(uint64_t h, const char *s, size_t n)
{
	for (; n && *s; s++, n--) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

uint64_t vbf_redirect_hash(const char *s) { return vbf_redirect_hash_n(VBF_FNV_INIT, s, (size_t)-1); }

int vbf_redirect_hname(const char *base, unsigned int uid, uint64_t h, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/u%u/%016llx", base, uid, (unsigned long long)h);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int vbf_redirect_name(const char *base, unsigned int uid, const char *share_path, char *out, size_t cap)
{
	return vbf_redirect_hname(base, uid, vbf_redirect_hash(share_path), out, cap);
}

int vbf_redirect_base_ok(const char *b)
{
	size_t n = b ? strlen(b) : 0;
	if (n < 2 || n >= BASE_MAX || b[0] != '/' || b[n - 1] == '/')
		return 0;
	/* a "." or ".." component would put the fallback BASE-<uid> inside
	 * another directory than BASE's parent */
	for (const char *p = b; (p = strchr(p, '/')); p++) {
		size_t k = strcspn(p + 1, "/");
		if ((k == 1 && p[1] == '.') || (k == 2 && p[1] == '.' && p[2] == '.'))
			return 0;
	}
	return 1;
}

const char *vbf_redirect_base(void)
{
	/* read where it is used: set once per container, never by programs */
	const char *b = getenv("VBOXFIX_RUNDIR");
	if (!b || !*b)
		return DEFAULT_BASE;
	if (vbf_redirect_base_ok(b))
		return b;
	vbf_log_once(VBF_EV_BAD_ENV, VBF_WARN,
		     "VBOXFIX_RUNDIR=%.80s is not an absolute directory path under %d bytes; using %s", b, BASE_MAX,
		     DEFAULT_BASE);
	return DEFAULT_BASE;
}

int vbf_redirect_fallback(const char *base, unsigned int uid, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s-%u", base, uid);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int vbf_share_path(const struct vbf_where *w, char *out, size_t cap)
{
	if (w->idx < 0 || w->idx >= vbf_nshares || !w->key)
		return -1;
	const char *root = vbf_shares[w->idx].root;
	int n = snprintf(out, cap, "%s%s%s", strcmp(root, "/") ? root : "", w->key[0] ? "/" : "", w->key);
	if (n == 0 && cap > 1)
		n = snprintf(out, cap, "/");
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int vbf_redirect_lstat(const char *p, struct stat *st) { return REAL(fstatat)(AT_FDCWD, p, st, AT_SYMLINK_NOFOLLOW); }

int vbf_redirect_is_object(const struct stat *st)
{
	return S_ISFIFO(st->st_mode) || S_ISSOCK(st->st_mode) || S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode);
}

/* An object of owner subdirectory u<uid>: a device node counts only in
 * root's, where nobody else can put one (only root makes them here), so a
 * share name never leads to a device another user linked or planted. */
static int object_of(const struct stat *st, unsigned int uid)
{
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		return uid == 0;
	return vbf_redirect_is_object(st);
}

/* Owned by `uid`, a directory, and no one else can add or rename entries. */
static int dir_private(const struct stat *st, unsigned int uid)
{
	return S_ISDIR(st->st_mode) && st->st_uid == (uid_t)uid && !(st->st_mode & 022);
}

int vbf_rundir_get(struct vbf_rundir *rd)
{
	struct stat st;
	rd->base = vbf_redirect_base();
	/* the whole cost when nothing was ever redirected */
	if (vbf_redirect_lstat(rd->base, &st) != 0)
		return -1;
	rd->me = (unsigned int)REAL(geteuid)();
	rd->owner = (unsigned int)st.st_uid;
	int stable = S_ISDIR(st.st_mode) && (!(st.st_mode & 022) || (st.st_mode & S_ISVTX));
	int trusted = st.st_uid == 0 || st.st_uid == (uid_t)rd->me;
	rd->own = stable && trusted;
	rd->others = !stable ? VBF_RD_NONE : trusted ? VBF_RD_ALL : VBF_RD_OWNER;
	return 0;
}

int vbf_rundir_scans(const struct vbf_rundir *rd, unsigned int uid)
{
	if (uid == rd->me)
		return rd->own;
	return rd->others == VBF_RD_ALL || (rd->others == VBF_RD_OWNER && uid == rd->owner);
}

/* Subdirectory `name` ("u<digits>") of base: is it genuine? */
int vbf_redirect_owner_dir(const char *base, const char *name, unsigned int *uid)
{
	char *end, dir[VBF_REDIRECT_CAP];
	struct stat st;
	if (name[0] != 'u' || name[1] < '0' || name[1] > '9')
		return 0;
	unsigned long u = strtoul(name + 1, &end, 10);
	if (*end || u > 0xffffffffUL)
		return 0;
	int n = snprintf(dir, sizeof dir, "%s/%s", base, name);
	if (n < 0 || (size_t)n >= sizeof dir || vbf_redirect_lstat(dir, &st) || !dir_private(&st, (unsigned int)u))
		return 0;
	*uid = (unsigned int)u;
	return 1;
}

/* 1: BASE/u<me> is genuine, 0: there is none, -1: something else is there
 * (then this uid's objects are in its fallback). */
static int own_state(const struct vbf_rundir *rd)
{
	char name[16];
	unsigned int uid;
	struct stat st;
	snprintf(name, sizeof name, "u%u", rd->me);
	if (vbf_redirect_owner_dir(rd->base, name, &uid))
		return 1;
	char dir[VBF_REDIRECT_CAP];
	snprintf(dir, sizeof dir, "%s/%s", rd->base, name);
	return vbf_redirect_lstat(dir, &st) != 0 && errno == ENOENT ? 0 : -1;
}

/* This uid's object `h` in its fallback BASE-<me>/u<me>, both checked. */
static int find_fallback(const struct vbf_rundir *rd, uint64_t h, char *buf)
{
	char fb[VBF_REDIRECT_CAP], name[16];
	struct stat st;
	unsigned int uid;
	if (vbf_redirect_fallback(rd->base, rd->me, fb, sizeof fb) < 0 ||
	    vbf_redirect_hname(fb, rd->me, h, buf, VBF_REDIRECT_CAP) < 0 || vbf_redirect_lstat(buf, &st) != 0 ||
	    !object_of(&st, rd->me))
		return -1;
	snprintf(name, sizeof name, "u%u", rd->me);
	if (vbf_redirect_lstat(fb, &st) != 0 || !dir_private(&st, rd->me) ||
	    !vbf_redirect_owner_dir(fb, name, &uid))
		return -1;
	return 0;
}

/* Objects of other uids: read the base directory with raw calls (no
 * opendir: no allocation, usable anywhere). Notes in *bad_own whether this
 * uid's own subdirectory is there and not genuine. */
static int scan_others(const struct vbf_rundir *rd, uint64_t h, char *buf, int *bad_own)
{
	char mine[16];
	snprintf(mine, sizeof mine, "u%u", rd->me);
	long fd = vbf_raw_syscall(SYS_openat, AT_FDCWD, (long)rd->base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
				  0, 0, 0);
	if (fd < 0)
		return -1;
	char d[2048] __attribute__((aligned(8)));
	int found = -1;
	long n;
	while (found < 0 && (n = vbf_raw_syscall(SYS_getdents64, fd, (long)d, sizeof d, 0, 0, 0)) > 0) {
		for (long off = 0; off < n && found < 0;) {
			struct linux_dirent64_hdr *e = (void *)(d + off);
			unsigned int uid;
			struct stat st;
			off += e->reclen;
			if (!vbf_redirect_owner_dir(rd->base, e->name, &uid)) {
				if (!strcmp(e->name, mine))
					*bad_own = 1;
				continue;
			}
			if (uid != rd->me && vbf_rundir_scans(rd, uid) &&
			    vbf_redirect_hname(rd->base, uid, h, buf, VBF_REDIRECT_CAP) > 0 &&
			    vbf_redirect_lstat(buf, &st) == 0 && object_of(&st, uid))
				found = 0;
		}
	}
	vbf_raw_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
	return found;
}

/* Another uid's object, or -1; *bad_own as scan_others. */
static int find_others(const struct vbf_rundir *rd, uint64_t h, char *buf, int *bad_own)
{
	struct stat st;
	char name[16];
	unsigned int uid;
	if (rd->others == VBF_RD_ALL)
		return scan_others(rd, h, buf, bad_own);
	if (rd->others != VBF_RD_OWNER || rd->owner == rd->me)
		return -1;
	/* only the base owner's own subdirectory: one lstat when absent */
	snprintf(name, sizeof name, "u%u", rd->owner);
	if (vbf_redirect_hname(rd->base, rd->owner, h, buf, VBF_REDIRECT_CAP) > 0 && vbf_redirect_lstat(buf, &st) == 0 &&
	    object_of(&st, rd->owner) && vbf_redirect_owner_dir(rd->base, name, &uid))
		return 0;
	return -1;
}

int vbf_redirect_find(uint64_t h, char buf[VBF_REDIRECT_CAP])
{
	struct vbf_rundir rd;
	struct stat st;
	int saved = errno, r = -1, bad_own = 0;
	if (vbf_rundir_get(&rd) != 0)
		goto out;
	/* this uid's own object first: in BASE/u<me> when that is genuine,
	 * else in the fallback */
	if (!rd.own)
		bad_own = 1;
	else if (vbf_redirect_hname(rd.base, rd.me, h, buf, VBF_REDIRECT_CAP) > 0 && vbf_redirect_lstat(buf, &st) == 0 &&
		 object_of(&st, rd.me)) {
		if (own_state(&rd) == 1) {
			r = 0;
			goto out;
		}
		bad_own = 1;
	}
	int tried = bad_own;
	if (tried && (r = find_fallback(&rd, h, buf)) == 0)
		goto out;
	r = find_others(&rd, h, buf, &bad_own);
	if (tried)
		goto out;
	/* the scan may have found another's object before reaching ours */
	if (!bad_own && r == 0 && own_state(&rd) < 0)
		bad_own = 1;
	if (bad_own) {
		char mine[VBF_REDIRECT_CAP];
		if (find_fallback(&rd, h, mine) == 0) {
			memcpy(buf, mine, VBF_REDIRECT_CAP);
			r = 0;
		}
	}
out:
	errno = saved;
	return r;
}

int vbf_redirect_lookup(const struct vbf_where *w, char buf[VBF_REDIRECT_CAP])
{
	char sp[VBF_PATH_CAP];
	if (w->idx < 0)
		return -1;
	int saved = errno, r = -1;
	if (vbf_share_path(w, sp, sizeof sp) >= 0)
		r = vbf_redirect_find(vbf_redirect_hash(sp), buf);
	errno = saved;
	return r;
}

const char *vbf_redirected(int r, int dirfd, const char *path, int flags, char buf[VBF_REDIRECT_CAP])
{
	struct vbf_where w;
	if (r >= 0 || errno != ENOENT || !path || !*path || !vbf_active())
		return NULL;
	int saved = errno;
	const char *res = NULL;
	if (vbf_where_name(dirfd, path, &w) >= 0 && vbf_redirect_lookup(&w, buf) == 0)
		res = buf;
	errno = saved;
	return res;
}

void vbf_refuse_split(const char *path, char *dir, size_t cap, const char **base)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		snprintf(dir, cap, ".");
		*base = path;
		return;
	}
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= cap)
		n = cap - 1;
	memcpy(dir, path, n);
	dir[n] = 0;
	*base = slash + 1;
}

int vbf_refuse_parent_ok(int dirfd, const char *path)
{
	char dir[VBF_PATH_CAP];
	const char *base;
	struct stat st;
	vbf_refuse_split(path, dir, sizeof dir, &base);
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return -1; /* the caller keeps the share's answer */
	if (REAL(fstatat)(dirfd, dir, &st, 0) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return REAL(faccessat)(dirfd, dir, W_OK | X_OK, AT_EACCESS);
}

/* The index directories inside this user's own u<uid> (refuse_list.c): a
 * mkdir that tolerates an existing directory of this user. Only this user
 * can write there, so the name cannot change under us. */
int vbf_redirect_mkdir(const char *p, mode_t mode)
{
	struct stat st;
	if (REAL(mkdir)(p, 0700) == 0)
		return REAL(chmod)(p, mode); /* exactly `mode`, whatever the umask */
	if (errno != EEXIST || vbf_redirect_lstat(p, &st) != 0)
		return -1;
	if (dir_private(&st, (unsigned int)REAL(geteuid)()))
		return 0;
	errno = EACCES;
	return -1;
}

enum { MD_ERR = -1, MD_OK = 0, MD_FOREIGN = 1 };

/* Make directory `name` at `at`, or find it, then look at what is there
 * through a descriptor opened without following a symlink: MD_OK with *fd
 * open and *st its status, MD_FOREIGN when it is not a directory (a
 * symlink, a file), MD_ERR with errno for a plain failure (EACCES, EROFS,
 * ENOSPC): those stay the refused call's answer. */
static int make_dir(int at, const char *name, mode_t mode, unsigned int me, int *fd, struct stat *st)
{
	int created = REAL(mkdirat)(at, name, 0700) == 0;
	if (!created && errno != EEXIST)
		return MD_ERR;
	/* O_PATH needs no read permission on a directory we did not make */
	*fd = REAL(openat)(at, name, (created ? O_RDONLY : O_PATH) | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		return errno == ELOOP || errno == ENOTDIR ? MD_FOREIGN : MD_ERR;
	if (REAL(fstat)(*fd, st) != 0)
		goto err;
	if (!S_ISDIR(st->st_mode)) {
		REAL(close)(*fd);
		return MD_FOREIGN;
	}
	/* exactly `mode`, whatever the umask; only on what we just made */
	if (created && st->st_uid == (uid_t)me) {
		if (REAL(fchmod)(*fd, mode) != 0)
			goto err;
		st->st_mode = (st->st_mode & S_IFMT) | mode;
	}
	return MD_OK;
err:;
	int e = errno;
	REAL(close)(*fd);
	errno = e;
	return MD_ERR;
}

/* `dir` (at `at`) and its u<me>, made and checked: the base rule when
 * `shared` (BASE), else private to this user (the fallback). MD_* as
 * make_dir; *bad names the directory that was not fit. */
static int make_pair(const char *dir, int shared, unsigned int me, const char **bad)
{
	char un[16];
	struct stat st;
	int dfd, ufd;
	snprintf(un, sizeof un, "u%u", me);
	*bad = dir;
	int r = make_dir(AT_FDCWD, dir, shared ? (me == 0 ? 01777 : 0755) : 0700, me, &dfd, &st);
	if (r != MD_OK)
		return r;
	if (shared ? !((st.st_uid == 0 || st.st_uid == (uid_t)me) && (!(st.st_mode & 022) || (st.st_mode & S_ISVTX)))
		   : !dir_private(&st, me))
		r = MD_FOREIGN;
	if (r == MD_OK) {
		*bad = un;
		r = make_dir(dfd, un, 0755, me, &ufd, &st);
		if (r == MD_OK) {
			if (!dir_private(&st, me))
				r = MD_FOREIGN;
			REAL(close)(ufd);
		}
	}
	int e = errno;
	REAL(close)(dfd);
	errno = e;
	return r;
}

static int own_name(char *out, size_t cap, const char *dir, unsigned int me)
{
	int n = snprintf(out, cap, "%s/u%u", dir, me);
	if (n < 0 || (size_t)n >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* The directory for this uid's new objects, made and checked: BASE/u<me>,
 * or the fallback BASE-<me>/u<me> when what is at BASE or at BASE/u<me> is
 * not this user's to trust. The same rule as vbf_redirect_find's, so both
 * agree on where an object is. */
static int own_dir(char *out, size_t cap)
{
	const char *base = vbf_redirect_base(), *bad;
	unsigned int me = (unsigned int)REAL(geteuid)();
	char fb[VBF_REDIRECT_CAP];
	int r = make_pair(base, 1, me, &bad);
	if (r == MD_OK)
		return own_name(out, cap, base, me);
	if (r == MD_ERR)
		return -1;
	if (vbf_redirect_fallback(base, me, fb, sizeof fb) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	vbf_log_once(VBF_EV_RUNDIR, VBF_WARN,
		     "%s%s%s belongs to another user, is a symlink or is writable by others: not used; "
		     "FIFOs and sockets on shares of uid %u go to %s",
		     base, bad == base ? "" : "/", bad == base ? "" : bad, me, fb);
	r = make_pair(fb, 0, me, &bad);
	if (r == MD_OK)
		return own_name(out, cap, fb, me);
	if (r == MD_FOREIGN) {
		vbf_log(VBF_WARN, "%s%s%s is not this user's own directory: FIFOs and sockets on shares stay refused", fb,
			bad == fb ? "" : "/", bad == fb ? "" : bad);
		errno = EACCES;
	}
	return -1;
}

int vbf_redirect_prepare(const struct vbf_where *w, int dirfd, const char *path, char buf[VBF_REDIRECT_CAP])
{
	char sp[VBF_PATH_CAP], own[VBF_REDIRECT_CAP];
	struct stat st;
	if (REAL(fstatat)(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	if (errno != ENOENT || vbf_refuse_parent_ok(dirfd, path) != 0)
		return -1;
	if (vbf_redirect_lookup(w, buf) == 0) {
		errno = EEXIST;
		return -1;
	}
	if (vbf_share_path(w, sp, sizeof sp) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (own_dir(own, sizeof own) != 0)
		return -1;
	int n = snprintf(buf, VBF_REDIRECT_CAP, "%s/%016llx", own, (unsigned long long)vbf_redirect_hash(sp));
	if (n < 0 || n >= VBF_REDIRECT_CAP) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int vbf_refuse_mknod(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	struct vbf_where w;
	char local[VBF_REDIRECT_CAP];
	mode_t type = mode & S_IFMT;
	if (!vbf_active() || vbf_where_name(dirfd, path, &w) < 0)
		return -1;
	int err = errno;
	if (type == 0 || type == S_IFREG) {
		/* mknod of a regular file is an exclusive create */
		int fd = REAL(openat)(dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777);
		if (fd < 0)
			return -1;
		REAL(close)(fd);
		vbf_op_created(dirfd, path, -1, mode);
	} else if (type == S_IFIFO || type == S_IFSOCK || type == S_IFCHR || type == S_IFBLK) {
		/* A device node in the local directory is the real one: opening
		 * it reaches the driver, as on a local filesystem. Only root
		 * makes them (lookups take devices from root's subdirectory
		 * only); anyone else keeps the answer the kernel gives it. */
		int dev_node = type == S_IFCHR || type == S_IFBLK;
		if (dev_node && REAL(geteuid)() != 0) {
			errno = err;
			return -1;
		}
		if (vbf_redirect_prepare(&w, dirfd, path, local) != 0) {
			if (errno == ENAMETOOLONG)
				errno = err;
			return -1;
		}
		if (REAL(mknodat)(AT_FDCWD, local, (mode & 07777) | type, dev_node ? dev : 0) != 0)
			return -1;
		vbf_redirect_index(local, &w, 1);
		vbf_log_once(VBF_EV_FIFO, VBF_INFO, "a FIFO, socket or device node on a share lives in the local directory (%s)",
			     local);
	} else {
		errno = err;
		return -1;
	}
	vbf_count(VBF_C_EMULATED);
	errno = err;
	return 0;
}

/* ---- sockets ---- */

/* The path of an AF_UNIX address, NUL-terminated in `out`; 0 for other
 * families and abstract names. */
static int unix_path(const struct sockaddr *sa, socklen_t len, char *out)
{
	const size_t off = offsetof(struct sockaddr_un, sun_path);
	if (!sa || len <= off || sa->sa_family != AF_UNIX)
		return 0;
	const struct sockaddr_un *un = (const struct sockaddr_un *)(const void *)sa;
	size_t max = len - off;
	if (max > sizeof un->sun_path)
		max = sizeof un->sun_path;
	if (!max || !un->sun_path[0])
		return 0;
	memcpy(out, un->sun_path, max);
	out[max] = 0;
	return 1;
}

static socklen_t local_addr(struct sockaddr_un *un, const char *local)
{
	memset(un, 0, sizeof *un);
	un->sun_family = AF_UNIX;
	size_t n = strlen(local);
	memcpy(un->sun_path, local, n + 1);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

int vbf_refuse_bind(int fd, const struct sockaddr *sa, socklen_t len, int err)
{
	char path[sizeof ((struct sockaddr_un *)0)->sun_path + 1], local[VBF_REDIRECT_CAP];
	struct vbf_where w;
	struct sockaddr_un un;
	if (!unix_path(sa, len, path) || !vbf_active() || vbf_where_name(AT_FDCWD, path, &w) < 0) {
		errno = err;
		return -1;
	}
	if (vbf_redirect_prepare(&w, AT_FDCWD, path, local) != 0) {
		errno = errno == EEXIST ? EADDRINUSE : errno == ENAMETOOLONG ? err : errno;
		return -1;
	}
	socklen_t n = local_addr(&un, local);
	if (REAL(bind)(fd, (const struct sockaddr *)&un, n) != 0)
		return -1;
	vbf_redirect_index(local, &w, 1);
	vbf_count(VBF_C_EMULATED);
	vbf_log_once(VBF_EV_SOCK, VBF_INFO, "a unix socket on a share lives in the local directory (%s)", local);
	return 0;
}

int vbf_refuse_connect(int fd, const struct sockaddr *sa, socklen_t len, int err)
{
	char path[sizeof ((struct sockaddr_un *)0)->sun_path + 1], local[VBF_REDIRECT_CAP];
	struct vbf_where w;
	struct sockaddr_un un;
	if (!unix_path(sa, len, path) || !vbf_active() || vbf_where_name(AT_FDCWD, path, &w) < 0 ||
	    vbf_redirect_lookup(&w, local) != 0) {
		errno = err;
		return -1;
	}
	socklen_t n = local_addr(&un, local);
	return REAL(connect)(fd, (const struct sockaddr *)&un, n);
}
