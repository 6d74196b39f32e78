/* SPDX-License-Identifier: MIT */
/* The owner, group and mode an object on a share shows to every process:
 * its own record, else its nearest recorded ancestor's owner, else a
 * VBOXFIX_MAP mapping of the real owner, else VBOXFIX_OWNER, else (nothing
 * is known about it) the caller's effective ids; the recorded mode, else
 * the real one. In memory only: no system call. */
#ifndef VBF_VIEW_H
#define VBF_VIEW_H

#include "store.h"

struct vbf_view {
	uid_t uid;
	gid_t gid;
	mode_t mode; /* type and permission bits */
	int how;     /* where the owner came from: */
	struct vbf_rec link; /* its emulated hard-link group when link.flags (store.h) */
};

enum {
	VBF_VIEW_RECORD,    /* its own record */
	VBF_VIEW_INHERITED, /* its nearest recorded ancestor's */
	VBF_VIEW_MAPPED,    /* VBOXFIX_MAP of the real owner */
	VBF_VIEW_OWNER,     /* VBOXFIX_OWNER */
	VBF_VIEW_CALLER,    /* nothing is known: the caller's own ids */
};

/* The view of a share object with real stat `st` and (possibly NULL) key. */
void vbf_view_of(int idx, const char *key, const struct stat *st, struct vbf_view *v);
/* The owner it would show without a record of its own (what a new object
 * inherits); `st` may be NULL (no VBOXFIX_MAP then). Sets uid, gid, how. */
void vbf_view_inherited(int idx, const char *key, const struct stat *st, struct vbf_view *v);

/* A stat of a name whose record `rec` is in a link group (store.h,
 * VBF_REC_LINK): while the group has two names or more, the group's inode
 * number and the number of its names. */
void vbf_link_present(int idx, const struct vbf_rec *rec, struct stat *st);

#endif
