/* FIFOs and AF_UNIX sockets on a share: vboxsf has no mknod, and bind()
 * of a socket path goes through mknod. The object is made in a local
 * directory instead, under a name derived from the share path alone, so a
 * process that never saw the mkfifo or bind (a client connecting to a
 * server's socket) finds it the same way: no shared table, no placeholder
 * on the share (that would need the mknod the share refuses).
 *
 *   BASE/u<uid>/<hash>    BASE = VBOXFIX_RUNDIR or /tmp/.vboxfix (01777)
 *
 * One subdirectory per creating uid, owned by it and 0755: nobody can put
 * an object under another user's name; lookups accept only a subdirectory
 * whose owner matches its name. The whole name stays far below the 108
 * bytes of sun_path. Names are of the lexical share path: a FIFO reached
 * through a symlink inside the share is a different name (docs/refusals.md).
 */
#include "refuse.h"
#include "log.h"
#include "own.h"
#include "real.h"
#include "vbf.h"

#define DEFAULT_BASE "/tmp/.vboxfix"
#define BASE_MAX VBF_REDIRECT_BASE_MAX

uint64_t vbf_redirect_hash_n(uint64_t h, const char *s, size_t n)
{
	for (; n && *s; s++, n--) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

uint64_t vbf_redirect_hash(const char *s) { return vbf_redirect_hash_n(VBF_FNV_INIT, s, (size_t)-1); }

int vbf_redirect_hname(const char *base, unsigned int uid, uint64_t h, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/u%u/%016llx", base, uid, (unsigned long long)h);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int vbf_redirect_name(const char *base, unsigned int uid, const char *share_path, char *out, size_t cap)
{
	return vbf_redirect_hname(base, uid, vbf_redirect_hash(share_path), out, cap);
}

const char *vbf_redirect_base(void)
{
	/* read where it is used: set once per container, never by programs */
	const char *b = getenv("VBOXFIX_RUNDIR");
	if (b && b[0] == '/' && strlen(b) < BASE_MAX)
		return b;
	return DEFAULT_BASE;
}

int vbf_share_path(const struct vbf_where *w, char *out, size_t cap)
{
	if (w->idx < 0 || w->idx >= vbf_nshares || !w->key)
		return -1;
	const char *root = vbf_shares[w->idx].root;
	int n = snprintf(out, cap, "%s%s%s", strcmp(root, "/") ? root : "", w->key[0] ? "/" : "", w->key);
	if (n == 0 && cap > 1)
		n = snprintf(out, cap, "/");
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int vbf_redirect_lstat(const char *p, struct stat *st) { return REAL(fstatat)(AT_FDCWD, p, st, AT_SYMLINK_NOFOLLOW); }

int vbf_redirect_is_object(const struct stat *st) { return S_ISFIFO(st->st_mode) || S_ISSOCK(st->st_mode); }

/* Another uid's subdirectory `name` ("u<digits>") of base: is it genuine? */
int vbf_redirect_owner_dir(const char *base, const char *name, unsigned int *uid)
{
	char *end, dir[BASE_MAX + 16];
	struct stat st;
	if (name[0] != 'u' || name[1] < '0' || name[1] > '9')
		return 0;
	unsigned long u = strtoul(name + 1, &end, 10);
	if (*end || u > 0xffffffffUL)
		return 0;
	snprintf(dir, sizeof dir, "%s/%s", base, name);
	if (vbf_redirect_lstat(dir, &st) || !S_ISDIR(st.st_mode) || st.st_uid != (uid_t)u)
		return 0;
	*uid = (unsigned int)u;
	return 1;
}

/* Objects of other uids: read the base directory with raw calls (no
 * opendir: no allocation, usable anywhere). */
static int scan_others(const char *base, unsigned int me, uint64_t h, char *buf)
{
	long fd = vbf_raw_syscall(SYS_openat, AT_FDCWD, (long)base, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		return -1;
	char d[2048] __attribute__((aligned(8)));
	int found = -1;
	long n;
	while (found < 0 && (n = vbf_raw_syscall(SYS_getdents64, fd, (long)d, sizeof d, 0, 0, 0)) > 0) {
		for (long off = 0; off < n && found < 0;) {
			struct linux_dirent64_hdr *e = (void *)(d + off);
			unsigned int uid;
			struct stat st;
			off += e->reclen;
			if (vbf_redirect_owner_dir(base, e->name, &uid) && uid != me &&
			    vbf_redirect_hname(base, uid, h, buf, VBF_REDIRECT_CAP) > 0 && vbf_redirect_lstat(buf, &st) == 0 &&
			    vbf_redirect_is_object(&st))
				found = 0;
		}
	}
	vbf_raw_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
	return found;
}

int vbf_redirect_find(uint64_t h, char buf[VBF_REDIRECT_CAP])
{
	struct stat st;
	int saved = errno, r = -1;
	const char *base = vbf_redirect_base();
	/* one local lstat when nothing was ever redirected here */
	if (vbf_redirect_lstat(base, &st) == 0 && S_ISDIR(st.st_mode)) {
		unsigned int me = (unsigned int)REAL(geteuid)();
		if (vbf_redirect_hname(base, me, h, buf, VBF_REDIRECT_CAP) > 0 && vbf_redirect_lstat(buf, &st) == 0 &&
		    vbf_redirect_is_object(&st))
			r = 0;
		else
			r = scan_others(base, me, h, buf);
	}
	errno = saved;
	return r;
}

int vbf_redirect_lookup(const struct vbf_where *w, char buf[VBF_REDIRECT_CAP])
{
	char sp[VBF_PATH_CAP];
	if (w->idx < 0)
		return -1;
	int saved = errno, r = -1;
	if (vbf_share_path(w, sp, sizeof sp) >= 0)
		r = vbf_redirect_find(vbf_redirect_hash(sp), buf);
	errno = saved;
	return r;
}

const char *vbf_redirected(int r, int dirfd, const char *path, int flags, char buf[VBF_REDIRECT_CAP])
{
	struct vbf_where w;
	if (r >= 0 || errno != ENOENT || !path || !*path || !vbf_active())
		return NULL;
	int saved = errno;
	const char *res = NULL;
	if (vbf_where_name(dirfd, path, &w) >= 0 && vbf_redirect_lookup(&w, buf) == 0)
		res = buf;
	errno = saved;
	return res;
}

void vbf_refuse_split(const char *path, char *dir, size_t cap, const char **base)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		snprintf(dir, cap, ".");
		*base = path;
		return;
	}
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= cap)
		n = cap - 1;
	memcpy(dir, path, n);
	dir[n] = 0;
	*base = slash + 1;
}

int vbf_refuse_parent_ok(int dirfd, const char *path)
{
	char dir[VBF_PATH_CAP];
	const char *base;
	struct stat st;
	vbf_refuse_split(path, dir, sizeof dir, &base);
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return -1; /* the caller keeps the share's answer */
	if (REAL(fstatat)(dirfd, dir, &st, 0) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return REAL(faccessat)(dirfd, dir, W_OK | X_OK, AT_EACCESS);
}

/* mkdir that tolerates an existing directory with the right owner and no
 * symlink in its place. */
int vbf_redirect_mkdir(const char *p, mode_t mode, int shared)
{
	struct stat st;
	uid_t me = REAL(geteuid)();
	if (REAL(mkdir)(p, 0700) == 0)
		return REAL(chmod)(p, mode); /* exactly `mode`, whatever the umask */
	if (errno != EEXIST || vbf_redirect_lstat(p, &st) != 0)
		return -1;
	if (S_ISDIR(st.st_mode) &&
	    (st.st_uid == me || (shared && (st.st_uid == 0 || (st.st_mode & 01002) == 01002))))
		return 0;
	vbf_log(VBF_WARN, "%s is not a directory this user can trust; FIFOs and sockets on shares stay refused", p);
	errno = EACCES;
	return -1;
}

int vbf_redirect_prepare(const struct vbf_where *w, int dirfd, const char *path, char buf[VBF_REDIRECT_CAP])
{
	char sp[VBF_PATH_CAP], own[BASE_MAX + 16];
	struct stat st;
	if (REAL(fstatat)(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	if (errno != ENOENT || vbf_refuse_parent_ok(dirfd, path) != 0)
		return -1;
	if (vbf_redirect_lookup(w, buf) == 0) {
		errno = EEXIST;
		return -1;
	}
	const char *base = vbf_redirect_base();
	unsigned int me = (unsigned int)REAL(geteuid)();
	snprintf(own, sizeof own, "%s/u%u", base, me);
	if (vbf_share_path(w, sp, sizeof sp) < 0 || vbf_redirect_name(base, me, sp, buf, VBF_REDIRECT_CAP) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (vbf_redirect_mkdir(base, 01777, 1) != 0 || vbf_redirect_mkdir(own, 0755, 0) != 0)
		return -1;
	return 0;
}

int vbf_refuse_mknod(int dirfd, const char *path, mode_t mode)
{
	struct vbf_where w;
	char local[VBF_REDIRECT_CAP];
	mode_t type = mode & S_IFMT;
	if (!vbf_active() || vbf_where_name(dirfd, path, &w) < 0)
		return -1;
	int err = errno;
	if (type == 0 || type == S_IFREG) {
		/* mknod of a regular file is an exclusive create */
		int fd = REAL(openat)(dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777);
		if (fd < 0)
			return -1;
		REAL(close)(fd);
		vbf_op_created(dirfd, path, -1, mode);
	} else if (type == S_IFIFO || type == S_IFSOCK) {
		if (vbf_redirect_prepare(&w, dirfd, path, local) != 0) {
			if (errno == ENAMETOOLONG)
				errno = err;
			return -1;
		}
		if (REAL(mknodat)(AT_FDCWD, local, (mode & 07777) | type, 0) != 0)
			return -1;
		vbf_redirect_index(local, &w, 1);
		vbf_log_once(VBF_EV_FIFO, VBF_INFO, "a FIFO on a share lives in the local directory (%s)", local);
	} else {
		errno = err; /* device nodes: no emulation */
		return -1;
	}
	vbf_count(VBF_C_EMULATED);
	errno = err;
	return 0;
}

/* ---- sockets ---- */

/* The path of an AF_UNIX address, NUL-terminated in `out`; 0 for other
 * families and abstract names. */
static int unix_path(const struct sockaddr *sa, socklen_t len, char *out)
{
	const size_t off = offsetof(struct sockaddr_un, sun_path);
	if (!sa || len <= off || sa->sa_family != AF_UNIX)
		return 0;
	const struct sockaddr_un *un = (const struct sockaddr_un *)(const void *)sa;
	size_t max = len - off;
	if (max > sizeof un->sun_path)
		max = sizeof un->sun_path;
	if (!max || !un->sun_path[0])
		return 0;
	memcpy(out, un->sun_path, max);
	out[max] = 0;
	return 1;
}

static socklen_t local_addr(struct sockaddr_un *un, const char *local)
{
	memset(un, 0, sizeof *un);
	un->sun_family = AF_UNIX;
	size_t n = strlen(local);
	memcpy(un->sun_path, local, n + 1);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

int vbf_refuse_bind(int fd, const struct sockaddr *sa, socklen_t len, int err)
{
	char path[sizeof ((struct sockaddr_un *)0)->sun_path + 1], local[VBF_REDIRECT_CAP];
	struct vbf_where w;
	struct sockaddr_un un;
	if (!unix_path(sa, len, path) || !vbf_active() || vbf_where_name(AT_FDCWD, path, &w) < 0) {
		errno = err;
		return -1;
	}
	if (vbf_redirect_prepare(&w, AT_FDCWD, path, local) != 0) {
		errno = errno == EEXIST ? EADDRINUSE : errno == ENAMETOOLONG ? err : errno;
		return -1;
	}
	socklen_t n = local_addr(&un, local);
	if (REAL(bind)(fd, (const struct sockaddr *)&un, n) != 0)
		return -1;
	vbf_redirect_index(local, &w, 1);
	vbf_count(VBF_C_EMULATED);
	vbf_log_once(VBF_EV_SOCK, VBF_INFO, "a unix socket on a share lives in the local directory (%s)", local);
	return 0;
}

int vbf_refuse_connect(int fd, const struct sockaddr *sa, socklen_t len, int err)
{
	char path[sizeof ((struct sockaddr_un *)0)->sun_path + 1], local[VBF_REDIRECT_CAP];
	struct vbf_where w;
	struct sockaddr_un un;
	if (!unix_path(sa, len, path) || !vbf_active() || vbf_where_name(AT_FDCWD, path, &w) < 0 ||
	    vbf_redirect_lookup(&w, local) != 0) {
		errno = err;
		return -1;
	}
	socklen_t n = local_addr(&un, local);
	return REAL(connect)(fd, (const struct sockaddr *)&un, n);
}
