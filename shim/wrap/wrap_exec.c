/* SPDX-License-Identifier: MIT */
/* exec, spawn and clearenv: every child starts with this library and the
 * VBOXFIX_* settings, whatever the program did to its environment (env.h).
 *
 * These run in vfork children (python's subprocess, posix_spawn in some
 * libcs, shells): the new environment lives on this stack frame, nothing is
 * allocated or locked, and the caller's `environ` is only read, never
 * swapped or written (a vfork child shares it with its parent).
 */
#include "env.h"
#include "real.h"
#include "vbf.h"

extern char **environ;

/* The stack budget of one wrapper (about 24 KiB). */
#define CHILD_ENV(envp)                                                        \
	char *env_slots_[VBF_ENV_SLOTS];                                       \
	char env_pre_[VBF_ENV_PRELOAD_CAP];                                    \
	char *const *fixed_env = child_env(envp, env_slots_, env_pre_)

/* The start-up, if it has not run: the saved environment (env.h) is
 * captured there. */
static void started(void)
{
	if (__atomic_load_n(&vbf_boot_state, __ATOMIC_ACQUIRE) != 2)
		vbf_boot();
}

static char *const *child_env(char *const *envp, char **slots, char *pre)
{
	started();
	return vbf_env_child(envp, slots, VBF_ENV_SLOTS, pre, VBF_ENV_PRELOAD_CAP);
}

VBF_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	CHILD_ENV(envp);
	return REAL(execve)(path, argv, fixed_env);
}

VBF_EXPORT int execv(const char *path, char *const argv[])
{
	CHILD_ENV(environ);
	return REAL(execve)(path, argv, fixed_env);
}

/* The PATH search stays libc's: execvpe takes the environment as an
 * argument and searches the caller's PATH, as execvp does. */
VBF_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	if (!REAL(execvpe))
		return vbf_no_function();
	CHILD_ENV(envp);
	return REAL(execvpe)(file, argv, fixed_env);
}

VBF_EXPORT int execvp(const char *file, char *const argv[])
{
	if (!REAL(execvpe)) /* a libc without execvpe: unchanged, not broken */
		return REAL(execvp) ? REAL(execvp)(file, argv) : vbf_no_function();
	CHILD_ENV(environ);
	return REAL(execvpe)(file, argv, fixed_env);
}

VBF_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	if (!REAL(fexecve))
		return vbf_no_function();
	CHILD_ENV(envp);
	return REAL(fexecve)(fd, argv, fixed_env);
}

/* execl*: the arguments go into an array on this stack, as libc does. A
 * list too long for any kernel's argument limit is E2BIG before it could
 * overflow the stack. */
#define MAX_LIST_ARGS 131072

enum list_fn { L_EXECL, L_EXECLE, L_EXECLP };

/* How many arguments the list holds (0 when arg0 is NULL), counting on a
 * copy of `ap`; past MAX_LIST_ARGS it stops (the caller answers E2BIG). */
static int count_args(const char *arg0, va_list ap)
{
	va_list c;
	int n = 1;
	if (!arg0)
		return 0;
	va_copy(c, ap);
	while (va_arg(c, const char *) && n <= MAX_LIST_ARGS)
		n++;
	va_end(c);
	return n;
}

/* Run the list form `fn`: `ap` holds the arguments after arg0 (and, for
 * execle, the environment after the terminating NULL). */
static int run_list(enum list_fn fn, const char *path, const char *arg0, va_list ap)
{
	int argc = count_args(arg0, ap);
	if (argc > MAX_LIST_ARGS)
		return vbf_fail(E2BIG);
	char *argv[argc + 1];
	char *const *envp = environ;
	argv[0] = (char *)arg0;
	for (int i = 1; i <= argc; i++)
		argv[i] = i < argc ? va_arg(ap, char *) : NULL;
	if (argc == 0)
		argv[0] = NULL;
	else if (fn == L_EXECLE)
		(void)va_arg(ap, char *); /* the terminating NULL */
	if (fn == L_EXECLE)
		envp = va_arg(ap, char *const *);
	CHILD_ENV(envp);
	if (fn == L_EXECLP)
		return REAL(execvpe) ? REAL(execvpe)(path, argv, fixed_env)
				     : REAL(execvp) ? REAL(execvp)(path, argv) : vbf_no_function();
	return REAL(execve)(path, argv, fixed_env);
}

/* The three list forms, alike but for `fn` (a macro that is the whole
 * function). */
#define LIST_WRAPPER(name, fn)                                                 \
	VBF_EXPORT int name(const char *path, const char *arg0, ...)           \
	{                                                                      \
		va_list ap;                                                    \
		va_start(ap, arg0);                                            \
		int r = run_list(fn, path, arg0, ap);                          \
		va_end(ap);                                                    \
		return r;                                                      \
	}

LIST_WRAPPER(execl, L_EXECL)
LIST_WRAPPER(execle, L_EXECLE)
LIST_WRAPPER(execlp, L_EXECLP)

VBF_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	if (!REAL(posix_spawn))
		return ENOSYS;
	CHILD_ENV(envp);
	return REAL(posix_spawn)(pid, path, fa, attr, argv, fixed_env);
}

VBF_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	if (!REAL(posix_spawnp))
		return ENOSYS;
	CHILD_ENV(envp);
	return REAL(posix_spawnp)(pid, file, fa, attr, argv, fixed_env);
}

/* clearenv, then put back what children need (env.h). */
VBF_EXPORT int clearenv(void)
{
	if (!REAL(clearenv))
		return vbf_no_function();
	int r = REAL(clearenv)();
	started();
	if (r == 0)
		vbf_env_put_back();
	return r;
}
