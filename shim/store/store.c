/* SPDX-License-Identifier: MIT */
/* The state store's API, on top of the rest of it (the writes are in
 * store_write.c). The table
 * (store_table.c) is what lookups read; it is always the replay of the log
 * in log order (our own appends included, read back), so every process
 * converges on the same state whatever the interleaving of writers. The
 * file side is in store_file.c, which file in store_where.c, its
 * replacement in store_compact.c, the record format in store_fmt.c
 * (store_int.h has the order), the user-facing description in
 * docs/state-store.md.
 */
#include "store_int.h"
#include "log.h"
#include "shares.h"

#define VBOXSF_MAGIC 0x786f4256

struct vbf_store vbf_stores[VBF_MAX_SHARES];


/* Opens are serialized: which log a store uses can depend on the stores
 * already open (store_where.c, look_above). Taken before a store's lock,
 * never while holding one. */
static vbf_lock open_lock;

struct vbf_store *vbf_store_of(int idx)
{
	if (idx < 0 || idx >= VBF_MAX_SHARES)
		return NULL;
	struct vbf_store *s = &vbf_stores[idx];
	if (unlikely(!__atomic_load_n(&s->open, __ATOMIC_ACQUIRE)) && __atomic_load_n(&s->pending, __ATOMIC_ACQUIRE)) {
		vbf_store_open(idx, s->root, s->pending_state[0] ? s->pending_state : NULL);
		if (__atomic_exchange_n(&s->hint_pending, 0, __ATOMIC_ACQ_REL))
			vbf_store_nclosed -= 1; /* its table now counts for itself */
		const struct vbf_store *h = vbf_store_held_by(s);
		if (__atomic_load_n(&s->open, __ATOMIC_ACQUIRE)) /* first use of a share: the start-up line */
			vbf_shares_log_start(h->path, s->kprefix, h->nrec);
	}
	return __atomic_load_n(&s->open, __ATOMIC_ACQUIRE) ? s : NULL;
}

void vbf_store_defer(int idx, const char *root, const char *state_file)
{
	if (idx < 0 || idx >= VBF_MAX_SHARES || !root)
		return;
	struct vbf_store *s = &vbf_stores[idx];
	/* copies: the environment the state path came from may change */
	snprintf(s->root, sizeof s->root, "%s", root);
	snprintf(s->pending_state, sizeof s->pending_state, "%s", state_file ? state_file : "");
	/* unread, it may hold closed directories: the walk must ask it */
	if (!__atomic_exchange_n(&s->hint_pending, 1, __ATOMIC_ACQ_REL))
		vbf_store_nclosed += 1;
	__atomic_store_n(&s->pending, 1, __ATOMIC_RELEASE);
}

/* ---- API ---- */

/* The usual case, no prefix, costs a test. */
const char *vbf_store_key_in(const struct vbf_store *s, const char *key, char *buf)
{
	if (!s->kprefix[0] || !key)
		return key;
	int n = snprintf(buf, VBF_KEY_MAX + 1, "%s%s%s", s->kprefix, *key ? "/" : "", key);
	return n >= 0 && n <= VBF_KEY_MAX ? buf : NULL;
}

struct vbf_store *vbf_store_held_by(struct vbf_store *s)
{
	return s->via ? &vbf_stores[s->via - 1] : s;
}

static void open_locked(int idx, const char *root, const char *state_file);

/* s's records are in the log of store `j` of this process: open j, then
 * use its log under s's prefix (j's own prefix first when j uses yet
 * another store's, so `via` always names a store with a log of its own). */
static void open_via(struct vbf_store *s, int j)
{
	struct vbf_store *t = &vbf_stores[j];
	char rel[PATH_MAX];
	snprintf(rel, sizeof rel, "%s", s->kprefix);
	vbf_unlock(&s->lock);
	open_locked(j, t->root, t->pending_state[0] ? t->pending_state : NULL);
	vbf_lock_take(&s->lock);
	int n = snprintf(s->kprefix, sizeof s->kprefix, "%s%s%s", t->kprefix, t->kprefix[0] ? "/" : "", rel);
	if (!t->open || n < 0 || n > VBF_KEY_MAX) {
		s->via = 0; /* memory only */
		s->kprefix[0] = 0;
		return;
	}
	s->via = t->via ? t->via : j + 1;
}

/* The share table's entry for a share rooted at `root`, or NULL (the CLI's
 * roots, a test's). */
static const struct vbf_share *share_at(const char *root)
{
	for (int i = 0; i < vbf_nshares; i++)
		if (!strcmp(vbf_shares[i].root, root))
			return &vbf_shares[i];
	return NULL;
}

/* vboxsf invents inode numbers per mount and recycles them: there only
 * the type can tell a replaced file. The share table knows the type of a
 * share that is a mount from mountinfo; only another root (the CLI's, a
 * subtree) asks the filesystem, which costs a request to the host. */
static int stable_inodes(const char *root)
{
	const struct vbf_share *sh = share_at(root);
	if (sh && sh->whole_fs && sh->fstype[0])
		return strcmp(sh->fstype, "vboxsf") != 0;
	struct statfs sf;
	return !(REAL(statfs)(root, &sf) == 0 && (unsigned long)sf.f_type == VBOXSF_MAGIC);
}

/* Does the walk to the log refresh its attributes (FUSE and vboxsf ask the
 * host at each lookup when their timeouts are 0), so that a statx with
 * AT_STATX_DONT_SYNC right after it is the host's answer? Elsewhere (NFS,
 * a subtree of unknown type) a copy of the log is checked with a plain
 * statx: store_file.c, vbf_file_from_copy. */
static int walk_refreshes(const char *root)
{
	const struct vbf_share *sh = share_at(root);
	return sh && (!strcmp(sh->fstype, "vboxsf") || !strncmp(sh->fstype, "fuse", 4));
}

/* open_lock held; s's lock taken here (signal handlers never get this far:
 * vbf_store_open entered open_lock). */
static void open_locked(int idx, const char *root, const char *state_file)
{
	struct vbf_store *s = &vbf_stores[idx];
	if (s->open)
		return;
	vbf_lock_take(&s->lock);
	s->tab = NULL;
	s->groups = NULL;
	s->nrec = 0;
	s->nclosed = 0;
	s->live = 0;
	s->gen = &s->private_gen;
	s->fd = -1;
	s->later = 0;
	if (!s->bloom)
		s->bloom = vbf_arena_calloc(VBF_BLOOM_BITS / 8);
	if (!s->bloom)
		goto out;
	if (s->root != root)
		snprintf(s->root, sizeof s->root, "%s", root);
	s->trust_ino = stable_inodes(root);
	s->walk_fresh = walk_refreshes(root);
	vbf_where_open(s, idx, state_file, vbf_stores);
	if (s->via)
		open_via(s, s->via - 1);
	__atomic_store_n(&s->open, 1, __ATOMIC_RELEASE);
out:
	vbf_unlock(&s->lock);
}

void vbf_store_open(int idx, const char *root, const char *state_file)
{
	if (idx < 0 || idx >= VBF_MAX_SHARES || !root)
		return;
	int saved = errno;
	if (!vbf_enter(&open_lock))
		return;
	open_locked(idx, root, state_file);
	vbf_leave(&open_lock);
	errno = saved;
}

void vbf_store_close(int idx)
{
	struct vbf_store *s = vbf_store_of(idx);
	if (!s || !vbf_store_enter(s))
		return;
	int saved = errno;
	__atomic_store_n(&s->open, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&s->pending, 0, __ATOMIC_RELEASE);
	vbf_store_clear(s);
	vbf_file_close(s);
	vbf_arena_free(s->bloom, VBF_BLOOM_BITS / 8);
	s->bloom = NULL;
	vbf_store_leave(s);
	errno = saved;
}

void vbf_store_open_copies(void)
{
	for (int i = 0; i < VBF_MAX_SHARES; i++) {
		struct vbf_store *s = &vbf_stores[i];
		if (!__atomic_load_n(&s->open, __ATOMIC_ACQUIRE) || !__atomic_load_n(&s->later, __ATOMIC_RELAXED) ||
		    !vbf_store_enter(s))
			continue;
		int saved = errno;
		vbf_file_here(s);
		vbf_store_leave(s);
		errno = saved;
	}
}

/* Has another process written records this table has not read? A hint,
 * read without the lock (one load of the shared generation). */
static int behind(const struct vbf_store *s)
{
	return atomic_load_explicit(s->gen, memory_order_relaxed) != __atomic_load_n(&s->seen_gen, __ATOMIC_RELAXED);
}

int vbf_store_behind(int idx)
{
	struct vbf_store *s = idx >= 0 && idx < VBF_MAX_SHARES ? &vbf_stores[idx] : NULL;
	return s && __atomic_load_n(&s->open, __ATOMIC_ACQUIRE) && behind(vbf_store_held_by(s));
}

void vbf_store_catch_up(struct vbf_store *s)
{
	if (atomic_load_explicit(s->gen, memory_order_acquire) != s->seen_gen)
		vbf_file_sync(s);
}

int vbf_store_get(int idx, const char *key, const struct stat *real, struct vbf_rec *out)
{
	struct vbf_store *s = vbf_store_of(idx);
	char buf[VBF_KEY_MAX + 1];
	if (s && (key = vbf_store_key_in(s, key, buf)))
		s = vbf_store_held_by(s);
	if (!s || !key || !vbf_store_enter(s))
		return 0;
	int saved = errno;
	vbf_store_catch_up(s);
	struct vbf_ent *e = vbf_ent_find(s, key, strlen(key));
	int ok = e != NULL;
	if (ok && real) {
		uint32_t t = e->fptype & S_IFMT;
		/* a stale record is not dropped from the table (another
		 * process may be re-recording the same name right now): it is
		 * only not applied, until a put or delete replaces it */
		if (t && t != (real->st_mode & S_IFMT))
			ok = 0;
		if ((e->fptype & VBF_FP_INO) && s->trust_ino && e->ino != (uint64_t)real->st_ino)
			ok = 0;
	}
	if (ok)
		*out = e->rec;
	vbf_store_leave(s);
	errno = saved;
	return ok;
}

/* Top-down over the ancestors of `k`, the share root first: the bloom
 * answers "is anything recorded strictly below this prefix", so the walk
 * stops at the first prefix with nothing below it. With a small table that
 * is the first level or two; each step is one hash lookup, no request. */
static const struct vbf_ent *nearest_owner(struct vbf_store *s, const char *k, size_t n)
{
	const struct vbf_ent *best = NULL;
	for (size_t i = 0; i < n; i++) {
		if (i && k[i] != '/')
			continue;
		const struct vbf_ent *e = vbf_ent_find(s, k, i);
		/* a record made for a directory (or for any type) only: a
		 * non-directory with that name was replaced since */
		if (e && (e->rec.flags & VBF_REC_OWNER) && ((e->fptype & S_IFMT) == 0 || (e->fptype & S_IFMT) == S_IFDIR))
			best = e;
		if (!vbf_bloom_maybe(s, k, i))
			break;
	}
	return best;
}

int vbf_store_inherit(int idx, const char *key, struct vbf_rec *out)
{
	struct vbf_store *s = vbf_store_of(idx);
	char buf[VBF_KEY_MAX + 1];
	if (s && (key = vbf_store_key_in(s, key, buf)))
		s = vbf_store_held_by(s);
	if (!s || !key || !*key || !vbf_store_enter(s))
		return 0;
	int saved = errno;
	vbf_store_catch_up(s);
	const struct vbf_ent *e = s->nrec ? nearest_owner(s, key, strlen(key)) : NULL;
	if (e) {
		out->flags = VBF_REC_OWNER;
		out->uid = e->rec.uid;
		out->gid = e->rec.gid;
		out->mode = e->rec.mode;
		if (e->rec.flags & VBF_REC_MODE)
			out->flags |= VBF_REC_MODE;
	}
	vbf_store_leave(s);
	errno = saved;
	return e != NULL;
}

unsigned vbf_store_links(int idx, uint64_t link)
{
	struct vbf_store *s = vbf_store_of(idx);
	struct vbf_lgrp *g;
	unsigned n = 0;
	if (!s || !link || !vbf_store_enter(s = vbf_store_held_by(s)))
		return 0;
	int saved = errno;
	vbf_store_catch_up(s);
	HASH_FIND(hh, s->groups, &link, sizeof link, g);
	if (g)
		n = g->n;
	vbf_store_leave(s);
	errno = saved;
	return n;
}

int vbf_store_ancestors(int idx, const char *key, struct vbf_anc *out, int cap)
{
	struct vbf_store *s = vbf_store_of(idx);
	char buf[VBF_KEY_MAX + 1];
	const char *k = s ? vbf_store_key_in(s, key, buf) : NULL;
	/* no directory closed to anyone (most shares): nothing to walk. A
	 * hint read without the lock: a record another process made this
	 * instant is seen at the next call, and the kernel still judges */
	if (!k || !(s = vbf_store_held_by(s)) || (!atomic_load_explicit(&s->nclosed, memory_order_relaxed) && !behind(s)) ||
	    !vbf_store_enter(s))
		return 0;
	int saved = errno, m = 0;
	vbf_store_catch_up(s);
	if (!atomic_load_explicit(&s->nclosed, memory_order_relaxed)) {
		vbf_store_leave(s);
		errno = saved;
		return 0;
	}
	/* the same top-down walk as nearest_owner: every recorded ancestor
	 * is met before the bloom says nothing lies below a prefix */
	/* with a prefix ("p/key"), the share root is at `root` */
	size_t n = strlen(k), root = k == buf ? n - strlen(key) - (*key ? 1 : 0) : 0;
	for (size_t i = 0; s->nrec && i < n && m < cap; i++) {
		if (i && k[i] != '/')
			continue;
		const struct vbf_ent *e = vbf_ent_find(s, k, i);
		if (e) {
			out[m].len = i < root ? -1 : i == root ? 0 : (int)(i - root - (k == buf));
			out[m].type = e->fptype & S_IFMT;
			out[m++].rec = e->rec;
		}
		if (!vbf_bloom_maybe(s, k, i))
			break;
	}
	vbf_store_leave(s);
	errno = saved;
	return m;
}

int vbf_store_foreach(int idx, int (*cb)(void *, const char *, const struct vbf_rec *, const struct vbf_fp *),
		      void *arg)
{
	struct vbf_store *s = vbf_store_of(idx);
	if (!s || !cb)
		return -1;
	const char *pre = s->kprefix;
	size_t pl = strlen(pre);
	if (!vbf_store_enter(s = vbf_store_held_by(s)))
		return -1;
	vbf_store_catch_up(s);
	int r = 0;
	for (struct vbf_ent *e = s->tab; e && !r; e = e->hh.next) {
		struct vbf_fp fp = {e->fptype & S_IFMT, (e->fptype & VBF_FP_INO) ? 1 : 0, e->ino};
		if (vbf_ent_below(e, pre, pl)) /* this share's records only, keyed as its own */
			r = cb(arg, e->key + pl + (pl && e->klen > pl), &e->rec, &fp);
	}
	vbf_store_leave(s);
	return r;
}

int vbf_store_info(int idx, struct vbf_store_info *out)
{
	struct vbf_store *s = vbf_store_of(idx);
	if (!s)
		return -1;
	out->root = s->root;
	out->key_prefix = s->kprefix;
	size_t pl = strlen(s->kprefix);
	if (!vbf_store_enter(s = vbf_store_held_by(s)))
		return -1;
	vbf_store_catch_up(s);
	out->path = s->path;
	out->persistent = (s->fd >= 0 || s->later) && s->writable;
	out->records = s->nrec;
	out->file_records = s->nrec;
	if (pl) {
		out->records = 0;
		for (struct vbf_ent *e = s->tab; e; e = e->hh.next)
			out->records += vbf_ent_below(e, out->key_prefix, pl);
	}
	out->file_bytes = s->pos;
	out->live_bytes = s->live;
	vbf_store_leave(s);
	return 0;
}

int vbf_store_hold(int idx, const char *key)
{
	struct vbf_store *s = vbf_store_of(idx);
	char buf[VBF_KEY_MAX + 1];
	if (!s || !key || !(key = vbf_store_key_in(s, key, buf)) || !vbf_store_enter(s = vbf_store_held_by(s)))
		return 0;
	int saved = errno, held = 0;
	vbf_store_catch_up(s);
	if (vbf_made_below(s, key, strlen(key)))
		held = vbf_file_hold(s) == 0;
	vbf_store_leave(s);
	errno = saved;
	return held;
}

void vbf_store_release(int idx, int held)
{
	struct vbf_store *s = vbf_store_of(idx);
	if (!held || !s || !vbf_store_enter(s = vbf_store_held_by(s)))
		return;
	int saved = errno;
	vbf_file_release(s);
	vbf_store_leave(s);
	errno = saved;
}

/* fork (vbf.c decides whether to hold the locks across it): the child
 * never inherits a table another thread was half-way through changing. */
void vbf_store_atfork_prepare(void)
{
	for (int i = 0; i < VBF_MAX_SHARES; i++)
		vbf_lock_take(&vbf_stores[i].lock);
}

void vbf_store_atfork_parent(void)
{
	for (int i = 0; i < VBF_MAX_SHARES; i++)
		vbf_unlock(&vbf_stores[i].lock);
}

void vbf_store_atfork_child(void)
{
	vbf_lock_reset(&open_lock);
	for (int i = 0; i < VBF_MAX_SHARES; i++) {
		vbf_lock_reset(&vbf_stores[i].lock);
		vbf_stores[i].forked = 1;
		vbf_stores[i].holds = 0; /* record locks are not inherited */
	}
}

/* ---- invisibility ---- */

int vbf_store_is_internal(int idx, const char *key)
{
	if (!key)
		return 0;
	if (!strchr(key, '/') && vbf_store_name_internal(key))
		return 1;
	struct vbf_store *s = vbf_store_of(idx);
	return s && s->intkey[0] && !strncmp(key, s->intkey, strlen(s->intkey)) &&
	       (!key[strlen(s->intkey)] || key[strlen(s->intkey)] == '.');
}

int vbf_store_rmdir_root(int idx, int (*again)(void *), void *arg)
{
	struct vbf_store *s = vbf_store_of(idx);
	if (!s || s->kprefix[0] || !again || !vbf_store_enter(s)) /* with a prefix, the log is not in this root */
		return -1;
	int r = vbf_file_rmdir_root(s, again, arg);
	vbf_store_leave(s);
	return r;
}

int vbf_store_locate(const char *root, const char *state_file, char *path, size_t cap, char *key_prefix,
		     size_t kcap)
{
	int saved = errno;
	int r = vbf_where_locate(root, state_file, path, cap, key_prefix, kcap);
	errno = saved;
	return r;
}
