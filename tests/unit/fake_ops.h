/* SPDX-License-Identifier: MIT */
/* The name ops as the wrappers call them (wrap_names.c): each name
 * classified once, first, and handed down. For the unit tests that run
 * the ops on a share (test_names.c, test_defer.c, test_once.c). */
#ifndef FAKE_OPS_H
#define FAKE_OPS_H
#include "refuse.h"

static inline int op_rename(int fa, const char *a, int fb, const char *b, unsigned int fl)
{
	struct vbf_where wa, wb;
	vbf_where_two(fa, a, &wa, fb, b, &wb);
	return vbf_op_rename(&wa, fa, a, &wb, fb, b, fl);
}

static inline int op_unlink(int d, const char *p, int fl)
{
	struct vbf_where w;
	vbf_where_name(d, p, &w);
	return vbf_op_unlink(&w, d, p, fl);
}

static inline int op_link(int fa, const char *a, int fb, const char *b, int fl)
{
	struct vbf_where wa, wb;
	vbf_where_two(fa, a, &wa, fb, b, &wb);
	return vbf_op_link(&wa, fa, a, &wb, fb, b, fl);
}
#endif
