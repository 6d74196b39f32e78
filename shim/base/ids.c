/* SPDX-License-Identifier: MIT */
#include "ids.h"
#include "real.h"
#include <stdatomic.h>

/* Each cached value carries the generation it was fetched in (high half)
 * and remembers which function fetched it, so a set*id in between, or a
 * unit test swapping the real function, forces a fresh fetch. */
static atomic_uint gen = 1;
static _Atomic uint64_t eu, eg;
static void *_Atomic eu_fn, *_Atomic eg_fn;

static uint32_t fetch(_Atomic uint64_t *slot, void *_Atomic *fnslot, void *fn, uint32_t (*call)(void *))
{
	uint32_t g = atomic_load(&gen);
	uint64_t c = atomic_load(slot);
	if ((uint32_t)(c >> 32) == g && atomic_load(fnslot) == fn)
		return (uint32_t)c;
	uint32_t v = call(fn);
	atomic_store(fnslot, fn);
	atomic_store(slot, ((uint64_t)g << 32) | v);
	return v;
}

static uint32_t call_uid(void *fn) { return (uint32_t)((uid_t(*)(void))fn)(); }
static uint32_t call_gid(void *fn) { return (uint32_t)((gid_t(*)(void))fn)(); }

uid_t vbf_euid(void) { return (uid_t)fetch(&eu, &eu_fn, (void *)REAL(geteuid), call_uid); }
gid_t vbf_egid(void) { return (gid_t)fetch(&eg, &eg_fn, (void *)REAL(getegid), call_gid); }

void vbf_ids_changed(void)
{
	uint32_t g = atomic_fetch_add(&gen, 1) + 1;
	if (g == 0) /* never the tag of a zeroed slot */
		atomic_fetch_add(&gen, 1);
}
