/* SPDX-License-Identifier: MIT */
/* VBOXFIX_* settings. Read once, validated, and never fatal: a bad value is
 * named in one warning and the default stays. Each setting warns on its own
 * (plain vbf_log: this runs once per process), so one bad value never hides
 * another, and a long list gives one line, not one per entry. */
#include "config.h"
#include "log.h"
#include "real.h"

int vbf_boot_state;
int vbf_on;

struct vbf_config vbf_cfg;

char *vbf_slurp(const char *path, size_t max)
{
	/* O_NONBLOCK: a FIFO put at one of these names reads as empty instead
	 * of stopping every process at start */
	int fd = REAL(open)(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return NULL;
	size_t cap = 8192, len = 0;
	char *buf = malloc(cap + 1);
	while (buf) {
		ssize_t n = REAL(read)(fd, buf + len, cap - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == cap) {
			char *nb = cap < max ? realloc(buf, cap * 2 + 1) : NULL;
			if (!nb)
				break; /* what fits is what we parse */
			buf = nb;
			cap *= 2;
		}
	}
	REAL(close)(fd);
	if (buf)
		buf[len] = 0;
	return buf;
}

int vbf_parse_id(const char *s, size_t n, uint32_t *out)
{
	if (n == 0 || n > 10)
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v >= 0xffffffffu) /* (uid_t)-1 means "unchanged" everywhere */
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Find `name` in passwd/group text; field 3 is the id, field 4 (passwd) the
 * primary gid. */
static int lookup_db(const char *db, const char *name, size_t n, uint32_t *id, uint32_t *gid)
{
	for (const char *l = db; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, name, n) || l[n] != ':')
			continue;
		const char *f = l + n + 1, *end;
		f = strchr(f, ':'); /* skip password */
		if (!f)
			return -1;
		f++;
		end = f + strcspn(f, ":\n");
		if (vbf_parse_id(f, (size_t)(end - f), id))
			return -1;
		if (gid) {
			if (*end != ':')
				return -1;
			f = end + 1;
			end = f + strcspn(f, ":\n");
			if (vbf_parse_id(f, (size_t)(end - f), gid))
				return -1;
		}
		return 0;
	}
	return -1;
}

static int user_id(const char *s, size_t n, const char *passwd, uint32_t *uid, uint32_t *gid)
{
	if (vbf_parse_id(s, n, uid) == 0)
		return 1; /* numeric: no primary group known */
	return lookup_db(passwd, s, n, uid, gid) == 0 ? 2 : -1;
}

static int group_id(const char *s, size_t n, const char *group, uint32_t *gid)
{
	if (vbf_parse_id(s, n, gid) == 0)
		return 0;
	return lookup_db(group, s, n, gid, NULL);
}

int vbf_parse_owner(const char *s, uint32_t *uid, uint32_t *gid, const char *passwd, const char *group)
{
	if (!s || !*s)
		return -1;
	const char *colon = strchr(s, ':');
	size_t un = colon ? (size_t)(colon - s) : strlen(s);
	uint32_t u, g = 0;
	int r = user_id(s, un, passwd, &u, &g);
	if (r < 0)
		return -1;
	if (colon) {
		if (group_id(colon + 1, strlen(colon + 1), group, &g))
			return -1;
	} else if (r == 1) {
		g = u; /* "1000" alone: the same number for the group, like chown 1000: would not */
	}
	*uid = u;
	*gid = g;
	return 0;
}

int vbf_parse_map(const char *s, struct vbf_map_ent *out, int max, int *n, const char *passwd,
		  const char *group)
{
	*n = 0;
	if (!s || !*s)
		return -1;
	while (*s) {
		const char *end = s + strcspn(s, ":");
		const char *slash = memchr(s, '/', (size_t)(end - s));
		if (!slash || *n >= max)
			return -1;
		struct vbf_map_ent e;
		int ga = s[0] == '@', gb = slash[1] == '@';
		if (ga != gb)
			return -1;
		e.is_gid = ga;
		const char *a = s + ga, *b = slash + 1 + gb;
		size_t an = (size_t)(slash - a), bn = (size_t)(end - b);
		uint32_t dummy;
		if (ga ? group_id(a, an, group, &e.from) || group_id(b, bn, group, &e.to)
		       : user_id(a, an, passwd, &e.from, &dummy) < 0 || user_id(b, bn, passwd, &e.to, &dummy) < 0)
			return -1;
		out[(*n)++] = e;
		s = *end ? end + 1 : end;
	}
	return 0;
}

int vbf_parse_long(const char *v, long min, long max, long *out)
{
	char *end;
	int saved = errno;
	errno = 0;
	long x = v && *v ? strtol(v, &end, 10) : 0;
	int bad = !v || !*v || errno || *end || x < min || x > max;
	errno = saved;
	if (bad)
		return -1;
	*out = x;
	return 0;
}

static long parse_long(const char *name, const char *v, long def, long min, long max)
{
	long x;
	if (!v || !*v)
		return def;
	if (vbf_parse_long(v, min, max, &x)) {
		vbf_log(VBF_WARN, "%s=%.64s is not a number in [%ld, %ld]; using %ld", name, v, min, max, def);
		return def;
	}
	return x;
}

/* VBOXFIX_PATHS: up to VBF_MAX_SHARES absolute entries; an exact repeat
 * takes no slot. What is left out is counted by reason and named in one
 * warning with the first entry of each kind. */
static void parse_paths(struct vbf_config *c, const char *v)
{
	enum { REL, LONG, FULL, NKIND };
	static const char *const kind[NKIND] = {"not absolute", "longer than PATH_MAX", "beyond the limit"};
	unsigned long count[NKIND] = {0}, total = 0;
	const char *first[NKIND] = {0};
	size_t first_n[NKIND] = {0};
	for (const char *s = v; s && *s;) {
		size_t n = strcspn(s, ":");
		if (n == 0) {
			s++;
			continue;
		}
		int k = s[0] != '/' ? REL : n >= PATH_MAX ? LONG : c->npaths >= VBF_MAX_SHARES ? FULL : NKIND;
		int dup = 0;
		for (int i = 0; (k == FULL || k == NKIND) && i < c->npaths && !dup; i++)
			dup = !strncmp(c->paths[i], s, n) && !c->paths[i][n];
		if (dup) {
			/* the same share again: nothing to add, nothing lost */
		} else if (k < NKIND) {
			if (!count[k]++) {
				first[k] = s;
				first_n[k] = n;
			}
			total++;
		} else {
			memcpy(c->paths[c->npaths], s, n);
			c->paths[c->npaths++][n] = 0;
		}
		s += n;
	}
	if (!total)
		return;
	char buf[640];
	int len = 0;
	for (int k = 0; k < NKIND; k++) {
		if (!count[k])
			continue;
		int m = snprintf(buf + len, sizeof buf - (size_t)len, "%s%lu %s (first: '%.*s')", len ? ", " : "", count[k],
				 kind[k], (int)(first_n[k] > 120 ? 120 : first_n[k]), first[k]);
		if (m < 0 || (size_t)m >= sizeof buf - (size_t)len)
			break;
		len += m;
	}
	vbf_log(VBF_WARN, "VBOXFIX_PATHS: %lu entr%s ignored: %s; %d share%s used (absolute paths only, at most %d)", total,
		total == 1 ? "y" : "ies", buf, c->npaths, c->npaths == 1 ? "" : "s", VBF_MAX_SHARES);
}

void vbf_config_load(struct vbf_config *c, const char *(*get)(const char *))
{
	memset(c, 0, sizeof *c);
	const char *v = get("VBOXFIX");
	c->off = v && (!strcmp(v, "off") || !strcmp(v, "0"));
	const char *level = get("VBOXFIX_LOG");
	c->log_level = vbf_level_parse(level); /* -1: warned once the log is set up */
	c->log_file = get("VBOXFIX_LOG_FILE");
	vbf_log_setup(c->log_level < 0 ? VBF_WARN : c->log_level, c->log_file);
	if (c->log_level < 0) {
		c->log_level = VBF_WARN;
		vbf_log(VBF_WARN, "VBOXFIX_LOG=%.32s: use error, warn, info or debug; using warn", level);
	}
	if (v && *v && !c->off && strcmp(v, "on") && strcmp(v, "1"))
		vbf_log(VBF_WARN, "VBOXFIX=%.32s: only 'off' or '0' turns the library off; it stays on", v);
	parse_paths(c, get("VBOXFIX_PATHS"));
	c->autodetect = (int)parse_long("VBOXFIX_AUTODETECT", get("VBOXFIX_AUTODETECT"), 1, 0, 1);
	c->state = get("VBOXFIX_STATE");
	c->ttl_ms = parse_long("VBOXFIX_TTL_MS", get("VBOXFIX_TTL_MS"), 1000, 0, VBF_TTL_MS_MAX);
	c->cache_max = parse_long("VBOXFIX_CACHE_MAX", get("VBOXFIX_CACHE_MAX"), 65536, 0, 1L << 26);
	c->shared_cache = parse_long("VBOXFIX_SHARED_CACHE", get("VBOXFIX_SHARED_CACHE"), 32768, 0, 1L << 24);
	c->retry_ms = parse_long("VBOXFIX_RETRY_MS", get("VBOXFIX_RETRY_MS"), 2000, 0, 600000);
	c->compact_min = parse_long("VBOXFIX_COMPACT_MIN", get("VBOXFIX_COMPACT_MIN"), 256 * 1024, 4096, 1L << 28);
	c->stats = (int)parse_long("VBOXFIX_STATS", get("VBOXFIX_STATS"), 0, 0, 1);

	const char *owner = get("VBOXFIX_OWNER"), *map = get("VBOXFIX_MAP");
	if ((owner && *owner) || (map && *map)) {
		char *passwd = vbf_slurp("/etc/passwd", 16u << 20), *group = vbf_slurp("/etc/group", 16u << 20);
		if (owner && *owner) {
			c->have_owner = !vbf_parse_owner(owner, &c->owner_uid, &c->owner_gid, passwd, group);
			if (!c->have_owner)
				vbf_log(VBF_WARN, "VBOXFIX_OWNER=%.64s: not uid:gid or a known user[:group]; ignored", owner);
		}
		if (map && *map && vbf_parse_map(map, c->map, VBF_MAX_MAP, &c->nmap, passwd, group)) {
			c->nmap = 0;
			size_t n = 1;
			for (const char *p = map; *p; p++)
				n += *p == ':';
			if (n > VBF_MAX_MAP)
				vbf_log(VBF_WARN, "VBOXFIX_MAP: %zu entries, at most %d; the whole map is ignored", n,
					VBF_MAX_MAP);
			else
				vbf_log(VBF_WARN, "VBOXFIX_MAP=%.64s: expected a/b:@c/@d with known names; ignored", map);
		}
		free(passwd);
		free(group);
	}
}
