/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pd_test_util.h: shared fixtures for the port-driver unit tests.
 */
#ifndef PD_TEST_UTIL_H
#define PD_TEST_UTIL_H

#include "port_driver.h"

G_BEGIN_DECLS

/* Moves the process into a private network namespace with lo up (if
 * permitted), so binding test ports cannot clash with anything or reach
 * anything.  Call first thing in main(), before any thread exists.
 * Returns TRUE if isolated. */
gboolean pd_test_isolate(void);
/* A libslirp instance with no-op callbacks (10.0.2.0/24, fd00::/64). */
Slirp *pd_test_slirp_new(gboolean ipv6);
/* The network facts matching pd_test_slirp_new. */
void pd_test_netinfo(PdNetInfo *net, gboolean ipv6);
/* A currently unused port on loopback for this socket type. */
guint16 pd_test_free_port(int family, int socktype);
/* A forward from text (e.g. "127.0.0.1", 8080, "10.0.2.100", 80). */
PdForward pd_test_fwd(PdProto proto, const char *host, guint16 hport,
                      const char *guest, guint16 gport);
/* Whether something accepts TCP connections at addr:port on loopback. */
gboolean pd_test_tcp_listening(const char *addr, guint16 port);
/* Whether addr:port can be bound by us right now (type SOCK_STREAM or
 * SOCK_DGRAM; IPv6 sockets are V6ONLY). */
gboolean pd_test_can_bind(const char *addr, guint16 port, int socktype);
/* Number of open fds of this process. */
guint pd_test_count_fds(void);

G_END_DECLS

#endif
