/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sockdiag.c: which of the host's TCP or UDP sockets on one port still
 * exist, by socket cookie (NETLINK_SOCK_DIAG).
 *
 * Theory of operation.  The port hand-off (handoff.c) gives a container a
 * host socket and must notice when the container is done with it, without
 * trapping close() and without keeping a copy (a copy would keep it
 * alive).  The kernel's socket diagnostics list every socket of the
 * agent's network namespace with a 64-bit cookie that is never reused; a
 * socket whose cookie is no longer listed is closed.  TCP sockets are
 * listed by state: listeners, and on Linux >= 6.7 also sockets that are
 * bound but not listening ("bound-inactive"); pb_sockdiag_new() checks
 * whether the kernel lists those.  Unprivileged users may dump their own
 * network namespace's sockets.  One dump per port and family, filtered in
 * user space; the port table holds tens of entries, the dumps run every 250 ms
 * while a port is handed off, and on a bind that the kernel would refuse unless
 * the earlier sockets are gone.
 */
#include "agent_internal.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <string.h>
#include <unistd.h>

/* linux/tcp_states.h is not in the uapi: TCP_LISTEN 10, TCP_CLOSE 7, and
 * since Linux 6.7 the pseudo-state TCP_BOUND_INACTIVE 13 */
#define PB_TCP_LISTEN 10
#define PB_TCP_BOUND_INACTIVE 13

struct PbSockDiag {
    int fd;
    gboolean bound_inactive; /* the kernel lists bound TCP sockets */
    guint32 seq;
};

/* What one dump found: cookies, or whether a listener overlaps @host. */
typedef struct {
    GHashTable *cookies;                 /* or NULL */
    const struct sockaddr_storage *host; /* or NULL */
    gboolean overlap;
} PbDiagOut;

/* The IPV6_V6ONLY flag of an AF_INET6 socket in dump message @h (the
 * kernel always adds INET_DIAG_SKV6ONLY for them); FALSE if absent. */
static gboolean
v6only_of(const struct nlmsghdr *h)
{
    const struct inet_diag_msg *m = NLMSG_DATA(h);
    const struct rtattr *a = (const struct rtattr *)(m + 1);
    int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof *m);

    for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
        if (a->rta_type == INET_DIAG_SKV6ONLY &&
            RTA_PAYLOAD(a) >= (int)sizeof(guint8))
            return *(const guint8 *)RTA_DATA(a) != 0;
    return FALSE;
}

/* Could listener @h of this user share @host's port with libslirp's socket
 * for @host (an IPv4 one, or an IPv6-only one, as the table binds them)?
 * Only where the two cover a common address of one family. */
static gboolean
overlaps(const struct nlmsghdr *h, const struct sockaddr_storage *host)
{
    const struct inet_diag_msg *m = NLMSG_DATA(h);
    static const guint8 zero[16];

    if (m->idiag_uid != geteuid())
        return FALSE; /* SO_REUSEPORT never joins another user's socket */
    if (host->ss_family == AF_INET) {
        guint32 hv = ((const struct sockaddr_in *)host)->sin_addr.s_addr;
        guint32 av;

        if (m->idiag_family == AF_INET) {
            av = m->id.idiag_src[0];
        } else {
            const guint8 *a6 = (const guint8 *)m->id.idiag_src;
            static const guint8 mapped[12] = { [10] = 0xff, [11] = 0xff };

            /* an IPv6 socket covers IPv4 only if dual-stack, on :: or a
             * v4-mapped address */
            if (v6only_of(h))
                return FALSE;
            if (memcmp(a6, zero, 16) == 0)
                return TRUE;
            if (memcmp(a6, mapped, 12) != 0)
                return FALSE;
            memcpy(&av, a6 + 12, 4);
        }
        return av == 0 || hv == 0 || av == hv;
    }
    /* an IPv6-only entry: only IPv6 sockets, not on v4-mapped addresses */
    if (m->idiag_family != AF_INET6) {
        return FALSE;
    } else {
        const guint8 *a6 = (const guint8 *)m->id.idiag_src;
        const struct in6_addr *h6 =
            &((const struct sockaddr_in6 *)host)->sin6_addr;

        if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a6))
            return FALSE;
        return memcmp(a6, zero, 16) == 0 || IN6_IS_ADDR_UNSPECIFIED(h6) ||
               memcmp(a6, h6, 16) == 0;
    }
}

/* One dump of @proto/@family sockets on local port @port (filtered by the
 * kernel) in states @states, into @out.  0 or -errno. */
static int
dump(PbSockDiag *d, int proto, int family, guint16 port, guint32 states,
     PbDiagOut *out)
{
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
        struct nlattr attr;
        struct inet_diag_bc_op op;
        struct inet_diag_hostcond cond;
    } msg = { 0 };
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    guint64 buf[8192 / sizeof(guint64)];
    guint32 seq = ++d->seq;

    msg.nlh.nlmsg_len = sizeof msg;
    /* the kernel keeps only sockets whose local port is @port: one
     * S_COND with no address (prefix 0), "no" jumps past the end */
    msg.attr.nla_len = NLA_HDRLEN + sizeof msg.op + sizeof msg.cond;
    msg.attr.nla_type = INET_DIAG_REQ_BYTECODE;
    msg.op.code = INET_DIAG_BC_S_COND;
    msg.op.yes = sizeof msg.op + sizeof msg.cond;
    msg.op.no = msg.op.yes + 4;
    msg.cond.family = AF_UNSPEC;
    msg.cond.prefix_len = 0;
    msg.cond.port = port;
    msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    msg.nlh.nlmsg_seq = seq;
    msg.req.sdiag_family = (guint8)family;
    msg.req.sdiag_protocol = (guint8)proto;
    msg.req.idiag_states = states;
    if (sendto(d->fd, &msg, sizeof msg, 0, (struct sockaddr *)&kernel,
               sizeof kernel) < 0)
        return -errno;
    for (;;) {
        struct sockaddr_nl from;
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(d->fd, buf, sizeof buf, 0,
                             (struct sockaddr *)&from, &flen);
        struct nlmsghdr *h = (struct nlmsghdr *)buf;

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (from.nl_pid != 0)
            continue; /* not the kernel */
        for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            const struct inet_diag_msg *m = NLMSG_DATA(h);
            guint64 cookie;

            if (h->nlmsg_seq != seq)
                continue;
            if (h->nlmsg_type == NLMSG_DONE)
                return 0;
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(h);

                return e->error < 0 ? e->error : -EIO;
            }
            if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
                h->nlmsg_len < NLMSG_LENGTH(sizeof *m))
                continue;
            if (ntohs(m->id.idiag_sport) != port)
                continue;
            cookie = (guint64)m->id.idiag_cookie[0] |
                     (guint64)m->id.idiag_cookie[1] << 32;
            if (out->cookies != NULL)
                g_hash_table_add(out->cookies,
                                 g_memdup2(&cookie, sizeof cookie));
            if (out->host != NULL && overlaps(h, out->host))
                out->overlap = TRUE;
        }
    }
}

/**
 * pb_sockdiag_new:
 * @error: PB_ERROR_SYSTEM if the netlink socket cannot be opened
 *
 * Opens the diagnostics socket in the agent's (the host's) network
 * namespace and checks whether bound TCP sockets are listed.
 *
 * Returns: (transfer full): the handle, or NULL.
 */
PbSockDiag *
pb_sockdiag_new(GError **error)
{
    PbSockDiag *d = g_new0(PbSockDiag, 1);
    struct sockaddr_in any = { .sin_family = AF_INET };
    socklen_t len = sizeof any;
    g_autoptr(GHashTable) seen =
        g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    PbDiagOut out = { .cookies = seen };
    guint64 cookie = 0;
    socklen_t clen = sizeof cookie;
    int probe;

    d->fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (d->fd < 0) {
        g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM,
                    "socket(NETLINK_SOCK_DIAG): %s", g_strerror(errno));
        g_free(d);
        return NULL;
    }
    /* a bound, not listening TCP socket: is it listed? */
    probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe >= 0 && bind(probe, (struct sockaddr *)&any, sizeof any) == 0 &&
        getsockname(probe, (struct sockaddr *)&any, &len) == 0 &&
        getsockopt(probe, SOL_SOCKET, SO_COOKIE, &cookie, &clen) == 0 &&
        dump(d, IPPROTO_TCP, AF_INET, ntohs(any.sin_port),
             1u << PB_TCP_BOUND_INACTIVE, &out) == 0)
        d->bound_inactive = g_hash_table_contains(seen, &cookie);
    if (probe >= 0)
        close(probe);
    return d;
}

/**
 * pb_sockdiag_free: close the handle.  NULL is allowed.
 */
void
pb_sockdiag_free(PbSockDiag *d)
{
    if (d == NULL)
        return;
    close(d->fd);
    g_free(d);
}

/**
 * pb_sockdiag_lists_bound: whether bound, not listening TCP sockets are
 * listed (Linux >= 6.7).
 */
gboolean
pb_sockdiag_lists_bound(PbSockDiag *d)
{
    return d->bound_inactive;
}

/**
 * pb_sockdiag_cookies:
 * @d: the handle
 * @proto: IPPROTO_TCP or IPPROTO_UDP
 * @family: AF_INET or AF_INET6
 * @port: local port, host byte order
 * @bound: TCP: also list bound, not listening sockets (if the kernel can).
 *   That walks the kernel's whole bind table (TIME_WAIT sockets too:
 *   measured 2-6 ms against 0.03 ms for listeners alone), so only when
 *   such a socket is expected
 * @out: a set of guint64 * (g_int64_hash) the cookies are added to
 *
 * Lists the host's sockets on @port: TCP listeners (and bound sockets),
 * every UDP socket.
 *
 * Returns: 0 or -errno (then @out may hold part of the answer).
 */
int
pb_sockdiag_cookies(PbSockDiag *d, int proto, int family, guint16 port,
                    gboolean bound, GHashTable *out)
{
    PbDiagOut o = { .cookies = out };
    guint32 states =
        proto == IPPROTO_UDP
            ? ~0u
            : (1u << PB_TCP_LISTEN) |
                  (bound && d->bound_inactive ? 1u << PB_TCP_BOUND_INACTIVE
                                              : 0);

    return dump(d, proto, family, port, states, &o);
}

/**
 * pb_sockdiag_listening:
 * @d: the handle
 * @host: an address and port of the host (a published entry's)
 *
 * Whether a TCP socket of either family listens on @host's port at an
 * address overlapping @host's: before libslirp's stopped socket listens
 * again (it would share the port with it through SO_REUSEPORT).
 *
 * Returns: 1, 0, or -errno (cannot tell).
 */
int
pb_sockdiag_listening(PbSockDiag *d, const struct sockaddr_storage *host)
{
    PbDiagOut o = { .host = host };
    guint16 port = ntohs(host->ss_family == AF_INET6
                             ? ((const struct sockaddr_in6 *)host)->sin6_port
                             : ((const struct sockaddr_in *)host)->sin_port);
    int r = dump(d, IPPROTO_TCP, AF_INET, port, 1u << PB_TCP_LISTEN, &o);

    if (r == 0)
        r = dump(d, IPPROTO_TCP, AF_INET6, port, 1u << PB_TCP_LISTEN, &o);
    return r < 0 ? r : o.overlap;
}
