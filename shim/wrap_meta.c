/* Times, sizes and symlinks: calls that change what a stat of a share name
 * shows without passing any other wrapper. Each is the plain call; on
 * success the metadata cache is told (cache.h), which outside shares costs
 * a lexical test and no system call. */
#include "cache.h"
#include "real.h"
#include "vbf.h"

#define NEED(name)                                                             \
	if (!REAL(name)) {                                                     \
		errno = ENOSYS;                                                \
		return -1;                                                     \
	}

/* (d, p) names the object, or the descriptor d when p is NULL or empty */
static int changed(int r, int d, const char *p)
{
	if (r == 0 && vbf_active()) {
		if (p && *p)
			vbf_cache_changed(d, p);
		else
			vbf_cache_changed_fd(d);
	}
	return r;
}

VBF_EXPORT int utimensat(int d, const char *p, const struct timespec t[2], int fl)
{
	NEED(utimensat);
	return changed(REAL(utimensat)(d, p, t, fl), d, p);
}
VBF_EXPORT int futimens(int fd, const struct timespec t[2])
{
	NEED(futimens);
	return changed(REAL(futimens)(fd, t), fd, NULL);
}
VBF_EXPORT int utimes(const char *p, const struct timeval t[2])
{
	NEED(utimes);
	return changed(REAL(utimes)(p, t), AT_FDCWD, p);
}
VBF_EXPORT int lutimes(const char *p, const struct timeval t[2])
{
	NEED(lutimes);
	return changed(REAL(lutimes)(p, t), AT_FDCWD, p);
}
VBF_EXPORT int futimes(int fd, const struct timeval t[2])
{
	NEED(futimes);
	return changed(REAL(futimes)(fd, t), fd, NULL);
}
VBF_EXPORT int futimesat(int d, const char *p, const struct timeval t[2])
{
	NEED(futimesat);
	return changed(REAL(futimesat)(d, p, t), d, p);
}
VBF_EXPORT int utime(const char *p, const struct utimbuf *t)
{
	NEED(utime);
	return changed(REAL(utime)(p, t), AT_FDCWD, p);
}

VBF_EXPORT int truncate(const char *p, off_t n)
{
	NEED(truncate);
	return changed(REAL(truncate)(p, n), AT_FDCWD, p);
}
VBF_EXPORT int ftruncate(int fd, off_t n)
{
	NEED(ftruncate);
	return changed(REAL(ftruncate)(fd, n), fd, NULL);
}
#if VBF_GLIBC
VBF_EXPORT int truncate64(const char *p, off64_t n)
{
	NEED(truncate64);
	return changed(REAL(truncate64)(p, n), AT_FDCWD, p);
}
VBF_EXPORT int ftruncate64(int fd, off64_t n)
{
	NEED(ftruncate64);
	return changed(REAL(ftruncate64)(fd, n), fd, NULL);
}
#endif

/* A new symlink can put a whole tree under a name cached as missing. */
VBF_EXPORT int symlink(const char *target, const char *p)
{
	NEED(symlink);
	return changed(REAL(symlink)(target, p), AT_FDCWD, p);
}
VBF_EXPORT int symlinkat(const char *target, int d, const char *p)
{
	NEED(symlinkat);
	return changed(REAL(symlinkat)(target, d, p), d, p);
}
