/* SPDX-License-Identifier: MIT */
/* vboxfix exec: preload the library, set VBOXFIX_* from options, optionally
 * switch user (as root, like setpriv/gosu), then replace ourselves with the
 * command: same pid, the command's exit status and signals. */
#include "cli.h"
#include "config.h"
#include "log.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char exec_help[] =
	"Usage: vboxfix exec [OPTIONS] [--] COMMAND [ARGS...]\n"
	"\n"
	"Run COMMAND with libvboxfix.so added to LD_PRELOAD (existing entries are\n"
	"kept). vboxfix replaces itself with COMMAND: same pid, same signals, and\n"
	"COMMAND's exit status. Options end at the first word that is not one (as\n"
	"with env or setpriv); '--' is needed only before a COMMAND starting with '-'.\n"
	"\n"
	"Options (each sets the environment variable shown):\n"
	"  -p, --path DIR      treat DIR as a share; repeatable      VBOXFIX_PATHS\n"
	"  -o, --owner USER[:GROUP]\n"
	"                      owner shown for unrecorded files      VBOXFIX_OWNER\n"
	"  -m, --map MAP       owner mapping, bindfs --map syntax    VBOXFIX_MAP\n"
	"                      (e.g. 1000/999:@50/@999)\n"
	"  -t, --ttl MS        attribute cache lifetime, 0 = off     VBOXFIX_TTL_MS\n"
	"  -s, --state FILE    where recorded owners/modes live      VBOXFIX_STATE\n"
	"  -l, --log LEVEL     error, warn, info or debug            VBOXFIX_LOG\n"
	"      --stats         print counters at exit                VBOXFIX_STATS=1\n"
	"  -u, --user USER[:GROUP]\n"
	"                      as root: switch to USER (its supplementary groups,\n"
	"                      then GROUP or its primary group) before running\n"
	"                      COMMAND; HOME is set from the passwd entry\n"
	"  -V, --version       show the version and the library exec would load\n"
	"  -h, --help          show this help\n"
	"\n"
	"The library is looked for in <bindir>/../lib, then " VBF_LIBDIR ",\n"
	"then next to the vboxfix binary. A one-line warning says when COMMAND is\n"
	"static, a Go program, or uses another C library than the library's.\n"
	"\n"
	"Exit status: COMMAND's; 127 not found, 126 found but not executable, 125\n"
	"vboxfix's own error (unknown option, missing COMMAND, bad value, library\n"
	"not found, unknown user or group, --user without root).\n";

enum { O_STATS = 256 };

static const struct option exec_opts[] = {
	{"path", required_argument, 0, 'p'},  {"owner", required_argument, 0, 'o'},
	{"map", required_argument, 0, 'm'},   {"ttl", required_argument, 0, 't'},
	{"state", required_argument, 0, 's'}, {"log", required_argument, 0, 'l'},
	{"stats", no_argument, 0, O_STATS},   {"user", required_argument, 0, 'u'},
	{"version", no_argument, 0, 'V'},     {"help", no_argument, 0, 'h'},
	{0, 0, 0, 0},
};

/* What the options asked for. */
struct exec_req {
	char paths[VBF_MAX_SHARES * (PATH_MAX + 1)];
	int npaths;
	const char *owner, *map, *ttl, *state, *log, *user;
	int stats;
};

/* Absolute, canonical form of DIR for VBOXFIX_PATHS. */
static int abs_dir(const char *cmd, const char *dir, char **out)
{
	char *r = realpath(dir, NULL);
	if (!r)
		return cli_usage(cmd, "--path %s: %s", dir, strerror(errno));
	struct stat st;
	if (stat(r, &st) != 0 || !S_ISDIR(st.st_mode)) {
		free(r);
		return cli_usage(cmd, "--path %s: not a directory", dir);
	}
	if (strchr(r, ':')) {
		free(r);
		return cli_usage(cmd, "--path %s: a path containing ':' cannot go in VBOXFIX_PATHS", dir);
	}
	*out = r;
	return 0;
}

/* Absolute form of FILE (which need not exist yet) for VBOXFIX_STATE. */
static char *abs_file(const char *f)
{
	if (f[0] == '/')
		return strdup(f);
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd))
		return NULL;
	size_t n = strlen(cwd) + strlen(f) + 2;
	char *r = malloc(n);
	if (r)
		cli_fmt(r, n, "%s/%s", cwd, f);
	return r;
}

/* Where execvp would find `cmd`, for the static/Go check; 0 or -1. */
static int which(const char *cmd, char *out, size_t n)
{
	if (strchr(cmd, '/')) {
		cli_fmt(out, n, "%s", cmd);
		return 0;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin";
	while (1) {
		size_t len = strcspn(path, ":");
		cli_fmt(out, n, "%.*s%s%s", (int)len, path, len ? "/" : "", cmd);
		struct stat st;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return 0;
		if (!path[len])
			return -1;
		path += len + 1;
	}
}

/* 1 when some PATH directory holds a file named `cmd` (executable or not;
 * a directory of that name does not count, as for a shell). */
static int in_path(const char *cmd)
{
	const char *path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin";
	while (1) {
		size_t len = strcspn(path, ":");
		char f[PATH_MAX];
		struct stat st;
		cli_fmt(f, sizeof f, "%.*s%s%s", (int)len, path, len ? "/" : "", cmd);
		if (stat(f, &st) == 0 && !S_ISDIR(st.st_mode))
			return 1;
		if (!path[len])
			return 0;
		path += len + 1;
	}
}

/* One-line warnings when the library cannot reach `cmd`'s calls: a static
 * or Go program bypasses libc, and a program of another C library than the
 * library's cannot use it (a glibc build in a musl program stays inert). */
static void check_binary(const char *cmd, const char *lib)
{
	char path[PATH_MAX];
	struct cli_elf e, le;
	if (which(cmd, path, sizeof path) != 0 || cli_elf_read(path, &e) != 0)
		return; /* not found (exec says so), a script, another class */
	if (e.go)
		cli_err("warning: %s is a Go program: it makes system calls without libc, so libvboxfix cannot change what it sees", path);
	else if (!e.dynamic)
		cli_err("warning: %s is statically linked: no preload library can reach it, libvboxfix will have no effect", path);
	else if (e.libc != CLI_LIBC_UNKNOWN && cli_elf_read(lib, &le) == 0 && le.libc != CLI_LIBC_UNKNOWN &&
		 le.libc != e.libc)
		cli_err("warning: %s is a %s program (%s) but %s is a %s build: libvboxfix will have no effect in it; "
			"use a %s build of the library%s",
			path, cli_libc_name(e.libc), e.interp, lib, cli_libc_name(le.libc), cli_libc_name(e.libc),
			e.libc == CLI_LIBC_MUSL ? " (make CC=musl-gcc)" : "");
}

/* A whole small file as a string (passwd, group), or NULL. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (m) {
		char chunk[4096];
		size_t n;
		while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
			fwrite(chunk, 1, n, m);
		fclose(m);
	}
	fclose(f);
	return buf;
}

static int set(const char *name, const char *val)
{
	if (setenv(name, val, 1) != 0) {
		cli_err("cannot set %s: %s", name, strerror(errno));
		return -1;
	}
	return 0;
}

static int switch_user(const char *cmd, const char *spec)
{
	struct cli_user u;
	char err[512];
	if (cli_resolve_user(spec, &u, err, sizeof err) != 0)
		return cli_usage(cmd, "--user: %s", err);
	if (geteuid() != 0) {
		if (u.uid == geteuid() && u.uid == getuid() && u.gid == getegid() && u.gid == getgid())
			return 0; /* already that user: nothing to do */
		return cli_usage(cmd, "--user %s: switching users needs root (running as uid %u); "
				      "run vboxfix as root, or drop --user",
				 spec, (unsigned)geteuid());
	}
	if (setgroups((size_t)u.ngroups, u.groups) != 0) {
		cli_err("%s: setgroups: %s", cmd, strerror(errno));
		return CLI_USAGE;
	}
	if (setgid(u.gid) != 0) {
		cli_err("%s: setgid(%u): %s", cmd, (unsigned)u.gid, strerror(errno));
		return CLI_USAGE;
	}
	if (setuid(u.uid) != 0) {
		cli_err("%s: setuid(%u): %s", cmd, (unsigned)u.uid, strerror(errno));
		return CLI_USAGE;
	}
	if (u.uid != 0 && setuid(0) == 0) { /* never go on with root still reachable */
		cli_err("%s: could not drop root", cmd);
		return CLI_USAGE;
	}
	if (u.have_pw && u.home[0])
		setenv("HOME", u.home, 1);
	return 0;
}

/* --path DIR: one more entry of VBOXFIX_PATHS. */
static int add_path(const char *cmd, struct exec_req *q, const char *dir)
{
	char *p = NULL;
	int rc = abs_dir(cmd, dir, &p);
	if (rc != 0)
		return rc;
	size_t used = strlen(q->paths);
	if (++q->npaths > VBF_MAX_SHARES || used + strlen(p) + 2 > sizeof q->paths)
		rc = cli_usage(cmd, "--path: at most %d directories", VBF_MAX_SHARES);
	else
		cli_fmt(q->paths + used, sizeof q->paths - used, "%s%s", used ? ":" : "", p);
	free(p);
	return rc;
}

/* The options up to the first word that is not one ('+': like env and
 * setpriv, so that COMMAND's own options stay COMMAND's). CLI_GO, or an
 * exit status. */
static int parse_opts(int argc, char **argv, struct exec_req *q)
{
	const char *cmd = argv[0];
	int c, rc;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:p:o:m:t:s:l:u:hV", exec_opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			if (!strcmp(cmd, "stats"))
				return cmd_stats(1, argv);
			fputs(exec_help, stdout);
			return CLI_OK;
		case 'V': cli_print_version(); return CLI_OK;
		case 'p':
			if ((rc = add_path(cmd, q, optarg)) != 0)
				return rc;
			break;
		case 'o': q->owner = optarg; break;
		case 'm': q->map = optarg; break;
		case 't': q->ttl = optarg; break;
		case 's': q->state = optarg; break;
		case 'l': q->log = optarg; break;
		case 'u': q->user = optarg; break;
		case O_STATS: q->stats = 1; break;
		case ':': return cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt && optopt < 256)
				return cli_usage(cmd, "unknown option '-%c'", optopt);
			return cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage(cmd, "missing COMMAND");
	return CLI_GO;
}

/* Every value checked before the environment is touched, with the library's
 * own parsers (names from /etc/passwd and /etc/group). */
static int check_values(const char *cmd, const struct exec_req *q)
{
	uint32_t u32a, u32b;
	char *pwdb = q->owner || q->map ? slurp("/etc/passwd") : NULL;
	char *grdb = q->owner || q->map ? slurp("/etc/group") : NULL;
	int bad_owner = q->owner && vbf_parse_owner(q->owner, &u32a, &u32b, pwdb, grdb) != 0;
	int bad_map = 0;
	if (q->map) {
		struct vbf_map_ent ents[VBF_MAX_MAP];
		int n = 0;
		bad_map = vbf_parse_map(q->map, ents, VBF_MAX_MAP, &n, pwdb, grdb) != 0;
	}
	free(pwdb);
	free(grdb);
	if (bad_owner)
		return cli_usage(cmd, "--owner '%s': expected UID:GID or USER[:GROUP] known in /etc/passwd and /etc/group",
				 q->owner);
	if (bad_map)
		return cli_usage(cmd, "--map '%s': expected bindfs --map syntax (FROM/TO:@FROMGROUP/@TOGROUP), "
				      "e.g. 1000/999:@50/@999, at most %d entries", q->map, VBF_MAX_MAP);
	long ttl;
	if (q->ttl && vbf_parse_long(q->ttl, 0, VBF_TTL_MS_MAX, &ttl))
		return cli_usage(cmd, "--ttl '%s': expected milliseconds (0 turns the cache off)", q->ttl);
	const char *l = q->log;
	const char *const *n = vbf_level_names;
	if (l && (!*l || vbf_level_parse(l) < 0))
		return cli_usage(cmd, "--log '%s': expected %s, %s, %s or %s", l, n[0], n[1], n[2], n[3]);
	return CLI_OK;
}

/* LD_PRELOAD with `lib` first, and the VBOXFIX_* variables of the options. */
static int export_env(const struct exec_req *q, const char *lib)
{
	char *pre = cli_preload_compose(lib, getenv("LD_PRELOAD"));
	int bad = !pre || set("LD_PRELOAD", pre);
	free(pre);
	bad = bad || (q->npaths && set("VBOXFIX_PATHS", q->paths));
	bad = bad || (q->owner && set("VBOXFIX_OWNER", q->owner));
	bad = bad || (q->map && set("VBOXFIX_MAP", q->map));
	bad = bad || (q->ttl && set("VBOXFIX_TTL_MS", q->ttl));
	if (!bad && q->state) {
		char *a = abs_file(q->state);
		bad = !a || set("VBOXFIX_STATE", a);
		free(a);
	}
	bad = bad || (q->log && set("VBOXFIX_LOG", q->log));
	bad = bad || (q->stats && set("VBOXFIX_STATS", "1"));
	if (bad)
		return CLI_ERROR;
	const char *off = getenv("VBOXFIX");
	if (off && !strcmp(off, "off"))
		cli_err("warning: VBOXFIX=off is set: the library will do nothing (unset it to enable)");
	return CLI_OK;
}

int cli_exec_prepare(int argc, char **argv, int force_stats, char ***cmdv)
{
	const char *cmd = argv[0];
	static struct exec_req q; /* paths is large; one request per process */
	memset(&q, 0, sizeof q);
	q.stats = force_stats;
	int rc = parse_opts(argc, argv, &q);
	if (rc != CLI_GO)
		return rc;
	if ((rc = check_values(cmd, &q)) != CLI_OK)
		return rc;
	char lib[PATH_MAX], tried[4 * PATH_MAX];
	if (cli_find_library(lib, sizeof lib, tried, sizeof tried) != 0) {
		cli_err("%s: %s not found (looked at %s); install it with 'make install'", cmd, VBF_LIBNAME, tried);
		return CLI_ERROR;
	}
	if ((rc = export_env(&q, lib)) != CLI_OK)
		return rc;
	if (q.user && (rc = switch_user(cmd, q.user)) != 0)
		return rc;
	*cmdv = argv + optind;
	check_binary((*cmdv)[0], lib);
	return CLI_GO;
}

int cli_exec_run(char **av)
{
	fflush(NULL);
	execvp(av[0], av);
	int e = errno;
	/* execvp reports EACCES when some PATH directory could not be searched
	 * (or held a directory of that name) even though no such program exists
	 * anywhere: a shell says "not found" */
	if (e == EACCES && !strchr(av[0], '/') && !in_path(av[0]))
		e = ENOENT;
	struct stat st;
	if (e == EACCES && strchr(av[0], '/') && stat(av[0], &st) == 0 && S_ISDIR(st.st_mode))
		e = EISDIR; /* what a shell says of a directory */
	if (e == ENOENT || e == ENOTDIR) {
		cli_err("%s: command not found", av[0]);
		return CLI_NOTFOUND;
	}
	cli_err("%s: %s", av[0], strerror(e));
	return CLI_NOEXEC;
}

int cmd_exec(int argc, char **argv, int force_stats)
{
	char **av;
	int rc = cli_exec_prepare(argc, argv, force_stats, &av);
	return rc == CLI_GO ? cli_exec_run(av) : rc;
}
