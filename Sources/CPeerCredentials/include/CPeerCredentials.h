#ifndef PATHWAYD_PEER_CREDENTIALS_H
#define PATHWAYD_PEER_CREDENTIALS_H
#include <sys/types.h>

/// Layout-identical mirror of glibc's `struct ucred` (visible to C only under _GNU_SOURCE, so
/// not to Swift). The layout is checked against the real struct in CPeerCredentials.c.
typedef struct pathwayd_ucred {
    pid_t pid;
    uid_t uid;
    gid_t gid;
} pathwayd_ucred;

#endif
