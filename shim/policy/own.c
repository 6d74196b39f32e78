/* SPDX-License-Identifier: MIT */
#include "own.h"
#include "cache.h"
#include "config.h"
#include "defer.h"
#include "ids.h"
#include "log.h"
#include "view.h"
#include "real.h"
#include "rules.h"

int vbf_is_refusal(int err)
{
	return err == EPERM || err == EINVAL || err == ENOTSUP || err == EOPNOTSUPP || err == ENOSYS;
}

/* stat the target the way the op will act on it, and name the object it
 * reaches (symlinks resolved: shares.h, vbf_stat_where) */
static int target_stat(int dirfd, const char *path, int flags, struct stat *st, struct vbf_where *w)
{
	int r = vbf_stat_where(dirfd, path, flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH), st, w, NULL);
	if (r == 0 && w->idx < 0)
		w->key = NULL;
	return r;
}

/* The same for a name the wrapper classified (`lex`, may be NULL): from
 * the metadata cache when it knows the name (no request: cache.h), else
 * the walk, whose answer then fills the cache under a name that is the
 * object's own. A cached "missing" is asked again: a change must not fail
 * on a name made since where no cache was told (through a symlink from
 * outside the share, on the host), and a chown or chmod of a missing name
 * is rare. Found there, the stale entry is dropped. */
static int known_stat(const struct vbf_where *lex, int dirfd, const char *path, int flags, struct stat *st,
		      struct vbf_where *w, int *cached)
{
	struct vbf_cq q;
	int c = lex && !(flags & AT_EMPTY_PATH)
			? vbf_cache_stat_where(lex, path, !(flags & AT_SYMLINK_NOFOLLOW), st, &q)
			: VBF_CACHE_SKIP;
	*cached = c == VBF_CACHE_HIT;
	if (c == VBF_CACHE_HIT) {
		w->idx = lex->idx;
		memcpy(w->buf, lex->buf, sizeof w->buf);
		w->key = w->buf + (lex->key - lex->buf);
		return 0;
	}
	int r = target_stat(dirfd, path, flags, st, w);
	if (c == VBF_CACHE_MISS && r == 0 && w->idx == lex->idx && w->key &&
	    !strcmp(w->key, lex->key))
		vbf_cache_fill(&q, r, st);
	else if (c == VBF_CACHE_NEG && r == 0)
		vbf_cache_changed_key(lex->idx, lex->key); /* stale: for every process */
	return r;
}

/* The object a chown or chmod acts on (known_stat); when there is none,
 * the call's ENOENT, ENOTDIR, ELOOP..., but EACCES first below a directory
 * the caller may not search. */
static int target_of(const struct vbf_where *lex, int dirfd, const char *path, int flags, struct stat *st,
		     struct vbf_where *w, int *cached)
{
	if (!known_stat(lex, dirfd, path, flags, st, w, cached))
		return 0;
	vbf_missing_searched_at(lex, w, dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW));
	return -1;
}

/* The record of a chown or chmod of `st`, the object `w` names. From an
 * answer of the cache (known_stat), its fingerprint is the type only: the
 * answer may be up to the TTL old, and a file replaced outside the library
 * since (saved on the host) has another inode number, which would leave
 * the record of an acknowledged call matching nothing. */
static void record(const struct vbf_where *w, const struct stat *st, int cached, const struct vbf_rec *rec)
{
	int saved = errno;
	struct vbf_fp fp = {.type = st->st_mode & S_IFMT};
	if (cached)
		vbf_store_put_fp(w->idx, w->key, &fp, rec);
	else
		vbf_store_put(w->idx, w->key, st, rec);
	errno = saved;
}

/* What a share does with a chown it accepts (returns 0 from), learned once
 * per share per process from the first one that asked for another owner:
 * vboxsf never looks at uid and gid (its setattr; stat shows the mount's
 * owner whatever happened), others tell by a stat afterwards. A share that
 * ignores them is not sent another: its answer is known, and every error
 * about the name the stat before it has given already (docs/design.md,
 * "A recorded chown"). */
enum { CHOWN_UNKNOWN, CHOWN_APPLIED, CHOWN_IGNORED };
static _Atomic unsigned char chown_kind[VBF_MAX_SHARES];

static int share_of_dev(dev_t dev)
{
	for (int i = 0; i < vbf_nshares; i++)
		if (vbf_shares[i].dev == dev)
			return i;
	return -1;
}

static void chown_learn(int i, int dirfd, const char *path, uid_t uid, gid_t gid, int flags, const struct stat *st)
{
	int saved = errno, kind = CHOWN_UNKNOWN;
	struct stat now;
	if (!strcmp(vbf_shares[i].fstype, "vboxsf"))
		kind = CHOWN_IGNORED;
	else if (((uid != (uid_t)-1 && uid != st->st_uid) || (gid != (gid_t)-1 && gid != st->st_gid)) &&
		 REAL(fstatat)(dirfd, path, &now, flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) == 0 &&
		 now.st_dev == st->st_dev && (now.st_mode & S_IFMT) == (st->st_mode & S_IFMT))
		kind = now.st_uid == st->st_uid && now.st_gid == st->st_gid ? CHOWN_IGNORED : CHOWN_APPLIED;
	if (kind != CHOWN_UNKNOWN)
		chown_kind[i] = (unsigned char)kind;
	errno = saved;
}

void vbf_op_chown_forget(void)
{
	for (int i = 0; i < VBF_MAX_SHARES; i++)
		chown_kind[i] = CHOWN_UNKNOWN;
}

/* The share's chown of the object `st` names: -1 with the share's errno,
 * or 0; *sent says whether it was made. */
static int share_chown(int dirfd, const char *path, uid_t uid, gid_t gid, int flags, const struct stat *st,
		       int *sent)
{
	int i = share_of_dev(st->st_dev);
	*sent = i < 0 || chown_kind[i] != CHOWN_IGNORED;
	if (!*sent) {
		vbf_count(VBF_C_AVOIDED);
		return 0;
	}
	int r = REAL(fchownat)(dirfd, path, uid, gid, flags);
	if (r == 0 && i >= 0 && chown_kind[i] == CHOWN_UNKNOWN)
		chown_learn(i, dirfd, path, uid, gid, flags, st);
	return r;
}

/* The primary group of `uid` in /etc/passwd, read directly (config.h: NSS
 * may not be usable inside a preload). 0, or -1 when it has no entry. */
static int primary_gid(uid_t uid, gid_t *gid)
{
	char *pw = vbf_slurp("/etc/passwd", 16u << 20);
	int r = -1;
	for (char *l = pw, *next; l && *l && r; l = next) {
		next = strchr(l, '\n');
		if (next)
			*next++ = 0;
		char *f[4], *p = l;
		int n = 0;
		for (; n < 4 && p; n++) {
			f[n] = p;
			if ((p = strchr(p, ':')))
				*p++ = 0;
		}
		char *e1, *e2;
		if (n < 4 || !*f[2] || !*f[3])
			continue;
		unsigned long u = strtoul(f[2], &e1, 10), g = strtoul(f[3], &e2, 10);
		if (!*e1 && !*e2 && u == uid && g <= 0xfffffffeul) {
			*gid = (gid_t)g;
			r = 0;
		}
	}
	free(pw);
	return r;
}

/* An object on a share that no name leads to any more (a descriptor of an
 * unlinked file): nothing can be recorded for it, but the owner rules on
 * its view still hold, and a share's refusal is not the program's error,
 * as for any other object on it. `r` is the real call's result. */
static int keyless(const struct vbf_where *w, const struct stat *st, int r, int is_chown, uid_t uid, gid_t gid)
{
	if (r == 0 || !vbf_is_refusal(errno))
		return r;
	struct vbf_view v;
	struct vbf_cred c;
	vbf_view_of(w->idx, NULL, st, &v);
	vbf_cred_get(&c, 1);
	int err = is_chown ? vbf_rule_chown(&c, v.uid, v.gid, uid, gid) : vbf_rule_chmod(&c, v.uid);
	return err ? vbf_fail(err) : 0;
}

/* What a chown or chmod of the share object `w` is judged by: search
 * permission on the way (EACCES: -1), then its view and the caller. */
static int judged(const struct vbf_where *lex, const struct vbf_where *w, const char *path, const struct stat *st,
		  struct vbf_view *v, struct vbf_cred *c)
{
	/* the name as written was searched first (b -> . searches the
	 * directory holding b, which is not below the object's own name) */
	if ((lex && lex->idx >= 0 && lex->key && vbf_may_search(lex, path)) || vbf_may_search(w, path))
		return -1;
	vbf_view_of(w->idx, w->key, st, v);
	vbf_cred_get(c, 1);
	return 0;
}

int vbf_op_chown_where(const struct vbf_where *lex, int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	struct stat st;
	struct vbf_where w;
	int cached = 0;
	if (target_of(lex, dirfd, path, flags, &st, &w, &cached))
		return -1;
	if (w.idx < 0)
		return REAL(fchownat)(dirfd, path, uid, gid, flags);
	if (!w.key)
		return keyless(&w, &st, REAL(fchownat)(dirfd, path, uid, gid, flags), 1, uid, gid);

	struct vbf_view v;
	struct vbf_cred c;
	if (judged(lex, &w, path, &st, &v, &c))
		return -1;
	int err = vbf_rule_chown(&c, v.uid, v.gid, uid, gid);
	if (err)
		return vbf_fail(err);
	/* the kernel clears the setuid bits of a non-directory at every chown,
	 * root's and (-1, -1) included; that part is chmod's right */
	int keep = uid == (uid_t)-1 && gid == (gid_t)-1;
	mode_t perm = vbf_rule_chown_bits(&c, v.gid, st.st_mode, v.mode & 07777);
	if (keep && perm != (v.mode & 07777) && (err = vbf_rule_chmod(&c, v.uid)))
		return vbf_fail(err);

	/* Let the share have its say: some apply the change, vboxsf ignores it,
	 * others refuse it. Only errors about the path itself are the program's. */
	int sent;
	if (share_chown(dirfd, path, uid, gid, flags, &st, &sent) != 0) {
		if (!vbf_is_refusal(errno))
			return -1;
		vbf_count(VBF_C_REFUSED);
	}
	if (sent)
		vbf_cache_changed_key(w.idx, w.key);
	if (keep && perm == (v.mode & 07777))
		return 0; /* nothing changed: nothing to record (a record would freeze this caller's view) */
	struct vbf_rec rec = {.flags = VBF_REC_OWNER | VBF_REC_MODE,
			      .uid = uid == (uid_t)-1 ? v.uid : uid,
			      .gid = gid == (gid_t)-1 ? v.gid : gid,
			      .mode = perm};
	/* Nothing was known about its group: v.gid is only this caller's own,
	 * a stand-in. The new owner saw its own group there, and that is what
	 * it keeps (the entrypoints' `chown mysql` as root would otherwise
	 * make everything the service creates below differ in group). */
	gid_t pg;
	if (gid == (gid_t)-1 && uid != (uid_t)-1 && v.how == VBF_VIEW_CALLER && !primary_gid(uid, &pg))
		rec.gid = pg;
	if (keep && v.how != VBF_VIEW_RECORD)
		rec.flags &= ~VBF_REC_OWNER; /* only the bits change */
	if (rec.mode == (st.st_mode & 07777)) {
		struct vbf_rec old;
		if (!vbf_store_get(w.idx, w.key, &st, &old) || !(old.flags & VBF_REC_MODE))
			rec.flags &= ~VBF_REC_MODE; /* nothing to remember about the mode */
	}
	/* the cache holds real answers, which a chown not sent left as they
	 * were: its entry stays (the record reaches every process by the
	 * store's own counter) */
	record(&w, &st, cached, &rec);
	vbf_count(VBF_C_CHOWN);
	vbf_log_once(VBF_EV_CHOWN, VBF_INFO, "chown on a share recorded (%s)", w.key);
	return 0;
}

static int real_chmod(int dirfd, const char *path, mode_t mode, int flags)
{
	if ((flags & AT_EMPTY_PATH) && (!path || !*path)) {
		if (dirfd == AT_FDCWD)
			return REAL(chmod)(".", mode);
		/* an O_PATH descriptor (fchmodat2 takes one): EBADF to fchmod */
		int r = REAL(fchmod)(dirfd, mode), e = errno;
		if (r && e == EBADF && (r = REAL(fchmodat2)(dirfd, "", mode, AT_EMPTY_PATH)) && errno == ENOSYS)
			errno = e;
		return r;
	}
	return REAL(fchmodat)(dirfd, path, mode, flags & AT_SYMLINK_NOFOLLOW);
}

int vbf_op_chown(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	return vbf_op_chown_where(NULL, dirfd, path, uid, gid, flags);
}

int vbf_op_chmod_where(const struct vbf_where *lex, int dirfd, const char *path, mode_t mode, int flags)
{
	struct stat st;
	struct vbf_where w;
	int cached = 0;
	if (target_of(lex, dirfd, path, flags, &st, &w, &cached))
		return -1;
	if (S_ISLNK(st.st_mode) || w.idx < 0)
		return real_chmod(dirfd, path, mode, flags);
	if (!w.key)
		return keyless(&w, &st, real_chmod(dirfd, path, mode, flags), 0, 0, 0);

	struct vbf_view v;
	struct vbf_cred c;
	if (judged(lex, &w, path, &st, &v, &c))
		return -1;
	int err = vbf_rule_chmod(&c, v.uid);
	if (err)
		return vbf_fail(err);
	mode_t perm = vbf_rule_chmod_bits(&c, v.gid, st.st_mode, mode);

	if (!vbf_rule_chmod_narrows(st.st_mode & 07777, perm) && real_chmod(dirfd, path, perm, flags) != 0) {
		if (!vbf_is_refusal(errno))
			return -1;
		vbf_count(VBF_C_REFUSED);
	}
	struct vbf_rec rec = {.flags = VBF_REC_MODE, .mode = perm};
	struct vbf_rec old;
	if (vbf_store_get(w.idx, w.key, &st, &old) && (old.flags & VBF_REC_OWNER)) {
		rec.flags |= VBF_REC_OWNER;
		rec.uid = old.uid;
		rec.gid = old.gid;
	}
	record(&w, &st, cached, &rec);
	vbf_cache_changed_key(w.idx, w.key);
	vbf_count(VBF_C_CHMOD);
	vbf_log_once(VBF_EV_CHMOD, VBF_INFO, "chmod on a share recorded (%s)", w.key);
	return 0;
}

int vbf_op_chmod(int dirfd, const char *path, mode_t mode, int flags)
{
	return vbf_op_chmod_where(NULL, dirfd, path, mode, flags);
}

int vbf_op_access(const struct vbf_where *lex, int dirfd, const char *path, int mode, int flags, int real_rc,
		  int real_errno)
{
	/* a name whose unlink waits for the last close here (defer.h) */
	if (real_rc == 0 && unlikely(__atomic_load_n(&vbf_defer_nkept, __ATOMIC_RELAXED)) && path && *path &&
	    lex->idx >= 0 && vbf_defer_kept(lex->idx, lex->key))
		return vbf_fail(ENOENT);
	if (real_rc != 0) {
		errno = real_errno;
		vbf_missing_searched_where(lex, dirfd, path);
		return real_rc;
	}
	if (mode == F_OK) { /* only the search on the way: no stat */
		if (path && *path && lex->idx >= 0 && vbf_may_search(lex, path))
			return -1;
		errno = real_errno;
		return 0;
	}
	struct stat st;
	struct vbf_where w;
	int saved = errno;
	if (target_stat(dirfd, path, flags, &st, &w) || w.idx < 0) {
		errno = saved;
		return 0;
	}
	if (vbf_may_search(&w, path))
		return -1;
	struct vbf_view v;
	struct vbf_cred c;
	vbf_view_of(w.idx, w.key, &st, &v);
	vbf_cred_get(&c, flags & AT_EACCESS);
	int err = vbf_rule_access(&c, v.uid, v.gid, v.mode, mode);
	if (err)
		return vbf_fail(err);
	errno = saved;
	return 0;
}

int vbf_op_owner_refused(int dirfd, const char *path, int flags, const char *what)
{
	struct stat st;
	struct vbf_where w;
	int saved = errno, yes = 0;
	if (!path || !*path) {
		path = "";
		flags |= AT_EMPTY_PATH;
	}
	if (target_stat(dirfd, path, flags, &st, &w) == 0 && w.idx >= 0) {
		struct vbf_view v;
		vbf_view_of(w.idx, w.key, &st, &v);
		yes = vbf_euid() == v.uid;
	}
	if (yes) {
		vbf_count(VBF_C_REFUSED);
		vbf_log_once(VBF_EV_OWNER_RIGHT, VBF_INFO, "%s on a share refused by the real owner's check; left unchanged",
			     what);
	}
	errno = saved;
	return yes;
}

/* ---- creation ---- */

static _Atomic int umask_known;
static _Atomic mode_t umask_val;

void vbf_umask_set(mode_t m)
{
	umask_val = m & 0777;
	umask_known = 1;
}

mode_t vbf_umask_get(void)
{
	if (umask_known)
		return umask_val;
	/* "Umask:" in /proc/self/status reads it without the umask(2) dance,
	 * which would race with other threads creating files. */
	char buf[2048];
	mode_t m = 022;
	int fd = REAL(open)("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = REAL(read)(fd, buf, sizeof buf - 1);
		REAL(close)(fd);
		if (n > 0) {
			buf[n] = 0;
			char *p = strstr(buf, "\nUmask:");
			if (p)
				m = (mode_t)strtoul(p + 7, NULL, 8) & 0777;
		}
	}
	vbf_umask_set(m);
	return m;
}

/* Is the directory holding `key` setgid by its record (a share keeps no
 * such bit itself)? Then 1 and the group it gives (its presented one). In
 * memory only. */
static int parent_setgid(int idx, const char *key, gid_t *gid)
{
	char pk[VBF_PATH_CAP];
	const char *slash = strrchr(key, '/');
	size_t n = slash ? (size_t)(slash - key) : 0;
	if (!*key || n >= sizeof pk)
		return 0;
	memcpy(pk, key, n);
	pk[n] = 0;
	struct vbf_rec rec;
	if (!vbf_store_get(idx, pk, NULL, &rec) || !(rec.flags & VBF_REC_MODE) || !(rec.mode & S_ISGID))
		return 0;
	if (rec.flags & VBF_REC_OWNER) {
		*gid = rec.gid;
	} else {
		struct vbf_view v;
		vbf_view_inherited(idx, pk, NULL, &v);
		*gid = v.gid;
	}
	return 1;
}

void vbf_op_created(int dirfd, const char *path, int fd, mode_t mode)
{
	struct stat st;
	struct vbf_where w;
	int saved = errno;
	int r = fd >= 0 ? REAL(fstat)(fd, &st) : target_stat(dirfd, path, AT_SYMLINK_NOFOLLOW, &st, &w);
	if (r == 0 && fd >= 0)
		vbf_where_stat(fd, NULL, 1, &st, &w);
	if (r == 0 && w.idx >= 0 && w.key) {
		/* the wrapper told the cache of the name as written; made through
		 * a symlinked directory, the object's own name is another, whose
		 * "missing" answers other processes must drop too */
		vbf_cache_changed_key(w.idx, w.key);
		/* As on a local disk, the new object is its creator's: euid, and
		 * egid or a setgid directory's group. Recorded only where that is
		 * not what it inherits anyway (view.h), so a service creating
		 * in its own data directory records nothing. When nothing at all
		 * is known (no record above, no VBOXFIX_OWNER), each process
		 * keeps seeing it as its own and nothing is recorded either. */
		uid_t cu = vbf_euid();
		gid_t cg = vbf_egid(), sg = cg;
		int sgid = parent_setgid(w.idx, w.key, &sg);
		if (sgid)
			cg = sg;
		mode_t want = mode & 07777;
		if (want & (S_ISUID | S_ISGID)) {
			struct vbf_cred c;
			vbf_cred_get(&c, 1);
			want = vbf_rule_create_bits(&c, st.st_mode, want, vbf_umask_get(), sgid, sg);
			/* opened for writing: the write that follows would clear them */
			int fl = fd >= 0 ? REAL(fcntl)(fd, F_GETFL) : -1;
			if (fl != -1 && (fl & O_ACCMODE) != O_RDONLY)
				want = vbf_rule_write_bits(&c, cg, st.st_mode, want);
		} else
			want = (want & ~vbf_umask_get()) | (sgid && S_ISDIR(st.st_mode) ? S_ISGID : 0);
		if (S_ISLNK(st.st_mode))
			want = st.st_mode & 07777; /* a symlink's mode is nobody's */
		struct vbf_view inh;
		vbf_view_inherited(w.idx, w.key, &st, &inh);
		struct vbf_rec rec = {0};
		if ((st.st_mode & 07777) != want) {
			rec.flags |= VBF_REC_MODE;
			rec.mode = want;
		}
		if (inh.how != VBF_VIEW_CALLER && (inh.uid != cu || inh.gid != cg)) {
			rec.flags |= VBF_REC_OWNER;
			rec.uid = cu;
			rec.gid = cg;
		}
		struct vbf_rec old;
		if (rec.flags) {
			vbf_store_put_made(w.idx, w.key, &st, &rec);
			vbf_count(VBF_C_CREATE);
		} else if (vbf_store_get(w.idx, w.key, &st, &old)) {
			struct vbf_rec none = {0};
			vbf_store_put(w.idx, w.key, &st, &none); /* a new object starts fresh */
		}
	}
	errno = saved;
}

int vbf_op_rename_owner(int idx, const char *key, struct vbf_view *was)
{
	struct vbf_rec r;
	int saved = errno;
	if (vbf_store_get(idx, key, NULL, &r) && (r.flags & VBF_REC_OWNER)) {
		errno = saved;
		return 0; /* its own record moves with it */
	}
	vbf_view_inherited(idx, key, NULL, was);
	errno = saved;
	return was->how == VBF_VIEW_INHERITED || was->how == VBF_VIEW_OWNER;
}

void vbf_op_renamed(int idx, const char *key, int dirfd, const char *path, const struct vbf_view *was)
{
	struct vbf_view now;
	struct stat st;
	struct vbf_rec rec = {0};
	int saved = errno;
	vbf_view_inherited(idx, key, NULL, &now);
	if ((now.uid != was->uid || now.gid != was->gid) && REAL(fstatat)(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		vbf_store_get(idx, key, &st, &rec); /* a mode record moved with it */
		rec.flags |= VBF_REC_OWNER;
		rec.uid = was->uid;
		rec.gid = was->gid;
		vbf_store_put(idx, key, &st, &rec);
		vbf_cache_changed_key(idx, key);
	}
	errno = saved;
}

/* A write by the descriptor fd, or (fd -1) by the name (dirfd, path). */
static void write_done(const struct vbf_where *w, int fd, int dirfd, const char *path)
{
	struct vbf_rec rec;
	/* the common case: a lookup in memory finds no setuid bits recorded */
	if (!w->key || !vbf_store_get(w->idx, w->key, NULL, &rec) || !(rec.flags & VBF_REC_MODE) ||
	    !(rec.mode & (S_ISUID | S_ISGID)))
		return;
	int saved = errno;
	struct stat st;
	struct vbf_where f;
	if ((fd >= 0 ? REAL(fstat)(fd, &st) : REAL(fstatat)(dirfd, path, &st, 0)) == 0 &&
	    vbf_where_stat(fd >= 0 ? fd : dirfd, fd >= 0 ? NULL : path, 1, &st, &f) >= 0 && f.key &&
	    vbf_store_get(f.idx, f.key, &st, &rec) && (rec.flags & VBF_REC_MODE)) {
		struct vbf_cred c;
		struct vbf_view v;
		vbf_cred_get(&c, 1);
		vbf_view_of(f.idx, f.key, &st, &v);
		mode_t perm = vbf_rule_write_bits(&c, v.gid, st.st_mode, rec.mode & 07777);
		if (perm != (rec.mode & 07777)) {
			rec.mode = perm;
			vbf_store_put(f.idx, f.key, &st, &rec);
			vbf_cache_changed_key(f.idx, f.key);
		}
	}
	errno = saved;
}

void vbf_op_write_open(const struct vbf_where *w, int fd) { write_done(w, fd, AT_FDCWD, NULL); }

void vbf_op_write_path(int dirfd, const char *path)
{
	struct vbf_where w;
	if (path && *path && vbf_where_name(dirfd, path, &w) >= 0)
		write_done(&w, -1, dirfd, path);
}
