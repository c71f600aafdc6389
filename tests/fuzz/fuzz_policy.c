/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_policy.c: libFuzzer target for the destination policy with a
 * property check: a destination is bypassed only where the slirp path
 * would reach the same thing.
 *
 * Theory of operation: the first byte picks the configuration (host
 * loopback allowed or not, IPv6 on or off, an ignored CIDR or not), the
 * rest is the sockaddr as a container would pass it to connect() (any
 * length).  On PB_POLICY_BYPASS the properties are: the sockaddr was as
 * long as the kernel needs for its family (16; IPv6 24); the host-side
 * destination is AF_INET/AF_INET6 of the right length with the same port; the
 * virtual network (10.0.2.0/24, fd00::/64) is never bypassed except the
 * gateway, which becomes host loopback and only while host loopback is allowed;
 * an ignored network (192.0.2.128/25) is never bypassed; the host's own
 * loopback as written by the container (127/8, ::1: the container's own
 * loopback) is never bypassed.
 */
#include "plugin.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

static PbPolicy *policies[8];

static PbPolicy *
policy_for(guint8 sel)
{
    guint i = sel & 7;

    if (policies[i] == NULL) {
        PbAgentConfig cfg = { 0 };
        GPtrArray *ignore = g_ptr_array_new();

        inet_pton(AF_INET, "10.0.2.0", &cfg.vnet.network);
        inet_pton(AF_INET, "255.255.255.0", &cfg.vnet.netmask);
        inet_pton(AF_INET, "10.0.2.2", &cfg.vnet.gateway);
        inet_pton(AF_INET, "10.0.2.3", &cfg.vnet.dns);
        inet_pton(AF_INET6, "fd00::", &cfg.vnet.prefix6);
        cfg.vnet.prefix6_len = 64;
        inet_pton(AF_INET6, "fd00::2", &cfg.vnet.gateway6);
        inet_pton(AF_INET6, "fd00::3", &cfg.vnet.dns6);
        cfg.disable_host_loopback = (i & 1) != 0;
        cfg.ipv6 = (i & 2) != 0;
        if (i & 4)
            g_ptr_array_add(ignore, (gpointer) "192.0.2.128/25");
        cfg.ignore = ignore;
        policies[i] = pb_policy_new(&cfg, NULL);
        g_ptr_array_unref(ignore);
        if (policies[i] == NULL)
            abort();
    }
    return policies[i];
}

/* The IPv4 address an AF_INET or v4-mapped AF_INET6 sockaddr names. */
static gboolean
as_v4(const struct sockaddr_storage *ss, guint32 *a)
{
    if (ss->ss_family == AF_INET) {
        *a = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
        return TRUE;
    }
    if (ss->ss_family == AF_INET6 &&
        IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)ss)->sin6_addr)) {
        memcpy(a, &((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr[12], 4);
        *a = ntohl(*a);
        return TRUE;
    }
    return FALSE;
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    struct sockaddr_storage in = { 0 }, out = { 0 };
    socklen_t out_len = 0;
    guint8 sel;
    PbPolicyVerdict v;
    guint32 a4, o4;

    if (size < 1)
        return 0;
    sel = data[0];
    data++;
    size--;
    memcpy(&in, data, MIN(size, sizeof in));
    v = pb_policy_check(policy_for(sel), (const struct sockaddr *)&in,
                        (socklen_t)MIN(size, sizeof in), &out, &out_len);
    (void)pb_policy_verdict_str(v);
    if (v != PB_POLICY_BYPASS)
        return 0;
    if ((in.ss_family == AF_INET && size < sizeof(struct sockaddr_in)) ||
        /* the kernel takes IPv6 sockaddrs without sin6_scope_id
         * (SIN6_LEN_RFC2133, 24 bytes) */
        (in.ss_family == AF_INET6 && size < 24) ||
        (in.ss_family != AF_INET && in.ss_family != AF_INET6))
        abort();
    if (!((out.ss_family == AF_INET && out_len == sizeof(struct sockaddr_in)) ||
          (out.ss_family == AF_INET6 &&
           out_len == sizeof(struct sockaddr_in6))))
        abort();
    if (((const struct sockaddr_in *)&in)->sin_port !=
        ((const struct sockaddr_in *)&out)->sin_port)
        abort(); /* sin_port and sin6_port share their offset */
    if (as_v4(&in, &a4)) {
        if ((a4 >> 24) == 127)
            abort(); /* the container's own loopback */
        if ((a4 & 0xffffff00) == 0x0a000200) {
            /* only the gateway, to host loopback, and only if allowed */
            if (a4 != 0x0a000202 || (sel & 1) || !as_v4(&out, &o4) ||
                (o4 >> 24) != 127)
                abort();
        }
        if ((sel & 4) && (a4 & 0xffffff80) == 0xc0000280)
            abort(); /* ignored */
    } else {
        const struct in6_addr *a6 =
            &((const struct sockaddr_in6 *)&in)->sin6_addr;
        static const guint8 fd00[8] = { 0xfd };

        if (IN6_IS_ADDR_LOOPBACK(a6))
            abort();
        if (memcmp(a6->s6_addr, fd00, 8) == 0) {
            struct in6_addr gw6;

            inet_pton(AF_INET6, "fd00::2", &gw6);
            if (!IN6_ARE_ADDR_EQUAL(a6, &gw6) || (sel & 1) || !(sel & 2))
                abort();
        }
    }
    return 0;
}
