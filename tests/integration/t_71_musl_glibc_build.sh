#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# musl (issue 14 item 3): the glibc build preloaded into a musl program (an
# Alpine image given a Debian-built library) must not stop it: musl's loader
# refused the whole program before main ("Error relocating libvboxfix.so:
# __register_atfork: symbol not found", exit 127). The program now runs, the
# library stays inert (the same answers as without it, on a share too), and
# VBOXFIX_LOG=info says so once per process. The musl build (t_70) is what
# presents a share to musl programs.
. "$(dirname "$0")/lib.sh"
need_cmd musl-gcc objdump nm
need_lib
PROBE_MUSL=$FIX/probe-musl
need_file "$PROBE_MUSL"
tmp_dir WORK

# ---- every reference of the glibc build resolves in musl ---------------------
musl_libc=
for f in /usr/lib/musl/lib/libc.so /usr/lib/x86_64-linux-musl/libc.so /usr/lib/aarch64-linux-musl/libc.so \
         /lib/ld-musl-x86_64.so.1 /lib/ld-musl-aarch64.so.1; do
    [ -f "$f" ] && { musl_libc=$f; break; }
done
if [ -n "$musl_libc" ]; then
    nm -D --defined-only "$musl_libc" | awk '{print $NF}' | sort -u >"$WORK/musl.exports"
    # strong undefined references only: a weak one may stay unresolved
    objdump -T "$LIB" | awk '$3 == "*UND*" || $4 == "*UND*"' | grep -v '^[0-9a-f]*  *w ' |
        awk '{print $NF}' | sort -u >"$WORK/lib.needs"
    missing=$(comm -23 "$WORK/lib.needs" "$WORK/musl.exports" | tr '\n' ' ')
    expect_eq "every strong undefined symbol of the glibc build is exported by musl ($musl_libc)" "$missing" ""
else
    skip "undefined symbols against musl's exports" "no musl libc.so found"
fi

# ---- a musl program that touches much of what the library wraps --------------
cat >"$WORK/calls.c" <<'EOF'
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static const char *argv0;

static void st(const char *what, int r, const struct stat *s)
{
	if (r)
		printf("%s: err=%d\n", what, errno);
	else
		printf("%s: uid=%u gid=%u mode=%04o type=%c size=%lld\n", what, (unsigned)s->st_uid,
		       (unsigned)s->st_gid, (unsigned)(s->st_mode & 07777),
		       S_ISREG(s->st_mode) ? 'f' : S_ISDIR(s->st_mode) ? 'd' : S_ISLNK(s->st_mode) ? 'l'
		       : S_ISFIFO(s->st_mode) ? 'p' : S_ISSOCK(s->st_mode) ? 's' : '?',
		       S_ISREG(s->st_mode) || S_ISLNK(s->st_mode) ? (long long)s->st_size : 0LL);
}
static void rc(const char *what, int r) { printf("%s: %s\n", what, r < 0 ? strerror(errno) : "ok"); }
static int nwalk;
static int walk(const char *p, const struct stat *s, int t, struct FTW *f) { nwalk++; return 0; }
static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static void waitfor(const char *what, pid_t pid)
{
	int status = 0;
	waitpid(pid, &status, 0);
	printf("%s: exit %d\n", what, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int main(int argc, char **argv)
{
	struct stat s;
	argv0 = argv[0];
	if (argc == 3 && !strcmp(argv[1], "child")) {
		printf("child (%s): %s\n", argv[2], stat("t/f", &s) == 0 ? "sees t/f" : strerror(errno));
		return 7;
	}
	if (argc != 2 || chdir(argv[1]) != 0)
		return 2;
	umask(022);
	rc("mkdir t", mkdir("t", 0750));
	int fd = open("t/f", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	rc("open t/f", fd);
	rc("write", (int)write(fd, "hello\n", 6));
	rc("fsync", fsync(fd));
	st("fstat", fstat(fd, &s), &s);
	rc("close", close(fd));
	st("stat t", stat("t", &s), &s);
	st("stat t/f", stat("t/f", &s), &s);
	st("lstat t/f", lstat("t/f", &s), &s);
	int dfd = open("t", O_RDONLY | O_DIRECTORY);
	st("fstatat", fstatat(dfd, "f", &s, 0), &s);
#ifdef SYS_statx
	unsigned char sx[256];
	long r = syscall(SYS_statx, dfd, "f", 0, 0x7ffu, sx);
	printf("syscall(statx): %s uid=%u mode=%04o\n", r ? strerror(errno) : "ok", *(unsigned *)(sx + 20),
	       (unsigned)(*(unsigned short *)(sx + 28) & 07777));
#endif
	rc("symlink", symlink("f", "t/l"));
	char buf[PATH_MAX];
	ssize_t n = readlink("t/l", buf, sizeof buf - 1);
	printf("readlink: %.*s\n", n < 0 ? 0 : (int)n, buf);
	st("lstat t/l", lstat("t/l", &s), &s);
	rc("chmod", chmod("t/f", 0640));
	rc("chown to myself", chown("t/f", getuid(), getgid()));
	rc("fchownat", fchownat(dfd, "f", getuid(), getgid(), 0));
	rc("fchmodat", fchmodat(dfd, "f", 0600, 0));
	st("stat after chmod", stat("t/f", &s), &s);
	rc("access R", access("t/f", R_OK));
	rc("access X", access("t/f", X_OK));
	rc("faccessat", faccessat(dfd, "f", W_OK, 0));
	rc("link", link("t/f", "t/h"));
	rc("rename", rename("t/h", "t/h2"));
	rc("renameat", renameat(dfd, "h2", dfd, "h3"));
	rc("unlink", unlink("t/h3"));
	rc("mkfifo", mkfifo("t/p", 0600));
	st("stat fifo", lstat("t/p", &s), &s);
	int so = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, "t/s");
	rc("bind", bind(so, (struct sockaddr *)&sa, sizeof sa));
	close(so);
	rc("mkdir t/sub", mkdirat(dfd, "sub", 0700));
	rc("utimes", utimes("t/f", NULL));
	FILE *fp = fopen("t/g", "w");
	printf("fopen: %s\n", fp ? "ok" : strerror(errno));
	if (fp)
		fprintf(fp, "x\n"), fclose(fp);
	int d2 = dup(dfd), d3 = fcntl(dfd, F_DUPFD_CLOEXEC, 100);
	printf("dup: %s, F_DUPFD_CLOEXEC: %s\n", d2 >= 0 ? "ok" : "err", d3 >= 100 ? "ok" : "err");
	rc("dup2", dup2(d2, 90));
	close(d2), close(d3), close(90);
	DIR *dir = opendir("t");
	char *names[32];
	int k = 0;
	struct dirent *e;
	while (dir && k < 32 && (e = readdir(dir)))
		names[k++] = strdup(e->d_name);
	if (dir)
		closedir(dir);
	qsort(names, k, sizeof names[0], cmp);
	printf("readdir:");
	for (int i = 0; i < k; i++)
		printf(" %s", names[i]);
	printf("\n");
	nftw("t", walk, 8, FTW_PHYS);
	printf("nftw: %d entries\n", nwalk);
	char *real = realpath("t/l", NULL), *cwd = getcwd(buf, sizeof buf);
	printf("realpath: %s\n", real && cwd && !strncmp(real, cwd, strlen(cwd)) ? real + strlen(cwd) : "?");
	free(real);
	errno = 1234;
	int ok = stat("t/f", &s) == 0 && errno == 1234;
	printf("errno kept by a successful stat: %s\n", ok ? "yes" : "no");
	st("stat missing", stat("t/nope", &s), &s);

	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		printf("forked child: %s\n", stat("t/f", &s) == 0 ? "sees t/f" : strerror(errno));
		fflush(stdout);
		_exit(5);
	}
	waitfor("fork", pid);
	fflush(stdout);
	char *sargv[] = {(char *)argv0, "child", "spawn", NULL};
	if (posix_spawn(&pid, argv0, NULL, NULL, sargv, environ) == 0)
		waitfor("posix_spawn", pid);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char *eargv[] = {(char *)argv0, "child", "exec", NULL};
		execv(argv0, eargv);
		_exit(127);
	}
	waitfor("execv", pid);

	rc("unlink fifo", unlink("t/p"));
	rc("unlink socket", unlink("t/s"));
	rc("unlinkat", unlinkat(dfd, "l", 0));
	rc("remove", remove("t/g"));
	rc("rmdir sub", rmdir("t/sub"));
	rc("unlink f", unlink("t/f"));
	close(dfd);
	rc("rmdir t", rmdir("t"));
	return 0;
}
EOF
CALLS=$WORK/calls-musl
if ! musl-gcc -O1 -o "$CALLS" "$WORK/calls.c" 2>"$WORK/cc.err"; then
    fail "build a musl test program" "$(_vbf_oneline "$WORK/cc.err")"
    exit 1
fi
check "the test program is a musl program" sh -c "objdump -p '$CALLS' | grep -q 'NEEDED.*libc.so\$'"

# run NAME DIR [ENV...]: the program's output with and without the glibc build
compare() {
    local name=$1 dir=$2 rcw=0 rcl=0; shift 2
    mkdir -p "$dir"
    env "$@" "$CALLS" "$dir" >"$WORK/without" 2>&1 || rcw=$?
    env "$@" LD_PRELOAD="$LIB" "$CALLS" "$dir" >"$WORK/with" 2>"$WORK/with.err" || rcl=$?
    if [ "$rcl" -ne "$rcw" ]; then
        fail "$name: exits as without the library" "exit $rcl, without $rcw: $(_vbf_oneline "$WORK/with.err")"
    elif ! cmp -s "$WORK/without" "$WORK/with"; then
        fail "$name: the same answers as without the library" "$(diff "$WORK/without" "$WORK/with" | _vbf_oneline /dev/stdin)"
    else
        ok "$name: runs and gives the same $(wc -l <"$WORK/with") answers as without the library"
    fi
}

# ---- the probe fixture, outside any share -------------------------------------
LD_PRELOAD="$LIB" "$PROBE_MUSL" stat /etc/passwd >"$WORK/o" 2>"$WORK/e"
prc=$?
if [ "$prc" -eq 0 ]; then
    ok "musl probe with the glibc build preloaded starts"
else
    fail "musl probe with the glibc build preloaded starts" "exit $prc: $(_vbf_oneline "$WORK/e")"
fi
expect_eq "musl probe stat /etc/passwd: as without the library" "$(cat "$WORK/o")" "$("$PROBE_MUSL" stat /etc/passwd)"
expect_out "musl probe errno passes through" "err=ENOENT" env LD_PRELOAD="$LIB" "$PROBE_MUSL" stat /nonexistent/x
expect_out "musl probe: a successful call leaves errno alone" "$("$PROBE_MUSL" errno-stays /etc/passwd)" \
    env LD_PRELOAD="$LIB" "$PROBE_MUSL" errno-stays /etc/passwd
expect_eq "nothing on stderr at the default log level" "$(cat "$WORK/e")" ""
compare "musl program outside shares" "$WORK/plain"
compare "musl program with LD_BIND_NOW" "$WORK/plain" LD_BIND_NOW=1

# ---- the info line: once per process ------------------------------------------
VBOXFIX_LOG=info LD_PRELOAD="$LIB" "$PROBE_MUSL" stat /etc/passwd 2>"$WORK/e" >/dev/null
expect_eq "VBOXFIX_LOG=info: one line says the library is inert in this musl process" \
    "$(grep -c 'not glibc.*does nothing here.*CC=musl-gcc' "$WORK/e")/$(wc -l <"$WORK/e")" "1/1"
VBOXFIX_LOG=info LD_PRELOAD="$LIB" "$CALLS" "$WORK/plain" 2>"$WORK/e" >/dev/null
# the program, its posix_spawn child and its exec'd child: three processes
expect_eq "a musl program that forks, spawns and execs: the line once in each of its 3 processes" \
    "$(grep 'not glibc' "$WORK/e" | sed 's/^vboxfix\[\([0-9]*\)\].*/\1/' | sort | uniq -c | awk '$1 != 1' | wc -l)/$(grep -c 'not glibc' "$WORK/e")" "0/3"
VBOXFIX=off VBOXFIX_LOG=info LD_PRELOAD="$LIB" "$PROBE_MUSL" stat /etc/passwd 2>"$WORK/e" >/dev/null
expect_eq "VBOXFIX=off: no line" "$(cat "$WORK/e")" ""
VBOXFIX_LOG=info LD_PRELOAD="$LIB" /bin/true 2>"$WORK/e"
expect_eq "a glibc program does not get the line" "$(grep -c 'not glibc' "$WORK/e")" "0"

# ---- on a share: inert means the share's own answers ------------------------
need_fuse
share_setup ignore
export VBOXFIX_PATHS=$MNT
mkdir -p "$MNT/d" && echo hello >"$MNT/d/f"
expect_out "musl probe on a share with the glibc build: the share's owner, as without it" \
    "$("$PROBE_MUSL" stat "$MNT/d/f")" env LD_PRELOAD="$LIB" "$PROBE_MUSL" stat "$MNT/d/f"
expect_out "musl probe chown on a share: the share's answer" "$("$PROBE_MUSL" chown "$MNT/d/f" 999 998)" \
    env LD_PRELOAD="$LIB" "$PROBE_MUSL" chown "$MNT/d/f" 999 998
compare "musl program on a share" "$MNT/w"
expect_eq "no state file written on the share by the musl runs" \
    "$(find "$SRC" -name '.vboxfix*' | head -n 1)" ""
expect_out "nothing was recorded: a glibc process presents the caller, not 999:998" \
    "uid=0 gid=0 mode=0666 type=f size=6" with_lib "$PROBE" stat "$MNT/d/f"
