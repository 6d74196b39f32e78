/* The vboxfix command: shared helpers of the subcommands.
 *
 * The command is an ordinary program: it calls libc directly, and it links
 * the library's core modules (config parsing, the store) so that what it
 * validates is exactly what the library will accept. */
#ifndef VBF_CLI_H
#define VBF_CLI_H

#include <stdio.h>
#include <sys/types.h>
#include <limits.h>

#ifndef VBF_VERSION
#define VBF_VERSION "unknown"
#endif
#ifndef VBF_LIBDIR
#define VBF_LIBDIR "/usr/local/lib"
#endif

#define VBF_LIBNAME "libvboxfix.so"

/* Exit codes shared by every subcommand. */
enum { CLI_OK = 0, CLI_ACTION = 1, CLI_USAGE = 2, CLI_NOEXEC = 126, CLI_NOTFOUND = 127 };

/* snprintf where truncation is acceptable (messages, bounded paths). */
int cli_fmt(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "vboxfix: ..." or "vboxfix CMD: ..." on stderr, one line. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error of subcommand `cmd` (NULL: the tool itself): prints the
 * message and a pointer to --help; returns CLI_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A user as --user / doctor --user name it: USER[:GROUP], names or numbers. */
struct cli_user {
	uid_t uid;
	gid_t gid;
	int have_pw;          /* the user has a passwd entry */
	char name[64];        /* user name, or the number */
	char group[64];       /* group name, or the number */
	char home[PATH_MAX];  /* from passwd, or "" */
	gid_t groups[256];    /* supplementary groups (includes gid) */
	int ngroups;
};
/* Resolve `spec`; on error writes a one-line reason to `err` and returns -1. */
int cli_resolve_user(const char *spec, struct cli_user *u, char *err, size_t errlen);
/* The calling process as a cli_user (effective ids, its groups). */
void cli_current_user(struct cli_user *u);
/* Name of a uid / gid for messages ("4242" when unknown). */
const char *cli_uname(uid_t uid, char *buf, size_t n);
const char *cli_gname(gid_t gid, char *buf, size_t n);

/* Directory of the running executable (from /proc/self/exe). */
int cli_exe_dir(char *out, size_t n);
/* Find libvboxfix.so: <exe dir>/../lib, VBF_LIBDIR, <exe dir>. 0 or -1;
 * `tried` receives the candidates (for the error message). */
int cli_find_library(char *out, size_t n, char *tried, size_t tn);
/* 1 when an LD_PRELOAD entry names libvboxfix (any directory). */
int cli_is_vbf_entry(const char *entry, size_t len);
/* New LD_PRELOAD value (malloc'd): `lib` first (if not NULL), then the
 * entries of `old` except any libvboxfix; separators normalised to ':'. */
char *cli_preload_compose(const char *lib, const char *old);

/* doctor and state must see the share raw: when libvboxfix is loaded and
 * active in this process, re-exec argv_all (argv[0] first) with it removed
 * from LD_PRELOAD; always sets VBOXFIX=off (covers /etc/ld.so.preload). */
void cli_leave_library(char **argv_all);

/* JSON string literal of `s` (escaped; invalid UTF-8 becomes U+FFFD). */
void cli_json_str(FILE *f, const char *s);

/* Subcommands; argv[0] is the subcommand's name. */
int cmd_exec(int argc, char **argv, int force_stats);
int cmd_doctor(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_stats(int argc, char **argv);

#endif
