/* SPDX-License-Identifier: MIT */
/* vboxfix doctor: the report, as text or as one JSON document. */
#include "doctor.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static const char *res_name(enum pr_res r)
{
	switch (r) {
	case PR_WORKS: return "works";
	case PR_IGNORED: return "ignored";
	case PR_REFUSED: return "refused";
	case PR_SKIPPED: return "skipped";
	default: return "info";
	}
}

static const char *status_name(const struct share *s)
{
	if (s->status == CLI_OK)
		return s->needed ? "usable" : "not-a-share";
	return s->status == CLI_ACTION ? "needs-action" : "error";
}

static const char *loaded_name(int l) { return l > 0 ? "yes" : l == 0 ? "no" : "unknown"; }

/* loaded / covered / state / records / presented */
static void text_working(FILE *f, const struct share *s, const struct dr_env *e)
{
	char ub[64], gb[64];
	fprintf(f, "  loaded:    %s: %s\n", loaded_name(e->loaded), e->how);
	const char *off = dr_env_get(e, "VBOXFIX");
	if (s->covered[0])
		fprintf(f, "  covered:   yes: %s\n", s->covered);
	else if (off && (!strcmp(off, "off") || !strcmp(off, "0")))
		fprintf(f, "  covered:   no: VBOXFIX=%s turns the library off\n", off);
	else
		fprintf(f, "  covered:   no: not a vboxsf mount and not in VBOXFIX_PATHS: the library leaves it alone%s%s%s%s\n",
			s->needed ? "; add it: VBOXFIX_PATHS=" : "", s->needed ? s->path : "",
			s->needed ? ", or vboxfix exec --path " : "", s->needed ? s->path : "");
	if (!s->needed && !s->covered[0])
		return;
	if (!s->state_exists)
		fprintf(f, "  state:     none yet: %s is made at the first chown or chmod recorded here\n", s->state);
	else if (s->state_prefix[0])
		fprintf(f, "  state:     %s (above the share: its records are those under %s/)\n", s->state, s->state_prefix);
	else
		fprintf(f, "  state:     %s\n", s->state);
	if (s->state_prefix[0])
		fprintf(f, "  records:   %lu (of %lu in the file)\n", s->records, s->file_records);
	else
		fprintf(f, "  records:   %lu\n", s->records);
	if (s->presented_ok)
		fprintf(f, "  presented: owner %u (%s), group %u (%s), mode 0%03o (what a process under the library sees)\n",
			s->presented_uid, cli_uname(s->presented_uid, ub, sizeof ub), s->presented_gid,
			cli_gname(s->presented_gid, gb, sizeof gb), s->presented_mode);
	else
		fprintf(f, "  presented: %s\n", s->presented_why);
}

static const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case EINVAL: return "EINVAL";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOSYS: return "ENOSYS";
	case EROFS: return "EROFS";
	case ETXTBSY: return "ETXTBSY";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENOENT: return "ENOENT";
	case ENOTDIR: return "ENOTDIR";
	case ENOTEMPTY: return "ENOTEMPTY";
	case EXDEV: return "EXDEV";
	case EIO: return "EIO";
	case ENOSPC: return "ENOSPC";
	case EADDRINUSE: return "EADDRINUSE";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	default: return "E?";
	}
}

/* The mount options worth showing, "uid=4242 gid=50 ..." */
static void key_opts(const struct share *s, char *out, size_t n)
{
	static const char *const keys[] = {"uid", "gid", "dmode", "fmode", "dmask", "fmask", "ttl",
					   "user_id", "group_id", "default_permissions", "allow_other", NULL};
	out[0] = 0;
	for (int i = 0; keys[i]; i++) {
		char v[256];
		if (dr_opt(s, keys[i], v, sizeof v))
			cli_fmt(out + strlen(out), n - strlen(out), "%s%s%s%s", out[0] ? " " : "", keys[i], v[0] ? "=" : "", v);
	}
}

/* mount / options / root */
static void text_mount(FILE *f, const struct share *s)
{
	char ub[64], gb[64], ko[512];
	fprintf(f, "  mount:   %s, type %s%s, source %s\n", s->mnt, s->fstype,
		s->is_vboxsf ? "" : " (not vboxsf)", s->source);
	key_opts(s, ko, sizeof ko);
	fprintf(f, "  options: %s\n", ko[0] ? ko : "(no uid/gid/dmode/fmode/ttl options)");
	fprintf(f, "  root:    owner %u (%s), group %u (%s), mode 0%03o\n", (unsigned)s->root.st_uid,
		cli_uname(s->root.st_uid, ub, sizeof ub), (unsigned)s->root.st_gid, cli_gname(s->root.st_gid, gb, sizeof gb),
		(unsigned)(s->root.st_mode & 07777));
}

/* The live probe: one line per result, the next saying what vboxfix does. */
static void text_probes(FILE *f, const struct share *s)
{
	if (s->probe_err)
		fprintf(f, "  probe:   skipped: cannot create a directory here as uid %u: %s\n", (unsigned)geteuid(),
			strerror(s->probe_err));
	else
		fprintf(f, "  probe (as uid %u, in a temporary directory, removed again):\n", (unsigned)geteuid());
	for (int j = 0; j < s->nprobes; j++) {
		const struct probe *p = &s->probes[j];
		char what[400];
		if (p->res == PR_REFUSED)
			cli_fmt(what, sizeof what, "refused (%s: %s)%s%s", errname(p->err), strerror(p->err),
				 p->detail[0] ? ", " : "", p->detail);
		else
			cli_fmt(what, sizeof what, "%s%s%s", res_name(p->res), p->detail[0] ? ": " : "", p->detail);
		fprintf(f, "    %-17s %s\n", p->name, what);
		if (p->vboxfix && p->res != PR_SKIPPED)
			fprintf(f, "    %-17s vboxfix: %s\n", "", p->vboxfix);
	}
	if (s->stat_us >= 0) {
		fprintf(f, "    %-17s %.1f µs median per stat (200 stats)\n", "stat_cost", s->stat_us);
		fprintf(f, "    %-17s vboxfix: %s\n", "",
			s->stat_us < 5 ? "cheap here; the attribute cache (VBOXFIX_TTL_MS) matters little"
				       : "caches attributes in each process for VBOXFIX_TTL_MS, so repeated stats skip this round trip");
	}
}

/* The write check as `u`, the ways out when it failed, then the verdict. */
static void text_write(FILE *f, const struct share *s, const struct cli_user *u)
{
	fprintf(f, "  write:   %s (uid %u, gid %u", u->name, (unsigned)u->uid, (unsigned)u->gid);
	for (int j = 0; j < u->ngroups; j++)
		if (u->groups[j] != u->gid)
			fprintf(f, "%s%u", j ? "," : ", groups ", (unsigned)u->groups[j]);
	fprintf(f, "): ");
	if (s->write_ok)
		fprintf(f, "can create files (as %s)\n", s->write_why);
	else
		fprintf(f, "CANNOT create files: %s (%s), decided by the %s permission bits\n", strerror(s->write_err),
			errname(s->write_err), s->write_why ? s->write_why : "?");
	for (int j = 0; j < s->nfix; j++)
		fprintf(f, "  %s %s\n", !j ? "fix:    " : j < s->nalt ? "     or " : "note:   ", s->fix[j]);
	if (s->write_ok && u->uid == 0 && geteuid() == 0)
		fprintf(f, "  hint:    checked as root, who may write anywhere; check the service's user with --user USER\n");
	if (s->readonly && s->write_ok)
		fprintf(f, "  note:    mounted read-only\n");
	if (!s->needed)
		fprintf(f, "  verdict: not a share: vboxfix is not needed here (owners and modes stick)%s\n\n",
			s->status == CLI_OK ? "" : "; the write check above still needs action");
	else
		fprintf(f, "  verdict: %s\n\n", s->status == CLI_OK ? "usable with vboxfix" : "needs action");
}

void dr_report_text(FILE *f, struct share *s, int n, const struct cli_user *u, const struct dr_env *e)
{
	int ok = 0, act = 0, bad = 0, plain = 0;
	for (int i = 0; i < n; i++, s++) {
		fprintf(f, "share %s\n", s->path);
		if (s->status == CLI_USAGE) {
			fprintf(f, "  error: %s\n\n", strerror(s->root_err));
			bad++;
			continue;
		}
		text_mount(f, s);
		text_working(f, s, e);
		text_probes(f, s);
		text_write(f, s, u);
		if (s->status != CLI_OK)
			act++;
		else if (s->needed)
			ok++;
		else
			plain++;
	}
	fprintf(f, "%d share%s: %d usable, %d need%s action, %d error%s", n, n == 1 ? "" : "s", ok, act,
		act == 1 ? "s" : "", bad, bad == 1 ? "" : "s");
	if (plain)
		fprintf(f, ", %d not a share", plain);
	fputc('\n', f);
}

static void jkv(FILE *f, const char *k, const char *v, int comma)
{
	cli_json_str(f, k);
	fputc(':', f);
	if (v)
		cli_json_str(f, v);
	else
		fputs("null", f);
	if (comma)
		fputc(',', f);
}

static void json_user(FILE *f, const struct cli_user *u)
{
	fprintf(f, "{");
	jkv(f, "name", u->name, 1);
	fprintf(f, "\"uid\":%u,\"gid\":%u,\"groups\":[", (unsigned)u->uid, (unsigned)u->gid);
	for (int j = 0; j < u->ngroups; j++)
		fprintf(f, "%s%u", j ? "," : "", (unsigned)u->groups[j]);
	fprintf(f, "]}");
}

/* Every mount option, "key": "value" or "flag": true, the first of a
 * repeated key (mount and superblock options both say rw) only. */
static void json_options(FILE *f, const struct share *s)
{
	fputc('{', f);
	int first = 1;
	for (const char *p = s->opts; *p;) {
		size_t len = strcspn(p, ","), kl = strcspn(p, "=,");
		int seen = 0;
		for (const char *q = s->opts; q < p && !seen;) {
			size_t ql = strcspn(q, "=,");
			seen = ql == kl && !strncmp(q, p, kl);
			q += strcspn(q, ",");
			q += *q == ',';
		}
		if (len && !seen) {
			char k[256], v[1024];
			cli_fmt(k, sizeof k, "%.*s", (int)kl, p);
			fputs(first ? "" : ",", f);
			cli_json_str(f, k);
			fputc(':', f);
			if (kl < len) {
				cli_fmt(v, sizeof v, "%.*s", (int)(len - kl - 1), p + kl + 1);
				cli_json_str(f, v);
			} else {
				fputs("true", f);
			}
			first = 0;
		}
		p += len + (p[len] == ',');
	}
	fputc('}', f);
}

static void json_working(FILE *f, const struct share *s, const struct dr_env *e)
{
	fprintf(f, "\"needed\":%s,", s->needed ? "true" : "false");
	jkv(f, "loaded", loaded_name(e->loaded), 1);
	jkv(f, "loaded_how", e->how, 1);
	jkv(f, "covered", s->covered[0] ? s->covered : NULL, 1);
	jkv(f, "share_root", s->share_root, 1);
	fprintf(f, "\"state\":{");
	jkv(f, "file", s->state, 1);
	jkv(f, "key_prefix", s->state_prefix, 1);
	fprintf(f, "\"exists\":%s,\"records\":%lu,\"file_records\":%lu},\"presented\":", s->state_exists ? "true" : "false",
		s->records, s->state_prefix[0] ? s->file_records : s->records);
	if (s->presented_ok)
		fprintf(f, "{\"uid\":%u,\"gid\":%u,\"mode\":\"0%03o\"},", s->presented_uid, s->presented_gid,
			s->presented_mode);
	else
		fprintf(f, "null,");
}

/* "probe_error", "probes" and "stat_us" */
static void json_probes(FILE *f, const struct share *s)
{
	fprintf(f, "\"probe_error\":");
	if (s->probe_err)
		cli_json_str(f, strerror(s->probe_err));
	else
		fputs("null", f);
	fprintf(f, ",\"probes\":[");
	for (int j = 0; j < s->nprobes; j++) {
		const struct probe *p = &s->probes[j];
		fprintf(f, "%s{", j ? "," : "");
		jkv(f, "name", p->name, 1);
		jkv(f, "title", p->title, 1);
		jkv(f, "result", res_name(p->res), 1);
		jkv(f, "errno", p->res == PR_REFUSED ? errname(p->err) : NULL, 1);
		jkv(f, "detail", p->detail, 1);
		jkv(f, "vboxfix", p->vboxfix, 0);
		fprintf(f, "}");
	}
	fprintf(f, "],\"stat_us\":");
	if (s->stat_us >= 0)
		fprintf(f, "%.1f", s->stat_us);
	else
		fputs("null", f);
}

/* "write": the check's result and the ways out (the object left open) */
static void json_write(FILE *f, const struct share *s)
{
	fprintf(f, ",\"write\":{\"ok\":%s,", s->write_ok ? "true" : "false");
	jkv(f, "errno", s->write_ok ? NULL : errname(s->write_err), 1);
	jkv(f, "decided_by", s->write_why, 1);
	fprintf(f, "\"fix\":[");
	for (int j = 0; j < s->nfix; j++) {
		if (j)
			fputc(',', f);
		cli_json_str(f, s->fix[j]);
	}
}

void dr_report_json(FILE *f, struct share *s, int n, const struct cli_user *u, int rc, const struct dr_env *e)
{
	fprintf(f, "{\"version\":");
	cli_json_str(f, VBF_VERSION);
	fprintf(f, ",\"probe_uid\":%u,\"user\":", (unsigned)geteuid());
	json_user(f, u);
	fprintf(f, ",\"shares\":[");
	for (int i = 0; i < n; i++, s++) {
		fprintf(f, "%s\n{", i ? "," : "");
		jkv(f, "path", s->path, 1);
		jkv(f, "status", status_name(s), 1);
		if (s->status == CLI_USAGE) {
			jkv(f, "error", strerror(s->root_err), 0);
			fprintf(f, "}");
			continue;
		}
		jkv(f, "mount_point", s->mnt, 1);
		jkv(f, "fstype", s->fstype, 1);
		jkv(f, "source", s->source, 1);
		fprintf(f, "\"vboxsf\":%s,\"readonly\":%s,", s->is_vboxsf ? "true" : "false", s->readonly ? "true" : "false");
		jkv(f, "options_raw", s->opts, 0);
		fprintf(f, ",\"options\":");
		json_options(f, s);
		fputc(',', f);
		json_working(f, s, e);
		fprintf(f, "\"root\":{\"uid\":%u,\"gid\":%u,\"mode\":\"0%03o\"},", (unsigned)s->root.st_uid,
			(unsigned)s->root.st_gid, (unsigned)(s->root.st_mode & 07777));
		json_probes(f, s);
		json_write(f, s);
		fprintf(f, "]}}");
	}
	fprintf(f, "],\"exit\":%d}\n", rc);
}
