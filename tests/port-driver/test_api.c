/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_api.c: the API socket, end to end, against a real libslirp.
 *
 * Theory of operation: each test runs a PdApi on a private GMainContext
 * (never the default one: if the API attached anything to the default
 * context, nothing would be served and the test would fail on its guard
 * deadline) with a socket in a temporary directory.  Clients are plain
 * sockets driven from the test's own thread: they write, then the test
 * iterates the API's context until the reply and EOF arrive, with a
 * deadline that turns a stall into a failure.  The slow-reader test uses a
 * thread for the client, because it must stay blocked mid-reply while
 * another client is served.
 *
 * Replies are compared byte for byte with slirp4netns 1.2's.
 */
#include "pd_test_util.h"
#include "pd_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define GUARD_MS 5000 /* < PD_API_TIMEOUT_SEC: proves nobody waited it out */

typedef struct {
    Slirp *slirp;
    PdTable *t;
    PdApi *api;
    GMainContext *ctx;
    char *dir;
    char *path;
} Fx;

static void
setup(Fx *fx, gconstpointer ipv6)
{
    g_autoptr(GError) err = NULL;
    PdNetInfo net;

    fx->slirp = pd_test_slirp_new(GPOINTER_TO_INT(ipv6));
    pd_test_netinfo(&net, GPOINTER_TO_INT(ipv6));
    fx->t = pd_table_new(fx->slirp, &net);
    fx->ctx = g_main_context_new();
    fx->dir = g_dir_make_tmp("pd-api-XXXXXX", &err);
    g_assert_no_error(err);
    fx->path = g_build_filename(fx->dir, "api.sock", NULL);
    fx->api = pd_api_new(fx->t, fx->path, fx->ctx, &err);
    g_assert_no_error(err);
    g_assert_nonnull(fx->api);
}

static void
teardown(Fx *fx, gconstpointer unused)
{
    pd_api_free(fx->api);
    g_assert_false(g_file_test(fx->path, G_FILE_TEST_EXISTS));
    /* nothing left to dispatch that refers to the freed API */
    while (g_main_context_iteration(fx->ctx, FALSE))
        ;
    g_main_context_unref(fx->ctx);
    pd_table_free(fx->t);
    slirp_cleanup(fx->slirp);
    g_rmdir(fx->dir);
    g_free(fx->dir);
    g_free(fx->path);
}

static gboolean
on_wake(gpointer data)
{
    *(gboolean *)data = TRUE;
    return G_SOURCE_REMOVE;
}

/* Runs the API's context for ms milliseconds. */
static void
pump_for(Fx *fx, guint ms)
{
    gboolean done = FALSE;
    GSource *s = g_timeout_source_new(ms);

    g_source_set_callback(s, on_wake, &done, NULL);
    g_source_attach(s, fx->ctx);
    while (!done)
        g_main_context_iteration(fx->ctx, TRUE);
    g_source_destroy(s);
    g_source_unref(s);
}

static gboolean
fd_readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    return poll(&p, 1, 0) > 0;
}

static gboolean
on_fd_ready(gint fd, GIOCondition cond, gpointer data)
{
    *(gboolean *)data = TRUE;
    return G_SOURCE_REMOVE;
}

/* Runs the context until fd is readable; fails after GUARD_MS.  The fd is
 * watched on the same context, so the loop wakes as soon as it is. */
static void
pump_until_readable(Fx *fx, int fd)
{
    gboolean ready = fd_readable(fd), expired = FALSE;
    GSource *watch, *guard;

    if (ready)
        return;
    watch = g_unix_fd_source_new(fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(watch, G_SOURCE_FUNC(on_fd_ready), &ready, NULL);
    g_source_attach(watch, fx->ctx);
    guard = g_timeout_source_new(GUARD_MS);
    g_source_set_callback(guard, on_wake, &expired, NULL);
    g_source_attach(guard, fx->ctx);
    while (!ready && !expired)
        g_main_context_iteration(fx->ctx, TRUE);
    g_source_destroy(watch);
    g_source_unref(watch);
    g_source_destroy(guard);
    g_source_unref(guard);
    g_assert_false(expired);
}

static int
client_connect(Fx *fx)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(sa.sun_path, fx->path, sizeof(sa.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

static void
client_send(int fd, const char *data, gsize len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

        g_assert_cmpint(n, >, 0);
        data += n;
        len -= (gsize)n;
    }
}

/* Reads until EOF (running the API meanwhile), closes fd. */
static char *
client_finish(Fx *fx, int fd)
{
    GString *s = g_string_new(NULL);
    char buf[4096];

    for (;;) {
        ssize_t n;

        pump_until_readable(fx, fd);
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        g_assert_cmpint(n, >=, 0);
        if (n == 0)
            break;
        g_string_append_len(s, buf, n);
    }
    close(fd);
    return g_string_free(s, FALSE);
}

/* One request the way rootlesskit sends it: write, SHUT_WR, read all. */
static char *
req(Fx *fx, const char *text)
{
    int fd = client_connect(fx);

    client_send(fd, text, strlen(text));
    shutdown(fd, SHUT_WR);
    return client_finish(fx, fd);
}

#define ASSERT_REPLY(fx, request, expected)                                    \
    do {                                                                       \
        g_autofree char *r_ = req((fx), (request));                            \
        g_assert_cmpstr(r_, ==, (expected));                                   \
    } while (0)

static char *
add_request(const char *proto, const char *haddr, guint hport,
            const char *gaddr, guint gport)
{
    return g_strdup_printf(
        "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"%s\","
        "\"host_addr\":\"%s\",\"host_port\":%u,\"guest_addr\":\"%s\","
        "\"guest_port\":%u}}\n",
        proto, haddr, hport, gaddr, gport);
}

/* podman 4.3: guest_addr "", trailing newline, CloseWrite, ONE read of at
 * most 2048 bytes. */
static void
test_podman(Fx *fx, gconstpointer unused)
{
    guint16 p = pd_test_free_port(AF_INET, SOCK_STREAM);
    g_autofree char *text = add_request("tcp", "0.0.0.0", p, "", 80);
    g_autofree char *list = NULL;
    g_autofree char *expect = NULL;
    char buf[2048];
    ssize_t n;
    int fd = client_connect(fx);

    client_send(fd, text, strlen(text));
    shutdown(fd, SHUT_WR);
    pump_until_readable(fx, fd);
    n = recv(fd, buf, sizeof(buf) - 1, 0);
    g_assert_cmpint(n, >, 0);
    buf[n] = '\0';
    g_assert_cmpstr(buf, ==, "{\"return\":{\"id\":1}}");
    close(fd);
    g_assert_true(pd_test_tcp_listening("127.0.0.1", p));

    list = req(fx, "{\"execute\":\"list_hostfwd\"}");
    expect = g_strdup_printf(
        "{\"entries\":[{\"id\":1,\"proto\":\"tcp\",\"host_addr\":\"0.0.0.0\","
        "\"host_port\":%u,\"guest_addr\":\"10.0.2.100\",\"guest_port\":80}]}",
        p);
    g_assert_cmpstr(list, ==, expect);
}

/* rootlesskit 1.1: json.Encoder output, CloseWrite, ReadAll; add, list,
 * remove, remove again. */
static void
test_rootlesskit(Fx *fx, gconstpointer unused)
{
    guint16 p1 = pd_test_free_port(AF_INET, SOCK_STREAM);
    guint16 p2 = pd_test_free_port(AF_INET, SOCK_DGRAM);
    g_autofree char *a1 = add_request("tcp", "127.0.0.1", p1, "10.0.2.100", 80);
    g_autofree char *a2 = add_request("udp", "", p2, "10.0.2.100", 53);
    g_autofree char *expect = NULL;

    ASSERT_REPLY(fx, a1, "{\"return\":{\"id\":1}}");
    ASSERT_REPLY(fx, a2, "{\"return\":{\"id\":2}}");
    expect = g_strdup_printf(
        "{\"entries\":[{\"id\":1,\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\","
        "\"host_port\":%u,\"guest_addr\":\"10.0.2.100\",\"guest_port\":80},"
        "{\"id\":2,\"proto\":\"udp\",\"host_addr\":\"0.0.0.0\","
        "\"host_port\":%u,\"guest_addr\":\"10.0.2.100\",\"guest_port\":53}]}",
        p1, p2);
    ASSERT_REPLY(fx, "{\"execute\":\"list_hostfwd\"}\n", expect);
    ASSERT_REPLY(fx,
                 "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":1}}\n",
                 "{\"return\":{}}");
    g_assert_false(pd_test_tcp_listening("127.0.0.1", p1));
    ASSERT_REPLY(fx,
                 "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":1}}\n",
                 "{\"error\":{\"desc\":\"bad request: remove_hostfwd: bad "
                 "arguments.id\"}}");
    ASSERT_REPLY(fx,
                 "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":2}}",
                 "{\"return\":{}}");
    ASSERT_REPLY(fx, "{\"execute\":\"list_hostfwd\"}", "{\"entries\":[]}");
    /* ids are never reused */
    ASSERT_REPLY(fx, a1, "{\"return\":{\"id\":3}}");
}

#define E(desc) "{\"error\":{\"desc\":\"bad request: " desc "\"}}"

/* Every error slirp4netns has, plus the cases where it crashes or
 * misbehaves; the table is unchanged after each. */
static void
test_errors(Fx *fx, gconstpointer unused)
{
    static const struct {
        const char *request;
        const char *reply;
    } cases[] = {
        { "badjson", E("cannot parse JSON") },
        { "", E("cannot parse JSON") },
        { "\n  \n", E("cannot parse JSON") },
        { "{\"execute\":", E("cannot parse JSON") },
        { "{\"execute\":\"list_hostfwd\"]", E("cannot parse JSON") },
        { "}", E("cannot parse JSON") },
        { "var x = {\"execute\":\"list_hostfwd\"}", E("cannot parse JSON") },
        { "[1,2]", E("json_object() failed") },
        { "42", E("json_object() failed") },
        { "\"str\"", E("json_object() failed") },
        { "null", E("json_object() failed") },
        { "{}", E("no execute found") },
        { "{\"execute\":42}", E("no execute found") },
        { "{\"execute\":null}", E("no execute found") },
        { "{\"execute\":[\"add_hostfwd\"]}", E("no execute found") },
        { "{\"execute\":\"foo\"}", E("unknown execute") },
        { "{\"execute\":\"ADD_HOSTFWD\"}", E("unknown execute") },
        /* slirp4netns segfaults on these two */
        { "{\"execute\":\"add_hostfwd\"}",
          E("add_hostfwd: bad arguments.proto") },
        { "{\"execute\":\"add_hostfwd\",\"arguments\":{\"host_port\":8080,"
          "\"guest_port\":80}}",
          E("add_hostfwd: bad arguments.proto") },
        { "{\"execute\":\"add_hostfwd\",\"arguments\":42}",
          E("add_hostfwd: bad arguments.proto") },
        { "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp4\","
          "\"host_port\":8080,\"guest_port\":80}}",
          E("add_hostfwd: bad arguments.proto") },
        { "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":6,"
          "\"host_port\":8080,\"guest_port\":80}}",
          E("add_hostfwd: bad arguments.proto") },
        { "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\","
          "\"host_addr\":\"::1\",\"host_port\":8080,\"guest_port\":80}}",
          E("add_hostfwd: bad arguments.host_addr") },
        { "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\","
          "\"host_addr\":\"localhost\",\"host_port\":8080,\"guest_port\":80}}",
          E("add_hostfwd: bad arguments.host_addr") },
        { "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\","
          "\"host_addr\":5,\"host_port\":8080,\"guest_port\":80}}",
          E("add_hostfwd: bad arguments.host_addr") },
        { "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\","
          "\"guest_port\":80}}",
          E("add_hostfwd: bad arguments.host_port") },
        { "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\","
          "\"host_port\":\"8080\",\"guest_port\":80}}",
          E("add_hostfwd: bad arguments.host_port") },
        { "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\","
          "\"host_port\":0,\"guest_port\":80}}",
          E("add_hostfwd: bad arguments.host_port") },
        /* slirp4netns silently truncates these two */
        { "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\","
          "\"host_port\":70000,\"guest_port\":80}}",
          E("add_hostfwd: bad arguments.host_port") },
        { "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\","
          "\"host_port\":8080.5,\"guest_port\":80}}",
          E("add_hostfwd: bad arguments.host_port") },
        { "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\","
          "\"host_port\":-1,\"guest_port\":80}}",
          E("add_hostfwd: bad arguments.host_port") },
        { "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\","
          "\"host_port\":true,\"guest_port\":80}}",
          E("add_hostfwd: bad arguments.host_port") },
        { "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\","
          "\"host_port\":8080,\"guest_addr\":\"10.0.2\",\"guest_port\":80}}",
          E("add_hostfwd: bad arguments.guest_addr") },
        { "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\","
          "\"host_port\":8080,\"guest_addr\":{},\"guest_port\":80}}",
          E("add_hostfwd: bad arguments.guest_addr") },
        { "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\","
          "\"host_port\":8080,\"guest_addr\":\"fd00::100\",\"guest_port\":80}}",
          E("add_hostfwd: bad arguments.guest_addr") },
        /* a NUL would cut the address short in a C string */
        { "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\","
          "\"host_port\":8080,\"guest_addr\":\"10.0.2.100\\u0000x\","
          "\"guest_port\":80}}",
          "{\"error\":{\"desc\":\"bad request: NUL character in the "
          "request\"}}" },
        { "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\","
          "\"host_port\":8080}}",
          E("add_hostfwd: bad arguments.guest_port") },
        { "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\","
          "\"host_port\":8080,\"guest_port\":65536}}",
          E("add_hostfwd: bad arguments.guest_port") },
        { "{\"execute\":\"remove_hostfwd\"}",
          E("remove_hostfwd: bad arguments.id") },
        { "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":\"1\"}}",
          E("remove_hostfwd: bad arguments.id") },
        { "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":999}}",
          E("remove_hostfwd: bad arguments.id") },
        { "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":0}}",
          E("remove_hostfwd: bad arguments.id") },
        { "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":1e99}}",
          E("remove_hostfwd: bad arguments.id") },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *reply = req(fx, cases[i].request);

        g_test_message("%s -> %s", cases[i].request, reply);
        g_assert_cmpstr(reply, ==, cases[i].reply);
    }
    ASSERT_REPLY(fx, "{\"execute\":\"list_hostfwd\"}", "{\"entries\":[]}");
}

/* A duplicate, and a port the kernel refuses: slirp4netns's text. */
static void
test_add_failures(Fx *fx, gconstpointer unused)
{
    guint16 p = pd_test_free_port(AF_INET, SOCK_STREAM);
    g_autofree char *a = add_request("tcp", "127.0.0.1", p, "", 80);
    g_autofree char *any = add_request("tcp", "0.0.0.0", p, "", 80);
    g_autofree char *udp = add_request("udp", "127.0.0.1", p, "", 80);

    ASSERT_REPLY(fx, a, "{\"return\":{\"id\":1}}");
    ASSERT_REPLY(fx, a, E("add_hostfwd: slirp_add_hostfwd failed"));
    ASSERT_REPLY(fx, any, E("add_hostfwd: slirp_add_hostfwd failed"));
    ASSERT_REPLY(fx, udp, "{\"return\":{\"id\":2}}");
}

/* Extension: IPv6 forwards (with -6). */
static void
test_ipv6(Fx *fx, gconstpointer unused)
{
    guint16 p = pd_test_free_port(AF_INET6, SOCK_STREAM);
    g_autofree char *a6 = add_request("tcp", "::1", p, "", 80);
    g_autofree char *a6g = add_request("tcp", "::", p + 0, "fd00::100", 81);
    g_autofree char *a4 = add_request("tcp", "0.0.0.0", p, "", 80);
    g_autofree char *mixed = add_request("udp", "::1", p, "10.0.2.100", 80);
    g_autofree char *udp6 = add_request("udp", "::1", p, "", 53);
    g_autofree char *udp6g = add_request("udp", "::1", p, "fd00::100", 53);
    g_autofree char *expect = NULL;

    ASSERT_REPLY(fx, a6, "{\"return\":{\"id\":1}}");
    g_assert_true(pd_test_tcp_listening("::1", p));
    /* "::" overlaps "::1" */
    ASSERT_REPLY(fx, a6g, E("add_hostfwd: slirp_add_hostfwd failed"));
    /* V6ONLY: IPv4 on the same port is independent */
    ASSERT_REPLY(fx, a4, "{\"return\":{\"id\":2}}");
    ASSERT_REPLY(fx, mixed, E("add_hostfwd: bad arguments.guest_addr"));
    /* UDP to the unspecified IPv6 guest: libslirp cannot resolve it */
    ASSERT_REPLY(fx, udp6, E("add_hostfwd: bad arguments.guest_addr"));
    ASSERT_REPLY(fx, udp6g, "{\"return\":{\"id\":3}}");
    expect = g_strdup_printf(
        "{\"entries\":[{\"id\":1,\"proto\":\"tcp\",\"host_addr\":\"::1\","
        "\"host_port\":%u,\"guest_addr\":\"::\",\"guest_port\":80},"
        "{\"id\":2,\"proto\":\"tcp\",\"host_addr\":\"0.0.0.0\","
        "\"host_port\":%u,\"guest_addr\":\"10.0.2.100\",\"guest_port\":80},"
        "{\"id\":3,\"proto\":\"udp\",\"host_addr\":\"::1\","
        "\"host_port\":%u,\"guest_addr\":\"fd00::100\",\"guest_port\":53}]}",
        p, p, p);
    ASSERT_REPLY(fx, "{\"execute\":\"list_hostfwd\"}", expect);
}

/* Extensions: info and list_hostfwd_ex. */
static void
test_extensions(Fx *fx, gconstpointer unused)
{
    guint16 p = pd_test_free_port(AF_INET, SOCK_STREAM);
    g_autofree char *a = add_request("tcp", "127.0.0.1", p, "", 80);
    g_autofree char *expect = NULL;
    PdApiInfo info = { 0 };
    g_autoptr(GError) err = NULL;

    ASSERT_REPLY(fx, "{\"execute\":\"info\"}",
                 "{\"return\":{\"version\":\"\",\"features\":[\"add_hostfwd\","
                 "\"list_hostfwd\",\"remove_hostfwd\",\"info\","
                 "\"list_hostfwd_ex\",\"ipv6_hostfwd\"]}}");
    info.version = "0.1.0";
    inet_pton(AF_INET, "10.0.2.0", &info.vnet.network);
    info.vnet.prefix_len = 24;
    inet_pton(AF_INET, "10.0.2.2", &info.vnet.gateway);
    inet_pton(AF_INET, "10.0.2.3", &info.vnet.dns);
    inet_pton(AF_INET, "10.0.2.100", &info.vnet.guest);
    info.mtu = 65520;
    info.ipv6 = TRUE;
    inet_pton(AF_INET6, "fd00::", &info.vnet.prefix6);
    info.vnet.prefix6_len = 64;
    inet_pton(AF_INET6, "fd00::2", &info.vnet.gateway6);
    inet_pton(AF_INET6, "fd00::3", &info.vnet.dns6);
    info.disable_host_loopback = TRUE;
    pd_api_set_info(fx->api, &info);
    ASSERT_REPLY(
        fx, "{\"execute\":\"info\"}",
        "{\"return\":{\"version\":\"0.1.0\",\"network\":{\"cidr\":"
        "\"10.0.2.0/24\",\"gateway\":\"10.0.2.2\",\"dns\":\"10.0.2.3\","
        "\"guest\":\"10.0.2.100\",\"mtu\":65520,\"ipv6\":true,\"cidr6\":"
        "\"fd00::/64\",\"gateway6\":\"fd00::2\",\"dns6\":\"fd00::3\","
        "\"disable_host_loopback\":true,\"bypass\":false},\"features\":["
        "\"add_hostfwd\",\"list_hostfwd\",\"remove_hostfwd\",\"info\","
        "\"list_hostfwd_ex\",\"ipv6_hostfwd\"]}}");

    ASSERT_REPLY(fx, "{\"execute\":\"list_hostfwd_ex\"}",
                 "{\"return\":{\"entries\":[]}}");
    ASSERT_REPLY(fx, a, "{\"return\":{\"id\":1}}");
    g_assert_true(pd_table_set_path(fx->t, 1, PD_PATH_BYPASS, &err));
    expect = g_strdup_printf(
        "{\"return\":{\"entries\":[{\"id\":1,\"proto\":\"tcp\",\"host_addr\":"
        "\"127.0.0.1\",\"host_port\":%u,\"guest_addr\":\"10.0.2.100\","
        "\"guest_port\":80,\"path\":\"bypass\"}]}}",
        p);
    ASSERT_REPLY(fx, "{\"execute\":\"list_hostfwd_ex\"}", expect);
    /* removing a bypass entry works and needs no libslirp listener */
    ASSERT_REPLY(fx,
                 "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":1}}",
                 "{\"return\":{}}");
}

/* Framing: no SHUT_WR needed, text after the value ignored, split writes,
 * a reply as soon as the value is complete. */
static void
test_framing(Fx *fx, gconstpointer unused)
{
    const char *whole = "{\"execute\":\"list_hostfwd\",\"arguments\":{\"x\":"
                        "\"}{[\\\"\"}}";
    g_autofree char *r = NULL;
    int fd;

    /* no SHUT_WR: the reply comes once the object closes */
    fd = client_connect(fx);
    client_send(fd, whole, strlen(whole));
    r = client_finish(fx, fd);
    g_assert_cmpstr(r, ==, "{\"entries\":[]}");
    g_clear_pointer(&r, g_free);

    /* two values: only the first counts */
    ASSERT_REPLY(
        fx, "{\"execute\":\"list_hostfwd\"}\n{\"execute\":\"list_hostfwd\"}",
        "{\"entries\":[]}");
    ASSERT_REPLY(fx, "{\"execute\":\"list_hostfwd\"} trailing garbage",
                 "{\"entries\":[]}");
    /* a byte order mark and leading space, as parson allows */
    ASSERT_REPLY(fx, "\xEF\xBB\xBF  {\"execute\":\"list_hostfwd\"}",
                 "{\"entries\":[]}");

    /* split over three writes with pauses: no reply until complete */
    fd = client_connect(fx);
    client_send(fd, "{\"execute\":\"list", 16);
    pump_for(fx, 200);
    g_assert_false(fd_readable(fd));
    client_send(fd, "_hostfwd\"", 9);
    pump_for(fx, 200);
    g_assert_false(fd_readable(fd));
    client_send(fd, "}", 1);
    r = client_finish(fx, fd);
    g_assert_cmpstr(r, ==, "{\"entries\":[]}");
    g_clear_pointer(&r, g_free);

    /* a scalar completes at EOF */
    ASSERT_REPLY(fx, "123", E("json_object() failed"));
}

/* A 4095-byte request works; 4096 bytes without a complete value is too
 * large; a complete value that is followed by more bytes is fine. */
static void
test_size_limit(Fx *fx, gconstpointer unused)
{
    const char *head = "{\"execute\":\"list_hostfwd\",\"pad\":\"";
    GString *s = g_string_new(head);
    g_autofree char *big = NULL;
    g_autofree char *r = NULL;
    int fd;

    while (s->len < PD_API_MAX_REQUEST - 2)
        g_string_append_c(s, 'x');
    g_string_append(s, "\"}");
    g_assert_cmpuint(s->len, ==, PD_API_MAX_REQUEST);
    /* 4096 bytes: the closing brace is byte 4096 -> too large */
    ASSERT_REPLY(fx, s->str, E("too large message"));
    /* 4095 bytes: fine */
    g_string_erase(s, strlen(head), 1);
    g_assert_cmpuint(s->len, ==, PD_API_MAX_REQUEST - 1);
    ASSERT_REPLY(fx, s->str, "{\"entries\":[]}");

    /* a stream that never ends a value (/dev/zero-like): too large, and the
     * writer is not blocked forever */
    big = g_malloc0(64 * 1024);
    memset(big, '[', 64 * 1024);
    fd = client_connect(fx);
    {
        int flags = MSG_DONTWAIT | MSG_NOSIGNAL;
        gsize sent = 0;

        while (sent < 64 * 1024) {
            ssize_t n = send(fd, big + sent, 64 * 1024 - sent, flags);

            if (n < 0 && errno == EAGAIN) {
                pump_for(fx, 10);
                continue;
            }
            if (n < 0)
                break; /* EPIPE once the server closed: expected */
            sent += (gsize)n;
        }
    }
    r = client_finish(fx, fd);
    g_assert_cmpstr(r, ==, E("too large message"));
    g_string_free(s, TRUE);
}

/* Silent and half-finished clients hold connections; others are served
 * long before the idle timeout. */
static void
test_idle_clients_do_not_block(Fx *fx, gconstpointer unused)
{
    int idle[20];
    guint16 p = pd_test_free_port(AF_INET, SOCK_STREAM);
    g_autofree char *a = add_request("tcp", "0.0.0.0", p, "", 80);
    g_autofree char *expect = NULL;
    gint64 start;

    for (int i = 0; i < 20; i++) {
        idle[i] = client_connect(fx);
        if (i % 2)
            client_send(idle[i], "{\"execute\":\"add", 15);
    }
    pump_for(fx, 50);
    start = g_get_monotonic_time();
    ASSERT_REPLY(fx, a, "{\"return\":{\"id\":1}}");
    expect = g_strdup_printf(
        "{\"entries\":[{\"id\":1,\"proto\":\"tcp\",\"host_addr\":"
        "\"0.0.0.0\",\"host_port\":%u,\"guest_addr\":\"10.0.2.100\","
        "\"guest_port\":80}]}",
        p);
    ASSERT_REPLY(fx, "{\"execute\":\"list_hostfwd\"}\n", expect);
    /* served before any idle client timed out */
    g_assert_cmpint(g_get_monotonic_time() - start, <,
                    PD_API_TIMEOUT_SEC * G_USEC_PER_SEC);
    for (int i = 0; i < 20; i++) {
        g_assert_false(fd_readable(idle[i]));
        close(idle[i]);
    }
}

/* The idle timeout closes a silent or unfinished client without a reply. */
static void
test_timeout(Fx *fx, gconstpointer unused)
{
    g_autofree char *r1 = NULL;
    g_autofree char *r2 = NULL;
    int silent, partial;

    pd_api_set_limits(fx->api, 200, PD_API_MAX_CLIENTS, 0);
    silent = client_connect(fx);
    partial = client_connect(fx);
    client_send(partial, "{\"execute\":", 11);
    r1 = client_finish(fx, silent);
    r2 = client_finish(fx, partial);
    g_assert_cmpstr(r1, ==, "");
    g_assert_cmpstr(r2, ==, "");
    ASSERT_REPLY(fx, "{\"execute\":\"list_hostfwd\"}", "{\"entries\":[]}");
}

/* At the client cap, a new client is served at once: the oldest (idle)
 * one is closed to make room, so idle clients never deny service. */
static void
test_client_cap(Fx *fx, gconstpointer unused)
{
    const char *list = "{\"execute\":\"list_hostfwd\"}";
    g_autofree char *r = NULL;
    int idle[4], fresh;
    char c;

    pd_api_set_limits(fx->api, 60000, 4, 0);
    for (int i = 0; i < 4; i++)
        idle[i] = client_connect(fx);
    pump_for(fx, 50);
    fresh = client_connect(fx);
    client_send(fresh, list, strlen(list));
    r = client_finish(fx, fresh);
    g_assert_cmpstr(r, ==, "{\"entries\":[]}");
    /* the oldest idle client was closed (EOF), the others not */
    g_assert_true(fd_readable(idle[0]));
    g_assert_cmpint(read(idle[0], &c, 1), ==, 0);
    g_assert_false(fd_readable(idle[1]));
    for (int i = 0; i < 4; i++)
        close(idle[i]);
}

/* 1000 clients at once, all answered correctly. */
static void
test_thousand_clients(Fx *fx, gconstpointer unused)
{
    const char *list = "{\"execute\":\"list_hostfwd\"}\n";
    const guint n = 1000;
    g_autofree int *fds = g_new(int, n);
    g_autofree GString **got = g_new0(GString *, n);
    guint done = 0;
    gint64 deadline;
    struct rlimit rl;

    g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &rl), ==, 0);
    if (rl.rlim_cur < 2 * n + 200) {
        rl.rlim_cur = MIN(rl.rlim_max, 2 * n + 200);
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < 2 * n + 200) {
        g_test_skip("RLIMIT_NOFILE too low for 1000 clients");
        return;
    }
    for (guint i = 0; i < n; i++) {
        fds[i] = client_connect(fx);
        client_send(fds[i], list, strlen(list));
        shutdown(fds[i], SHUT_WR);
        got[i] = g_string_new(NULL);
    }
    deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    while (done < n) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        pump_for(fx, 5);
        for (guint i = 0; i < n; i++) {
            char buf[256];
            ssize_t k;

            if (fds[i] < 0)
                continue;
            k = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);
            if (k > 0) {
                g_string_append_len(got[i], buf, k);
            } else if (k == 0) {
                close(fds[i]);
                fds[i] = -1;
                done++;
            }
        }
    }
    for (guint i = 0; i < n; i++) {
        g_assert_cmpstr(got[i]->str, ==, "{\"entries\":[]}");
        g_string_free(got[i], TRUE);
    }
}

/* 1000 add/remove cycles through the socket: no fd growth. */
static void
test_cycles_no_fd_leak(Fx *fx, gconstpointer unused)
{
    guint16 p = pd_test_free_port(AF_INET, SOCK_STREAM);
    g_autofree char *a = add_request("tcp", "127.0.0.1", p, "", 80);
    guint before = pd_test_count_fds();

    for (guint i = 1; i <= 1000; i++) {
        g_autofree char *want = g_strdup_printf("{\"return\":{\"id\":%u}}", i);
        g_autofree char *rm = g_strdup_printf(
            "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":%u}}", i);

        ASSERT_REPLY(fx, a, want);
        ASSERT_REPLY(fx, rm, "{\"return\":{}}");
    }
    g_assert_cmpuint(pd_test_count_fds(), ==, before);
}

typedef struct {
    char *path;
    const char *request;
    gsize first; /* bytes to read before stalling */
    GMutex lock;
    GCond cond;
    gboolean go_on;    /* set by the test when the stall may end */
    gboolean stalled;  /* set by the thread after reading `first` */
    gboolean finished; /* set by the thread at EOF */
    GString *got;
} SlowReader;

static gpointer
slow_reader_thread(gpointer data)
{
    SlowReader *s = data;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    char buf[512];

    g_strlcpy(sa.sun_path, s->path, sizeof(sa.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    client_send(fd, s->request, strlen(s->request));
    shutdown(fd, SHUT_WR);
    while (s->got->len < s->first) {
        ssize_t n = recv(fd, buf, MIN(sizeof(buf), s->first - s->got->len), 0);

        g_assert_cmpint(n, >, 0);
        g_string_append_len(s->got, buf, n);
    }
    g_mutex_lock(&s->lock);
    s->stalled = TRUE;
    while (!s->go_on)
        g_cond_wait(&s->cond, &s->lock);
    g_mutex_unlock(&s->lock);
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);

        g_assert_cmpint(n, >=, 0);
        if (n == 0)
            break;
        g_string_append_len(s->got, buf, n);
        g_usleep(1000); /* slow */
    }
    close(fd);
    g_mutex_lock(&s->lock);
    s->finished = TRUE;
    g_mutex_unlock(&s->lock);
    return NULL;
}

/* A reply larger than the socket buffer to a client that stops reading:
 * the loop keeps serving others; the slow client still gets every byte. */
static void
test_slow_reader(Fx *fx, gconstpointer unused)
{
    SlowReader s = { 0 };
    g_autofree char *expect = NULL;
    GThread *th;
    gboolean stalled = FALSE;
    gint64 deadline = g_get_monotonic_time() + GUARD_MS * 1000;
    const char *list = "{\"execute\":\"list_hostfwd\"}";

    for (int i = 0; i < 300; i++) {
        PdForward f = pd_test_fwd(PD_PROTO_UDP, "127.0.0.1",
                                  pd_test_free_port(AF_INET, SOCK_DGRAM),
                                  "10.0.2.100", 53);

        g_assert_true(pd_table_add(fx->t, &f, NULL, NULL));
    }
    expect = pd_api_handle_request(fx->t, NULL, list, strlen(list));
    /* the kernel doubles SO_SNDBUF: still several times too small */
    g_assert_cmpuint(strlen(expect), >, 3 * 2 * 4608);
    pd_api_set_limits(fx->api, 60000, PD_API_MAX_CLIENTS, 4608);

    s.path = fx->path;
    s.request = list;
    s.first = 100;
    s.got = g_string_new(NULL);
    g_mutex_init(&s.lock);
    g_cond_init(&s.cond);
    th = g_thread_new("slow", slow_reader_thread, &s);
    while (!stalled) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        pump_for(fx, 10);
        g_mutex_lock(&s.lock);
        stalled = s.stalled;
        g_mutex_unlock(&s.lock);
    }
    /* the slow client holds a half-sent reply; others are still served */
    ASSERT_REPLY(fx, "{\"execute\":\"info\"}",
                 "{\"return\":{\"version\":\"\",\"features\":[\"add_hostfwd\","
                 "\"list_hostfwd\",\"remove_hostfwd\",\"info\","
                 "\"list_hostfwd_ex\",\"ipv6_hostfwd\"]}}");
    g_mutex_lock(&s.lock);
    s.go_on = TRUE;
    g_cond_signal(&s.cond);
    g_mutex_unlock(&s.lock);
    deadline = g_get_monotonic_time() + GUARD_MS * 1000;
    /* serve the rest; the thread exits at EOF, i.e. once the server has
     * written everything and closed */
    for (;;) {
        gboolean finished;

        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        pump_for(fx, 10);
        g_mutex_lock(&s.lock);
        finished = s.finished;
        g_mutex_unlock(&s.lock);
        if (finished)
            break;
    }
    g_thread_join(th);
    g_assert_cmpstr(s.got->str, ==, expect);
    g_string_free(s.got, TRUE);
    g_mutex_clear(&s.lock);
    g_cond_clear(&s.cond);
}

/* Socket file handling: length limit, stale sockets, foreign files,
 * unlink through the directory fd, replaced files left alone. */
static void
test_socket_file(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("pd-sock-XXXXXX", NULL);
    g_autofree char *dir2 = g_strconcat(dir, "-moved", NULL);
    g_autofree char *path = g_build_filename(dir, "api.sock", NULL);
    g_autofree char *moved = g_build_filename(dir2, "api.sock", NULL);
    g_autofree char *longpath = NULL;
    Slirp *slirp = pd_test_slirp_new(FALSE);
    PdNetInfo net;
    PdTable *t;
    PdApi *api;
    GString *lp = g_string_new(dir);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int s;

    pd_test_netinfo(&net, FALSE);
    t = pd_table_new(slirp, &net);

    /* 108 bytes: too long (slirp4netns's message) */
    g_string_append(lp, "/");
    while (lp->len < 108)
        g_string_append_c(lp, 'a');
    longpath = g_string_free(lp, FALSE);
    api = pd_api_new(t, longpath, NULL, &err);
    g_assert_null(api);
    g_assert_cmpstr(err->message, ==,
                    "the specified API socket path is too long (>= 108)");
    g_clear_error(&err);
    longpath[107] = '\0'; /* 107 bytes: fine */
    api = pd_api_new(t, longpath, NULL, &err);
    g_assert_no_error(err);
    pd_api_free(api);
    g_assert_false(g_file_test(longpath, G_FILE_TEST_EXISTS));

    /* a stale socket file is replaced */
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_assert_cmpint(bind(s, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    close(s);
    api = pd_api_new(t, path, NULL, &err);
    g_assert_no_error(err);
    pd_api_free(api);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));

    /* a regular file is not ours to delete */
    g_assert_true(g_file_set_contents(path, "data", -1, NULL));
    api = pd_api_new(t, path, NULL, &err);
    g_assert_null(api);
    g_assert_nonnull(strstr(err->message, "cannot bind API socket"));
    g_clear_error(&err);
    g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
    g_unlink(path);

    /* missing directory */
    api = pd_api_new(t, "/nonexistent-dir/x/api.sock", NULL, &err);
    g_assert_null(api);
    g_assert_nonnull(strstr(err->message, "/nonexistent-dir/x/api.sock"));
    g_clear_error(&err);

    /* unlink goes through the directory fd: works after the path moved
     * (as after the sandbox's pivot_root) */
    api = pd_api_new(t, path, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpint(g_rename(dir, dir2), ==, 0);
    g_assert_true(g_file_test(moved, G_FILE_TEST_EXISTS));
    pd_api_free(api);
    g_assert_false(g_file_test(moved, G_FILE_TEST_EXISTS));
    g_assert_cmpint(g_rename(dir2, dir), ==, 0);

    /* a file that replaced ours is left alone */
    api = pd_api_new(t, path, NULL, &err);
    g_assert_no_error(err);
    g_unlink(path);
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    g_assert_cmpint(bind(s, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    pd_api_free(api);
    g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
    close(s);
    g_unlink(path);

    g_rmdir(dir);
    pd_table_free(t);
    slirp_cleanup(slirp);
}

int
main(int argc, char **argv)
{
    pd_test_isolate();
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn, v6)                                                      \
    g_test_add("/port-driver/api/" name, Fx, GINT_TO_POINTER(v6), setup, fn,   \
               teardown)
    ADD("podman", test_podman, 0);
    ADD("rootlesskit", test_rootlesskit, 0);
    ADD("errors", test_errors, 0);
    ADD("add-failures", test_add_failures, 0);
    ADD("ipv6", test_ipv6, 1);
    ADD("extensions", test_extensions, 0);
    ADD("framing", test_framing, 0);
    ADD("size-limit", test_size_limit, 0);
    ADD("idle-clients", test_idle_clients_do_not_block, 0);
    ADD("timeout", test_timeout, 0);
    ADD("client-cap", test_client_cap, 0);
    ADD("thousand-clients", test_thousand_clients, 0);
    ADD("cycles-no-fd-leak", test_cycles_no_fd_leak, 0);
    ADD("slow-reader", test_slow_reader, 0);
    g_test_add_func("/port-driver/api/socket-file", test_socket_file);
    return g_test_run();
}
