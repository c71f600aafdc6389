/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_table.c: PdTable against a real libslirp instance.
 *
 * Theory of operation: every test gets a fresh Slirp and table; whether a
 * forward is live is checked from the outside, by connecting to (TCP) or
 * trying to bind (UDP) its host port.  The binary runs in a private network
 * namespace when it may (pd_test_isolate), and asks the kernel for free
 * ports either way.
 */
#include "pd_test_util.h"

#include <arpa/inet.h>
#include <unistd.h>

typedef struct {
    Slirp *slirp;
    PdTable *t;
    GArray *events; /* Ev */
} Fixture;

typedef struct {
    PdTableEvent ev;
    guint id;
    PdPath path;
} Ev;

static void
on_watch(PdTable *t, PdTableEvent ev, const PdForward *f, gpointer data)
{
    Fixture *fx = data;
    Ev e = { ev, f->id, f->path };

    g_array_append_val(fx->events, e);
}

static void
setup(Fixture *fx, gconstpointer ipv6)
{
    PdNetInfo net;

    fx->slirp = pd_test_slirp_new(GPOINTER_TO_INT(ipv6));
    g_assert_nonnull(fx->slirp);
    pd_test_netinfo(&net, GPOINTER_TO_INT(ipv6));
    fx->t = pd_table_new(fx->slirp, &net);
    fx->events = g_array_new(FALSE, FALSE, sizeof(Ev));
    pd_table_set_watch(fx->t, on_watch, fx);
}

static void
teardown(Fixture *fx, gconstpointer unused)
{
    pd_table_free(fx->t);
    slirp_cleanup(fx->slirp);
    g_array_unref(fx->events);
}

static guint
add_ok(Fixture *fx, PdForward f)
{
    g_autoptr(GError) err = NULL;
    guint id = 0;

    g_assert_true(pd_table_add(fx->t, &f, &id, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(id, >, 0);
    return id;
}

static guint
count(Fixture *fx)
{
    g_autoptr(GPtrArray) all = pd_table_list(fx->t);

    return all->len;
}

/* add/list/remove, ids 1,2,3 never reused, the listener really comes and
 * goes. */
static void
test_add_list_remove(Fixture *fx, gconstpointer unused)
{
    guint16 p1 = pd_test_free_port(AF_INET, SOCK_STREAM);
    guint16 p2 = pd_test_free_port(AF_INET, SOCK_STREAM);
    g_autoptr(GPtrArray) all = NULL;
    g_autoptr(GError) err = NULL;
    const PdForward *e;
    guint id1, id2, id3;

    g_assert_false(pd_test_tcp_listening("127.0.0.1", p1));
    id1 = add_ok(fx,
                 pd_test_fwd(PD_PROTO_TCP, "127.0.0.1", p1, "10.0.2.100", 80));
    g_assert_true(pd_test_tcp_listening("127.0.0.1", p1));
    id2 =
        add_ok(fx, pd_test_fwd(PD_PROTO_UDP, "0.0.0.0", p2, "10.0.2.100", 53));
    g_assert_cmpuint(id1, ==, 1);
    g_assert_cmpuint(id2, ==, 2);

    all = pd_table_list(fx->t);
    g_assert_cmpuint(all->len, ==, 2);
    e = g_ptr_array_index(all, 0);
    g_assert_cmpuint(e->id, ==, 1);
    g_assert_cmpint(e->proto, ==, PD_PROTO_TCP);
    g_assert_cmpint(e->path, ==, PD_PATH_SLIRP);
    g_assert_cmpuint(pd_addr_port(&e->host), ==, p1);
    g_assert_cmpuint(pd_addr_port(&e->guest), ==, 80);
    e = g_ptr_array_index(all, 1);
    g_assert_cmpint(e->proto, ==, PD_PROTO_UDP);

    /* UDP: the port is held by libslirp until removed. */
    g_assert_false(pd_test_can_bind("0.0.0.0", p2, SOCK_DGRAM));
    g_assert_true(pd_table_remove(fx->t, id2, &err));
    g_assert_true(pd_test_can_bind("0.0.0.0", p2, SOCK_DGRAM));

    g_assert_true(pd_table_remove(fx->t, id1, &err));
    g_assert_no_error(err);
    g_assert_false(pd_test_tcp_listening("127.0.0.1", p1));
    g_assert_cmpuint(count(fx), ==, 0);

    id3 = add_ok(fx,
                 pd_test_fwd(PD_PROTO_TCP, "127.0.0.1", p1, "10.0.2.100", 80));
    g_assert_cmpuint(id3, ==, 3);

    g_assert_false(pd_table_remove(fx->t, id1, &err));
    g_assert_error(err, PD_ERROR, PD_ERROR_NOT_FOUND);
    g_assert_cmpuint(count(fx), ==, 1);

    /* watcher: ADDED 1, ADDED 2, REMOVED 2, REMOVED 1, ADDED 3 */
    g_assert_cmpuint(fx->events->len, ==, 5);
    g_assert_cmpint(g_array_index(fx->events, Ev, 2).ev, ==, PD_TABLE_REMOVED);
    g_assert_cmpuint(g_array_index(fx->events, Ev, 2).id, ==, 2);
    g_assert_cmpint(g_array_index(fx->events, Ev, 4).ev, ==, PD_TABLE_ADDED);
    g_assert_cmpuint(g_array_index(fx->events, Ev, 4).id, ==, 3);
}

/* Every refusal leaves the table unchanged and uses up no id. */
static void
expect_refused(Fixture *fx, PdForward f, gint code, const char *needle)
{
    g_autoptr(GError) err = NULL;
    guint before = count(fx);
    guint id = 12345;

    g_assert_false(pd_table_add(fx->t, &f, &id, &err));
    g_assert_error(err, PD_ERROR, code);
    g_test_message("refused as expected: %s", err->message);
    if (needle != NULL)
        g_assert_nonnull(strstr(err->message, needle));
    g_assert_cmpuint(id, ==, 12345);
    g_assert_cmpuint(count(fx), ==, before);
}

static void
test_duplicates(Fixture *fx, gconstpointer unused)
{
    guint16 p = pd_test_free_port(AF_INET, SOCK_STREAM);
    guint16 q = pd_test_free_port(AF_INET, SOCK_STREAM);
    guint id;

    add_ok(fx, pd_test_fwd(PD_PROTO_TCP, "127.0.0.1", p, "10.0.2.100", 80));
    /* identical */
    expect_refused(fx,
                   pd_test_fwd(PD_PROTO_TCP, "127.0.0.1", p, "10.0.2.100", 81),
                   PD_ERROR_EXISTS, "overlaps forward 1");
    /* wildcard vs specific, both orders */
    expect_refused(fx,
                   pd_test_fwd(PD_PROTO_TCP, "0.0.0.0", p, "10.0.2.100", 80),
                   PD_ERROR_EXISTS, "tcp 0.0.0.0:");
    add_ok(fx, pd_test_fwd(PD_PROTO_TCP, "0.0.0.0", q, "10.0.2.100", 80));
    expect_refused(fx,
                   pd_test_fwd(PD_PROTO_TCP, "127.0.0.2", q, "10.0.2.100", 80),
                   PD_ERROR_EXISTS, NULL);
    /* other protocol on the same port is fine */
    add_ok(fx, pd_test_fwd(PD_PROTO_UDP, "127.0.0.1", p, "10.0.2.100", 80));
    expect_refused(fx,
                   pd_test_fwd(PD_PROTO_UDP, "0.0.0.0", p, "10.0.2.100", 80),
                   PD_ERROR_EXISTS, "udp");
    /* IPv4-mapped IPv6 is the IPv4 address */
    expect_refused(
        fx, pd_test_fwd(PD_PROTO_TCP, "::ffff:127.0.0.1", p, "10.0.2.100", 80),
        PD_ERROR_EXISTS, NULL);
    /* next successful add still gets the next id */
    id = add_ok(fx, pd_test_fwd(PD_PROTO_TCP, "127.0.0.1",
                                pd_test_free_port(AF_INET, SOCK_STREAM),
                                "10.0.2.100", 80));
    g_assert_cmpuint(id, ==, 4);
}

static void
test_invalid(Fixture *fx, gconstpointer unused)
{
    guint16 p = pd_test_free_port(AF_INET, SOCK_STREAM);
    PdForward f;

    f = pd_test_fwd(PD_PROTO_TCP, "127.0.0.1", p, "10.0.2.100", 80);
    ((struct sockaddr_in *)&f.host)->sin_port = 0;
    expect_refused(fx, f, PD_ERROR_INVALID, "host port");
    f = pd_test_fwd(PD_PROTO_TCP, "127.0.0.1", p, "10.0.2.100", 80);
    ((struct sockaddr_in *)&f.guest)->sin_port = 0;
    expect_refused(fx, f, PD_ERROR_INVALID, "guest port");
    f = pd_test_fwd(PD_PROTO_TCP, "127.0.0.1", p, "10.0.2.100", 80);
    f.proto = 7;
    expect_refused(fx, f, PD_ERROR_INVALID, "protocol");
    f = pd_test_fwd(PD_PROTO_TCP, "127.0.0.1", p, "10.0.2.100", 80);
    f.host.ss_family = AF_UNIX;
    expect_refused(fx, f, PD_ERROR_INVALID, "host address");
    f = pd_test_fwd(PD_PROTO_TCP, "127.0.0.1", p, "10.0.2.100", 80);
    f.guest.ss_family = AF_UNSPEC;
    expect_refused(fx, f, PD_ERROR_INVALID, "guest address");
    /* libslirp aborts on IPv4 host -> IPv6 guest: must be refused */
    expect_refused(fx,
                   pd_test_fwd(PD_PROTO_TCP, "127.0.0.1", p, "fd00::100", 80),
                   PD_ERROR_INVALID, "same family");
    /* IPv6 without -6 */
    expect_refused(fx, pd_test_fwd(PD_PROTO_TCP, "::1", p, "fd00::100", 80),
                   PD_ERROR_INVALID, "--enable-ipv6");
    g_assert_cmpuint(fx->events->len, ==, 0);
    g_assert_false(pd_test_tcp_listening("127.0.0.1", p));
}

/* The kernel refuses the bind: PD_ERROR_SLIRP with the reason. */
static void
test_port_in_use(Fixture *fx, gconstpointer unused)
{
    guint16 p = pd_test_free_port(AF_INET, SOCK_STREAM);
    struct sockaddr_storage ss;
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_true(pd_addr_parse("127.0.0.1", p, &ss));
    g_assert_cmpint(bind(s, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)),
                    ==, 0);
    g_assert_cmpint(listen(s, 1), ==, 0);
    expect_refused(fx,
                   pd_test_fwd(PD_PROTO_TCP, "127.0.0.1", p, "10.0.2.100", 80),
                   PD_ERROR_SLIRP, "Address already in use");
    close(s);
    g_assert_cmpuint(
        add_ok(fx, pd_test_fwd(PD_PROTO_TCP, "127.0.0.1", p, "10.0.2.100", 80)),
        ==, 1);
}

/* IPv6: V6ONLY, so [::]:P and 0.0.0.0:P coexist; ::1 vs :: overlaps. */
static void
test_ipv6(Fixture *fx, gconstpointer unused)
{
    guint16 p = pd_test_free_port(AF_INET6, SOCK_STREAM);
    g_autoptr(GError) err = NULL;
    guint id6, id4;

    id6 = add_ok(fx, pd_test_fwd(PD_PROTO_TCP, "::", p, "fd00::100", 80));
    g_assert_true(pd_test_tcp_listening("::1", p));
    g_assert_false(pd_test_tcp_listening("127.0.0.1", p));
    id4 = add_ok(fx, pd_test_fwd(PD_PROTO_TCP, "0.0.0.0", p, "10.0.2.100", 80));
    g_assert_true(pd_test_tcp_listening("127.0.0.1", p));
    expect_refused(fx, pd_test_fwd(PD_PROTO_TCP, "::1", p, "fd00::100", 80),
                   PD_ERROR_EXISTS, "[::1]");
    /* lazy guest "::" is accepted for TCP (libslirp resolves it per
     * connection), not for UDP (libslirp 4.7 does not) */
    add_ok(fx, pd_test_fwd(PD_PROTO_TCP, "::1", p + 1, "::", 53));
    expect_refused(fx, pd_test_fwd(PD_PROTO_UDP, "::1", p, "::", 53),
                   PD_ERROR_INVALID, "explicit guest");
    add_ok(fx, pd_test_fwd(PD_PROTO_UDP, "::1", p, "fd00::100", 53));
    /* IPv6 host -> IPv4 guest: refused */
    expect_refused(fx, pd_test_fwd(PD_PROTO_UDP, "::", p + 2, "10.0.2.100", 53),
                   PD_ERROR_INVALID, "same family");
    g_assert_true(pd_table_remove(fx->t, id6, &err));
    g_assert_false(pd_test_tcp_listening("::1", p));
    g_assert_true(pd_test_tcp_listening("127.0.0.1", p));
    g_assert_true(pd_table_remove(fx->t, id4, &err));
    g_assert_false(pd_test_tcp_listening("127.0.0.1", p));
}

static void
test_find_guest(Fixture *fx, gconstpointer unused)
{
    guint16 p = pd_test_free_port(AF_INET6, SOCK_STREAM);
    g_autoptr(GPtrArray) a = NULL;
    g_autoptr(GPtrArray) b = NULL;
    g_autoptr(GPtrArray) c = NULL;
    PdForward out;

    add_ok(fx, pd_test_fwd(PD_PROTO_TCP, "0.0.0.0", p, "10.0.2.100", 80));
    add_ok(fx, pd_test_fwd(PD_PROTO_TCP, "::", p, "fd00::100", 80));
    add_ok(fx, pd_test_fwd(PD_PROTO_UDP, "0.0.0.0", p, "10.0.2.100", 80));
    a = pd_table_find_guest(fx->t, PD_PROTO_TCP, 80);
    g_assert_cmpuint(a->len, ==, 2);
    g_assert_cmpuint(((PdForward *)g_ptr_array_index(a, 0))->id, ==, 1);
    g_assert_cmpuint(((PdForward *)g_ptr_array_index(a, 1))->id, ==, 2);
    b = pd_table_find_guest(fx->t, PD_PROTO_UDP, 80);
    g_assert_cmpuint(b->len, ==, 1);
    c = pd_table_find_guest(fx->t, PD_PROTO_TCP, 81);
    g_assert_cmpuint(c->len, ==, 0);
    g_assert_true(pd_table_get(fx->t, 3, &out));
    g_assert_cmpint(out.proto, ==, PD_PROTO_UDP);
    g_assert_false(pd_table_get(fx->t, 4, &out));
}

/* The bypass hand-off: libslirp's socket keeps the host port throughout,
 * a SO_REUSEPORT socket of ours may take over the serving and give it
 * back. */
static void
test_set_path(Fixture *fx, gconstpointer unused)
{
    guint16 p = pd_test_free_port(AF_INET, SOCK_STREAM);
    g_autoptr(GError) err = NULL;
    struct sockaddr_storage ss;
    PdForward out;
    guint id;
    int s, one = 1;

    id =
        add_ok(fx, pd_test_fwd(PD_PROTO_TCP, "127.0.0.1", p, "10.0.2.100", 80));
    g_assert_false(pd_test_can_bind("127.0.0.1", p, SOCK_STREAM));
    g_assert_true(pd_table_share(fx->t, id, &err));
    g_assert_no_error(err);

    /* the "bypass socket" binds beside libslirp's listener */
    g_assert_true(pd_addr_parse("127.0.0.1", p, &ss));
    s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one),
                    ==, 0);
    g_assert_cmpint(bind(s, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)),
                    ==, 0);

    g_assert_true(pd_table_set_path(fx->t, id, PD_PATH_BYPASS, &err));
    g_assert_no_error(err);
    g_assert_true(pd_table_get(fx->t, id, &out));
    g_assert_cmpint(out.path, ==, PD_PATH_BYPASS);
    /* idempotent */
    g_assert_true(pd_table_set_path(fx->t, id, PD_PATH_BYPASS, &err));
    /* libslirp's socket stopped listening but still holds the port */
    g_assert_false(pd_test_tcp_listening("127.0.0.1", p));
    g_assert_false(pd_test_can_bind("127.0.0.1", p, SOCK_STREAM));
    g_assert_cmpint(listen(s, 1), ==, 0);
    g_assert_true(pd_test_tcp_listening("127.0.0.1", p));

    /* a connection of the bypass socket, closed by the server first,
     * leaves a TIME_WAIT socket on the port: it must not keep libslirp
     * from taking the port back */
    {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), a;

        g_assert_cmpint(
            connect(c, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)), ==,
            0);
        a = accept(s, NULL, NULL);
        g_assert_cmpint(a, >=, 0);
        close(a);
        g_usleep(10000);
        close(c);
    }
    g_assert_true(pd_table_get(fx->t, id, &out));
    g_assert_cmpint(out.path, ==, PD_PATH_BYPASS);

    close(s);
    g_assert_false(pd_test_tcp_listening("127.0.0.1", p));
    g_assert_false(pd_test_can_bind("127.0.0.1", p, SOCK_STREAM));
    g_assert_true(pd_table_set_path(fx->t, id, PD_PATH_SLIRP, &err));
    g_assert_no_error(err);
    g_assert_true(pd_test_tcp_listening("127.0.0.1", p));
    g_assert_false(pd_test_can_bind("127.0.0.1", p, SOCK_STREAM));

    /* removing a BYPASS entry closes libslirp's socket too */
    g_assert_true(pd_table_set_path(fx->t, id, PD_PATH_BYPASS, &err));
    g_assert_true(pd_table_remove(fx->t, id, &err));
    g_assert_no_error(err);
    g_assert_true(pd_test_can_bind("127.0.0.1", p, SOCK_STREAM));

    g_assert_false(pd_table_set_path(fx->t, id, PD_PATH_SLIRP, &err));
    g_assert_error(err, PD_ERROR, PD_ERROR_NOT_FOUND);

    /* ADDED, PATH(bypass), PATH(slirp), PATH(bypass), REMOVED(bypass) */
    g_assert_cmpuint(fx->events->len, ==, 5);
    g_assert_cmpint(g_array_index(fx->events, Ev, 1).ev, ==,
                    PD_TABLE_PATH_CHANGED);
    g_assert_cmpint(g_array_index(fx->events, Ev, 1).path, ==, PD_PATH_BYPASS);
    g_assert_cmpint(g_array_index(fx->events, Ev, 2).path, ==, PD_PATH_SLIRP);
    g_assert_cmpint(g_array_index(fx->events, Ev, 4).ev, ==, PD_TABLE_REMOVED);
    g_assert_cmpint(g_array_index(fx->events, Ev, 4).path, ==, PD_PATH_BYPASS);
}

/* The same for UDP: while bypassed, libslirp's socket receives nothing and
 * every datagram goes to the bypass socket; afterwards libslirp's again. */
static void
test_set_path_udp(Fixture *fx, gconstpointer unused)
{
    guint16 p = pd_test_free_port(AF_INET, SOCK_DGRAM);
    g_autoptr(GError) err = NULL;
    struct sockaddr_storage ss;
    char buf[8];
    guint id;
    int s, c, one = 1, got = 0;

    id = add_ok(fx, pd_test_fwd(PD_PROTO_UDP, "0.0.0.0", p, "10.0.2.100", 53));
    g_assert_true(pd_table_share(fx->t, id, &err));
    g_assert_true(pd_addr_parse("0.0.0.0", p, &ss));
    s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    g_assert_cmpint(setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one),
                    ==, 0);
    g_assert_cmpint(bind(s, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)),
                    ==, 0);
    g_assert_true(pd_table_set_path(fx->t, id, PD_PATH_BYPASS, &err));
    g_assert_no_error(err);
    g_assert_true(pd_addr_parse("127.0.0.1", p, &ss));
    c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    for (int i = 0; i < 32; i++) {
        /* a new source port each time: the kernel's SO_REUSEPORT choice
         * hashes on it */
        int c2 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        g_assert_cmpint(sendto(c2, "x", 1, 0, (struct sockaddr *)&ss,
                               sizeof(struct sockaddr_in)),
                        ==, 1);
        close(c2);
    }
    g_usleep(20000);
    while (recv(s, buf, sizeof buf, 0) == 1)
        got++;
    g_assert_cmpint(got, ==, 32);
    close(s);
    g_assert_true(pd_table_set_path(fx->t, id, PD_PATH_SLIRP, &err));
    g_assert_no_error(err);
    g_assert_false(pd_test_can_bind("0.0.0.0", p, SOCK_DGRAM));
    /* removal after a round trip finds libslirp's socket again */
    g_assert_true(pd_table_set_path(fx->t, id, PD_PATH_BYPASS, &err));
    g_assert_true(pd_table_remove(fx->t, id, &err));
    g_assert_no_error(err);
    g_assert_true(pd_test_can_bind("0.0.0.0", p, SOCK_DGRAM));
    close(c);
}

/* 1000 add/remove cycles leave no fd behind. */
static void
test_no_fd_leak(Fixture *fx, gconstpointer unused)
{
    guint16 p = pd_test_free_port(AF_INET, SOCK_STREAM);
    guint before = pd_test_count_fds();

    for (int i = 0; i < 1000; i++) {
        g_autoptr(GError) err = NULL;
        PdProto proto = i % 2 ? PD_PROTO_UDP : PD_PROTO_TCP;
        guint id =
            add_ok(fx, pd_test_fwd(proto, "127.0.0.1", p, "10.0.2.100", 80));

        g_assert_true(pd_table_remove(fx->t, id, &err));
    }
    g_assert_cmpuint(pd_test_count_fds(), ==, before);
}

int
main(int argc, char **argv)
{
    gboolean isolated = pd_test_isolate();

    g_test_init(&argc, &argv, NULL);
    if (!isolated)
        g_test_message("not isolated: using free ports of this namespace");
#define ADD(name, fn, v6)                                                      \
    g_test_add("/port-driver/table/" name, Fixture, GINT_TO_POINTER(v6),       \
               setup, fn, teardown)
    ADD("add-list-remove", test_add_list_remove, 0);
    ADD("duplicates", test_duplicates, 0);
    ADD("invalid", test_invalid, 0);
    ADD("port-in-use", test_port_in_use, 0);
    ADD("ipv6", test_ipv6, 1);
    ADD("find-guest", test_find_guest, 1);
    ADD("set-path", test_set_path, 0);
    ADD("set-path-udp", test_set_path_udp, 0);
    ADD("no-fd-leak", test_no_fd_leak, 0);
    return g_test_run();
}
