/* SPDX-License-Identifier: MIT */
/* Logging to stderr or VBOXFIX_LOG_FILE, never stdout; no malloc, no stdio
 * locks (safe in a vfork child or a signal handler). Counters for
 * VBOXFIX_STATS. */
#ifndef VBF_LOG_H
#define VBF_LOG_H

enum vbf_level { VBF_ERROR = 0, VBF_WARN, VBF_INFO, VBF_DEBUG };
/* "error", "warn", "info", "debug": VBOXFIX_LOG, vboxfix --log, log lines */
extern const char *const vbf_level_names[VBF_DEBUG + 1];
/* The level a name gives, VBF_WARN for NULL or "", -1 for an unknown name. */
int vbf_level_parse(const char *name);

/* Kinds of event that warn/info log at most once per process. */
enum vbf_event {
	VBF_EV_STORE_RO,     /* state store not writable: memory only */
	VBF_EV_STORE_BAD,    /* state store had unreadable records */
	VBF_EV_BAD_ENV,      /* a VBOXFIX_* value was rejected */
	VBF_EV_CHOWN,        /* a chown the share ignored or refused was recorded */
	VBF_EV_CHMOD,        /* a chmod was recorded */
	VBF_EV_LONGPATH,     /* a path too long to classify was passed through */
	VBF_EV_ODIRECT, VBF_EV_LINK, VBF_EV_FIFO, VBF_EV_SOCK, VBF_EV_BUSY,
	VBF_EV_DIRSYNC, VBF_EV_RENAME, VBF_EV_DEFER,
	VBF_EV_OWNER_RIGHT,  /* explicit times or an ACL refused to the presented owner */
	VBF_EV_RUNDIR,       /* the redirect directory was not this user's: fallback */
	VBF_EV_START,        /* the start-up line, at first share use */
	VBF_EV__N
};

/* Counters printed at exit when VBOXFIX_STATS=1. */
enum vbf_counter {
	VBF_C_PRESENTED,  /* stat results rewritten */
	VBF_C_CHOWN,      /* chowns recorded */
	VBF_C_CHMOD,      /* chmods recorded */
	VBF_C_CREATE,     /* create modes recorded */
	VBF_C_REFUSED,    /* share refusals absorbed */
	VBF_C_CACHE_HIT, VBF_C_CACHE_MISS, VBF_C_CACHE_INVAL, VBF_C_AVOIDED,
	VBF_C_RETRY, VBF_C_EMULATED,
	VBF_C__N
};

extern int vbf_log_level;

void vbf_log(enum vbf_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Log once per process per event kind (at `lvl`). */
void vbf_log_once(enum vbf_event ev, enum vbf_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void vbf_count(enum vbf_counter c);
unsigned long vbf_counter_get(enum vbf_counter c);
/* Write the counters to the log destination (at exit). */
void vbf_stats_dump(void);
/* Where to log: -1 means stderr. */
void vbf_log_setup(int level, const char *file);

#endif
