/* SPDX-License-Identifier: MIT */
/* The state store's table: the records of one log, as its replay leaves
 * them (a hash by key, plus a bloom of the keys' ancestors), and the one way
 * they change, applying a decoded record. Memory only (its own arena,
 * arena.h), under the store's lock: the log (store_file.c), compaction
 * (store_compact.c) and the API (store.c) all stand on it. The lookups the
 * API makes on every stat are inline in store_int.h. */
#include "store_int.h"

static size_t enc_size(size_t klen) { return VBF_PUT_FIXED + klen; }

/* Mark every proper ancestor of `k` as "has records below": a rename or
 * delete of a plain file (most of them) then skips the O(n) subtree walk. */
static void bloom_add(struct vbf_store *s, const char *k, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		if (k[i] == '/') {
			uint32_t b = vbf_bloom_bit(h) & (VBF_BLOOM_BITS - 1);
			s->bloom[b >> 3] |= (uint8_t)(1u << (b & 7));
		}
		h = (h ^ (uint8_t)k[i]) * 0x100000001b3ull;
	}
}

/* A record of a directory (or of any type) whose mode denies search to
 * some class: only while there are any does a path need its ancestors
 * looked at for search permission (vbf_store_ancestors). */
static int closed(const struct vbf_ent *e)
{
	uint32_t t = e->fptype & S_IFMT;
	return (e->rec.flags & VBF_REC_MODE) && (e->rec.mode & 0111) != 0111 && (t == 0 || t == S_IFDIR);
}

_Atomic unsigned long vbf_store_nclosed;

static void closed_add(struct vbf_store *s, long n)
{
	s->nclosed += (unsigned long)n;
	vbf_store_nclosed += (unsigned long)n;
}

/* Count one more (d = 1) or one less (-1) record in link group `link`.
 * A group that cannot be allocated is not counted: its names show their
 * own inode numbers, as before they were linked. */
static void group_add(struct vbf_store *s, const struct vbf_rec *rec, int d)
{
	struct vbf_lgrp *g;
	if (!(rec->flags & VBF_REC_LINK))
		return;
	HASH_FIND(hh, s->groups, &rec->link, sizeof rec->link, g);
	if (!g && d > 0 && (g = vbf_arena_alloc(sizeof *g))) {
		memset(g, 0, sizeof *g);
		g->link = rec->link;
		HASH_ADD(hh, s->groups, link, sizeof g->link, g);
	}
	if (!g)
		return;
	g->n += (unsigned)d;
	if (!g->n) {
		HASH_DEL(s->groups, g);
		vbf_arena_free(g, sizeof *g);
	}
}

static void ent_del(struct vbf_store *s, struct vbf_ent *e)
{
	group_add(s, &e->rec, -1);
	HASH_DEL(s->tab, e);
	s->live -= enc_size(e->klen);
	s->nrec--;
	closed_add(s, -closed(e));
	vbf_arena_free(e, sizeof *e + e->klen + 1);
}

static struct vbf_ent *ent_new(const char *k, size_t n, const struct vbf_rec *rec, uint32_t fptype, uint64_t ino)
{
	struct vbf_ent *e = vbf_arena_alloc(sizeof *e + n + 1);
	if (!e)
		return NULL;
	memcpy(e->key, k, n);
	e->key[n] = 0;
	e->klen = (uint16_t)n;
	e->rec = *rec;
	e->fptype = fptype;
	e->ino = ino;
	return e;
}

static void ent_add(struct vbf_store *s, struct vbf_ent *e)
{
	HASH_ADD(hh, s->tab, key[0], e->klen, e);
	group_add(s, &e->rec, 1);
	s->live += enc_size(e->klen);
	s->nrec++;
	closed_add(s, closed(e));
	bloom_add(s, e->key, e->klen);
}

static void del_tree(struct vbf_store *s, const char *k, size_t n)
{
	struct vbf_ent *e, *t;
	if (!vbf_bloom_maybe(s, k, n)) {
		if ((e = vbf_ent_find(s, k, n)))
			ent_del(s, e);
		return;
	}
	HASH_ITER(hh, s->tab, e, t)
		if (vbf_ent_below(e, k, n))
			ent_del(s, e);
}

static void move_one(struct vbf_store *s, struct vbf_ent *e, size_t fn, const char *to, size_t tn,
		     struct vbf_ent **moved)
{
	char nk[VBF_KEY_MAX + 1];
	size_t rest = e->klen - fn, nn = tn + rest;
	struct vbf_ent *m = NULL;
	if (nn <= VBF_KEY_MAX) { /* a key that would grow too long is dropped */
		memcpy(nk, to, tn);
		memcpy(nk + tn, e->key + fn, rest);
		m = ent_new(nk, nn, &e->rec, e->fptype, e->ino);
	}
	if (m) /* its name exists again: the next compaction looks afresh */
		m->rec.flags &= ~VBF_REC_GONE;
	ent_del(s, e);
	if (m)
		HASH_ADD(hh, *moved, key[0], m->klen, m);
}

static void rename_tree(struct vbf_store *s, const char *from, size_t fn, const char *to, size_t tn)
{
	/* a directory cannot move into itself; such a record is ignored */
	if (fn == 0 || (tn >= fn && !memcmp(to, from, fn) && (tn == fn || to[fn] == '/')))
		return;
	struct vbf_ent *moved = NULL, *e, *t;
	if (!vbf_bloom_maybe(s, from, fn)) {
		if ((e = vbf_ent_find(s, from, fn)))
			move_one(s, e, fn, to, tn, &moved);
	} else {
		HASH_ITER(hh, s->tab, e, t)
			if (vbf_ent_below(e, from, fn))
				move_one(s, e, fn, to, tn, &moved);
	}
	del_tree(s, to, tn);
	HASH_ITER(hh, moved, e, t) {
		HASH_DEL(moved, e);
		ent_add(s, e);
	}
}

void vbf_store_clear(struct vbf_store *s)
{
	struct vbf_ent *e, *t;
	HASH_ITER(hh, s->tab, e, t) {
		HASH_DEL(s->tab, e);
		vbf_arena_free(e, sizeof *e + e->klen + 1);
	}
	struct vbf_lgrp *g, *gt;
	HASH_ITER(hh, s->groups, g, gt) {
		HASH_DEL(s->groups, g);
		vbf_arena_free(g, sizeof *g);
	}
	s->nrec = 0;
	closed_add(s, -(long)s->nclosed);
	s->live = 0;
	if (s->bloom)
		memset(s->bloom, 0, VBF_BLOOM_BITS / 8);
}

void vbf_store_apply(struct vbf_store *s, const struct vbf_op *op)
{
	struct vbf_ent *e;
	switch (op->type) {
	case VBF_OP_PUT:
		e = vbf_ent_find(s, op->key, op->klen);
		/* a put without a link keeps the name's (store.h) */
		struct vbf_rec rec = op->rec;
		if (e && (e->rec.flags & VBF_REC_LINK) && !(rec.flags & VBF_REC_LINK)) {
			rec.flags |= VBF_REC_LINK;
			rec.link = e->rec.link;
			rec.link_ino = e->rec.link_ino;
		}
		if (!(rec.flags & (VBF_REC_OWNER | VBF_REC_MODE | VBF_REC_LINK))) {
			if (e)
				ent_del(s, e);
			break;
		}
		if (e) { /* in place: no allocation for a changed record */
			group_add(s, &e->rec, -1);
			group_add(s, &rec, 1);
			closed_add(s, -closed(e));
			e->rec = rec;
			e->fptype = op->fp.type | (op->fp.has_ino ? VBF_FP_INO : 0);
			e->ino = op->fp.ino;
			closed_add(s, closed(e));
			break;
		}
		e = ent_new(op->key, op->klen, &rec, op->fp.type | (op->fp.has_ino ? VBF_FP_INO : 0), op->fp.ino);
		if (e)
			ent_add(s, e);
		break;
	case VBF_OP_FORGET:
		if ((e = vbf_ent_find(s, op->key, op->klen)))
			ent_del(s, e);
		break;
	case VBF_OP_DEL:
		del_tree(s, op->key, op->klen);
		break;
	case VBF_OP_REN:
		rename_tree(s, op->key, op->klen, op->key2, op->k2len);
		break;
	case VBF_OP_RESET:
		vbf_store_clear(s);
		break;
	}
}
