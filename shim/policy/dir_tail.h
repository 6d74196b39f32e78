/* SPDX-License-Identifier: MIT */
/* Where each directory stream is in its synthetic tail: the redirected
 * FIFOs and sockets (refuse_list.c) that follow the real entries of a share
 * directory. A small fixed table keyed by the DIR: no allocation inside
 * readdir, and only streams of share directories that reached their end
 * with something to list (or were seeked) take a slot. */
#ifndef VBF_DIR_TAIL_H
#define VBF_DIR_TAIL_H

#include "refuse.h"

/* Streams of share directories in their tail at once; more get no tail
 * (docs/refusals.md). */
#define TAIL_SLOTS 32

struct vbf_tail {
	DIR *d;
	int fd;    /* a DIR freed behind our back and reused shows another fd */
	int state;
	struct vbf_list_pos pos;
	uint64_t ino;
	unsigned char type;
	char name[NAME_MAX + 1];
	/* what readdir returns must live until the next call on the stream */
	union {
		struct dirent e;
#if VBF_GLIBC
		struct dirent64 e64;
#endif
	} out;
};

/* The real stream of `d` ended without error: its next tail entry (name,
 * type, ino filled; `out` is the caller's to fill and return), or NULL. */
struct vbf_tail *vbf_tail_next(DIR *d);

/* The stream starts a new pass (rewinddir, closedir: done=0), or goes on
 * with no tail (seekdir: done=1; where a tail entry sits relative to a
 * seekdir position is nothing telldir could have said). */
void vbf_tail_reset(DIR *d, int done);

void vbf_tail_atfork_prepare(void);
void vbf_tail_atfork_parent(void);
void vbf_tail_atfork_child(void);

#endif
