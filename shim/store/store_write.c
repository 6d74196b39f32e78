/* SPDX-License-Identifier: MIT */
/* The state store's writes: puts, deletes, renames, forgets, a reset and
 * a compaction asked for, each appended to the log under the store's lock
 * (store_file.c) or, for a made record, decided under the log's own
 * (store_made.c). Reads, opening and the rest of the API are store.c's;
 * docs/state-store.md says what each write means. */
#include "store_int.h"

/* A forget, delete or rename that would change nothing in the table is not
 * appended: unlink and rename of names nothing was recorded for (most of
 * them) then cost no write to the share, and a service's start that only
 * makes, renames and removes its own files leaves the log as it was. (A
 * record another process is appending for the same name right now could
 * land after the delete whether it is appended or not: no new race.) */
static int changes(struct vbf_store *s, const struct vbf_op *op)
{
	/* Whether a delete or rename would change anything is judged from the
	 * log itself, not from the shared counter: a process of another
	 * container (another page) may have recorded the name. One read of the
	 * tail, where an append is a write and a read. */
	if (op->type == VBF_OP_FORGET || op->type == VBF_OP_DEL || op->type == VBF_OP_REN)
		vbf_file_sync_now(s);
	switch (op->type) {
	case VBF_OP_FORGET:
		return vbf_store_any_at(s, op->key, op->klen, 0);
	case VBF_OP_DEL:
		return vbf_store_any_at(s, op->key, op->klen, 1);
	case VBF_OP_REN:
		return vbf_store_any_at(s, op->key, op->klen, 1) || vbf_store_any_at(s, op->key2, op->k2len, 1);
	}
	return 1;
}

/* The table in memory decides first: the op as asked is always correct to
 * append (a new record, a delete, a rename), so it goes the usual way; only
 * keeping a record or copying it must be decided again under the log's
 * lock, from its end, where no compaction can drop what we keep. */
static int submit_made(struct vbf_store *s, const struct vbf_op *want, const struct vbf_rec *was)
{
	if (!vbf_store_enter(s))
		return -1;
	int saved = errno, r = 0;
	struct vbf_op out;
	/* a delete or rename is judged from the log itself (changes()) */
	if (want->type == VBF_OP_PUT)
		vbf_store_catch_up(s);
	else
		vbf_file_sync_now(s);
	int p = vbf_made_plan(s, want, &out, (void *)was);
	if (p == VBF_PLAN_PLAIN)
		r = vbf_file_append(s, want);
	else if (p != VBF_PLAN_NONE)
		r = vbf_file_append_plan(s, want, vbf_made_plan_locked, (void *)was);
	if (r == 0 && p != VBF_PLAN_NONE)
		vbf_file_compact(s, 0);
	vbf_store_leave(s);
	errno = saved;
	return r;
}

static int submit(struct vbf_store *s, const struct vbf_op *op)
{
	if (!vbf_store_enter(s))
		return -1;
	int saved = errno;
	int r = 0;
	/* an append that reached the log may leave it mostly dead records:
	 * rewritten now, still under our lock (it checks and decides) */
	if (changes(s, op) && (r = vbf_file_append(s, op)) == 0)
		vbf_file_compact(s, 0);
	vbf_store_leave(s);
	errno = saved;
	return r;
}

static int put_op(int idx, const char *key, const struct vbf_fp *fp, const struct vbf_rec *rec, int made)
{
	struct vbf_store *s = vbf_store_of(idx);
	char buf[VBF_KEY_MAX + 1];
	if (s && key && !vbf_key_valid(key, strlen(key)))
		key = NULL;
	if (s && (key = vbf_store_key_in(s, key, buf)))
		s = vbf_store_held_by(s);
	size_t n = key ? strlen(key) : 0;
	if (!s || !key || !rec || !vbf_key_valid(key, n)) {
		errno = EINVAL;
		return -1;
	}
	struct vbf_op op = {.type = VBF_OP_PUT, .key = key, .klen = n, .rec = *rec};
	op.rec.flags &= VBF_REC_OWNER | VBF_REC_MODE | VBF_REC_LINK; /* a made record's flags: put_made's */
	op.rec.mode &= 07777;
	if (!(op.rec.flags & VBF_REC_LINK) || !op.rec.link) {
		op.rec.flags &= ~VBF_REC_LINK;
		op.rec.link = op.rec.link_ino = 0;
	}
	if (fp) {
		op.fp = *fp;
		op.fp.type &= S_IFMT;
		op.fp.has_ino = fp->has_ino ? 1 : 0;
	}
	if (!made || !(op.rec.flags & (VBF_REC_OWNER | VBF_REC_MODE)))
		return submit(s, &op);
	/* no inode number: the next file made at the name is the same record */
	op.rec.flags = (op.rec.flags & (VBF_REC_OWNER | VBF_REC_MODE)) | VBF_REC_MADE;
	op.fp = (struct vbf_fp){.type = S_IFREG};
	return submit_made(s, &op, NULL);
}

int vbf_store_put_fp(int idx, const char *key, const struct vbf_fp *fp, const struct vbf_rec *rec)
{
	return put_op(idx, key, fp, rec, 0);
}

int vbf_store_put_made(int idx, const char *key, const struct stat *real, const struct vbf_rec *rec)
{
	if (!real || !S_ISREG(real->st_mode))
		return vbf_store_put(idx, key, real, rec);
	int saved = errno;
	int r = put_op(idx, key, NULL, rec, 1);
	errno = saved;
	return r;
}

int vbf_store_put(int idx, const char *key, const struct stat *real, const struct vbf_rec *rec)
{
	struct vbf_store *s = vbf_store_of(idx);
	struct vbf_fp fp = {0};
	if (!s)
		return -1;
	if (real) {
		fp.type = real->st_mode & S_IFMT;
		fp.has_ino = (uint32_t)s->trust_ino;
		fp.ino = (uint64_t)real->st_ino;
	}
	int saved = errno;
	int r = vbf_store_put_fp(idx, key, &fp, rec);
	errno = saved;
	return r;
}

/* `made`: by the made-record rules (submit_made; `was` for a rename) */
static void submit_key(int idx, int type, const char *key, const char *key2, int made, const struct vbf_rec *was)
{
	struct vbf_store *s = vbf_store_of(idx);
	char buf[VBF_KEY_MAX + 1], buf2[VBF_KEY_MAX + 1];
	if (!s || !key || (type == VBF_OP_REN && !key2) || !vbf_key_valid(key, strlen(key)) ||
	    (key2 && !vbf_key_valid(key2, strlen(key2))))
		return;
	key = vbf_store_key_in(s, key, buf);
	key2 = key2 ? vbf_store_key_in(s, key2, buf2) : NULL;
	s = vbf_store_held_by(s);
	if (!key || (type == VBF_OP_REN && !key2))
		return;
	struct vbf_op op = {.type = type, .key = key, .klen = strlen(key)};
	if (key2) {
		op.key2 = key2;
		op.k2len = strlen(key2);
	}
	if (!vbf_key_valid(op.key, op.klen) || (key2 && !vbf_key_valid(op.key2, op.k2len)))
		return;
	if (made)
		submit_made(s, &op, was);
	else
		submit(s, &op);
}

void vbf_store_del(int idx, const char *key) { submit_key(idx, VBF_OP_DEL, key, NULL, 0, NULL); }
void vbf_store_unlinked(int idx, const char *key) { submit_key(idx, VBF_OP_DEL, key, NULL, 1, NULL); }
void vbf_store_forget(int idx, const char *key) { submit_key(idx, VBF_OP_FORGET, key, NULL, 0, NULL); }
void vbf_store_rename(int idx, const char *from, const char *to)
{
	if (from && to && strcmp(from, to))
		submit_key(idx, VBF_OP_REN, from, to, 0, NULL);
}
void vbf_store_rename_was(int idx, const char *from, const char *to, const struct vbf_rec *was)
{
	if (from && to && strcmp(from, to))
		submit_key(idx, VBF_OP_REN, from, to, 1, was);
}

void vbf_store_reset(int idx)
{
	struct vbf_store *s = vbf_store_of(idx);
	struct vbf_op op = {.type = VBF_OP_RESET};
	if (s && s->kprefix[0]) /* the log holds other shares' records too */
		submit_key(idx, VBF_OP_DEL, "", NULL, 0, NULL);
	else if (s)
		submit(s, &op);
}

int vbf_store_compact(int idx)
{
	struct vbf_store *s = vbf_store_of(idx);
	if (s)
		s = vbf_store_held_by(s);
	if (!s || !vbf_store_enter(s))
		return -1;
	int saved = errno;
	int r = vbf_file_compact(s, 1);
	vbf_store_leave(s);
	errno = saved;
	return r;
}

