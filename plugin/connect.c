/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * connect.c: the connect(2) handler.
 *
 * Theory of operation.  For a trapped connect(fd, addr, len):
 *   1. Copy the sockaddr once from the target (process_vm_readv); every
 *      later decision and the connect itself use this copy, so rewriting
 *      the sockaddr from another thread changes nothing (no TOCTOU).
 *   2. Judge the destination (policy.c).  AF_UNIX and the rest: CONTINUE
 *      at once.
 *   3. Duplicate the target's socket (pidfd_getfd) and find out which
 *      network namespace it lives in (SO_NETNS_COOKIE).  A socket in the
 *      agent's own namespace is one the agent injected earlier (a
 *      reconnect of a bypassed UDP socket, a retry after a failed
 *      non-blocking connect): CONTINUE would connect it from the host
 *      namespace unchecked, so such sockets are never answered CONTINUE:
 *      a TCP socket that is connecting or connected gets the kernel's
 *      answer as the agent's own connect() on its copy gives it
 *      (answer_in_use: EALREADY, 0 once established, EISCONN), a denied
 *      destination gets ENETUNREACH.
 *   4. Only sockets of the served namespace are bypassed (nested
 *      namespaces inside the container keep their own network).  The
 *      served namespace's cookie comes from the configuration, or from
 *      SIOCGSKNS on the first socket when the agent may use it, or else
 *      is learned from the first socket whose task is in the served
 *      namespace (fstatat /proc/TID/ns/net); after that one getsockopt
 *      decides.
 *   5. Only fresh, unbound TCP (and, when allowed, UDP) sockets are
 *      bypassed: a socket bound to a specific address or to a port was
 *      bound in the container for a reason (a source address that does
 *      not exist on the host, a port the container owns); binding a host
 *      port for it is the port hand-off's job, so it is left to slirp.
 *      A socket bound to a device (SO_BINDTOIFINDEX) is left alone too.
 *   6. Read close-on-exec and O_NONBLOCK from /proc/TID/fdinfo/FD, check
 *      the notification is still alive (ID_VALID, after all reads of the
 *      target), find the interface of the destination's route (devlock.c;
 *      a destination owned by lo only while host loopback is allowed),
 *      create the host socket (non-blocking), copy the state
 *      (sockstate.c), bind --outbound-addr(6) like libslirp does for
 *      every outbound socket (tcp_fconnect() binds before sotranslate_out,
 *      so also for the gateway -> 127.0.0.1 mapping), lock it to that
 *      interface (no usable route: the connect gives the kernel's error
 *      and nothing is injected), connect it with the
 *      agent's copy of the destination.
 *   7. Non-blocking original: inject (ADDFD with SETFD over the target's
 *      fd, close-on-exec as the original had it) and reply 0 or
 *      -EINPROGRESS at once.  Immediate errors (ECONNREFUSED on loopback)
 *      are replied as they are, nothing injected.  Blocking original:
 *      wait on the main loop for POLLOUT (pending.c), honouring the
 *      original's SO_SNDTIMEO (on timeout inject and reply -EINPROGRESS,
 *      as the kernel's blocking connect does); on success clear
 *      O_NONBLOCK, inject, reply 0; on failure reply the error (the
 *      original stays unconnected).  While waiting, ID_VALID is polled
 *      every 200 ms: a signal or an exit releases everything.
 *   Every other error answers CONTINUE (fail open).
 *
 * Once a host socket is in the container, calls that are not trapped act
 * on it directly, and it can become unconnected again without any trapped
 * call (shutdown() while connecting, a failed attempt).  What keeps it
 * from being aimed anywhere else is not a trap but the interface lock
 * taken in step 6 (devlock.c: a host socket only ever leaves through the
 * interface of its approved route), with Fast Open refused by the filters
 * (fastopen.c) and the peer lock (peerlock.c) as further lines; see
 * docs/bypass.md, "The guarantee".  A connected UDP socket may still
 * sendto() any address behind that interface, and pick another one with
 * IP_PKTINFO, so UDP is only bypassed when neither host loopback nor
 * --bypass-ignore keeps anything from the bypass (agent.c).  seccomp_unotify(2)
 * warns that notification filters are not a security boundary: this design does
 * not rely on them being one.
 */
#include "agent_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/*
 * served_socket: is the socket @c->dup (cookie @cookie) in the served
 * network namespace?
 */
static gboolean
served_socket(PbCall *c, guint64 cookie)
{
    PbCore *core = c->core;
    struct stat st;
    int nsfd, r;

    if (core->served_cookie != 0 && cookie == core->served_cookie)
        return TRUE;
    if (core->served_cookie_exact)
        return FALSE;
    /* SIOCGSKNS needs CAP_NET_ADMIN over the socket's namespace: true
     * without --enable-sandbox for podman's helper, false otherwise. */
    nsfd = ioctl(c->dup, SIOCGSKNS);
    if (nsfd >= 0) {
        r = fstat(nsfd, &st);
        close(nsfd);
        if (r == 0 && st.st_dev == core->netns_dev &&
            st.st_ino == core->netns_ino) {
            core->served_cookie = cookie;
            core->served_cookie_exact = TRUE;
            pb_debug("served netns cookie %" G_GUINT64_FORMAT " (exact)",
                     cookie);
            return TRUE;
        }
        return FALSE;
    }
    if (core->served_cookie != 0)
        return FALSE; /* learned already: this is another namespace */
    r = pb_proc_in_netns(core->proc_fd, c->tid, core->netns_dev,
                         core->netns_ino);
    if (r != 1)
        return FALSE;
    core->served_cookie = cookie;
    pb_debug("served netns cookie %" G_GUINT64_FORMAT " (learned)", cookie);
    return TRUE;
}

/*
 * routed_via_tap: does the served namespace route @dst (as the container
 * gave it) through its tap, i.e. to the slirp path the bypass stands in
 * for?  A destination the container routes elsewhere (a bridge, a veth to
 * a nested namespace, an address of its own) must stay in the container:
 * in the host it would mean another machine, or nothing.  Unknown routes
 * (tapfd mode, no netlink) count as through the tap, as before.
 */
static gboolean
routed_via_tap(PbCore *core, const struct sockaddr *dst)
{
    int ifindex;

    if (core->served_routes == NULL)
        return TRUE;
    ifindex = pb_routes_ifindex(core->served_routes, dst);
    return ifindex > 0 && ifindex == core->tap_ifindex;
}

/*
 * unbound: is @local (from getsockname) the wildcard address, port 0?
 */
static gboolean
unbound(const PbSockaddr *local)
{
    if (local->sa.sa_family == AF_INET)
        return local->in.sin_addr.s_addr == htonl(INADDR_ANY) &&
               local->in.sin_port == 0;
    if (local->sa.sa_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&local->in6.sin6_addr) &&
               local->in6.sin6_port == 0;
    return FALSE;
}

/*
 * bind_outbound: bind @host to --outbound-addr(6) like libslirp's
 * slirp_bind_outbound() (port 0; IP_BIND_ADDRESS_NO_PORT so the port is
 * picked at connect time with the full 4-tuple).  @dst decides the family
 * of the traffic: a v4-mapped destination on an AF_INET6 socket is IPv4
 * traffic and uses the IPv4 outbound address, as ::ffff:a.b.c.d.
 * Returns: 0 or -errno.
 */
static int
bind_outbound(PbCore *core, int host, int domain, const PbSockaddr *dst)
{
    PbSockaddr b;
    socklen_t len;
    int one = 1;

    memset(&b, 0, sizeof b);
    if (domain == AF_INET) {
        if (!core->has_outbound4)
            return 0;
        b.in = core->outbound4;
        b.in.sin_port = 0;
        len = sizeof b.in;
    } else if (IN6_IS_ADDR_V4MAPPED(&dst->in6.sin6_addr)) {
        if (!core->has_outbound4)
            return 0;
        b.in6.sin6_family = AF_INET6;
        b.in6.sin6_addr.s6_addr[10] = 0xff;
        b.in6.sin6_addr.s6_addr[11] = 0xff;
        memcpy(&b.in6.sin6_addr.s6_addr[12], &core->outbound4.sin_addr, 4);
        len = sizeof b.in6;
    } else {
        if (!core->has_outbound6)
            return 0;
        b.in6 = core->outbound6;
        b.in6.sin6_port = 0;
        len = sizeof b.in6;
    }
    setsockopt(host, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(host, &b.sa, len) < 0)
        return -errno;
    return 0;
}

/*
 * probe_closed: connect() on the agent's copy @dup of a host socket in
 * TCP_CLOSE, with an address only as long as its family field.  The kernel
 * never reads past the family where it gives the answer the program's own
 * connect() would get:
 *   - still "connecting" after the attempt failed (a non-blocking connect
 *     the peer refused later, or one that timed out): the attempt's error,
 *     or ECONNABORTED once SO_ERROR was read; the socket becomes
 *     unconnected, as with the kernel's own answer;
 *   - connected once and closed since: EISCONN;
 * and for an unconnected socket TCP refuses the length (EINVAL) before it
 * looks at anything else, so nothing is ever sent.  EINVAL therefore means
 * "unconnected: judge the new destination" (also for a socket that
 * shutdown() made unusable, where the kernel would say EINVAL for good,
 * and where an LSM checks address lengths first).  Under the watchdog of
 * pb_watched_connect(): should the socket be connecting again by the time the
 * call runs, a blocking one would wait for the handshake.
 * Returns: 0 or -errno.
 */
static int
probe_closed(int dup, int family)
{
    struct sockaddr sa = { .sa_family = (sa_family_t)family };
    int r = pb_watched_connect(dup, &sa, sizeof sa.sa_family);

    /* it started connecting behind the agent's back (a blocking socket
     * waits for the handshake): what the kernel says for a connection in
     * progress */
    return r == -EINTR ? -EALREADY : r;
}

/*
 * answer_in_use: connect() on an injected host socket that is connecting
 * or connected.  The kernel would refuse to start another connection on
 * it, but answering CONTINUE would let it re-read the sockaddr after a
 * shutdown() in another thread made the socket unconnected again, so the
 * agent asks the kernel on its own copy instead (probe_connect).  A
 * blocking socket that is still connecting (@state SYN_SENT or SYN_RECV)
 * would block the agent there: it is answered from the main loop once it
 * stops connecting, or with EALREADY when its SO_SNDTIMEO runs out, as the
 * kernel does.  In any other state the probe returns at once (a socket
 * only gets back to connecting through a trapped connect, or through
 * sendto(MSG_FASTOPEN) after it was unconnected; a program that races that
 * against its own repeated connect can stall its own agent, no one else's).
 */
static void
answer_in_use(PbCall *c, int family, int state)
{
    struct pollfd pfd = { .fd = c->dup, .events = POLLOUT };
    struct timeval sndtimeo = { 0 };
    socklen_t len = sizeof sndtimeo;
    int fl = 0;
    PbPending *p;

    if ((state != TCP_SYN_SENT && state != TCP_SYN_RECV) ||
        (fl = fcntl(c->dup, F_GETFL)) < 0 || (fl & O_NONBLOCK) ||
        poll(&pfd, 1, 0) != 0) {
        pb_reply_result(c->core, c->nfd, c->id, c->tid,
                        pb_probe_connect(c->dup, family));
        return;
    }
    /* blocking, and neither writable nor failed: still connecting */
    if (getsockopt(c->dup, SOL_SOCKET, SO_SNDTIMEO, &sndtimeo, &len) < 0)
        memset(&sndtimeo, 0, sizeof sndtimeo);
    p = pb_pending_start(c, c->dup, &sndtimeo, TRUE, family);
    if (p == NULL) {
        pb_reply_result(c->core, c->nfd, c->id, c->tid, -EALREADY);
        return;
    }
    c->dup = -1; /* the wait owns the agent's copy now */
}

/* ---- the handler ---- */

/*
 * bypass: steps 6-7 for a call that passed every check.
 */
static void
bypass(PbCall *c, int domain, int type, int proto, const PbSockaddr *dst,
       socklen_t dstlen)
{
    PbCore *core = c->core;
    struct timeval sndtimeo;
    gboolean blocking = !(c->fdflags & O_NONBLOCK);
    gboolean cloexec = (c->fdflags & O_CLOEXEC) != 0;
    int host, r, err, ifindex;

    if (pb_notif_id_valid(c->nfd, c->id) < 0)
        return; /* gone while we looked: nothing to answer */
    /* the interface the socket will be locked to (devlock.c): a
     * destination owned by lo is only bypassed while host loopback is
     * allowed, since a socket bound to lo reaches every local address */
    ifindex = pb_routes_ifindex(core->routes, &dst->sa);
    if (ifindex == PB_LOOPBACK_IFINDEX && !core->loopback_ok) {
        pb_call_refuse_or_continue(
            c, "destination owned by the loopback interface");
        return;
    }
    host = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (host < 0) {
        pb_call_refuse_or_continue(c, "socket() failed in the agent");
        return;
    }
    pb_sockstate_copy(core->defaults, c->dup, host, domain, type, &sndtimeo);
    close(c->dup);
    c->dup = -1;
    r = bind_outbound(core, host, domain, dst);
    if (r < 0) {
        close(host);
        pb_call_refuse_or_continue(c, "cannot bind the outbound address");
        return;
    }
    /* from here on, whatever the program does with the socket, it only
     * ever leaves through this interface.  Without a usable route the
     * connect below gives the kernel's own error (unreachable, prohibited)
     * and nothing is injected. */
    r = ifindex > 0 ? pb_dev_lock(host, ifindex) : 0;
    if (r < 0) {
        close(host);
        pb_call_refuse_or_continue(c,
                                   "cannot lock the socket to its interface");
        return;
    }
    /* and it hears only from @dst: a second line behind the interface
     * lock, for destinations (--bypass-ignore) behind the same interface;
     * a kernel that refuses socket filters to unprivileged users (seen on
     * a hardened VM kernel) only loses that */
    r = core->peer_lock ? pb_peer_lock(host, &dst->sa) : 0;
    if (r < 0 && !core->peer_lock_warned) {
        core->peer_lock_warned = TRUE;
        pb_log("cannot tie bypassed sockets to their peer (SO_ATTACH_FILTER: "
               "%s); bypassing without it",
               g_strerror(-r));
    }
    r = connect(host, &dst->sa, dstlen);
    err = r < 0 ? errno : 0;
    if (r < 0 && err != EINPROGRESS) {
        /* refused at once (loopback), unreachable, ...: the kernel's
         * answer, nothing injected, the original stays unconnected */
        close(host);
        pb_debug("connect pid %d fd %d: %s", (int)c->tid, c->target_fd,
                 g_strerror(err));
        pb_reply_result(core, c->nfd, c->id, c->tid, -err);
        return;
    }
    if (ifindex < 0) {
        /* the route appeared since the lookup: an unlocked socket is
         * never handed over */
        close(host);
        pb_call_refuse_or_continue(c, "no route to lock the socket to");
        return;
    }
    if (G_UNLIKELY(pb_debug_enabled)) {
        char a[INET6_ADDRSTRLEN] = "?";

        inet_ntop(dst->sa.sa_family,
                  dst->sa.sa_family == AF_INET
                      ? (const void *)&dst->in.sin_addr
                      : (const void *)&dst->in6.sin6_addr,
                  a, sizeof a);
        pb_log("connect pid %d fd %d: bypassed to %s:%u (interface %d)",
               (int)c->tid, c->target_fd, a,
               ntohs(dst->sa.sa_family == AF_INET ? dst->in.sin_port
                                                  : dst->in6.sin6_port),
               ifindex);
    }
    if (r == 0 || !blocking) {
        r = pb_call_inject(core, c->nfd, c->id, c->tid, &host, c->target_fd,
                           cloexec, blocking, r == 0 ? 0 : -EINPROGRESS);
        if (r < 0 && r != -ENOENT)
            pb_call_refuse_or_continue(c, "inject failed");
        if (host >= 0)
            close(host);
        return;
    }
    /* A blocking original and EINPROGRESS.  On loopback and fast links
     * the handshake has usually completed by now (the SYN-ACK is processed
     * when connect() releases the socket lock): one poll() spares the
     * pending source and a loop iteration. */
    if (poll(&(struct pollfd){ .fd = host, .events = POLLOUT }, 1, 0) == 1) {
        err = pb_sock_int(host, SOL_SOCKET, SO_ERROR);
        if (err == 0) {
            r = pb_call_inject(core, c->nfd, c->id, c->tid, &host, c->target_fd,
                               cloexec, TRUE, 0);
            if (r < 0 && r != -ENOENT)
                pb_call_refuse_or_continue(c, "inject failed");
        } else {
            pb_reply_result(core, c->nfd, c->id, c->tid, err < 0 ? -EIO : -err);
        }
        if (host >= 0)
            close(host);
        return;
    }
    if (pb_pending_start(c, host, &sndtimeo, FALSE, 0) == NULL) {
        close(host);
        pb_call_refuse_or_continue(c, "too many blocking connects in progress");
    }
}

/*
 * handle_socket: steps 3-5, with the agent's copy of the destination.
 */
static void
handle_socket(PbCall *c, PbPolicyVerdict verdict, const PbSockaddr *dst,
              socklen_t dstlen, int family)
{
    PbCore *core = c->core;
    PbSockaddr local;
    socklen_t len = sizeof local;
    guint64 ino = 0;
    int type, proto;
    struct stat st;

    if (c->is_thread || verdict == PB_POLICY_BYPASS) {
        if (pb_procs_fdinfo(core->procs, c->tid, c->target_fd, &c->fdflags,
                            &ino) < 0) {
            pb_call_refuse_or_continue(c, "fdinfo unreadable");
            return;
        }
        /* a recycled thread id may have led to another thread group */
        if (c->is_thread && ino != 0 &&
            (fstat(c->dup, &st) < 0 || (guint64)st.st_ino != ino)) {
            pb_procs_forget(core->procs, c->tid);
            pb_call_refuse_or_continue(c, "stale thread mapping");
            return;
        }
    }
    if (verdict != PB_POLICY_BYPASS) {
        pb_call_refuse_or_continue(c, pb_policy_verdict_str(verdict));
        return;
    }
    if (!c->is_host && !served_socket(c, c->cookie)) {
        pb_call_continue(c, "socket of another network namespace");
        return;
    }
    if (getsockname(c->dup, &local.sa, &len) < 0 ||
        local.sa.sa_family != family) {
        pb_call_refuse_or_continue(c,
                                   "socket family differs from the sockaddr");
        return;
    }
    if (!c->is_host && !unbound(&local)) {
        pb_call_continue(c, "bound or connected socket");
        return;
    }
    type = pb_sock_int(c->dup, SOL_SOCKET, SO_TYPE);
    proto = pb_sock_int(c->dup, SOL_SOCKET, SO_PROTOCOL);
    if (type < 0 || proto < 0) {
        pb_call_refuse_or_continue(c, "socket type unknown");
        return;
    }
    type &= 0xf;
    if (type == SOCK_STREAM && proto == IPPROTO_TCP) {
        /* a host socket here is closed: pb_tcp_state() was checked first */
    } else if (type == SOCK_DGRAM && proto == IPPROTO_UDP) {
        if (!core->udp) {
            pb_call_refuse_or_continue(
                c, "udp bypass needs host loopback allowed and "
                   "no --bypass-ignore");
            return;
        }
    } else {
        pb_call_refuse_or_continue(c, "not TCP or UDP");
        return;
    }
    if (!c->is_host && pb_sock_int(c->dup, SOL_SOCKET, SO_BINDTOIFINDEX) > 0) {
        pb_call_continue(c, "bound to a device");
        return;
    }
    bypass(c, family, type, proto, dst, dstlen);
}

/**
 * pb_connect_handle:
 * @core: the agent core
 * @n: the notify the call came from
 * @req: the notification (connect(fd, addr, len) in @req->data.args)
 *
 * Answers the call, now or (blocking connects) from the main loop later.
 */
void
pb_connect_handle(PbCore *core, PbNotify *n, const struct seccomp_notif *req)
{
    PbCall c = pb_call_init(core, n, req);
    PbSockaddr sa, dst;
    socklen_t dstlen = 0;
    /* the kernel's connect() takes an int: only the low 32 bits count */
    int addrlen = (int)(guint32)req->data.args[2];
    gssize got;
    int state;
    PbPolicyVerdict verdict;

    if (core->disabled) {
        pb_call_continue(&c, NULL);
        return;
    }
    /* Which socket is it?  Known before anything may answer CONTINUE: an
     * injected host socket must never run a call the agent did not check
     * (the kernel re-reads the sockaddr after CONTINUE, and another thread
     * can change it in between). */
    if (!pb_call_identify(&c))
        goto out;
    if (pb_pendings_busy(core->pendings) &&
        pb_pending_restarted(core->pendings, n, c.tid, c.target_fd)) {
        pb_debug("connect pid %d fd %d: restart after an interrupted "
                 "connect with SO_SNDTIMEO: EINTR",
                 (int)c.tid, c.target_fd);
        pb_reply_result(core, c.nfd, c.id, c.tid, -EINTR);
        goto out;
    }
    /* larger than sockaddr_storage, or negative: the kernel's EINVAL */
    if (addrlen < (int)sizeof(sa_family_t) || addrlen > (int)sizeof(sa.ss)) {
        pb_call_refuse_with(&c, -EINVAL, "bad address length");
        goto out;
    }
    addrlen = MIN(addrlen, (int)sizeof sa.in6);
    memset(&sa, 0, sizeof sa);
    got = pb_proc_read_mem(c.tid, req->data.args[1], &sa, (gsize)addrlen);
    if (got != (gssize)addrlen) {
        pb_call_refuse_with(&c, -EFAULT, "sockaddr unreadable");
        goto out;
    }
    if (sa.sa.sa_family != AF_INET && sa.sa.sa_family != AF_INET6) {
        /* AF_UNIX and the rest: not ours.  On a host socket, AF_UNSPEC
         * dissolves the association on the agent's copy (the same file),
         * anything else is the kernel's EAFNOSUPPORT for an inet socket. */
        if (c.is_host && sa.sa.sa_family == AF_UNSPEC)
            pb_reply_result(
                core, c.nfd, c.id, c.tid,
                connect(c.dup, &sa.sa, (socklen_t)addrlen) < 0 ? -errno : 0);
        else
            pb_call_refuse_with(&c, -EAFNOSUPPORT, NULL);
        goto out;
    }
    /* The common repeat: a program that got EINPROGRESS calls connect()
     * again to learn the outcome (ab, APR, event loops); any address will
     * do for that, so the policy is not asked. */
    state = c.is_host ? pb_tcp_state(c.dup) : -1;
    if (state >= 0 && state != TCP_CLOSE) {
        answer_in_use(&c, sa.sa.sa_family, state);
        goto out;
    }
    if (state == TCP_CLOSE) {
        /* closed: after a failed attempt the kernel first answers its
         * error (once), and only the next connect() starts anew */
        int r = probe_closed(c.dup, sa.sa.sa_family);

        if (r != -EINVAL) {
            pb_reply_result(core, c.nfd, c.id, c.tid, r);
            goto out;
        }
    }
    if (pb_handoff_redirect(core->handoffs, c.dup, &sa, &dst, &dstlen)) {
        verdict = PB_POLICY_BYPASS; /* the container's own published port */
    } else {
        verdict = pb_policy_check(core->policy, &sa.sa, (socklen_t)addrlen,
                                  &dst.ss, &dstlen);
        if (verdict == PB_POLICY_BYPASS && !routed_via_tap(core, &sa.sa))
            verdict = PB_POLICY_DENY_ROUTED;
    }
    handle_socket(&c, verdict, &dst, dstlen, sa.sa.sa_family);
out:
    if (c.dup >= 0)
        close(c.dup);
}
