/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.c: the bypass's log lines.
 *
 * Theory of operation: one line per event on stderr, prefixed "bypass: ",
 * so that the helper's log (which podman and rootlesskit capture) tells
 * the bypass's lines from libslirp's and the bridge's.  Per-connection
 * lines are printed only with debug on (pb_debug()), because a busy
 * container makes thousands of connections a second.  The line is built
 * first and written with one call, so lines of the helper's threads never
 * interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

gboolean pb_debug_enabled;

/**
 * pb_log:
 * @fmt: printf format of one line (no newline)
 *
 * Prints "bypass: <line>" on stderr.
 */
void
pb_log(const char *fmt, ...)
{
    g_autofree char *line = NULL;
    va_list ap;

    va_start(ap, fmt);
    line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "bypass: %s\n", line);
}
