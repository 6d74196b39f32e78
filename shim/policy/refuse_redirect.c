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
 * 108 bytes of sun_path. Names are those the kernel's walk ends at: a
 * FIFO made or named through a symlinked directory inside the share is
 * found under its directory's own name (vbf_redirect_canon,
 * vbf_redirect_found; docs/refusals.md).
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
 *
 * This file finds what a name leads to; refuse_rdmake.c makes, removes and
 * moves objects, refuse_held.c answers for the names they hold.
 */
#include "refuse.h"
#include "log.h"
#include "real.h"
#include "config.h"

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
int vbf_redirect_dir_private(const struct stat *st, unsigned int uid)
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
	if (n < 0 || (size_t)n >= sizeof dir || vbf_redirect_lstat(dir, &st) || !vbf_redirect_dir_private(&st, (unsigned int)u))
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
#define KILLS_MAX VBF_KILLS_MAX
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
		if (vbf_redirect_lstat(p, &st) == 0 && vbf_redirect_dir_private(&st, rd->me) &&
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
	/* raw calls: no opendir, no allocation, usable anywhere (getdents64
	 * has no wrapper before glibc 2.30) */
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

int vbf_redirect_dirs(char (*out)[VBF_REDIRECT_CAP], int max)
{
	struct vbf_rundir rd;
	struct rd_dirs d;
	if (vbf_rundir_get(&rd) != 0)
		return 0;
	dirs_of(&rd, &d);
	int n = d.n < max ? d.n : max;
	for (int i = 0; i < n; i++)
		memcpy(out[i], d.dir[i], VBF_REDIRECT_CAP);
	return n;
}

/* The text of symlink dir/<prefix><h>, or -1. */
int vbf_redirect_read_entry(const char *dir, const char *prefix, uint64_t h, char *out, size_t cap)
{
	char p[VBF_REDIRECT_CAP + 4];
	snprintf(p, sizeof p, "%s/%s%016llx", dir, prefix, (unsigned long long)h);
	ssize_t n = REAL(readlink)(p, out, cap - 1);
	if (n < 0)
		return -1;
	out[n] = 0;
	return 0;
}

void vbf_redirect_birth_of(const char *dir, uint64_t h, char out[BIRTH_MAX])
{
	if (vbf_redirect_read_entry(dir, "b", h, out, BIRTH_MAX) != 0 || strspn(out, "0123456789.") != strlen(out))
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

int vbf_redirect_same_id(const struct vbf_rd_id *a, const struct vbf_rd_id *b)
{
	return a->uid == b->uid && a->h == b->h && !strcmp(a->birth, b->birth);
}

/* Append the ids listed in `text` to ids[*n]. */
void vbf_redirect_parse_ids(const char *text, struct vbf_rd_id *ids, int *n)
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
int vbf_redirect_find_entry(uint64_t h, char obj[VBF_REDIRECT_CAP], char ent[VBF_REDIRECT_CAP], struct vbf_rd_id *oid)
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
		if (vbf_redirect_read_entry(d.dir[i], "k", h, text, sizeof text) == 0)
			vbf_redirect_parse_ids(text, kills, &nk);
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
			vbf_redirect_birth_of(d.dir[i], h, id.birth);
			snprintf(obj, VBF_REDIRECT_CAP, "%s", p);
		} else if (S_ISLNK(st.st_mode)) {
			/* a forward: to a genuine subdirectory this uid may read,
			 * and to the very object it was made for */
			char name[16], tdir[VBF_REDIRECT_CAP];
			unsigned int uid;
			ssize_t n = REAL(readlink)(p, t, sizeof t - 1);
			if (n < 4 || memcmp(t, "../", 3) || vbf_redirect_parse_id(t + 3, (size_t)n - 3, &id) != 0)
				continue;
			snprintf(name, sizeof name, "u%u", id.uid);
			if (!vbf_rundir_scans(&rd, id.uid) || !vbf_redirect_owner_dir(rd.base, name, &uid) ||
			    snprintf(tdir, sizeof tdir, "%s/%s", rd.base, name) >= (int)sizeof tdir ||
			    vbf_redirect_where_id(tdir, &id, obj) != 0)
				continue;
		} else
			continue;
		int dead = 0;
		for (int k = 0; k < nk && !dead; k++)
			dead = vbf_redirect_same_id(&kills[k], &id);
		if (dead)
			continue;
		snprintf(ent, VBF_REDIRECT_CAP, "%s", p);
		if (oid)
			*oid = id;
		return 0;
	}
	return -1;
}

int vbf_redirect_stash_name(const char *dir, const struct vbf_rd_id *id, char out[VBF_REDIRECT_CAP])
{
	int n = snprintf(out, VBF_REDIRECT_CAP, "%s/%016llx#%016llx", dir, (unsigned long long)id->h,
			 (unsigned long long)vbf_redirect_hash(id->birth));
	return n < 0 || n >= VBF_REDIRECT_CAP ? -1 : 0;
}

int vbf_redirect_where_id(const char *dir, const struct vbf_rd_id *id, char out[VBF_REDIRECT_CAP])
{
	struct stat st;
	char b[BIRTH_MAX];
	int n = snprintf(out, VBF_REDIRECT_CAP, "%s/%016llx", dir, (unsigned long long)id->h);
	if (n > 0 && n < VBF_REDIRECT_CAP && vbf_redirect_lstat(out, &st) == 0 && object_of(&st, id->uid)) {
		vbf_redirect_birth_of(dir, id->h, b);
		if (!strcmp(b, id->birth))
			return 0;
	}
	if (vbf_redirect_stash_name(dir, id, out) == 0 && vbf_redirect_lstat(out, &st) == 0 && object_of(&st, id->uid))
		return 0;
	return -1;
}

int vbf_redirect_find2(uint64_t h, char obj[VBF_REDIRECT_CAP], char ent[VBF_REDIRECT_CAP])
{
	int saved = errno, r = vbf_redirect_find_entry(h, obj, ent, NULL);
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

int vbf_redirect_mkdir(const char *p, mode_t mode)
{
	struct stat st;
	if (REAL(mkdir)(p, 0700) == 0)
		return REAL(chmod)(p, mode); /* exactly `mode`, whatever the umask */
	if (errno != EEXIST || vbf_redirect_lstat(p, &st) != 0)
		return -1;
	if (vbf_redirect_dir_private(&st, (unsigned int)REAL(geteuid)()))
		return 0;
	errno = EACCES;
	return -1;
}

/* Is some directory in the path of share name `w` (below its share root) a
 * redirected object? Each ancestor is one lookup. */
static int below_object(const struct vbf_where *w)
{
	char sp[VBF_PATH_CAP], obj[VBF_REDIRECT_CAP];
	struct vbf_rundir rd;
	if (w->idx < 0 || !w->key || !strchr(w->key, '/') || vbf_rundir_get(&rd) != 0 ||
	    vbf_share_path(w, sp, sizeof sp) < 0)
		return 0;
	size_t root = strlen(sp) - strlen(w->key);
	uint64_t h = VBF_FNV_INIT;
	size_t done = 0;
	for (size_t i = root; sp[i]; i++) {
		if (sp[i] != '/' || i == root)
			continue;
		h = vbf_redirect_hash_n(h, sp + done, i - done);
		done = i;
		if (vbf_redirect_find(h, obj) == 0)
			return 1;
	}
	return 0;
}

int vbf_redirect_below(const struct vbf_where *w)
{
	int saved = errno, r = below_object(w);
	errno = saved;
	return r;
}
