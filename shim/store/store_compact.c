/* SPDX-License-Identifier: MIT */
/* Replacing the state store's log: compaction, and removing it with the
 * share root. Both hold the log's lock exclusively (store_file.c), so no
 * writer appends meanwhile; both write a replacement from a table that is
 * the replay of the whole current log, seal the old log, and only then let
 * the name point at the new one. The argument that no acknowledged record
 * is lost is in docs/state-store.md ("Concurrency").
 */
#include "store_int.h"
#include "log.h"

#define CHUNK (256u << 10)

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Call `fn` for each name in directory `dir` (raw getdents64: no malloc under
 * the store's lock, the library's own listing hides store files, and glibc
 * has no getdents64 before 2.30). A
 * non-zero return stops the walk and is returned; -1 when the directory
 * cannot be read. `exact`: only where no symlink leads there (the name
 * /proc gives it is `dir`): a made record's key comes from a log anyone
 * may write, and through a symlink on the share (`x -> /root/private`) a
 * compaction by a privileged process would list names outside the share
 * and tell, by keeping or dropping the record, whether one exists. */
static int each_name(const char *dir, int exact, int (*fn)(void *, int, const char *), void *arg)
{
	char got[PATH_MAX];
	int dfd = (int)RAW(SYS_openat, AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (exact ? O_NOFOLLOW : 0), 0);
	if (dfd < 0)
		return -1;
	if (exact && (vbf_fd_path(dfd, got, sizeof got) < 0 || strcmp(got, dir))) {
		RAW(SYS_close, dfd, 0, 0, 0);
		return -1;
	}
	_Alignas(8) char buf[4096];
	long n;
	int r = 0;
	while (!r && (n = RAW(SYS_getdents64, dfd, buf, sizeof buf, 0)) > 0)
		for (long o = 0; !r && o < n;) {
			struct linux_dirent64 *d = (void *)(buf + o);
			if (d->d_reclen == 0 || o + d->d_reclen > n)
				break;
			o += d->d_reclen;
			if (strcmp(d->d_name, ".") && strcmp(d->d_name, ".."))
				r = fn(arg, dfd, d->d_name);
		}
	RAW(SYS_close, dfd, 0, 0, 0);
	return r;
}

static void split(const char *path, char *dir, size_t cap, const char **base)
{
	const char *sl = strrchr(path, '/');
	*base = sl ? sl + 1 : path;
	size_t n = sl ? (size_t)(sl - path) : 0;
	if (n >= cap)
		n = cap - 1;
	memcpy(dir, path, n);
	dir[n] = 0;
	if (!n)
		snprintf(dir, cap, "%s", sl ? "/" : ".");
}

struct tmp_match {
	const char *base;
	size_t blen;
};

/* Compaction temp files of the log named `base`: "<base>.tmp.*". */
static int unlink_tmp(void *arg, int dfd, const char *name)
{
	const struct tmp_match *m = arg;
	if (!strncmp(name, m->base, m->blen) && !strncmp(name + m->blen, ".tmp.", 5))
		REAL(unlinkat)(dfd, name, 0);
	return 0;
}

/* While we hold the current log's lock exclusively no other compaction can
 * be under way (each checks, under that lock, that its log is current), so
 * every temp file left is from one that was killed. */
static void remove_stale_tmp(const char *path)
{
	char dir[PATH_MAX];
	struct tmp_match m;
	split(path, dir, sizeof dir, &m.base);
	m.blen = strlen(m.base);
	each_name(dir, 0, unlink_tmp, &m);
}

/* ---- dormant made records ---- */

/* A made record (store.h, VBF_REC_MADE) stays when its name is unlinked, so
 * a file a service recreates at every start costs nothing; one whose name
 * never comes back (a temporary file with a unique name) must not stay
 * forever. Compaction looks for the names of made records, one listing per
 * directory: a record whose name is missing is marked gone, and dropped by
 * the next compaction that misses it too. Two looks, not one: a rename
 * moves a name before its record, and the renamer appends its record only
 * after this compaction (it waits for our lock), which clears the mark. A
 * renamer held up longer still has the record it saw before (a file), or
 * held the log's lock from before the rename (a directory with made records
 * below), so no record is lost either way (docs/state-store.md, "Recreated
 * files"). */

#define SEEN 0x80000000u /* in rec.flags during prune_made only: listed */
/* Directories one compaction lists at most. Every made record's directory
 * is looked at, the names of files that exist too, and all of it under
 * the exclusive lock, which other processes' appends wait for (10 s at
 * most, then memory only): 10,000 directories made 70,405 requests and
 * 2-3 s on the test share, where the compaction itself makes about 600.
 * The rest waits for later compactions, which start elsewhere (a record
 * is only dropped when two looks at its directory missed it, however far
 * apart). */
#define PRUNE_DIRS 256

struct dir_seen {
	UT_hash_handle hh;
	int ok;          /* it could be listed */
	uint16_t klen;
	char key[];
};

struct prune {
	struct vbf_store *s;
	char path[PATH_MAX]; /* the directory's, then a record's */
	size_t rlen;         /* of the log's root in path */
	char key[VBF_KEY_MAX + 1];
	size_t dlen;         /* of the directory's key in key */
};

static int mark_listed(void *arg, int dfd, const char *name)
{
	struct prune *p = arg;
	size_t n = strlen(name), at = p->dlen ? p->dlen + 1 : 0;
	(void)dfd;
	if (at + n > VBF_KEY_MAX)
		return 0;
	if (p->dlen)
		p->key[p->dlen] = '/';
	memcpy(p->key + at, name, n);
	struct vbf_ent *e = vbf_ent_find(p->s, p->key, at + n);
	if (e && vbf_ent_dormant(e))
		e->rec.flags |= SEEN;
	return 0;
}

/* The directory the keys are relative to: the share root, or the directory
 * of a log above it (store_where.c: the root's key there is kprefix). */
static size_t log_root(const struct vbf_store *s, char *out, size_t cap)
{
	size_t rl = strlen(s->root), pl = strlen(s->kprefix);
	if (pl)
		rl = rl > pl + 1 ? rl - pl - 1 : 1;
	if (rl >= cap)
		return 0;
	memcpy(out, s->root, rl);
	out[rl] = 0;
	return !strcmp(out, "/") ? 0 : rl; /* "/" + key: no doubled slash */
}

/* Was the directory of e listed, and could it be? Listed now if not, and
 * -1 when this compaction has listed PRUNE_DIRS already. */
static int dir_listed(struct prune *p, struct dir_seen **dirs, unsigned *ndirs, const struct vbf_ent *e)
{
	const char *sl = memrchr(e->key, '/', e->klen);
	size_t dl = sl ? (size_t)(sl - e->key) : 0;
	struct dir_seen *d;
	HASH_FIND(hh, *dirs, e->key, dl, d);
	if (d)
		return d->ok;
	if (*ndirs >= PRUNE_DIRS)
		return -1;
	if (!(d = vbf_arena_alloc(sizeof *d + dl + 1)))
		return 0;
	++*ndirs;
	memcpy(d->key, e->key, dl);
	d->key[dl] = 0;
	d->klen = (uint16_t)dl;
	memcpy(p->key, e->key, dl);
	p->dlen = dl;
	int n = snprintf(p->path + p->rlen, sizeof p->path - p->rlen, "%s%s", dl ? "/" : "", d->key);
	d->ok = n >= 0 && (size_t)n < sizeof p->path - p->rlen && each_name(p->path[0] ? p->path : "/", 1, mark_listed, p) == 0;
	HASH_ADD(hh, *dirs, key[0], d->klen, d);
	return d->ok;
}

/* The name of e is missing: not in its directory's listing, and a lookup
 * (a share that lists names in another case or form than we keyed them)
 * says so too. */
static int missing(struct prune *p, const struct vbf_ent *e)
{
	struct stat st;
	int n = snprintf(p->path + p->rlen, sizeof p->path - p->rlen, "/%s", e->key);
	return n >= 0 && (size_t)n < sizeof p->path - p->rlen &&
	       REAL(fstatat)(AT_FDCWD, p->path, &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT;
}

/* Log held exclusively, table read to its end. The number of records
 * changed or dropped. */
/* One made record looked for: 1 when changed or dropped. A record whose
 * directory is over the budget is left as it is (its SEEN cannot be set:
 * only a listing of its directory sets it). */
static int prune_one(struct prune *p, struct dir_seen **dirs, unsigned *ndirs, struct vbf_ent *e)
{
	if (!vbf_ent_dormant(e))
		return 0;
	uint32_t was = e->rec.flags;
	int listed = dir_listed(p, dirs, ndirs, e);
	if (listed < 0)
		return 0;
	if (!listed || (e->rec.flags & SEEN) || !missing(p, e)) {
		e->rec.flags &= ~(SEEN | VBF_REC_GONE);
	} else if (e->rec.flags & VBF_REC_GONE) {
		struct vbf_op op = {.type = VBF_OP_FORGET, .key = e->key, .klen = e->klen};
		vbf_store_apply(p->s, &op);
		return 1;
	} else {
		e->rec.flags |= VBF_REC_GONE;
	}
	return e->rec.flags != was;
}

static int prune_made(struct vbf_store *s)
{
	struct prune *p = vbf_arena_alloc(sizeof *p);
	struct dir_seen *dirs = NULL, *d, *dt;
	struct vbf_ent *e, *t;
	int changed = 0;
	unsigned ndirs = 0, n = HASH_COUNT(s->tab);
	if (!p)
		return 0;
	p->s = s;
	p->rlen = log_root(s, p->path, sizeof p->path);
	/* from a place the clock picks, around the table once: what the
	 * budget leaves out now comes first another time (the log's size
	 * alone stays the same while only marks change). Only the record in
	 * hand is ever dropped, and only at or after `start` on the first
	 * pass, so the entries before it are the same ones on the second. */
	struct timespec ts = {0, 0};
	REAL(clock_gettime)(CLOCK_MONOTONIC, &ts);
	unsigned start = n ? (unsigned)((s->pos + (uint64_t)ts.tv_nsec / 1000) % n) : 0, i = 0;
	HASH_ITER(hh, s->tab, e, t)
		if (i++ >= start)
			changed += prune_one(p, &dirs, &ndirs, e);
	i = 0;
	HASH_ITER(hh, s->tab, e, t)
		if (i++ < start)
			changed += prune_one(p, &dirs, &ndirs, e);
		else
			break;
	HASH_ITER(hh, dirs, d, dt) {
		HASH_DEL(dirs, d);
		vbf_arena_free(d, sizeof *d + d->klen + 1);
	}
	vbf_arena_free(p, sizeof *p);
	return changed;
}

static int flush(int fd, uint8_t *buf, size_t *n)
{
	int r = *n ? vbf_file_write_all(fd, buf, *n) : 0;
	*n = 0;
	return r;
}

/* The table as a log: H, then one P per record. Bytes written, or -1. */
static int64_t write_table(struct vbf_store *s, int fd)
{
	uint8_t *buf = vbf_arena_alloc(CHUNK);
	if (!buf)
		return -1;
	int bad = 0;
	size_t n = 0;
	int64_t total = 0;
	struct vbf_op op = {.type = VBF_OP_HEAD};
	n = vbf_rec_encode(&op, buf);
	for (struct vbf_ent *e = s->tab; e && !bad; e = e->hh.next) {
		if (CHUNK - n < VBF_REC_MAX) {
			total += (int64_t)n;
			bad = flush(fd, buf, &n);
		}
		op = (struct vbf_op){.type = VBF_OP_PUT, .rec = e->rec, .key = e->key, .klen = e->klen};
		op.fp.type = e->fptype & S_IFMT;
		op.fp.has_ino = e->fptype & VBF_FP_INO;
		op.fp.ino = e->ino;
		n += vbf_rec_encode(&op, buf + n);
	}
	if (CHUNK - n < VBF_REC_MAX) {
		total += (int64_t)n;
		bad = bad || flush(fd, buf, &n);
	}
	/* the mark: readers count the log's growth from here (vbf_file_compact) */
	op = (struct vbf_op){.type = VBF_OP_FORGET, .key = VBF_COMPACTED_KEY, .klen = sizeof VBF_COMPACTED_KEY - 1};
	n += vbf_rec_encode(&op, buf + n);
	total += (int64_t)n;
	bad = bad || flush(fd, buf, &n);
	vbf_arena_free(buf, CHUNK);
	return bad ? -1 : total;
}

static int seal(struct vbf_store *s)
{
	uint8_t rec[VBF_REC_HDR + 4];
	struct vbf_op op = {.type = VBF_OP_SEAL};
	return vbf_file_write_all(s->fd, rec, vbf_rec_encode(&op, rec));
}

/* Write the table to a new file and rename it over the log we hold (locked
 * exclusively, read to its end, still named by its path). 0, or -1 with the
 * old log left in place. */
static int replace_log(struct vbf_store *s)
{
	char tmp[PATH_MAX + 48];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", s->path, (long)REAL(getpid)()) >= (int)sizeof tmp)
		return -1;
	int fd = REAL(open)(tmp, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0666);
	if (fd < 0)
		return -1;
	REAL(fchmod)(fd, 0666);
	int64_t len = write_table(s, fd);
	uint64_t before = s->pos;
	/* no log is created at the name while it moves (store_file.c) */
	int lk = len < 0 ? -1 : vbf_file_name_lock(s->path, 1);
	/* The seal before the name moves: a writer that reads it then finds
	 * the path naming the new log, or us dead and the seal void. */
	int bad = lk < 0 || seal(s) < 0;
	if (!bad) {
		vbf_file_read_tail(s);
		if (s->pos != before + VBF_REC_HDR + 4) {
			/* records that came without the lock (a program closed
			 * our descriptor, dropping it): the table has them now */
			bad = REAL(ftruncate)(fd, 0) < 0 || (len = write_table(s, fd)) < 0;
		}
	}
	/* the data must be on disk before the name points at it */
	bad = bad || REAL(fsync)(fd) < 0;
	bad = bad || REAL(renameat)(AT_FDCWD, tmp, AT_FDCWD, s->path) < 0;
	vbf_file_name_unlock(lk);
	if (bad) {
		REAL(unlinkat)(AT_FDCWD, tmp, 0);
		REAL(close)(fd);
		return -1;
	}
	vbf_file_unlock(s); /* before its descriptor closes */
	vbf_file_adopt(s, vbf_file_move_high(fd), (uint64_t)len, 0);
	s->base = (uint64_t)len;
	vbf_file_bump(s);
	return 0;
}

/* Take the log exclusively and make sure it is the current one, read to
 * its end: only then may it be replaced from the table. */
static int take_current(struct vbf_store *s, int wait)
{
	/* our own hold would let the lock be upgraded under it */
	if (s->fd < 0 || !s->writable || s->forked || s->holds)
		return -1;
	if (vbf_file_lock(s, F_WRLCK, wait) < 0)
		return -1;
	if (s->nolock) /* no lock to exclude others: never replace */
		return -1;
	vbf_file_read_tail(s);
	if (!s->writable || s->sealed || !vbf_file_is_current(s)) {
		vbf_file_unlock(s);
		return -1;
	}
	return 0;
}

int vbf_file_compact(struct vbf_store *s, int force)
{
	vbf_file_here(s);
	if (s->fd < 0 || !s->writable || s->nolock)
		return -1;
	/* Due when dead records are half the log, or when it has doubled
	 * since the last compaction: dormant made records count as live until
	 * a compaction looks for their names (prune_made) */
	if (!force && (s->pos < vbf_compact_min || (s->pos < 2 * s->live && s->pos < 2 * s->base) ||
		       s->pos < s->next_compact_try))
		return -1;
	/* not again before the log grows by half: a share that refuses the
	 * rename (Windows host, file open elsewhere) must not make every put
	 * rewrite the whole file */
	s->next_compact_try = s->pos + s->pos / 2;
	if (take_current(s, force) < 0)
		return -1;
	remove_stale_tmp(s->path);
	int pruned = prune_made(s);
	int r = replace_log(s);
	if (r < 0)
		vbf_file_unlock(s);
	if (r < 0 && pruned) /* the table is the replay of the log again */
		vbf_file_adopt(s, s->fd, 0, 1);
	else
		s->next_compact_try = 0;
	return r;
}

/* ---- rmdir of the share root ---- */

static int foreign_entry(void *arg, int dfd, const char *name)
{
	(void)arg, (void)dfd;
	return !vbf_store_name_internal(name);
}

/* The store's files but the log's own name: a log found there now was
 * made by a writer that followed our seal, and holds its records. */
static int unlink_store_file(void *arg, int dfd, const char *name)
{
	(void)arg;
	if (vbf_store_name_internal(name) && strcmp(name, VBF_STORE_NAME))
		REAL(unlinkat)(dfd, name, 0);
	return 0;
}

/* The rmdir failed after all: the log comes back. Whatever log the path
 * names now (one a writer made after our seal, or a new one) is read over
 * our table first, its records being the newer, then the whole table is
 * appended, so the file's replay is the merge. */
static void put_back(struct vbf_store *s)
{
	const char *why;
	int fd = vbf_file_open_path(s, &why);
	int ok = fd >= 0;
	if (ok) {
		vbf_file_adopt(s, fd, 0, 0); /* the table stays */
		ok = vbf_file_lock(s, F_WRLCK, 1) == 0;
		if (ok) {
			vbf_file_read_tail(s);
			ok = write_table(s, s->fd) >= 0;
			vbf_file_read_tail(s);
			vbf_file_unlock(s);
			vbf_file_bump(s);
		}
	}
	if (!ok) {
		s->writable = 0;
		vbf_log_once(VBF_EV_STORE_RO, VBF_WARN,
			     "state store %s: could not be put back after a failed rmdir: records kept in memory only",
			     s->path);
	}
}

int vbf_file_rmdir_root(struct vbf_store *s, int (*again)(void *), void *arg)
{
	vbf_file_here(s);
	/* only the store's files left, or ENOTEMPTY stands and nothing moves */
	if (each_name(s->root, 0, foreign_entry, NULL) != 0)
		return -1;
	int ours = s->intkey[0] && !strchr(s->intkey, '/');
	if (ours && take_current(s, 1) < 0)
		return -1;
	if (ours && each_name(s->root, 0, foreign_entry, NULL) != 0) {
		vbf_file_unlock(s);
		return -1;
	}
	if (ours) {
		/* Under the exclusive lock the log leaves its name, so a writer
		 * that waited reads the seal, finds the path free and starts a
		 * new log there (which keeps the rmdir from succeeding, and is
		 * merged back below) instead of writing into this one. Our
		 * descriptor goes before the rmdir: FUSE keeps an unlinked open
		 * file as a hidden entry. */
		char gone[PATH_MAX + 48];
		snprintf(gone, sizeof gone, "%s.tmp.rmdir.%ld", s->path, (long)REAL(getpid)());
		REAL(renameat)(AT_FDCWD, s->path, AT_FDCWD, gone);
		seal(s);
		vbf_file_unlock(s);
		REAL(close)(s->fd);
		s->fd = -1;
	}
	each_name(s->root, 0, unlink_store_file, NULL);
	int r = again(arg), e = errno;
	if (ours && r < 0) {
		put_back(s); /* something appeared meanwhile: every record stays */
	} else if (ours) {
		vbf_store_clear(s); /* the tree is gone and so are its records */
		s->writable = 0;
		vbf_file_bump(s);
	}
	errno = e;
	return r;
}
