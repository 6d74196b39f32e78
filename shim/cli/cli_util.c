/* SPDX-License-Identifier: MIT */
/* Helpers shared by the subcommands: messages, users and groups, finding the
 * library, composing LD_PRELOAD, JSON strings. */
#include "cli.h"
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <link.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_fmt(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return r;
}

void cli_err(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	fprintf(stderr, "vboxfix: %s\n", buf);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (cmd) {
		fprintf(stderr, "vboxfix %s: %s\n", cmd, buf);
		fprintf(stderr, "Try 'vboxfix %s --help'.\n", cmd);
	} else {
		fprintf(stderr, "vboxfix: %s\n", buf);
		fprintf(stderr, "Try 'vboxfix --help'.\n");
	}
	return CLI_USAGE;
}

/* USER (a name, or a number with or without a passwd entry): uid, name,
 * home and primary group. 0 or -1 with `err` set. */
static int resolve_uid(const char *uname, size_t ulen, struct cli_user *u, char *err, size_t errlen)
{
	uint32_t id;
	struct passwd *pw;
	errno = 0;
	if (vbf_parse_id(uname, ulen, &id) == 0) {
		u->uid = id;
		pw = getpwuid(id);
	} else {
		pw = getpwnam(uname);
		if (!pw) {
			cli_fmt(err, errlen, "unknown user '%s'", uname);
			return -1;
		}
		u->uid = pw->pw_uid;
	}
	if (pw) {
		u->have_pw = 1;
		cli_fmt(u->name, sizeof u->name, "%s", pw->pw_name);
		cli_fmt(u->home, sizeof u->home, "%s", pw->pw_dir ? pw->pw_dir : "");
		u->gid = pw->pw_gid;
	} else {
		cli_fmt(u->name, sizeof u->name, "%u", (unsigned)u->uid);
	}
	return 0;
}

/* :GROUP (a name or a number) replacing the primary group. 0 or -1 with
 * `err` set. */
static int resolve_gid(const char *spec, const char *g, struct cli_user *u, char *err, size_t errlen)
{
	uint32_t id;
	struct group *gr;
	if (!*g) {
		cli_fmt(err, errlen, "'%s': empty group after ':'", spec);
		return -1;
	}
	if (vbf_parse_id(g, strlen(g), &id) == 0) {
		u->gid = id;
		gr = getgrgid(id);
	} else {
		gr = getgrnam(g);
		if (!gr) {
			cli_fmt(err, errlen, "unknown group '%s'", g);
			return -1;
		}
		u->gid = gr->gr_gid;
	}
	if (gr)
		cli_fmt(u->group, sizeof u->group, "%s", gr->gr_name);
	else
		cli_fmt(u->group, sizeof u->group, "%u", (unsigned)u->gid);
	return 0;
}

/* Supplementary groups as initgroups would set them. */
static void resolve_groups(struct cli_user *u)
{
	if (u->have_pw) {
		int n = (int)(sizeof u->groups / sizeof u->groups[0]);
		if (getgrouplist(u->name, u->gid, u->groups, &n) < 0)
			n = (int)(sizeof u->groups / sizeof u->groups[0]); /* truncated: keep what fits */
		u->ngroups = n;
	} else {
		u->groups[0] = u->gid;
		u->ngroups = 1;
	}
}

int cli_resolve_user(const char *spec, struct cli_user *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof *u);
	const char *colon = strchr(spec, ':');
	size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
	char uname[256];
	if (ulen == 0 || ulen >= sizeof uname) {
		cli_fmt(err, errlen, "'%s': expected USER[:GROUP]", spec);
		return -1;
	}
	memcpy(uname, spec, ulen);
	uname[ulen] = 0;
	if (resolve_uid(uname, ulen, u, err, errlen) != 0)
		return -1;
	if (colon) {
		if (resolve_gid(spec, colon + 1, u, err, errlen) != 0)
			return -1;
	} else if (!u->have_pw) {
		cli_fmt(err, errlen, "uid %s has no passwd entry: name the group too (%s:GID)", uname, uname);
		return -1;
	} else {
		char b[64];
		cli_fmt(u->group, sizeof u->group, "%s", cli_gname(u->gid, b, sizeof b));
	}
	resolve_groups(u);
	return 0;
}

void cli_current_user(struct cli_user *u)
{
	memset(u, 0, sizeof *u);
	u->uid = geteuid();
	u->gid = getegid();
	struct passwd *pw = getpwuid(u->uid);
	if (pw) {
		u->have_pw = 1;
		cli_fmt(u->name, sizeof u->name, "%s", pw->pw_name);
		cli_fmt(u->home, sizeof u->home, "%s", pw->pw_dir ? pw->pw_dir : "");
	} else {
		cli_fmt(u->name, sizeof u->name, "%u", (unsigned)u->uid);
	}
	char b[64];
	cli_fmt(u->group, sizeof u->group, "%s", cli_gname(u->gid, b, sizeof b));
	int n = getgroups((int)(sizeof u->groups / sizeof u->groups[0]) - 1, u->groups);
	if (n < 0)
		n = 0;
	int have = 0;
	for (int i = 0; i < n; i++)
		have |= u->groups[i] == u->gid;
	if (!have)
		u->groups[n++] = u->gid;
	u->ngroups = n;
}

const char *cli_uname(uid_t uid, char *buf, size_t n)
{
	struct passwd *pw = getpwuid(uid);
	if (pw)
		cli_fmt(buf, n, "%s", pw->pw_name);
	else
		cli_fmt(buf, n, "%u", (unsigned)uid);
	return buf;
}

const char *cli_gname(gid_t gid, char *buf, size_t n)
{
	struct group *gr = getgrgid(gid);
	if (gr)
		cli_fmt(buf, n, "%s", gr->gr_name);
	else
		cli_fmt(buf, n, "%u", (unsigned)gid);
	return buf;
}

int cli_exe_dir(char *out, size_t n)
{
	ssize_t len = readlink("/proc/self/exe", out, n - 1);
	if (len <= 0)
		return -1;
	out[len] = 0;
	char *slash = strrchr(out, '/');
	if (!slash)
		return -1;
	if (slash == out)
		slash[1] = 0;
	else
		*slash = 0;
	return 0;
}

int cli_find_library(char *out, size_t n, char *tried, size_t tn)
{
	char dir[PATH_MAX], cand[3][PATH_MAX + 32];
	int nc = 0;
	if (cli_exe_dir(dir, sizeof dir) == 0)
		cli_fmt(cand[nc++], sizeof cand[0], "%s/../lib/" VBF_LIBNAME, dir);
	cli_fmt(cand[nc++], sizeof cand[0], "%s/" VBF_LIBNAME, VBF_LIBDIR);
	if (cli_exe_dir(dir, sizeof dir) == 0)
		cli_fmt(cand[nc++], sizeof cand[0], "%s/" VBF_LIBNAME, dir);
	if (tn)
		tried[0] = 0;
	for (int i = 0; i < nc; i++) {
		struct stat st;
		if (tn)
			cli_fmt(tried + strlen(tried), tn - strlen(tried), "%s%s", i ? ", " : "", cand[i]);
		if (stat(cand[i], &st) == 0 && S_ISREG(st.st_mode)) {
			char *r = realpath(cand[i], NULL);
			if (!r)
				continue;
			if (strlen(r) >= n) {
				free(r);
				continue;
			}
			strcpy(out, r);
			free(r);
			return 0;
		}
	}
	return -1;
}

int cli_is_vbf_entry(const char *e, size_t len)
{
	const char *base = e;
	for (size_t i = 0; i < len; i++)
		if (e[i] == '/')
			base = e + i + 1;
	size_t bl = len - (size_t)(base - e);
	size_t nl = strlen(VBF_LIBNAME);
	/* libvboxfix.so, and versioned names such as libvboxfix.so.0 */
	return bl >= nl && memcmp(base, VBF_LIBNAME, nl) == 0 && (bl == nl || base[nl] == '.');
}

char *cli_preload_compose(const char *lib, const char *old)
{
	size_t cap = (lib ? strlen(lib) : 0) + (old ? strlen(old) : 0) + 2;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	size_t n = 0;
	if (lib) {
		n = strlen(lib);
		memcpy(out, lib, n);
	}
	const char *p = old ? old : "";
	while (*p) {
		while (*p == ':' || *p == ' ' || *p == '\t')
			p++;
		size_t len = strcspn(p, ": \t");
		if (len && !cli_is_vbf_entry(p, len)) {
			/* skip exact duplicates of what is already there */
			int dup = 0;
			for (const char *q = out; q < out + n;) {
				size_t ql = strcspn(q, ":");
				if (ql > (size_t)(out + n - q))
					ql = (size_t)(out + n - q);
				if (ql == len && memcmp(q, p, len) == 0)
					dup = 1;
				q += ql + 1;
			}
			if (!dup) {
				if (n)
					out[n++] = ':';
				memcpy(out + n, p, len);
				n += len;
			}
		}
		p += len;
	}
	out[n] = 0;
	return out;
}

static int vbf_lib_loaded_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	const char *n = info->dlpi_name;
	if (n && *n && cli_is_vbf_entry(n, strlen(n)))
		*(int *)data = 1;
	return 0;
}

/* Re-run ourselves without the library when it is loaded and active. */
void cli_leave_library(char **argv_all)
{
	int loaded = 0;
	dl_iterate_phdr(vbf_lib_loaded_cb, &loaded);
	const char *v = getenv("VBOXFIX");
	int off = v && (!strcmp(v, "off") || !strcmp(v, "0"));
	setenv("VBOXFIX", "off", 1); /* /etc/ld.so.preload too */
	const char *pre = getenv("LD_PRELOAD");
	if (pre) {
		char *np = cli_preload_compose(NULL, pre);
		if (np && *np)
			setenv("LD_PRELOAD", np, 1);
		else
			unsetenv("LD_PRELOAD");
		free(np);
	}
	if (loaded && !off) {
		execv("/proc/self/exe", argv_all);
		cli_err("cannot re-run without libvboxfix: %s (results may show the library's view)", strerror(errno));
	}
}

void cli_json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	fputc('"', f);
	while (*p) {
		unsigned c = *p;
		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc((int)c, f);
			p++;
		} else if (c < 0x20 || c == 0x7f) {
			switch (c) {
			case '\n': fputs("\\n", f); break;
			case '\t': fputs("\\t", f); break;
			case '\r': fputs("\\r", f); break;
			default: fprintf(f, "\\u%04x", c);
			}
			p++;
		} else if (c < 0x80) {
			fputc((int)c, f);
			p++;
		} else {
			/* copy one well-formed UTF-8 sequence, else U+FFFD */
			int len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
			int ok = len > 0;
			for (int i = 1; ok && i < len; i++)
				ok = (p[i] & 0xc0) == 0x80;
			if (ok && len == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0)))
				ok = 0; /* overlong, surrogate */
			if (ok && len == 4 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90)))
				ok = 0;
			if (ok) {
				fwrite(p, 1, (size_t)len, f);
				p += len;
			} else {
				fputs("\\ufffd", f);
				p++;
			}
		}
	}
	fputc('"', f);
}

/* Name of `id` in a passwd or group file: the first line whose third field
 * is `id` (both files put the id there). */
static const char *db_name(const char *file, unsigned id, char *buf, size_t n)
{
	FILE *f = fopen(file, "re");
	char line[1024];
	cli_fmt(buf, n, "%u", id);
	if (!f)
		return buf;
	while (fgets(line, sizeof line, f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || c1 == line || line[0] == '+' || line[0] == '-')
			continue; /* not an entry (NIS markers included) */
		uint32_t v;
		if (vbf_parse_id(c2 + 1, strcspn(c2 + 1, ":\n"), &v) == 0 && v == id) {
			*c1 = 0;
			cli_fmt(buf, n, "%s", line);
			break;
		}
	}
	fclose(f);
	return buf;
}

const char *cli_db_uname(uid_t uid, char *buf, size_t n) { return db_name("/etc/passwd", (unsigned)uid, buf, n); }
const char *cli_db_gname(gid_t gid, char *buf, size_t n) { return db_name("/etc/group", (unsigned)gid, buf, n); }
