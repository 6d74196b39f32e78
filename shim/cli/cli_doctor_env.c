/* SPDX-License-Identifier: MIT */
/* vboxfix doctor: "is it working?" for a path, in doctor's own environment
 * or a running process's: is libvboxfix loaded there, which share of the
 * library's list holds the path, which state file it uses and what it
 * holds, and what owner and mode a process under the library is shown. */
#include "doctor.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* cli_leave_library re-executes doctor with another LD_PRELOAD and
 * VBOXFIX=off, keeping its pid: the values from before are passed on under
 * these names, tagged with the pid so that an inherited copy never counts. */
#define STASH_PID "_VBFDOCTOR_PID"
static const char *const stashed[] = {"LD_PRELOAD", "VBOXFIX", NULL};

static void stash_name(char *out, size_t n, const char *var) { cli_fmt(out, n, "_VBFDOCTOR_%s", var); }

void dr_env_stash(void)
{
	char pid[32], name[64];
	const char *had = getenv(STASH_PID);
	cli_fmt(pid, sizeof pid, "%ld", (long)getpid());
	if (had && !strcmp(had, pid))
		return; /* after the re-exec: the stash is ours */
	setenv(STASH_PID, pid, 1);
	for (int i = 0; stashed[i]; i++) {
		const char *v = getenv(stashed[i]);
		char val[PATH_MAX * 4];
		stash_name(name, sizeof name, stashed[i]);
		cli_fmt(val, sizeof val, "%c%s", v ? '+' : '-', v ? v : ""); /* '-': was not set */
		setenv(name, val, 1);
	}
}

static void env_add(struct dr_env *e, const char *kv)
{
	if (e->nvars < DR_MAX_ENV && (!strncmp(kv, "VBOXFIX", 7) || !strncmp(kv, "LD_PRELOAD=", 11)))
		e->vars[e->nvars++] = strdup(kv);
}

const char *dr_env_get(const struct dr_env *e, const char *name)
{
	size_t n = strlen(name);
	for (int i = 0; i < e->nvars; i++)
		if (e->vars[i] && !strncmp(e->vars[i], name, n) && e->vars[i][n] == '=')
			return e->vars[i] + n + 1;
	return NULL;
}

/* The library named in an LD_PRELOAD value, copied to out; 0 when none. */
static int preload_names_lib(const char *pre, char *out, size_t n)
{
	for (const char *p = pre ? pre : ""; *p;) {
		p += strspn(p, ": \t");
		size_t len = strcspn(p, ": \t");
		if (len && cli_is_vbf_entry(p, len)) {
			cli_fmt(out, n, "%.*s", (int)len, p);
			return 1;
		}
		p += len;
	}
	return 0;
}

static void own_env(struct dr_env *e)
{
	char name[64];
	for (char **v = environ; *v; v++)
		if (strncmp(*v, "LD_PRELOAD=", 11) && strncmp(*v, "VBOXFIX=", 8))
			env_add(e, *v);
	for (int i = 0; stashed[i]; i++) {
		stash_name(name, sizeof name, stashed[i]);
		const char *v = getenv(name), *now = getenv(stashed[i]);
		char kv[PATH_MAX * 4];
		if (v ? v[0] == '+' : now != NULL) {
			cli_fmt(kv, sizeof kv, "%s=%s", stashed[i], v ? v + 1 : now);
			env_add(e, kv);
		}
		unsetenv(name); /* the probes' children must not inherit it */
	}
	unsetenv(STASH_PID);
	char lib[PATH_MAX];
	e->loaded = preload_names_lib(dr_env_get(e, "LD_PRELOAD"), lib, sizeof lib);
	if (e->loaded)
		cli_fmt(e->how, sizeof e->how, "LD_PRELOAD names %s in doctor's own environment; a service's may differ: check it with --pid PID", lib);
	else
		cli_fmt(e->how, sizeof e->how, "LD_PRELOAD does not name libvboxfix in doctor's own environment; a service's may differ: check it with --pid PID");
}

/* /proc/PID/maps: the library's file when it is mapped. */
static int mapped_lib(int pid, char *out, size_t n, int *err)
{
	char p[64], *line = NULL;
	size_t cap = 0;
	cli_fmt(p, sizeof p, "/proc/%d/maps", pid);
	FILE *f = fopen(p, "re");
	if (!f) {
		*err = errno;
		return -1;
	}
	int found = 0;
	while (!found && getline(&line, &cap, f) > 0) {
		char *path = strchr(line, '/');
		if (!path)
			continue;
		path[strcspn(path, "\n")] = 0;
		if ((found = cli_is_vbf_entry(path, strlen(path))))
			cli_fmt(out, n, "%s", path);
	}
	free(line);
	fclose(f);
	return found;
}

static int pid_env(struct dr_env *e, int pid)
{
	char p[64], lib[PATH_MAX];
	int err = 0;
	cli_fmt(p, sizeof p, "/proc/%d/environ", pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_fmt(e->how, sizeof e->how, "process %d: %s", pid, strerror(errno));
		return -1;
	}
	static char buf[1 << 20];
	ssize_t len = 0, r;
	while (len < (ssize_t)sizeof buf - 1 && (r = read(fd, buf + len, sizeof buf - 1 - (size_t)len)) > 0)
		len += r;
	close(fd);
	buf[len > 0 ? len : 0] = 0;
	for (char *v = buf; v < buf + len; v += strlen(v) + 1)
		env_add(e, v);
	e->loaded = mapped_lib(pid, lib, sizeof lib, &err);
	if (e->loaded > 0)
		cli_fmt(e->how, sizeof e->how, "process %d has %s mapped", pid, lib);
	else if (e->loaded == 0)
		cli_fmt(e->how, sizeof e->how, "process %d has no libvboxfix mapped%s", pid,
			 preload_names_lib(dr_env_get(e, "LD_PRELOAD"), lib, sizeof lib)
				 ? " though its LD_PRELOAD names it (not found there, or a static or setuid program)"
				 : " (its LD_PRELOAD does not name it)");
	else
		cli_fmt(e->how, sizeof e->how, "process %d: cannot read its maps (%s): run doctor as root or as its user",
			 pid, strerror(err));
	return 0;
}

int dr_env_load(struct dr_env *e, int pid)
{
	memset(e, 0, sizeof *e);
	e->pid = pid;
	if (!pid) {
		own_env(e);
		return 0;
	}
	char name[64];
	for (int i = 0; stashed[i]; i++) {
		stash_name(name, sizeof name, stashed[i]);
		unsetenv(name);
	}
	unsetenv(STASH_PID);
	return pid_env(e, pid);
}

/* ---- which share, which state file ---- */

/* The library's share list under `e` (shares.c): VBOXFIX_PATHS entries,
 * then vboxsf mounts unless VBOXFIX_AUTODETECT=0; the longest root holding
 * the path wins. */
static void dr_covered(struct share *s, const struct dr_env *e)
{
	const char *off = dr_env_get(e, "VBOXFIX"), *paths = dr_env_get(e, "VBOXFIX_PATHS");
	const char *auto_ = dr_env_get(e, "VBOXFIX_AUTODETECT");
	size_t best = 0;
	s->covered[0] = 0;
	cli_fmt(s->share_root, sizeof s->share_root, "%s", s->path);
	if (off && (!strcmp(off, "off") || !strcmp(off, "0")))
		return;
	for (const char *p = paths ? paths : ""; *p;) {
		size_t len = strcspn(p, ":");
		char one[PATH_MAX], *r;
		cli_fmt(one, sizeof one, "%.*s", (int)len, p);
		p += len + (p[len] == ':');
		if (!len || !(r = realpath(one, NULL)))
			continue;
		size_t l = strlen(r);
		if ((!strncmp(s->path, r, l) && (s->path[l] == '/' || !s->path[l] || l == 1)) && l > best) {
			best = l;
			cli_fmt(s->share_root, sizeof s->share_root, "%s", r);
			cli_fmt(s->covered, sizeof s->covered, "VBOXFIX_PATHS entry %s (%s)", one,
				 s->path[l] ? "the path is below it" : "the path itself");
		}
		free(r);
	}
	int autodetect = !auto_ || strcmp(auto_, "0");
	if (s->is_vboxsf && autodetect && strlen(s->mnt) > best) {
		cli_fmt(s->share_root, sizeof s->share_root, "%s", s->mnt);
		cli_fmt(s->covered, sizeof s->covered, "vboxsf mount %s (found by itself; VBOXFIX_PATHS not needed)", s->mnt);
	}
}

/* Read the store without creating one: a path that has no state file yet
 * must not get one from doctor. */
static void dr_state(struct share *s, const struct dr_env *e)
{
	const char *sf = dr_env_get(e, "VBOXFIX_STATE");
	s->state_exists = vbf_store_locate(s->share_root, sf, s->state, sizeof s->state, s->state_prefix,
					   sizeof s->state_prefix);
	if (!s->state_exists)
		return;
	struct vbf_store_info info;
	memset(&info, 0, sizeof info);
	vbf_store_open(0, s->share_root, sf);
	if (vbf_store_info(0, &info) == 0) {
		s->records = info.records;
		s->file_records = info.file_records;
		if (info.path && *info.path)
			cli_fmt(s->state, sizeof s->state, "%s", info.path);
		cli_fmt(s->state_prefix, sizeof s->state_prefix, "%s", info.key_prefix ? info.key_prefix : "");
	}
	vbf_store_close(0);
}

/* ---- what a process under the library is shown ---- */

int dr_presented_stat(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		printf("error %s\n", strerror(errno));
		return CLI_ACTION;
	}
	printf("%u %u %o\n", (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777));
	return CLI_OK;
}

/* The child's environment: doctor's, without any LD_PRELOAD or VBOXFIX*,
 * then the judged environment's VBOXFIX* and the library. */
static char **child_env(const struct dr_env *e, const char *lib, char *pre, size_t pn)
{
	size_t n = 0;
	for (char **v = environ; *v; v++)
		n++;
	char **out = calloc(n + (size_t)e->nvars + 3, sizeof *out);
	if (!out)
		return NULL;
	size_t k = 0;
	for (char **v = environ; *v; v++)
		if (strncmp(*v, "VBOXFIX", 7) && strncmp(*v, "LD_PRELOAD=", 11))
			out[k++] = *v;
	for (int i = 0; i < e->nvars; i++)
		if (strncmp(e->vars[i], "LD_PRELOAD=", 11) && strncmp(e->vars[i], "VBOXFIX_LOG", 11))
			out[k++] = e->vars[i];
	cli_fmt(pre, pn, "LD_PRELOAD=%s", lib);
	out[k++] = pre;
	out[k++] = "VBOXFIX_LOG=error";
	return out;
}

/* Run "vboxfix doctor --presented-stat PATH" with the library preloaded:
 * the library's own code (settings, share list, state file lookup,
 * presentation) answers, so doctor cannot drift from what it does. */
static void dr_presented(struct share *s, const struct dr_env *e)
{
	char lib[PATH_MAX], tried[4 * PATH_MAX], pre[PATH_MAX + 16], out[128] = "";
	s->presented_ok = 0;
	if (cli_find_library(lib, sizeof lib, tried, sizeof tried) != 0) {
		cli_fmt(s->presented_why, sizeof s->presented_why, "unknown: no libvboxfix.so found to ask");
		return;
	}
	char **envp = child_env(e, lib, pre, sizeof pre);
	int pfd[2];
	if (!envp || pipe2(pfd, O_CLOEXEC) != 0) {
		free(envp);
		cli_fmt(s->presented_why, sizeof s->presented_why, "unknown: %s", strerror(errno));
		return;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = {"vboxfix", "doctor", "--presented-stat", s->path, NULL};
		dup2(pfd[1], 1);
		execve("/proc/self/exe", argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	ssize_t n = pid > 0 ? read(pfd[0], out, sizeof out - 1) : -1;
	close(pfd[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	free(envp);
	out[n > 0 ? n : 0] = 0;
	out[strcspn(out, "\n")] = 0;
	s->presented_ok = sscanf(out, "%u %u %o", &s->presented_uid, &s->presented_gid, &s->presented_mode) == 3;
	if (!s->presented_ok)
		cli_fmt(s->presented_why, sizeof s->presented_why, "unknown: the library's stat said '%s'", out);
}

void dr_working(struct share *s, const struct dr_env *e)
{
	dr_covered(s, e);
	if (!s->needed && !s->covered[0])
		return; /* not a share: no state file to look for, nothing presented */
	dr_state(s, e);
	dr_presented(s, e);
}
