/* SPDX-License-Identifier: MIT */
/* AF_UNIX socket paths on a share (refuse.h): bind() there is refused with
 * EPERM, so the socket lives under a local name that connect() finds again.
 * Only a refused bind or a connect that found nothing looks at the address. */
#include "real.h"
#include "refuse.h"
#include "vbf.h"

VBF_EXPORT int bind(int fd, vbf_csockaddr addr, socklen_t len)
{
	int r = REAL(bind)(fd, addr, len);
	if (r < 0 && errno == EPERM)
		return vbf_refuse_bind(fd, VBF_SOCKADDR(addr), len, errno);
	return r;
}

VBF_EXPORT int connect(int fd, vbf_csockaddr addr, socklen_t len)
{
	int r = REAL(connect)(fd, addr, len);
	if (r < 0 && errno == ENOENT)
		return vbf_refuse_connect(fd, VBF_SOCKADDR(addr), len, errno);
	return r;
}
