/* SPDX-License-Identifier: MIT */
/* Children keep the library: the environment a child is started with gets
 * this library back in LD_PRELOAD and the VBOXFIX_* settings the process
 * started with, whatever the program did to its environment (env -i, sudo's
 * env_reset, `su -`, subprocess(env={}), unset or replaced LD_PRELOAD).
 *
 * The exec wrappers can run in a vfork child, which shares the parent's
 * memory and stack: everything on the exec path reads only what start-up
 * saved, writes only into the caller's stack buffers, and takes no lock,
 * allocates nothing and uses no stdio.
 */
#ifndef VBF_ENV_H
#define VBF_ENV_H

#include "sys.h"

#define VBF_ENV_VARS 32            /* VBOXFIX_* variables kept */
#define VBF_ENV_BUF (20 * 1024)    /* their text, "NAME=value\0" each */

/* Stack budget of one exec wrapper: the new envp and the new LD_PRELOAD
 * entry. An environment that does not fit goes through unchanged. */
#define VBF_ENV_SLOTS 2048
#define VBF_ENV_PRELOAD_CAP (PATH_MAX + 4096)

struct vbf_envsave {
	int active;                /* re-injection on (not secure, not off) */
	int preload;               /* the library was in LD_PRELOAD at start-up */
	char lib[PATH_MAX];        /* this library's path, absolute */
	const char *base;          /* its file name, inside lib */
	const char *vars[VBF_ENV_VARS]; /* "VBOXFIX_X=value", into buf */
	size_t namelen[VBF_ENV_VARS];   /* length of "VBOXFIX_X=" */
	int nvars;
	char buf[VBF_ENV_BUF];
};

extern struct vbf_envsave vbf_envsave;

/* Fill `s` from an environment and the library's path (NULL: no LD_PRELOAD
 * re-injection). Entries that do not fit are dropped with a warning.
 * Pure apart from the log: unit tests and fuzzers call it directly. */
void vbf_env_capture(struct vbf_envsave *s, char *const *env, const char *lib);

/* Start-up (from vbf_boot, only when not secure and not off): capture this
 * process's environment and library path into vbf_envsave. */
void vbf_env_init(void);

/* Is `entry` ("LD_PRELOAD=...") listing a library whose path is `lib` or
 * whose file name is `base`? */
int vbf_env_preload_has(const char *value, const char *lib, const char *base);

/* The environment a child should get instead of `envp` (NULL counts as
 * empty). Returns `envp` itself when nothing is missing, when the child
 * asked for VBOXFIX=off, when `s` is inactive, or when the result does not
 * fit `slots`/`pbuf` (passed through unchanged). Otherwise builds a
 * NULL-terminated array in `slots`, pointing at `envp`'s strings, the saved
 * settings and, when LD_PRELOAD must change, a new entry written to `pbuf`.
 * Reads only `s` and `envp`: safe in a vfork child. */
char *const *vbf_env_fix(const struct vbf_envsave *s, char *const *envp, char **slots, size_t nslots,
			 char *pbuf, size_t pcap);

/* The running process: vbf_env_fix with vbf_envsave. */
char *const *vbf_env_child(char *const *envp, char **slots, size_t nslots, char *pbuf, size_t pcap);

/* After a clearenv of the running process: put back LD_PRELOAD and the
 * saved settings (vbf_envsave), for the children system() and popen() start
 * inside libc, where no exec wrapper reaches. May allocate (setenv): not for
 * the exec path. errno is left alone. */
void vbf_env_put_back(void);

#endif
