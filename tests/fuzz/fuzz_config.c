/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: the VBOXFIX_* parsers.
 * Input: a selector byte, then NUL-separated fields.
 *   0: vbf_parse_owner(VALUE, PASSWD, GROUP)
 *   1: vbf_parse_map(VALUE, PASSWD, GROUP)
 *   2: vbf_config_load with a fake getenv over "NAME=value" lines */
#include "config.h"
#include "fake_real.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* field i of the NUL-separated input (copied, NUL-terminated) */
static const char *field(char *buf, size_t n, int i)
{
	char *p = buf, *end = buf + n;
	for (; i > 0 && p < end; i--)
		p += strlen(p) + 1;
	return p < end ? p : NULL;
}

static char envbuf[8192];
static const char *fake_get(const char *name)
{
	size_t n = strlen(name);
	if (!strcmp(name, "VBOXFIX_LOG_FILE"))
		return NULL; /* would create files */
	for (char *l = envbuf; *l; l += strlen(l) + 1)
		if (!strncmp(l, name, n) && l[n] == '=')
			return l + n + 1;
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		fake_real_reset();
		ready = 1;
	}
	if (size < 1 || size > 4096)
		return 0;
	char *buf = malloc(size + 1);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = buf[size] = 0;
	const char *v = field(buf, size - 1, 0), *pw = field(buf, size - 1, 1), *gr = field(buf, size - 1, 2);
	uint32_t u, g;
	struct vbf_map_ent m[VBF_MAX_MAP];
	int n = -1;
	int saved = vbf_log_level;
	vbf_log_level = -1; /* bad values are expected here: keep the output quiet */
	switch (data[0] % 3) {
	case 0:
		if (vbf_parse_owner(v, &u, &g, pw, gr) == 0 && (u == 0xffffffffu || g == 0xffffffffu))
			__builtin_trap(); /* (uid_t)-1 means "unchanged": never a valid owner */
		break;
	case 1:
		if (vbf_parse_map(v, m, VBF_MAX_MAP, &n, pw, gr) == 0 && (n < 1 || n > VBF_MAX_MAP))
			__builtin_trap();
		break;
	case 2: {
		/* lines become NUL-separated NAME=value entries */
		size_t k = 0;
		for (size_t i = 1; i < size && k + 2 < sizeof envbuf; i++)
			envbuf[k++] = data[i] == '\n' ? 0 : (char)data[i];
		envbuf[k] = envbuf[k + 1] = 0;
		static struct vbf_config c;
		vbf_config_load(&c, fake_get);
		if (c.npaths < 0 || c.npaths > VBF_MAX_SHARES || c.nmap < 0 || c.nmap > VBF_MAX_MAP)
			__builtin_trap();
		for (int i = 0; i < c.npaths; i++)
			if (c.paths[i][0] != '/' || strlen(c.paths[i]) >= PATH_MAX)
				__builtin_trap();
		break;
	}
	}
	vbf_log_level = saved;
	free(buf);
	return 0;
}
