/* SPDX-License-Identifier: MIT */
/* The store's pages in shared memory (shpage.h): the counter of each log,
 * one page every user shares, and the copies of logs, one page per euid.
 *
 * The counter page: a counter per slot, a log's slot chosen by a hash of
 * its name, moved after every append and compaction, so that a lookup
 * reads the log only when it moved (store_file.c, vbf_file_sync). Any user
 * can write it: a counter is a hint, never the truth.
 *
 * The copies (docs/state-store.md, "Logs read from memory"). Every process
 * under the library that touches a share reads its state file once: seven
 * requests to the host on the emulated share, the same for a shell that
 * only stats its working directory. The bytes a process read are kept
 * here with the log's identity and the counter's value taken before the
 * read, so that the next process of the same euid can replay them instead
 * once one stat of the log (store_file.c) shows the same file, no longer:
 * an append, from any process or container, makes it longer, a compaction
 * makes another file. The log itself is opened only when the process
 * writes a record or the counter moves.
 * One SysV page per euid (vbf_shpage_attach_own): mode 0600 and created by
 * that euid, as the shared cache's table. Slots chosen by a hash of the
 * log's name; a seqlock version per slot, odd while written (shpage.h, the
 * vbf_slot_* functions), and a checksum over every byte a reader uses: a torn or scribbled copy is
 * refused, and what is used is replayed by the same scanner as the file
 * (every length checked, bounded work). The log's name is the reader's
 * own, never read from the page, so a writer of this page can at worst
 * make a process present a wrong record, as appending to the log could.
 */
#include "store_int.h"
#include "config.h"
#include "ids.h"
#include "log.h"

/* ---- the counters ---- */

#define GEN_NAME "vboxfix-store-gen"
#define GEN_MAGIC 0x76626667u /* "gfbv" */
#define GEN_VERSION 3

/* Attached once per process; never detached (a few pages, one mapping). */
static struct vbf_gen_page *gens;
static atomic_int gens_state; /* 0 not tried, 1 being attached, 2 done */

void vbf_page_counter(struct vbf_store *s)
{
	int z = 0;
	if (atomic_compare_exchange_strong(&gens_state, &z, 1)) {
		gens = vbf_shpage_attach(GEN_NAME, sizeof *gens, GEN_MAGIC, GEN_VERSION);
		if (!gens)
			vbf_log_once(VBF_EV_STORE_RO, VBF_WARN,
				     "state store: no shared page: other processes' changes are seen when this one next writes");
		atomic_store(&gens_state, 2);
	}
	/* another store of this process attaching it: a few system calls (raw,
	 * as every spin wait: nothing for a fake to change) */
	while (atomic_load(&gens_state) != 2)
		RAW(SYS_sched_yield, 0, 0, 0, 0);
	s->gen = gens ? &gens->gen[vbf_fnv64(s->path) % VBF_GEN_SLOTS] : &s->private_gen;
}

/* ---- the copies ---- */

#define SNAP_MAGIC 0x76626c73u /* "slbv" */
#define SNAP_VERSION 1
#define SNAP_SLOTS 4u
#define DEAD_MS 100 /* a slot odd for longer was left by a writer that died */

struct snap_slot {
	atomic_uint_least32_t ver;
	uint32_t nlen;           /* the log's name */
	_Atomic uint64_t claimed;
	struct vbf_snap_head h;
	uint64_t sum;
	char name[PATH_MAX];
	uint8_t bytes[VBF_SNAP_CAP];
};

struct snap_page {
	struct vbf_shpage_hdr hdr;
	_Alignas(64) struct snap_slot slot[SNAP_SLOTS];
};

static struct snap_page *P;
static atomic_int state; /* 0 not tried, 1 being attached, 2 done */
static uid_t owner;

const char *vbf_page_copies_name = "vboxfix-logs-";

static void page_name(char name[48]) { vbf_shpage_name_uid(name, 48, vbf_page_copies_name, vbf_euid()); }

static struct snap_page *page(void)
{
	int z = 0;
	if (vbf_cfg.shared_cache <= 0 || vbf_cfg.ttl_ms <= 0)
		return NULL; /* nothing shared (the CLI, tests, VBOXFIX_SHARED_CACHE=0): every process reads its log */
	if (atomic_compare_exchange_strong(&state, &z, 1)) {
		char name[48];
		page_name(name);
		owner = vbf_euid();
		P = vbf_shpage_attach_own(name, sizeof *P, SNAP_MAGIC, SNAP_VERSION);
		atomic_store(&state, 2);
	}
	/* another thread attaching it: this process reads its log */
	return atomic_load(&state) == 2 && P && vbf_euid() == owner ? P : NULL;
}

/* Eight bytes at a time: a copy of 256 KiB is checked in microseconds. */
static uint64_t mix(uint64_t x, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (; n >= 8; n -= 8, b += 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		x = (x ^ w) * 0x100000001b3ull;
		x ^= x >> 29;
	}
	while (n--)
		x = (x ^ *b++) * 0x100000001b3ull;
	return x;
}

static uint64_t checksum(const struct vbf_snap_head *h, const char *name, size_t nlen, const uint8_t *bytes)
{
	uint64_t x = mix(0x9e3779b97f4a7c15ull, h, sizeof *h);
	x = mix(x, name, nlen);
	return mix(x, bytes, (size_t)h->pos);
}

static struct snap_slot *slot_of(const char *name) { return &P->slot[vbf_fnv64(name) % SNAP_SLOTS]; }

int vbf_snap_get(const char *name, struct vbf_snap_head *h, uint8_t *buf)
{
	size_t nlen = strlen(name);
	if (!page() || nlen >= PATH_MAX)
		return -1;
	struct snap_slot *e = slot_of(name);
	uint32_t v1 = vbf_slot_read_begin(&e->ver);
	if (v1 & 1)
		return -1;
	memcpy(h, &e->h, sizeof *h);
	uint32_t nl = e->nlen;
	uint64_t sum = e->sum, pos = h->pos;
	/* compared in place: the version, unchanged below, vouches for it */
	if (nl != nlen || pos > VBF_SNAP_CAP || memcmp(e->name, name, nlen))
		return -1;
	memcpy(buf, e->bytes, (size_t)pos);
	if (!vbf_slot_read_ok(&e->ver, v1))
		return -1;
	return sum == checksum(h, name, nlen, buf) ? 0 : -1;
}

void vbf_snap_put(const char *name, const struct vbf_snap_head *h, const uint8_t *bytes)
{
	size_t nlen = strlen(name);
	if (!page() || nlen >= PATH_MAX || h->pos > VBF_SNAP_CAP)
		return;
	struct snap_slot *e = slot_of(name);
	uint64_t now = vbf_mono_ms();
	/* being written: left alone, unless its writer died */
	if ((atomic_load_explicit(&e->ver, memory_order_relaxed) & 1) && !vbf_slot_dead(&e->claimed, now, DEAD_MS))
		return;
	uint32_t mine = vbf_slot_claim(&e->ver, &e->claimed, now);
	if (!mine)
		return;
	memcpy(&e->h, h, sizeof *h);
	e->nlen = (uint32_t)nlen;
	memcpy(e->name, name, nlen);
	memcpy(e->bytes, bytes, (size_t)h->pos);
	e->sum = checksum(h, name, nlen, bytes);
	vbf_slot_give(&e->ver, mine);
}

void *vbf_page_copies(size_t *size)
{
	*size = sizeof(struct snap_page);
	return page();
}

int vbf_snap_remove(void)
{
	vbf_shpage_detach(P, sizeof *P);
	P = NULL;
	atomic_store(&state, 0);
	char name[48];
	page_name(name);
	return vbf_shpage_remove(name, sizeof(struct snap_page), SNAP_MAGIC, SNAP_VERSION);
}
