/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_cli.c: unit tests for slirp-bridge/cli.c.
 *
 * Theory of operation: each test builds an argv (argv[0] = "slirpbypass"),
 * runs sb_cli_parse() on a fresh SbConfig and checks the resulting fields,
 * warnings, or the exact GError (domain, code, message).  The expected
 * texts are slirp4netns 1.2.0's, checked against /usr/bin/slirp4netns;
 * tests/bridge/test-cli.sh compares the built binary with it byte for byte.
 * Parsing never touches the network; only access()/getifaddrs()/fcntl()
 * are consulted, and the tests pick paths and fds that exist everywhere.
 */
#include "slirp_bridge.h"
#include "sb_build_config.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <string.h>
#include <glib/gstdio.h>
#include <unistd.h>

/* One parse: inputs and everything sb_cli_parse() produced. */
typedef struct {
    SbConfig cfg;
    SbCliAction action;
    GError *error;
    gboolean ok;
} Parsed;

/* read the configuration files (test_config_files() only) */
static gboolean with_config;

/**
 * parse_argv: run sb_cli_parse() on "slirpbypass" + @args.
 * @args: NULL-terminated.  Copied, since getopt permutes argv.
 */
static void
parse_argv(Parsed *p, const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    guint i;

    g_ptr_array_add(argv, g_strdup("slirpbypass"));
    for (i = 0; args[i]; i++)
        g_ptr_array_add(argv, g_strdup(args[i]));
    /* getopt may permute the pointers; the array owns them all anyway. */
    g_ptr_array_add(argv, NULL);
    sb_config_init(&p->cfg);
    p->cfg.read_config_files = with_config;
    p->error = NULL;
    /* getopt only reorders the pointers, so the array still owns each
     * string exactly once. */
    p->ok = sb_cli_parse((int)argv->len - 1, (char **)argv->pdata, &p->cfg,
                         &p->action, &p->error);
}

/**
 * parse: varargs front end of parse_argv(); the list ends with NULL.
 */
static void G_GNUC_NULL_TERMINATED
parse(Parsed *p, ...)
{
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    va_list ap;
    const char *a;

    va_start(ap, p);
    while ((a = va_arg(ap, const char *)) != NULL)
        g_ptr_array_add(args, (gpointer)a);
    va_end(ap);
    g_ptr_array_add(args, NULL);
    parse_argv(p, (const char *const *)args->pdata);
}

/** parsed_clear: release a Parsed. */
static void
parsed_clear(Parsed *p)
{
    sb_config_clear(&p->cfg);
    g_clear_error(&p->error);
}

/** ip4: dotted quad of @a, written into @buf. */
static const char *
ip4(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
    return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/** assert_ok: the parse succeeded with action RUN. */
#define assert_ok(p)                                                           \
    do {                                                                       \
        g_assert_no_error((p)->error);                                         \
        g_assert_true((p)->ok);                                                \
        g_assert_cmpint((p)->action, ==, SB_CLI_RUN);                          \
    } while (0)

/** assert_warnings: cfg->warnings equals the NULL-terminated list. */
static void
assert_warnings(const SbConfig *cfg, const char *const *want)
{
    guint i;

    for (i = 0; want[i]; i++) {
        g_assert_cmpuint(i, <, cfg->warnings->len);
        g_assert_cmpstr(g_ptr_array_index(cfg->warnings, i), ==, want[i]);
    }
    g_assert_cmpuint(cfg->warnings->len, ==, i);
}

static void
test_defaults(void)
{
    Parsed p;
    char b[INET_ADDRSTRLEN];
    char b6[INET6_ADDRSTRLEN];

    parse(&p, "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_false(p.cfg.configure);
    g_assert_cmpint(p.cfg.exit_fd, ==, -1);
    g_assert_cmpint(p.cfg.ready_fd, ==, -1);
    g_assert_cmpuint(p.cfg.mtu, ==, 1500);
    g_assert_false(p.cfg.enable_ipv6);
    g_assert_null(p.cfg.api_socket);
    g_assert_false(p.cfg.disable_host_loopback);
    g_assert_cmpint(p.cfg.netns_type, ==, SB_NETNS_PID);
    g_assert_null(p.cfg.userns_path);
    g_assert_false(p.cfg.enable_sandbox);
    g_assert_false(p.cfg.enable_seccomp);
    g_assert_false(p.cfg.has_outbound_addr);
    g_assert_false(p.cfg.has_outbound_addr6);
    g_assert_false(p.cfg.disable_dns);
    g_assert_false(p.cfg.has_macaddr);
    g_assert_cmpint(p.cfg.target_type, ==, SB_TARGET_NETNS);
    g_assert_cmpint(p.cfg.target_pid, ==, 1);
    g_assert_null(p.cfg.netns_path);
    g_assert_cmpint(p.cfg.target_tapfd, ==, -1);
    g_assert_cmpstr(p.cfg.tapname, ==, "tap0");
    g_assert_cmpuint(p.cfg.publish->len, ==, 0);
    g_assert_null(p.cfg.bypass_socket);
    g_assert_cmpuint(p.cfg.bypass_ignore->len, ==, 0);
    g_assert_cmpuint(p.cfg.warnings->len, ==, 0);
    g_assert_cmpstr(ip4(p.cfg.vnet.network, b), ==, "10.0.2.0");
    g_assert_cmpstr(ip4(p.cfg.vnet.netmask, b), ==, "255.255.255.0");
    g_assert_cmpuint(p.cfg.vnet.prefix_len, ==, 24);
    g_assert_cmpstr(ip4(p.cfg.vnet.gateway, b), ==, "10.0.2.2");
    g_assert_cmpstr(ip4(p.cfg.vnet.dns, b), ==, "10.0.2.3");
    g_assert_cmpstr(ip4(p.cfg.vnet.dhcp_start, b), ==, "10.0.2.15");
    g_assert_cmpstr(ip4(p.cfg.vnet.guest, b), ==, "10.0.2.100");
    g_assert_cmpstr(inet_ntop(AF_INET6, &p.cfg.vnet.prefix6, b6, sizeof b6), ==,
                    "fd00::");
    g_assert_cmpuint(p.cfg.vnet.prefix6_len, ==, 64);
    g_assert_cmpstr(inet_ntop(AF_INET6, &p.cfg.vnet.gateway6, b6, sizeof b6),
                    ==, "fd00::2");
    g_assert_cmpstr(inet_ntop(AF_INET6, &p.cfg.vnet.dns6, b6, sizeof b6), ==,
                    "fd00::3");
    parsed_clear(&p);
    /* Clearing twice is harmless (main's error paths may). */
    sb_config_clear(&p.cfg);
}

static void
test_configure(void)
{
    Parsed p;

    parse(&p, "-c", "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_true(p.cfg.configure);
    parsed_clear(&p);
    parse(&p, "--configure", "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_true(p.cfg.configure);
    parsed_clear(&p);
    parse(&p, "--conf", "1", "tap0", NULL); /* getopt abbreviation */
    assert_ok(&p);
    g_assert_true(p.cfg.configure);
    parsed_clear(&p);
}

static void
test_fds(void)
{
    Parsed p;

    parse(&p, "-e", "3", "-r", "4", "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_cmpint(p.cfg.exit_fd, ==, 3);
    g_assert_cmpint(p.cfg.ready_fd, ==, 4);
    parsed_clear(&p);
    parse(&p, "--exit-fd=5", "--ready-fd=0", "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_cmpint(p.cfg.exit_fd, ==, 5);
    g_assert_cmpint(p.cfg.ready_fd, ==, 0);
    parsed_clear(&p);
    parse(&p, "--exit-fd", "6", "--ready-fd", "7", "-e8", "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_cmpint(p.cfg.exit_fd, ==, 8);
    g_assert_cmpint(p.cfg.ready_fd, ==, 7);
    parsed_clear(&p);
}

static void
test_mtu(void)
{
    static const struct {
        const char *arg;
        guint mtu;
    } good[] = {
        { "68", 68 },       { "1500", 1500 },  { "65520", 65520 },
        { "65521", 65521 }, { " 9000", 9000 }, /* strtol's blanks, as s4n */
    };
    Parsed p;
    guint i;

    for (i = 0; i < G_N_ELEMENTS(good); i++) {
        parse(&p, "-m", good[i].arg, "1", "tap0", NULL);
        assert_ok(&p);
        g_assert_cmpuint(p.cfg.mtu, ==, good[i].mtu);
        parsed_clear(&p);
    }
    parse(&p, "--mtu=65520", "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_cmpuint(p.cfg.mtu, ==, 65520);
    parsed_clear(&p);
    parse(&p, "--mtu", "1400", "-m1280", "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_cmpuint(p.cfg.mtu, ==, 1280);
    parsed_clear(&p);
}

static void
test_ipv6_api_dns(void)
{
    Parsed p;
    static const char *const w[] = {
        "WARNING: Support for IPv6 is experimental",
        "WARNING: Support for IPv6 is experimental", NULL
    };

    parse(&p, "-6", "--enable-ipv6", "-a", "/tmp/a.sock", "--api-socket=/b",
          "--disable-dns", "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_true(p.cfg.enable_ipv6);
    g_assert_cmpstr(p.cfg.api_socket, ==, "/b"); /* last one wins */
    g_assert_true(p.cfg.disable_dns);
    assert_warnings(&p.cfg, w);
    parsed_clear(&p);
    parse(&p, "--api-socket", "/c", "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_cmpstr(p.cfg.api_socket, ==, "/c");
    parsed_clear(&p);
}

static void
test_cidr_option(void)
{
    Parsed p;
    char b[INET_ADDRSTRLEN];

    parse(&p, "--cidr=10.0.135.128/25", "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_cmpstr(ip4(p.cfg.vnet.network, b), ==, "10.0.135.128");
    g_assert_cmpstr(ip4(p.cfg.vnet.netmask, b), ==, "255.255.255.128");
    g_assert_cmpuint(p.cfg.vnet.prefix_len, ==, 25);
    g_assert_cmpstr(ip4(p.cfg.vnet.gateway, b), ==, "10.0.135.130");
    g_assert_cmpstr(ip4(p.cfg.vnet.dns, b), ==, "10.0.135.131");
    g_assert_cmpstr(ip4(p.cfg.vnet.dhcp_start, b), ==, "10.0.135.143");
    g_assert_cmpstr(ip4(p.cfg.vnet.guest, b), ==, "10.0.135.228");
    parsed_clear(&p);
    parse(&p, "--cidr", "192.168.0.0/16", "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_cmpstr(ip4(p.cfg.vnet.guest, b), ==, "192.168.0.100");
    parsed_clear(&p);
}

static void
test_booleans_and_aliases(void)
{
    Parsed p;
    static const char *const w[] = {
        "WARNING: Support for seccomp is experimental",
        "WARNING: --no-host-loopback is deprecated and will be removed in "
        "future releases, please use --disable-host-loopback instead.",
        "WARNING: Support for IPv6 is experimental",
        "WARNING: --create-sandbox is deprecated and will be removed in "
        "future releases, please use --enable-sandbox instead.",
        "WARNING: too many arguments",
        NULL,
    };

    parse(&p, "--disable-host-loopback", "--enable-sandbox", "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_true(p.cfg.disable_host_loopback);
    g_assert_true(p.cfg.enable_sandbox);
    g_assert_cmpuint(p.cfg.warnings->len, ==, 0);
    parsed_clear(&p);
    /* The order slirp4netns prints them in (checked against 1.2.0). */
    parse(&p, "--enable-seccomp", "--no-host-loopback", "-6",
          "--create-sandbox", "1", "tap0", "extra", NULL);
    assert_ok(&p);
    g_assert_true(p.cfg.enable_seccomp);
    g_assert_true(p.cfg.disable_host_loopback);
    g_assert_true(p.cfg.enable_sandbox);
    g_assert_true(p.cfg.enable_ipv6);
    assert_warnings(&p.cfg, w);
    g_assert_cmpstr(p.cfg.tapname, ==, "tap0");
    parsed_clear(&p);
}

static void
test_netns_types(void)
{
    Parsed p;

    parse(&p, "--netns-type=pid", "42", "tap1", NULL);
    assert_ok(&p);
    g_assert_cmpint(p.cfg.netns_type, ==, SB_NETNS_PID);
    g_assert_cmpint(p.cfg.target_pid, ==, 42);
    parsed_clear(&p);
    parse(&p, "--netns-type", "path", "/proc/self/ns/net", "tap1", NULL);
    assert_ok(&p);
    g_assert_cmpint(p.cfg.netns_type, ==, SB_NETNS_PATH);
    g_assert_cmpstr(p.cfg.netns_path, ==, "/proc/self/ns/net");
    g_assert_cmpstr(p.cfg.tapname, ==, "tap1");
    parsed_clear(&p);
    /* Any other word means path mode, as in slirp4netns. */
    parse(&p, "--netns-type=whatever", "/", "tap1", NULL);
    assert_ok(&p);
    g_assert_cmpint(p.cfg.netns_type, ==, SB_NETNS_PATH);
    g_assert_cmpstr(p.cfg.netns_path, ==, "/");
    parsed_clear(&p);
    /* tapfd: FD (stdin is open), TAPNAME optional, -c silently ignored. */
    parse(&p, "--netns-type=tapfd", "-c", "0", NULL);
    assert_ok(&p);
    g_assert_cmpint(p.cfg.netns_type, ==, SB_NETNS_TAPFD);
    g_assert_cmpint(p.cfg.target_tapfd, ==, 0);
    g_assert_null(p.cfg.tapname);
    g_assert_false(p.cfg.configure);
    parsed_clear(&p);
    parse(&p, "--netns-type=tapfd", "2", "tap9", NULL);
    assert_ok(&p);
    g_assert_cmpint(p.cfg.target_tapfd, ==, 2);
    g_assert_cmpstr(p.cfg.tapname, ==, "tap9");
    g_assert_cmpuint(p.cfg.warnings->len, ==, 0);
    parsed_clear(&p);
    parse(&p, "--netns-type=tapfd", "2", "tap9", "x", NULL);
    assert_ok(&p);
    g_assert_cmpuint(p.cfg.warnings->len, ==, 1);
    g_assert_cmpstr(g_ptr_array_index(p.cfg.warnings, 0), ==,
                    "WARNING: too many arguments");
    parsed_clear(&p);
    parse(&p, "--userns-path=/proc/self/ns/user", "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_cmpstr(p.cfg.userns_path, ==, "/proc/self/ns/user");
    parsed_clear(&p);
    parse(&p, "--userns-path", "/", "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_cmpstr(p.cfg.userns_path, ==, "/");
    parsed_clear(&p);
}

/**
 * first_if_addr: the first address of @family on interface @ifname, as
 * getifaddrs() lists them, or FALSE (then the caller skips).
 */
static gboolean
first_if_addr(const char *ifname, int family, void *out, size_t len)
{
    struct ifaddrs *ifas = NULL, *ifa;
    gboolean found = FALSE;

    if (getifaddrs(&ifas) != 0)
        return FALSE;
    for (ifa = ifas; ifa && !found; ifa = ifa->ifa_next) {
        if (ifa->ifa_addr && ifa->ifa_addr->sa_family == family &&
            strcmp(ifa->ifa_name, ifname) == 0) {
            memcpy(out, ifa->ifa_addr, len);
            found = TRUE;
        }
    }
    freeifaddrs(ifas);
    return found;
}

static void
test_outbound(void)
{
    Parsed p;
    char b[INET6_ADDRSTRLEN];
    struct sockaddr_in lo4;
    struct sockaddr_in6 lo6;
    static const char *const w[] = {
        "WARNING: Support for --outbound-addr is experimental",
        "WARNING: Support for --outbound-addr6 is experimental", NULL
    };

    parse(&p, "--outbound-addr=192.0.2.7", "--outbound-addr6", "2001:db8::7",
          "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_true(p.cfg.has_outbound_addr);
    g_assert_cmpint(p.cfg.outbound_addr.sin_family, ==, AF_INET);
    g_assert_cmpint(p.cfg.outbound_addr.sin_port, ==, 0);
    g_assert_cmpstr(ip4(p.cfg.outbound_addr.sin_addr, b), ==, "192.0.2.7");
    g_assert_true(p.cfg.has_outbound_addr6);
    g_assert_cmpint(p.cfg.outbound_addr6.sin6_family, ==, AF_INET6);
    g_assert_cmpstr(
        inet_ntop(AF_INET6, &p.cfg.outbound_addr6.sin6_addr, b, sizeof b), ==,
        "2001:db8::7");
    assert_warnings(&p.cfg, w);
    parsed_clear(&p);

    /* Interface names resolve with getifaddrs (lo in whatever netns the
     * test runs in; skip the part whose address family lo lacks). */
    if (first_if_addr("lo", AF_INET, &lo4, sizeof lo4)) {
        parse(&p, "--outbound-addr=lo", "1", "tap0", NULL);
        assert_ok(&p);
        g_assert_true(p.cfg.has_outbound_addr);
        g_assert_cmpuint(p.cfg.outbound_addr.sin_addr.s_addr, ==,
                         lo4.sin_addr.s_addr);
        parsed_clear(&p);
    } else {
        g_test_message("lo has no IPv4 address: interface case skipped");
    }
    if (first_if_addr("lo", AF_INET6, &lo6, sizeof lo6)) {
        /* The slirp4netns bug: only --outbound-addr6 names the interface,
         * and it must still resolve. */
        parse(&p, "--outbound-addr6=lo", "1", "tap0", NULL);
        assert_ok(&p);
        g_assert_true(p.cfg.has_outbound_addr6);
        g_assert_false(p.cfg.has_outbound_addr);
        g_assert_cmpmem(&p.cfg.outbound_addr6.sin6_addr, 16, &lo6.sin6_addr,
                        16);
        parsed_clear(&p);
    } else {
        g_test_message("lo has no IPv6 address: interface case skipped");
    }
}

static void
test_macaddress_option(void)
{
    Parsed p;
    static const guint8 want[6] = { 0x0e, 0xd4, 0, 0, 0, 0 };
    static const guint8 full[6] = { 0x0e, 0xd4, 0x18, 0xd9, 0x38, 0xfb };

    parse(&p, "-c", "--macaddress=0e:d4", "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_true(p.cfg.has_macaddr);
    g_assert_cmpmem(p.cfg.macaddr, 6, want, 6);
    parsed_clear(&p);
    /* Order-independent: -c after --macaddress and the positionals. */
    parse(&p, "--macaddress", "0E:D4:18:d9:38:fb", "1", "tap0", "-c", NULL);
    assert_ok(&p);
    g_assert_cmpmem(p.cfg.macaddr, 6, full, 6);
    parsed_clear(&p);
}

static void
test_bess(void)
{
    Parsed p;
    static const char *const w[] = { "WARNING: BESS mode is experimental",
                                     NULL };

    parse(&p, "--target-type=bess", "/nonexistent/bess.sock", NULL);
    assert_ok(&p);
    g_assert_cmpint(p.cfg.target_type, ==, SB_TARGET_BESS);
    g_assert_cmpstr(p.cfg.netns_path, ==, "/nonexistent/bess.sock");
    g_assert_null(p.cfg.tapname);
    assert_warnings(&p.cfg, w);
    parsed_clear(&p);
    parse(&p, "--target-type", "netns", "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_cmpint(p.cfg.target_type, ==, SB_TARGET_NETNS);
    parsed_clear(&p);
}

static void
test_extensions(void)
{
    Parsed p;

    parse(&p, "-p", "8080:80", "--publish=127.0.0.1:5353:53/udp", "--publish",
          "[::1]:443:443/tcp", "--bypass-socket=/run/x.sock",
          "--bypass-ignore=10.0.0.0/8,fd00::/8", "--bypass-ignore",
          "192.168.1.5/32", "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_cmpuint(p.cfg.publish->len, ==, 3);
    g_assert_cmpstr(g_ptr_array_index(p.cfg.publish, 0), ==, "8080:80");
    g_assert_cmpstr(g_ptr_array_index(p.cfg.publish, 1), ==,
                    "127.0.0.1:5353:53/udp");
    g_assert_cmpstr(g_ptr_array_index(p.cfg.publish, 2), ==,
                    "[::1]:443:443/tcp");
    g_assert_cmpstr(p.cfg.bypass_socket, ==, "/run/x.sock");
    g_assert_cmpuint(p.cfg.bypass_ignore->len, ==, 3);
    g_assert_cmpstr(g_ptr_array_index(p.cfg.bypass_ignore, 0), ==,
                    "10.0.0.0/8");
    g_assert_cmpstr(g_ptr_array_index(p.cfg.bypass_ignore, 1), ==, "fd00::/8");
    g_assert_cmpstr(g_ptr_array_index(p.cfg.bypass_ignore, 2), ==,
                    "192.168.1.5/32");
    parsed_clear(&p);
    parse(&p, "--bypass-ignore=0.0.0.0/0,::/0,::ffff:0:0/96", "1", "tap0",
          NULL);
    assert_ok(&p);
    g_assert_cmpuint(p.cfg.bypass_ignore->len, ==, 3);
    parsed_clear(&p);
}

/* -o/--options: podman's keys, bypass, bypass_ignore; argv order decides
 * between -o and the long options; every bad input names itself. */
static void
test_options(void)
{
    Parsed p;
    g_autofree char *def = sb_default_agent_socket();

    parse(&p, "-o", "mtu=9000,allow_host_loopback=false,enable_ipv6=true",
          "--options=cidr=10.9.0.0/16,port_handler=slirp4netns", "-o",
          "bypass=true,bypass_ignore=10.0.0.0/8;fd00::/8", "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_cmpuint(p.cfg.mtu, ==, 9000);
    g_assert_true(p.cfg.disable_host_loopback);
    g_assert_true(p.cfg.enable_ipv6);
    g_assert_cmpuint(p.cfg.vnet.prefix_len, ==, 16);
    g_assert_cmpstr(p.cfg.bypass_agent, ==, def);
    g_assert_null(p.cfg.bypass_socket);
    g_assert_true(p.cfg.bypass_soft);
    g_assert_cmpuint(p.cfg.bypass_ignore->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(p.cfg.bypass_ignore, 1), ==, "fd00::/8");
    parsed_clear(&p);

    /* the later one wins; --bypass-agent is never soft */
    parse(&p, "-o", "mtu=9000", "--mtu=1500", "-o", "bypass=true",
          "--bypass-agent=/run/x.sock", "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_cmpuint(p.cfg.mtu, ==, 1500);
    g_assert_cmpstr(p.cfg.bypass_agent, ==, "/run/x.sock");
    g_assert_false(p.cfg.bypass_soft);
    parsed_clear(&p);
    parse(&p, "--mtu=1500", "-o", "mtu=9000,bypass=false", "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_cmpuint(p.cfg.mtu, ==, 9000);
    g_assert_null(p.cfg.bypass_agent);
    parsed_clear(&p);
    /* --bypass-socket (a listener of its own) is independent of bypass= */
    parse(&p, "--bypass-socket=/run/y.sock", "-o", "bypass=false", "1", "tap0",
          NULL);
    assert_ok(&p);
    g_assert_cmpstr(p.cfg.bypass_socket, ==, "/run/y.sock");
    g_assert_null(p.cfg.bypass_agent);
    parsed_clear(&p);
    parse(&p, "--bypass-agent=rel.sock", "1", "tap0", NULL);
    g_assert_false(p.ok);
    g_assert_nonnull(strstr(p.error->message, "\"rel.sock\""));
    parsed_clear(&p);

    {
        static const struct {
            const char *arg, *msg;
        } bad[] = {
            { "bypass=yes", "-o: bypass=yes: must be true or false" },
            { "allow_host_loopback=1",
              "-o: allow_host_loopback=1: must be true or false" },
            { "mtu=67", "-o: mtu=67: must be a number 68-65521" },
            { "port_handler=pasta",
              "-o: port_handler=pasta: must be slirp4netns or rootlesskit" },
            { "nosuch=1", "-o: unknown option 'nosuch' (known: cidr, "
                          "allow_host_loopback, enable_ipv6, mtu, "
                          "outbound_addr, outbound_addr6, port_handler, "
                          "bypass, bypass_ignore)" },
            { "mtu", "-o: 'mtu' is not KEY=VALUE" },
            { "=1", "-o: '=1' is not KEY=VALUE" },
        };

        for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
            parse(&p, "-o", bad[i].arg, "1", "tap0", NULL);
            g_assert_false(p.ok);
            g_assert_error(p.error, SB_ERROR, SB_ERROR_INVALID);
            g_assert_cmpstr(p.error->message, ==, bad[i].msg);
            parsed_clear(&p);
        }
    }
    parse(&p, "-o", "bypass_ignore=10.0.0.0/33", "1", "tap0", NULL);
    g_assert_false(p.ok);
    g_assert_nonnull(strstr(p.error->message, "bypass_ignore=10.0.0.0/33"));
    parsed_clear(&p);
    /* cidr and outbound_addr are checked with the command line's */
    parse(&p, "-o", "cidr=10.0.2.0/33", "1", "tap0", NULL);
    g_assert_false(p.ok);
    parsed_clear(&p);
}

/* The configuration files: system, then user, then the command line; a
 * broken file fails with its name, except for --help and --version. */
static void
test_config_files(void)
{
    g_autofree char *dir = g_dir_make_tmp("sb-conf-XXXXXX", NULL);
    g_autofree char *sys = g_build_filename(dir, "system.conf", NULL);
    g_autofree char *user = g_build_filename(dir, "user.conf", NULL);
    Parsed p;

    g_setenv("SLIRPBYPASS_SYSTEM_CONFIG", sys, TRUE);
    g_setenv("SLIRPBYPASS_USER_CONFIG", user, TRUE);
    with_config = TRUE;

    /* neither exists: defaults */
    parse(&p, "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_cmpuint(p.cfg.mtu, ==, 1500);
    parsed_clear(&p);

    g_assert_true(g_file_set_contents(
        sys, "# comment\n[slirpbypass]\nmtu=9000\nbypass=true\n", -1, NULL));
    g_assert_true(g_file_set_contents(
        user, "[slirpbypass]\nmtu=4000\nallow_host_loopback=false\n", -1,
        NULL));
    parse(&p, "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_cmpuint(p.cfg.mtu, ==, 4000); /* the user's over the system's */
    g_assert_true(p.cfg.disable_host_loopback);
    g_assert_true(p.cfg.bypass_soft);
    parsed_clear(&p);
    parse(&p, "--mtu=1500", "-o", "bypass=false", "1", "tap0", NULL);
    assert_ok(&p);
    g_assert_cmpuint(p.cfg.mtu, ==, 1500); /* the command line wins */
    g_assert_null(p.cfg.bypass_agent);
    parsed_clear(&p);

    g_assert_true(
        g_file_set_contents(user, "[slirpbypass]\nmtuu=4000\n", -1, NULL));
    parse(&p, "1", "tap0", NULL);
    g_assert_false(p.ok);
    g_assert_nonnull(strstr(p.error->message, user));
    g_assert_nonnull(strstr(p.error->message, "unknown option 'mtuu'"));
    parsed_clear(&p);
    parse(&p, "--help", NULL);
    g_assert_true(p.ok);
    g_assert_cmpint(p.action, ==, SB_CLI_HELP);
    parsed_clear(&p);

    g_assert_true(g_file_set_contents(user, "[other]\nmtu=4000\n", -1, NULL));
    parse(&p, "1", "tap0", NULL);
    g_assert_false(p.ok);
    g_assert_nonnull(strstr(p.error->message, "unknown group [other]"));
    parsed_clear(&p);
    g_assert_true(g_file_set_contents(user, "not a key file", -1, NULL));
    parse(&p, "1", "tap0", NULL);
    g_assert_false(p.ok);
    g_assert_nonnull(strstr(p.error->message, user));
    parsed_clear(&p);
    /* unreadable: a directory in its place */
    g_assert_cmpint(g_remove(user), ==, 0);
    g_assert_cmpint(g_mkdir(user, 0700), ==, 0);
    parse(&p, "1", "tap0", NULL);
    g_assert_false(p.ok);
    g_assert_nonnull(strstr(p.error->message, user));
    parsed_clear(&p);

    with_config = FALSE;
    g_unsetenv("SLIRPBYPASS_SYSTEM_CONFIG");
    g_unsetenv("SLIRPBYPASS_USER_CONFIG");
    g_rmdir(user);
    g_remove(sys);
    g_rmdir(dir);
}

static void
test_permutation(void)
{
    Parsed p;
    char b[INET_ADDRSTRLEN];

    /* The slirp4netns test suite's own style: options after positionals. */
    parse(&p, "-c", "42", "--cidr", "10.0.135.128/25", "tap11", "-m", "1400",
          "--api-socket=/a", "-r", "3", NULL);
    assert_ok(&p);
    g_assert_true(p.cfg.configure);
    g_assert_cmpint(p.cfg.target_pid, ==, 42);
    g_assert_cmpstr(p.cfg.tapname, ==, "tap11");
    g_assert_cmpuint(p.cfg.mtu, ==, 1400);
    g_assert_cmpstr(p.cfg.api_socket, ==, "/a");
    g_assert_cmpint(p.cfg.ready_fd, ==, 3);
    g_assert_cmpstr(ip4(p.cfg.vnet.gateway, b), ==, "10.0.135.130");
    parsed_clear(&p);
    /* "--" ends the options: "-5" is then a (bad) PID, not an option. */
    parse(&p, "--", "-5", "tap0", NULL);
    g_assert_false(p.ok);
    g_assert_error(p.error, SB_ERROR, SB_ERROR_USAGE);
    g_assert_cmpstr(p.error->message, ==, "PID must be a positive integer");
    parsed_clear(&p);
}

static void
test_help_version_actions(void)
{
    Parsed p;

    parse(&p, "-h", NULL);
    g_assert_true(p.ok);
    g_assert_cmpint(p.action, ==, SB_CLI_HELP);
    parsed_clear(&p);
    parse(&p, "--help", "-m", "0", NULL); /* stops at -h, like exit(0) */
    g_assert_true(p.ok);
    g_assert_cmpint(p.action, ==, SB_CLI_HELP);
    parsed_clear(&p);
    parse(&p, "-v", NULL);
    g_assert_true(p.ok);
    g_assert_cmpint(p.action, ==, SB_CLI_VERSION);
    parsed_clear(&p);
    parse(&p, "1", "tap0", "--version", NULL);
    g_assert_true(p.ok);
    g_assert_cmpint(p.action, ==, SB_CLI_VERSION);
    parsed_clear(&p);
    parse(&p, "-m", "0", "-h", NULL); /* an earlier error wins */
    g_assert_false(p.ok);
    g_assert_cmpstr(p.error->message, ==,
                    "MTU must be a positive integer (< 65522)");
    parsed_clear(&p);
}

/* Every error text, with the code that decides whether usage follows. */
typedef struct {
    const char *args[10];
    SbErrorCode code;
    const char *message;
} ErrCase;

#define U SB_ERROR_USAGE
#define I SB_ERROR_INVALID
#define P "2147483647"
static const ErrCase err_cases[] = {
    /* numbers */
    { { "-m", "0", P, "tap0" }, U, "MTU must be a positive integer (< 65522)" },
    { { "-m", "65522", P, "tap0" },
      U,
      "MTU must be a positive integer (< 65522)" },
    { { "-m", "12abc", P, "tap0" },
      U,
      "MTU must be a positive integer (< 65522)" },
    { { "--mtu=", P, "tap0" }, U, "MTU must be a positive integer (< 65522)" },
    { { "--mtu=-5", P, "tap0" },
      U,
      "MTU must be a positive integer (< 65522)" },
    { { "-m", "99999999999999999999", P, "tap0" },
      U,
      "MTU must be a positive integer (< 65522)" },
    { { "-m", "67", P, "tap0" },
      U,
      "MTU 67 is too small: it must be 68-65521" },
    { { "-m", "1", P, "tap0" }, U, "MTU 1 is too small: it must be 68-65521" },
    { { "-e", "-1", P, "tap0" }, U, "exit-fd must be a non-negative integer" },
    { { "--exit-fd=abc", P, "tap0" },
      U,
      "exit-fd must be a non-negative integer" },
    { { "-e", "3abc", P, "tap0" },
      U,
      "exit-fd must be a non-negative integer" },
    { { "-e", "2147483648", P, "tap0" },
      U,
      "exit-fd must be a non-negative integer" },
    { { "-r", "x", P, "tap0" }, U, "ready-fd must be a non-negative integer" },
    { { "--ready-fd", "", P, "tap0" },
      U,
      "ready-fd must be a non-negative integer" },
    /* positionals (empty message: usage only, as slirp4netns) */
    { { NULL }, U, "" },
    { { P }, U, "" },
    { { "-c", "--cidr=10.0.2.0/26", P }, U, "" },
    { { "abc", "tap0" }, U, "PID must be a positive integer" },
    { { "0", "tap0" }, U, "PID must be a positive integer" },
    { { "12x", "tap0" }, U, "PID must be a positive integer" },
    { { "2147483648", "tap0" }, U, "PID must be a positive integer" },
    { { "--netns-type=path", "/nonexistent/ns", "tap0" },
      U,
      "existing path expected when --netns-type=path: No such file or "
      "directory" },
    { { "--netns-type=foo", "/nonexistent/ns", "tap0" },
      U,
      "existing path expected when --netns-type=path: No such file or "
      "directory" },
    { { "--netns-type=path", "/" }, U, "" },
    { { "--userns-path=/nonexistent", P, "tap0" },
      U,
      "userns path doesn't exist: /nonexistent" },
    { { "--userns-path=/nonexistent", "-m", "0", P, "tap0" },
      U,
      "userns path doesn't exist: /nonexistent" },
    { { "-m", "0", "--userns-path=/nonexistent", P, "tap0" },
      U,
      "MTU must be a positive integer (< 65522)" },
    { { P, "tap0123456789abcdef" },
      U,
      "invalid TAPNAME \"tap0123456789abcdef\": it must be 1-15 characters "
      "without '/', ':' or blanks" },
    { { P, "" },
      U,
      "invalid TAPNAME \"\": it must be 1-15 characters without '/', ':' or "
      "blanks" },
    { { P, "a:b" },
      U,
      "invalid TAPNAME \"a:b\": it must be 1-15 characters without '/', ':' "
      "or blanks" },
    { { P, ".." },
      U,
      "invalid TAPNAME \"..\": it must be 1-15 characters without '/', ':' "
      "or blanks" },
    { { "--netns-type=tapfd" }, U, "" },
    { { "--netns-type=tapfd", "x" },
      U,
      "FD must be a non-negative integer when --netns-type=tapfd" },
    { { "--netns-type=tapfd", "-1" }, U, "slirpbypass: invalid option -- '1'" },
    { { "--netns-type=tapfd", "--", "-1" },
      U,
      "FD must be a non-negative integer when --netns-type=tapfd" },
    { { "--netns-type=tapfd", "1000000" },
      U,
      "FD 1000000 is not an open file descriptor: Bad file descriptor" },
    { { "--netns-type=tapfd", "0", "a/b" },
      U,
      "invalid TAPNAME \"a/b\": it must be 1-15 characters without '/', ':' "
      "or blanks" },
    /* getopt's own messages, rebuilt */
    { { "--bogus", P, "tap0" },
      U,
      "slirpbypass: unrecognized option '--bogus'" },
    { { "--bogus=1", P, "tap0" },
      U,
      "slirpbypass: unrecognized option '--bogus=1'" },
    { { "-x", P, "tap0" }, U, "slirpbypass: invalid option -- 'x'" },
    { { "-cx", P, "tap0" }, U, "slirpbypass: invalid option -- 'x'" },
    { { "-:", P, "tap0" }, U, "slirpbypass: invalid option -- ':'" },
    { { "-m" }, U, "slirpbypass: option requires an argument -- 'm'" },
    { { P, "tap0", "-r" },
      U,
      "slirpbypass: option requires an argument -- 'r'" },
    { { "-p" }, U, "slirpbypass: option requires an argument -- 'p'" },
    { { "--mtu" }, U, "slirpbypass: option '--mtu' requires an argument" },
    { { "--mt" }, U, "slirpbypass: option '--mtu' requires an argument" },
    { { P, "tap0", "--api-socket" },
      U,
      "slirpbypass: option '--api-socket' requires an argument" },
    { { "--bypass-ignore" },
      U,
      "slirpbypass: option '--bypass-ignore' requires an argument" },
    { { "--configure=1", P, "tap0" },
      U,
      "slirpbypass: option '--configure' doesn't allow an argument" },
    { { "--conf=1", P, "tap0" },
      U,
      "slirpbypass: option '--configure' doesn't allow an argument" },
    { { "--disable-dns=yes", P, "tap0" },
      U,
      "slirpbypass: option '--disable-dns' doesn't allow an argument" },
    { { "--help=x" },
      U,
      "slirpbypass: option '--help' doesn't allow an argument" },
    { { "--en", P, "tap0" },
      U,
      "slirpbypass: option '--en' is ambiguous; possibilities: "
      "'--enable-ipv6' '--enable-sandbox' '--enable-seccomp'" },
    { { "--m=1400", P, "tap0" },
      U,
      "slirpbypass: option '--m=1400' is ambiguous; possibilities: '--mtu' "
      "'--macaddress'" },
    { { "--outbound", P, "tap0" },
      U,
      "slirpbypass: option '--outbound' is ambiguous; possibilities: "
      "'--outbound-addr' '--outbound-addr6'" },
    { { "--bypass", P, "tap0" },
      U,
      "slirpbypass: option '--bypass' is ambiguous; possibilities: "
      "'--bypass-socket' '--bypass-agent' '--bypass-ignore'" },
    /* cross-option checks */
    { { "--macaddress=0e:d4", P, "tap0" },
      U,
      "--macaddr cannot be specified when --configure or -c is not "
      "specified" },
    { { P, "tap0", "--macaddress", "zz" },
      U,
      "--macaddr cannot be specified when --configure or -c is not "
      "specified" },
    { { "--macaddress=1", "abc" },
      U,
      "--macaddr cannot be specified when --configure or -c is not "
      "specified" },
    { { "--target-type=foo", P, "tap0" },
      U,
      "--target-type must be either \"netns\" or \"bess\"" },
    { { "--target-type=bess" }, U, "" },
    { { "--target-type=bess", "-c" }, U, "" },
    { { "--target-type=bess", "/x", "extra" }, U, "too many arguments" },
    { { "--target-type=bess", "-c", "/x", "extra" }, U, "too many arguments" },
    { { "--target-type=bess", "-c", "/x" },
      U,
      "--configure conflicts with --target-type=bess" },
    { { "--target-type=bess", "--netns-type=path", "/x" },
      U,
      "--netns-type conflicts with --target-type=bess" },
    { { "--target-type=bess", "--userns-path=/", "/x" },
      U,
      "--userns-path conflicts with --target-type=bess" },
    { { "--target-type=bess", "--userns-path=/", "--netns-type=x", "/x" },
      U,
      "--netns-type conflicts with --target-type=bess" },
    { { "--target-type=bess", "--macaddress=1", "/x" },
      U,
      "--macaddr cannot be specified when --configure or -c is not "
      "specified" },
    /* extensions */
    { { "--bypass-socket=", P, "tap0" },
      U,
      "--bypass-socket needs a non-empty PATH" },
    { { "--bypass-ignore=", P, "tap0" },
      U,
      "--bypass-ignore needs CIDR[,CIDR...], got \"\"" },
    { { "--bypass-ignore=10.0.0.0/33", P, "tap0" },
      U,
      "--bypass-ignore: \"10.0.0.0/33\" is not an IPv4 or IPv6 CIDR like "
      "192.168.0.0/16 or fd00::/8" },
    { { "--bypass-ignore=10.0.0.0/8,,fd00::/8", P, "tap0" },
      U,
      "--bypass-ignore: \"\" is not an IPv4 or IPv6 CIDR like "
      "192.168.0.0/16 or fd00::/8" },
    { { "--bypass-ignore=fd00::/129", P, "tap0" },
      U,
      "--bypass-ignore: \"fd00::/129\" is not an IPv4 or IPv6 CIDR like "
      "192.168.0.0/16 or fd00::/8" },
    { { "--bypass-ignore=10.0.0.1", P, "tap0" },
      U,
      "--bypass-ignore: \"10.0.0.1\" is not an IPv4 or IPv6 CIDR like "
      "192.168.0.0/16 or fd00::/8" },
    { { "--bypass-ignore=example.com/8", P, "tap0" },
      U,
      "--bypass-ignore: \"example.com/8\" is not an IPv4 or IPv6 CIDR like "
      "192.168.0.0/16 or fd00::/8" },
    { { "--bypass-ignore=10.0.0.0/+8", P, "tap0" },
      U,
      "--bypass-ignore: \"10.0.0.0/+8\" is not an IPv4 or IPv6 CIDR like "
      "192.168.0.0/16 or fd00::/8" },
    /* configuration phase: no usage */
    { { "--cidr=10.0.2.0/26", P, "tap0" },
      I,
      "prefix length needs to be 1-25" },
    { { "--cidr=10.0.2.1/24", P, "tap0" },
      I,
      "CIDR needs to be a network address like 10.0.2.0/24, not like "
      "10.0.2.100/24" },
    { { "--cidr=10.0.2.0", P, "tap0" }, I, "invalid CIDR: 10.0.2.0" },
    { { "--cidr=1.2.3.4", "-c", "--macaddress=zz", "--outbound-addr=nosuch0", P,
        "tap0" },
      I,
      "invalid CIDR: 1.2.3.4" },
    { { "--outbound-addr=nosuch0", P, "tap0" },
      I,
      "outbound-addr has to be valid ipv4 address or interface name." },
    { { "--outbound-addr=::1", P, "tap0" },
      I,
      "outbound-addr has to be valid ipv4 address or interface name." },
    { { "--outbound-addr6=nosuch0", "--outbound-addr=nosuch0", P, "tap0" },
      I,
      "outbound-addr has to be valid ipv4 address or interface name." },
    { { "--outbound-addr6=nosuch0", P, "tap0" },
      I,
      "outbound-addr6 has to be valid ipv6 address or interface name." },
    { { "--outbound-addr6=127.0.0.1", P, "tap0" },
      I,
      "outbound-addr6 has to be valid ipv6 address or interface name." },
    { { "-c", "--outbound-addr6=nosuch0", "--macaddress=zz", P, "tap0" },
      I,
      "outbound-addr6 has to be valid ipv6 address or interface name." },
    { { "-c", "--macaddress=zz", P, "tap0" },
      I,
      "\"zz\" is an invalid MAC address.\nmacaddress has to be a valid MAC "
      "address (hex string, 6 bytes, each byte separated by a ':')." },
    { { "-c", "--macaddress=0e:d4:1:2:3:4:5", P, "tap0" },
      I,
      "\"0e:d4:1:2:3:4:5\" is an invalid MAC address.  Is it too long?\n"
      "macaddress has to be a valid MAC address (hex string, 6 bytes, each "
      "byte separated by a ':')." },
};
#undef U
#undef I
#undef P

static void
test_errors(void)
{
    guint i;

    for (i = 0; i < G_N_ELEMENTS(err_cases); i++) {
        const ErrCase *c = &err_cases[i];
        Parsed p;
        g_autofree char *joined = g_strjoinv(" ", (char **)c->args);

        g_test_message("case %u: %s", i, joined);
        parse_argv(&p, c->args);
        g_assert_false(p.ok);
        g_assert_error(p.error, SB_ERROR, (gint)c->code);
        g_assert_cmpstr(p.error->message, ==, c->message);
        parsed_clear(&p);
    }
}

static void
test_warnings_kept_on_error(void)
{
    Parsed p;
    static const char *const w[] = {
        "WARNING: Support for --outbound-addr is experimental", NULL
    };

    /* slirp4netns prints its WARNINGs before the error; they must survive
     * a failed parse so main() can do the same. */
    parse(&p, "--outbound-addr=127.0.0.1", "-m", "0", "1", "tap0", NULL);
    g_assert_false(p.ok);
    assert_warnings(&p.cfg, w);
    parsed_clear(&p);
}

/* CIDR table for sb_vnet_from_cidr(): a non-NULL error means it fails. */
static void
test_vnet(void)
{
    static const struct {
        const char *cidr;
        const char *network, *netmask, *gateway, *dns, *dhcp, *guest;
        guint prefix;
        const char *error;
    } cases[] = {
        { "10.0.2.0/24", "10.0.2.0", "255.255.255.0", "10.0.2.2", "10.0.2.3",
          "10.0.2.15", "10.0.2.100", 24, NULL },
        { "10.0.135.128/25", "10.0.135.128", "255.255.255.128", "10.0.135.130",
          "10.0.135.131", "10.0.135.143", "10.0.135.228", 25, NULL },
        { "128.0.0.0/1", "128.0.0.0", "128.0.0.0", "128.0.0.2", "128.0.0.3",
          "128.0.0.15", "128.0.0.100", 1, NULL },
        { "0.0.0.0/1", "0.0.0.0", "128.0.0.0", "0.0.0.2", "0.0.0.3", "0.0.0.15",
          "0.0.0.100", 1, NULL },
        { "172.16.0.0/12", "172.16.0.0", "255.240.0.0", "172.16.0.2",
          "172.16.0.3", "172.16.0.15", "172.16.0.100", 12, NULL },
        { "10.0.2.0/09", "", "", "", "", "", "", 0,
          "CIDR needs to be a network address like 10.0.2.0/24, not like "
          "10.0.2.100/24" },
        { "10.0.2.0/26", "", "", "", "", "", "", 0,
          "prefix length needs to be 1-25" },
        { "10.0.2.0/0", "", "", "", "", "", "", 0,
          "prefix length needs to be 1-25" },
        { "10.0.2.0/00", "", "", "", "", "", "", 0,
          "prefix length needs to be 1-25" },
        { "10.0.2.0/32", "", "", "", "", "", "", 0,
          "prefix length needs to be 1-25" },
        { "300.0.0.0/0", "", "", "", "", "", "", 0,
          "invalid network address: 300.0.0.0" },
        { "010.0.2.0/24", "", "", "", "", "", "", 0,
          "invalid network address: 010.0.2.0" },
        { "10.0.2.0/024", "", "", "", "", "", "", 0,
          "invalid CIDR: 10.0.2.0/024" },
        { "10.0.2.0/24\n", "", "", "", "", "", "", 0,
          "invalid CIDR: 10.0.2.0/24\n" },
        { " 10.0.2.0/24", "", "", "", "", "", "", 0,
          "invalid CIDR:  10.0.2.0/24" },
        { "10.0.2/24", "", "", "", "", "", "", 0, "invalid CIDR: 10.0.2/24" },
        { "fd00::/64", "", "", "", "", "", "", 0, "invalid CIDR: fd00::/64" },
        { "", "", "", "", "", "", "", 0, "invalid CIDR: " },
        { "10.0.2.1/24", "", "", "", "", "", "", 0,
          "CIDR needs to be a network address like 10.0.2.0/24, not like "
          "10.0.2.100/24" },
        { "10.0.2.128/24", "", "", "", "", "", "", 0,
          "CIDR needs to be a network address like 10.0.2.0/24, not like "
          "10.0.2.100/24" },
    };
    guint i;

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        SbVnet v;
        g_autoptr(GError) error = NULL;
        char b[INET_ADDRSTRLEN];
        gboolean ok;

        memset(&v, 0xaa, sizeof v);
        g_test_message("cidr %s", cases[i].cidr);
        ok = sb_vnet_from_cidr(cases[i].cidr, &v, &error);
        if (cases[i].error != NULL) {
            SbVnet untouched;
            g_assert_false(ok);
            g_assert_error(error, SB_ERROR, SB_ERROR_INVALID);
            g_assert_cmpstr(error->message, ==, cases[i].error);
            memset(&untouched, 0xaa, sizeof untouched);
            g_assert_cmpmem(&v, sizeof v, &untouched, sizeof untouched);
            continue;
        }
        g_assert_no_error(error);
        g_assert_true(ok);
        g_assert_cmpstr(ip4(v.network, b), ==, cases[i].network);
        g_assert_cmpstr(ip4(v.netmask, b), ==, cases[i].netmask);
        g_assert_cmpstr(ip4(v.gateway, b), ==, cases[i].gateway);
        g_assert_cmpstr(ip4(v.dns, b), ==, cases[i].dns);
        g_assert_cmpstr(ip4(v.dhcp_start, b), ==, cases[i].dhcp);
        g_assert_cmpstr(ip4(v.guest, b), ==, cases[i].guest);
        g_assert_cmpuint(v.prefix_len, ==, cases[i].prefix);
        g_assert_cmpuint(v.prefix6_len, ==, 64);
    }
}

static void
test_mac(void)
{
    static const struct {
        const char *s;
        guint8 mac[6];
        const char *error;
    } cases[] = {
        { "0e:d4:18:d9:38:fb", { 0x0e, 0xd4, 0x18, 0xd9, 0x38, 0xfb }, NULL },
        { "0E:D4:18:D9:38:FB", { 0x0e, 0xd4, 0x18, 0xd9, 0x38, 0xfb }, NULL },
        { "0e:d4", { 0x0e, 0xd4, 0, 0, 0, 0 }, NULL },
        { "1", { 1, 0, 0, 0, 0, 0 }, NULL },
        { "1:2:3:4:5:6", { 1, 2, 3, 4, 5, 6 }, NULL },
        { "ff:ff:ff:ff:ff:ff", { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, NULL },
        { "", { 0 }, "\"\" is an invalid MAC address." },
        { "zz", { 0 }, "\"zz\" is an invalid MAC address." },
        { "0e:zz", { 0 }, "\"0e:zz\" is an invalid MAC address." },
        { "0e:d4:", { 0 }, "\"0e:d4:\" is an invalid MAC address." },
        { ":0e", { 0 }, "\":0e\" is an invalid MAC address." },
        { "0e::d4", { 0 }, "\"0e::d4\" is an invalid MAC address." },
        { "100:d4", { 0 }, "\"100:d4\" is an invalid MAC address." },
        { "-1:2", { 0 }, "\"-1:2\" is an invalid MAC address." },
        { "0x1:2", { 0 }, "\"0x1:2\" is an invalid MAC address." },
        { "1:2x", { 0 }, "\"1:2x\" is an invalid MAC address." },
        { " 1:2", { 0 }, "\" 1:2\" is an invalid MAC address." },
        { "0e-d4-18-d9-38-fb",
          { 0 },
          "\"0e-d4-18-d9-38-fb\" is an invalid MAC address." },
        { "0e:d4:1:2:3:4:5",
          { 0 },
          "\"0e:d4:1:2:3:4:5\" is an invalid MAC address.  Is it too long?" },
        { "1:2:3:4:5:6:",
          { 0 },
          "\"1:2:3:4:5:6:\" is an invalid MAC address.  Is it too long?" },
    };
    guint i;

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        guint8 mac[6] = { 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa };
        static const guint8 untouched[6] = {
            0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa
        };
        g_autoptr(GError) error = NULL;
        gboolean ok;

        g_test_message("mac \"%s\"", cases[i].s);
        ok = sb_parse_macaddr(cases[i].s, mac, &error);
        if (cases[i].error != NULL) {
            g_assert_false(ok);
            g_assert_error(error, SB_ERROR, SB_ERROR_INVALID);
            g_assert_cmpstr(error->message, ==, cases[i].error);
            g_assert_cmpmem(mac, 6, untouched, 6);
        } else {
            g_assert_no_error(error);
            g_assert_true(ok);
            g_assert_cmpmem(mac, 6, cases[i].mac, 6);
        }
    }
}

/**
 * capture_usage: sb_cli_print_usage()'s output, as a string to g_free().
 * Kept out of line and copied out of the memstream buffer: GCC's
 * -Wdangling-pointer misreads open_memstream()'s out-parameters once this
 * is inlined into the caller.
 */
static G_GNUC_NO_INLINE char *
capture_usage(const char *argv0)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    char *copy;

    g_assert_nonnull(f);
    sb_cli_print_usage(f, argv0);
    g_assert_cmpint(fclose(f), ==, 0);
    copy = g_strndup(buf, len);
    free(buf);
    return copy;
}

static void
test_usage_text(void)
{
    g_autofree char *u = capture_usage("/some/where/slirp4netns");
    /* podman's checkSlirpFlags and rootlesskit's DetectFeatures. */
    static const char *const needles[] = {
        "--disable-host-loopback",
        "--mtu",
        "--enable-sandbox",
        "--enable-seccomp",
        "--cidr",
        "--outbound-addr",
        "--enable-ipv6",
        "--netns-type",
        "--api-socket",
        /* every other option and extension */
        "--configure",
        "--exit-fd=FD",
        "--ready-fd=FD",
        "--userns-path=PATH",
        "--outbound-addr6=IPv6",
        "--disable-dns",
        "--macaddress=MAC",
        "--target-type=TYPE",
        "-p, --publish=SPEC",
        "[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]",
        "--bypass-socket=PATH",
        "--bypass-ignore=CIDR[,CIDR...]",
        "slirpbypass seccomp-profile",
        "slirpbypass exec",
        "-h, --help",
        "-v, --version",
        /* slirp4netns's lines, literal TABs included */
        "\n--netns-type=TYPE \t specify network namespace type "
        "([path|pid|tapfd], default=pid)\n",
        "\n--userns-path=PATH\t specify user namespace path\n",
        "\n-m, --mtu=MTU            specify MTU (default=1500, max=65521)\n",
        "\n--macaddress=MAC         specify the MAC address of the TAP (only "
        "valid with -c)\n",
    };
    guint i;

    g_assert_true(g_str_has_prefix(
        u, "Usage: /some/where/slirp4netns [OPTION]... PID|PATH|FD "
           "[TAPNAME]\nUser-mode networking for unprivileged network "
           "namespaces.\n\n-c, --configure          bring up the "
           "interface\n"));
    for (i = 0; i < G_N_ELEMENTS(needles); i++) {
        g_test_message("needle %s", needles[i]);
        g_assert_nonnull(strstr(u, needles[i]));
    }
    /* Extensions come after slirp4netns's own lines, -h/-v after them. */
    g_assert_true(strstr(u, "--target-type=TYPE") < strstr(u, "--publish"));
    g_assert_true(strstr(u, "--bypass-ignore") < strstr(u, "-h, --help"));
    g_assert_true(g_str_has_suffix(u, "\n"));
}

static void
test_version_text(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    g_autofree char *want = NULL;
    g_autofree char *commit = NULL;

    sb_cli_print_version(f);
    g_assert_cmpint(fclose(f), ==, 0);
    if (SB_COMMIT[0] != '\0')
        commit = g_strdup_printf("commit: %s\n", SB_COMMIT);
    want = g_strdup_printf("slirpbypass version %s\n%slibslirp: %s\n"
                           "SLIRP_CONFIG_VERSION_MAX: %d\nlibseccomp: %s\n",
                           SB_VERSION, commit ? commit : "",
                           slirp_version_string(), SLIRP_CONFIG_VERSION_MAX,
                           SB_LIBSECCOMP_VERSION);
    g_assert_cmpstr(buf, ==, want);
    /* The values clients parse are what this machine has. */
    g_assert_nonnull(strstr(buf, "\nlibslirp: 4."));
    g_assert_nonnull(strstr(buf, "\nSLIRP_CONFIG_VERSION_MAX: "));
    g_assert_true(g_str_has_prefix(buf, "slirpbypass version 0."));
    free(buf);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cli/defaults", test_defaults);
    g_test_add_func("/cli/options", test_options);
    g_test_add_func("/cli/config-files", test_config_files);
    g_test_add_func("/cli/configure", test_configure);
    g_test_add_func("/cli/fds", test_fds);
    g_test_add_func("/cli/mtu", test_mtu);
    g_test_add_func("/cli/ipv6-api-dns", test_ipv6_api_dns);
    g_test_add_func("/cli/cidr-option", test_cidr_option);
    g_test_add_func("/cli/booleans-and-aliases", test_booleans_and_aliases);
    g_test_add_func("/cli/netns-types", test_netns_types);
    g_test_add_func("/cli/outbound", test_outbound);
    g_test_add_func("/cli/macaddress-option", test_macaddress_option);
    g_test_add_func("/cli/bess", test_bess);
    g_test_add_func("/cli/extensions", test_extensions);
    g_test_add_func("/cli/permutation", test_permutation);
    g_test_add_func("/cli/help-version-actions", test_help_version_actions);
    g_test_add_func("/cli/errors", test_errors);
    g_test_add_func("/cli/warnings-kept-on-error", test_warnings_kept_on_error);
    g_test_add_func("/cli/vnet", test_vnet);
    g_test_add_func("/cli/mac", test_mac);
    g_test_add_func("/cli/usage-text", test_usage_text);
    g_test_add_func("/cli/version-text", test_version_text);
    return g_test_run();
}
