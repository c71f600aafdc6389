/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pd_test_util.c: shared fixtures for the port-driver unit tests.
 *
 * Theory of operation: the tests need a real Slirp (the table binds real
 * host sockets through it) but no tap and no packets, so the callbacks are
 * no-ops.  To keep the bound ports away from the machine's own, a test
 * binary first moves into a private network namespace when it may.
 */
#include "pd_test_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

gboolean
pd_test_isolate(void)
{
    struct ifreq ifr = { 0 };
    int s;
    gboolean ok = FALSE;

    if (unshare(CLONE_NEWNET) != 0)
        return FALSE;
    s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return FALSE;
    g_strlcpy(ifr.ifr_name, "lo", sizeof(ifr.ifr_name));
    if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        ok = ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
    }
    close(s);
    return ok;
}

static ssize_t
cb_send_packet(const void *buf, size_t len, void *opaque)
{
    return (ssize_t)len;
}

static void
cb_guest_error(const char *msg, void *opaque)
{
    g_test_message("libslirp: %s", msg);
}

static int64_t
cb_clock_get_ns(void *opaque)
{
    return g_get_monotonic_time() * 1000;
}

static void *
cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    return g_new0(char, 1);
}

static void
cb_timer_free(void *timer, void *opaque)
{
    g_free(timer);
}

static void
cb_timer_mod(void *timer, int64_t expire_time, void *opaque)
{
}

static void
cb_fd(int fd, void *opaque)
{
}

static void
cb_notify(void *opaque)
{
}

static const SlirpCb callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_fd,
    .unregister_poll_fd = cb_fd,
    .notify = cb_notify,
};

Slirp *
pd_test_slirp_new(gboolean ipv6)
{
    SlirpConfig cfg = { 0 };

    cfg.version = 1;
    cfg.in_enabled = true;
    inet_pton(AF_INET, "10.0.2.0", &cfg.vnetwork);
    inet_pton(AF_INET, "255.255.255.0", &cfg.vnetmask);
    inet_pton(AF_INET, "10.0.2.2", &cfg.vhost);
    inet_pton(AF_INET, "10.0.2.15", &cfg.vdhcp_start);
    inet_pton(AF_INET, "10.0.2.3", &cfg.vnameserver);
    cfg.in6_enabled = ipv6;
    inet_pton(AF_INET6, "fd00::", &cfg.vprefix_addr6);
    cfg.vprefix_len = 64;
    inet_pton(AF_INET6, "fd00::2", &cfg.vhost6);
    inet_pton(AF_INET6, "fd00::3", &cfg.vnameserver6);
    cfg.if_mtu = 1500;
    cfg.if_mru = 1500;
    return slirp_new(&cfg, &callbacks, NULL);
}

void
pd_test_netinfo(PdNetInfo *net, gboolean ipv6)
{
    memset(net, 0, sizeof(*net));
    inet_pton(AF_INET, "10.0.2.100", &net->vnet.guest);
    net->ipv6 = ipv6;
}

guint16
pd_test_free_port(int family, int socktype)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t len = sizeof(ss);
    int s = socket(family, socktype | SOCK_CLOEXEC, 0);
    guint16 port;

    g_assert_cmpint(s, >=, 0);
    ss.ss_family = family;
    if (family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else
        ((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
    g_assert_cmpint(bind(s, (struct sockaddr *)&ss,
                         family == AF_INET ? sizeof(struct sockaddr_in)
                                           : sizeof(struct sockaddr_in6)),
                    ==, 0);
    g_assert_cmpint(getsockname(s, (struct sockaddr *)&ss, &len), ==, 0);
    port = pd_addr_port(&ss);
    close(s);
    return port;
}

PdForward
pd_test_fwd(PdProto proto, const char *host, guint16 hport, const char *guest,
            guint16 gport)
{
    PdForward f = { 0 };

    f.proto = proto;
    g_assert_true(pd_addr_parse(host, hport, &f.host));
    g_assert_true(pd_addr_parse(guest, gport, &f.guest));
    return f;
}

static socklen_t
len_of(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                    : sizeof(struct sockaddr_in6);
}

gboolean
pd_test_tcp_listening(const char *addr, guint16 port)
{
    struct sockaddr_storage ss;
    int s, r;

    g_assert_true(pd_addr_parse(addr, port, &ss));
    s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(s, >=, 0);
    /* Loopback connects complete (or are refused) at once; the kernel
     * finishes the handshake from the listener's backlog even though
     * libslirp never accept()s in these tests. */
    r = connect(s, (struct sockaddr *)&ss, len_of(&ss));
    close(s);
    return r == 0;
}

gboolean
pd_test_can_bind(const char *addr, guint16 port, int socktype)
{
    struct sockaddr_storage ss;
    int s, r, one = 1;

    g_assert_true(pd_addr_parse(addr, port, &ss));
    s = socket(ss.ss_family, socktype | SOCK_CLOEXEC, 0);
    g_assert_cmpint(s, >=, 0);
    if (ss.ss_family == AF_INET6)
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    r = bind(s, (struct sockaddr *)&ss, len_of(&ss));
    close(s);
    return r == 0;
}

guint
pd_test_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    guint n = 0;

    g_assert_nonnull(d);
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the DIR's own fd */
}
