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
 * user space; the port table holds tens of entries, the dump is done at
 * most every 250 ms.
 */
#include "agent_internal.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
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

/* One dump: every cookie of @proto/@family sockets on local port @port in
 * states @states, added to @out.  0 or -errno. */
static int
dump(PbSockDiag *d, int proto, int family, guint16 port, guint32 states,
     GHashTable *out)
{
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } msg = { 0 };
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    guint64 buf[8192 / sizeof(guint64)];
    guint32 seq = ++d->seq;

    msg.nlh.nlmsg_len = sizeof msg;
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
            g_hash_table_add(out, g_memdup2(&cookie, sizeof cookie));
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
             1u << PB_TCP_BOUND_INACTIVE, seen) == 0)
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
 * @out: a set of guint64 * (g_int64_hash) the cookies are added to
 *
 * Lists the host's sockets on @port: TCP listeners and bound sockets (if
 * the kernel lists them), every UDP socket.
 *
 * Returns: 0 or -errno (then @out may hold part of the answer).
 */
int
pb_sockdiag_cookies(PbSockDiag *d, int proto, int family, guint16 port,
                    GHashTable *out)
{
    guint32 states =
        proto == IPPROTO_UDP
            ? ~0u
            : (1u << PB_TCP_LISTEN) |
                  (d->bound_inactive ? 1u << PB_TCP_BOUND_INACTIVE : 0);

    return dump(d, proto, family, port, states, out);
}
