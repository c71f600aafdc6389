/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_policy.c: unit tests of the bypass destination policy (policy.c).
 *
 * Theory of operation: every rule of the policy is checked with a table
 * of (configuration, destination, expected verdict, expected host-side
 * destination), for IPv4, IPv6 and the IPv4-mapped forms, with the
 * gateway mapping on and off, IPv6 on and off, a non-default --cidr and
 * --bypass-ignore lists; plus the sockaddr length rules and the CIDR
 * parser's errors.
 */
#include "plugin.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>

typedef enum {
    CFG_DEFAULT,   /* 10.0.2.0/24, IPv6 on, host loopback allowed */
    CFG_NOLO,      /* --disable-host-loopback */
    CFG_NOV6,      /* IPv6 off */
    CFG_CIDR,      /* --cidr 10.0.135.128/25 */
    CFG_IGNORE_10, /* --bypass-ignore 10.0.0.0/8 */
} CfgKind;

/* Ignore list of every configuration: one v4, one v6, and 127/8 (which
 * must not disable the gateway mapping). */
static const char *const default_ignore[] = { "192.0.2.128/25",
                                              "2001:db8:ffff::/48",
                                              "127.0.0.0/8" };

/*
 * make_policy: the policy of configuration @kind.
 */
static PbPolicy *
make_policy(CfgKind kind)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) ignore = g_ptr_array_new();
    PbAgentConfig cfg = { 0 };
    PbPolicy *p;

    inet_pton(AF_INET, "10.0.2.0", &cfg.vnet.network);
    inet_pton(AF_INET, "255.255.255.0", &cfg.vnet.netmask);
    inet_pton(AF_INET, "10.0.2.2", &cfg.vnet.gateway);
    inet_pton(AF_INET, "10.0.2.3", &cfg.vnet.dns);
    inet_pton(AF_INET6, "fd00::", &cfg.vnet.prefix6);
    cfg.vnet.prefix6_len = 64;
    inet_pton(AF_INET6, "fd00::2", &cfg.vnet.gateway6);
    inet_pton(AF_INET6, "fd00::3", &cfg.vnet.dns6);
    cfg.ipv6 = TRUE;
    for (guint i = 0; i < G_N_ELEMENTS(default_ignore); i++)
        g_ptr_array_add(ignore, (gpointer)default_ignore[i]);
    switch (kind) {
    case CFG_NOLO:
        cfg.disable_host_loopback = TRUE;
        break;
    case CFG_NOV6:
        cfg.ipv6 = FALSE;
        break;
    case CFG_CIDR:
        inet_pton(AF_INET, "10.0.135.128", &cfg.vnet.network);
        inet_pton(AF_INET, "255.255.255.128", &cfg.vnet.netmask);
        inet_pton(AF_INET, "10.0.135.130", &cfg.vnet.gateway);
        inet_pton(AF_INET, "10.0.135.131", &cfg.vnet.dns);
        break;
    case CFG_IGNORE_10:
        g_ptr_array_add(ignore, (gpointer) "10.0.0.0/8");
        break;
    default:
        break;
    }
    cfg.ignore = ignore;
    p = pb_policy_new(&cfg, &error);
    g_assert_no_error(error);
    g_assert_nonnull(p);
    return p;
}

typedef struct {
    CfgKind cfg;
    const char *dst;
    PbPolicyVerdict verdict;
    const char *host_dst; /* on BYPASS; NULL: same as dst */
} PolicyCase;

static const PolicyCase cases[] = {
    /* IPv4: ordinary destinations */
    { CFG_DEFAULT, "1.1.1.1", PB_POLICY_BYPASS, NULL },
    { CFG_DEFAULT, "192.0.2.1", PB_POLICY_BYPASS, NULL },
    { CFG_DEFAULT, "192.0.2.127", PB_POLICY_BYPASS, NULL },
    { CFG_DEFAULT, "10.0.3.1", PB_POLICY_BYPASS, NULL },
    { CFG_DEFAULT, "10.0.1.255", PB_POLICY_BYPASS, NULL },
    { CFG_DEFAULT, "172.16.0.1", PB_POLICY_BYPASS, NULL },
    { CFG_DEFAULT, "223.255.255.255", PB_POLICY_BYPASS, NULL },
    { CFG_DEFAULT, "1.0.0.0", PB_POLICY_BYPASS, NULL },
    /* the gateway maps to host loopback */
    { CFG_DEFAULT, "10.0.2.2", PB_POLICY_BYPASS, "127.0.0.1" },
    /* the rest of the virtual network stays on slirp */
    { CFG_DEFAULT, "10.0.2.3", PB_POLICY_DENY_VNET, NULL },
    { CFG_DEFAULT, "10.0.2.0", PB_POLICY_DENY_VNET, NULL },
    { CFG_DEFAULT, "10.0.2.1", PB_POLICY_DENY_VNET, NULL },
    { CFG_DEFAULT, "10.0.2.15", PB_POLICY_DENY_VNET, NULL },
    { CFG_DEFAULT, "10.0.2.100", PB_POLICY_DENY_VNET, NULL },
    { CFG_DEFAULT, "10.0.2.255", PB_POLICY_DENY_VNET, NULL },
    /* special IPv4 ranges */
    { CFG_DEFAULT, "127.0.0.1", PB_POLICY_DENY_LOOPBACK, NULL },
    { CFG_DEFAULT, "127.0.0.53", PB_POLICY_DENY_LOOPBACK, NULL },
    { CFG_DEFAULT, "127.255.255.255", PB_POLICY_DENY_LOOPBACK, NULL },
    { CFG_DEFAULT, "0.0.0.0", PB_POLICY_DENY_UNSPECIFIED, NULL },
    { CFG_DEFAULT, "0.1.2.3", PB_POLICY_DENY_UNSPECIFIED, NULL },
    { CFG_DEFAULT, "169.254.169.254", PB_POLICY_DENY_LINKLOCAL, NULL },
    { CFG_DEFAULT, "169.254.0.0", PB_POLICY_DENY_LINKLOCAL, NULL },
    { CFG_DEFAULT, "169.253.255.255", PB_POLICY_BYPASS, NULL },
    { CFG_DEFAULT, "224.0.0.1", PB_POLICY_DENY_MULTICAST, NULL },
    { CFG_DEFAULT, "239.255.255.250", PB_POLICY_DENY_MULTICAST, NULL },
    { CFG_DEFAULT, "240.0.0.1", PB_POLICY_DENY_RESERVED, NULL },
    { CFG_DEFAULT, "255.255.255.255", PB_POLICY_DENY_RESERVED, NULL },
    /* --bypass-ignore */
    { CFG_DEFAULT, "192.0.2.128", PB_POLICY_DENY_IGNORED, NULL },
    { CFG_DEFAULT, "192.0.2.129", PB_POLICY_DENY_IGNORED, NULL },
    { CFG_DEFAULT, "192.0.2.255", PB_POLICY_DENY_IGNORED, NULL },
    { CFG_DEFAULT, "192.0.3.0", PB_POLICY_BYPASS, NULL },
    /* an ignore CIDR covering the gateway as the container sees it */
    { CFG_IGNORE_10, "10.0.2.2", PB_POLICY_DENY_IGNORED, NULL },
    { CFG_IGNORE_10, "10.9.9.9", PB_POLICY_DENY_IGNORED, NULL },
    { CFG_IGNORE_10, "11.0.0.1", PB_POLICY_BYPASS, NULL },
    /* --disable-host-loopback: the gateway is not bypassed */
    { CFG_NOLO, "10.0.2.2", PB_POLICY_DENY_GATEWAY, NULL },
    { CFG_NOLO, "10.0.2.3", PB_POLICY_DENY_VNET, NULL },
    { CFG_NOLO, "1.1.1.1", PB_POLICY_BYPASS, NULL },
    { CFG_NOLO, "fd00::2", PB_POLICY_DENY_GATEWAY, NULL },
    { CFG_NOLO, "::ffff:10.0.2.2", PB_POLICY_DENY_GATEWAY, NULL },
    { CFG_NOLO, "2001:db8::1", PB_POLICY_BYPASS, NULL },
    /* another --cidr */
    { CFG_CIDR, "10.0.135.130", PB_POLICY_BYPASS, "127.0.0.1" },
    { CFG_CIDR, "10.0.135.131", PB_POLICY_DENY_VNET, NULL },
    { CFG_CIDR, "10.0.135.128", PB_POLICY_DENY_VNET, NULL },
    { CFG_CIDR, "10.0.135.255", PB_POLICY_DENY_VNET, NULL },
    { CFG_CIDR, "10.0.135.127", PB_POLICY_BYPASS, NULL },
    { CFG_CIDR, "10.0.2.2", PB_POLICY_BYPASS, NULL },
    { CFG_CIDR, "10.0.2.3", PB_POLICY_BYPASS, NULL },
    /* IPv6 */
    { CFG_DEFAULT, "2001:db8::1", PB_POLICY_BYPASS, NULL },
    { CFG_DEFAULT, "2606:4700::1111", PB_POLICY_BYPASS, NULL },
    { CFG_DEFAULT, "fd00::2", PB_POLICY_BYPASS, "::1" },
    { CFG_DEFAULT, "fd00::3", PB_POLICY_DENY_VNET, NULL },
    { CFG_DEFAULT, "fd00::100", PB_POLICY_DENY_VNET, NULL },
    { CFG_DEFAULT, "fd00::1:2", PB_POLICY_DENY_VNET, NULL },
    { CFG_DEFAULT, "fd00::ffff:ffff:ffff:ffff", PB_POLICY_DENY_VNET, NULL },
    { CFG_DEFAULT, "fd00:0:0:1::2", PB_POLICY_BYPASS, NULL },
    { CFG_DEFAULT, "fd01::2", PB_POLICY_BYPASS, NULL },
    { CFG_DEFAULT, "::1", PB_POLICY_DENY_LOOPBACK, NULL },
    { CFG_DEFAULT, "::", PB_POLICY_DENY_UNSPECIFIED, NULL },
    { CFG_DEFAULT, "fe80::1", PB_POLICY_DENY_LINKLOCAL, NULL },
    { CFG_DEFAULT, "febf::1", PB_POLICY_DENY_LINKLOCAL, NULL },
    { CFG_DEFAULT, "fec0::1", PB_POLICY_DENY_LINKLOCAL, NULL },
    { CFG_DEFAULT, "fe7f::1", PB_POLICY_BYPASS, NULL },
    { CFG_DEFAULT, "ff02::1", PB_POLICY_DENY_MULTICAST, NULL },
    { CFG_DEFAULT, "ff05::1:3", PB_POLICY_DENY_MULTICAST, NULL },
    { CFG_DEFAULT, "2001:db8:ffff::1", PB_POLICY_DENY_IGNORED, NULL },
    { CFG_DEFAULT, "2001:db8:fffe::1", PB_POLICY_BYPASS, NULL },
    /* IPv4-mapped: judged as IPv4, translated in the mapped form */
    { CFG_DEFAULT, "::ffff:127.0.0.1", PB_POLICY_DENY_LOOPBACK, NULL },
    { CFG_DEFAULT, "::ffff:0.0.0.0", PB_POLICY_DENY_UNSPECIFIED, NULL },
    { CFG_DEFAULT, "::ffff:10.0.2.2", PB_POLICY_BYPASS, "::ffff:127.0.0.1" },
    { CFG_DEFAULT, "::ffff:10.0.2.3", PB_POLICY_DENY_VNET, NULL },
    { CFG_DEFAULT, "::ffff:1.1.1.1", PB_POLICY_BYPASS, NULL },
    { CFG_DEFAULT, "::ffff:192.0.2.129", PB_POLICY_DENY_IGNORED, NULL },
    { CFG_DEFAULT, "::ffff:169.254.1.1", PB_POLICY_DENY_LINKLOCAL, NULL },
    { CFG_DEFAULT, "::ffff:224.0.0.1", PB_POLICY_DENY_MULTICAST, NULL },
    { CFG_DEFAULT, "::ffff:255.255.255.255", PB_POLICY_DENY_RESERVED, NULL },
    /* IPv4-compatible (deprecated): never bypassed */
    { CFG_DEFAULT, "::10.0.2.2", PB_POLICY_DENY_V4COMPAT, NULL },
    { CFG_DEFAULT, "::1.1.1.1", PB_POLICY_DENY_V4COMPAT, NULL },
    { CFG_DEFAULT, "::127.0.0.1", PB_POLICY_DENY_V4COMPAT, NULL },
    { CFG_DEFAULT, "::0.0.0.2", PB_POLICY_DENY_V4COMPAT, NULL },
    /* IPv6 disabled: only IPv4-mapped traffic is bypassed */
    { CFG_NOV6, "2001:db8::1", PB_POLICY_DENY_IPV6_OFF, NULL },
    { CFG_NOV6, "fd00::2", PB_POLICY_DENY_IPV6_OFF, NULL },
    { CFG_NOV6, "fe80::1", PB_POLICY_DENY_IPV6_OFF, NULL },
    { CFG_NOV6, "::1", PB_POLICY_DENY_LOOPBACK, NULL },
    { CFG_NOV6, "::ffff:1.1.1.1", PB_POLICY_BYPASS, NULL },
    { CFG_NOV6, "::ffff:10.0.2.2", PB_POLICY_BYPASS, "::ffff:127.0.0.1" },
    { CFG_NOV6, "::ffff:127.0.0.1", PB_POLICY_DENY_LOOPBACK, NULL },
    { CFG_NOV6, "1.1.1.1", PB_POLICY_BYPASS, NULL },
    { CFG_NOV6, "10.0.2.2", PB_POLICY_BYPASS, "127.0.0.1" },
};

/*
 * make_sockaddr: @text as a sockaddr_in (dotted quad) or sockaddr_in6.
 */
static socklen_t
make_sockaddr(const char *text, guint16 port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (strchr(text, ':') == NULL) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;

        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        g_assert_cmpint(inet_pton(AF_INET, text, &in->sin_addr), ==, 1);
        return sizeof *in;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        in6->sin6_flowinfo = htonl(0x12345);
        in6->sin6_scope_id = 7;
        g_assert_cmpint(inet_pton(AF_INET6, text, &in6->sin6_addr), ==, 1);
        return sizeof *in6;
    }
}

/*
 * sockaddr_text: the address of @ss as text (family-aware).
 */
static char *
sockaddr_text(const struct sockaddr_storage *ss)
{
    char buf[INET6_ADDRSTRLEN] = "";

    if (ss->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf,
                  sizeof buf);
    else if (ss->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf,
                  sizeof buf);
    return g_strdup(buf);
}

/* Every row of the table, with the host-side destination's details. */
static void
test_table(void)
{
    PbPolicy *policies[CFG_IGNORE_10 + 1] = { NULL };

    for (guint i = 0; i <= CFG_IGNORE_10; i++)
        policies[i] = make_policy(i);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        const PolicyCase *c = &cases[i];
        struct sockaddr_storage in, out;
        socklen_t len = make_sockaddr(c->dst, 8080, &in), out_len = 0;
        PbPolicyVerdict v;
        g_autofree char *got = NULL;

        memset(&out, 0xaa, sizeof out);
        v = pb_policy_check(policies[c->cfg], (struct sockaddr *)&in, len, &out,
                            &out_len);
        if (v != c->verdict)
            g_error("cfg %d dst %s: expected \"%s\", got \"%s\"", c->cfg,
                    c->dst, pb_policy_verdict_str(c->verdict),
                    pb_policy_verdict_str(v));
        if (v != PB_POLICY_BYPASS)
            continue;
        g_assert_cmpint(out.ss_family, ==, in.ss_family);
        g_assert_cmpuint(out_len, ==, len);
        got = sockaddr_text(&out);
        g_assert_cmpstr(got, ==, c->host_dst ? c->host_dst : c->dst);
        if (in.ss_family == AF_INET) {
            g_assert_cmpuint(ntohs(((struct sockaddr_in *)&out)->sin_port), ==,
                             8080);
        } else {
            struct sockaddr_in6 *o6 = (struct sockaddr_in6 *)&out;

            g_assert_cmpuint(ntohs(o6->sin6_port), ==, 8080);
            g_assert_cmpuint(ntohl(o6->sin6_flowinfo), ==, 0x12345);
            /* the scope is kept, except on the way to host loopback */
            g_assert_cmpuint(o6->sin6_scope_id, ==, c->host_dst ? 0 : 7);
        }
    }
    for (guint i = 0; i <= CFG_IGNORE_10; i++)
        pb_policy_free(policies[i]);
}

/* The kernel's minimum sockaddr lengths, and non-inet families. */
static void
test_lengths(void)
{
    g_autoptr(PbPolicy) p = make_policy(CFG_DEFAULT);
    struct sockaddr_storage in, out;
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    socklen_t out_len;

    make_sockaddr("1.1.1.1", 80, &in);
    g_assert_cmpint(
        pb_policy_check(p, (struct sockaddr *)&in, 16, &out, &out_len), ==,
        PB_POLICY_BYPASS);
    g_assert_cmpint(
        pb_policy_check(p, (struct sockaddr *)&in, 15, &out, &out_len), ==,
        PB_POLICY_DENY_SHORT);
    g_assert_cmpint(
        pb_policy_check(p, (struct sockaddr *)&in, 1, &out, &out_len), ==,
        PB_POLICY_DENY_SHORT);
    g_assert_cmpint(
        pb_policy_check(p, (struct sockaddr *)&in, 0, &out, &out_len), ==,
        PB_POLICY_DENY_SHORT);
    /* a longer AF_INET sockaddr is fine (the kernel ignores the rest) */
    g_assert_cmpint(
        pb_policy_check(p, (struct sockaddr *)&in, 128, &out, &out_len), ==,
        PB_POLICY_BYPASS);
    g_assert_cmpuint(out_len, ==, sizeof(struct sockaddr_in));

    make_sockaddr("2001:db8::1", 80, &in);
    /* SIN6_LEN_RFC2133 (24): no scope id, read as 0 */
    g_assert_cmpint(
        pb_policy_check(p, (struct sockaddr *)&in, 24, &out, &out_len), ==,
        PB_POLICY_BYPASS);
    g_assert_cmpuint(((struct sockaddr_in6 *)&out)->sin6_scope_id, ==, 0);
    g_assert_cmpint(
        pb_policy_check(p, (struct sockaddr *)&in, 23, &out, &out_len), ==,
        PB_POLICY_DENY_SHORT);
    g_assert_cmpint(
        pb_policy_check(p, (struct sockaddr *)&in, 28, &out, &out_len), ==,
        PB_POLICY_BYPASS);

    g_assert_cmpint(
        pb_policy_check(p, (struct sockaddr *)&un, sizeof un, &out, &out_len),
        ==, PB_POLICY_DENY_FAMILY);
    in.ss_family = AF_UNSPEC;
    g_assert_cmpint(
        pb_policy_check(p, (struct sockaddr *)&in, 16, &out, &out_len), ==,
        PB_POLICY_DENY_FAMILY);
}

/* CIDR parsing: forms, masking, errors naming the input. */
static void
test_cidr(void)
{
    static const char *const bad[] = {
        "",        "foo",        "1.2.3.4/",   "1.2.3.4/33", "::/129",
        "1.2.3/8", "1.2.3.4/8x", "1.2.3.4/-1", "10.0.0.0/ 8"
    };
    PbCidr c;
    char buf[INET6_ADDRSTRLEN];

    g_assert_true(pb_cidr_parse("10.1.2.3/8", &c, NULL));
    g_assert_cmpint(c.family, ==, AF_INET);
    g_assert_cmpuint(c.prefix, ==, 8);
    g_assert_cmpstr(inet_ntop(AF_INET, c.addr, buf, sizeof buf), ==,
                    "10.0.0.0");
    g_assert_true(pb_cidr_parse("192.0.2.77", &c, NULL));
    g_assert_cmpuint(c.prefix, ==, 32);
    g_assert_true(pb_cidr_parse("10.1.2.3/0", &c, NULL));
    g_assert_cmpstr(inet_ntop(AF_INET, c.addr, buf, sizeof buf), ==, "0.0.0.0");
    g_assert_true(pb_cidr_parse("2001:db8:ab:cd::1/36", &c, NULL));
    g_assert_cmpint(c.family, ==, AF_INET6);
    g_assert_cmpuint(c.prefix, ==, 36);
    g_assert_cmpstr(inet_ntop(AF_INET6, c.addr, buf, sizeof buf), ==,
                    "2001:db8::");
    g_assert_true(pb_cidr_parse("::1", &c, NULL));
    g_assert_cmpuint(c.prefix, ==, 128);

    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;

        g_assert_false(pb_cidr_parse(bad[i], &c, &error));
        g_assert_error(error, PB_ERROR, PB_ERROR_INVALID);
        g_assert_nonnull(strstr(error->message, bad[i]));
    }
}

/* A bad --bypass-ignore entry fails pb_policy_new() with its name. */
static void
test_bad_ignore(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) ignore = g_ptr_array_new();
    PbAgentConfig cfg = { 0 };

    g_ptr_array_add(ignore, (gpointer) "192.0.2.0/24");
    g_ptr_array_add(ignore, (gpointer) "300.1.1.1/8");
    cfg.ignore = ignore;
    g_assert_null(pb_policy_new(&cfg, &error));
    g_assert_error(error, PB_ERROR, PB_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "300.1.1.1/8"));
}

/* Every verdict has a name. */
static void
test_names(void)
{
    for (int v = PB_POLICY_BYPASS; v <= PB_POLICY_DENY_ROUTED; v++)
        g_assert_cmpstr(pb_policy_verdict_str(v), !=, "?");
    g_assert_cmpstr(pb_policy_verdict_str(PB_POLICY_DENY_ROUTED + 1), ==, "?");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/policy/table", test_table);
    g_test_add_func("/policy/lengths", test_lengths);
    g_test_add_func("/policy/cidr", test_cidr);
    g_test_add_func("/policy/bad-ignore", test_bad_ignore);
    g_test_add_func("/policy/names", test_names);
    return g_test_run();
}
