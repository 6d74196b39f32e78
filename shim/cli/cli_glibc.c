/* SPDX-License-Identifier: MIT */
/* The vboxfix binary runs on glibc 2.28 and later whatever glibc built it
 * (tests/check-abi.sh checks it), so that it can be copied into older images
 * than the build machine's.
 *
 * Two kinds of reference would pin it to the build machine's glibc:
 *  - crt1.o calls __libc_start_main, since glibc 2.34 its GLIBC_2.34 version,
 *    which passes no init function (libc runs the program's constructors
 *    itself). Defining __libc_start_main here satisfies crt1.o's reference
 *    within the executable; it calls the version every glibc has, passing the
 *    init function old startup files passed (what libc_nonshared's
 *    __libc_csu_init did), which newer glibc also accepts from old binaries.
 *  - stat, fstat, lstat and fstatat are libc symbols of version 2.33 only;
 *    before, they were inline stubs calling __xstat and friends. Here they
 *    are the system calls themselves: on x86_64 and aarch64 the kernel's
 *    struct stat is glibc's.
 * Other architectures, and other C libraries, keep the default. */
#include <features.h>

#if defined(__GLIBC__) && (defined(__x86_64__) || defined(__aarch64__))
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define VBF_OLD_START "GLIBC_2.2.5"
#else
#define VBF_OLD_START "GLIBC_2.17"
#endif

typedef int (*vbf_main_fn)(int, char **, char **);
typedef void (*vbf_init_fn)(int, char **, char **);

int vbf_old_start_main(vbf_main_fn main_fn, int argc, char **argv, vbf_init_fn init, void (*fini)(void),
		       void (*rtld_fini)(void), void *stack_end);
__asm__(".symver vbf_old_start_main, __libc_start_main@" VBF_OLD_START);

/* Hidden: exported, this definition would also be what the loader binds the
 * versioned reference above to (a symbol of an object without version
 * definitions matches any version), and the call would loop. */
__attribute__((visibility("hidden"))) int __libc_start_main(vbf_main_fn main_fn, int argc, char **argv,
							    vbf_init_fn init, void (*fini)(void),
							    void (*rtld_fini)(void), void *stack_end);

/* From crti.o and the linker: the executable's own initialisers (the loader
 * runs those of shared objects, never the executable's). */
extern void _init(void);
extern void (*__init_array_start[])(int, char **, char **) __attribute__((visibility("hidden")));
extern void (*__init_array_end[])(int, char **, char **) __attribute__((visibility("hidden")));

static void vbf_csu_init(int argc, char **argv, char **envp)
{
	_init();
	for (size_t i = 0; i < (size_t)(__init_array_end - __init_array_start); i++)
		__init_array_start[i](argc, argv, envp);
}

int __libc_start_main(vbf_main_fn main_fn, int argc, char **argv, vbf_init_fn init, void (*fini)(void),
		      void (*rtld_fini)(void), void *stack_end)
{
	return vbf_old_start_main(main_fn, argc, argv, init ? init : vbf_csu_init, fini, rtld_fini, stack_end);
}

#if __GLIBC__ > 2 || __GLIBC_MINOR__ >= 33
/* Hidden too: libc and preloaded libraries keep their own. */
__attribute__((visibility("hidden"))) int fstatat(int, const char *restrict, struct stat *restrict, int);
__attribute__((visibility("hidden"))) int stat(const char *restrict, struct stat *restrict);
__attribute__((visibility("hidden"))) int lstat(const char *restrict, struct stat *restrict);
__attribute__((visibility("hidden"))) int fstat(int, struct stat *);

int fstatat(int dirfd, const char *restrict path, struct stat *restrict st, int flags)
{
	return (int)syscall(SYS_newfstatat, dirfd, path, st, flags);
}

int stat(const char *restrict path, struct stat *restrict st)
{
	return fstatat(AT_FDCWD, path, st, 0);
}

int lstat(const char *restrict path, struct stat *restrict st)
{
	return fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

int fstat(int fd, struct stat *st)
{
	return (int)syscall(SYS_fstat, fd, st);
}
#endif
#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int vbf_cli_glibc_unused;
#endif
