/* SPDX-License-Identifier: MIT */
/* The synthetic tail of directory listings: dir_tail.h. The lock is held
 * for table reads and writes only, never across a system call. */
#include "dir_tail.h"
#include "fdtab.h"
#include "lock.h"
#include "config.h"

enum { T_FREE, T_LISTING, T_DONE };

static struct vbf_tail tails[TAIL_SLOTS];
static int ntails; /* slots in use: closedir and rewinddir look only when some are */
static vbf_lock tail_lock;

/* Held across fork like every library lock (shim/wrap/vbf.c), so a child never
 * inherits a slot another thread was half-way through filling. */
void vbf_tail_atfork_prepare(void) { vbf_lock_take(&tail_lock); }
void vbf_tail_atfork_parent(void) { vbf_unlock(&tail_lock); }
void vbf_tail_atfork_child(void) { vbf_lock_reset(&tail_lock); }

static void drop(struct vbf_tail *t)
{
	t->state = T_FREE;
	t->d = NULL;
	__atomic_store_n(&ntails, ntails - 1, __ATOMIC_RELAXED);
}

/* Under the lock. */
static struct vbf_tail *find(DIR *d, int fd)
{
	for (int i = 0; i < TAIL_SLOTS; i++)
		if (tails[i].state != T_FREE && tails[i].d == d) {
			if (tails[i].fd == fd)
				return &tails[i];
			drop(&tails[i]);
		}
	return NULL;
}

/* Under the lock; NULL when the table is full. */
static struct vbf_tail *take(DIR *d, int fd)
{
	for (int i = 0; i < TAIL_SLOTS; i++)
		if (tails[i].state == T_FREE) {
			tails[i].d = d;
			tails[i].fd = fd;
			__atomic_store_n(&ntails, ntails + 1, __ATOMIC_RELAXED);
			return &tails[i];
		}
	return NULL;
}

void vbf_tail_reset(DIR *d, int done)
{
	int fd = dirfd(d);
	if (done ? !vbf_fd_marked(fd) : !__atomic_load_n(&ntails, __ATOMIC_RELAXED))
		return;
	if (!vbf_enter(&tail_lock))
		return;
	struct vbf_tail *t = find(d, fd);
	if (done && (t || (t = take(d, fd))))
		t->state = T_DONE;
	else if (!done && t)
		drop(t);
	vbf_leave(&tail_lock);
}

/* The listing itself runs outside the lock: it makes system calls. */
struct vbf_tail *vbf_tail_next(DIR *d)
{
	int fd = dirfd(d), state = T_FREE;
	struct vbf_list_pos pos;
	struct vbf_tail *t;
	if (likely(!vbf_fd_marked(fd)) || !vbf_ready())
		return NULL;
	if (__atomic_load_n(&ntails, __ATOMIC_RELAXED)) {
		if (!vbf_enter(&tail_lock))
			return NULL;
		if ((t = find(d, fd))) {
			state = t->state;
			pos = t->pos;
		}
		vbf_leave(&tail_lock);
	}
	if (state == T_DONE || (state == T_FREE && vbf_redirect_list_begin(fd, &pos) != 0))
		return NULL;
	char name[NAME_MAX + 1];
	unsigned char type = DT_UNKNOWN;
	uint64_t ino = 0;
	int got = vbf_redirect_list_next(fd, &pos, name, &type, &ino);
	if (!got && state == T_FREE)
		return NULL; /* nothing to list: no slot */
	if (!vbf_enter(&tail_lock))
		return NULL;
	if ((t = find(d, fd)) || (t = take(d, fd))) {
		t->pos = pos;
		t->state = got ? T_LISTING : T_DONE;
		if (got) {
			t->type = type;
			t->ino = ino;
			memcpy(t->name, name, sizeof name);
		}
	}
	vbf_leave(&tail_lock);
	return got ? t : NULL;
}

