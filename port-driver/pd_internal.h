/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pd_internal.h: port-driver internals shared between its files and its
 * unit tests; not part of the public interface.
 */
#ifndef PD_INTERNAL_H
#define PD_INTERNAL_H

#include "port_driver.h"

G_BEGIN_DECLS

typedef enum {
    PD_SCAN_INCOMPLETE = 0, /* need more bytes */
    PD_SCAN_COMPLETE,       /* one JSON value ends at *end */
    PD_SCAN_INVALID,        /* cannot be (the start of) a JSON value */
} PdScanResult;

PdScanResult pd_json_scan(const char *buf, gsize len, gboolean eof, gsize *end);

/* Overrides the API limits (tests only): timeout_ms for the per-connection
 * timer, max_clients served at once, sndbuf (0: kernel default) for the
 * SO_SNDBUF of accepted sockets, to force partial writes. */
void pd_api_set_limits(PdApi *api, guint timeout_ms, guint max_clients,
                       int sndbuf);

/* {"error":{"desc":DESC}} as json-glib writes it (api_commands.c). */
char *pd_api_error_reply(const char *desc);

/* handover.c: libslirp's socket of a forward, stopped and resumed in place
 * (the host port stays bound throughout).  0 or -errno. */
int pd_handover_next_fd(void);
int pd_handover_find(const PdForward *f, int hint);
int pd_handover_share(int fd);
int pd_handover_stop(int fd, const PdForward *f);
int pd_handover_resume(int fd, const PdForward *f);
int pd_handover_hold(int fd);

G_END_DECLS

#endif /* PD_INTERNAL_H */
