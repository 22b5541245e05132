#define _GNU_SOURCE
#include <stddef.h>
#include <sys/socket.h>
#include "CPeerCredentials.h"

_Static_assert(sizeof(struct ucred) == sizeof(pathwayd_ucred), "ucred size");
_Static_assert(offsetof(struct ucred, pid) == offsetof(pathwayd_ucred, pid), "ucred.pid");
_Static_assert(offsetof(struct ucred, uid) == offsetof(pathwayd_ucred, uid), "ucred.uid");
_Static_assert(offsetof(struct ucred, gid) == offsetof(pathwayd_ucred, gid), "ucred.gid");

