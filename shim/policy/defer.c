/* SPDX-License-Identifier: MIT */
/* The unlink of a file this process holds open, finished at its last close
 * (defer.h). Everything here runs only after a share answered an unlink
 * busy, or for a descriptor whose table entry has VBF_FD_DEFER: other calls
 * never get here. No malloc: a small fixed table under a spin lock, which
 * is never held across a system call that can block on the host. */
#include "defer.h"
#include "cache.h"
#include "config.h"
#include "lock.h"
#include "log.h"
#include "real.h"
#include "retry.h"

#define NREC 16 /* files deferred at once */
#define NFD 16  /* descriptors per file */

struct rec {
	int used; /* 1 reserved, 2 filled */
	int kept; /* the name stayed (rename refused) */
	int idx;  /* share of `key` */
	int nfd;
	int fd[NFD];
	char name[PATH_MAX]; /* absolute: what the last close unlinks */
	char key[PATH_MAX];  /* kept: the share key answered ENOENT */
};

static struct rec recs[NREC];
static vbf_lock lock;
static pid_t owner; /* the process the table belongs to (atomic access) */
int vbf_defer_nkept;

static pid_t my_pid(void) { return REAL(getpid)(); }

static int mine(void) { return __atomic_load_n(&owner, __ATOMIC_RELAXED) == my_pid(); }

int vbf_defer_name(const char *name) { return !strncmp(name, VBF_DEFER_PREFIX, sizeof VBF_DEFER_PREFIX - 1); }

/* The table as this process sees it: a fork child's copy of its parent's
 * records is not its own (the parent finishes them). Lock held. */
static void adopt(pid_t me)
{
	if (__atomic_load_n(&owner, __ATOMIC_RELAXED) == me)
		return;
	memset(recs, 0, sizeof recs);
	__atomic_store_n(&vbf_defer_nkept, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&owner, me, __ATOMIC_RELAXED);
}

/* Reserve a record for this process: its index, or -1. */
static int reserve(void)
{
	int slot = -1;
	if (!vbf_enter(&lock))
		return -1;
	adopt(my_pid());
	for (int i = 0; i < NREC && slot < 0; i++)
		if (!recs[i].used) {
			recs[i].used = 1;
			slot = i;
		}
	vbf_leave(&lock);
	return slot;
}

/* The marked descriptors of this process on the file `st` describes. */
static int holders(const struct stat *st, int *fds)
{
	int n = 0;
	struct stat fst;
	for (int fd = 0; fd < VBF_FDTAB_SIZE; fd++) {
		if (!(vbf_fdtab[fd] & VBF_FD_SHARE) || REAL(fstat)(fd, &fst) != 0)
			continue;
		if (fst.st_dev != st->st_dev || fst.st_ino != st->st_ino)
			continue;
		if (n == NFD)
			return -1;
		fds[n++] = fd;
	}
	return n;
}

int vbf_defer_unlink(const struct vbf_where *w, int dirfd, const char *path, int err)
{
	struct stat st;
	struct rec r;
	int fds[NFD];
	if (!vbf_is_busy(err) || w->idx < 0 || !w->key || !w->key[0] || !path || !*path)
		return vbf_fail(err);
	if (vbf_share_path(w, r.name, sizeof r.name) < 0 ||
	    REAL(fstatat)(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
		return vbf_fail(err);
	int n = holders(&st, fds);
	if (n <= 0)
		return vbf_fail(err);
	int slot = reserve();
	if (slot < 0) {
		vbf_log(VBF_INFO, "busy unlink of %s: too many deferred files", r.name);
		return vbf_fail(err);
	}
	/* the hidden name, in the same directory */
	char hidden[PATH_MAX];
	static _Atomic unsigned int seq;
	char *slash = strrchr(r.name, '/');
	int len = snprintf(hidden, sizeof hidden, "%.*s/" VBF_DEFER_PREFIX "%d.%u", (int)(slash - r.name), r.name,
			   (int)my_pid(), seq++);
	struct stat hs;
	int kept = len < 0 || (size_t)len >= sizeof hidden ||
		   REAL(fstatat)(AT_FDCWD, hidden, &hs, AT_SYMLINK_NOFOLLOW) == 0 ||
		   REAL(renameat)(dirfd, path, AT_FDCWD, hidden) != 0;
	if (!kept)
		vbf_cache_changed(AT_FDCWD, hidden);
	if (!vbf_enter(&lock)) { /* not reached: reserve() ran in this thread without a lock held */
		recs[slot].used = 0;
		return vbf_fail(err);
	}
	struct rec *p = &recs[slot];
	p->kept = kept;
	p->idx = w->idx;
	p->nfd = n;
	memcpy(p->fd, fds, sizeof fds);
	if (!kept)
		memcpy(p->name, hidden, strlen(hidden) + 1);
	else
		memcpy(p->name, r.name, strlen(r.name) + 1);
	snprintf(p->key, sizeof p->key, "%s", kept ? w->key : "");
	for (int i = 0; i < n; i++)
		vbf_fdtab[fds[i]] |= VBF_FD_DEFER;
	p->used = 2;
	if (kept)
		__atomic_add_fetch(&vbf_defer_nkept, 1, __ATOMIC_RELAXED);
	vbf_leave(&lock);
	vbf_count(VBF_C_EMULATED);
	vbf_log_once(VBF_EV_DEFER, VBF_INFO, "unlink of a file open here refused by the share: %s until its last close",
		     kept ? "name hidden in this process" : "renamed to a hidden name");
	return 0;
}

int vbf_defer_kept_slow(int idx, const char *key)
{
	int hit = 0;
	if (!vbf_enter(&lock))
		return 0;
	if (mine())
		for (int i = 0; i < NREC && !hit; i++)
			hit = recs[i].used == 2 && recs[i].kept && recs[i].idx == idx && !strcmp(recs[i].key, key);
	vbf_leave(&lock);
	return hit;
}

int vbf_defer_dir_on_share(int dfd)
{
	char dir[PATH_MAX];
	if (vbf_fd_path(dfd, dir, sizeof dir) < 0 || dir[0] != '/')
		return 0;
	return vbf_abs_maybe_share(dir);
}

int vbf_defer_listed(int dfd, const char *name)
{
	char dir[PATH_MAX];
	int hit = 0;
	ssize_t n = vbf_fd_path(dfd, dir, sizeof dir);
	if (n < 0)
		return 0;
	size_t dl = (size_t)n;
	if (!vbf_enter(&lock))
		return 0;
	if (mine())
		for (int i = 0; i < NREC && !hit; i++) {
			const struct rec *p = &recs[i];
			hit = p->used == 2 && p->kept && !strncmp(p->name, dir, dl) &&
			      (p->name[dl] == '/' || (dl == 1 && p->name[0] == '/')) &&
			      !strcmp(p->name + (dl == 1 ? 1 : dl + 1), name);
		}
	vbf_leave(&lock);
	return hit;
}

/* Unlink the name of a file whose last descriptor here was closed: a busy
 * answer is retried briefly (the host may still be closing it); a failure
 * leaves the file, with a log line, and never fails the close. */
static void finish(const char *name)
{
	int r;
	VBF_BUSY_RETRY(r, REAL(unlink)(name), vbf_cfg.retry_ms < 250 ? vbf_cfg.retry_ms : 250);
	if (r < 0)
		vbf_log(VBF_INFO, "deferred unlink of %s failed (errno %d): left in place", name, errno);
	vbf_cache_changed(AT_FDCWD, name);
}

/* Remove `fd` from its record (lock held); when no live descriptor is left,
 * free the record and copy the name to unlink into `out`: 1. */
static int drop_fd(int fd, char *out, size_t cap)
{
	for (int i = 0; i < NREC; i++) {
		struct rec *p = &recs[i];
		if (p->used != 2)
			continue;
		int found = 0, live = 0;
		for (int j = 0; j < p->nfd;) {
			/* a descriptor whose bit is gone was closed out of our
			 * sight (inside libc) and perhaps reused: not a holder */
			if (p->fd[j] == fd || !(vbf_fd_bits(p->fd[j]) & VBF_FD_DEFER)) {
				found |= p->fd[j] == fd;
				p->fd[j] = p->fd[--p->nfd];
			} else
				j++, live++;
		}
		if (!found)
			continue;
		if (live)
			return 0;
		snprintf(out, cap, "%s", p->name);
		if (p->kept)
			__atomic_sub_fetch(&vbf_defer_nkept, 1, __ATOMIC_RELAXED);
		memset(p, 0, sizeof *p);
		return 1;
	}
	return 0;
}

void vbf_defer_closed(int fd, unsigned char bits)
{
	int saved = errno;
	if (!mine()) {
		/* a vfork child shares the table with its parent, whose
		 * descriptor is still open: put its bits back */
		if (fd >= 0 && fd < VBF_FDTAB_SIZE)
			vbf_fdtab[fd] = bits;
		errno = saved;
		return;
	}
	char name[PATH_MAX];
	int last = 0;
	if (vbf_enter(&lock)) {
		last = drop_fd(fd, name, sizeof name);
		vbf_leave(&lock);
	}
	if (last)
		finish(name);
	errno = saved;
}

void vbf_defer_copied(int from, int to, unsigned char old)
{
	int saved = errno;
	if (!mine()) {
		if (to >= 0 && to < VBF_FDTAB_SIZE)
			vbf_fdtab[to] = old;
		errno = saved;
		return;
	}
	if (old & VBF_FD_DEFER)
		vbf_defer_closed(to, old);
	if (!(vbf_fd_bits(from) & VBF_FD_DEFER) || !vbf_enter(&lock)) {
		errno = saved;
		return;
	}
	for (int i = 0; i < NREC; i++) {
		struct rec *p = &recs[i];
		int has = 0;
		for (int j = 0; p->used == 2 && j < p->nfd; j++)
			has |= p->fd[j] == from;
		if (has && p->nfd < NFD) {
			p->fd[p->nfd++] = to;
			vbf_fdtab[to] |= VBF_FD_DEFER;
			break;
		}
	}
	vbf_leave(&lock);
	errno = saved;
}

void vbf_defer_exit(void)
{
	char names[NREC][PATH_MAX];
	int n = 0, saved = errno;
	if (!mine() || !vbf_enter(&lock))
		return;
	for (int i = 0; i < NREC; i++) {
		struct rec *p = &recs[i];
		if (p->used != 2)
			continue;
		/* the host refuses while the file is open: the process is
		 * ending, and what is written to a deleted file is lost anyway */
		for (int j = 0; j < p->nfd; j++)
			if (vbf_fd_bits(p->fd[j]) & VBF_FD_DEFER) {
				vbf_fdtab[p->fd[j]] = 0;
				REAL(close)(p->fd[j]);
			}
		snprintf(names[n++], PATH_MAX, "%s", p->name);
		memset(p, 0, sizeof *p);
	}
	__atomic_store_n(&vbf_defer_nkept, 0, __ATOMIC_RELAXED);
	vbf_leave(&lock);
	for (int i = 0; i < n; i++)
		if (REAL(unlink)(names[i]) != 0)
			vbf_log(VBF_INFO, "deferred unlink of %s at exit failed (errno %d): left in place", names[i],
				errno);
	errno = saved;
}

void vbf_defer_atfork_prepare(void) { vbf_lock_take(&lock); }
void vbf_defer_atfork_parent(void) { vbf_unlock(&lock); }
/* The records stay as they were: the first use here finds the table owned
 * by the parent and starts an empty one (adopt). */
void vbf_defer_atfork_child(void) { vbf_lock_reset(&lock); }
