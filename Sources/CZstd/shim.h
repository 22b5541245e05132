#ifndef PATHWAYD_CZSTD_H
#define PATHWAYD_CZSTD_H
// Debian's libzstd (libzstd-dev): the outputs of v2 audit records, compressed against a dictionary.
#include <zstd.h>
#endif
