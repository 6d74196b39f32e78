/* SPDX-License-Identifier: MIT */
/* The state-store loader as a fuzz target, shared by the libFuzzer harness
 * (fuzz_store.c) and the corpus replay unit test (test_store_corpus.c).
 *
 * Properties checked on any input:
 *  - no crash, leak, overread or unbounded work (the sanitizers and the
 *    fuzzer's limits);
 *  - the scan consumes at most the input;
 *  - reading the input in chunks, as the file loader does, gives the same
 *    table as reading it whole;
 *  - the table written out as records (what compaction does) reads back to
 *    the same table. */
#ifndef STORE_TARGET_H
#define STORE_TARGET_H

#include "store_int.h"
#include <assert.h>

static struct vbf_store tgt_a, tgt_b;

static void tgt_apply(void *arg, const struct vbf_op *op) { vbf_store_apply(arg, op); }

static void tgt_prepare(struct vbf_store *s)
{
	if (!s->bloom)
		s->bloom = calloc(1, VBF_BLOOM_BITS / 8);
	vbf_store_clear(s);
}

static void tgt_same(struct vbf_store *a, struct vbf_store *b)
{
	assert(a->nrec == b->nrec);
	assert(a->live == b->live);
	for (struct vbf_ent *e = a->tab, *f; e; e = e->hh.next) {
		HASH_FIND(hh, b->tab, e->key, e->klen, f);
		assert(f && !memcmp(&e->rec, &f->rec, sizeof e->rec));
		assert(e->fptype == f->fptype && e->ino == f->ino);
	}
}

static void store_target(const uint8_t *data, size_t size)
{
	unsigned skipped = 0;
	tgt_prepare(&tgt_a);
	tgt_prepare(&tgt_b);
	size_t used = vbf_rec_scan(data, size, 1, tgt_apply, &tgt_a, &skipped);
	assert(used <= size);

	/* chunked like store_file.c's read_tail, with the smallest buffer
	 * that can hold a judged position */
	enum { CH = 2 * VBF_REC_MAX };
	static uint8_t buf[CH];
	size_t have = 0, off = 0;
	for (;;) {
		size_t r = size - (off + have) < CH - have ? size - (off + have) : CH - have;
		memcpy(buf + have, data + off + have, r);
		have += r;
		int eof = r == 0 || have < CH;
		size_t u = vbf_rec_scan(buf, have, eof, tgt_apply, &tgt_b, &skipped);
		assert(u <= have);
		off += u;
		if (eof)
			break;
		memmove(buf, buf + u, have - u);
		have -= u;
	}
	assert(off == used);
	tgt_same(&tgt_a, &tgt_b);

	/* written out and read back */
	static uint8_t out[VBF_REC_MAX];
	tgt_prepare(&tgt_b);
	for (struct vbf_ent *e = tgt_a.tab; e; e = e->hh.next) {
		struct vbf_op op = {.type = VBF_OP_PUT, .rec = e->rec, .key = e->key, .klen = e->klen};
		op.fp.type = e->fptype & S_IFMT;
		op.fp.has_ino = e->fptype & VBF_FP_INO;
		op.fp.ino = e->ino;
		size_t n = vbf_rec_encode(&op, out);
		assert(n > 0);
		assert(vbf_rec_scan(out, n, 1, tgt_apply, &tgt_b, &skipped) == n);
	}
	tgt_same(&tgt_a, &tgt_b);
}

#endif
