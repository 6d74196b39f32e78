/* SPDX-License-Identifier: MIT */
/* Children keep the library (env.h). Start-up saves what a child needs;
 * the exec path only reads it. */
#include "env.h"
#include "log.h"
#include "real.h"
#include <dlfcn.h>

#if VBF_GLIBC && defined(__x86_64__)
/* glibc 2.34 moved dladdr into libc under a new version; bind the old one
 * so the library still loads on glibc 2.28 (docs/hardening.md, "glibc floor"). */
__asm__(".symver dladdr,dladdr@GLIBC_2.2.5");
#elif VBF_GLIBC && defined(__aarch64__)
__asm__(".symver dladdr,dladdr@GLIBC_2.17");
#endif

extern char **environ;

struct vbf_envsave vbf_envsave;

static const char PRELOAD[] = "LD_PRELOAD=";
#define PRELOAD_LEN (sizeof PRELOAD - 1)
static const char PREFIX[] = "VBOXFIX_";
#define PREFIX_LEN (sizeof PREFIX - 1)

/* The loader splits LD_PRELOAD at spaces and colons (musl also at tabs and
 * newlines). */
static int is_sep(char c) { return c == ' ' || c == ':' || c == '\t' || c == '\n'; }

int vbf_env_preload_has(const char *value, const char *lib, const char *base)
{
	size_t ll = lib ? strlen(lib) : 0, bl = base ? strlen(base) : 0;
	for (const char *s = value; s && *s;) {
		while (*s && is_sep(*s))
			s++;
		const char *e = s;
		while (*e && !is_sep(*e))
			e++;
		size_t n = (size_t)(e - s);
		if (n && ll && n == ll && !memcmp(s, lib, n))
			return 1;
		/* The same library under another path (a bind mount, a copy in
		 * /usr/lib): loading it twice would wrap every call twice. */
		if (n && bl && n >= bl && !memcmp(e - bl, base, bl) && (n == bl || e[-(long)bl - 1] == '/'))
			return 1;
		s = e;
	}
	return 0;
}

void vbf_env_capture(struct vbf_envsave *s, char *const *env, const char *lib)
{
	memset(s, 0, sizeof *s);
	s->active = 1;
	if (lib && lib[0] == '/' && strlen(lib) < sizeof s->lib) {
		strcpy(s->lib, lib);
		const char *slash = strrchr(s->lib, '/');
		s->base = slash + 1;
	}
	size_t used = 0;
	for (char *const *e = env; e && *e; e++) {
		const char *v = *e;
		if (!strncmp(v, PRELOAD, PRELOAD_LEN)) {
			/* Re-inject only what the container started with: a library
			 * that came from /etc/ld.so.preload or dlopen reaches children
			 * without our help. */
			if (s->base && vbf_env_preload_has(v + PRELOAD_LEN, s->lib, s->base))
				s->preload = 1;
			continue;
		}
		if (strncmp(v, PREFIX, PREFIX_LEN))
			continue;
		const char *eq = strchr(v, '=');
		size_t len = strlen(v) + 1;
		if (!eq || eq == v + PREFIX_LEN) /* "VBOXFIX_" alone is no setting */
			continue;
		if (s->nvars >= VBF_ENV_VARS || len > sizeof s->buf - used) {
			vbf_log(VBF_WARN, "%.*s is not passed on to children that clear their environment (too many or too long)",
				(int)(eq - v > 64 ? 64 : eq - v), v);
			continue;
		}
		memcpy(s->buf + used, v, len);
		s->vars[s->nvars] = s->buf + used;
		s->namelen[s->nvars] = (size_t)(eq - v) + 1;
		s->nvars++;
		used += len;
	}
}

void vbf_env_init(void)
{
	static char here; /* any object of ours names our file */
	Dl_info info;
	char lib[PATH_MAX] = "";
	int saved = errno;
	if (dladdr(&here, &info) && info.dli_fname && info.dli_fname[0]) {
		if (info.dli_fname[0] == '/')
			snprintf(lib, sizeof lib, "%s", info.dli_fname);
		else if (!REAL(realpath) || !REAL(realpath)(info.dli_fname, lib))
			lib[0] = 0;
	}
	vbf_env_capture(&vbf_envsave, environ, lib[0] == '/' ? lib : NULL);
	if (!vbf_envsave.base)
		vbf_log(VBF_INFO, "library path unknown: children that drop LD_PRELOAD run without it");
	errno = saved;
}

/* Does `envp` have an entry whose name is the first `n` bytes of `nameeq`
 * ("NAME=")? */
static int has_name(char *const *envp, const char *nameeq, size_t n)
{
	for (char *const *e = envp; e && *e; e++)
		if (!strncmp(*e, nameeq, n))
			return 1;
	return 0;
}

char *const *vbf_env_fix(const struct vbf_envsave *s, char *const *envp, char **slots, size_t nslots,
			 char *pbuf, size_t pcap)
{
	if (!s->active)
		return envp;
	size_t n = 0;
	const char *last_preload = NULL; /* glibc's loader obeys the last one */
	int preload_ok = 1, npreload = 0;
	for (char *const *e = envp; e && *e; e++, n++) {
		const char *v = *e;
		if (!strcmp(v, "VBOXFIX=off") || !strcmp(v, "VBOXFIX=0"))
			return envp; /* the one deliberate way out */
		if (!strncmp(v, PRELOAD, PRELOAD_LEN)) {
			npreload++;
			last_preload = v + PRELOAD_LEN;
			if (!vbf_env_preload_has(last_preload, s->lib, s->base))
				preload_ok = 0;
		}
	}
	int fix_preload = s->preload && s->base && (!npreload || !preload_ok);
	int missing = 0;
	for (int i = 0; i < s->nvars; i++)
		missing += !has_name(envp, s->vars[i], s->namelen[i]);
	if (!fix_preload && !missing)
		return envp;
	if (n + (size_t)missing + 2 > nslots)
		return envp; /* does not fit: better unchanged than truncated */

	const char *newpre = NULL;
	if (fix_preload) {
		size_t ll = strlen(s->lib), ol = last_preload ? strlen(last_preload) : 0;
		if (PRELOAD_LEN + ll + 1 + ol + 1 > pcap)
			return envp;
		char *p = pbuf;
		memcpy(p, PRELOAD, PRELOAD_LEN);
		p += PRELOAD_LEN;
		/* first: its wrappers see each call before any other preload */
		memcpy(p, s->lib, ll);
		p += ll;
		if (ol) {
			*p++ = ' ';
			memcpy(p, last_preload, ol);
			p += ol;
		}
		*p = 0;
		newpre = pbuf;
	}
	size_t k = 0;
	if (newpre)
		slots[k++] = (char *)newpre;
	for (char *const *e = envp; e && *e; e++)
		if (!(newpre && !strncmp(*e, PRELOAD, PRELOAD_LEN)))
			slots[k++] = *e;
	for (int i = 0; i < s->nvars; i++)
		if (!has_name(envp, s->vars[i], s->namelen[i]))
			slots[k++] = (char *)s->vars[i];
	slots[k] = NULL;
	return slots;
}

char *const *vbf_env_child(char *const *envp, char **slots, size_t nslots, char *pbuf, size_t pcap)
{
	return vbf_env_fix(&vbf_envsave, envp, slots, nslots, pbuf, pcap);
}

void vbf_env_put_back(void)
{
	const struct vbf_envsave *s = &vbf_envsave;
	if (!s->active || !REAL(setenv))
		return;
	int saved = errno;
	if (s->preload && s->base)
		REAL(setenv)("LD_PRELOAD", s->lib, 1);
	for (int i = 0; i < s->nvars; i++) {
		char name[64];
		size_t n = s->namelen[i] - 1;
		if (n >= sizeof name)
			continue;
		memcpy(name, s->vars[i], n);
		name[n] = 0;
		REAL(setenv)(name, s->vars[i] + n + 1, 1);
	}
	errno = saved;
}
