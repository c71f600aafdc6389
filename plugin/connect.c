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
 *      wait on the main loop for POLLOUT (PbPending), honouring the
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

/* SO_SNDTIMEO values above this are treated as no timeout. */
#define PB_MAX_TIMEOUT_SEC (366 * 24 * 3600)
/* How often a waiting blocking connect re-checks its notification. */
#define PB_IDVALID_INTERVAL_US (200 * G_TIME_SPAN_MILLISECOND)

/* A blocking connect waiting for completion. */
typedef struct {
    GSource source;
    PbNotify *n;
    guint64 id;
    pid_t tid;
    int host;
    int target_fd;
    gboolean cloexec;
    gboolean is_host; /* the original was an injected host socket */
    /* a repeated blocking connect of an injected host socket: @host is the
     * agent's copy of it, and the answer is the kernel's (answer_in_use) */
    gboolean answer_only;
    int family;
    gpointer tag;
    gint64 deadline;   /* monotonic us, 0: none */
    gint64 next_check; /* next ID_VALID */
} PbPending;

/*
 * get_int: getsockopt of an int; -1 on failure.
 */
static int
get_int(int fd, int level, int name)
{
    int v = 0;
    socklen_t len = sizeof v;

    if (getsockopt(fd, level, name, &v, &len) < 0)
        return -1;
    return v;
}

/*
 * tcp_state: the TCP state (TCP_ESTABLISHED, TCP_CLOSE, ...) of @fd, or -1
 * if it is not a TCP socket (TCP_INFO only works on TCP sockets).  A TCP
 * socket in any state but TCP_CLOSE is connecting or connected: the
 * kernel refuses to start another connection on it (EALREADY, EISCONN, or
 * the pending error of a failed attempt), and answer_in_use() asks it on
 * the agent's copy.
 */
static int
tcp_state(int fd)
{
    guint8 info[8] = { 0 }; /* tcpi_state is the first byte */
    socklen_t len = sizeof info;

    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, &len) < 0 || len < 1)
        return -1;
    return info[0];
}

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
 * inject: install *@host over the target's fd and reply @result.  Our
 * reference to the host socket is dropped before the reply, so that the
 * target holds the last one and a quick close() there runs the TCP close
 * in the target's context, not in the agent's.
 * Returns: 0 if injected (the reply may still have found the target gone:
 * then it behaves like a kernel connect interrupted after the SYN);
 * -ENOENT if the notification is gone; another -errno if nothing was
 * injected and the call still needs an answer.
 */
static int
inject(PbCore *core, int nfd, guint64 id, pid_t tid, int *host, int target_fd,
       gboolean cloexec, gboolean blocking, int result)
{
    int r;

    /* the original was blocking: so is its replacement (after connecting
     * without blocking the loop) */
    if (blocking && fcntl(*host, F_SETFL, 0) < 0)
        return -errno;
    r = pb_notif_addfd(nfd, id, *host, target_fd, cloexec);
    if (r < 0) {
        if (r != -ENOENT)
            pb_debug("connect pid %d: addfd: %s", (int)tid, g_strerror(-r));
        return r;
    }
    close(*host);
    *host = -1;
    core->n_bypassed++;
    pb_reply_result(core, nfd, id, tid, result);
    return 0;
}

/*
 * watched_connect: connect() on @dup, the agent's copy of a socket whose
 * file the container shares: the container decides whether it blocks (and
 * its SO_SNDTIMEO), and another thread of it can start a connection on it
 * at any moment (sendto(MSG_FASTOPEN) through i386 socketcall, a won
 * race), so a call that should return at once may wait for a handshake.
 * A 100 ms watchdog (SIGALRM; on_alarm() in agent.c interrupts without
 * restarting) keeps that from holding the agent: the call then fails with
 * EINTR.
 * Returns: 0 or -errno.
 */
static int
watched_connect(int dup, const struct sockaddr *sa, socklen_t len)
{
    const struct itimerval arm = { .it_value = { 0, 100 * 1000 } };
    const struct itimerval off = { { 0, 0 }, { 0, 0 } };
    int r;

    setitimer(ITIMER_REAL, &arm, NULL);
    r = connect(dup, sa, len) < 0 ? -errno : 0;
    setitimer(ITIMER_REAL, &off, NULL);
    return r;
}

/*
 * probe_connect: connect() on the agent's copy @dup of a host socket that
 * is connecting or connected, to learn the kernel's
 * answer for the socket (EALREADY, 0 once established, then EISCONN, or
 * the error of a failed attempt) without CONTINUE.
 *
 * The address is @family's unspecified address, port 0, at full length
 * (SELinux checks the length before TCP does): the kernel's answer for a
 * socket in use does not look at it, and a socket that another thread
 * made unconnected in the meantime only tries port 0 of an address of the
 * interface it is locked to (the kernel turns the unspecified address
 * into a local one), where nothing can listen.  Should an LSM refuse the
 * probe (EINVAL, EACCES, EPERM) while the socket is still in use, the
 * answer is derived from the state: EALREADY while connecting, EISCONN
 * after (where the kernel would say 0 once, then EISCONN; APR takes both
 * as success).  Under the watchdog of watched_connect(), EINTR is answered
 * EALREADY, what the kernel says when a wait for a connection in progress
 * times out.
 * Returns: 0 or -errno.
 */
static int
probe_connect(int dup, int family)
{
    PbSockaddr probe;
    socklen_t len;
    int r, now;

    memset(&probe, 0, sizeof probe);
    probe.sa.sa_family = (sa_family_t)family;
    len = family == AF_INET6 ? sizeof probe.in6 : sizeof probe.in;
    r = watched_connect(dup, &probe.sa, len);
    if (r != -EINTR && r != -EINVAL && r != -EACCES && r != -EPERM)
        return r;
    now = tcp_state(dup);
    if (now < 0 || now == TCP_CLOSE)
        return r;
    if (now == TCP_SYN_SENT || now == TCP_SYN_RECV || r == -EINTR)
        return -EALREADY;
    return -EISCONN;
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
 * watched_connect(): should the socket be connecting again by the time the
 * call runs, a blocking one would wait for the handshake.
 * Returns: 0 or -errno.
 */
static int
probe_closed(int dup, int family)
{
    struct sockaddr sa = { .sa_family = (sa_family_t)family };
    int r = watched_connect(dup, &sa, sizeof sa.sa_family);

    /* it started connecting behind the agent's back (a blocking socket
     * waits for the handshake): what the kernel says for a connection in
     * progress */
    return r == -EINTR ? -EALREADY : r;
}

/* ---- blocking connects ---- */

/*
 * pending_finish: stop waiting; the host fd is closed by finalize.
 */
static void
pending_finish(PbPending *p)
{
    g_source_destroy(&p->source);
    pb_notify_remove_pending(p->n, &p->source);
}

/*
 * remember_interrupted: a blocking connect of @tid on @fd with SO_SNDTIMEO
 * set was interrupted by a signal.  The kernel's own connect would have
 * returned EINTR (sock_intr_errno() restarts only without a timeout); the
 * notification returns ERESTARTSYS instead, so with SA_RESTART the call
 * comes back as a new notification, which restarted_after_timeout()
 * answers EINTR.
 */
static void
remember_interrupted(PbCore *core, pid_t tid, int fd)
{
    guint i = core->n_interrupted % G_N_ELEMENTS(core->interrupted);

    core->interrupted[i].tid = tid;
    core->interrupted[i].fd = fd;
    core->interrupted[i].when = g_get_monotonic_time();
    core->n_interrupted++;
}

/*
 * restarted_after_timeout: is this call (@tid, @fd) the SA_RESTART
 * restart of an interrupted blocking connect that had SO_SNDTIMEO set?
 * A still registered pending connect of the same task is dead by
 * definition (a task makes one call at a time): it is released here.
 * Limitation: without SA_RESTART the task already got EINTR, and if it
 * calls connect() again on the same fd within a second, that call gets
 * one more EINTR (the kernel would answer EALREADY or keep waiting).
 */
static gboolean
restarted_after_timeout(PbCore *core, PbNotify *n, pid_t tid, int fd)
{
    GQueue *q = pb_notify_get_pending(n);
    gint64 now;

    for (GList *l = q->head; l != NULL; l = l->next) {
        PbPending *p = l->data;

        if (p->tid == tid && p->target_fd == fd) {
            gboolean had_timeout = p->deadline != 0;

            pending_finish(p);
            return had_timeout;
        }
    }
    if (core->n_interrupted == 0)
        return FALSE;
    now = g_get_monotonic_time();
    for (guint i = 0; i < G_N_ELEMENTS(core->interrupted); i++) {
        if (core->interrupted[i].tid == tid && core->interrupted[i].fd == fd &&
            now - core->interrupted[i].when < G_USEC_PER_SEC) {
            core->interrupted[i].tid = 0;
            return TRUE;
        }
    }
    return FALSE;
}

/*
 * pending_fail_open: the new socket could not be installed.  A container
 * socket goes the slirp path (CONTINUE); an injected host socket must not
 * run the call unchecked in the host namespace (the container can make
 * ADDFD fail on purpose, e.g. by lowering RLIMIT_NOFILE), so it is refused
 * as pb_call_refuse_or_continue() does.
 */
static void
pending_fail_open(PbPending *p, int nfd)
{
    if (p->is_host)
        pb_reply_result(pb_notify_get_core(p->n), nfd, p->id, p->tid,
                        -ENETUNREACH);
    else
        pb_notif_continue(nfd, p->id);
}

/*
 * pending_dispatch: the host socket became writable, the deadline passed,
 * or it is time to check the notification.
 */
static gboolean
pending_dispatch(GSource *source, GSourceFunc cb, gpointer data)
{
    PbPending *p = (PbPending *)source;
    PbCore *core = pb_notify_get_core(p->n);
    int nfd = pb_notify_get_fd(p->n);
    GIOCondition cond = g_source_query_unix_fd(source, p->tag);
    gint64 now = g_source_get_time(source);
    gint64 next;

    if (p->answer_only && (cond & (G_IO_OUT | G_IO_ERR | G_IO_HUP))) {
        /* no longer connecting: the kernel's answer comes at once */
        pb_reply_result(core, nfd, p->id, p->tid,
                        probe_connect(p->host, p->family));
        pending_finish(p);
        return G_SOURCE_REMOVE;
    }
    if (p->answer_only && p->deadline != 0 && now >= p->deadline) {
        /* SO_SNDTIMEO over a connect already in progress: EALREADY */
        pb_reply_result(core, nfd, p->id, p->tid, -EALREADY);
        pending_finish(p);
        return G_SOURCE_REMOVE;
    }
    if (cond & (G_IO_OUT | G_IO_ERR | G_IO_HUP)) {
        int err = get_int(p->host, SOL_SOCKET, SO_ERROR);

        if (err == 0) {
            int r = inject(core, nfd, p->id, p->tid, &p->host, p->target_fd,
                           p->cloexec, TRUE, 0);

            if (r < 0 && r != -ENOENT)
                pending_fail_open(p, nfd);
        } else {
            if (err < 0)
                err = EIO;
            pb_reply_result(core, nfd, p->id, 0, -err);
        }
        pending_finish(p);
        return G_SOURCE_REMOVE;
    }
    if (p->deadline != 0 && now >= p->deadline) {
        /* SO_SNDTIMEO expired: the kernel returns EINPROGRESS and the
         * socket keeps connecting */
        int r = inject(core, nfd, p->id, p->tid, &p->host, p->target_fd,
                       p->cloexec, TRUE, -EINPROGRESS);

        if (r < 0 && r != -ENOENT)
            pending_fail_open(p, nfd);
        pending_finish(p);
        return G_SOURCE_REMOVE;
    }
    if (now >= p->next_check) {
        if (pb_notif_id_valid(nfd, p->id) < 0) {
            /* interrupted by a signal, or the process exited */
            if (p->deadline != 0)
                remember_interrupted(core, p->tid, p->target_fd);
            pending_finish(p);
            return G_SOURCE_REMOVE;
        }
        p->next_check = now + PB_IDVALID_INTERVAL_US;
    }
    next = p->next_check;
    if (p->deadline != 0 && p->deadline < next)
        next = p->deadline;
    g_source_set_ready_time(source, next);
    return G_SOURCE_CONTINUE;
}

/*
 * pending_finalize: close the host socket unless it was injected (then the
 * target has its own reference and ours goes too).
 */
static void
pending_finalize(GSource *source)
{
    PbPending *p = (PbPending *)source;

    if (p->host >= 0)
        close(p->host);
}

static GSourceFuncs pending_funcs = {
    .dispatch = pending_dispatch,
    .finalize = pending_finalize,
};

/*
 * pending_start: wait for @host's connect on the main loop.
 * Returns: (transfer none) the wait (owned by the notify), or NULL if too
 * many are waiting already.
 */
static PbPending *
pending_start(PbCall *c, int host, const struct timeval *sndtimeo)
{
    PbPending *p;
    gint64 now = g_get_monotonic_time();

    if (c->core->npending >= c->core->max_pending)
        return NULL;
    p = (PbPending *)g_source_new(&pending_funcs, sizeof(PbPending));
    p->n = c->n;
    p->id = c->id;
    p->tid = c->tid;
    p->host = host;
    p->target_fd = c->target_fd;
    p->cloexec = (c->fdflags & O_CLOEXEC) != 0;
    p->is_host = c->is_host;
    /* SO_SNDTIMEO can be up to ~1e16 s: beyond a year it is "no timeout",
     * which also keeps the multiplication from overflowing */
    if ((sndtimeo->tv_sec != 0 || sndtimeo->tv_usec != 0) &&
        sndtimeo->tv_sec < PB_MAX_TIMEOUT_SEC)
        p->deadline =
            now + sndtimeo->tv_sec * G_USEC_PER_SEC + sndtimeo->tv_usec;
    p->next_check = now + PB_IDVALID_INTERVAL_US;
    p->tag =
        g_source_add_unix_fd(&p->source, host, G_IO_OUT | G_IO_ERR | G_IO_HUP);
    g_source_set_ready_time(
        &p->source, p->deadline && p->deadline < p->next_check ? p->deadline
                                                               : p->next_check);
    g_source_set_name(&p->source, "pb-connect");
    g_source_set_can_recurse(&p->source, TRUE); /* see notify.c */
    g_source_attach(&p->source, c->core->ctx);
    pb_notify_add_pending(c->n, &p->source);
    g_source_unref(&p->source); /* the notify holds it */
    return p;
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
                        probe_connect(c->dup, family));
        return;
    }
    /* blocking, and neither writable nor failed: still connecting */
    if (getsockopt(c->dup, SOL_SOCKET, SO_SNDTIMEO, &sndtimeo, &len) < 0)
        memset(&sndtimeo, 0, sizeof sndtimeo);
    p = pending_start(c, c->dup, &sndtimeo);
    if (p == NULL) {
        pb_reply_result(c->core, c->nfd, c->id, c->tid, -EALREADY);
        return;
    }
    p->answer_only = TRUE;
    p->family = family;
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
        r = inject(core, c->nfd, c->id, c->tid, &host, c->target_fd, cloexec,
                   blocking, r == 0 ? 0 : -EINPROGRESS);
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
        err = get_int(host, SOL_SOCKET, SO_ERROR);
        if (err == 0) {
            r = inject(core, c->nfd, c->id, c->tid, &host, c->target_fd,
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
    if (pending_start(c, host, &sndtimeo) == NULL) {
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
    type = get_int(c->dup, SOL_SOCKET, SO_TYPE);
    proto = get_int(c->dup, SOL_SOCKET, SO_PROTOCOL);
    if (type < 0 || proto < 0) {
        pb_call_refuse_or_continue(c, "socket type unknown");
        return;
    }
    type &= 0xf;
    if (type == SOCK_STREAM && proto == IPPROTO_TCP) {
        /* a host socket here is closed: tcp_state() was checked first */
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
    if (!c->is_host && get_int(c->dup, SOL_SOCKET, SO_BINDTOIFINDEX) > 0) {
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
    if ((core->npending > 0 || core->n_interrupted > 0) &&
        restarted_after_timeout(core, n, c.tid, c.target_fd)) {
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
    state = c.is_host ? tcp_state(c.dup) : -1;
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
    if (pb_handoff_redirect(core->handoffs, c.dup, &sa, &dst, &dstlen))
        verdict = PB_POLICY_BYPASS; /* the container's own published port */
    else
        verdict = pb_policy_check(core->policy, &sa.sa, (socklen_t)addrlen,
                                  &dst.ss, &dstlen);
    handle_socket(&c, verdict, &dst, dstlen, sa.sa.sa_family);
out:
    if (c.dup >= 0)
        close(c.dup);
}
