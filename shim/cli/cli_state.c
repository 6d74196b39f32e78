/* SPDX-License-Identifier: MIT */
/* vboxfix state: inspect and edit the recorded owners and modes of shares,
 * through the store API (store.h) the library itself uses. */
#include "doctor.h"
#include "store.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int do_compact(void);

static const char state_help[] =
	"Usage: vboxfix state [-p DIR] [-s FILE] list [PATH...]\n"
	"       vboxfix state [-p DIR] [-s FILE] forget [-r] PATH...\n"
	"       vboxfix state [-p DIR] [-s FILE] export [FILE]\n"
	"       vboxfix state [-p DIR] [-s FILE] import FILE\n"
	"       vboxfix state [-p DIR] [-s FILE] compact\n"
	"\n"
	"The owners and modes libvboxfix recorded for files on a share (chowns and\n"
	"chmods the share ignored or refused). Shares: -p/--path DIR (repeatable),\n"
	"or every vboxsf mount plus VBOXFIX_PATHS. Records live in\n"
	"DIR/.vboxfix.state unless -s/--state or VBOXFIX_STATE names another file.\n"
	"\n"
	"  list [PATH...]  print the records (of PATH and below it): mode, owner as\n"
	"                  numbers and as names from /etc/passwd and /etc/group,\n"
	"                  path ('-' = not recorded)\n"
	"  forget PATH...  drop the record of PATH (-r: and of everything below it);\n"
	"                  stat then shows the inherited owner and the real mode again\n"
	"  export [FILE]   write the records as text (to stdout without FILE), with\n"
	"                  paths relative to the share\n"
	"  import FILE     add the records of an export ('-' = stdin) to one share\n"
	"                  (--path DIR, or the only share); records for paths that do\n"
	"                  not exist, or are now of another type, are skipped\n"
	"  compact         rewrite each state file from its live records now (the\n"
	"                  library does it by itself when dead records dominate)\n"
	"\n"
	"Exit status: 0 done; 1 some records skipped or not written, or forget\n"
	"found no record of a PATH; 125 usage error (also a PATH on no share).\n";

#define MAXS VBF_MAX_SHARES

struct st_share {
	char root[PATH_MAX];
};

static struct st_share shares[MAXS];
static int nshares;

static int add_share(const char *dir)
{
	char *r = realpath(dir, NULL);
	if (!r)
		return cli_usage("state", "%s: %s", dir, strerror(errno)), -1;
	struct stat st;
	if (stat(r, &st) != 0 || !S_ISDIR(st.st_mode)) {
		free(r);
		return cli_usage("state", "%s: not a directory", dir), -1;
	}
	for (int i = 0; i < nshares; i++)
		if (!strcmp(shares[i].root, r)) {
			free(r);
			return 0;
		}
	if (nshares >= MAXS) {
		free(r);
		return cli_usage("state", "at most %d shares", MAXS), -1;
	}
	cli_fmt(shares[nshares].root, PATH_MAX, "%s", r);
	free(r);
	nshares++;
	return 0;
}

/* Escape a key for one line of text: \\ \n \t \r and \xHH for other
 * control bytes. Returns out. */
static const char *esc(const char *k, char *out, size_t n)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)k; *p && o + 5 < n; p++) {
		if (*p == '\\')
			o += (size_t)cli_fmt(out + o, n - o, "\\\\");
		else if (*p == '\n')
			o += (size_t)cli_fmt(out + o, n - o, "\\n");
		else if (*p == '\t')
			o += (size_t)cli_fmt(out + o, n - o, "\\t");
		else if (*p == '\r')
			o += (size_t)cli_fmt(out + o, n - o, "\\r");
		else if (*p < 0x20 || *p == 0x7f)
			o += (size_t)cli_fmt(out + o, n - o, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	out[o] = 0;
	return out;
}

static int unesc(const char *in, char *out, size_t n)
{
	size_t o = 0;
	for (const char *p = in; *p; p++) {
		if (o + 1 >= n)
			return -1;
		if (*p != '\\') {
			out[o++] = *p;
			continue;
		}
		p++;
		if (*p == '\\') out[o++] = '\\';
		else if (*p == 'n') out[o++] = '\n';
		else if (*p == 't') out[o++] = '\t';
		else if (*p == 'r') out[o++] = '\r';
		else if (*p == 'x' && p[1] && p[2]) {
			char h[3] = {p[1], p[2], 0}, *end;
			long v = strtol(h, &end, 16);
			if (*end || v <= 0)
				return -1;
			out[o++] = (char)v;
			p += 2;
		} else
			return -1;
	}
	out[o] = 0;
	return 0;
}

static char type_char(uint32_t t)
{
	switch (t & S_IFMT) {
	case S_IFREG: return 'f';
	case S_IFDIR: return 'd';
	case S_IFLNK: return 'l';
	case S_IFIFO: return 'p';
	case S_IFSOCK: return 's';
	case 0: return '-';
	default: return '?';
	}
}

static uint32_t type_bits(char c)
{
	switch (c) {
	case 'f': return S_IFREG;
	case 'd': return S_IFDIR;
	case 'l': return S_IFLNK;
	case 'p': return S_IFIFO;
	case 's': return S_IFSOCK;
	default: return 0;
	}
}

struct walk {
	FILE *out;
	const char *root;
	int export;
	unsigned long n;
	const char *const *keys; /* list PATH...: only these keys and below */
	int nkeys;
	int recursive;           /* forget: count keys below too */
};

/* `key` is `want` or (`below`) lies under it ("" is the share root). */
static int key_in(const char *key, const char *want, int below)
{
	size_t l = strlen(want);
	if (!strcmp(key, want))
		return 1;
	return below && (l == 0 || (!strncmp(key, want, l) && key[l] == '/'));
}

static int wanted(const struct walk *w, const char *key)
{
	for (int i = 0; i < w->nkeys; i++)
		if (key_in(key, w->keys[i], 1))
			return 1;
	return w->nkeys == 0;
}

static int print_rec(void *arg, const char *key, const struct vbf_rec *r, const struct vbf_fp *fp)
{
	struct walk *w = arg;
	char k[3 * PATH_MAX], mode[8] = "-", owner[32] = "-", names[160] = "-";
	if (!wanted(w, key))
		return 0;
	if (r->flags & VBF_REC_MODE)
		cli_fmt(mode, sizeof mode, "0%03o", (unsigned)(r->mode & 07777));
	if (r->flags & VBF_REC_OWNER) {
		char u[64], g[64];
		cli_fmt(owner, sizeof owner, "%u:%u", (unsigned)r->uid, (unsigned)r->gid);
		cli_fmt(names, sizeof names, "%s:%s", cli_db_uname(r->uid, u, sizeof u), cli_db_gname(r->gid, g, sizeof g));
	}
	esc(key, k, sizeof k);
	if (w->export)
		fprintf(w->out, "owner=%s mode=%s type=%c path=%s\n", owner, mode, type_char(fp ? fp->type : 0),
			*key ? k : ".");
	else
		fprintf(w->out, "  %-5s %-13s %-19s %s%s%s%s\n", mode, owner, names, w->root, *key ? "/" : "", k,
			(r->flags & VBF_REC_LINK) ? "  (hard link)" : "");
	w->n++;
	return 0;
}

static int count_rec(void *arg, const char *key, const struct vbf_rec *r, const struct vbf_fp *fp)
{
	(void)r;
	(void)fp;
	struct walk *w = arg;
	w->n += (unsigned long)key_in(key, w->keys[0], w->recursive);
	return 0;
}

static const char *state_file;

static int key_of(const char *path, char *key, size_t n);

/* list [PATH...] and export: the records of every share, or of the shares
 * holding the named paths, only those paths and below. */
static int do_list(FILE *out, int export, int npaths, char **paths)
{
	int rc = CLI_OK;
	static char keys[MAXS][PATH_MAX];
	const char *sel[MAXS];
	int which[MAXS];
	if (npaths > MAXS)
		return cli_usage("state", "list: at most %d paths", MAXS);
	for (int i = 0; i < npaths; i++)
		if ((which[i] = key_of(paths[i], keys[i], sizeof keys[i])) < 0) {
			cli_err("state: %s is not on a known share (name the share with --path DIR)", paths[i]);
			return CLI_ERROR;
		}
	if (export)
		fprintf(out, "# vboxfix state export 1\n");
	for (int i = 0; i < nshares; i++) {
		struct walk w = {out, shares[i].root, export, 0, sel, 0, 0};
		for (int j = 0; j < npaths; j++)
			if (which[j] == i)
				sel[w.nkeys++] = keys[j];
		if (npaths && !w.nkeys)
			continue;
		vbf_store_open(i, shares[i].root, state_file);
		struct vbf_store_info info;
		memset(&info, 0, sizeof info);
		int have = vbf_store_info(i, &info) == 0;
		if (export)
			fprintf(out, "# share %s\n", shares[i].root);
		else
			fprintf(out, "share %s: %lu record%s, %s\n", shares[i].root, have ? info.records : 0,
				have && info.records == 1 ? "" : "s",
				have && info.path && *info.path ? info.path : "no state file (memory only)");
		if (vbf_store_foreach(i, print_rec, &w) != 0)
			rc = CLI_ACTION;
		vbf_store_close(i);
	}
	return rc;
}

static int do_compact(void)
{
	int rc = CLI_OK;
	for (int i = 0; i < nshares; i++) {
		vbf_store_open(i, shares[i].root, state_file);
		struct vbf_store_info before, after;
		memset(&before, 0, sizeof before);
		vbf_store_info(i, &before);
		if (vbf_store_compact(i) != 0) {
			cli_err("state: %s: not compacted (memory only, no record locks, or another process holds its lock)",
				shares[i].root);
			rc = CLI_ACTION;
		} else {
			vbf_store_info(i, &after);
			printf("share %s: %llu -> %llu bytes, %lu records\n", shares[i].root,
			       (unsigned long long)before.file_bytes, (unsigned long long)after.file_bytes,
			       after.records);
		}
		vbf_store_close(i);
	}
	return rc;
}

/* Which share holds `path`, and its key there. */
static int key_of(const char *path, char *key, size_t n)
{
	char abs[PATH_MAX], tmp[PATH_MAX];
	char *r = realpath(path, NULL);
	if (!r) {
		/* a name that is gone: canonical parent plus the last name */
		cli_fmt(tmp, sizeof tmp, "%s", path);
		char *base = basename(tmp), bcopy[NAME_MAX + 1];
		cli_fmt(bcopy, sizeof bcopy, "%s", base);
		cli_fmt(tmp, sizeof tmp, "%s", path);
		char *pr = realpath(dirname(tmp), NULL);
		if (!pr || !strcmp(bcopy, ".") || !strcmp(bcopy, "..")) {
			free(pr);
			return -1;
		}
		cli_fmt(abs, sizeof abs, "%s/%s", strcmp(pr, "/") ? pr : "", bcopy);
		free(pr);
	} else {
		cli_fmt(abs, sizeof abs, "%s", r);
		free(r);
	}
	int best = -1;
	size_t bl = 0;
	for (int i = 0; i < nshares; i++) {
		size_t l = strlen(shares[i].root);
		if (!strncmp(abs, shares[i].root, l) && (abs[l] == '/' || abs[l] == 0) && l >= bl) {
			best = i;
			bl = l;
		}
	}
	if (best >= 0)
		cli_fmt(key, n, "%s", abs[bl] == '/' ? abs + bl + 1 : "");
	return best;
}

/* Drop the records of each path; a path with no record is said, and makes
 * the status 1. */
static int do_forget(int argc, char **argv, int recursive)
{
	if (argc == 0)
		return cli_usage("state", "forget: name a PATH");
	int rc = CLI_OK;
	for (int i = 0; i < argc; i++) {
		char key[PATH_MAX];
		const char *keys[1] = {key};
		int idx = key_of(argv[i], key, sizeof key);
		if (idx < 0) {
			cli_err("state: %s is not on a known share (name the share with --path DIR)", argv[i]);
			rc = CLI_ERROR;
			continue;
		}
		struct walk w = {NULL, shares[idx].root, 0, 0, keys, 1, recursive};
		vbf_store_open(idx, shares[idx].root, state_file);
		vbf_store_foreach(idx, count_rec, &w);
		if (w.n && recursive)
			vbf_store_del(idx, key);
		else if (w.n)
			vbf_store_forget(idx, key);
		vbf_store_close(idx);
		if (!w.n) {
			cli_err("state: no record of %s%s", argv[i], recursive ? " or below it" : "");
			if (rc == CLI_OK)
				rc = CLI_ACTION;
		} else if (recursive) {
			printf("forgot %s and everything below it (%lu record%s)\n", argv[i], w.n, w.n == 1 ? "" : "s");
		} else {
			printf("forgot %s\n", argv[i]);
		}
	}
	return rc;
}

/* What an import did, for its summary line. */
struct import_tally {
	unsigned long n, gone, bad, failed;
};

/* Parse and check one "owner=U:G mode=M type=T path=KEY" line (either value
 * may be "-"): `key` becomes the name inside the share ("" for its root).
 * 0, or -1 after saying what is wrong with the line. */
static int import_parse(const char *line, const char *file, unsigned long lineno, struct vbf_rec *rec, char *type,
			char key[PATH_MAX])
{
	char owner[64], mode[16];
	int off = 0;
	unsigned a, b, m;
	if (sscanf(line, "owner=%63s mode=%15s type=%c path=%n", owner, mode, type, &off) != 3 || off == 0 ||
	    unesc(line + off, key, PATH_MAX) != 0) {
		cli_err("state: %s:%lu: not a record line", file, lineno);
		return -1;
	}
	if (strcmp(owner, "-")) {
		if (sscanf(owner, "%u:%u", &a, &b) != 2) {
			cli_err("state: %s:%lu: bad owner '%s'", file, lineno, owner);
			return -1;
		}
		rec->flags |= VBF_REC_OWNER;
		rec->uid = a;
		rec->gid = b;
	}
	if (strcmp(mode, "-")) {
		if (sscanf(mode, "%o", &m) != 1 || m > 07777) {
			cli_err("state: %s:%lu: bad mode '%s'", file, lineno, mode);
			return -1;
		}
		rec->flags |= VBF_REC_MODE;
		rec->mode = m;
	}
	const char *k = strcmp(key, ".") ? key : "";
	if (k[0] == '/' || strstr(k, "..") == k || strstr(k, "/../") || !rec->flags) {
		cli_err("state: %s:%lu: refusing path '%s'", file, lineno, key);
		return -1;
	}
	if (!k[0])
		key[0] = 0;
	return 0;
}

/* Record `rec` for `key` when the file is there and of the type the line
 * says (a record only ever describes a file that exists). */
static void import_place(const char *root, const char *key, char type, const struct vbf_rec *rec,
			 struct import_tally *t)
{
	char path[PATH_MAX + 8];
	struct stat st;
	cli_fmt(path, sizeof path, "%s%s%s", root, *key ? "/" : "", key);
	if (lstat(path, &st) != 0 || (type_bits(type) && (st.st_mode & S_IFMT) != type_bits(type))) {
		t->gone++;
		return;
	}
	if (vbf_store_put(0, key, &st, rec) != 0)
		t->failed++;
	t->n++;
}

static int import_summary(const char *root, const struct import_tally *t)
{
	printf("imported %lu record%s into %s", t->n, t->n == 1 ? "" : "s", root);
	if (t->gone)
		printf("; skipped %lu whose path is missing or of another type", t->gone);
	if (t->bad)
		printf("; %lu unreadable line%s", t->bad, t->bad == 1 ? "" : "s");
	if (t->failed)
		printf("; %lu kept in memory only (state file not writable)", t->failed);
	printf("\n");
	return t->gone || t->bad || t->failed ? CLI_ACTION : CLI_OK;
}

static int do_import(const char *file)
{
	if (nshares != 1)
		return cli_usage("state", "import: name exactly one share with --path DIR (%d known)", nshares);
	FILE *f = strcmp(file, "-") ? fopen(file, "re") : stdin;
	if (!f) {
		cli_err("state: %s: %s", file, strerror(errno));
		return CLI_USAGE;
	}
	const char *root = shares[0].root;
	vbf_store_open(0, root, state_file);
	char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;
	struct import_tally t = {0, 0, 0, 0};
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		line[strcspn(line, "\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		char type, key[PATH_MAX];
		struct vbf_rec rec = {0, 0, 0, 0, 0, 0};
		if (import_parse(line, file, lineno, &rec, &type, key) != 0)
			t.bad++;
		else
			import_place(root, key, type, &rec, &t);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	vbf_store_close(0);
	return import_summary(root, &t);
}

/* state export [FILE]: to stdout, or to FILE (created or truncated). */
static int do_export(int rest, char **args)
{
	if (rest > 1)
		return cli_usage("state", "export takes at most one FILE");
	if (rest == 0)
		return do_list(stdout, 1, 0, NULL);
	FILE *f = fopen(args[0], "we");
	if (!f) {
		cli_err("state: %s: %s", args[0], strerror(errno));
		return CLI_USAGE;
	}
	int rc = do_list(f, 1, 0, NULL);
	if (fclose(f) != 0) {
		cli_err("state: %s: %s", args[0], strerror(errno));
		return CLI_ACTION;
	}
	return rc;
}

/* The options before the action (--path adds a share as it comes).
 * CLI_GO, or an exit status. */
static int state_opts(int argc, char **argv, int *recursive)
{
	static const struct option opts[] = {
		{"path", required_argument, 0, 'p'}, {"state", required_argument, 0, 's'},
		{"recursive", no_argument, 0, 'r'},  {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	int c;
	opterr = 0;
	optind = 1;
	state_file = getenv("VBOXFIX_STATE");
	while ((c = getopt_long(argc, argv, ":p:s:rh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (add_share(optarg) != 0)
				return CLI_USAGE;
			break;
		case 's': state_file = optarg; break;
		case 'r': *recursive = 1; break;
		case ':': return cli_usage("state", "option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt && optopt < 256)
				return cli_usage("state", "unknown option '-%c'", optopt);
			return cli_usage("state", "unknown option '%s'", argv[optind - 1]);
		}
	}
	return CLI_GO;
}

/* Without --path: the vboxsf mounts and VBOXFIX_PATHS. CLI_GO, or an exit
 * status. */
static int default_shares(void)
{
	if (nshares == 0) {
		static char def[MAXS][PATH_MAX];
		int n = dr_default_paths(def, MAXS);
		for (int i = 0; i < n; i++)
			if (add_share(def[i]) != 0)
				return CLI_USAGE;
	}
	if (nshares == 0)
		return cli_usage("state", "no shares: no vboxsf mounts and VBOXFIX_PATHS is empty; use --path DIR");
	return CLI_GO;
}

int cmd_state(int argc, char **argv)
{
	/* argv[-1] is the program name: re-exec with the whole command line */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(state_help, stdout);
			return CLI_OK;
		}
	cli_leave_library(argv - 1);
	int recursive = 0, rc = state_opts(argc, argv, &recursive);
	if (rc != CLI_GO)
		return rc;
	if (optind >= argc)
		return cli_usage("state", "missing action: list, forget, export, import or compact");
	const char *act = argv[optind++];
	if (strcmp(act, "list") && strcmp(act, "forget") && strcmp(act, "export") && strcmp(act, "import") &&
	    strcmp(act, "compact"))
		return cli_usage("state", "unknown action '%s' (list, forget, export, import, compact)", act);
	if ((rc = default_shares()) != CLI_GO)
		return rc;
	int rest = argc - optind;
	char **args = argv + optind;
	if (!strcmp(act, "list"))
		return do_list(stdout, 0, rest, args);
	if (!strcmp(act, "forget"))
		return do_forget(rest, args, recursive);
	if (!strcmp(act, "compact"))
		return rest ? cli_usage("state", "compact takes no arguments") : do_compact();
	if (!strcmp(act, "export"))
		return do_export(rest, args);
	if (rest != 1)
		return cli_usage("state", "import needs exactly one FILE");
	return do_import(args[0]);
}
