/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_publish.c: -p/--publish spec parsing (pd_publish_parse).
 *
 * Theory of operation: a table of specs and the forward each must give
 * (protocol, host address and port, guest address and port) or the
 * error it must give; the error must quote the spec.  Then one spec goes
 * through a real table so that -p and the API meet in the same place.
 */
#include "pd_test_util.h"

#include <arpa/inet.h>
#include <string.h>

typedef struct {
    const char *spec;
    gboolean ipv6; /* PdNetInfo.ipv6 and a known guest6 */
    PdProto proto;
    const char *host; /* NULL: must fail */
    guint16 hport;
    const char *guest;
    guint16 gport;
    const char *why; /* for failures: substring of the message */
} Case;

static const Case cases[] = {
    { "8080:80", 0, PD_PROTO_TCP, "0.0.0.0", 8080, "10.0.2.100", 80, NULL },
    { "8080:80/tcp", 0, PD_PROTO_TCP, "0.0.0.0", 8080, "10.0.2.100", 80, NULL },
    { "5353:53/udp", 0, PD_PROTO_UDP, "0.0.0.0", 5353, "10.0.2.100", 53, NULL },
    { "127.0.0.1:8080:80", 0, PD_PROTO_TCP, "127.0.0.1", 8080, "10.0.2.100", 80,
      NULL },
    { "127.0.0.1:65535:1/udp", 0, PD_PROTO_UDP, "127.0.0.1", 65535,
      "10.0.2.100", 1, NULL },
    { ":8080:80", 0, PD_PROTO_TCP, "0.0.0.0", 8080, "10.0.2.100", 80, NULL },
    { "[::1]:8080:80/tcp", 0, PD_PROTO_TCP, "::1", 8080, "::", 80, NULL },
    { "[::]:8080:80", 1, PD_PROTO_TCP, "::", 8080, "fd00::100", 80, NULL },
    { "[::ffff:127.0.0.1]:8080:80", 0, PD_PROTO_TCP, "127.0.0.1", 8080,
      "10.0.2.100", 80, NULL },
    { "", 0, 0, NULL, 0, NULL, 0, "expected" },
    { "8080", 0, 0, NULL, 0, NULL, 0, "expected" },
    { "0:80", 0, 0, NULL, 0, NULL, 0, "host port" },
    { "65536:80", 0, 0, NULL, 0, NULL, 0, "host port" },
    { "70000:80", 0, 0, NULL, 0, NULL, 0, "host port" },
    { "80:0", 0, 0, NULL, 0, NULL, 0, "guest port" },
    { "80:99999", 0, 0, NULL, 0, NULL, 0, "guest port" },
    { "http:80", 0, 0, NULL, 0, NULL, 0, "host port" },
    { "+80:80", 0, 0, NULL, 0, NULL, 0, "host port" },
    { " 80:80", 0, 0, NULL, 0, NULL, 0, "host port" },
    { "80:80/sctp", 0, 0, NULL, 0, NULL, 0, "protocol" },
    { "80:80/", 0, 0, NULL, 0, NULL, 0, "protocol" },
    { "80:80/TCP", 0, 0, NULL, 0, NULL, 0, "protocol" },
    { "localhost:80:80", 0, 0, NULL, 0, NULL, 0, "host address" },
    { "1.2.3:80:80", 0, 0, NULL, 0, NULL, 0, "host address" },
    { "::1:8080:80", 0, 0, NULL, 0, NULL, 0, "brackets" },
    { "[::1:8080:80", 0, 0, NULL, 0, NULL, 0, "expected" },
    { "[::1]8080:80", 0, 0, NULL, 0, NULL, 0, "expected" },
    { "[127.0.0.1]:8080:80", 0, 0, NULL, 0, NULL, 0, "brackets" },
    { "[::1]:1:2:3", 0, 0, NULL, 0, NULL, 0, "expected" },
    { "1.2.3.4:1:2:3", 0, 0, NULL, 0, NULL, 0, "brackets" },
};

static void
test_cases(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        const Case *c = &cases[i];
        g_autoptr(GError) err = NULL;
        PdNetInfo net;
        PdForward f;
        gboolean ok;

        pd_test_netinfo(&net, c->ipv6);
        if (c->ipv6)
            inet_pton(AF_INET6, "fd00::100", &net.vnet.guest6);
        ok = pd_publish_parse(c->spec, &net, &f, &err);
        g_test_message("spec \"%s\": %s", c->spec, ok ? "ok" : err->message);
        if (c->host == NULL) {
            g_autofree char *quoted = g_strdup_printf("\"%s\"", c->spec);

            g_assert_false(ok);
            g_assert_error(err, PD_ERROR, PD_ERROR_INVALID);
            g_assert_nonnull(strstr(err->message, quoted));
            g_assert_nonnull(strstr(err->message, c->why));
        } else {
            g_autofree char *host = NULL;
            g_autofree char *guest = NULL;

            g_assert_true(ok);
            g_assert_no_error(err);
            host = pd_addr_to_string(&f.host);
            guest = pd_addr_to_string(&f.guest);
            g_assert_cmpint(f.proto, ==, c->proto);
            g_assert_cmpstr(host, ==, c->host);
            g_assert_cmpuint(pd_addr_port(&f.host), ==, c->hport);
            g_assert_cmpstr(guest, ==, c->guest);
            g_assert_cmpuint(pd_addr_port(&f.guest), ==, c->gport);
            g_assert_cmpuint(f.id, ==, 0);
            g_assert_cmpint(f.path, ==, PD_PATH_SLIRP);
        }
    }
}

/* -p and the table: published entries are ordinary entries. */
static void
test_into_table(void)
{
    Slirp *slirp = pd_test_slirp_new(FALSE);
    guint16 p = pd_test_free_port(AF_INET, SOCK_STREAM);
    g_autofree char *spec = g_strdup_printf("127.0.0.1:%u:80/tcp", p);
    g_autoptr(GError) err = NULL;
    PdNetInfo net;
    PdTable *t;
    PdForward f;
    guint id = 0;

    pd_test_netinfo(&net, FALSE);
    t = pd_table_new(slirp, &net);
    g_assert_true(pd_publish_parse(spec, &net, &f, &err));
    g_assert_true(pd_table_add(t, &f, &id, &err));
    g_assert_cmpuint(id, ==, 1);
    g_assert_true(pd_test_tcp_listening("127.0.0.1", p));
    /* the same spec twice is a duplicate */
    g_assert_true(pd_publish_parse(spec, &net, &f, &err));
    g_assert_false(pd_table_add(t, &f, &id, &err));
    g_assert_error(err, PD_ERROR, PD_ERROR_EXISTS);
    g_clear_error(&err);
    /* IPv6 spec without -6: the table refuses it */
    g_assert_true(pd_publish_parse("[::1]:8080:80", &net, &f, &err));
    g_assert_false(pd_table_add(t, &f, &id, &err));
    g_assert_error(err, PD_ERROR, PD_ERROR_INVALID);
    pd_table_free(t);
    slirp_cleanup(slirp);
}

int
main(int argc, char **argv)
{
    pd_test_isolate();
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/port-driver/publish/cases", test_cases);
    g_test_add_func("/port-driver/publish/into-table", test_into_table);
    return g_test_run();
}
