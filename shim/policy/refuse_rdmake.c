/* SPDX-License-Identifier: MIT */
/* Making, removing and moving redirected FIFOs, sockets and device nodes
 * (refuse.h; the layout and who may change what are described at the top
 * of refuse_redirect.c, which finds what a name leads to): the directory
 * for this uid's new objects, made and checked; births; names given up and
 * forwards; mknod, bind and connect. */
#include "refuse.h"
#include "cache.h"
#include "log.h"
#include "own.h"
#include "real.h"
#include "config.h"
#include <time.h>

/* The index directories inside this user's own u<uid> (refuse_list.c): a
 * mkdir that tolerates an existing directory of this user. Only this user
 * can write there, so the name cannot change under us. */
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
		   : !vbf_redirect_dir_private(&st, me))
		r = MD_FOREIGN;
	if (r == MD_OK) {
		*bad = un;
		r = make_dir(dfd, un, 0755, me, &ufd, &st);
		if (r == MD_OK) {
			if (!vbf_redirect_dir_private(&st, me))
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
	snprintf(tmp, sizeof tmp, "%s/.t%ld.%u", dir, (long)REAL(getpid)(), seq++);
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
	char dir[VBF_REDIRECT_CAP], p[VBF_REDIRECT_CAP];
	if (id->uid == (unsigned int)REAL(geteuid)())
		snprintf(dir, sizeof dir, "%s", own);
	else
		snprintf(dir, sizeof dir, "%s/u%u", vbf_redirect_base(), id->uid);
	return vbf_redirect_where_id(dir, id, p) == 0;
}

/* Is `k` object `id` (its birth names it; the slot it is in may differ)? */
static int same_object(const struct vbf_rd_id *k, const struct vbf_rd_id *id)
{
	return k->uid == id->uid && !strcmp(k->birth, id->birth);
}

/* The list dir/k<h> of names given up, rewritten: `add` first (NULL:
 * none), then what it held but `drop` (NULL: none) and the objects that
 * are gone. Written only when something changes; an empty list goes. */
static int rewrite_kills(const char *dir, uint64_t h, const struct vbf_rd_id *add, const struct vbf_rd_id *drop)
{
	char name[24], old[VBF_KILLS_MAX * 64], text[VBF_KILLS_MAX * 64];
	struct vbf_rd_id ids[VBF_KILLS_MAX];
	int n = 0, dropped = 0, w = 0;
	size_t len = 0;
	snprintf(name, sizeof name, "k%016llx", (unsigned long long)h);
	if (vbf_redirect_read_entry(dir, "k", h, old, sizeof old) == 0)
		vbf_redirect_parse_ids(old, ids, &n);
	text[0] = 0;
	if (add && (w = id_text(add, text, sizeof text)) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	len = (size_t)w;
	for (int i = 0; i < n; i++) {
		char one[64];
		int m;
		if (drop && same_object(&ids[i], drop)) {
			dropped = 1;
			continue;
		}
		/* gone objects are pruned by the list's owner (id_alive looks in
		 * this uid's own directory as `dir`) */
		if ((add && (vbf_redirect_same_id(&ids[i], add) || !id_alive(dir, &ids[i]))) ||
		    (m = id_text(&ids[i], one, sizeof one)) < 0 || len + 1 + (size_t)m >= sizeof text)
			continue;
		if (len)
			text[len++] = ' ';
		memcpy(text + len, one, (size_t)m + 1);
		len += (size_t)m;
	}
	if (!add && !dropped)
		return 0;
	if (!len) {
		char p[VBF_REDIRECT_CAP + 24];
		snprintf(p, sizeof p, "%s/%s", dir, name);
		return REAL(unlinkat)(AT_FDCWD, p, 0);
	}
	return put_link(dir, name, text);
}

/* Give up object `id` under hash `h`: add it to this uid's k<h>, dropping
 * the names of objects that are gone. */
static int give_up(const char *own, uint64_t h, const struct vbf_rd_id *id) { return rewrite_kills(own, h, id, NULL); }

/* Object `id` was put under hash `h` (a rename onto that name): a list
 * that gave it up there no longer holds, as a local filesystem shows the
 * name again. This uid's own list, and, for root, every uid's (nobody else
 * can change another's: a list only root could clear stays: refusals.md). */
static void revive(uint64_t h, const struct vbf_rd_id *id)
{
	char dirs[8][VBF_REDIRECT_CAP];
	int saved = errno, n = vbf_redirect_dirs(dirs, 8);
	for (int i = 0; i < n; i++)
		rewrite_kills(dirs[i], h, NULL, id);
	errno = saved;
}

/* A new birth for this uid's slot <h> in `own`: written before the object
 * (no list of names given up can name it), or to give the object there a
 * new identity. */
static int new_birth(const char *own, uint64_t h)
{
	char bname[24], birth[VBF_BIRTH_MAX];
	struct timespec ts;
	REAL(clock_gettime)(CLOCK_REALTIME, &ts);
	snprintf(bname, sizeof bname, "b%016llx", (unsigned long long)h);
	snprintf(birth, sizeof birth, "%lld.%09ld.%ld", (long long)ts.tv_sec, ts.tv_nsec, (long)REAL(getpid)());
	return put_link(own, bname, birth);
}

int vbf_redirect_prepare(const struct vbf_where *w, int dirfd, const char *path, char buf[VBF_REDIRECT_CAP])
{
	char own[VBF_REDIRECT_CAP];
	struct stat st;
	uint64_t h;
	if (REAL(fstatat)(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	if (errno != ENOENT || vbf_refuse_parent_ok(dirfd, path) != 0) {
		if (errno == ENOENT && vbf_redirect_below(w))
			errno = ENOTDIR;
		return -1;
	}
	if (vbf_redirect_lookup(w, buf) == 0) {
		errno = EEXIST;
		return -1;
	}
	if (hash_of(w, &h) != 0 || own_dir(own, sizeof own) != 0 || vbf_redirect_mark(own, w) != 0)
		return -1;
	int n = snprintf(buf, VBF_REDIRECT_CAP, "%s/%016llx", own, (unsigned long long)h);
	if (n < 0 || n >= VBF_REDIRECT_CAP) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* What is left in this uid's slot leads nowhere under this name (the
	 * lookup found nothing): a dead forward, or an object given up by
	 * another uid, which a forward that uid left elsewhere (a rename away)
	 * may still lead to: that one is put aside, not removed. */
	struct stat old;
	struct vbf_rd_id oid = {(unsigned int)REAL(geteuid)(), h, ""};
	char aside[VBF_REDIRECT_CAP];
	vbf_redirect_birth_of(own, h, oid.birth);
	if (vbf_redirect_lstat(buf, &old) != 0 || !vbf_redirect_is_object(&old) || !oid.birth[0] ||
	    vbf_redirect_stash_name(own, &oid, aside) != 0 || REAL(rename)(buf, aside) != 0)
		REAL(unlinkat)(AT_FDCWD, buf, 0);
	return new_birth(own, h);
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
	if (vbf_redirect_find_entry(h, obj, ent, &id) != 0) {
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
	if (vbf_redirect_find_entry(ha, obj, ent, &id) != 0) {
		errno = ENOENT;
		return -1;
	}
	if (own_dir(own, sizeof own) != 0 || vbf_redirect_mark(own, wb) != 0)
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
		revive(hb, &id);
		/* a forward moved: the object may still be under the old name
		 * where it lives (its creator's slot), given up then as below */
		struct vbf_rd_id still;
		if (strcmp(obj, ent) && vbf_redirect_find_entry(ha, obj, ent, &still) == 0 && same_object(&still, &id))
			give_up(own, ha, &id);
		return 0;
	}
	if (errno != EACCES && errno != EPERM)
		return -1;
	if (!strcmp(to, obj)) {
		/* this uid's object back at its own slot from another uid's
		 * forward, which only that uid can remove: a new birth makes it
		 * another identity, which no list gives up and the forward no
		 * longer leads to (a forward here would replace the object) */
		if (new_birth(own, hb) != 0)
			return -1;
		vbf_redirect_index(to, wb, 1);
		return 0;
	}
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
	revive(hb, &id);
	vbf_count(VBF_C_EMULATED);
	return 0;
}

int vbf_refuse_mknod(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	struct vbf_where w, cw;
	char local[VBF_REDIRECT_CAP];
	mode_t type = mode & S_IFMT;
	/* the kernel's order: the search on the way, a name that exists (a
	 * FIFO or socket kept off the share: EEXIST), the permission to make */
	if (!vbf_ready() || vbf_where_name(dirfd, path, &w) < 0 || vbf_may_search(&w, path))
		return -1;
	if (w.key && *w.key && vbf_redirect_lookup(&w, local) == 0)
		return vbf_fail(EEXIST);
	if (vbf_may_create(&w, dirfd, path))
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
		const struct vbf_where *at = vbf_redirect_canon(&w, dirfd, path, 0, &cw);
		if (vbf_redirect_prepare(at, dirfd, path, local) != 0) {
			if (errno == ENAMETOOLONG)
				errno = err;
			return -1;
		}
		if (REAL(mknodat)(AT_FDCWD, local, (mode & 07777) | type, dev_node ? dev : 0) != 0)
			return -1;
		vbf_redirect_index(local, at, 1);
		vbf_cache_changed_key(at->idx, at->key); /* the wrapper tells of the name as written */
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
	struct vbf_where w, cw;
	struct sockaddr_un un;
	if (!unix_path(sa, len, path) || !vbf_ready() || vbf_where_name(AT_FDCWD, path, &w) < 0) {
		errno = err;
		return -1;
	}
	if (vbf_may_search(&w, path))
		return -1;
	if (w.key && *w.key && vbf_redirect_lookup(&w, local) == 0) /* before the permission */
		return vbf_fail(EADDRINUSE);
	if (vbf_may_create(&w, AT_FDCWD, path))
		return -1;
	const struct vbf_where *at = vbf_redirect_canon(&w, AT_FDCWD, path, 0, &cw);
	if (vbf_redirect_prepare(at, AT_FDCWD, path, local) != 0) {
		errno = errno == EEXIST ? EADDRINUSE : errno == ENAMETOOLONG ? err : errno;
		return -1;
	}
	socklen_t n = local_addr(&un, local);
	if (REAL(bind)(fd, (const struct sockaddr *)&un, n) != 0)
		return -1;
	vbf_redirect_index(local, at, 1);
	/* every process's "missing" answer for the name goes */
	vbf_cache_changed_key(w.idx, w.key);
	vbf_cache_changed_key(at->idx, at->key);
	vbf_count(VBF_C_EMULATED);
	vbf_log_once(VBF_EV_SOCK, VBF_INFO, "a unix socket on a share lives in the local directory (%s)", local);
	return 0;
}

int vbf_refuse_connect(int fd, const struct sockaddr *sa, socklen_t len, int err)
{
	char path[sizeof ((struct sockaddr_un *)0)->sun_path + 1], local[VBF_REDIRECT_CAP];
	struct vbf_where w;
	struct sockaddr_un un;
	if (!unix_path(sa, len, path) || !vbf_ready() || vbf_where_name(AT_FDCWD, path, &w) < 0 ||
	    vbf_redirect_lookup_name(&w, AT_FDCWD, path, 1, local) != 0) {
		errno = err;
		return -1;
	}
	socklen_t n = local_addr(&un, local);
	return REAL(connect)(fd, (const struct sockaddr *)&un, n);
}
