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
#include <time.h>

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

/* ---- what a name leads to ----
 *
 * Under the hash <h> of a share name, each owner subdirectory may hold:
 *
 *   <h>    the object; or a forward, a symlink "../u<U>/<h2>#<birth>":
 *          uid U's object, renamed to this name by this uid, which could
 *          not move it out of U's directory
 *   b<h>   the object's birth: a symlink whose text (time and pid of its
 *          making) no later object has, written before the object
 *   k<h>   what this uid gave up under this name without being able to
 *          remove it (an unlink, or a rename over or away from it, of
 *          another uid's object): "u<U>/<h2>#<birth>" separated by spaces
 *
 * The name leads to the first object, in the lookup's order (this uid's
 * own directory or its fallback, then the others), that no k<h> it read
 * names. So anyone who may change the share directory may remove or rename
 * any redirected object in it, as on a local filesystem, while nobody can
 * put an object under another user's name. Births, not inode numbers, tell
 * objects apart: a local inode number is reused as soon as it is freed. */

#define BIRTH_MAX VBF_BIRTH_MAX
#define KILLS_MAX 32
#define DIRS_MAX 16

struct rd_dirs {
	int n;
	unsigned int uid[DIRS_MAX];
	char dir[DIRS_MAX][VBF_REDIRECT_CAP];
};

static void add_dir(struct rd_dirs *d, const char *dir, unsigned int uid)
{
	if (d->n >= DIRS_MAX || snprintf(d->dir[d->n], VBF_REDIRECT_CAP, "%s", dir) >= VBF_REDIRECT_CAP)
		return;
	d->uid[d->n++] = uid;
}

/* The owner subdirectories a lookup reads, in order: this uid's own (or
 * its fallback when its own is missing or not genuine), then the others
 * the base lets it trust. */
static void dirs_of(const struct vbf_rundir *rd, struct rd_dirs *d)
{
	char p[VBF_REDIRECT_CAP], name[16];
	struct stat st;
	unsigned int uid;
	d->n = 0;
	int own = rd->own ? own_state(rd) : -1;
	if (own == 1) {
		snprintf(p, sizeof p, "%s/u%u", rd->base, rd->me);
		add_dir(d, p, rd->me);
	} else if (own < 0 && vbf_redirect_fallback(rd->base, rd->me, p, sizeof p) > 0) {
		snprintf(name, sizeof name, "u%u", rd->me);
		if (vbf_redirect_lstat(p, &st) == 0 && dir_private(&st, rd->me) &&
		    vbf_redirect_owner_dir(p, name, &uid)) {
			size_t l = strlen(p);
			snprintf(p + l, sizeof p - l, "/%s", name);
			add_dir(d, p, rd->me);
		}
	}
	if (rd->others == VBF_RD_OWNER && rd->owner != rd->me) {
		snprintf(name, sizeof name, "u%u", rd->owner);
		if (vbf_redirect_owner_dir(rd->base, name, &uid)) {
			snprintf(p, sizeof p, "%s/%s", rd->base, name);
			add_dir(d, p, uid);
		}
		return;
	}
	if (rd->others != VBF_RD_ALL)
		return;
	/* raw calls: no opendir, no allocation, usable anywhere */
	long fd = vbf_raw_syscall(SYS_openat, AT_FDCWD, (long)rd->base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
				  0, 0, 0);
	if (fd < 0)
		return;
	char buf[2048] __attribute__((aligned(8)));
	long n;
	while (d->n < DIRS_MAX && (n = vbf_raw_syscall(SYS_getdents64, fd, (long)buf, sizeof buf, 0, 0, 0)) > 0) {
		for (long off = 0; off < n;) {
			struct linux_dirent64_hdr *e = (void *)(buf + off);
			off += e->reclen;
			if (vbf_redirect_owner_dir(rd->base, e->name, &uid) && uid != rd->me && vbf_rundir_scans(rd, uid)) {
				snprintf(p, sizeof p, "%s/%s", rd->base, e->name);
				add_dir(d, p, uid);
			}
		}
	}
	vbf_raw_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
}

/* The text of symlink dir/<prefix><h>, or -1. */
static int read_entry(const char *dir, const char *prefix, uint64_t h, char *out, size_t cap)
{
	char p[VBF_REDIRECT_CAP + 4];
	snprintf(p, sizeof p, "%s/%s%016llx", dir, prefix, (unsigned long long)h);
	ssize_t n = REAL(readlink)(p, out, cap - 1);
	if (n < 0)
		return -1;
	out[n] = 0;
	return 0;
}

static void birth_of(const char *dir, uint64_t h, char out[BIRTH_MAX])
{
	if (read_entry(dir, "b", h, out, BIRTH_MAX) != 0 || strspn(out, "0123456789.") != strlen(out))
		out[0] = 0;
}

/* "u<U>/<16 hex>#<birth>" at s (n bytes): 0 and *id, or -1. */
int vbf_redirect_parse_id(const char *s, size_t n, struct vbf_rd_id *id)
{
	char *end;
	if (n < 2 || s[0] != 'u' || s[1] < '0' || s[1] > '9')
		return -1;
	unsigned long long u = strtoull(s + 1, &end, 10);
	size_t at = (size_t)(end - s);
	if (u > 0xffffffffULL || at + 18 > n || s[at] != '/' || s[at + 17] != '#')
		return -1;
	uint64_t h = 0;
	for (size_t i = at + 1; i < at + 17; i++) {
		int c = s[i], v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return -1;
		h = h << 4 | (uint64_t)v;
	}
	size_t bl = n - at - 18;
	if (bl >= BIRTH_MAX)
		return -1;
	for (size_t i = 0; i < bl; i++)
		if (!strchr("0123456789.", s[at + 18 + i]) || !s[at + 18 + i])
			return -1;
	id->uid = (unsigned int)u;
	id->h = h;
	memcpy(id->birth, s + at + 18, bl);
	id->birth[bl] = 0;
	return 0;
}

static int same_id(const struct vbf_rd_id *a, const struct vbf_rd_id *b)
{
	return a->uid == b->uid && a->h == b->h && !strcmp(a->birth, b->birth);
}

/* Append the ids listed in `text` to ids[*n]. */
static void parse_ids(const char *text, struct vbf_rd_id *ids, int *n)
{
	for (const char *s = text; *s && *n < KILLS_MAX;) {
		size_t l = strcspn(s, " ");
		if (l && vbf_redirect_parse_id(s, l, &ids[*n]) == 0)
			(*n)++;
		s += l;
		s += *s == ' ';
	}
}

/* What hash `h` leads to: the object (obj), the entry that puts it under
 * the name (ent: the object itself or a forward), its identity. */
static int find_entry(uint64_t h, char obj[VBF_REDIRECT_CAP], char ent[VBF_REDIRECT_CAP], struct vbf_rd_id *oid)
{
	struct vbf_rundir rd;
	struct rd_dirs d;
	struct vbf_rd_id kills[KILLS_MAX];
	char text[KILLS_MAX * 64];
	int nk = 0;
	if (vbf_rundir_get(&rd) != 0)
		return -1;
	dirs_of(&rd, &d);
	for (int i = 0; i < d.n; i++)
		if (read_entry(d.dir[i], "k", h, text, sizeof text) == 0)
			parse_ids(text, kills, &nk);
	for (int i = 0; i < d.n; i++) {
		struct stat st;
		struct vbf_rd_id id;
		char p[VBF_REDIRECT_CAP], t[VBF_REDIRECT_CAP];
		if (snprintf(p, sizeof p, "%s/%016llx", d.dir[i], (unsigned long long)h) >= (int)sizeof p ||
		    vbf_redirect_lstat(p, &st) != 0)
			continue;
		if (object_of(&st, d.uid[i])) {
			id.uid = d.uid[i];
			id.h = h;
			birth_of(d.dir[i], h, id.birth);
			snprintf(obj, VBF_REDIRECT_CAP, "%s", p);
		} else if (S_ISLNK(st.st_mode)) {
			/* a forward: to a genuine subdirectory this uid may read,
			 * and to the very object it was made for */
			char name[16], tdir[VBF_REDIRECT_CAP];
			unsigned int uid;
			char b[BIRTH_MAX];
			ssize_t n = REAL(readlink)(p, t, sizeof t - 1);
			if (n < 4 || memcmp(t, "../", 3) || vbf_redirect_parse_id(t + 3, (size_t)n - 3, &id) != 0)
				continue;
			snprintf(name, sizeof name, "u%u", id.uid);
			if (!vbf_rundir_scans(&rd, id.uid) || !vbf_redirect_owner_dir(rd.base, name, &uid) ||
			    snprintf(tdir, sizeof tdir, "%s/%s", rd.base, name) >= (int)sizeof tdir ||
			    vbf_redirect_hname(rd.base, id.uid, id.h, obj, VBF_REDIRECT_CAP) < 0 ||
			    vbf_redirect_lstat(obj, &st) != 0 || !object_of(&st, id.uid))
				continue;
			birth_of(tdir, id.h, b);
			if (strcmp(b, id.birth))
				continue;
		} else
			continue;
		int dead = 0;
		for (int k = 0; k < nk && !dead; k++)
			dead = same_id(&kills[k], &id);
		if (dead)
			continue;
		snprintf(ent, VBF_REDIRECT_CAP, "%s", p);
		if (oid)
			*oid = id;
		return 0;
	}
	return -1;
}

int vbf_redirect_find2(uint64_t h, char obj[VBF_REDIRECT_CAP], char ent[VBF_REDIRECT_CAP])
{
	int saved = errno, r = find_entry(h, obj, ent, NULL);
	errno = saved;
	return r;
}

int vbf_redirect_find(uint64_t h, char buf[VBF_REDIRECT_CAP])
{
	char ent[VBF_REDIRECT_CAP];
	return vbf_redirect_find2(h, buf, ent);
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

/* Symlink `text` at dir/name, replacing what is there: made aside, then
 * renamed over it, so a reader sees the old text or the new. */
static int put_link(const char *dir, const char *name, const char *text)
{
	static _Atomic unsigned int seq;
	char tmp[VBF_REDIRECT_CAP + 32], dst[VBF_REDIRECT_CAP + 8];
	snprintf(tmp, sizeof tmp, "%s/.t%ld.%u", dir, vbf_raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0), seq++);
	snprintf(dst, sizeof dst, "%s/%s", dir, name);
	if (REAL(symlink)(text, tmp) != 0)
		return -1;
	if (REAL(renameat)(AT_FDCWD, tmp, AT_FDCWD, dst) != 0) {
		int e = errno;
		REAL(unlinkat)(AT_FDCWD, tmp, 0);
		errno = e;
		return -1;
	}
	return 0;
}

static int hash_of(const struct vbf_where *w, uint64_t *h)
{
	char sp[VBF_PATH_CAP];
	if (w->idx < 0 || vbf_share_path(w, sp, sizeof sp) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	*h = vbf_redirect_hash(sp);
	return 0;
}

static int id_text(const struct vbf_rd_id *id, char *out, size_t cap)
{
	int n = snprintf(out, cap, "u%u/%016llx#%s", id->uid, (unsigned long long)id->h, id->birth);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* Is the object `id` still there (in the base, or in this uid's own
 * directory `own`)? Only those stay in a list of names given up. */
static int id_alive(const char *own, const struct vbf_rd_id *id)
{
	char dir[VBF_REDIRECT_CAP], p[VBF_REDIRECT_CAP + 20], b[BIRTH_MAX];
	struct stat st;
	if (id->uid == (unsigned int)REAL(geteuid)())
		snprintf(dir, sizeof dir, "%s", own);
	else
		snprintf(dir, sizeof dir, "%s/u%u", vbf_redirect_base(), id->uid);
	snprintf(p, sizeof p, "%s/%016llx", dir, (unsigned long long)id->h);
	if (vbf_redirect_lstat(p, &st) != 0 || !vbf_redirect_is_object(&st))
		return 0;
	birth_of(dir, id->h, b);
	return !strcmp(b, id->birth);
}

/* Give up object `id` under hash `h`: add it to this uid's k<h>, dropping
 * the names of objects that are gone. */
static int give_up(const char *own, uint64_t h, const struct vbf_rd_id *id)
{
	char name[24], old[KILLS_MAX * 64], text[KILLS_MAX * 64];
	struct vbf_rd_id ids[KILLS_MAX];
	int n = 0;
	size_t len = 0;
	snprintf(name, sizeof name, "k%016llx", (unsigned long long)h);
	if (read_entry(own, "k", h, old, sizeof old) == 0)
		parse_ids(old, ids, &n);
	int w = id_text(id, text, sizeof text);
	if (w < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	len = (size_t)w;
	for (int i = 0; i < n; i++) {
		char one[64];
		int m;
		if (same_id(&ids[i], id) || !id_alive(own, &ids[i]) || (m = id_text(&ids[i], one, sizeof one)) < 0 ||
		    len + 1 + (size_t)m >= sizeof text)
			continue;
		text[len++] = ' ';
		memcpy(text + len, one, (size_t)m + 1);
		len += (size_t)m;
	}
	return put_link(own, name, text);
}

int vbf_redirect_prepare(const struct vbf_where *w, int dirfd, const char *path, char buf[VBF_REDIRECT_CAP])
{
	char own[VBF_REDIRECT_CAP], bname[24], birth[BIRTH_MAX];
	struct stat st;
	uint64_t h;
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
	if (hash_of(w, &h) != 0 || own_dir(own, sizeof own) != 0)
		return -1;
	int n = snprintf(buf, VBF_REDIRECT_CAP, "%s/%016llx", own, (unsigned long long)h);
	if (n < 0 || n >= VBF_REDIRECT_CAP) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* What is left in this uid's slot leads nowhere (the lookup found
	 * nothing): an object given up by another uid, a dead forward. */
	REAL(unlinkat)(AT_FDCWD, buf, 0);
	/* the new object's birth, before the object: no list of names given
	 * up can name it */
	struct timespec ts;
	vbf_raw_syscall(SYS_clock_gettime, CLOCK_REALTIME, (long)&ts, 0, 0, 0, 0);
	snprintf(bname, sizeof bname, "b%016llx", (unsigned long long)h);
	snprintf(birth, sizeof birth, "%lld.%09ld.%ld", (long long)ts.tv_sec, ts.tv_nsec,
		 vbf_raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0));
	if (put_link(own, bname, birth) != 0)
		return -1;
	return 0;
}

int vbf_redirect_lookup2(const struct vbf_where *w, char obj[VBF_REDIRECT_CAP], char ent[VBF_REDIRECT_CAP])
{
	uint64_t h;
	int saved = errno, r = hash_of(w, &h) == 0 ? vbf_redirect_find2(h, obj, ent) : -1;
	errno = saved;
	return r;
}

/* The directory part of `p` in `dir`. */
static void dir_part(const char *p, char dir[VBF_REDIRECT_CAP])
{
	const char *s = strrchr(p, '/');
	size_t n = s ? (size_t)(s - p) : 0;
	memcpy(dir, p, n);
	dir[n] = 0;
}

int vbf_redirect_remove(const struct vbf_where *w, int dirfd, const char *path)
{
	char obj[VBF_REDIRECT_CAP], ent[VBF_REDIRECT_CAP], own[VBF_REDIRECT_CAP], dir[VBF_REDIRECT_CAP];
	struct vbf_rd_id id;
	uint64_t h;
	if (hash_of(w, &h) != 0)
		return -1;
	if (find_entry(h, obj, ent, &id) != 0) {
		errno = ENOENT;
		return -1;
	}
	if (REAL(unlinkat)(AT_FDCWD, ent, 0) == 0) {
		vbf_redirect_index(ent, w, 0);
		if (!strcmp(obj, ent)) {
			char b[VBF_REDIRECT_CAP + 20];
			dir_part(ent, dir);
			snprintf(b, sizeof b, "%s/b%016llx", dir, (unsigned long long)h);
			REAL(unlinkat)(AT_FDCWD, b, 0);
		}
		return 0;
	}
	if (errno != EACCES && errno != EPERM)
		return -1;
	/* another uid's: given up under this name, by one who may change
	 * the share directory */
	if (path && vbf_refuse_parent_ok(dirfd, path) != 0)
		return -1;
	if (own_dir(own, sizeof own) != 0 || give_up(own, h, &id) != 0)
		return -1;
	vbf_count(VBF_C_EMULATED);
	return 0;
}

int vbf_redirect_move(const struct vbf_where *wa, const struct vbf_where *wb)
{
	char obj[VBF_REDIRECT_CAP], ent[VBF_REDIRECT_CAP], own[VBF_REDIRECT_CAP], to[VBF_REDIRECT_CAP + 20];
	char dir[VBF_REDIRECT_CAP], name[24];
	struct vbf_rd_id id;
	uint64_t ha, hb;
	if (hash_of(wa, &ha) != 0 || hash_of(wb, &hb) != 0)
		return -1;
	if (find_entry(ha, obj, ent, &id) != 0) {
		errno = ENOENT;
		return -1;
	}
	if (own_dir(own, sizeof own) != 0)
		return -1;
	snprintf(to, sizeof to, "%s/%016llx", own, (unsigned long long)hb);
	if (REAL(renameat)(AT_FDCWD, ent, AT_FDCWD, to) == 0) {
		if (!strcmp(obj, ent)) {
			/* the birth goes with the object */
			char fb[VBF_REDIRECT_CAP + 20], tb[VBF_REDIRECT_CAP + 20];
			dir_part(ent, dir);
			snprintf(fb, sizeof fb, "%s/b%016llx", dir, (unsigned long long)ha);
			snprintf(tb, sizeof tb, "%s/b%016llx", own, (unsigned long long)hb);
			if (REAL(renameat)(AT_FDCWD, fb, AT_FDCWD, tb) != 0)
				REAL(unlinkat)(AT_FDCWD, tb, 0);
		}
		vbf_redirect_index(ent, wa, 0);
		vbf_redirect_index(to, wb, 1);
		return 0;
	}
	if (errno != EACCES && errno != EPERM)
		return -1;
	/* another uid's object, which only it can move: a forward here, and
	 * the object given up under its old name */
	char text[VBF_REDIRECT_CAP];
	memcpy(text, "../", 3);
	if (id_text(&id, text + 3, sizeof text - 3) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(name, sizeof name, "%016llx", (unsigned long long)hb);
	if (put_link(own, name, text) != 0)
		return -1;
	if (give_up(own, ha, &id) != 0) {
		int e = errno;
		REAL(unlinkat)(AT_FDCWD, to, 0);
		errno = e;
		return -1;
	}
	vbf_redirect_index(to, wb, 1);
	vbf_count(VBF_C_EMULATED);
	return 0;
}

int vbf_refuse_mknod(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	struct vbf_where w;
	char local[VBF_REDIRECT_CAP];
	mode_t type = mode & S_IFMT;
	if (!vbf_active() || vbf_where_name(dirfd, path, &w) < 0 || vbf_may_create(&w, dirfd, path))
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
	if (vbf_may_create(&w, AT_FDCWD, path))
		return -1;
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
