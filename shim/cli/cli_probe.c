/* SPDX-License-Identifier: MIT */
/* vboxfix doctor: the live probe. Everything happens inside a temporary
 * directory on the share, removed at the end and on SIGINT/SIGTERM/SIGHUP.
 * Each result carries one line saying what vboxfix does about it
 * (docs/refusals.md). */
#include "doctor.h"

#include <errno.h>
#include <grp.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* What the signal handler removes: names inside the probe directory, the
 * directory itself, and the write-check file if the check made it. */
static const char *const probe_names[] = {"f", "l", "sl", "p", "s", "r", "n", "d", "d2", NULL};
static char g_tmp[PATH_MAX];
static volatile int g_tmpfd = -1;
static volatile pid_t g_wpid; /* the write-check child, while it runs */

/* The write check's file, shared with the child that makes it (it runs as
 * the user being checked): the name it tries, and whether a file it created
 * is there now. Only such a file is ever removed: a name someone else made
 * first is left alone. */
struct wcheck {
	volatile int made;
	char name[PATH_MAX];
};
static struct wcheck g_wlocal, *g_w = &g_wlocal;

/* Wait for the write-check child, at most about 2 s (it may be inside an
 * open on a share that stopped answering), then kill it. Signal-safe. */
static void stop_writer(pid_t pid)
{
	kill(pid, SIGTERM); /* held back by the child while it creates and removes its file */
	struct timespec ts = {0, 10 * 1000 * 1000};
	for (int i = 0; i < 200; i++) {
		if (waitpid(pid, NULL, WNOHANG) != 0)
			return;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void cleanup(void)
{
	int fd = g_tmpfd;
	if (fd >= 0)
		for (int i = 0; probe_names[i]; i++) {
			if (unlinkat(fd, probe_names[i], 0) != 0)
				unlinkat(fd, probe_names[i], AT_REMOVEDIR);
		}
	/* also right after mkdtemp, before the descriptor is kept: still empty */
	if (g_tmp[0])
		rmdir(g_tmp);
	/* the child may create its file after we looked: stop it first */
	pid_t pid = g_wpid;
	if (pid > 0)
		stop_writer(pid);
	if (g_w->made && g_w->name[0] && unlink(g_w->name) == 0)
		g_w->made = 0;
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

void dr_install_cleanup(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGHUP);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static struct probe *add(struct share *s, const char *name, const char *title)
{
	struct probe *p = &s->probes[s->nprobes++];
	memset(p, 0, sizeof *p);
	p->name = name;
	p->title = title;
	return p;
}

/* Result of a call that either works or fails with errno. */
static void result(struct probe *p, int rc, int err, const char *if_refused, const char *if_works)
{
	if (rc == 0) {
		p->res = PR_WORKS;
		p->vboxfix = if_works;
	} else {
		p->res = PR_REFUSED;
		p->err = err;
		p->vboxfix = if_refused;
	}
}

static const char V_NOTHING_NEEDED[] = "nothing needed: works like a local filesystem";

static void probe_chown(struct share *s, int dfd)
{
	struct probe *p = add(s, "chown", "chown of a file to another owner");
	struct stat a, b;
	if (fstatat(dfd, "f", &a, 0) != 0) {
		p->res = PR_SKIPPED;
		cli_fmt(p->detail, sizeof p->detail, "stat: %s", strerror(errno));
		return;
	}
	uid_t tu = (uid_t)-1;
	gid_t tg = (gid_t)-1;
	if (geteuid() == 0) {
		tu = a.st_uid + 1;
		tg = a.st_gid + 1;
	} else if (a.st_uid != geteuid()) {
		tu = geteuid(); /* a non-owner taking a file: refused on any POSIX filesystem */
	} else {
		gid_t gs[256];
		int n = getgroups(256, gs);
		for (int i = 0; i < n && tg == (gid_t)-1; i++)
			if (gs[i] != a.st_gid)
				tg = gs[i];
		if (tg == (gid_t)-1) {
			p->res = PR_SKIPPED;
			cli_fmt(p->detail, sizeof p->detail, "you own the file and have no other group; run doctor as root");
			return;
		}
	}
	int rc = fchownat(dfd, "f", tu, tg, 0), err = errno;
	if (fstatat(dfd, "f", &b, 0) != 0)
		b = a;
	int changed = (tu != (uid_t)-1 && b.st_uid == tu) || (tg != (gid_t)-1 && b.st_gid == tg);
	if (rc == 0 && changed) {
		p->res = PR_WORKS;
		cli_fmt(p->detail, sizeof p->detail, "applied: owner now %u:%u", (unsigned)b.st_uid, (unsigned)b.st_gid);
		p->vboxfix = "nothing needed: the share keeps owners (vboxfix still applies VBOXFIX_MAP/VBOXFIX_OWNER to what stat shows)";
	} else if (rc == 0) {
		p->res = PR_IGNORED;
		cli_fmt(p->detail, sizeof p->detail, "returned 0, owner stays %u:%u", (unsigned)b.st_uid, (unsigned)b.st_gid);
		p->vboxfix = "records the requested owner and shows it in stat: chown -R and ownership checks (PostgreSQL, git, ssh) then work";
	} else {
		p->res = PR_REFUSED;
		p->err = err;
		cli_fmt(p->detail, sizeof p->detail, "owner stays %u:%u", (unsigned)b.st_uid, (unsigned)b.st_gid);
		p->vboxfix = "when the POSIX rule allows the chown (root, or the shown owner changing the group), records it, shows it in stat and returns success";
	}
}

static void probe_chmod(struct share *s, int dfd)
{
	struct probe *p = add(s, "chmod", "chmod of a file");
	struct stat a, b;
	if (fstatat(dfd, "f", &a, 0) != 0) {
		p->res = PR_SKIPPED;
		cli_fmt(p->detail, sizeof p->detail, "stat: %s", strerror(errno));
		return;
	}
	mode_t want = (a.st_mode & 07777) == 0640 ? 0604 : 0640;
	int rc = fchmodat(dfd, "f", want, 0), err = errno;
	if (fstatat(dfd, "f", &b, 0) != 0)
		b = a;
	const char *rec = "records the mode and shows it in stat; passes a chmod to the share only where it cannot lock the caller out";
	if (rc == 0 && (b.st_mode & 07777) == want) {
		p->res = PR_WORKS;
		cli_fmt(p->detail, sizeof p->detail, "0%03o took effect", (unsigned)want);
		p->vboxfix = V_NOTHING_NEEDED;
	} else if (rc == 0) {
		p->res = PR_IGNORED;
		cli_fmt(p->detail, sizeof p->detail, "asked 0%03o, mode stays 0%03o", (unsigned)want, (unsigned)(b.st_mode & 07777));
		p->vboxfix = rec;
	} else {
		p->res = PR_REFUSED;
		p->err = err;
		cli_fmt(p->detail, sizeof p->detail, "mode stays 0%03o", (unsigned)(b.st_mode & 07777));
		p->vboxfix = rec;
	}
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void probe_stat_cost(struct share *s, int dfd)
{
	enum { N = 200 };
	double t[N];
	struct stat st;
	for (int i = 0; i < N; i++) {
		double t0 = now_us();
		if (fstatat(dfd, "f", &st, 0) != 0)
			return;
		t[i] = now_us() - t0;
	}
	qsort(t, N, sizeof t[0], cmp_double);
	s->stat_us = (t[N / 2 - 1] + t[N / 2]) / 2;
}

static void probe_socket(struct share *s, int dfd)
{
	struct probe *p = add(s, "unix_socket", "bind() of an AF_UNIX socket path");
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if ((size_t)cli_fmt(sa.sun_path, sizeof sa.sun_path, "%s/s", g_tmp) >= sizeof sa.sun_path)
		cli_fmt(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/s", dfd);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		p->res = PR_SKIPPED;
		cli_fmt(p->detail, sizeof p->detail, "socket: %s", strerror(errno));
		return;
	}
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa), err = errno;
	close(fd);
	result(p, rc, err, "binds the socket in a private local directory and maps the path in bind, connect, stat and unlink",
	       V_NOTHING_NEEDED);
}

/* New file: does it get the mode asked for? 0, or -1 when no file can be
 * made (nothing else can be tried). */
static int probe_create(struct share *s, int dfd)
{
	struct probe *p = add(s, "create_mode", "new file created with mode 0600");
	mode_t old = umask(0);
	int fd = openat(dfd, "f", O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600), err = errno;
	umask(old);
	if (fd < 0) {
		p->res = PR_REFUSED;
		p->err = err;
		p->vboxfix = "nothing: creating files fails here; see the write check below";
		return -1;
	}
	if (write(fd, "vboxfix\n", 8) != 8) { /* content for link/rename checks */
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && (st.st_mode & 07777) != 0600) {
		p->res = PR_IGNORED;
		cli_fmt(p->detail, sizeof p->detail, "got 0%03o", (unsigned)(st.st_mode & 07777));
		p->vboxfix = "records the requested mode of new files and directories and shows it in stat";
	} else {
		p->res = PR_WORKS;
		p->vboxfix = V_NOTHING_NEEDED;
	}
	close(fd);
	return 0;
}

static void probe_all(struct share *s, int dfd);
static void probe_renames(struct share *s, int dfd);

void dr_probe(struct share *s)
{
	cli_fmt(g_tmp, sizeof g_tmp, "%s/.vboxfix-doctor.XXXXXX", s->path);
	if (!mkdtemp(g_tmp)) {
		s->probe_err = errno;
		g_tmp[0] = 0;
		return;
	}
	int dfd = open(g_tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		s->probe_err = errno;
		rmdir(g_tmp);
		g_tmp[0] = 0;
		return;
	}
	g_tmpfd = dfd;
	if (probe_create(s, dfd) == 0) {
		probe_all(s, dfd);
		probe_stat_cost(s, dfd);
	}
	cleanup();
	g_tmpfd = -1;
	close(dfd);
	g_tmp[0] = 0;
}

static void probe_all(struct share *s, int dfd)
{
	struct probe *p;
	int rc, err, fd;
	probe_chown(s, dfd);
	probe_chmod(s, dfd);

	p = add(s, "link", "hard link");
	rc = linkat(dfd, "f", dfd, "l", 0), err = errno;
	result(p, rc, err,
	       "emulates link() with a copy when the new name does not exist: both names show one inode number "
	       "and st_nlink, but a write through one does not show in the other",
	       V_NOTHING_NEEDED);

	p = add(s, "symlink", "symbolic link");
	rc = symlinkat("f", dfd, "sl"), err = errno;
	result(p, rc, err,
	       "nothing: passed through; the host must allow symlinks "
	       "(VBoxManage setextradata VM VBoxInternal2/SharedFoldersEnableSymlinksCreate/SHARE 1)",
	       V_NOTHING_NEEDED);

	p = add(s, "mkfifo", "mkfifo");
	rc = mkfifoat(dfd, "p", 0600), err = errno;
	result(p, rc, err, "creates the FIFO in a private local directory and maps the share path to it", V_NOTHING_NEEDED);

	probe_socket(s, dfd);

	p = add(s, "o_direct", "open with O_DIRECT");
	fd = openat(dfd, "f", O_RDWR | O_DIRECT | O_CLOEXEC), err = errno;
	if (fd >= 0)
		close(fd);
	result(p, fd >= 0 ? 0 : -1, err, "retries the open without O_DIRECT (vboxsf writes go to the host synchronously anyway)",
	       V_NOTHING_NEEDED);

	p = add(s, "dir_fsync", "fsync on a directory");
	rc = fsync(dfd), err = errno;
	result(p, rc, err, "returns success for fsync on a directory of a share", V_NOTHING_NEEDED);

	probe_renames(s, dfd);
}

static void probe_renames(struct share *s, int dfd)
{
	struct probe *p;
	int rc, err, fd;
	p = add(s, "rename_noreplace", "renameat2(RENAME_NOREPLACE)");
	rc = (int)syscall(SYS_renameat2, dfd, "f", dfd, "r", RENAME_NOREPLACE), err = errno;
	if (rc == 0)
		renameat(dfd, "r", dfd, "f");
	result(p, rc, err, "checks that the target does not exist, then renames without the flag (a small race window)",
	       V_NOTHING_NEEDED);

	p = add(s, "rename_exchange", "renameat2(RENAME_EXCHANGE)");
	fd = openat(dfd, "n", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	rc = (int)syscall(SYS_renameat2, dfd, "f", dfd, "n", RENAME_EXCHANGE), err = errno;
	if (rc == 0)
		syscall(SYS_renameat2, dfd, "f", dfd, "n", RENAME_EXCHANGE);
	result(p, rc, err, "nothing: no library can swap two names atomically here; the error is passed through",
	       V_NOTHING_NEEDED);

	p = add(s, "rename_dir", "rename a directory onto an empty directory");
	mkdirat(dfd, "d", 0700);
	mkdirat(dfd, "d2", 0700);
	rc = renameat(dfd, "d", dfd, "d2"), err = errno;
	result(p, rc, err, "removes the empty target directory and retries", V_NOTHING_NEEDED);

	p = add(s, "xattr", "setxattr user.x");
	rc = setxattr(g_tmp[0] ? g_tmp : ".", "user.x", "1", 1, 0), err = errno;
	result(p, rc, err, "nothing: passed through (programs usually tolerate missing xattrs)", V_NOTHING_NEEDED);
}

/* Kernel permission class that decides a create in the directory. */
static const char *perm_class(const struct stat *d, const struct cli_user *u, int *allowed)
{
	unsigned m = d->st_mode;
	if (u->uid == 0) {
		*allowed = 1;
		return "root";
	}
	if (u->uid == d->st_uid) {
		*allowed = (m & 0300) == 0300;
		return "owner";
	}
	for (int i = 0; i < u->ngroups; i++)
		if (u->groups[i] == d->st_gid) {
			*allowed = (m & 030) == 030;
			return "group";
		}
	*allowed = (m & 03) == 03;
	return "other";
}

/* `n` random hex digits: from the kernel's generator, else a mix of clock,
 * pid and a counter (then only O_EXCL protects the name, as it always does). */
static void random_hex(char *out, int n)
{
	unsigned char r[32];
	int len = n / 2 + 1 > (int)sizeof r ? (int)sizeof r : n / 2 + 1;
	ssize_t got = getrandom(r, (size_t)len, GRND_NONBLOCK);
	if (got != len) {
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC | O_NOCTTY);
		got = fd >= 0 ? read(fd, r, (size_t)len) : -1;
		if (fd >= 0)
			close(fd);
	}
	if (got != len) {
		static unsigned long k;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		unsigned long long x = ((unsigned long long)ts.tv_nsec << 20) ^ (unsigned long long)ts.tv_sec ^
				       ((unsigned long long)getpid() << 40) ^ ++k * 0x9e3779b97f4a7c15ull;
		for (int i = 0; i < len; i++, x = x * 6364136223846793005ull + 1442695040888963407ull)
			r[i] = (unsigned char)(x >> 56);
	}
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < n && i / 2 < len; i++)
		out[i] = hex[(r[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	out[n] = 0;
}

/* In the child, as the user being checked: create a file under a new
 * random name with O_CREAT|O_EXCL (a name that exists already, whoever made
 * it, is another try, never a failure and never removed), then remove it.
 * The catchable signals wait while a file may exist, so the shared record
 * says exactly whether one does. 0 or errno. */
static int write_try(struct wcheck *w, const char *dir)
{
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	int e = EEXIST;
	for (int attempt = 0; attempt < 16 && e == EEXIST; attempt++) {
		char rnd[17];
		random_hex(rnd, 16);
		sigprocmask(SIG_BLOCK, &block, &old);
		if ((size_t)cli_fmt(w->name, sizeof w->name, "%s/.vboxfix-doctor-w.%s", dir, rnd) >= sizeof w->name) {
			sigprocmask(SIG_SETMASK, &old, NULL);
			return ENAMETOOLONG;
		}
		int fd = open(w->name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
		e = fd < 0 ? errno : 0;
		if (fd >= 0) {
			w->made = 1;
			close(fd);
			if (unlink(w->name) == 0)
				w->made = 0;
		}
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	return e;
}

/* Try the create as `u` in a child. 0 or errno. */
static int write_as(const struct share *s, const struct cli_user *u)
{
	/* shared with the child; without it the parent never learns a name,
	 * so it never removes anything */
	if (g_w == &g_wlocal) {
		void *m = mmap(NULL, sizeof *g_w, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (m != MAP_FAILED)
			g_w = m;
	}
	g_w->made = 0;
	g_w->name[0] = 0;
	int pipefd[2];
	if (pipe(pipefd) != 0)
		return errno;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		close(pipefd[0]);
		int e = 0;
		if (u->uid != geteuid() || u->gid != getegid()) {
			if (setgroups((size_t)u->ngroups, u->groups) != 0 || setgid(u->gid) != 0 || setuid(u->uid) != 0)
				e = errno ? errno : EPERM;
		}
		if (!e)
			e = write_try(g_w, s->path);
		if (write(pipefd[1], &e, sizeof e) != sizeof e)
			_exit(3);
		_exit(0);
	}
	g_wpid = pid > 0 ? pid : 0;
	close(pipefd[1]);
	int e = EIO;
	if (pid < 0 || read(pipefd[0], &e, sizeof e) != sizeof e)
		e = pid < 0 ? errno : EIO;
	close(pipefd[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	g_wpid = 0;
	/* the child died between its create and its unlink */
	if (g_w->made && unlink(g_w->name) == 0)
		g_w->made = 0;
	g_w->name[0] = 0;
	return e;
}

/* The ways out when `u` cannot create files, each a whole sentence (the
 * report joins them with "or"), then the note that no library helps. */
static void write_fixes(struct share *s, const struct cli_user *u, int e)
{
	char ub[64], gb[64];
	const char *on = cli_uname(s->root.st_uid, ub, sizeof ub), *gn = cli_gname(s->root.st_gid, gb, sizeof gb);
	const char *src = s->source[0] ? s->source : "SHARE";
	unsigned mode = s->root.st_mode & 07777, ru = (unsigned)s->root.st_uid, rg = (unsigned)s->root.st_gid;
	int n = 0;
	if (e == EROFS) {
		cli_fmt(s->fix[n++], sizeof s->fix[0], "the share is mounted read-only: remount it read-write");
	} else {
		if ((mode & 0300) == 0300)
			cli_fmt(s->fix[n++], sizeof s->fix[0],
				 "run the service as uid %u (%s), the owner the share gives every file "
				 "(Docker: --user %u:%u; compose: user: \"%u:%u\")", ru, on, ru, rg, ru, rg);
		if ((mode & 030) == 030)
			cli_fmt(s->fix[n++], sizeof s->fix[0],
				 "run it as a member of group %u (%s): 'vboxfix exec --user %s:%s -- COMMAND' as root, add %s "
				 "to that group, or in Docker: --group-add %u", rg, gn, u->name, gn, u->name, rg);
		if (s->is_vboxsf) {
			cli_fmt(s->fix[n++], sizeof s->fix[0], "mount the share for this user: mount -t vboxsf -o uid=%u,gid=%u %s %s",
				 (unsigned)u->uid, (unsigned)u->gid, src, s->mnt);
			cli_fmt(s->fix[n++], sizeof s->fix[0], "mount it with permissive modes: mount -t vboxsf -o dmode=0777,fmode=0666 %s %s",
				 src, s->mnt);
		} else {
			cli_fmt(s->fix[n++], sizeof s->fix[0],
				 "give uid %u write access where the files really live (host-side permissions, or this mount's "
				 "options; on vboxsf: uid=%u,gid=%u or dmode=0777,fmode=0666)",
				 (unsigned)u->uid, (unsigned)u->uid, (unsigned)u->gid);
		}
	}
	s->nalt = n;
	cli_fmt(s->fix[n++], sizeof s->fix[0],
		 "no preload library, vboxfix included, can fix this: the kernel checks the share's owner and modes "
		 "before any library code runs");
	s->nfix = n;
}

void dr_write_check(struct share *s, const struct cli_user *u)
{
	int e = write_as(s, u);
	int allowed = 0;
	s->write_why = perm_class(&s->root, u, &allowed);
	s->write_ok = e == 0;
	s->write_err = e;
	if (e != 0)
		write_fixes(s, u, e);
}
