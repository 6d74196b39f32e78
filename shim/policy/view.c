/* SPDX-License-Identifier: MIT */
/* The view: what owner, group and mode an object on a share shows, from the
 * records (view.h). Used by the presentation of a stat (present.c) and by
 * the owner rules (own.c, own_perm.c), which must judge by what is shown. */
#include "view.h"
#include "config.h"
#include "ids.h"

static uint32_t mapped(uint32_t real, int is_gid, uint32_t fallback, int *hit)
{
	for (int i = 0; i < vbf_cfg.nmap; i++)
		if (vbf_cfg.map[i].is_gid == is_gid && vbf_cfg.map[i].from == real) {
			*hit = 1;
			return vbf_cfg.map[i].to;
		}
	return fallback;
}

void vbf_link_present(int idx, const struct vbf_rec *rec, struct stat *st)
{
	unsigned n = vbf_store_links(idx, rec->link);
	/* one name left: it is a plain file again */
	if (n < 2)
		return;
	st->st_ino = (ino_t)rec->link_ino;
	st->st_nlink = n;
}

void vbf_view_of(int idx, const char *key, const struct stat *st, struct vbf_view *v)
{
	struct vbf_rec rec = {0};
	if (key)
		vbf_store_get(idx, key, st, &rec);
	v->mode = st->st_mode;
	v->link.flags = rec.flags & VBF_REC_LINK;
	v->link.link = rec.link;
	v->link.link_ino = rec.link_ino;
	if (rec.flags & VBF_REC_MODE)
		v->mode = (st->st_mode & S_IFMT) | (rec.mode & 07777);
	if (rec.flags & VBF_REC_OWNER) {
		v->uid = rec.uid;
		v->gid = rec.gid;
		v->how = VBF_VIEW_RECORD;
		return;
	}
	vbf_view_inherited(idx, key, st, v);
}

void vbf_view_inherited(int idx, const char *key, const struct stat *st, struct vbf_view *v)
{
	struct vbf_rec anc;
	/* One view for every process: what the nearest recorded ancestor says
	 * (a data directory chowned once covers all that is made below it) */
	if (key && *key && vbf_store_inherit(idx, key, &anc)) {
		v->uid = anc.uid;
		v->gid = anc.gid;
		v->how = VBF_VIEW_INHERITED;
		return;
	}
	int hit = 0;
	uid_t du = vbf_cfg.have_owner ? vbf_cfg.owner_uid : vbf_euid();
	gid_t dg = vbf_cfg.have_owner ? vbf_cfg.owner_gid : vbf_egid();
	v->uid = st ? mapped(st->st_uid, 0, du, &hit) : du;
	v->gid = st ? mapped(st->st_gid, 1, dg, &hit) : dg;
	v->how = hit ? VBF_VIEW_MAPPED : vbf_cfg.have_owner ? VBF_VIEW_OWNER : VBF_VIEW_CALLER;
}
