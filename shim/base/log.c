/* SPDX-License-Identifier: MIT */
/* Logging without malloc or stdio: one write(2) per line, so a line from a
 * vfork child, a signal handler or a thread never interleaves mid-line. */
#include "log.h"
#include "real.h"
#include <stdatomic.h>
#include <sys/sysmacros.h>

int vbf_log_level = VBF_WARN;
static int log_fd = 2;
static atomic_uchar once[VBF_EV__N];
static atomic_ulong counters[VBF_C__N];

const char *const vbf_level_names[VBF_DEBUG + 1] = {"error", "warn", "info", "debug"};
static const char *const counter_name[] = {
	"presented", "chown_recorded", "chmod_recorded", "create_recorded",
	"refusals_absorbed", "cache_hits", "cache_misses", "cache_invalidations",
	"requests_avoided", "retries", "emulations",
};

/* The log file is opened by every process the library enters, so nothing
 * about it may block or act on a device: only a regular file (or a name that
 * does not exist yet) is used, and the null device, so that a log can be
 * discarded. A terminal is what stderr already is; any other device, a FIFO
 * or a directory is refused. The stat before the open keeps such a file
 * unopened (opening a tape, modem line or watchdog acts on it, and a FIFO's
 * reader would see a writer come and go); O_NONBLOCK covers one put there
 * between the stat and the open (an open that would wait for a reader fails
 * with ENXIO instead), and the fstat after it decides. Anything else is one
 * warning on stderr, and logging stays there. */
static int usable(const struct stat *st)
{
	return S_ISREG(st->st_mode) || (S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 3));
}

int vbf_level_parse(const char *name)
{
	if (!name || !*name)
		return VBF_WARN;
	for (int i = 0; i <= VBF_DEBUG; i++)
		if (!strcmp(name, vbf_level_names[i]))
			return i;
	return -1;
}

void vbf_log_setup(int level, const char *file)
{
	int saved = errno;
	vbf_log_level = level;
	/* setup runs once per process; a second call (unit tests) starts from
	 * stderr again and leaves the old descriptor alone: its number may
	 * belong to the program by now */
	log_fd = 2;
	if (!file || !*file) {
		errno = saved;
		return;
	}
	struct stat st;
	const char *why = NULL;
	int err = 0, fd = -1;
	if (REAL(stat)(file, &st) == 0 && !usable(&st)) {
		why = "not a regular file (nor the null device)";
	} else {
		fd = REAL(open)(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0600);
		if (fd < 0) {
			err = errno;
			why = "cannot be opened";
		} else if (REAL(fstat)(fd, &st) != 0 || !usable(&st)) {
			REAL(close)(fd);
			fd = -1;
			why = "not a regular file (nor the null device)";
		}
	}
	if (fd >= 0)
		log_fd = fd;
	else if (err)
		vbf_log(VBF_WARN, "VBOXFIX_LOG_FILE=%.200s %s (%s); logging to stderr", file, why, strerror(err));
	else
		vbf_log(VBF_WARN, "VBOXFIX_LOG_FILE=%.200s is %s; logging to stderr", file, why);
	errno = saved;
}

/* raw getpid and write: the log is written from every layer, the table's
 * resolution included, and a test's fake write must not take its lines */
static void vlog(enum vbf_level lvl, const char *fmt, va_list ap)
{
	char buf[1024];
	int saved = errno;
	int n = snprintf(buf, sizeof buf, "vboxfix[%ld] %s: ", (long)vbf_raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0),
			 vbf_level_names[lvl]);
	if (n < 0)
		n = 0;
	int m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof buf - 2)
		n = (int)sizeof buf - 2;
	buf[n++] = '\n';
	vbf_raw_syscall(SYS_write, log_fd, (long)buf, n, 0, 0, 0);
	errno = saved;
}

void vbf_log(enum vbf_level lvl, const char *fmt, ...)
{
	if ((int)lvl > vbf_log_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}

void vbf_log_once(enum vbf_event ev, enum vbf_level lvl, const char *fmt, ...)
{
	if ((int)lvl > vbf_log_level || atomic_exchange(&once[ev], 1))
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}

void vbf_count(enum vbf_counter c) { atomic_fetch_add_explicit(&counters[c], 1, memory_order_relaxed); }
unsigned long vbf_counter_get(enum vbf_counter c) { return atomic_load(&counters[c]); }

void vbf_stats_dump(void)
{
	char buf[1024];
	/* raw, as vlog() */
	int n = snprintf(buf, sizeof buf, "vboxfix[%ld] stats:", (long)vbf_raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0));
	for (int i = 0; i < VBF_C__N && n < (int)sizeof buf - 64; i++)
		n += snprintf(buf + n, sizeof buf - (size_t)n, " %s=%lu", counter_name[i], vbf_counter_get(i));
	buf[n++] = '\n';
	vbf_raw_syscall(SYS_write, log_fd, (long)buf, n, 0, 0, 0);
}
