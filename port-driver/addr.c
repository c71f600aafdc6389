/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * addr.c: address and name helpers shared by the table, the API and
 * --publish.
 *
 * Theory of operation: every forward keeps its addresses as
 * sockaddr_storage (AF_INET or AF_INET6, port included) because that is
 * what slirp_add_hostxfwd() takes.  Text is converted here, in one place,
 * so that the API, the command line and list output agree.  IPv4-mapped
 * IPv6 addresses are folded to AF_INET: libslirp cannot translate between
 * the families (it aborts on an IPv4 host forward to an IPv6 guest), so a
 * forward's family must be unambiguous.
 */
#include "port_driver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <string.h>

/**
 * pd_addr_parse:
 * @text: numeric IPv4 ("127.0.0.1") or IPv6 ("::1", "fe80::1%lo") address
 * @port: port to store, host byte order
 * @out: (out): the address
 *
 * Returns: TRUE on success; FALSE (and *out zeroed) if @text is not a
 * numeric address.  Hostnames are never resolved.
 */
gboolean
pd_addr_parse(const char *text, guint16 port, struct sockaddr_storage *out)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)out;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
    struct addrinfo hints = { 0 };
    struct addrinfo *res = NULL;
    gboolean ok = FALSE;

    memset(out, 0, sizeof(*out));
    if (text == NULL || text[0] == '\0')
        goto out;
    if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        ok = TRUE;
        goto out;
    }
    if (strchr(text, ':') == NULL)
        goto out;
    /* getaddrinfo (numeric only) rather than inet_pton: it also accepts a
     * %scope suffix for link-local addresses. */
    hints.ai_family = AF_INET6;
    hints.ai_flags = AI_NUMERICHOST;
    if (getaddrinfo(text, NULL, &hints, &res) != 0 || res == NULL ||
        res->ai_addrlen != sizeof(*sin6))
        goto out;
    memcpy(sin6, res->ai_addr, sizeof(*sin6));
    sin6->sin6_port = htons(port);
    if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
        struct in_addr v4;

        memcpy(&v4, &sin6->sin6_addr.s6_addr[12], 4);
        memset(out, 0, sizeof(*out));
        sin->sin_family = AF_INET;
        sin->sin_addr = v4;
        sin->sin_port = htons(port);
    }
    ok = TRUE;
out:
    if (res != NULL)
        freeaddrinfo(res);
    if (!ok)
        memset(out, 0, sizeof(*out));
    return ok;
}

/**
 * pd_addr_to_string:
 * @sa: an AF_INET or AF_INET6 address
 *
 * Returns: (transfer full): the address without port, as inet_ntop()
 * writes it ("::1", "10.0.2.100"); "" for any other family.
 */
char *
pd_addr_to_string(const struct sockaddr_storage *sa)
{
    char buf[INET6_ADDRSTRLEN] = "";

    if (sa->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf,
                  sizeof(buf));
    else if (sa->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
                  sizeof(buf));
    return g_strdup(buf);
}

/**
 * pd_addr_port:
 * @sa: an AF_INET or AF_INET6 address
 *
 * Returns: its port in host byte order (0 for other families).
 */
guint16
pd_addr_port(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    if (sa->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    return 0;
}

/**
 * pd_proto_name:
 * @proto: a protocol
 *
 * Returns: "tcp" or "udp" (the API's spelling); "?" if out of range.
 */
const char *
pd_proto_name(PdProto proto)
{
    switch (proto) {
    case PD_PROTO_TCP:
        return "tcp";
    case PD_PROTO_UDP:
        return "udp";
    }
    return "?";
}

/**
 * pd_path_name:
 * @path: a data path
 *
 * Returns: "slirp" or "bypass" (as list_hostfwd_ex reports it).
 */
const char *
pd_path_name(PdPath path)
{
    switch (path) {
    case PD_PATH_SLIRP:
        return "slirp";
    case PD_PATH_BYPASS:
        return "bypass";
    }
    return "?";
}
