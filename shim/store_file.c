/* The state store's log file and the shared generation counter.
 *
 * One append-only file per share (default <root>/.vboxfix.state), whole
 * records written with one O_APPEND write(2) each, so concurrent writers in
 * any process never interleave. A page in /dev/shm named after the file
 * carries a generation counter bumped after every append and an epoch bumped
 * after every compaction: a lookup reads the log only when the counter moved,
 * so the stat path costs one memory load and no request to the share.
 * flock on that page's file orders writers (shared) against compaction
 * (exclusive); the kernel drops it when a holder dies.
 */
#include "store_int.h"
#include "log.h"
#include <sys/file.h>
#include <sys/mman.h>

#define SHM_MAGIC 0x76626667u /* "gfbv" */
#define CHUNK (256u << 10)
#define HIGH_FD 512

uint64_t vbf_compact_min = 256 * 1024;

static uint64_t fnv64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 0x100000001b3ull;
	return h;
}

#define RAW(n, a, b, c, d) vbf_raw_syscall(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

/* Programs close "all" descriptors at start-up; keep ours out of the low
 * range they usually walk, and cloexec. */
static int move_high(int fd)
{
	if (fd < 0 || fd >= HIGH_FD)
		return fd;
	int hi = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, HIGH_FD);
	if (hi < 0)
		return fd;
	REAL(close)(fd);
	return hi;
}

/* The default name is opened with O_NOFOLLOW: a symlink planted on the share
 * must not make us write elsewhere. VBOXFIX_STATE may be a symlink. */
static int open_log(const char *path, int *created, int log_nofollow)
{
	int fd = REAL(open)(path, O_RDWR | O_APPEND | O_CLOEXEC | log_nofollow, 0);
	*created = 0;
	if (fd < 0 && errno == ENOENT) {
		fd = REAL(open)(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | log_nofollow, 0666);
		if (fd >= 0) {
			*created = 1;
			/* every service user shares the file: umask must not
			 * shut one of them out */
			RAW(SYS_fchmod, fd, 0666, 0, 0);
		} else if (errno == EEXIST) {
			fd = REAL(open)(path, O_RDWR | O_APPEND | O_CLOEXEC | log_nofollow, 0);
		}
	}
	return move_high(fd);
}

static int write_all(int fd, const uint8_t *b, size_t n)
{
	while (n) {
		ssize_t w = REAL(write)(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static void shm_attach(struct vbf_store *s)
{
	s->shm = &s->private_shm;
	s->shm_fd = -1;
	snprintf(s->shmname, sizeof s->shmname, "/dev/shm/vboxfix-%016llx", (unsigned long long)fnv64(s->path));
	int fd = REAL(open)(s->shmname, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
	if (fd < 0)
		goto fail;
	fd = move_high(fd);
	struct stat st;
	if (REAL(fstat)(fd, &st) < 0 || !S_ISREG(st.st_mode))
		goto fail_fd;
	if (st.st_uid == (uid_t)RAW(SYS_geteuid, 0, 0, 0, 0) && (st.st_mode & 0777) != 0666)
		RAW(SYS_fchmod, fd, 0666, 0, 0);
	if (st.st_size < 4096 && ftruncate(fd, 4096) < 0)
		goto fail_fd;
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		goto fail_fd;
	s->shm = m;
	s->shm_fd = fd;
	if (s->shm->magic != SHM_MAGIC) { /* new page: zero is a fine start */
		s->shm->version = 1;
		s->shm->magic = SHM_MAGIC;
	}
	return;
fail_fd:
	REAL(close)(fd);
fail:
	vbf_log_once(VBF_EV_STORE_RO, VBF_WARN,
		     "state store %s: no shared counter in /dev/shm (%s): other processes' changes are seen only after restart",
		     s->path, strerror(errno));
}

static int shm_lock(struct vbf_store *s, int how)
{
	if (s->shm_reopen && s->shm_fd >= 0) {
		/* after fork our descriptor shares the parent's open file, so
		 * flock would not exclude the parent: get our own */
		int fd = move_high(REAL(open)(s->shmname, O_RDWR | O_CLOEXEC | O_NOFOLLOW));
		if (fd >= 0) {
			REAL(close)(s->shm_fd);
			s->shm_fd = fd;
		}
		s->shm_reopen = 0;
	}
	int r = 0;
	if (s->shm_fd >= 0)
		while ((r = flock(s->shm_fd, how)) < 0 && errno == EINTR)
			;
	return r;
}

static void shm_unlock(struct vbf_store *s)
{
	if (s->shm_fd >= 0)
		flock(s->shm_fd, LOCK_UN);
}

static void remember_identity(struct vbf_store *s)
{
	struct stat st;
	if (s->fd >= 0 && REAL(fstat)(s->fd, &st) == 0) {
		s->fdev = st.st_dev;
		s->fino = st.st_ino;
	}
}

static void apply_cb(void *arg, const struct vbf_op *op) { vbf_store_apply(arg, op); }

/* Read and apply the log from s->pos to its end. Bounded memory: one chunk. */
static void read_tail(struct vbf_store *s)
{
	if (s->fd < 0)
		return;
	if (!s->iobuf && !(s->iobuf = vbf_arena_alloc(CHUNK)))
		return;
	uint8_t *buf = s->iobuf;
	size_t have = 0;
	unsigned skipped = 0;
	uint64_t off = s->pos + 0;
	for (;;) {
		ssize_t r = pread(s->fd, buf + have, CHUNK - have, (off_t)(off + have));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		have += (size_t)r;
		int eof = r == 0 || have < CHUNK;
		size_t used = vbf_rec_scan(buf, have, eof, apply_cb, s, &skipped);
		off += used;
		s->pos = off;
		if (eof)
			break;
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	if (skipped)
		vbf_log_once(VBF_EV_STORE_BAD, VBF_WARN, "state store %s: skipped %u unreadable stretch(es)", s->path,
			     skipped);
}

static void reload(struct vbf_store *s)
{
	int created;
	int fd = open_log(s->path, &created, s->nofollow);
	if (fd >= 0) {
		REAL(close)(s->fd);
		s->fd = fd;
		remember_identity(s);
	}
	vbf_store_clear(s);
	s->pos = 0;
	read_tail(s);
}

/* The program may have closed our descriptor and reused the number (daemons
 * close "all" descriptors): never read another file as the log, never write
 * a record into it. Checked only when the log is about to be used, so the
 * lookup path stays free of system calls. 1 when s->fd is the log. */
static int check_fd(struct vbf_store *s)
{
	struct stat st;
	if (s->fd >= 0 && REAL(fstat)(s->fd, &st) == 0 && st.st_dev == s->fdev && st.st_ino == s->fino)
		return 1;
	int created;
	int fd = open_log(s->path, &created, s->nofollow);
	if (fd < 0)
		return 0;
	s->fd = fd; /* the old number is the program's now: not closed */
	remember_identity(s);
	return 1;
}

static void sync_log(struct vbf_store *s, int verify)
{
	uint64_t e = atomic_load(&s->shm->epoch);
	uint64_t g = atomic_load(&s->shm->gen);
	if (e != s->seen_epoch)
		reload(s);
	else if (g != s->seen_gen && (!verify || check_fd(s)))
		read_tail(s);
	s->seen_epoch = e;
	s->seen_gen = g;
}

void vbf_file_sync(struct vbf_store *s) { sync_log(s, 1); }

int vbf_file_append(struct vbf_store *s, const struct vbf_op *op)
{
	uint8_t *rec = s->recbuf;
	size_t n = vbf_rec_encode(op, rec);
	if (!n)
		return -1;
	if (s->fd < 0 || !s->writable) {
		vbf_store_apply(s, op);
		return -1;
	}
	shm_lock(s, LOCK_SH);
	vbf_file_sync(s);
	if (!check_fd(s)) {
		shm_unlock(s);
		s->writable = 0;
		vbf_log_once(VBF_EV_STORE_RO, VBF_WARN, "state store %s lost: records kept in memory only", s->path);
		vbf_store_apply(s, op);
		return -1;
	}
	int rc = write_all(s->fd, rec, n);
	if (rc == 0) {
		atomic_fetch_add(&s->shm->gen, 1);
		sync_log(s, 0); /* applies ours, in log order with the others' */
	} else {
		vbf_log_once(VBF_EV_STORE_RO, VBF_WARN, "state store %s: write failed (%s): records kept in memory only",
			     s->path, strerror(errno));
		vbf_store_apply(s, op);
	}
	shm_unlock(s);
	if (rc == 0)
		vbf_file_compact(s, 0);
	return rc;
}

static int flush(int fd, uint8_t *buf, size_t *n)
{
	int r = *n ? write_all(fd, buf, *n) : 0;
	*n = 0;
	return r;
}

int vbf_file_compact(struct vbf_store *s, int force)
{
	if (s->fd < 0 || !s->writable)
		return -1;
	if (!force && (s->pos < vbf_compact_min || s->pos < 2 * s->live || s->pos < s->next_compact_try))
		return -1;
	/* not again before the log grows by half: a share that refuses the
	 * rename (Windows host, file open elsewhere) must not make every put
	 * rewrite the whole file */
	s->next_compact_try = s->pos + s->pos / 2;
	if (shm_lock(s, LOCK_EX | LOCK_NB) < 0)
		return -1; /* writers at work, or another compaction */
	vbf_file_sync(s);
	char tmp[PATH_MAX + 32];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", s->path, RAW(SYS_getpid, 0, 0, 0, 0)) >= (int)sizeof tmp)
		goto out;
	int fd = REAL(open)(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666);
	if (fd < 0)
		goto out;
	RAW(SYS_fchmod, fd, 0666, 0, 0);
	uint8_t *buf = vbf_arena_alloc(CHUNK);
	int bad = !buf;
	size_t n = 0;
	uint64_t total = 0;
	if (buf) {
		struct vbf_op op = {.type = VBF_OP_HEAD};
		n = vbf_rec_encode(&op, buf);
		for (struct vbf_ent *e = s->tab; e && !bad; e = e->hh.next) {
			if (CHUNK - n < VBF_REC_MAX) {
				total += n;
				bad = flush(fd, buf, &n);
			}
			op = (struct vbf_op){.type = VBF_OP_PUT, .rec = e->rec, .key = e->key, .klen = e->klen};
			op.fp.type = e->fptype & S_IFMT;
			op.fp.has_ino = e->fptype & VBF_FP_INO;
			op.fp.ino = e->ino;
			n += vbf_rec_encode(&op, buf + n);
		}
		total += n;
		bad = bad || flush(fd, buf, &n);
		vbf_arena_free(buf, CHUNK);
	}
	/* the data must be on disk before the name points at it */
	bad = bad || RAW(SYS_fsync, fd, 0, 0, 0) < 0;
	REAL(close)(fd);
#ifdef SYS_rename
	bad = bad || RAW(SYS_rename, tmp, s->path, 0, 0) < 0;
#else
	bad = bad || RAW(SYS_renameat, AT_FDCWD, tmp, AT_FDCWD, s->path) < 0;
#endif
	if (bad) {
		RAW(SYS_unlinkat, AT_FDCWD, tmp, 0, 0);
		goto out;
	}
	int created;
	fd = open_log(s->path, &created, s->nofollow);
	if (fd >= 0) {
		REAL(close)(s->fd);
		s->fd = fd;
		remember_identity(s);
		s->pos = total;
	}
	atomic_fetch_add(&s->shm->epoch, 1);
	atomic_fetch_add(&s->shm->gen, 1);
	s->seen_epoch = atomic_load(&s->shm->epoch);
	s->seen_gen = atomic_load(&s->shm->gen);
	if (fd < 0)
		s->seen_epoch--; /* reload on the next sync */
	s->next_compact_try = 0;
	shm_unlock(s);
	return 0;
out:
	shm_unlock(s);
	return -1;
}

/* Where the records live: VBOXFIX_STATE, else <root>/.vboxfix.state, else
 * (root not writable) /var/tmp/vboxfix/<hash of root>.state. */
void vbf_file_open(struct vbf_store *s, int idx, const char *state_file)
{
	int created = 0, fd = -1;
	char path[PATH_MAX];
	s->fd = -1;
	s->writable = 0;
	s->nofollow = 0;
	s->intkey[0] = 0;
	if (state_file && *state_file) {
		struct stat st;
		int n;
		if (REAL(stat)(state_file, &st) == 0 && S_ISDIR(st.st_mode))
			n = snprintf(path, sizeof path, "%s/%016llx.state", state_file,
				     (unsigned long long)fnv64(s->root));
		else
			n = snprintf(path, sizeof path, "%s", state_file);
		/* two shares must not share one log: keys would collide */
		for (int i = 0; i < VBF_MAX_SHARES && n < (int)sizeof path; i++)
			if (i != idx && vbf_stores[i].open && !strcmp(vbf_stores[i].path, path))
				n = snprintf(path, sizeof path, "%s-%016llx", state_file,
					     (unsigned long long)fnv64(s->root));
		if (n >= (int)sizeof path)
			errno = ENAMETOOLONG;
		else
			fd = open_log(path, &created, 0);
		if (fd < 0)
			vbf_log_once(VBF_EV_STORE_RO, VBF_WARN,
				     "VBOXFIX_STATE=%s cannot be written (%s): records kept in memory only", path,
				     strerror(errno));
	} else {
		int n = snprintf(path, sizeof path, "%s/" VBF_STORE_NAME, strcmp(s->root, "/") ? s->root : "");
		s->nofollow = O_NOFOLLOW;
		fd = n < (int)sizeof path ? open_log(path, &created, O_NOFOLLOW) : -1;
		if (fd < 0) {
			int why = errno;
			if (REAL(mkdir)("/var/tmp/vboxfix", 0700) == 0)
				RAW(SYS_fchmodat, AT_FDCWD, "/var/tmp/vboxfix", 01777, 0); /* every user's fallback */
			snprintf(path, sizeof path, "/var/tmp/vboxfix/%016llx.state", (unsigned long long)fnv64(s->root));
			fd = open_log(path, &created, O_NOFOLLOW);
			vbf_log_once(VBF_EV_STORE_RO, VBF_WARN,
				     "state store at %s is not writable (%s): using %s%s", s->root, strerror(why),
				     fd >= 0 ? path : "memory only", fd >= 0 ? "" : " (that failed too)");
		}
	}
	if (fd < 0) {
		snprintf(s->path, sizeof s->path, "%s", "");
		return;
	}
	/* canonical, so every process names the same shared counter */
	char proc[64], canon[PATH_MAX];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	ssize_t l = REAL(readlink)(proc, canon, sizeof canon - 1);
	if (l > 0 && canon[0] == '/') {
		canon[l] = 0;
		snprintf(s->path, sizeof s->path, "%s", canon);
	} else {
		snprintf(s->path, sizeof s->path, "%s", path);
	}
	size_t rl = strlen(s->root);
	if (!strcmp(s->root, "/"))
		snprintf(s->intkey, sizeof s->intkey, "%s", s->path + 1);
	else if (!strncmp(s->path, s->root, rl) && s->path[rl] == '/')
		snprintf(s->intkey, sizeof s->intkey, "%s", s->path + rl + 1);
	s->fd = fd;
	s->writable = 1;
	remember_identity(s);
	if (created) {
		uint8_t rec[VBF_REC_MAX];
		struct vbf_op op = {.type = VBF_OP_HEAD};
		size_t n = vbf_rec_encode(&op, rec);
		write_all(fd, rec, n);
	}
	shm_attach(s);
	/* read the counters first: an append that lands after our read
	 * then still moves them past what we saw */
	s->seen_epoch = atomic_load(&s->shm->epoch);
	s->seen_gen = atomic_load(&s->shm->gen);
	s->pos = 0;
	read_tail(s);
}

void vbf_file_close(struct vbf_store *s)
{
	if (s->fd >= 0)
		REAL(close)(s->fd);
	if (s->shm_fd >= 0)
		REAL(close)(s->shm_fd);
	if (s->shm && s->shm != &s->private_shm)
		munmap(s->shm, 4096);
	s->fd = s->shm_fd = -1;
	s->shm = &s->private_shm;
	vbf_arena_free(s->iobuf, CHUNK);
	s->iobuf = NULL;
}
