/* SPDX-License-Identifier: MIT */
/* VBOXFIX_* settings, read and validated once at start-up. A bad value is
 * warned about and ignored (the default stays), never fatal. */
#ifndef VBF_CONFIG_H
#define VBF_CONFIG_H

#include "sys.h"

#define VBF_MAX_SHARES 16
#define VBF_MAX_MAP 16
/* VBOXFIX_TTL_MS and vboxfix --ttl: at most a day */
#define VBF_TTL_MS_MAX 86400000L

struct vbf_map_ent { int is_gid; uint32_t from, to; };

struct vbf_config {
	int off;                      /* VBOXFIX=off: the library does nothing */
	char paths[VBF_MAX_SHARES][PATH_MAX]; /* VBOXFIX_PATHS, as given */
	int npaths;
	int autodetect;               /* VBOXFIX_AUTODETECT (default 1): vboxsf mounts */
	int have_owner;               /* VBOXFIX_OWNER=uid:gid or names */
	uint32_t owner_uid, owner_gid;
	struct vbf_map_ent map[VBF_MAX_MAP]; /* VBOXFIX_MAP, bindfs --map syntax */
	int nmap;
	const char *state;            /* VBOXFIX_STATE, or NULL */
	long ttl_ms;                  /* VBOXFIX_TTL_MS */
	long cache_max;               /* VBOXFIX_CACHE_MAX */
	long shared_cache;            /* VBOXFIX_SHARED_CACHE: entries of the table every process shares */
	long retry_ms;                /* VBOXFIX_RETRY_MS */
	long compact_min;             /* VBOXFIX_COMPACT_MIN: state file size before compaction is considered */
	int stats;                    /* VBOXFIX_STATS */
	int log_level;                /* VBOXFIX_LOG */
	const char *log_file;         /* VBOXFIX_LOG_FILE */
};

extern struct vbf_config vbf_cfg;

/* Parse from `getenv`-like lookup (tests pass their own). Warnings go to the
 * log; the result always holds usable values. */
void vbf_config_load(struct vbf_config *c, const char *(*get)(const char *));

/* Parse "uid:gid", "user", "user:group" (names from /etc/passwd, /etc/group,
 * read directly: NSS may not be usable inside a preload). 0 or -1. */
int vbf_parse_owner(const char *s, uint32_t *uid, uint32_t *gid, const char *passwd, const char *group);
/* Read a whole file (passwd, group, mountinfo) through the real table into
 * a NUL-terminated malloc'd string; at most about `max` bytes are kept. */
char *vbf_slurp(const char *path, size_t max);

/* A whole decimal uid or gid, `n` characters of `s`, below 2^32 - 1 (-1
 * means "unchanged" to chown). 0 or -1. */
int vbf_parse_id(const char *s, size_t n, uint32_t *out);
/* A whole decimal number (strtol, base 10) in [min, max]. 0 or -1; errno
 * is left alone. */
int vbf_parse_long(const char *v, long min, long max, long *out);

/* Parse bindfs --map syntax "a/b:@c/@d". 0 or -1. */
int vbf_parse_map(const char *s, struct vbf_map_ent *out, int max, int *n, const char *passwd, const char *group);

/* Whether the library has started (vbf.h: 0 not started, 1 starting, 2
 * started) and is on (VBOXFIX=off, secure mode, no shares: off). The
 * wrappers start it (vbf_active()); the layers below only ask vbf_ready(),
 * which never does, so nothing under the wrappers runs the start-up. */
extern int vbf_boot_state;
extern int vbf_on;

static inline int vbf_ready(void)
{
	return __atomic_load_n(&vbf_boot_state, __ATOMIC_ACQUIRE) == 2 && vbf_on;
}

#endif
