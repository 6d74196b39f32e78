/* SPDX-License-Identifier: MIT */
/* The state store's log file: opening it safely, reading its tail, and
 * appending records so that no acknowledged record is ever lost.
 *
 * One append-only file per share (default <root>/.vboxfix.state), whole
 * records written with one O_APPEND write(2) each. The protocol, argued in
 * docs/state-store.md ("Concurrency"):
 *   - writers hold a shared record lock on the log while they append and
 *     read back; a compaction (store_compact.c) holds it exclusively while
 *     it writes the replacement, appends a seal record to the old log and
 *     renames the replacement over it;
 *   - a writer that reads a seal before its own record looks at the path
 *     again and, when it names another file, appends the record there too;
 *   - a reader that finds a seal at the end of the log does the same.
 * The lock is a POSIX record lock on the log itself: the kernel drops it
 * when its process dies, a fork child does not inherit it, and every
 * process of this kernel shares it, whatever /dev/shm or mount namespace it
 * sees. A page in shared memory carries a counter that moves after every
 * append, so a lookup reads the log only when something changed; it is a
 * hint, and nothing read from it or from the file is trusted. The locks
 * themselves and the raw writes are in store_lock.c.
 */
#include "store_int.h"
#include "log.h"
#include "statconv.h"

#define CHUNK VBF_SNAP_CAP /* a log read in one chunk can be kept whole (store_page.c) */

uint64_t vbf_compact_min = 256 * 1024;


static void remember_identity(struct vbf_store *s)
{
	struct stat st;
	if (s->fd >= 0 && vbf_file_facts(s->fd, &st) == 0) {
		s->fdev = st.st_dev;
		s->fino = st.st_ino;
	}
}

/* Is s->fd still our log? The program may have closed the descriptor and
 * reused its number (daemons close "all" descriptors), and a compaction or
 * an rm may have unlinked the file: /proc tells both without a request to
 * the share. */
static int fd_is_log(struct vbf_store *s)
{
	char got[PATH_MAX];
	if (vbf_fd_path(s->fd, got, sizeof got) >= 0)
		return !strcmp(got, s->path);
	struct stat st;
	return REAL(fstat)(s->fd, &st) == 0 && st.st_dev == s->fdev && st.st_ino == s->fino;
}

int vbf_file_is_current(struct vbf_store *s)
{
	struct stat a, b;
	return REAL(fstat)(s->fd, &a) == 0 && REAL(fstatat)(AT_FDCWD, s->path, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* ---- reading ---- */

struct tail {
	struct vbf_store *s;
	int sealed; /* a seal was among what this read applied */
};

static void apply_cb(void *arg, const struct vbf_op *op)
{
	struct tail *t = arg;
	if (op->type == VBF_OP_SEAL) {
		t->sealed = t->s->sealed = 1;
		return;
	}
	t->s->sealed = 0; /* records after a seal: whoever wrote them found the path still naming this file */
	if (op->type == VBF_OP_FORGET && op->klen == sizeof VBF_COMPACTED_KEY - 1 &&
	    !memcmp(op->key, VBF_COMPACTED_KEY, op->klen)) {
		t->s->base = t->s->pos + op->at + VBF_REC_HDR + 2 + op->klen + 4;
		return;
	}
	vbf_store_apply(t->s, op);
}

static void stop_reading(struct vbf_store *s)
{
	s->writable = 0;
	vbf_log_once(VBF_EV_STORE_BAD, VBF_WARN, "state store %s: over 256 MiB: records kept in memory only", s->path);
}

int vbf_file_read_tail(struct vbf_store *s)
{
	struct tail t = {s, 0};
	if (s->fd < 0)
		return 0;
	if (!s->iobuf && !(s->iobuf = vbf_arena_alloc(CHUNK)))
		return 0;
	uint8_t *buf = s->iobuf;
	size_t have = 0;
	unsigned skipped = 0, rounds = 0;
	int from0 = s->pos == 0;
	for (;;) {
		if (s->pos >= VBF_STATE_MAX) { /* bounded work whatever the file holds */
			stop_reading(s);
			break;
		}
		ssize_t r = pread(s->fd, buf + have, CHUNK - have, (off_t)(s->pos + have));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		have += (size_t)r;
		rounds++;
		int eof = r == 0 || have < CHUNK;
		size_t used = vbf_rec_scan(buf, have, eof, apply_cb, &t, &skipped);
		s->pos += used;
		if (eof)
			break;
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	if (skipped)
		vbf_log_once(VBF_EV_STORE_BAD, VBF_WARN, "state store %s: skipped %u unreadable stretch(es)", s->path,
			     skipped);
	s->whole = from0 && rounds == 1 && !skipped && !t.sealed;
	return t.sealed;
}

void vbf_file_adopt(struct vbf_store *s, int fd, uint64_t pos, int reload)
{
	if (s->fd >= 0 && s->fd != fd)
		REAL(close)(s->fd);
	s->fd = fd;
	s->forked = 0;
	s->sealed = 0;
	s->writable = 1; /* a failed reopen earlier is over (VBF_STATE_MAX clears it again) */
	remember_identity(s);
	if (reload) {
		vbf_store_clear(s);
		s->pos = 0;
		s->base = 0;
		vbf_file_read_tail(s);
	} else {
		s->pos = pos;
	}
}

/* Open the path again and read it whole: the log we hold was replaced,
 * unlinked, or is not ours any more. No lock may be held (closing a
 * descriptor of a locked file drops the lock). 0, or -1: memory only. */
/* s->path is canonical (read back from /proc), so its last component is
 * never a symlink of ours: a symlink found there later is someone else's. */
int vbf_file_open_path(struct vbf_store *s, const char **why) { return vbf_file_open_log(s->path, O_NOFOLLOW, 1, why); }

static int open_again(struct vbf_store *s, const struct vbf_snap_head *known, struct stat *st)
{
	const char *why;
	int fd = vbf_file_open_as(s->path, O_NOFOLLOW, 1, known, st, &why);
	if (fd < 0) {
		s->writable = 0;
		vbf_log_once(VBF_EV_STORE_RO, VBF_WARN, "state store %s lost (%s): records kept in memory only",
			     s->path, why);
	}
	return fd;
}

static int reopen(struct vbf_store *s)
{
	struct stat st;
	int fd = open_again(s, NULL, &st);
	if (fd < 0)
		return -1;
	vbf_file_adopt(s, fd, 0, 1);
	return 0;
}

/* The log we hold has a seal in what we just read, and we hold its shared
 * lock, so the compactor that wrote the seal has finished or died. When the
 * path names another file now, move to it (lock released): 1. When it still
 * names ours, the seal is void: 0, lock still held. */
static int follow(struct vbf_store *s)
{
	struct stat a, b;
	int have = REAL(fstat)(s->fd, &a) == 0;
	if (REAL(fstatat)(AT_FDCWD, s->path, &b, AT_SYMLINK_NOFOLLOW) == 0) {
		if (have && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			s->sealed = 0; /* still named by the path: the seal is void */
			return 0;
		}
	} else if (errno != ENOENT && have) {
		/* the path cannot be looked at now (EIO...): no proof of a new
		 * log, so the seal stays void */
		s->sealed = 0;
		return 0;
	}
	vbf_file_unlock(s);
	if (reopen(s) < 0)
		return -1;
	/* the same file after all (a lookup in a rename's gap): our record
	 * is in it already */
	return !(have && REAL(fstat)(s->fd, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino);
}

/* A seal read without waiting for the lock (a reader never waits: another
 * user can hold it): followed now if the lock is free, else by the next
 * append, which waits. */
static void follow_read_seal(struct vbf_store *s)
{
	if (s->sealed && vbf_file_lock(s, F_RDLCK, 0) == 0 && !follow(s))
		vbf_file_unlock(s);
}

void vbf_file_bump(struct vbf_store *s)
{
	s->seen_gen = atomic_fetch_add(s->gen, 1) + 1;
}

void vbf_file_sync(struct vbf_store *s)
{
	uint64_t g = atomic_load_explicit(s->gen, memory_order_acquire);
	if (g == s->seen_gen || (s->fd < 0 && !s->later))
		return;
	s->seen_gen = g;
	vbf_file_sync_now(s);
}

void vbf_file_sync_now(struct vbf_store *s)
{
	if (s->later) {
		vbf_file_here(s); /* reads what came after the copy */
		return;
	}
	if (s->fd < 0)
		return;
	if (s->forked || !fd_is_log(s)) {
		reopen(s);
		return;
	}
	uint64_t before = s->pos;
	vbf_file_read_tail(s);
	if (s->pos == before) {
		/* nothing new though the counter moved: a log that shrank
		 * (reset by hand, or another user) is read again */
		struct stat st;
		if (REAL(fstat)(s->fd, &st) == 0 && (uint64_t)st.st_size < s->pos)
			vbf_file_adopt(s, s->fd, 0, 1);
	}
	follow_read_seal(s);
}

int vbf_file_append(struct vbf_store *s, const struct vbf_op *op) { return vbf_file_append_plan(s, op, NULL, NULL); }

int vbf_file_hold(struct vbf_store *s)
{
	vbf_file_here(s);
	for (int tries = 0; s->fd >= 0 && s->writable && !s->nolock && tries < 4; tries++) {
		if ((s->forked || !fd_is_log(s)) && reopen(s) < 0)
			return -1;
		if (vbf_file_lock(s, F_RDLCK, 1) < 0)
			return -1;
		/* the log the path names now, read to its end: the one any
		 * compaction would have to take from us */
		int f = s->sealed ? follow(s) : 0;
		if (!f && vbf_file_read_tail(s))
			f = follow(s);
		if (f > 0)
			continue;
		if (f < 0)
			return -1;
		s->holds++;
		return 0;
	}
	return -1;
}

void vbf_file_release(struct vbf_store *s)
{
	if (s->holds && !--s->holds)
		vbf_file_unlock(s);
}

/* Our record was just written with the lock held: did it land right where
 * the log ended when we last read it? The kernel puts an O_APPEND write at
 * the end and leaves the file position after it (a position, no request to
 * the share). Then nothing came between (a seal neither: one is written
 * only under the exclusive lock), and reading it back would give exactly
 * the record we hold: it is applied from memory instead, which spares the
 * share one read per record (docs/state-store.md, "Appending"). */
static int wrote_at_end(struct vbf_store *s, const uint8_t *rec, size_t n)
{
	int saved = errno;
	off_t end = lseek(s->fd, 0, SEEK_CUR);
	errno = saved;
	if (end < 0 || (uint64_t)end != s->pos + n)
		return 0;
	struct tail t = {s, 0};
	unsigned skipped = 0;
	if (vbf_rec_scan(rec, n, 1, apply_cb, &t, &skipped) != n || skipped || t.sealed)
		return 0; /* cannot be (we encoded it): read it back as before */
	s->pos += n;
	return 1;
}

int vbf_file_append_plan(struct vbf_store *s, const struct vbf_op *want, vbf_plan_fn plan, void *arg)
{
	uint8_t *rec = s->recbuf;
	struct vbf_op planned, *op = plan ? &planned : (struct vbf_op *)want;
	size_t n = plan ? 1 : vbf_rec_encode(op, rec);
	const char *why = "write failed";
	int f;
	if (!n)
		return -1;
	vbf_file_here(s);
	for (int tries = 0; s->fd >= 0 && s->writable && tries < 4; tries++) {
		if ((s->forked || !fd_is_log(s)) && reopen(s) < 0)
			break;
		if (vbf_file_lock(s, F_RDLCK, 1) < 0) {
			why = "its lock is held by another process";
			break;
		}
		/* a seal read earlier without the lock (readers do not wait for
		 * it) is followed now, before our record goes anywhere */
		f = s->sealed ? follow(s) : 0;
		/* a plan is made from the whole log as it is under our lock:
		 * no compaction can run until we release it */
		if (!f && plan && vbf_file_read_tail(s))
			f = follow(s);
		if (f > 0)
			continue;
		if (f < 0)
			break;
		if (plan && !plan(s, want, op, arg)) {
			vbf_file_unlock(s);
			return 0;
		}
		if (plan && !(n = vbf_rec_encode(op, rec))) {
			vbf_file_unlock(s);
			return -1;
		}
		if (vbf_file_write_all(s->fd, rec, n) < 0) {
			why = "write failed";
			vbf_file_unlock(s);
			break;
		}
		/* applies ours in log order with the others'; under our lock
		 * no seal can follow it, so a seal seen here came before it */
		f = wrote_at_end(s, rec, n) ? 0 : vbf_file_read_tail(s) ? follow(s) : 0;
		if (f > 0)
			continue; /* ours went to a replaced log: write it again in the new one */
		if (f < 0)
			return -1; /* applied already, from the log we wrote it to */
		vbf_file_unlock(s);
		vbf_file_bump(s);
		return 0;
	}
	if (s->fd >= 0 && s->writable)
		vbf_log_once(VBF_EV_STORE_RO, VBF_WARN, "state store %s: %s: a record was kept in memory only", s->path,
			     why);
	if (!plan || plan(s, want, op, arg))
		vbf_store_apply(s, op);
	return -1;
}

/* The log's canonical name, and its key when it lies in the share (the
 * wrappers hide it). */
static void name_as(struct vbf_store *s, const char *name)
{
	snprintf(s->path, sizeof s->path, "%s", name);
	size_t rl = strlen(s->root);
	s->intkey[0] = 0;
	if (!strcmp(s->root, "/"))
		snprintf(s->intkey, sizeof s->intkey, "%s", s->path + 1);
	else if (!strncmp(s->path, s->root, rl) && s->path[rl] == '/')
		snprintf(s->intkey, sizeof s->intkey, "%s", s->path + rl + 1);
}

/* The name every process will know the log by: canonical, so all of them
 * name the same shared page; but not a log replaced since we opened it,
 * which reads back as "<name> (deleted)" (we follow the seal in it to the
 * new one when we read it). `path` is what we opened. */
static void name_log(struct vbf_store *s, int fd, const char *path)
{
	static const char gone[] = " (deleted)";
	char canon[PATH_MAX];
	ssize_t l = vbf_fd_path(fd, canon, sizeof canon);
	int use = l > 0 && canon[0] == '/' &&
		  !((size_t)l >= sizeof gone - 1 && !strcmp(canon + l - (sizeof gone - 1), gone));
	name_as(s, use ? canon : path);
}

/* Keep what was just read for the processes that start after us: only a
 * log read whole in one chunk, with no seal in it. */
static void keep_copy(struct vbf_store *s, uint64_t gen)
{
	struct vbf_snap_head h = {gen, (uint64_t)s->fdev, (uint64_t)s->fino, s->pos};
	if (s->fd >= 0 && s->writable && !s->sealed && s->whole && s->pos <= VBF_SNAP_CAP && s->iobuf)
		vbf_snap_put(s->path, &h, s->iobuf);
}

/* Make the named log `fd` ours and read it whole, following a seal found at
 * its end. */
static void load_log(struct vbf_store *s, int fd)
{
	s->writable = 1;
	vbf_page_counter(s);
	/* the counter first: an append that lands after our read then still
	 * moves it past what we saw */
	s->seen_gen = atomic_load(s->gen);
	vbf_file_adopt(s, fd, 0, 1);
	keep_copy(s, s->seen_gen);
	follow_read_seal(s);
}

/* Make `fd`, the log opened at `path`, the one s holds, and read it. */
void vbf_file_start(struct vbf_store *s, int fd, const char *path)
{
	name_log(s, fd, path);
	load_log(s, fd);
}

static void forget_table(struct vbf_store *s)
{
	vbf_store_clear(s);
	s->pos = 0;
	s->base = 0;
	s->sealed = 0;
}

/* Is the log named `name` still the file of `h`, no longer? One walk to it
 * (GETATTR of its directory, LOOKUP on the emulated share), its attributes
 * as that lookup left them where it refreshes them (s->walk_fresh), else
 * as a stat gives them. */
static int still_copy(const struct vbf_store *s, const char *name, const struct vbf_snap_head *h)
{
	struct stat st;
	int sync = s->walk_fresh ? AT_STATX_DONT_SYNC : AT_STATX_SYNC_AS_STAT;
	return vbf_file_facts_at(AT_FDCWD, name, AT_SYMLINK_NOFOLLOW | sync, &st) == 0 && S_ISREG(st.st_mode) &&
	       st.st_dev == (dev_t)h->dev && st.st_ino == (ino_t)h->ino && (uint64_t)st.st_size == h->pos;
}

int vbf_file_from_copy(struct vbf_store *s, const char *name)
{
	struct vbf_snap_head h;
	if (!s->iobuf && !(s->iobuf = vbf_arena_alloc(CHUNK)))
		return -1;
	if (vbf_snap_get(name, &h, s->iobuf) < 0)
		return -1;
	name_as(s, name);
	vbf_page_counter(s);
	/* nothing appended or compacted in this IPC namespace since the read
	 * the copy holds (the counter, read first, guards what a size not yet
	 * updated might hide), nor anywhere (the stat): the table is what
	 * reading the log would give */
	struct tail t = {s, 0};
	unsigned skipped = 0;
	forget_table(s);
	if (atomic_load(s->gen) == h.gen && still_copy(s, name, &h) &&
	    vbf_rec_scan(s->iobuf, (size_t)h.pos, 1, apply_cb, &t, &skipped) == h.pos && !skipped && !t.sealed) {
		s->seen_gen = h.gen;
		s->pos = h.pos;
		s->fdev = (dev_t)h.dev;
		s->fino = (ino_t)h.ino;
		s->fd = -1;
		s->forked = 0;
		s->writable = 1;
		s->later = 1;
		return 0;
	}
	forget_table(s);
	s->path[0] = s->intkey[0] = 0;
	s->gen = &s->private_gen;
	return -1;
}

int vbf_file_here(struct vbf_store *s)
{
	if (!s->later)
		return 0;
	s->later = 0;
	struct vbf_snap_head h = {s->seen_gen, (uint64_t)s->fdev, (uint64_t)s->fino, s->pos};
	struct stat st;
	int fd = open_again(s, &h, &st);
	if (fd < 0)
		return -1;
	/* the file the copy was read from, at least as long: its tail is all
	 * that is new, nothing when it is as long where the open's lookup
	 * brought the host's length (s->walk_fresh; an append of this kernel's
	 * is in it at once); another file (compacted, replaced, reset): read
	 * whole */
	int same = st.st_dev == s->fdev && st.st_ino == s->fino && (uint64_t)st.st_size >= s->pos;
	vbf_file_adopt(s, fd, s->pos, !same);
	if (same && (!s->walk_fresh || (uint64_t)st.st_size > s->pos))
		vbf_file_read_tail(s);
	follow_read_seal(s);
	return 0;
}

void vbf_file_close(struct vbf_store *s)
{
	if (s->fd >= 0)
		REAL(close)(s->fd);
	s->fd = -1;
	s->later = 0;
	s->gen = &s->private_gen;
	vbf_arena_free(s->iobuf, CHUNK);
	s->iobuf = NULL;
}
