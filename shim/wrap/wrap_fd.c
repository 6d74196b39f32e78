/* SPDX-License-Identifier: MIT */
/* Descriptors and the working directory: keep the fd marks (fdtab.h) and
 * the cached cwd (shares.h) true. Each wrapper adds one table access. */
#include "cache.h"
#include "defer.h"
#include "dir_tail.h"
#include "fdtab.h"
#include "own.h"
#include "real.h"
#include "refuse.h"
#include "shares.h"
#include "vbf.h"

/* Before a descriptor is closed: its marks, cleared first (once closed,
 * another thread may reuse the number). */
static unsigned char unmark(int fd)
{
	unsigned char bits = vbf_fd_bits(fd);
	vbf_fd_mark(fd, 0);
	return bits;
}

/* After: an unlink that waited for this close (defer.h). */
static int closed(int r, int fd, unsigned char bits)
{
	if (unlikely(bits & VBF_FD_DEFER))
		vbf_defer_closed(fd, bits);
	return r;
}

VBF_EXPORT int close(int fd)
{
	unsigned char bits = unmark(fd);
	int wtok = vbf_cache_fd_take(fd);
	int r = REAL(close)(fd);
	vbf_cache_fd_release(wtok);
	return closed(r, fd, bits);
}

/* `old`: the bits `to` had before (dup2/dup3 close what it was). */
static int copied(int from, int to, unsigned char old)
{
	if (to >= 0)
		vbf_fd_mark(to, vbf_fd_marked(from));
	if (to >= 0)
		vbf_cache_fd_copied(from, to);
	if (to >= 0 && to != from && unlikely((old | vbf_fd_bits(from)) & VBF_FD_DEFER))
		vbf_defer_copied(from, to, old);
	return to;
}

VBF_EXPORT int dup(int fd) { return copied(fd, REAL(dup)(fd), 0); }
VBF_EXPORT int dup2(int a, int b)
{
	unsigned char old = vbf_fd_bits(b);
	return copied(a, REAL(dup2)(a, b), old);
}
VBF_EXPORT int dup3(int a, int b, int fl)
{
	unsigned char old = vbf_fd_bits(b);
	return copied(a, REAL(dup3)(a, b, fl), old);
}

static int do_fcntl(int (*fn)(int, int, ...), int fd, int cmd, void *arg)
{
	/* a share without direct I/O refuses O_DIRECT with EINVAL */
	if (cmd == F_SETFL && ((long)arg & O_DIRECT) && vbf_fd_marked(fd) && vbf_active())
		return vbf_refuse_setfl(fn, fd, (int)(long)arg);
	/* glibc reads the third argument as a pointer-sized value too */
	int r = fn(fd, cmd, arg);
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		copied(fd, r, 0);
	return r;
}

#define ARG(last)                                                              \
	va_list ap;                                                            \
	va_start(ap, last);                                                    \
	void *arg = va_arg(ap, void *);                                        \
	va_end(ap)

VBF_EXPORT int fcntl(int fd, int cmd, ...) { ARG(cmd); return do_fcntl(REAL(fcntl), fd, cmd, arg); }
VBF_EXPORT int fcntl64(int fd, int cmd, ...)
{
	ARG(cmd);
	return do_fcntl(REAL(fcntl64) ? REAL(fcntl64) : REAL(fcntl), fd, cmd, arg);
}

VBF_EXPORT int fclose(FILE *f)
{
	int fd = fileno(f);
	unsigned char bits = unmark(fd);
	int wtok = vbf_cache_fd_take(fd);
	int r = REAL(fclose)(f);
	vbf_cache_fd_release(wtok);
	return closed(r, fd, bits);
}

VBF_EXPORT int closedir(DIR *d)
{
	int fd = dirfd(d);
	unsigned char bits = unmark(fd);
	vbf_tail_reset(d, 0);
	int r = REAL(closedir)(d);
	return closed(r, fd, bits);
}

VBF_EXPORT DIR *fdopendir(int fd) { return REAL(fdopendir)(fd); }

VBF_EXPORT int chdir(const char *p)
{
	int r = REAL(chdir)(p);
	if (r == 0)
		vbf_cwd_changed();
	return r;
}

VBF_EXPORT int fchdir(int fd)
{
	int r = REAL(fchdir)(fd);
	if (r == 0)
		vbf_cwd_changed();
	return r;
}

VBF_EXPORT mode_t umask(mode_t m)
{
	mode_t old = REAL(umask)(m);
	vbf_umask_set(m);
	return old;
}
