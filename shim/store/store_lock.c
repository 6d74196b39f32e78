/* SPDX-License-Identifier: MIT */
/* The state store's locks and raw writes (store_file.c has the protocol
 * they serve): the record lock on the log, polled so that whoever holds it
 * (another user can) costs a bounded wait and never a hang; the lock beside
 * the log that orders its creation against a rename over it; and writes
 * and descriptors kept out of the way of the program. */
#include "store_int.h"
#include <time.h>

#define HIGH_FD 512
/* The locked byte is far past any log we read, so on shares whose locks are
 * mandatory (CIFS to a Windows host) our own reads and writes never meet it. */
#define LOCK_OFF 0x7fff0000L
#define LOCK_WAIT_US 10000000L

/* Programs close "all" descriptors at start-up; keep ours out of the low
 * range they usually walk, and cloexec. */
int vbf_file_move_high(int fd)
{
	if (fd < 0 || fd >= HIGH_FD)
		return fd;
	int hi = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, HIGH_FD);
	if (hi < 0)
		return fd;
	REAL(close)(fd);
	return hi;
}

int vbf_file_write_all(int fd, const uint8_t *b, size_t n)
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

/* ---- the lock ---- */

int vbf_file_lock_fd(int fd, int type, int wait, int *nolock)
{
	struct flock fl = {.l_type = (short)type, .l_whence = SEEK_SET, .l_start = LOCK_OFF, .l_len = 1};
	long waited = 0, step = 100;
	if (*nolock)
		return 0;
	for (;;) {
		if (REAL(fcntl)(fd, F_SETLK, &fl) == 0)
			return 0;
		if (errno == ENOLCK || errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL) {
			/* appends go on unlocked; compaction never runs here */
			*nolock = 1;
			return 0;
		}
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			return -1;
		/* polled, not F_SETLKW: whoever holds it (another user
		 * can) costs us a bounded wait, never a hang */
		if (!wait || waited >= LOCK_WAIT_US) {
			errno = EAGAIN;
			return -1;
		}
		struct timespec ts = {0, step * 1000};
		/* raw: libc's nanosleep is a cancellation point, and a
		 * thread cancelled here would leave the lock held */
		RAW(SYS_nanosleep, &ts, 0, 0, 0);
		waited += step;
		step = step >= 10000 ? 20000 : step * 2;
	}
}

/* A lock held past our whole wait is held by someone who will not let go
 * (another user can): after one such wait, none for a while, so a process
 * pays it once, not on every chown. */
int vbf_file_lock(struct vbf_store *s, int type, int wait)
{
	if (wait && s->nowait_until && vbf_mono_ms() < s->nowait_until)
		wait = 0;
	int r = vbf_file_lock_fd(s->fd, type, wait, &s->nolock);
	if (r < 0 && wait && errno == EAGAIN)
		s->nowait_until = vbf_mono_ms() + 30000;
	return r;
}

void vbf_file_unlock(struct vbf_store *s)
{
	/* a record lock is the process's: while a hold (vbf_file_hold) is
	 * on, another thread's append must not let it go */
	if (s->holds)
		return;
	int saved = errno, nolock = s->nolock;
	vbf_file_lock_fd(s->fd, F_UNLCK, 0, &nolock);
	errno = saved;
}

/* Creating the log and renaming a new one over it exclude each other by a
 * lock on a file that is never replaced, <log>.lock: libfuse renames an
 * open target away before it renames the new file in (its "hide"), so
 * without it a lookup in that gap finds no log, and a log created there
 * would be replaced a moment later without a seal. -1 when the lock file
 * cannot be had (the caller goes on without it, or gives up replacing). */
int vbf_file_name_lock(const char *path, int create)
{
	char lk[PATH_MAX + 8];
	if (snprintf(lk, sizeof lk, "%s.lock", path) >= (int)sizeof lk)
		return -1;
	/* never through a symlink, and 0666 only for a file this call made:
	 * another user may plant anything beside the log */
	int fl = O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW, made = 0;
	int fd = REAL(open)(lk, fl, 0);
	if (fd < 0 && errno == ENOENT && create) {
		fd = REAL(open)(lk, fl | O_CREAT | O_EXCL, 0666);
		made = fd >= 0;
		if (fd < 0 && errno == EEXIST)
			fd = REAL(open)(lk, fl, 0);
	}
	if (fd < 0)
		return -1; /* none yet: no rename has ever been under way */
	struct stat st;
	int nolock = 0;
	if (REAL(fstat)(fd, &st) < 0 || !S_ISREG(st.st_mode) || vbf_file_lock_fd(fd, F_WRLCK, 1, &nolock) < 0) {
		REAL(close)(fd);
		return -1;
	}
	if (made) /* every service user shares it: umask must not shut one out */
		REAL(fchmod)(fd, 0666);
	return fd;
}

void vbf_file_name_unlock(int fd)
{
	if (fd >= 0)
		REAL(close)(fd); /* drops the lock */
}
