/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * publish.c: -p/--publish specs from the command line.
 *
 * Theory of operation: a spec is "[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]"
 * (the docker/podman -p form), with an IPv6 HOSTIP in brackets
 * ("[::1]:8080:80/tcp").  It becomes a PdForward for the same table the
 * API feeds, so a published port and an add_hostfwd port behave alike.
 * The guest address is the default one: the recommended guest IPv4
 * address, or for an IPv6 host address the guest IPv6 address if main
 * knows it and otherwise "::", which libslirp resolves at connect time to
 * the address the guest is using (learnt from its NDP traffic).  Parsing
 * is strict (digits only, 1-65535) and every message quotes the spec.
 */
#include "port_driver.h"

#include <string.h>

/* Parses a decimal port 1-65535 (digits only). */
static gboolean
parse_port(const char *s, guint16 *out)
{
    guint64 v = 0;

    if (s == NULL || *s == '\0' || strlen(s) > 5)
        return FALSE;
    for (const char *p = s; *p != '\0'; p++) {
        if (!g_ascii_isdigit(*p))
            return FALSE;
        v = v * 10 + (guint64)(*p - '0');
    }
    if (v < 1 || v > 65535)
        return FALSE;
    *out = (guint16)v;
    return TRUE;
}

/**
 * pd_default_guest:
 * @net: the network facts
 * @family: AF_INET or AF_INET6 (the host address's family)
 * @port: guest port
 * @out: (out): the default guest address for that family
 */
void
pd_default_guest(const PdNetInfo *net, int family, guint16 port,
                 struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    if (family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        /* "::" (unknown) is fine: libslirp resolves it lazily. */
        sin6->sin6_addr = net->vnet.guest6;
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)out;

        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        sin->sin_addr = net->vnet.guest;
    }
}

/**
 * pd_publish_parse:
 * @spec: "[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]"
 * @net: the network facts (default guest addresses)
 * @out: (out): the forward (id 0, path SLIRP)
 * @error: PD_ERROR_INVALID, naming the spec
 *
 * Syntax only: the table checks the rest (duplicates, IPv6 enabled) when
 * the forward is added.
 *
 * Returns: TRUE on success.
 */
gboolean
pd_publish_parse(const char *spec, const PdNetInfo *net, PdForward *out,
                 GError **error)
{
    g_autofree char *copy = g_strdup(spec != NULL ? spec : "");
    const char *reason = NULL;
    char *ports, *slash, *host = NULL, *colon;
    guint16 hport = 0, gport = 0;
    PdNetInfo dflt = { 0 };

    if (net == NULL)
        net = &dflt;
    memset(out, 0, sizeof(*out));
    out->proto = PD_PROTO_TCP;
    slash = strrchr(copy, '/');
    if (slash != NULL) {
        *slash = '\0';
        if (strcmp(slash + 1, "tcp") == 0)
            out->proto = PD_PROTO_TCP;
        else if (strcmp(slash + 1, "udp") == 0)
            out->proto = PD_PROTO_UDP;
        else {
            reason = "protocol must be tcp or udp";
            goto out;
        }
    }
    ports = copy;
    if (copy[0] == '[') {
        char *close = strchr(copy, ']');

        if (close == NULL || close[1] != ':') {
            reason = "expected [IPV6]:HOSTPORT:GUESTPORT";
            goto out;
        }
        *close = '\0';
        host = copy + 1;
        ports = close + 2;
        if (strchr(host, ':') == NULL) {
            reason = "only IPv6 addresses go in brackets";
            goto out;
        }
    }
    colon = strchr(ports, ':');
    if (colon == NULL) {
        reason = "expected [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]";
        goto out;
    }
    if (strchr(colon + 1, ':') != NULL) {
        /* HOSTIP:HOSTPORT:GUESTPORT */
        char *second = strchr(colon + 1, ':');

        if (host != NULL || strchr(second + 1, ':') != NULL) {
            reason = host != NULL ? "expected [IPV6]:HOSTPORT:GUESTPORT"
                                  : "an IPv6 host address must be in brackets";
            goto out;
        }
        *colon = '\0';
        host = ports;
        ports = colon + 1;
        colon = second;
    }
    *colon = '\0';
    if (!parse_port(ports, &hport)) {
        reason = "host port must be a number 1-65535";
        goto out;
    }
    if (!parse_port(colon + 1, &gport)) {
        reason = "guest port must be a number 1-65535";
        goto out;
    }
    if (host == NULL || host[0] == '\0')
        host = "0.0.0.0";
    if (!pd_addr_parse(host, hport, &out->host)) {
        reason = "host address is not a numeric IPv4 or IPv6 address";
        goto out;
    }
    pd_default_guest(net, out->host.ss_family, gport, &out->guest);
out:
    if (reason != NULL) {
        g_set_error(error, PD_ERROR, PD_ERROR_INVALID,
                    "invalid --publish spec \"%s\": %s", spec ? spec : "",
                    reason);
        memset(out, 0, sizeof(*out));
        return FALSE;
    }
    return TRUE;
}
