/* SPDX-License-Identifier: MIT */
/* vboxfix stats -- COMMAND: run COMMAND like exec --stats, and print the
 * counters of every process under it on vboxfix's own stderr.
 *
 * The library writes its counters from a destructor (shim/wrap/vbf.c), after the
 * program's atexit handlers: coreutils' close_stdout has closed stderr by
 * then, so `exec --stats -- ls` loses them. Here the counters (and every other
 * log line) go to a private regular file through VBOXFIX_LOG_FILE, which the
 * program cannot close, and vboxfix stays as COMMAND's parent to copy that
 * file to its stderr as it grows and once COMMAND has ended. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char stats_help[] =
	"Usage: vboxfix stats\n"
	"       vboxfix stats [exec options] [--] COMMAND [ARGS...]\n"
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
	"'vboxfix stats COMMAND' runs COMMAND like 'vboxfix exec --stats', but as a\n"
	"child: the library logs to a private file (VBOXFIX_LOG_FILE) that COMMAND\n"
	"cannot close, and vboxfix copies it to its own stderr, so the counters of\n"
	"programs that close stderr at exit (coreutils) are not lost. Signals sent\n"
	"to vboxfix are passed on; the exit status is COMMAND's. When\n"
	"VBOXFIX_LOG_FILE is already set, the counters go there and vboxfix execs\n"
	"COMMAND directly. For a whole container set ENV VBOXFIX_STATS=1 next to\n"
	"LD_PRELOAD.\n"
	"\n"
	"Exit status: COMMAND's; 127 not found, 126 not executable, 125 vboxfix's\n"
	"own error.\n";

/* Signals passed on to COMMAND (those a supervisor is usually sent). */
static const int fwd_sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};

/* Copy what the log file gained since the last call to stderr. */
static void drain(int fd)
{
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		if (write(2, buf, (size_t)n) < 0)
			break;
}

/* A private log file, named in VBOXFIX_LOG_FILE for every process below.
 * Its descriptor (for reading) or -1. */
static int make_log(char *name, size_t n)
{
	const char *dir = getenv("TMPDIR");
	cli_fmt(name, n, "%s/vboxfix-stats.XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkostemp(name, O_CLOEXEC);
	if (fd < 0) {
		cli_err("stats: cannot create %s: %s", name, strerror(errno));
		return -1;
	}
	if (setenv("VBOXFIX_LOG_FILE", name, 1) != 0) {
		cli_err("stats: cannot set VBOXFIX_LOG_FILE: %s", strerror(errno));
		unlink(name);
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait for `pid`, passing on signals sent to us and copying the log as it
 * grows. A signal the terminal sent went to COMMAND too (same process
 * group): passing it again would deliver it twice. */
static int supervise(pid_t pid, const sigset_t *set, int logfd)
{
	struct timespec tick = {0, 200 * 1000 * 1000};
	int status;
	for (;;) {
		siginfo_t si;
		int sig = sigtimedwait(set, &si, &tick);
		if (sig > 0 && sig != SIGCHLD && si.si_code != SI_KERNEL)
			kill(pid, sig);
		drain(logfd);
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid && (WIFEXITED(status) || WIFSIGNALED(status)))
			return status;
		if (w < 0 && errno != EINTR)
			return -1;
	}
}

/* Leave as COMMAND left: its exit status, or the signal that ended it
 * (without a core file of our own). */
static int end_like(int status, const sigset_t *old)
{
	if (status < 0)
		return CLI_ERROR;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	int sig = WTERMSIG(status);
	struct rlimit no_core = {0, 0};
	setrlimit(RLIMIT_CORE, &no_core);
	fflush(NULL);
	signal(sig, SIG_DFL);
	sigprocmask(SIG_SETMASK, old, NULL);
	raise(sig);
	return 128 + sig;
}

int cmd_stats(int argc, char **argv)
{
	if (argc == 1) {
		fputs(stats_help, stdout);
		return CLI_OK;
	}
	char **av;
	int rc = cli_exec_prepare(argc, argv, 1, &av);
	if (rc != CLI_GO)
		return rc;
	const char *lf = getenv("VBOXFIX_LOG_FILE");
	if (lf && *lf)
		return cli_exec_run(av);

	char name[PATH_MAX];
	int logfd = make_log(name, sizeof name);
	if (logfd < 0)
		return CLI_ERROR;
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < sizeof fwd_sigs / sizeof fwd_sigs[0]; i++)
		sigaddset(&set, fwd_sigs[i]);
	sigprocmask(SIG_BLOCK, &set, &old);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		_exit(cli_exec_run(av));
	}
	int status = -1;
	if (pid < 0)
		cli_err("stats: fork: %s", strerror(errno));
	else
		status = supervise(pid, &set, logfd);
	drain(logfd);
	unlink(name);
	close(logfd);
	return end_like(status, &old);
}
