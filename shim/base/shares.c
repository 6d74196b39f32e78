/* SPDX-License-Identifier: MIT */
/* Share table, mountinfo parsing, and "where is this path". */
#include "shares.h"
#include "fdtab.h"
#include "lock.h"
#include "log.h"
#include <sys/sysmacros.h>

#define VBOXSF_MAGIC 0x786f4256

struct vbf_share vbf_shares[VBF_MAX_SHARES];
int vbf_nshares;
unsigned char vbf_fdtab[VBF_FDTAB_SIZE];

/* ---- mountinfo ---- */

/* Copy one space-separated field, undoing the \ooo escapes of mountinfo. */
static const char *field(const char *s, const char *end, char *out, size_t cap)
{
	size_t n = 0;
	while (s < end && *s == ' ')
		s++;
	while (s < end && *s != ' ') {
		char c = *s++;
		if (c == '\\' && end - s >= 3 && s[0] >= '0' && s[0] <= '3' && s[1] >= '0' && s[1] <= '7' &&
		    s[2] >= '0' && s[2] <= '7') {
			c = (char)((s[0] - '0') * 64 + (s[1] - '0') * 8 + (s[2] - '0'));
			s += 3;
		}
		if (n + 1 < cap)
			out[n++] = c;
	}
	out[n] = 0;
	return s;
}

int vbf_mountinfo_parse(const char *text, void (*fn)(void *, const char *, const char *, const char *, dev_t),
			void *arg)
{
	int count = 0;
	static VBF_TLS char mnt[PATH_MAX], root[PATH_MAX];
	char tmp[64], type[32];
	for (const char *l = text; l && *l;) {
		const char *end = strchr(l, '\n');
		if (!end)
			end = l + strlen(l);
		const char *s = field(l, end, tmp, sizeof tmp);  /* mount id */
		s = field(s, end, tmp, sizeof tmp);              /* parent id */
		s = field(s, end, tmp, sizeof tmp);              /* major:minor */
		unsigned long ma = 0, mi = 0;
		char *colon = strchr(tmp, ':');
		int ok = colon != NULL;
		if (ok) {
			char *e1, *e2;
			ma = strtoul(tmp, &e1, 10);
			mi = strtoul(colon + 1, &e2, 10);
			ok = e1 == colon && *e2 == 0 && colon != tmp;
		}
		s = field(s, end, root, sizeof root);
		s = field(s, end, mnt, sizeof mnt);
		/* optional fields end at a lone "-" */
		const char *dash = s;
		while (dash < end && !(dash[0] == '-' && (dash[-1] == ' ') && (dash + 1 == end || dash[1] == ' ')))
			dash++;
		if (dash < end) {
			field(dash + 1, end, type, sizeof type);
			if (ok && root[0] == '/' && mnt[0] == '/') {
				fn(arg, mnt, root, type, makedev(ma, mi));
				count++;
			}
		}
		l = *end ? end + 1 : end;
	}
	return count;
}

/* ---- the share table ---- */

struct mount_ent {
	char mnt[PATH_MAX], root[PATH_MAX], type[32];
	dev_t dev;
};
struct mounts {
	struct mount_ent *v;
	int n, cap;
};

static void collect(void *arg, const char *mnt, const char *root, const char *type, dev_t dev)
{
	struct mounts *m = arg;
	if (m->n == m->cap) {
		int cap = m->cap ? m->cap * 2 : 64;
		if (cap > 65536)
			return;
		struct mount_ent *v = realloc(m->v, sizeof *v * (size_t)cap);
		if (!v)
			return;
		m->v = v;
		m->cap = cap;
	}
	struct mount_ent *e = &m->v[m->n++];
	snprintf(e->mnt, sizeof e->mnt, "%s", mnt);
	snprintf(e->root, sizeof e->root, "%s", root);
	snprintf(e->type, sizeof e->type, "%s", type);
	e->dev = dev;
}

static int add_share(const char *root, dev_t dev, int whole, int store, const char *prefix, const char *type)
{
	for (int i = 0; i < vbf_nshares; i++)
		if (!strcmp(vbf_shares[i].root, root))
			return i;
	if (vbf_nshares >= VBF_MAX_SHARES)
		return -1;
	struct vbf_share *s = &vbf_shares[vbf_nshares];
	snprintf(s->root, sizeof s->root, "%s", root);
	s->len = strlen(s->root);
	s->dev = dev;
	s->whole_fs = whole;
	s->store = store < 0 ? vbf_nshares : store;
	snprintf(s->prefix, sizeof s->prefix, "%s", prefix);
	snprintf(s->fstype, sizeof s->fstype, "%s", type);
	return vbf_nshares++;
}

static const struct mount_ent *mount_at(const struct mounts *m, const char *path)
{
	for (int i = m->n - 1; i >= 0; i--) /* the last mount on a point is the visible one */
		if (!strcmp(m->v[i].mnt, path))
			return &m->v[i];
	return NULL;
}

/* Filesystems whose mountinfo device is the st_dev of every file on them. */
static int dev_is_stat_dev(const char *type)
{
	static const char *const types[] = {"vboxsf", "fuse", "nfs", "nfs4", "cifs", "smb3", "9p", "virtiofs",
					    "fakeowner", "tmpfs", "ext4", "xfs"};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (!strcmp(type, types[i]) || (!strncmp(type, "fuse.", 5) && !strcmp(types[i], "fuse")))
			return 1;
	return 0;
}

void vbf_shares_init(const struct vbf_config *c)
{
	struct mounts m = {0};
	char *text = vbf_slurp("/proc/self/mountinfo", 64u << 20);
	if (text)
		vbf_mountinfo_parse(text, collect, &m);
	free(text);

	for (int i = 0; i < c->npaths; i++) {
		char canon[PATH_MAX];
		struct stat st;
		/* A share named by its mount point needs no look at the share
		 * (a request to the host in every process that starts) where the
		 * mount's device is what stat reports: not on btrfs, say. */
		const struct mount_ent *lex = vbf_path_join(canon, sizeof canon, "/", c->paths[i]) > 0
						      ? mount_at(&m, canon) : NULL;
		if (lex && dev_is_stat_dev(lex->type)) {
			add_share(canon, lex->dev, 1, -1, "", lex->type);
			continue;
		}
		if (!REAL(realpath) || !REAL(realpath)(c->paths[i], canon) || REAL(stat)(canon, &st)) {
			vbf_log(VBF_WARN, "VBOXFIX_PATHS: %s: cannot be resolved (%s); not treated as a share",
				c->paths[i], strerror(errno));
			continue;
		}
		const struct mount_ent *me = mount_at(&m, canon);
		add_share(canon, st.st_dev, me != NULL, -1, "", me ? me->type : "");
	}
	if (c->autodetect)
		for (int i = 0; i < m.n; i++)
			if (!strcmp(m.v[i].type, "vboxsf"))
				add_share(m.v[i].mnt, m.v[i].dev, 1, -1, "", "vboxsf");

	/* Other mounts of a share's filesystem whose root lies inside the share
	 * (bind mounts): same records, under a prefix. */
	int primary = vbf_nshares;
	for (int i = 0; i < primary; i++) {
		const struct mount_ent *me = vbf_shares[i].whole_fs ? mount_at(&m, vbf_shares[i].root) : NULL;
		if (!me)
			continue;
		size_t rl = strlen(me->root);
		for (int j = 0; j < m.n; j++) {
			const char *below;
			if (m.v[j].dev != me->dev || !strcmp(m.v[j].mnt, me->mnt) ||
			    !(below = vbf_path_below(m.v[j].root, me->root, rl)))
				continue;
			add_share(m.v[j].mnt, me->dev, 1, i, below, me->type);
		}
	}
	free(m.v);
	for (int i = 0; i < vbf_nshares; i++)
		vbf_log(VBF_DEBUG, "share %d: %s (dev %lu:%lu, %s%s%s)", i, vbf_shares[i].root,
			(unsigned long)major(vbf_shares[i].dev), (unsigned long)minor(vbf_shares[i].dev),
			vbf_shares[i].whole_fs ? "mount" : "subtree", vbf_shares[i].prefix[0] ? ", alias of " : "",
			vbf_shares[i].prefix);
}

void vbf_shares_log_start(const char *state, const char *key_prefix, unsigned long records)
{
	if (vbf_log_level < VBF_INFO)
		return;
	char sh[512] = "", owner[64] = "as recorded (no VBOXFIX_OWNER)";
	size_t n = 0;
	for (int i = 0; i < vbf_nshares && n < sizeof sh; i++)
		n += (size_t)snprintf(sh + n, sizeof sh - n, "%s%s (%s)", i ? ", " : "", vbf_shares[i].root,
				      vbf_shares[i].fstype[0] ? vbf_shares[i].fstype : "subtree");
	if (vbf_cfg.have_owner)
		snprintf(owner, sizeof owner, "%u:%u (VBOXFIX_OWNER)", (unsigned)vbf_cfg.owner_uid, (unsigned)vbf_cfg.owner_gid);
	vbf_log_once(VBF_EV_START, VBF_INFO, "libvboxfix %s: shares %s; state %s%s%s%s (%lu records); owner %s",
		     VBF_VERSION, sh, state && *state ? state : "in memory only", key_prefix && *key_prefix ? ", under " : "",
		     key_prefix ? key_prefix : "", key_prefix && *key_prefix ? "/" : "", records, owner);
}

/* ---- the working directory ---- */

static char cwd[PATH_MAX];
static int cwd_valid;
static vbf_lock cwd_lock;

/* The cwd is neither in a share nor above one: a relative name without
 * ".." cannot reach a share, and is answered without the lock. */
static int cwd_far;

void vbf_cwd_changed(void)
{
	__atomic_store_n(&cwd_far, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&cwd_valid, 0, __ATOMIC_RELEASE);
}

static int far_from_shares(const char *dir)
{
	size_t n = strlen(dir);
	for (int i = 0; i < vbf_nshares; i++)
		if (vbf_path_below(dir, vbf_shares[i].root, vbf_shares[i].len) ||
		    vbf_path_below(vbf_shares[i].root, dir, n))
			return 0;
	return 1;
}

/* Cheap and conservative: could `path` leave the cwd? */
static int may_climb(const char *path) { return strstr(path, "..") != NULL; }

/* Under cwd_lock: fetch the working directory when it is not known. */
static void fetch_cwd(void)
{
	if (__atomic_load_n(&cwd_valid, __ATOMIC_ACQUIRE))
		return;
	int saved = errno;
	if (REAL(getcwd)(cwd, sizeof cwd) && cwd[0] == '/') {
		__atomic_store_n(&cwd_valid, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&cwd_far, far_from_shares(cwd), __ATOMIC_RELEASE);
	}
	errno = saved;
}

/* Join `path` to the working directory. -1 when unknown (re-entered under
 * the lock from a signal handler, or getcwd failed). Other threads wait:
 * the lock is held for a copy. */
static int join_cwd(char *out, size_t cap, const char *path, int quick)
{
	if (quick && __atomic_load_n(&cwd_far, __ATOMIC_ACQUIRE) && !may_climb(path))
		return -2; /* lexically outside every share */
	if (!vbf_enter(&cwd_lock))
		return -1; /* a signal handler while this thread is in the library */
	int n = -1;
	fetch_cwd();
	if (cwd_valid)
		n = vbf_path_join(out, cap, cwd, path);
	vbf_leave(&cwd_lock);
	return n;
}

/* Is `a` the object `b` is? vboxsf numbers an inode afresh at every lookup
 * that misses its cache, so where the numbers differ, size and times decide. */
static int same_object(const struct stat *a, const struct stat *b)
{
	if (a->st_dev != b->st_dev || (a->st_mode & S_IFMT) != (b->st_mode & S_IFMT))
		return 0;
	return a->st_ino == b->st_ino ||
	       (a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
		a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
		a->st_ctim.tv_nsec == b->st_ctim.tv_nsec);
}

#define DELETED " (deleted)"

/* The kernel ends the name of a descriptor with " (deleted)" once its
 * dentry has left the tree: the file was unlinked, or (FUSE, vboxsf with a
 * zero TTL) another thread's lookup of the same name found the dentry stale
 * and replaced it while the file stayed. The name without the suffix counts
 * when it still names this object, a name that really ends so counts as it
 * is, anything else has no name. `fdst` is fd's stat, or NULL. 0 with *n
 * the length to use, or -1. Costs two stats, only for such names. */
static int undeleted(int fd, char *name, ssize_t *n, const struct stat *fdst)
{
	const size_t sl = sizeof DELETED - 1;
	if ((size_t)*n <= sl || memcmp(name + *n - sl, DELETED, sl))
		return 0;
	struct stat own, named;
	int saved = errno, found = -1;
	if (fdst || REAL(fstat)(fd, &own) == 0) {
		if (!fdst)
			fdst = &own;
		name[*n - sl] = 0;
		if (REAL(fstatat)(AT_FDCWD, name, &named, AT_SYMLINK_NOFOLLOW) == 0 && same_object(&named, fdst)) {
			*n -= (ssize_t)sl;
			found = 0;
		} else {
			name[*n - sl] = ' ';
			if (REAL(fstatat)(AT_FDCWD, name, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
			    same_object(&named, fdst))
				found = 0;
		}
	}
	errno = saved;
	return found;
}

/* Join `path` to the directory open as `fd` (its name from /proc). `fdst`:
 * fd's stat when the caller has it. */
static int join_fd(char *out, size_t cap, int fd, const char *path, const struct stat *fdst)
{
	char dir[PATH_MAX];
	if (fd < 0)
		return -1;
	ssize_t n = vbf_fd_path(fd, dir, sizeof dir);
	if (n < 0 || dir[0] != '/')
		return -1;
	if (undeleted(fd, dir, &n, fdst))
		return -1;
	dir[n] = 0;
	return vbf_path_join(out, cap, dir, path ? path : "");
}

/* Find the share `abs` lies in; fill w->key. `dev` (or 0 for "any") must
 * match for mount shares. */
static int match(struct vbf_where *w, int have_dev, dev_t dev)
{
	int best = -1;
	const char *below = NULL;
	for (int i = 0; i < vbf_nshares; i++) {
		const struct vbf_share *s = &vbf_shares[i];
		const char *b;
		if (have_dev && s->dev != dev)
			continue;
		if ((b = vbf_path_below(w->buf, s->root, s->len)) && (best < 0 || s->len > vbf_shares[best].len)) {
			best = i;
			below = b;
		}
	}
	if (best < 0)
		return w->idx = -1;
	const struct vbf_share *s = &vbf_shares[best];
	size_t pl = strlen(s->prefix), bl = strlen(below);
	if (pl) {
		if (pl + 1 + bl + 1 > sizeof w->buf)
			return w->idx = -1;
		memmove(w->buf + pl + (bl ? 1 : 0), below, bl + 1);
		memcpy(w->buf, s->prefix, pl);
		if (bl)
			w->buf[pl] = '/';
		below = w->buf;
	}
	w->key = below;
	return w->idx = s->store;
}

VBF_TLS unsigned long vbf_where_count;

int vbf_where_name(int dirfd, const char *path, struct vbf_where *w)
{
	int n;
	vbf_where_count++;
	w->idx = -1;
	w->key = NULL;
	if (!vbf_nshares || !vbf_str_ok(path, 1))
		return -1; /* NULL or unreadable: the real call says EFAULT */
	if (path[0] == '/')
		n = vbf_path_join(w->buf, sizeof w->buf, "/", path);
	else if (dirfd == AT_FDCWD)
		n = join_cwd(w->buf, sizeof w->buf, path, 1);
	else if (vbf_fd_marked(dirfd))
		n = join_fd(w->buf, sizeof w->buf, dirfd, path, NULL);
	else
		return -1;
	if (n == -2)
		return -1;
	if (n < 0) {
		vbf_log_once(VBF_EV_LONGPATH, VBF_INFO, "a path too long to classify was passed through unchanged");
		return -1;
	}
	return match(w, 0, 0);
}

/* Match the name's text: idx, or -1 (not a share object, or a descriptor
 * not looked at), or -2 (on a share's filesystem, under no root by its
 * text). *whole: st's device is a mount share's. */
static int where_text(int dirfd, const char *path, const struct stat *st, struct vbf_where *w, int *whole, int *n)
{
	w->idx = -1;
	w->key = NULL;
	*n = -1;
	if (!vbf_share_dev(st->st_dev))
		return -1;
	/* A mount share's dev is its own; a subtree share shares its dev with the
	 * rest of that filesystem, which must not pay for lookups. */
	*whole = 0;
	for (int i = 0; i < vbf_nshares; i++)
		*whole |= vbf_shares[i].dev == st->st_dev && vbf_shares[i].whole_fs;
	/* `path` was read by the call that filled `st`; NULL or "" with
	 * AT_EMPTY_PATH named dirfd itself (the working directory for AT_FDCWD) */
	int self = !path || !*path;
	if (!self && path[0] == '/')
		*n = vbf_path_join(w->buf, sizeof w->buf, "/", path);
	else if (dirfd == AT_FDCWD)
		*n = join_cwd(w->buf, sizeof w->buf, self ? "" : path, 0);
	else if (*whole || vbf_fd_marked(dirfd))
		*n = join_fd(w->buf, sizeof w->buf, dirfd, path, self ? st : NULL);
	else
		return -1;
	if (*n >= 0 && match(w, 1, st->st_dev) >= 0)
		return w->idx;
	return *whole ? -2 : -1;
}

int vbf_where_lexical(int dirfd, const char *path, int follow, const struct stat *st, struct vbf_where *w)
{
	int n, whole, t = where_text(dirfd, path, st, w, &whole, &n);
	if (t != -2)
		return t;
	/* Reached through a symlink from outside, or through a mount we do not
	 * know: ask the kernel for the real name (only ever for share objects). */
	if (n >= 0 && REAL(realpath)) {
		char real[PATH_MAX], *slash = NULL;
		int saved = errno;
		if (!follow && (slash = strrchr(w->buf, '/')) && slash != w->buf)
			*slash = 0;
		const char *r = REAL(realpath)(w->buf, real);
		errno = saved;
		if (r) {
			char tail[NAME_MAX + 2] = "";
			if (slash)
				snprintf(tail, sizeof tail, "/%s", slash + 1);
			if (snprintf(w->buf, sizeof w->buf, "%s%s", real, tail) < (int)sizeof w->buf &&
			    match(w, 1, st->st_dev) >= 0)
				return w->idx;
		}
	}
	/* On a share's filesystem, name unknown: present without a record. */
	for (int i = 0; i < vbf_nshares; i++)
		if (vbf_shares[i].dev == st->st_dev && vbf_shares[i].whole_fs) {
			w->key = NULL;
			return w->idx = vbf_shares[i].store;
		}
	return w->idx = -1;
}

/* `abs` is `dir` or below it: the rest, else NULL */
static const char *after(const char *abs, const char *dir, size_t n)
{
	if (n <= 1 || strncmp(abs, dir, n) || (abs[n] && abs[n] != '/'))
		return NULL;
	return abs + n;
}

const char *vbf_after_root(const char *abs)
{
	const char *rest = NULL;
	for (int i = 0; !rest && i < vbf_nshares; i++)
		rest = after(abs, vbf_shares[i].root, vbf_shares[i].len);
	if (vbf_enter(&cwd_lock)) {
		fetch_cwd();
		const char *r = cwd_valid ? after(abs, cwd, strlen(cwd)) : NULL;
		if (r && (!rest || r > rest))
			rest = r;
		vbf_leave(&cwd_lock);
	}
	return rest;
}

int vbf_where_text(int dirfd, const char *path, const struct stat *st, struct vbf_where *w, int *whole)
{
	int n;
	return where_text(dirfd, path, st, w, whole, &n);
}

int vbf_join_dir(int dirfd, const char *path, char *out, size_t cap)
{
	if (path[0] == '/')
		return vbf_path_join(out, cap, "/", path);
	if (dirfd == AT_FDCWD)
		return join_cwd(out, cap, path, 0);
	return join_fd(out, cap, dirfd, path, NULL);
}

int vbf_where_match(struct vbf_where *w, int have_dev, dev_t dev)
{
	w->key = NULL;
	return match(w, have_dev, dev);
}

void vbf_shares_atfork_prepare(void) { vbf_lock_take(&cwd_lock); }
void vbf_shares_atfork_parent(void) { vbf_unlock(&cwd_lock); }
void vbf_shares_atfork_child(void)
{
	vbf_lock_reset(&cwd_lock);
	vbf_callmem_atfork_child();
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
