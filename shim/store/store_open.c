/* SPDX-License-Identifier: MIT */
/* Opening a state file: never blocking (a FIFO, a device), never taking a
 * file that is not a state file (nothing foreign is appended to or
 * replaced), giving an empty one its head once whoever races us, and
 * telling its type, identity and size without asking the host again. What
 * is done with the log once open is store_file.c's. */
#include "store_int.h"
#include "statconv.h"

#define HEAD_LEN (VBF_REC_HDR + 24)

/* A state file starts with an H record; an empty one is being created.
 * 1 state file, 0 empty, -1 something else. */
static int head_kind(int fd)
{
	uint8_t b[HEAD_LEN];
	struct vbf_op op;
	ssize_t r;
	while ((r = pread(fd, b, sizeof b, 0)) < 0 && errno == EINTR)
		;
	if (r == 0)
		return 0;
	return r == HEAD_LEN && vbf_rec_decode(b, HEAD_LEN, &op) == HEAD_LEN && op.type == VBF_OP_HEAD ? 1 : -1;
}

/* Give an empty log its H record, once, whoever races us. */
static int give_head(int fd)
{
	int nolock = 0, k = -1;
	if (vbf_file_lock_fd(fd, F_WRLCK, 1, &nolock) < 0)
		return -1;
	if ((k = head_kind(fd)) == 0) {
		uint8_t rec[VBF_REC_MAX];
		struct vbf_op op = {.type = VBF_OP_HEAD};
		k = vbf_file_write_all(fd, rec, vbf_rec_encode(&op, rec)) == 0 ? 1 : -1;
	}
	vbf_file_lock_fd(fd, F_UNLCK, 0, &nolock);
	return k;
}

/* The type, identity and size of the log named (dirfd, name) by a statx:
 * with AT_STATX_DONT_SYNC in `flags`, what the open's or the walk's lookup
 * just left in the inode, where the filesystem refreshes it there (FUSE,
 * vboxsf; elsewhere statx asks as a stat would). A type, device and inode
 * number never change; the size of an open log only spares reading a huge
 * file, which the reader bounds by itself (VBF_STATE_MAX). Without statx,
 * fstatat. */
int vbf_file_facts_at(int dirfd, const char *name, int flags, struct stat *st)
{
	struct statx x;
	const unsigned want = STATX_TYPE | STATX_INO | STATX_SIZE;
	if (REAL(statx)(dirfd, name, flags, want, &x) == 0 && (x.stx_mask & want) == want) {
		vbf_stat_from_statx(st, &x);
		return 0;
	}
	return REAL(fstatat)(dirfd, name, st, flags & (AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
}

/* An open log's: one request less for every process that opens it. */
int vbf_file_facts(int fd, struct stat *st) { return vbf_file_facts_at(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, st); }

/* Open `path` as a log. Never blocks (a FIFO, a device), never accepts a
 * file that is not a state file: nothing foreign is appended to or
 * replaced. -1 with *why set. `known`: the file a copy was read from
 * (store_page.c), whose head the copy holds: when it is that file, its
 * head is not read again. *st: its type, identity and size. */
int vbf_file_open_as(const char *path, int nofollow, int create, const struct vbf_snap_head *known,
		     struct stat *st, const char **why)
{
	int fl = O_RDWR | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | nofollow;
	int fd = REAL(open)(path, fl, 0);
	if (fd < 0 && errno == ENOENT) {
		int lk = vbf_file_name_lock(path, create);
		fd = REAL(open)(path, fl, 0); /* a rename we waited for may have put one there */
		if (fd < 0 && errno == ENOENT && create) {
			fd = REAL(open)(path, fl | O_CREAT | O_EXCL, 0666);
			if (fd >= 0) /* every service user shares the file: umask must not shut one out */
				REAL(fchmod)(fd, 0666);
			else if (errno == EEXIST)
				fd = REAL(open)(path, fl, 0);
		}
		int e = errno;
		vbf_file_name_unlock(lk);
		errno = e;
	}
	if (fd < 0) {
		*why = strerror(errno);
		return -1;
	}
	*why = NULL;
	if (vbf_file_facts(fd, st) < 0)
		*why = strerror(errno);
	else if (!S_ISREG(st->st_mode))
		*why = "not a regular file";
	else if ((uint64_t)st->st_size > VBF_STATE_MAX)
		*why = "larger than 256 MiB: not read";
	if (!*why) {
		REAL(fcntl)(fd, F_SETFL, O_APPEND);
		fd = vbf_file_move_high(fd);
		/* that file, still holding at least what the copy read */
		int same = known && known->pos > 0 && st->st_dev == (dev_t)known->dev &&
			   st->st_ino == (ino_t)known->ino && (uint64_t)st->st_size >= known->pos;
		int k = same ? 1 : head_kind(fd);
		if (k == 0)
			k = give_head(fd);
		if (k < 0)
			*why = "not a vboxfix state file: left alone";
	}
	if (*why) {
		REAL(close)(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

int vbf_file_open_log(const char *path, int nofollow, int create, const char **why)
{
	struct stat st;
	return vbf_file_open_as(path, nofollow, create, NULL, &st, why);
}
