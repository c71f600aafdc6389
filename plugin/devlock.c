/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * devlock.c: lock every injected host socket to the interface of the route
 * the agent approved.
 *
 * Theory of operation.  Once a host-namespace socket is in the container,
 * calls the agent does not see act on it directly: shutdown() of a socket
 * that is still connecting makes it unconnected again, and so does a
 * connect() after a failed attempt; an unconnected socket can then be
 * aimed anywhere by a connect() the kernel runs after another call's
 * CONTINUE (a thread dup2()s it over the checked fd number), by i386
 * socketcall(2) or, with Fast Open, by sendto(MSG_FASTOPEN), which puts
 * data into the SYN itself.  No trap can close all of these without
 * trapping every send and every shutdown.  The kernel can, though:
 *
 *   - SO_BINDTOIFINDEX (SO_BINDTODEVICE) may be set once on a socket
 *     without privileges (Linux >= 5.7), but changing or clearing it needs
 *     CAP_NET_RAW in the user namespace owning the host's network
 *     namespace, which no process of a rootless container has
 *     (sock_bindtoindex_locked(): EPERM);
 *   - a socket bound to an interface only uses routes through it: with
 *     any interface but `lo` it cannot reach 127.0.0.0/8 or ::1 (the
 *     SYN goes out of that interface as a martian, or the connect fails
 *     with ENETUNREACH/EADDRNOTAVAIL), nor a local address owned by
 *     another interface.
 *
 * So before the agent connects a host socket it binds it to the interface
 * its destination is routed through, and a host socket can never be
 * re-aimed past that interface by any call, in any state, race or ABI.
 * For a destination that is a local address of the host (the route is of
 * type "local", through `lo`) the interface is the one that owns the
 * address, which is what RTM_GETROUTE with RTM_F_FIB_MATCH returns (the
 * matched entry of the local table), and binding to it still reaches the
 * address.  Destinations owned by `lo` itself (127.0.0.1 for the gateway,
 * addresses put on lo) are bypassed only while host loopback is allowed
 * (connect.c): a socket bound to lo reaches every local address.
 *
 * The route is asked for with RTM_GETROUTE on a netlink socket opened at
 * start-up (before any sandbox), once per destination: the answers are
 * cached, and the whole cache is dropped whenever the host's links,
 * addresses, routes, rules or nexthops change (a second netlink socket
 * subscribed to those groups, watched on the main loop at a higher
 * priority than the notify fds, so a change is seen before the next
 * notification is answered).  A cache hit costs one hash lookup; the lock
 * itself one setsockopt.
 */
#include "agent_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef RTM_F_FIB_MATCH
#define RTM_F_FIB_MATCH 0x2000
#endif
#ifndef RTNLGRP_NEXTHOP
#define RTNLGRP_NEXTHOP 32
#endif
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* More cached destinations than this: start over. */
#define PB_ROUTES_MAX 4096

/* A cache key: the normalised destination (v4-mapped IPv6 is IPv4). */
typedef struct {
    guint8 family;
    guint8 addr[16];
} PbRouteKey;

struct PbRoutes {
    int query;   /* NETLINK_ROUTE socket for RTM_GETROUTE */
    int monitor; /* NETLINK_ROUTE socket subscribed to changes, or -1 */
    GSource *watch;
    GHashTable *cache; /* PbRouteKey * -> GINT_TO_POINTER(ifindex/-errno) */
    guint32 seq;
    gboolean has_src4, has_src6;
    struct in_addr src4;
    struct in6_addr src6;
};

/* One parsed RTM_NEWROUTE answer. */
typedef struct {
    guint8 type; /* RTN_* */
    int oif;     /* RTA_OIF or the first nexthop's, 0 if none */
} PbRouteAnswer;

static guint
key_hash(gconstpointer p)
{
    const PbRouteKey *k = p;
    guint h = k->family;

    for (guint i = 0; i < sizeof k->addr; i++)
        h = h * 31 + k->addr[i];
    return h;
}

static gboolean
key_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(PbRouteKey)) == 0;
}

/*
 * key_from: normalise @dst into @k.
 * Returns: FALSE for a family that has no route (not AF_INET/AF_INET6).
 */
static gboolean
key_from(const struct sockaddr *dst, PbRouteKey *k)
{
    memset(k, 0, sizeof *k);
    if (dst->sa_family == AF_INET) {
        k->family = AF_INET;
        memcpy(k->addr, &((const struct sockaddr_in *)dst)->sin_addr, 4);
        return TRUE;
    }
    if (dst->sa_family == AF_INET6) {
        const struct in6_addr *a =
            &((const struct sockaddr_in6 *)dst)->sin6_addr;

        if (IN6_IS_ADDR_V4MAPPED(a)) {
            k->family = AF_INET;
            memcpy(k->addr, &a->s6_addr[12], 4);
        } else {
            k->family = AF_INET6;
            memcpy(k->addr, a, 16);
        }
        return TRUE;
    }
    return FALSE;
}

/*
 * add_attr: append a route attribute to the request in @buf (@len: its
 * current length, updated), bounded by @size.
 */
static void
add_attr(char *buf, gsize size, guint32 *len, guint16 type, const void *data,
         guint16 dlen)
{
    struct rtattr *rta = (struct rtattr *)(buf + NLMSG_ALIGN(*len));

    g_assert(NLMSG_ALIGN(*len) + RTA_SPACE(dlen) <= size);
    rta->rta_type = type;
    rta->rta_len = RTA_LENGTH(dlen);
    memcpy(RTA_DATA(rta), data, dlen);
    *len = NLMSG_ALIGN(*len) + RTA_SPACE(dlen);
}

/*
 * parse_answer: read one RTM_NEWROUTE (or NLMSG_ERROR) from @buf.
 * Returns: 0 with @ans filled, -ENOMSG if @buf holds no answer to @seq,
 * or -errno (the kernel's, or -EPROTO for a malformed answer).
 */
static int
parse_answer(const char *buf, gssize n, guint32 seq, PbRouteAnswer *ans)
{
    const struct nlmsghdr *nh = (const struct nlmsghdr *)buf;
    const struct rtmsg *rt;
    const struct rtattr *rta;
    int alen;

    for (; NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
        if (nh->nlmsg_seq != seq)
            continue;
        if (nh->nlmsg_type == NLMSG_ERROR) {
            const struct nlmsgerr *e = NLMSG_DATA(nh);

            if (nh->nlmsg_len < NLMSG_LENGTH(sizeof *e))
                return -EPROTO;
            return e->error < 0 ? e->error : -EPROTO;
        }
        if (nh->nlmsg_type != RTM_NEWROUTE ||
            nh->nlmsg_len < NLMSG_LENGTH(sizeof *rt))
            continue;
        rt = NLMSG_DATA(nh);
        ans->type = rt->rtm_type;
        ans->oif = 0;
        alen = (int)RTM_PAYLOAD(nh);
        for (rta = RTM_RTA(rt); RTA_OK(rta, alen); rta = RTA_NEXT(rta, alen)) {
            if (rta->rta_type == RTA_OIF &&
                RTA_PAYLOAD(rta) >= sizeof(guint32)) {
                ans->oif = (int)*(const guint32 *)RTA_DATA(rta);
            } else if (rta->rta_type == RTA_MULTIPATH && ans->oif == 0 &&
                       RTA_PAYLOAD(rta) >= sizeof(struct rtnexthop)) {
                const struct rtnexthop *nhop = RTA_DATA(rta);

                ans->oif = nhop->rtnh_ifindex;
            }
        }
        return 0;
    }
    return -ENOMSG;
}

/*
 * ask: one RTM_GETROUTE for @k (with the outbound source address, if any);
 * @fibmatch asks for the matched FIB entry instead of the resolved route.
 * Returns: 0 with @ans filled, or -errno.
 */
static int
ask(PbRoutes *r, const PbRouteKey *k, gboolean fibmatch, PbRouteAnswer *ans)
{
    union {
        char buf[NLMSG_SPACE(sizeof(struct rtmsg)) + 2 * RTA_SPACE(16)];
        struct nlmsghdr nh;
    } req;
    /* a multipath route's answer can be long; a truncated one is not
     * parsed (MSG_TRUNC below) */
    union {
        char buf[16384];
        struct nlmsghdr nh;
    } resp;
    struct sockaddr_nl from;
    socklen_t fromlen;
    struct rtmsg *rt;
    guint32 len = NLMSG_LENGTH(sizeof *rt);
    guint16 alen = k->family == AF_INET ? 4 : 16;
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    gssize n;

    memset(&req, 0, sizeof req);
    req.nh.nlmsg_type = RTM_GETROUTE;
    req.nh.nlmsg_flags = NLM_F_REQUEST;
    req.nh.nlmsg_seq = ++r->seq;
    rt = NLMSG_DATA(&req.nh);
    rt->rtm_family = k->family;
    rt->rtm_dst_len = (guint8)(alen * 8);
    rt->rtm_flags = fibmatch ? RTM_F_FIB_MATCH : 0;
    add_attr(req.buf, sizeof req.buf, &len, RTA_DST, k->addr, alen);
    if (k->family == AF_INET && r->has_src4) {
        rt->rtm_src_len = 32;
        add_attr(req.buf, sizeof req.buf, &len, RTA_SRC, &r->src4, 4);
    } else if (k->family == AF_INET6 && r->has_src6) {
        rt->rtm_src_len = 128;
        add_attr(req.buf, sizeof req.buf, &len, RTA_SRC, &r->src6, 16);
    }
    req.nh.nlmsg_len = len;
    if (sendto(r->query, req.buf, len, 0, (struct sockaddr *)&kernel,
               sizeof kernel) < 0)
        return -errno;
    /* rtnetlink answers from within sendto(): the reply is queued by now;
     * answers to an earlier, abandoned request are skipped */
    for (guint i = 0; i < 8; i++) {
        int rc;

        fromlen = sizeof from;
        n = recvfrom(r->query, resp.buf, sizeof resp.buf,
                     MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from,
                     &fromlen);
        if (n < 0)
            return errno == EAGAIN ? -ETIMEDOUT : -errno;
        if (n > (gssize)sizeof resp.buf)
            return -EMSGSIZE;
        if (from.nl_pid != 0)
            continue; /* only the kernel answers */
        rc = parse_answer(resp.buf, n, r->seq, ans);
        if (rc != -ENOMSG)
            return rc;
    }
    return -ETIMEDOUT;
}

/*
 * resolve: the interface a socket connecting to @k must be bound to.
 * Returns: the ifindex, or -errno (-ENETUNREACH: not a unicast or local
 * route, or no interface in the answer).
 */
static int
resolve(PbRoutes *r, const PbRouteKey *k)
{
    PbRouteAnswer ans = { 0 };
    int rc = ask(r, k, FALSE, &ans);

    if (rc < 0)
        return rc;
    if (ans.type == RTN_LOCAL) {
        /* the resolved route says "dev lo"; the local table's entry names
         * the interface that owns the address */
        rc = ask(r, k, TRUE, &ans);
        if (rc < 0)
            return rc;
        if (ans.type != RTN_LOCAL)
            return -ENETUNREACH;
    } else if (ans.type != RTN_UNICAST) {
        return -ENETUNREACH;
    }
    return ans.oif > 0 ? ans.oif : -ENETUNREACH;
}

/*
 * monitor_dispatch: the host's network configuration changed (or the
 * notifications overflowed): drain the socket, forget every answer.
 */
static gboolean
monitor_dispatch(gint fd, GIOCondition cond, gpointer data)
{
    PbRoutes *r = data;
    char buf[8192];
    gboolean changed = (cond & (G_IO_ERR | G_IO_HUP)) != 0;

    for (guint i = 0; i < 1024; i++) {
        gssize n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        changed = TRUE; /* data, ENOBUFS (lost events) or another error */
        if (n < 0 && errno != ENOBUFS)
            break;
    }
    if (changed && g_hash_table_size(r->cache) > 0) {
        pb_debug("routes changed: %u cached interface(s) forgotten",
                 g_hash_table_size(r->cache));
        g_hash_table_remove_all(r->cache);
    }
    return G_SOURCE_CONTINUE;
}

/*
 * subscribe_monitor: bind netlink socket @fd and subscribe it to every
 * group whose messages can change an answer.  Returns: 0 or -errno.
 */
static int
subscribe_monitor(int fd)
{
    static const int groups[] = {
        RTNLGRP_LINK,      RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_ROUTE,
        RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV6_ROUTE,
        RTNLGRP_IPV6_RULE, RTNLGRP_NEXTHOP,
    };
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        return -errno;
    for (guint i = 0; i < G_N_ELEMENTS(groups); i++)
        if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i],
                       sizeof groups[i]) < 0 &&
            groups[i] != RTNLGRP_NEXTHOP) /* Linux < 5.3 */
            return -errno;
    return 0;
}

/**
 * pb_routes_new_from:
 * @ctx: the main context the change monitor runs on
 * @query: (transfer full): a NETLINK_ROUTE socket for RTM_GETROUTE
 * @monitor: (transfer full): another one, to watch for changes
 * @src4: (nullable): the IPv4 source address host sockets are bound to
 *   (--outbound-addr), so policy routing by source is asked the same way
 * @src6: (nullable): the same for IPv6
 * @error: PB_ERROR_SYSTEM naming what failed
 *
 * The sockets answer for the network namespace they were created in: the
 * host's (pb_routes_new()) or the served one (the tap child makes them
 * there, so the agent can ask how the container routes a destination).
 *
 * Returns: (transfer full) the route cache, or NULL (both fds closed).
 */
PbRoutes *
pb_routes_new_from(GMainContext *ctx, int query, int monitor,
                   const struct in_addr *src4, const struct in6_addr *src6,
                   GError **error)
{
    PbRoutes *r = g_new0(PbRoutes, 1);
    int rc;

    r->query = query;
    r->monitor = monitor;
    rc = subscribe_monitor(monitor);
    if (rc < 0) {
        g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM,
                    "netlink route monitor: %s", g_strerror(-rc));
        pb_routes_free(r);
        return NULL;
    }
    r->cache = g_hash_table_new_full(key_hash, key_equal, g_free, NULL);
    if (src4 != NULL) {
        r->has_src4 = TRUE;
        r->src4 = *src4;
    }
    if (src6 != NULL) {
        r->has_src6 = TRUE;
        r->src6 = *src6;
    }
    r->watch = g_unix_fd_source_new(monitor, G_IO_IN | G_IO_ERR | G_IO_HUP);
    g_source_set_callback(r->watch, G_SOURCE_FUNC(monitor_dispatch), r, NULL);
    /* before any notification of the same iteration (notify.c: default) */
    g_source_set_priority(r->watch, G_PRIORITY_HIGH);
    g_source_set_name(r->watch, "pb-routes");
    g_source_attach(r->watch, ctx);
    return r;
}

/**
 * pb_routes_new:
 * @ctx: the main context the change monitor runs on
 * @src4: (nullable): the IPv4 source address host sockets are bound to
 * @src6: (nullable): the same for IPv6
 * @error: PB_ERROR_SYSTEM if a netlink socket cannot be opened
 *
 * The host namespace's route cache (sockets opened here).
 *
 * Returns: (transfer full) the route cache, or NULL.
 */
PbRoutes *
pb_routes_new(GMainContext *ctx, const struct in_addr *src4,
              const struct in6_addr *src6, GError **error)
{
    int query = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    int monitor = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

    if (query < 0 || monitor < 0) {
        g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM,
                    "netlink route socket: %s", g_strerror(errno));
        if (query >= 0)
            close(query);
        if (monitor >= 0)
            close(monitor);
        return NULL;
    }
    return pb_routes_new_from(ctx, query, monitor, src4, src6, error);
}

/**
 * pb_routes_free:
 * @r: (nullable): a route cache
 */
void
pb_routes_free(PbRoutes *r)
{
    if (r == NULL)
        return;
    if (r->watch != NULL) {
        g_source_destroy(r->watch);
        g_source_unref(r->watch);
    }
    if (r->monitor >= 0)
        close(r->monitor);
    if (r->query >= 0)
        close(r->query);
    if (r->cache != NULL)
        g_hash_table_destroy(r->cache);
    g_free(r);
}

/**
 * pb_routes_ifindex:
 * @r: a route cache
 * @dst: the destination the agent approved (AF_INET or AF_INET6)
 *
 * Returns: the index of the interface a host socket connecting to @dst
 * must be bound to (the loopback interface is index 1), or -errno: the
 * route lookup's error, -ENETUNREACH for a route that is neither unicast
 * nor local (blackhole, prohibit, broadcast, ...).
 */
int
pb_routes_ifindex(PbRoutes *r, const struct sockaddr *dst)
{
    PbRouteKey k;
    gpointer v;
    int ifindex;

    if (!key_from(dst, &k))
        return -EAFNOSUPPORT;
    if (g_hash_table_lookup_extended(r->cache, &k, NULL, &v))
        return GPOINTER_TO_INT(v);
    ifindex = resolve(r, &k);
    /* transient failures of the netlink exchange are not remembered */
    if (ifindex > 0 || ifindex == -ENETUNREACH || ifindex == -EHOSTUNREACH ||
        ifindex == -EINVAL) {
        if (g_hash_table_size(r->cache) >= PB_ROUTES_MAX)
            g_hash_table_remove_all(r->cache);
        g_hash_table_insert(r->cache, g_memdup2(&k, sizeof k),
                            GINT_TO_POINTER(ifindex));
    }
    return ifindex;
}

/**
 * pb_dev_lock:
 * @fd: a host socket, not connected yet
 * @ifindex: from pb_routes_ifindex()
 *
 * Bind @fd to interface @ifindex.  Without privileges over the host's
 * network namespace nobody can change or clear this binding afterwards.
 * Returns: 0 or -errno.
 */
int
pb_dev_lock(int fd, int ifindex)
{
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &ifindex, sizeof ifindex) <
        0)
        return -errno;
    return 0;
}
