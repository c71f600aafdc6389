/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.h: the bypass's log lines (plugin/log.c).  Depends on nothing but
 * GLib, so every file of plugin/ may include it without pulling in the
 * agent's state.
 */
#ifndef PB_LOG_H
#define PB_LOG_H

#include <glib.h>

G_BEGIN_DECLS

/* Set once at start-up (--debug-style config or SLIRPBYPASS_DEBUG). */
extern gboolean pb_debug_enabled;
/* One line on stderr, prefixed "bypass: ". */
void pb_log(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Errors and per-connection events: only with debug on. */
#define pb_debug(...)                                                          \
    do {                                                                       \
        if (G_UNLIKELY(pb_debug_enabled))                                      \
            pb_log(__VA_ARGS__);                                               \
    } while (0)

G_END_DECLS

#endif /* PB_LOG_H */
