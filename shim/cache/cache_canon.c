/* SPDX-License-Identifier: MIT */
/* Directories named canonically by their text, as a walk found them
 * (cache.h, vbf_cache_dir_begin). The first stat of a name from a page of
 * the caller's memory the library had not read is the plain call, and its
 * canonical name is found after the fact by one more walk
 * (policy/resolve.c): a git status's index spans many pages, and every
 * thread reads its own, so without this each directory was walked several
 * times. A directory the walk reached under the very name the text gives
 * is no symlink; what it proves holds as long as an entry of that
 * directory would stay valid: younger than VBOXFIX_TTL_MS, nothing changed
 * through the library at it or above it since the walk began. Per process,
 * no system call; a few slots, the oldest replaced. */
#include "cache_int.h"
#include "config.h"
#include "lock.h"

#define SLOTS 32

static struct vbf_cdir memo[SLOTS];
static unsigned hand;
static vbf_lock lk;

/* `key`'s directory part into d (idx, text, buckets); -1 when it is the
 * share root (canonical anyway) or too long or deep to be a cache key. */
static int set_dir(struct vbf_cdir *d, int idx, const char *key)
{
	const char *slash = strrchr(key, '/');
	size_t n = slash ? (size_t)(slash - key) : 0;
	if (!n || n + 1 > sizeof d->dir)
		return -1;
	memcpy(d->dir, key, n);
	d->dir[n] = 0;
	d->dlen = (uint16_t)n;
	d->idx = idx;
	return vbf_cache_key_hash(idx, d->dir, d->anc, &d->depth, &d->h);
}

int vbf_cache_dir_begin(int idx, const char *key, struct vbf_cdir *d)
{
	d->depth = 0;
	if (idx < 0 || !key || set_dir(d, idx, key) < 0)
		return -1;
	/* both before the walk: a change that lands during it is caught */
	d->seq = vbf_cache_seq();
	d->t = vbf_cache_clock();
	return 0;
}

void vbf_cache_dir_seen(const struct vbf_cdir *d, int idx, const char *canon)
{
	struct vbf_cdir c;
	if (!d->depth || idx != d->idx || !canon || set_dir(&c, idx, canon) < 0 || c.dlen != d->dlen ||
	    memcmp(c.dir, d->dir, d->dlen) || !vbf_enter(&lk))
		return;
	memo[hand++ % SLOTS] = *d;
	vbf_leave(&lk);
}

int vbf_cache_dir_memo(int idx, const char *dir, size_t n)
{
	uint64_t now = vbf_cache_clock();
	int yes = 0;
	if (!vbf_enter(&lk))
		return 0;
	for (unsigned i = 0; i < SLOTS && !yes; i++) {
		const struct vbf_cdir *d = &memo[i];
		yes = d->depth && d->idx == idx && d->dlen == n && !memcmp(d->dir, dir, n) &&
		      now - d->t < (uint64_t)vbf_cfg.ttl_ms &&
		      vbf_cache_valid(d->anc[d->depth - 1], d->anc, d->depth, d->seq);
	}
	vbf_leave(&lk);
	return yes;
}

/* fork: the child must find the lock free and no slot half written */
void vbf_cache_dir_atfork(int phase)
{
	if (phase < 0)
		vbf_lock_take(&lk);
	else if (phase > 0)
		vbf_lock_reset(&lk);
	else
		vbf_unlock(&lk);
}

void vbf_cache_dir_forget(void)
{
	if (!vbf_enter(&lk))
		return;
	memset(memo, 0, sizeof memo);
	vbf_leave(&lk);
}
