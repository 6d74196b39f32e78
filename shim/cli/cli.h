/* SPDX-License-Identifier: MIT */
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

/* Exit codes shared by every subcommand. The tool's own errors (usage, a bad
 * value, a failed setup) are 125, as env, timeout and chroot use, so that
 * they never look like an exit status of the command exec runs; 126 and 127
 * are a shell's "cannot execute" and "not found". */
enum { CLI_OK = 0, CLI_ACTION = 1, CLI_ERROR = 125, CLI_USAGE = CLI_ERROR, CLI_NOEXEC = 126, CLI_NOTFOUND = 127 };

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

/* The C library an ELF file was built for: from its program interpreter
 * (executables) or its DT_NEEDED entries (shared libraries). */
enum cli_libc { CLI_LIBC_UNKNOWN = 0, CLI_LIBC_GLIBC, CLI_LIBC_MUSL };
struct cli_elf {
	int dynamic;          /* has a program interpreter (PT_INTERP) */
	int go;               /* Go sections or notes */
	enum cli_libc libc;
	char interp[256];     /* PT_INTERP, or "" */
};
/* Read a 64-bit ELF file; 0, or -1 when it is not one (a script, another
 * class) or cannot be read. */
int cli_elf_read(const char *path, struct cli_elf *e);
const char *cli_libc_name(enum cli_libc l);
/* "vboxfix VERSION" and the library exec would load, on stdout. */
void cli_print_version(void);

/* Users and groups by id from /etc/passwd and /etc/group read directly (the
 * files a container's programs see, whatever NSS says); the number when
 * absent. */
const char *cli_db_uname(uid_t uid, char *buf, size_t n);
const char *cli_db_gname(gid_t gid, char *buf, size_t n);

/* exec's steps, shared with stats: parse the options (`force_stats` sets
 * VBOXFIX_STATS=1), validate them, set the environment, switch user. Returns
 * CLI_GO with *cmdv = COMMAND ARGS..., or an exit status (help, --version,
 * an error already reported). */
enum { CLI_GO = -1 };
int cli_exec_prepare(int argc, char **argv, int force_stats, char ***cmdv);
/* execvp; on failure reports it like a shell and returns 126 or 127. */
int cli_exec_run(char **cmdv);

/* JSON string literal of `s` (escaped; invalid UTF-8 becomes U+FFFD). */
void cli_json_str(FILE *f, const char *s);

/* Subcommands; argv[0] is the subcommand's name. */
int cmd_exec(int argc, char **argv, int force_stats);
int cmd_doctor(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_stats(int argc, char **argv);

#endif
