/* SPDX-License-Identifier: MIT */
/* The state store's record format: pure functions on byte buffers, so the
 * loader can be fuzzed and unit tested without files. Little-endian on disk
 * whatever the host; the layout is in docs/state-store.md. */
#include "store_int.h"

static uint32_t crc_tab[8][256];
static atomic_int crc_state; /* 0 none, 1 building, 2 ready */

/* CRC-32C (Castagnoli), slicing-by-8: the loader's hot loop. A standard CRC
 * lets other tools check the file. */
static void crc_init(void)
{
	int z = 0;
	if (atomic_compare_exchange_strong(&crc_state, &z, 1)) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
			crc_tab[0][i] = c;
		}
		for (uint32_t i = 0; i < 256; i++)
			for (int t = 1; t < 8; t++)
				crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
		atomic_store(&crc_state, 2);
	}
	while (atomic_load(&crc_state) != 2) /* raw: a spin wait, nothing for a fake to change */
		vbf_raw_syscall(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
}

uint32_t vbf_crc32c(uint32_t crc, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	if (unlikely(atomic_load_explicit(&crc_state, memory_order_acquire) != 2))
		crc_init();
	crc = ~crc;
	while (n >= 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		crc = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^ crc_tab[5][(lo >> 16) & 0xff] ^
		      crc_tab[4][lo >> 24] ^ crc_tab[3][p[4]] ^ crc_tab[2][p[5]] ^ crc_tab[1][p[6]] ^ crc_tab[0][p[7]];
		p += 8;
		n -= 8;
	}
	while (n--)
		crc = (crc >> 8) ^ crc_tab[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v), put16(p + 2, v >> 16); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v), put32(p + 4, (uint32_t)(v >> 32)); }
static uint32_t get16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t get32(const uint8_t *p) { return get16(p) | get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

int vbf_key_valid(const char *k, size_t n)
{
	if (n == 0)
		return 1;
	if (n > VBF_KEY_MAX || k[0] == '/' || k[n - 1] == '/' || memchr(k, 0, n))
		return 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && k[j] != '/')
			j++;
		size_t c = j - i;
		if (c == 0 || (c == 1 && k[i] == '.') || (c == 2 && k[i] == '.' && k[i + 1] == '.'))
			return 0;
		i = j + 1;
	}
	return 1;
}

static uint8_t *put_key(uint8_t *p, const char *k, size_t n)
{
	put16(p, (uint32_t)n);
	memcpy(p + 2, k, n);
	return p + 2 + n;
}

size_t vbf_rec_encode(const struct vbf_op *op, uint8_t *out)
{
	uint8_t *p = out + VBF_REC_HDR;
	if (op->type != VBF_OP_HEAD && op->type != VBF_OP_RESET && op->type != VBF_OP_SEAL &&
	    !vbf_key_valid(op->key, op->klen))
		return 0;
	switch (op->type) {
	case VBF_OP_HEAD:
		put32(p, VBF_FMT_VERSION);
		memcpy(p + 4, "vboxfix state\n\0\0", 16); /* for `head -c` and file(1) */
		p += 20;
		break;
	case VBF_OP_RESET:
	case VBF_OP_SEAL:
		break;
	case VBF_OP_PUT:
		put32(p, op->rec.flags);
		put32(p + 4, op->rec.uid);
		put32(p + 8, op->rec.gid);
		put32(p + 12, op->rec.mode);
		put32(p + 16, op->fp.type);
		put32(p + 20, op->fp.has_ino ? 1 : 0);
		put64(p + 24, op->fp.has_ino ? op->fp.ino : 0);
		p = put_key(p + 32, op->key, op->klen);
		if (op->rec.flags & VBF_REC_LINK) {
			/* after the key: an older reader skips the record as
			 * damaged instead of taking it without its link */
			put64(p, op->rec.link);
			put64(p + 8, op->rec.link_ino);
			p += 16;
		}
		break;
	case VBF_OP_FORGET:
	case VBF_OP_DEL:
		p = put_key(p, op->key, op->klen);
		break;
	case VBF_OP_REN:
		if (!vbf_key_valid(op->key2, op->k2len))
			return 0;
		p = put_key(p, op->key, op->klen);
		p = put_key(p, op->key2, op->k2len);
		break;
	default:
		return 0;
	}
	size_t len = (size_t)(p - out) + 4;
	out[0] = 'V';
	out[1] = 'f';
	out[2] = (uint8_t)op->type;
	out[3] = VBF_FMT_VERSION;
	put32(out + 4, (uint32_t)len);
	put32(p, vbf_crc32c(0, out, len - 4));
	return len;
}

/* Read a key at body offset *o of a record of length len (crc excluded from
 * the room). -1: inconsistent; 0: not all bytes here yet; 1: ok. */
static int take_key(const uint8_t *b, size_t n, size_t len, size_t *o, const char **k, size_t *kn)
{
	if (*o + 2 > len - 4)
		return -1;
	if (*o + 2 > n)
		return 0;
	size_t l = get16(b + *o);
	if (l > VBF_KEY_MAX || *o + 2 + l > len - 4)
		return -1;
	if (*o + 2 + l > n)
		return 0;
	*k = (const char *)b + *o + 2;
	*kn = l;
	*o += 2 + l;
	/* checked before the CRC so that resynchronising over hostile bytes
	 * rarely pays for a CRC */
	return vbf_key_valid(*k, l) ? 1 : -1;
}

long vbf_rec_decode(const uint8_t *b, size_t n, struct vbf_op *op)
{
	static const char types[] = "HPFDRZS";
	const uint8_t want[4] = {'V', 'f', 0, VBF_FMT_VERSION};
	for (size_t i = 0; i < 4; i++) {
		if (i >= n)
			return 0;
		if (i == 2 ? !b[2] || !strchr(types, b[2]) : b[i] != want[i])
			return -1;
	}
	if (n < VBF_REC_HDR)
		return 0;
	size_t len = get32(b + 4);
	if (len < VBF_REC_HDR + 4 || len > VBF_REC_MAX)
		return -1;
	memset(op, 0, sizeof *op);
	op->type = b[2];
	size_t o = VBF_REC_HDR;
	int r = 1;
	switch (op->type) {
	case VBF_OP_HEAD:
		if (len != VBF_REC_HDR + 24)
			return -1;
		o += 20;
		break;
	case VBF_OP_RESET:
	case VBF_OP_SEAL:
		break;
	case VBF_OP_PUT:
		if (len < VBF_PUT_FIXED)
			return -1;
		if (n < VBF_REC_HDR + 32)
			return 0;
		op->rec.flags = get32(b + o) & VBF_REC_ALL;
		op->rec.uid = get32(b + o + 4);
		op->rec.gid = get32(b + o + 8);
		op->rec.mode = get32(b + o + 12) & 07777;
		op->fp.type = get32(b + o + 16) & S_IFMT;
		op->fp.has_ino = get32(b + o + 20) & 1;
		op->fp.ino = get64(b + o + 24);
		o += 32;
		r = take_key(b, n, len, &o, &op->key, &op->klen);
		if (r > 0 && (op->rec.flags & VBF_REC_LINK)) {
			if (o + 16 + 4 > len)
				return -1;
			if (o + 16 > n)
				return 0;
			op->rec.link = get64(b + o);
			op->rec.link_ino = get64(b + o + 8);
			o += 16;
			if (!op->rec.link)
				return -1;
		}
		break;
	case VBF_OP_FORGET:
	case VBF_OP_DEL:
		r = take_key(b, n, len, &o, &op->key, &op->klen);
		break;
	case VBF_OP_REN:
		r = take_key(b, n, len, &o, &op->key, &op->klen);
		if (r > 0)
			r = take_key(b, n, len, &o, &op->key2, &op->k2len);
		break;
	}
	if (r <= 0)
		return r;
	if (o + 4 != len)
		return -1;
	if (n < len)
		return 0;
	if (get32(b + len - 4) != vbf_crc32c(0, b, len - 4))
		return -1;
	return (long)len;
}

size_t vbf_rec_scan(const uint8_t *b, size_t n, int eof, void (*apply)(void *, const struct vbf_op *), void *arg,
		    unsigned *skipped)
{
	/* Without eof, only offsets with a whole maximal record after them
	 * can be judged; the caller refills and calls again from the
	 * returned offset. */
	size_t judge = eof ? n : (n >= VBF_REC_MAX ? n - VBF_REC_MAX + 1 : 0);
	size_t o = 0;
	struct vbf_op op;
	while (o < judge) {
		long r = vbf_rec_decode(b + o, n - o, &op);
		if (r > 0) {
			op.at = o;
			apply(arg, &op);
			o += (size_t)r;
			continue;
		}
		/* Garbage or a torn record: it is dead only if a valid record
		 * follows (appends are serialised by the kernel, so a later
		 * record means this write is over). */
		size_t p = o + 1, found = 0;
		while (p < judge) {
			const uint8_t *v = memchr(b + p, 'V', judge - p);
			if (!v)
				break;
			p = (size_t)(v - b);
			if (vbf_rec_decode(b + p, n - p, &op) > 0) {
				found = p;
				break;
			}
			p++;
		}
		if (found) {
			(*skipped)++;
			o = found;
			continue;
		}
		if (eof)
			return o; /* a torn or still-being-written tail */
		(*skipped)++;
		return judge; /* all garbage up to where we can judge */
	}
	return o;
}

/* The store's files are ".vboxfix.state" and names that continue it
 * with a dot (".lock", compaction's ".tmp.*"): part of the on-disk layout,
 * like the records (docs/state-store.md). */
int vbf_store_name_internal(const char *name)
{
	static const char n[] = VBF_STORE_NAME;
	return name[0] == '.' && !strncmp(name, n, sizeof n - 1) && (!name[sizeof n - 1] || name[sizeof n - 1] == '.');
}
