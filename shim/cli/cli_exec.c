/* vboxfix exec: preload the library, set VBOXFIX_* from options, optionally
 * switch user (as root, like setpriv/gosu), then replace ourselves with the
 * command: same pid, the command's exit status and signals. */
#include "cli.h"
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char exec_help[] =
	"Usage: vboxfix exec [OPTIONS] -- COMMAND [ARGS...]\n"
	"\n"
	"Run COMMAND with libvboxfix.so added to LD_PRELOAD (existing entries are\n"
	"kept). vboxfix replaces itself with COMMAND: same pid, same signals, and\n"
	"COMMAND's exit status.\n"
	"\n"
	"Options (each sets the environment variable shown):\n"
	"  --path DIR          treat DIR as a share; repeatable      VBOXFIX_PATHS\n"
	"  --owner USER[:GROUP] owner shown for unrecorded files     VBOXFIX_OWNER\n"
	"  --map MAP           owner mapping, bindfs --map syntax    VBOXFIX_MAP\n"
	"                      (e.g. 1000/999:@50/@999)\n"
	"  --ttl MS            attribute cache lifetime, 0 = off     VBOXFIX_TTL_MS\n"
	"  --state FILE        where recorded owners/modes live      VBOXFIX_STATE\n"
	"  --log LEVEL         error, warn, info or debug            VBOXFIX_LOG\n"
	"  --stats             print counters at exit                VBOXFIX_STATS=1\n"
	"  --user USER[:GROUP] as root: switch to USER (its supplementary groups,\n"
	"                      then GROUP or its primary group) before running\n"
	"                      COMMAND; HOME is set from the passwd entry\n"
	"  -h, --help          show this help\n"
	"\n"
	"The library is looked for in <bindir>/../lib, then " VBF_LIBDIR ",\n"
	"then next to the vboxfix binary.\n"
	"\n"
	"Exit status: COMMAND's; 127 not found, 126 not executable, 2 usage error\n"
	"(unknown option, missing '--' or COMMAND, bad value, library not found,\n"
	"unknown user or group, --user without root).\n";

static const char stats_help[] =
	"Usage: vboxfix stats\n"
	"       vboxfix stats [exec options] -- COMMAND [ARGS...]\n"
	"\n"
	"With VBOXFIX_STATS=1 every process running with libvboxfix writes one line\n"
	"of counters when it exits, to stderr (or VBOXFIX_LOG_FILE), never stdout:\n"
	"\n"
	"  vboxfix[PID] stats: presented=N chown_recorded=N chmod_recorded=N ...\n"
	"\n"
	"  presented            stat results whose owner or mode was rewritten\n"
	"  chown_recorded       chowns recorded (the share ignored or refused them)\n"
	"  chmod_recorded       chmods recorded\n"
	"  create_recorded      modes of new files/directories recorded\n"
	"  refusals_absorbed    share refusals turned into success\n"
	"  cache_hits, cache_misses, cache_invalidations\n"
	"                       the attribute cache (VBOXFIX_TTL_MS)\n"
	"  requests_avoided     requests to the share the cache saved\n"
	"  retries              busy-file retries (VBOXFIX_RETRY_MS)\n"
	"  emulations           link/FIFO/socket/rename emulations\n"
	"\n"
	"'vboxfix stats -- COMMAND' is 'vboxfix exec --stats -- COMMAND'; for a\n"
	"whole container set ENV VBOXFIX_STATS=1 next to LD_PRELOAD.\n";

enum { O_PATH_ = 256, O_OWNER, O_MAP, O_TTL, O_STATE, O_LOG, O_STATS, O_USER };

static const struct option exec_opts[] = {
	{"path", required_argument, 0, O_PATH_}, {"owner", required_argument, 0, O_OWNER},
	{"map", required_argument, 0, O_MAP},    {"ttl", required_argument, 0, O_TTL},
	{"state", required_argument, 0, O_STATE}, {"log", required_argument, 0, O_LOG},
	{"stats", no_argument, 0, O_STATS},       {"user", required_argument, 0, O_USER},
	{"help", no_argument, 0, 'h'},            {0, 0, 0, 0},
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

/* 1 when some PATH directory holds a file named `cmd` (executable or not). */
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
		if (stat(f, &st) == 0)
			return 1;
		if (!path[len])
			return 0;
		path += len + 1;
	}
}

/* 1 when the ELF file's sections or notes mark a Go binary. */
static int elf_is_go(FILE *f, const Elf64_Ehdr *eh)
{
	if (eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shnum == 0 ||
	    eh->e_shnum > 4096 || eh->e_shstrndx >= eh->e_shnum)
		return 0;
	Elf64_Shdr *sh = calloc(eh->e_shnum, sizeof *sh);
	if (!sh)
		return 0;
	int go = 0;
	char *names = NULL;
	if (fseek(f, (long)eh->e_shoff, SEEK_SET) != 0 || fread(sh, sizeof *sh, eh->e_shnum, f) != eh->e_shnum)
		goto out;
	Elf64_Shdr *ns = &sh[eh->e_shstrndx];
	if (ns->sh_size == 0 || ns->sh_size > (1u << 20))
		goto out;
	names = malloc(ns->sh_size + 1);
	if (!names || fseek(f, (long)ns->sh_offset, SEEK_SET) != 0 || fread(names, 1, ns->sh_size, f) != ns->sh_size)
		goto out;
	names[ns->sh_size] = 0;
	for (int i = 0; i < eh->e_shnum && !go; i++) {
		if (sh[i].sh_name >= ns->sh_size)
			continue;
		const char *nm = names + sh[i].sh_name;
		go = !strcmp(nm, ".go.buildinfo") || !strcmp(nm, ".note.go.buildid") || !strcmp(nm, ".gopclntab");
	}
out:
	free(names);
	free(sh);
	return go;
}

/* Warn (one line) when no preload library can reach `path`'s calls. */
static void check_binary(const char *cmd)
{
	char path[PATH_MAX];
	if (which(cmd, path, sizeof path) != 0)
		return;
	FILE *f = fopen(path, "rb");
	if (!f)
		return;
	Elf64_Ehdr eh;
	if (fread(&eh, sizeof eh, 1, f) != 1 || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 1024) {
		fclose(f); /* a script or another class: its interpreter decides */
		return;
	}
	int interp = 0;
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (fseek(f, (long)(eh.e_phoff + (Elf64_Off)i * sizeof ph), SEEK_SET) != 0 || fread(&ph, sizeof ph, 1, f) != 1)
			break;
		interp |= ph.p_type == PT_INTERP;
	}
	if (elf_is_go(f, &eh))
		cli_err("warning: %s is a Go program: it makes system calls without libc, so libvboxfix cannot change what it sees", path);
	else if (!interp)
		cli_err("warning: %s is statically linked: no preload library can reach it, libvboxfix will have no effect", path);
	fclose(f);
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

int cmd_exec(int argc, char **argv, int force_stats)
{
	const char *cmd = argv[0];
	int is_stats = !strcmp(cmd, "stats");
	char *paths = NULL;
	size_t plen = 0;
	int npaths = 0;
	const char *owner = NULL, *map = NULL, *ttl = NULL, *state = NULL, *log = NULL, *user = NULL;
	int stats = force_stats, c, rc;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:h", exec_opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(is_stats ? stats_help : exec_help, stdout);
			free(paths);
			return CLI_OK;
		case O_PATH_: {
			char *p = NULL;
			if ((rc = abs_dir(cmd, optarg, &p)) != 0) {
				free(paths);
				return rc;
			}
			char *np = realloc(paths, plen + strlen(p) + 2);
			if (!np) {
				free(p);
				free(paths);
				return CLI_USAGE;
			}
			paths = np;
			if (++npaths > VBF_MAX_SHARES) {
				free(p);
				free(paths);
				return cli_usage(cmd, "--path: at most %d directories", VBF_MAX_SHARES);
			}
			plen += (size_t)sprintf(paths + plen, "%s%s", plen ? ":" : "", p);
			free(p);
			break;
		}
		case O_OWNER: owner = optarg; break;
		case O_MAP: map = optarg; break;
		case O_TTL: ttl = optarg; break;
		case O_STATE: state = optarg; break;
		case O_LOG: log = optarg; break;
		case O_STATS: stats = 1; break;
		case O_USER: user = optarg; break;
		case ':':
			free(paths);
			return cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
		default:
			free(paths);
			if (optopt && optopt < 256)
				return cli_usage(cmd, "unknown option '-%c'", optopt);
			return cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind == 1 && is_stats && argc == 1) {
		fputs(stats_help, stdout);
		return CLI_OK;
	}
	if (optind > argc || strcmp(argv[optind - 1], "--") != 0) {
		free(paths);
		if (optind < argc)
			return cli_usage(cmd, "missing '--' before the command ('%s')", argv[optind]);
		return cli_usage(cmd, "missing '-- COMMAND'");
	}
	if (optind >= argc) {
		free(paths);
		return cli_usage(cmd, "missing COMMAND after '--'");
	}

	/* Validate every value before touching the environment, with the
	 * library's own parsers (names from /etc/passwd and /etc/group). */
	uint32_t u32a, u32b;
	char *pwdb = owner || map ? slurp("/etc/passwd") : NULL, *grdb = owner || map ? slurp("/etc/group") : NULL;
	int bad_owner = owner && vbf_parse_owner(owner, &u32a, &u32b, pwdb, grdb) != 0;
	int bad_map = 0;
	if (map) {
		struct vbf_map_ent ents[VBF_MAX_MAP];
		int n = 0;
		bad_map = vbf_parse_map(map, ents, VBF_MAX_MAP, &n, pwdb, grdb) != 0;
	}
	free(pwdb);
	free(grdb);
	if (bad_owner) {
		free(paths);
		return cli_usage(cmd, "--owner '%s': expected UID:GID or USER[:GROUP] known in /etc/passwd and /etc/group", owner);
	}
	if (bad_map) {
		free(paths);
		return cli_usage(cmd, "--map '%s': expected bindfs --map syntax (FROM/TO:@FROMGROUP/@TOGROUP), "
				      "e.g. 1000/999:@50/@999, at most %d entries", map, VBF_MAX_MAP);
	}
	if (ttl) {
		char *end;
		errno = 0;
		long v = strtol(ttl, &end, 10);
		if (!*ttl || *end || errno || v < 0 || v > 86400000) {
			free(paths);
			return cli_usage(cmd, "--ttl '%s': expected milliseconds (0 turns the cache off)", ttl);
		}
	}
	if (log && strcmp(log, "error") && strcmp(log, "warn") && strcmp(log, "info") && strcmp(log, "debug")) {
		free(paths);
		return cli_usage(cmd, "--log '%s': expected error, warn, info or debug", log);
	}

	char lib[PATH_MAX], tried[4 * PATH_MAX];
	if (cli_find_library(lib, sizeof lib, tried, sizeof tried) != 0) {
		free(paths);
		cli_err("%s: %s not found (looked at %s); install it with 'make install'", cmd, VBF_LIBNAME, tried);
		return CLI_USAGE;
	}
	char *pre = cli_preload_compose(lib, getenv("LD_PRELOAD"));
	rc = !pre || set("LD_PRELOAD", pre);
	free(pre);
	if (!rc && paths)
		rc = set("VBOXFIX_PATHS", paths);
	free(paths);
	if (!rc && owner)
		rc = set("VBOXFIX_OWNER", owner);
	if (!rc && map)
		rc = set("VBOXFIX_MAP", map);
	if (!rc && ttl)
		rc = set("VBOXFIX_TTL_MS", ttl);
	if (!rc && state) {
		char *a = abs_file(state);
		rc = !a || set("VBOXFIX_STATE", a);
		free(a);
	}
	if (!rc && log)
		rc = set("VBOXFIX_LOG", log);
	if (!rc && stats)
		rc = set("VBOXFIX_STATS", "1");
	if (rc)
		return CLI_USAGE;
	const char *off = getenv("VBOXFIX");
	if (off && !strcmp(off, "off"))
		cli_err("warning: VBOXFIX=off is set: the library will do nothing (unset it to enable)");

	if (user && (rc = switch_user(cmd, user)) != 0)
		return rc;

	char **av = argv + optind;
	check_binary(av[0]);
	fflush(NULL);
	execvp(av[0], av);
	int e = errno;
	/* execvp reports EACCES when some PATH directory could not be searched
	 * even though no such file exists anywhere: a shell says "not found" */
	if (e == EACCES && !strchr(av[0], '/') && !in_path(av[0]))
		e = ENOENT;
	if (e == ENOENT || e == ENOTDIR) {
		cli_err("%s: command not found", av[0]);
		return CLI_NOTFOUND;
	}
	cli_err("%s: %s", av[0], strerror(e));
	return CLI_NOEXEC;
}

int cmd_stats(int argc, char **argv)
{
	if (argc == 1) {
		fputs(stats_help, stdout);
		return CLI_OK;
	}
	return cmd_exec(argc, argv, 1);
}
