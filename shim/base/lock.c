/* SPDX-License-Identifier: MIT */
/* The one piece of lock state that is not per lock (lock.h). */
#include "lock.h"

VBF_TLS int vbf_lock_held;
