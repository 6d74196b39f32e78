/* SPDX-License-Identifier: MIT */
/* vboxfix doctor: what it finds out about one share, shared by the probe
 * (cli_doctor.c, cli_probe.c) and the report (cli_report.c). */
#ifndef VBF_CLI_DOCTOR_H
#define VBF_CLI_DOCTOR_H

#include "cli.h"
#include <sys/stat.h>

enum pr_res {
	PR_WORKS,   /* behaves like a local filesystem */
	PR_IGNORED, /* returned success, changed nothing */
	PR_REFUSED, /* failed with `err` */
	PR_SKIPPED, /* could not be tried (`detail` says why) */
	PR_INFO,    /* a measurement */
};

struct probe {
	const char *name;     /* short id: chown, chmod, ... */
	const char *title;    /* what was tried */
	enum pr_res res;
	int err;
	char detail[256];
	const char *vboxfix;  /* what vboxfix does about it */
};

#define DR_MAX_PROBES 16
#define DR_MAX_FIX 6

struct share {
	char path[PATH_MAX];   /* as named, made canonical */
	char mnt[PATH_MAX];    /* mount point that holds it */
	char fstype[64];
	char source[PATH_MAX]; /* mount source (vboxsf: the share name) */
	char opts[2048];       /* mount options, then superblock options */
	int is_vboxsf;         /* by fs type or statfs magic */
	int readonly;
	struct stat root;
	int root_err;          /* errno of stat(path), 0 if fine */
	struct probe probes[DR_MAX_PROBES];
	int nprobes;
	int probe_err;         /* errno creating the probe directory, 0 if it ran */
	double stat_us;        /* median µs of one stat, <0 if unmeasured */
	/* can the target user create files in `path`? */
	int write_ok;
	int write_err;
	const char *write_why; /* which permission class decided */
	char fix[DR_MAX_FIX][512]; /* alternatives, then one note (fix[nalt]) */
	int nfix, nalt;
	int status;            /* CLI_OK, CLI_ACTION, CLI_USAGE (path error) */
	/* is it working? (cli_doctor_env.c) */
	int needed;            /* the share drops owners or modes: vboxfix has work here */
	char covered[PATH_MAX + 96]; /* which share of the library's list holds path, "" none */
	char share_root[PATH_MAX];   /* that share's root (path itself when none) */
	char state[PATH_MAX];  /* the state file the library would use */
	char state_prefix[PATH_MAX]; /* share root's key in it, "" for its own */
	int state_exists;
	unsigned long records, file_records;
	int presented_ok;      /* presented_* valid */
	unsigned presented_uid, presented_gid, presented_mode;
	char presented_why[256]; /* why not, when not */
};

/* The environment doctor judges: its own, or that of a running process. */
#define DR_MAX_ENV 64
struct dr_env {
	int pid;               /* 0: doctor's own environment */
	int loaded;            /* 1 yes, 0 no, -1 cannot tell */
	char how[PATH_MAX + 128]; /* what says so */
	char *vars[DR_MAX_ENV]; /* LD_PRELOAD and VBOXFIX* as NAME=VALUE */
	int nvars;
};

/* Before cli_leave_library (which rewrites LD_PRELOAD and VBOXFIX in
 * doctor's environment): remember them, across its re-exec. */
void dr_env_stash(void);
/* Fill `e` for pid (0: doctor's own environment). 0, or -1 with a message
 * in e->how (no such process). */
int dr_env_load(struct dr_env *e, int pid);
const char *dr_env_get(const struct dr_env *e, const char *name);
/* Coverage, state file and presented owner/mode of s->path under `e`. */
void dr_working(struct share *s, const struct dr_env *e);
/* The hidden "doctor --presented-stat PATH" child: prints uid gid mode. */
int dr_presented_stat(const char *path);

/* Gather mount facts for s->path; 0, or -1 with s->root_err set. */
int dr_mount_info(struct share *s);
/* The default list: vboxsf mounts plus VBOXFIX_PATHS; returns the count. */
int dr_default_paths(char (*out)[PATH_MAX], int max);
/* Value of mount option `key` in s->opts (copied to out), or NULL. */
const char *dr_opt(const struct share *s, const char *key, char *out, size_t n);
/* Run the live probes in a temporary directory on the share. */
void dr_probe(struct share *s);
/* Can `u` create a file in s->path? Fills write_* and fix[]. */
void dr_write_check(struct share *s, const struct cli_user *u);
/* Signal-safe cleanup of whatever the probes left (installed as handler). */
void dr_install_cleanup(void);

void dr_report_text(FILE *f, struct share *s, int n, const struct cli_user *u, const struct dr_env *e);
void dr_report_json(FILE *f, struct share *s, int n, const struct cli_user *u, int rc, const struct dr_env *e);

#endif
