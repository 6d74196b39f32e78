/* SPDX-License-Identifier: MIT */
/* vboxfix doctor: for each share, its mount facts, a live probe of what it
 * refuses, and whether the service's user can write there at all. It must
 * see the share's raw behaviour, so it never runs under the library. */
#include "doctor.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define VBOXSF_MAGIC 0x786f4256

static const char doctor_help[] =
	"Usage: vboxfix doctor [--json] [--user USER[:GROUP]] [--pid PID] [PATH...]\n"
	"\n"
	"Is it working? For each path: whether libvboxfix is loaded (in process\n"
	"PID: its memory map and environment; else doctor's own LD_PRELOAD), which\n"
	"share of the library's list holds the path and how it matched, the state\n"
	"file and its record count, and the owner and mode a process under the\n"
	"library is shown (a child run with the library answers).\n"
	"\n"
	"What the share does:\n"
	"For each share (default: every vboxsf mount plus VBOXFIX_PATHS): the\n"
	"filesystem type, mount options, the real owner and mode of its root; a\n"
	"live probe in a temporary directory it creates there and removes again\n"
	"(chown, chmod, new-file modes, link, mkfifo, unix sockets, O_DIRECT,\n"
	"directory fsync, renameat2 flags, symlinks, xattrs, cost of one stat),\n"
	"each with what vboxfix does about it; then whether USER (default: you)\n"
	"can write there at all, and the exact fix when the kernel says no.\n"
	"The probe runs without libvboxfix, whatever LD_PRELOAD says.\n"
	"\n"
	"Options:\n"
	"  --json               one JSON document on stdout\n"
	"  --user USER[:GROUP]  check this user's access (checking another user\n"
	"                       than yourself needs root)\n"
	"  --pid PID            judge the environment of this running process\n"
	"                       (PATH is still looked up in doctor's own mounts)\n"
	"  -h, --help           show this help\n"
	"\n"
	"Exit status: 0 usable (or not a share: vboxfix is not needed), 1 needs\n"
	"action, 125 usage or path error.\n";

static void unescape_mountinfo(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = 0;
}

struct mnt {
	char point[PATH_MAX], type[64], source[PATH_MAX], opts[2048];
};

/* Call fn for each line of mountinfo; stops when fn returns nonzero. */
static void each_mount(int (*fn)(const struct mnt *, void *), void *arg)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	char *line = NULL;
	size_t cap = 0;
	struct mnt *m = malloc(sizeof *m);
	while (m && getline(&line, &cap, f) > 0) {
		/* id parent maj:min root point mopts [optional...] - type source sopts */
		char *fld[6] = {0}, *save = NULL, *tok;
		int i = 0;
		for (tok = strtok_r(line, " \n", &save); tok && i < 6; tok = strtok_r(NULL, " \n", &save))
			fld[i++] = tok;
		if (i < 6)
			continue;
		while (tok && strcmp(tok, "-") != 0)
			tok = strtok_r(NULL, " \n", &save);
		char *type = strtok_r(NULL, " \n", &save);
		char *src = strtok_r(NULL, " \n", &save);
		char *sopts = strtok_r(NULL, " \n", &save);
		if (!type || !src)
			continue;
		cli_fmt(m->point, sizeof m->point, "%s", fld[4]);
		unescape_mountinfo(m->point);
		cli_fmt(m->type, sizeof m->type, "%s", type);
		cli_fmt(m->source, sizeof m->source, "%s", src);
		unescape_mountinfo(m->source);
		cli_fmt(m->opts, sizeof m->opts, "%s%s%s", fld[5], sopts ? "," : "", sopts ? sopts : "");
		if (fn(m, arg))
			break;
	}
	free(m);
	free(line);
	fclose(f);
}

struct best {
	struct share *s;
	size_t len;
};

static int pick_mount(const struct mnt *m, void *arg)
{
	struct best *b = arg;
	size_t l = strlen(m->point);
	const char *p = b->s->path;
	int under = (l == 1 && m->point[0] == '/') || (!strncmp(p, m->point, l) && (p[l] == '/' || p[l] == 0));
	if (under && l >= b->len) { /* the longest, and the last of equals (overmounts) */
		b->len = l;
		cli_fmt(b->s->mnt, sizeof b->s->mnt, "%s", m->point);
		cli_fmt(b->s->fstype, sizeof b->s->fstype, "%s", m->type);
		cli_fmt(b->s->source, sizeof b->s->source, "%s", m->source);
		cli_fmt(b->s->opts, sizeof b->s->opts, "%s", m->opts);
	}
	return 0;
}

const char *dr_opt(const struct share *s, const char *key, char *out, size_t n)
{
	size_t kl = strlen(key);
	for (const char *p = s->opts; *p;) {
		size_t len = strcspn(p, ",");
		if (len > kl && !strncmp(p, key, kl) && p[kl] == '=') {
			cli_fmt(out, n, "%.*s", (int)(len - kl - 1), p + kl + 1);
			return out;
		}
		if (len == kl && !strncmp(p, key, kl)) {
			cli_fmt(out, n, "%s", "");
			return out;
		}
		p += len + (p[len] == ',');
	}
	return NULL;
}

int dr_mount_info(struct share *s)
{
	char *r = realpath(s->path, NULL);
	if (!r) {
		s->root_err = errno;
		return -1;
	}
	cli_fmt(s->path, sizeof s->path, "%s", r);
	free(r);
	if (stat(s->path, &s->root) != 0) {
		s->root_err = errno;
		return -1;
	}
	if (!S_ISDIR(s->root.st_mode)) {
		s->root_err = ENOTDIR;
		return -1;
	}
	struct best b = {s, 0};
	each_mount(pick_mount, &b);
	struct statfs sf;
	s->is_vboxsf = !strcmp(s->fstype, "vboxsf") || (statfs(s->path, &sf) == 0 && sf.f_type == VBOXSF_MAGIC);
	char v[8];
	s->readonly = dr_opt(s, "ro", v, sizeof v) != NULL;
	return 0;
}

struct deflist {
	char (*out)[PATH_MAX];
	int n, max;
};

static void add_default(struct deflist *d, const char *p)
{
	for (int i = 0; i < d->n; i++)
		if (!strcmp(d->out[i], p))
			return;
	if (d->n < d->max)
		cli_fmt(d->out[d->n++], PATH_MAX, "%s", p);
}

static int collect_vboxsf(const struct mnt *m, void *arg)
{
	if (!strcmp(m->type, "vboxsf"))
		add_default(arg, m->point);
	return 0;
}

int dr_default_paths(char (*out)[PATH_MAX], int max)
{
	struct deflist d = {out, 0, max};
	each_mount(collect_vboxsf, &d);
	const char *env = getenv("VBOXFIX_PATHS");
	for (const char *p = env ? env : ""; *p;) {
		size_t len = strcspn(p, ":");
		if (len && len < PATH_MAX) {
			char one[PATH_MAX];
			cli_fmt(one, sizeof one, "%.*s", (int)len, p);
			add_default(&d, one);
		}
		p += len + (p[len] == ':');
	}
	return d.n;
}

/* Does vboxfix have work on this share? vboxsf always; elsewhere when the
 * probe saw an owner, mode or new-file mode dropped or refused, or, when no
 * probe could run, when the filesystem is one of the shared kinds. */
static int dr_needed(const struct share *s)
{
	static const char *const shared[] = {"fuse", "cifs", "smb3", "9p", "virtiofs", "nfs", "nfs4", "fakeowner", NULL};
	if (s->is_vboxsf)
		return 1;
	int probed = 0;
	for (int i = 0; i < s->nprobes; i++) {
		const struct probe *p = &s->probes[i];
		int owner_or_mode = !strcmp(p->name, "chown") || !strcmp(p->name, "chmod") || !strcmp(p->name, "create_mode");
		if (owner_or_mode && (p->res == PR_IGNORED || p->res == PR_REFUSED))
			return 1;
		probed |= owner_or_mode && p->res == PR_WORKS;
	}
	for (int i = 0; !probed && shared[i]; i++)
		if (!strcmp(s->fstype, shared[i]) || !strncmp(s->fstype, "fuse.", 5))
			return 1;
	return 0;
}

struct dr_args {
	int json, pid;
	const char *user;
};

/* 0, or the exit status (help, usage error). */
static int dr_parse(int argc, char **argv, struct dr_args *a)
{
	static const struct option opts[] = {
		{"json", no_argument, 0, 'j'}, {"user", required_argument, 0, 'u'},
		{"pid", required_argument, 0, 'p'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
	};
	int c;
	char *end;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': a->json = 1; break;
		case 'u': a->user = optarg; break;
		case 'p':
			errno = 0;
			a->pid = (int)strtol(optarg, &end, 10);
			if (errno || *end || a->pid <= 0)
				return cli_usage("doctor", "--pid %s: not a process id", optarg);
			break;
		case 'h': fputs(doctor_help, stdout); return -1;
		case ':': return cli_usage("doctor", "option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt && optopt < 256)
				return cli_usage("doctor", "unknown option '-%c'", optopt);
			return cli_usage("doctor", "unknown option '%s'", argv[optind - 1]);
		}
	}
	return 0;
}

static void dr_one(struct share *s, const struct cli_user *u, const struct dr_env *e)
{
	s->stat_us = -1;
	if (dr_mount_info(s) != 0) {
		s->status = CLI_USAGE;
		return;
	}
	dr_probe(s);
	dr_write_check(s, u);
	s->needed = dr_needed(s);
	dr_working(s, e);
	s->status = s->write_ok && !s->readonly ? CLI_OK : CLI_ACTION;
}

/* Whom the write check is for: --user (another user only as root), else
 * the caller. CLI_GO, or an exit status. */
static int doctor_user(const char *spec, struct cli_user *u)
{
	if (!spec) {
		cli_current_user(u);
		return CLI_GO;
	}
	char err[512];
	if (cli_resolve_user(spec, u, err, sizeof err) != 0)
		return cli_usage("doctor", "--user: %s", err);
	if (geteuid() != 0 && u->uid != geteuid())
		return cli_usage("doctor", "--user %s: checking another user needs root (you are uid %u)", spec,
				 (unsigned)geteuid());
	return CLI_GO;
}

enum { MAXS = 32 };

/* The directories named after the options, else the vboxsf mounts and
 * VBOXFIX_PATHS; their count. */
static int doctor_paths(int argc, char **argv, char paths[][PATH_MAX])
{
	int n = 0;
	for (int i = optind; i < argc && n < MAXS; i++)
		cli_fmt(paths[n++], PATH_MAX, "%s", argv[i]);
	if (optind == argc)
		n = dr_default_paths(paths, MAXS);
	return n;
}

int cmd_doctor(int argc, char **argv)
{
	/* the child doctor runs under the library to learn what it presents */
	if (argc == 3 && !strcmp(argv[1], "--presented-stat"))
		return dr_presented_stat(argv[2]);
	struct dr_args a = {0, 0, NULL};
	int prc = dr_parse(argc, argv, &a);
	if (prc)
		return prc < 0 ? CLI_OK : prc;
	dr_env_stash();
	/* argv[-1] is the program name: re-exec with the whole command line */
	cli_leave_library(argv - 1);
	struct dr_env env;
	if (dr_env_load(&env, a.pid) != 0) {
		cli_err("doctor: --pid: %s", env.how);
		return CLI_USAGE;
	}
	struct cli_user u;
	int rc = doctor_user(a.user, &u);
	if (rc != CLI_GO)
		return rc;
	static char paths[MAXS][PATH_MAX];
	int n = doctor_paths(argc, argv, paths);
	if (n == 0 && !a.json) {
		cli_err("doctor: no vboxsf mounts found and VBOXFIX_PATHS is empty; name a directory: vboxfix doctor PATH");
		return CLI_USAGE;
	}

	struct share *sh = calloc((size_t)(n ? n : 1), sizeof *sh);
	if (!sh)
		return CLI_USAGE;
	dr_install_cleanup();
	rc = n ? CLI_OK : CLI_USAGE;
	for (int i = 0; i < n; i++) {
		cli_fmt(sh[i].path, sizeof sh[i].path, "%s", paths[i]);
		dr_one(&sh[i], &u, &env);
		if (sh[i].status > rc)
			rc = sh[i].status;
	}
	if (a.json)
		dr_report_json(stdout, sh, n, &u, rc, &env);
	else
		dr_report_text(stdout, sh, n, &u, &env);
	free(sh);
	fflush(stdout);
	return rc;
}
