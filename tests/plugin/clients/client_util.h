/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * client_util.h: the output helpers the test clients (sbclient.c,
 * reaim.c) share.  Each client is one statically linked program, so these
 * are static functions in a header rather than a library.
 */
#ifndef CLIENT_UTIL_H
#define CLIENT_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Print one `key=value` line and flush: the tests read it while we run. */
static inline void
out(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* The errno's symbolic name ("ECONNREFUSED"), never NULL. */
static inline const char *
ename(int e)
{
    const char *n = strerrorname_np(e);

    return n != NULL ? n : "EUNKNOWN";
}

#endif /* CLIENT_UTIL_H */
