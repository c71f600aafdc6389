/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shared.h: the few facts every directory needs, defined once: the
 * virtual network, a socket's network namespace cookie, and the seccomp
 * architectures of this machine.  Depends on GLib and the C library only;
 * slirp-bridge/, port-driver/ and plugin/ include it as
 * "slirp-bridge/shared.h".
 */
#ifndef SB_SHARED_H
#define SB_SHARED_H

#include <glib.h>
#include <netinet/in.h>
#include <stdint.h>

G_BEGIN_DECLS

/* The virtual network (slirp4netns's defaults, --cidr; the IPv6 half is in
 * use with -6).  Filled by sb_vnet_from_cidr() (slirp-bridge/cli.c). */
typedef struct {
    struct in_addr network;    /* e.g. 10.0.2.0 */
    struct in_addr netmask;    /* e.g. 255.255.255.0 */
    guint prefix_len;          /* e.g. 24 */
    struct in_addr gateway;    /* network+2: maps to host loopback */
    struct in_addr dns;        /* network+3 */
    struct in_addr dhcp_start; /* network+15 */
    struct in_addr guest;      /* network+100: recommended guest IP */
    struct in6_addr prefix6;   /* fd00:: */
    guint prefix6_len;         /* 64 */
    struct in6_addr gateway6;  /* fd00::2 */
    struct in6_addr dns6;      /* fd00::3 */
    struct in6_addr guest6;    /* the guest's IPv6 address if known, else :: */
} SbVnet;

/* SO_NETNS_COOKIE (Linux >= 5.14) of socket @fd; 0 if not available. */
guint64 sb_socket_netns_cookie(int fd);
/* The same for the caller's own network namespace (a fresh socket). */
guint64 sb_netns_cookie_of_self(void);

/* The per-user agent's socket when none is named: $XDG_RUNTIME_DIR/
 * slirpbypass/agent.sock, /run/slirpbypass/agent.sock for root, else
 * /run/user/UID/slirpbypass/agent.sock.  g_free it. */
char *sb_default_agent_socket(void);

/* One seccomp architecture: libseccomp's SCMP_ARCH_* value and its name in
 * the OCI runtime-spec. */
typedef struct {
    uint32_t arch;
    const char *oci_name;
} SbArch;
/* This machine's native architecture followed by its compat ABIs (32-bit
 * programs run there too); *n: how many (0 on an unknown machine). */
const SbArch *sb_arches(guint *n);

G_END_DECLS

#endif /* SB_SHARED_H */
