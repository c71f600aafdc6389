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
 * interleave.  At most PB_LOG_BURST lines per PB_LOG_WINDOW_S seconds are
 * written; the rest are counted and the count is reported when the next
 * window opens: a client that provokes a line per message (the agent's
 * rejections) cannot fill the disk or the tmpfs the log lives on.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

#define PB_LOG_BURST 200
#define PB_LOG_WINDOW_S 10

gboolean pb_debug_enabled;

G_LOCK_DEFINE_STATIC(pb_log_rate);

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

    static gint64 window_start;
    static guint in_window, suppressed;
    gint64 now = g_get_monotonic_time();
    guint dropped = 0;

    G_LOCK(pb_log_rate);
    if (now - window_start >= PB_LOG_WINDOW_S * G_USEC_PER_SEC) {
        window_start = now;
        in_window = 0;
        dropped = suppressed;
        suppressed = 0;
    }
    if (in_window >= PB_LOG_BURST) {
        suppressed++;
        G_UNLOCK(pb_log_rate);
        return;
    }
    in_window++;
    G_UNLOCK(pb_log_rate);
    if (dropped > 0)
        fprintf(stderr, "bypass: (%u lines suppressed: more than %d in %d s)\n",
                dropped, PB_LOG_BURST, PB_LOG_WINDOW_S);
    va_start(ap, fmt);
    line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "bypass: %s\n", line);
}
