/* SPDX-License-Identifier: MIT */
/* Shared pages as SysV segments (shpage.h). */
#include "shpage.h"
#include "real.h"
#include <sys/ipc.h>
#include <sys/shm.h>

/* Raw SysV calls throughout: IPC_STAT must fill the kernel's layout (struct
 * kshmid below), whatever the libc's struct, and the rest stay beside it. */
#if !defined(SYS_shmget) || !defined(SYS_shmat) || !defined(SYS_shmdt) || !defined(SYS_shmctl)
#error "shpage.c needs the direct SysV shm system calls (x86_64, aarch64)"
#endif

#define FNV_P 0x100000001b3ull

/* The kernel's struct shmid64_ds on 64-bit Linux (x86_64 and asm-generic
 * agree): IPC_STAT through the raw call fills this layout, whatever the libc's
 * struct shmid_ds looks like. */
struct kshmid {
	int32_t key;
	uint32_t uid, gid, cuid, cgid;
	uint32_t mode; /* low 16 bits on every layout */
	uint16_t seq, pad2;
	uint64_t unused1, unused2;
	uint64_t segsz;
	int64_t atime, dtime, ctime;
	int32_t cpid, lpid;
	uint64_t nattch, unused4, unused5;
};
_Static_assert(sizeof(struct kshmid) == 112, "struct shmid64_ds is 112 bytes on 64-bit Linux");
_Static_assert(sizeof(struct vbf_shpage_hdr) == 32, "header layout is part of the page format");

uint64_t vbf_shpage_hash(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * FNV_P;
	return h;
}

/* size and version are in the key: another layout of the same name never
 * meets this one, so two versions of the library side by side each get
 * their own segment instead of refusing each other's. */
static int key_of(uint64_t nh, size_t size, uint32_t version, int attempt)
{
	uint64_t x = nh ^ ((uint64_t)version << 40) ^ (uint64_t)size;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	uint32_t k = (uint32_t)x + (uint32_t)attempt * 0x9e3779b9u;
	return k == 0 || k == 0xffffffffu ? 0x76626670 + attempt : (int)k; /* never IPC_PRIVATE */
}

int vbf_shpage_key(const char *name, size_t size, uint32_t version, int attempt)
{
	return key_of(vbf_shpage_hash(name), size, version, attempt);
}

#define LD(p) __atomic_load_n(p, __ATOMIC_ACQUIRE)

static int hdr_ok(struct vbf_shpage_hdr *h, uint64_t nh, size_t size, uint32_t magic, uint32_t version)
{
	return LD(&h->magic) == magic && LD(&h->version) == version && LD(&h->size) == (uint64_t)size &&
	       LD(&h->name_hash) == nh;
}

/* A header still zero is stamped by whoever finds it: the creator may not
 * have got there yet, or died in between. Every stamper of this key writes
 * the same bytes, so there is no race to lose and nothing to wait for. Only
 * a header that is zero or already partly ours is touched: a foreign
 * segment that happens to start with a zero word is left alone. */
static void stamp(struct vbf_shpage_hdr *h, uint64_t nh, size_t size, uint32_t magic, uint32_t version)
{
	if (LD(&h->magic) != 0)
		return;
	uint32_t v = LD(&h->version);
	uint64_t s = LD(&h->size), n = LD(&h->name_hash);
	if ((v && v != version) || (s && s != size) || (n && n != nh))
		return;
	__atomic_store_n(&h->version, version, __ATOMIC_RELAXED);
	__atomic_store_n(&h->size, (uint64_t)size, __ATOMIC_RELAXED);
	__atomic_store_n(&h->name_hash, nh, __ATOMIC_RELAXED);
	uint32_t zero = 0;
	__atomic_compare_exchange_n(&h->magic, &zero, magic, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

/* The segment at `key`, created if there is none: its id, or -1. */
static long get_segment(int key, size_t size, unsigned mode)
{
	/* a segment removed between the two calls: look once more */
	for (int round = 0; round < 3; round++) {
		long id = RAW(SYS_shmget, key, size, IPC_CREAT | IPC_EXCL | mode);
		if (id >= 0 || errno != EEXIST)
			return id;
		/* size 0: a smaller squatter answers with its id (checked
		 * below) instead of EINVAL */
		id = RAW(SYS_shmget, key, 0, 0);
		if (id >= 0 || errno != ENOENT)
			return id;
	}
	return -1;
}

static void *try_key(int key, uint64_t nh, size_t size, uint32_t magic, uint32_t version, int own)
{
	unsigned mode = own ? 0600 : 0666;
	long id = get_segment(key, size, mode);
	if (id < 0)
		return NULL;
	struct kshmid ds;
	/* the size the kernel keeps is the one thing nobody can change later:
	 * a segment of any other size is not ours. 0666 exactly (0600 for an
	 * own page): a squatter
	 * who narrowed the perms would shut some users out (they would split
	 * off to another key), and a wider mode does not exist. The owner is
	 * not checked: any user may be the first to start, and IPC_SET lets an
	 * owner give the segment to any uid, so no owner proves anything. */
	if (RAW(SYS_shmctl, id, IPC_STAT, &ds) < 0 || ds.segsz != (uint64_t)size || (ds.mode & 0777) != mode)
		return NULL;
	/* an own page: nobody else may have made it (the creator cannot be
	 * changed, and no other uid can create as us), nor own it now */
	uint32_t euid = own ? (uint32_t)REAL(geteuid)() : 0;
	if (own && (ds.cuid != euid || ds.uid != euid))
		return NULL;
	long a = RAW(SYS_shmat, id, 0, 0);
	if (a == -1)
		return NULL;
	struct vbf_shpage_hdr *h = (struct vbf_shpage_hdr *)a;
	stamp(h, nh, size, magic, version);
	if (hdr_ok(h, nh, size, magic, version))
		return h;
	/* A header overwritten on a segment that root or we created is our
	 * page that someone scribbled on, not a stranger's segment (another
	 * user cannot create as root or as us): stamp it again, so that one
	 * burst of writes does not push every later process off to another
	 * key, or off the page altogether. */
	if (ds.cuid == 0 || ds.cuid == (own ? euid : (uint32_t)REAL(geteuid)())) {
		__atomic_store_n(&h->magic, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&h->version, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&h->size, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&h->name_hash, 0, __ATOMIC_RELAXED);
		stamp(h, nh, size, magic, version);
		if (hdr_ok(h, nh, size, magic, version))
			return h;
	}
	RAW(SYS_shmdt, h, 0, 0);
	return NULL;
}

static void *attach(const char *name, size_t size, uint32_t magic, uint32_t version, int own)
{
	if (!name || size < sizeof(struct vbf_shpage_hdr) || !magic)
		return NULL;
	int saved = errno;
	uint64_t nh = vbf_shpage_hash(name);
	void *p = NULL;
	for (int i = 0; i < VBF_SHPAGE_TRIES && !p; i++)
		p = try_key(key_of(nh, size, version, i), nh, size, magic, version, own);
	errno = saved;
	return p;
}

void *vbf_shpage_attach(const char *name, size_t size, uint32_t magic, uint32_t version)
{
	return attach(name, size, magic, version, 0);
}

void *vbf_shpage_attach_own(const char *name, size_t size, uint32_t magic, uint32_t version)
{
	return attach(name, size, magic, version, 1);
}

void vbf_shpage_name_uid(char *name, size_t cap, const char *prefix, uid_t uid)
{
	char d[12];
	int nd = 0;
	do
		d[nd++] = (char)('0' + uid % 10);
	while ((uid /= 10) && nd < 11);
	size_t l = 0;
	while (prefix[l] && l + (size_t)nd + 1 < cap) {
		name[l] = prefix[l];
		l++;
	}
	while (nd && l + 1 < cap)
		name[l++] = d[--nd];
	name[l] = 0;
}

void vbf_shpage_detach(void *page, size_t size)
{
	(void)size;
	if (!page)
		return;
	int saved = errno;
	RAW(SYS_shmdt, page, 0, 0);
	errno = saved;
}

int vbf_shpage_remove(const char *name, size_t size, uint32_t magic, uint32_t version)
{
	if (!name || size < sizeof(struct vbf_shpage_hdr) || !magic)
		return 0;
	int saved = errno, n = 0;
	uint64_t nh = vbf_shpage_hash(name);
	for (int i = 0; i < VBF_SHPAGE_TRIES; i++) {
		long id = RAW(SYS_shmget, key_of(nh, size, version, i), 0, 0);
		struct kshmid ds;
		if (id < 0 || RAW(SYS_shmctl, id, IPC_STAT, &ds) < 0 || ds.segsz != (uint64_t)size)
			continue;
		long a = RAW(SYS_shmat, id, 0, SHM_RDONLY);
		if (a == -1)
			continue;
		struct vbf_shpage_hdr *h = (struct vbf_shpage_hdr *)a;
		/* an unstamped one is ours too (its creator died before stamping) */
		int ours = hdr_ok(h, nh, size, magic, version) ||
			   (LD(&h->magic) == 0 && LD(&h->size) == 0 && LD(&h->name_hash) == 0);
		RAW(SYS_shmdt, h, 0, 0);
		if (ours && RAW(SYS_shmctl, id, IPC_RMID, 0) == 0)
			n++;
	}
	errno = saved;
	return n;
}
