/* SPDX-License-Identifier: MIT */
/* Made records (store.h, VBF_REC_MADE): what a create, an unlink or a
 * rename of a file should append given the table, so that a file a service
 * recreates at every start appends nothing after its first round
 * (docs/state-store.md, "Recreated files"). store.c asks the table in
 * memory first, and again under the log's lock (store_file.c,
 * vbf_file_append_plan) whenever the answer keeps or copies a record. */
#include "store_int.h"

/* Anything recorded for `k` or below it? The bloom answers for most names. */
int vbf_store_any_at(struct vbf_store *s, const char *k, size_t n, int below_too)
{
	if (vbf_ent_find(s, k, n))
		return 1;
	if (!below_too || !vbf_bloom_maybe(s, k, n))
		return 0;
	for (struct vbf_ent *e = s->tab; e; e = e->hh.next)
		if (vbf_ent_below(e, k, n))
			return 1;
	return 0;
}

static const struct vbf_ent *dormant_at(struct vbf_store *s, const char *k, size_t n)
{
	const struct vbf_ent *e = vbf_ent_find(s, k, n);
	return e && vbf_ent_dormant(e) ? e : NULL;
}

/* Anything recorded strictly below `k`? */
static int any_below(struct vbf_store *s, const char *k, size_t n)
{
	if (!vbf_bloom_maybe(s, k, n))
		return 0;
	for (struct vbf_ent *e = s->tab; e; e = e->hh.next)
		if (e->klen > n && vbf_ent_below(e, k, n))
			return 1;
	return 0;
}

int vbf_made_below(struct vbf_store *s, const char *k, size_t n)
{
	if (!vbf_bloom_maybe(s, k, n))
		return 0;
	for (struct vbf_ent *e = s->tab; e; e = e->hh.next)
		if (e->klen > n && vbf_ent_dormant(e) && vbf_ent_below(e, k, n))
			return 1;
	return 0;
}

/* Would putting `op` leave the record of its key as it is? */
static int holds(struct vbf_store *s, const struct vbf_op *op)
{
	const struct vbf_ent *e = vbf_ent_find(s, op->key, op->klen);
	uint32_t f = op->rec.flags;
	return e && e->rec.flags == f && e->fptype == (op->fp.type | (op->fp.has_ino ? VBF_FP_INO : 0)) &&
	       (!op->fp.has_ino || e->ino == op->fp.ino) &&
	       (!(f & VBF_REC_OWNER) || (e->rec.uid == op->rec.uid && e->rec.gid == op->rec.gid)) &&
	       (!(f & VBF_REC_MODE) || e->rec.mode == op->rec.mode);
}

/* What the table says an op of the made-record rules should append: the op
 * as asked (VBF_PLAN_PLAIN), a put of `to` instead of a rename (VBF_PLAN_COPY), or
 * nothing because nothing is recorded (VBF_PLAN_NONE) or because the record
 * stays as it is (VBF_PLAN_KEPT). `arg`: for a rename, the record `from` had
 * before it (or NULL). */
int vbf_made_plan(struct vbf_store *s, const struct vbf_op *want, struct vbf_op *out, void *arg)
{
	const struct vbf_rec *was = arg;
	*out = *want;
	switch (want->type) {
	case VBF_OP_PUT:
		return holds(s, want) ? VBF_PLAN_KEPT : VBF_PLAN_PLAIN;
	case VBF_OP_DEL:
		if (dormant_at(s, want->key, want->klen) && !any_below(s, want->key, want->klen))
			return VBF_PLAN_KEPT;
		return vbf_store_any_at(s, want->key, want->klen, 1) ? VBF_PLAN_PLAIN : VBF_PLAN_NONE;
	case VBF_OP_REN: {
		const struct vbf_ent *f = dormant_at(s, want->key, want->klen), *t = vbf_ent_find(s, want->key2, want->k2len);
		int copy = (f || (!vbf_ent_find(s, want->key, want->klen) && was &&
				  (was->flags & (VBF_REC_MADE | VBF_REC_LINK)) == VBF_REC_MADE)) &&
			   !any_below(s, want->key, want->klen) && !any_below(s, want->key2, want->k2len) &&
			   !(t && (t->rec.flags & VBF_REC_LINK));
		if (!copy)
			return vbf_store_any_at(s, want->key, want->klen, 1) || vbf_store_any_at(s, want->key2, want->k2len, 1) ? VBF_PLAN_PLAIN
													  : VBF_PLAN_NONE;
		/* the file's record is put at its new name, the old name's stays
		 * dormant: a file written under a temporary name and renamed
		 * over the real one at every start appends nothing */
		*out = (struct vbf_op){.type = VBF_OP_PUT, .key = want->key2, .klen = want->k2len};
		out->rec = f ? f->rec : *was;
		out->rec.flags &= VBF_REC_OWNER | VBF_REC_MODE | VBF_REC_MADE;
		out->fp.type = S_IFREG;
		return holds(s, out) ? VBF_PLAN_KEPT : VBF_PLAN_COPY;
	}
	}
	return VBF_PLAN_PLAIN;
}

/* Under the log's lock: append what the plan says, if anything. */
int vbf_made_plan_locked(struct vbf_store *s, const struct vbf_op *want, struct vbf_op *out, void *arg)
{
	int p = vbf_made_plan(s, want, out, arg);
	return p == VBF_PLAN_PLAIN || p == VBF_PLAN_COPY;
}

