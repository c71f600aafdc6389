/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * handoff.c: the port hand-off.  A published port is served by a host
 * socket in the container while a bypassed server binds it, and by
 * libslirp again when that socket is gone.
 *
 * Theory of operation.
 *
 *   bind    A bypassed process bind()s a TCP or UDP socket to a guest port
 *           the table publishes (on the wildcard, 127.0.0.1/::1, or the
 *           entry's guest address).  The agent lets the host port be
 *           shared (the table sets SO_REUSEPORT on libslirp's socket, which
 *           keeps the port), creates a host socket of the same family,
 *           type and options, binds it with SO_REUSEPORT to the entry's
 *           host address and port, injects it over the container's socket
 *           and answers the bind with the kernel's result.  UDP: the table
 *           stops libslirp's socket at once (it has no listen()).
 *   listen  On such a socket the agent stops libslirp's listener (it keeps
 *           the port bound, port-driver/handover.c), then runs listen() on
 *           its own copy of the very socket it checked (not CONTINUE, so
 *           another thread cannot swap the fd in between) and answers with
 *           the result.  accept() then runs on the host socket with no trap
 *           at all, and returns the real client address.
 *   back    Every 250 ms while some port is handed off, the host's sockets
 *           on that port are listed (sockdiag.c); an entry whose bypass
 *           sockets are all gone goes back to libslirp (listen() again on
 *           its socket, still bound).  Worst case: 250 ms plus one dump.
 *           A socket bound but never listening is seen on Linux >= 6.7;
 *           older kernels keep its record until the process that bound it
 *           exits (libslirp serves the port meanwhile anyway).
 *   remove  remove_hostfwd of a handed-off entry: each bypass socket is
 *           fetched from the process that bound it (pidfd_getfd, checked
 *           by cookie) and shut down, so it stops serving at once.
 *   inside  A bypassed connect() to the container's own published TCP
 *           port (127.0.0.1, ::1, the guest address) while it is handed
 *           off is bypassed to the host listener (connect.c asks
 *           pb_handoff_redirect()).
 *
 * What the kernel would do is kept where the container can tell: a second
 * bind of the same published port fails with EADDRINUSE unless every
 * socket on it asked for SO_REUSEPORT (worker processes); a bind to a port
 * published twice for the same guest port (say 0.0.0.0:8080 and
 * [::]:8080) is not handed off; nor is a bind that libslirp's forward
 * cannot share (an IPv4 socket for an IPv6 host address).  What differs:
 * getsockname() shows the host address and port.
 *
 * Safety.  The listener and the sockets accept() creates are host sockets
 * the interface lock (devlock.c) cannot cover: a listener must hear
 * clients on every interface.  A program that wins the CONTINUE race
 * (bypass.md, "The guarantee") could connect one of them anywhere the host
 * can reach.  So the hand-off happens only when that is nothing more than
 * the bypass reaches anyway: host loopback allowed and no --bypass-ignore
 * (core->udp, the same condition as the UDP bypass).
 */
#include "agent_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* How often handed-off ports are checked for their sockets. */
#define PB_HANDOFF_CHECK_MS 250
/* Bypass sockets one entry may have (SO_REUSEPORT workers); more binds
 * get EADDRINUSE, so that a container cannot make the checks grow. */
#define PB_HANDOFF_MAX_SOCKS 256

/* One bypass socket given to the container. */
typedef struct {
    guint64 cookie;     /* SO_COOKIE, never reused */
    guint64 ino;        /* its inode, to find it when it moved */
    int family;         /* AF_INET or AF_INET6 */
    pid_t pid;          /* the thread that bound it (agent's pid view) */
    int fd;             /* its fd number there */
    gboolean reuseport; /* the program asked for SO_REUSEPORT */
    gboolean listening; /* listen() went through the agent */
} PbHandoffSock;

/* One handed-off entry. */
typedef struct {
    PbPort port;
    gboolean served;  /* libslirp stopped, bypass sockets serve */
    gboolean removed; /* the table removed the entry: only @held is left */
    int held;         /* after removal: libslirp's socket, still bound */
    GArray *socks;    /* PbHandoffSock */
} PbHandoff;

struct PbHandoffs {
    PbCore *core;
    const PbPortOps *ops;
    PbSockDiag *diag;
    GHashTable *by_id; /* id -> PbHandoff * */
    GSource *timer;
};

static void
handoff_free(gpointer data)
{
    PbHandoff *h = data;

    if (h->held >= 0)
        close(h->held);
    g_array_unref(h->socks);
    g_free(h);
}

/**
 * pb_handoffs_new:
 * @core: the agent core
 * @ops: (nullable): the port table; NULL: no hand-off
 *
 * Returns: (transfer full) (nullable): the hand-off state, or NULL when
 * there is no table, the policy rules it out (see Safety) or the kernel's
 * socket diagnostics are unavailable (logged).
 */
PbHandoffs *
pb_handoffs_new(PbCore *core, const PbPortOps *ops)
{
    g_autoptr(GError) error = NULL;
    PbHandoffs *hs;
    PbSockDiag *diag;

    if (ops == NULL || core->disabled)
        return NULL;
    if (!core->udp) {
        pb_log("port hand-off off: with --disable-host-loopback or "
               "--bypass-ignore published ports stay on the slirp path (a "
               "listener cannot be locked to one interface; docs/bypass.md, "
               "\"Published ports\")");
        return NULL;
    }
    diag = pb_sockdiag_new(&error);
    if (diag == NULL) {
        pb_log("%s: published ports stay on the slirp path", error->message);
        return NULL;
    }
    hs = g_new0(PbHandoffs, 1);
    hs->core = core;
    hs->ops = ops;
    hs->diag = diag;
    hs->by_id = g_hash_table_new_full(NULL, NULL, NULL, handoff_free);
    return hs;
}

/**
 * pb_handoffs_free: forget every hand-off (the bypass sockets stay with
 * their processes).  NULL is allowed.
 */
void
pb_handoffs_free(PbHandoffs *hs)
{
    if (hs == NULL)
        return;
    if (hs->timer != NULL) {
        g_source_destroy(hs->timer);
        g_source_unref(hs->timer);
    }
    g_hash_table_destroy(hs->by_id);
    pb_sockdiag_free(hs->diag);
    g_free(hs);
}

static guint64
cookie_of(int fd)
{
    guint64 cookie = 0;
    socklen_t len = sizeof cookie;

    return getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) < 0 ? 0
                                                                    : cookie;
}

static guint16
sa_port(const struct sockaddr_storage *ss)
{
    return ntohs(ss->ss_family == AF_INET6
                     ? ((const struct sockaddr_in6 *)ss)->sin6_port
                     : ((const struct sockaddr_in *)ss)->sin_port);
}

/* Does a bind to @addr (IPv4: @a4 set, IPv6: @a6 set) cover @guest?
 * @dual: an IPv6 wildcard that also takes IPv4. */
static gboolean
bind_covers(const PbSockaddr *addr, gboolean dual,
            const struct sockaddr_storage *guest)
{
    struct in_addr a4;
    gboolean is4 = addr->sa.sa_family == AF_INET;

    if (!is4) {
        const struct in6_addr *a6 = &addr->in6.sin6_addr;

        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            memcpy(&a4, &a6->s6_addr[12], 4);
            is4 = TRUE;
        } else if (guest->ss_family == AF_INET) {
            return dual && IN6_IS_ADDR_UNSPECIFIED(a6);
        } else {
            const struct in6_addr *g =
                &((const struct sockaddr_in6 *)guest)->sin6_addr;

            return IN6_IS_ADDR_UNSPECIFIED(a6) || IN6_IS_ADDR_LOOPBACK(a6) ||
                   IN6_ARE_ADDR_EQUAL(a6, g);
        }
    } else {
        a4 = addr->in.sin_addr;
    }
    if (guest->ss_family != AF_INET)
        return FALSE;
    return a4.s_addr == htonl(INADDR_ANY) ||
           a4.s_addr == htonl(INADDR_LOOPBACK) ||
           a4.s_addr == ((const struct sockaddr_in *)guest)->sin_addr.s_addr;
}

/* The one entry a bind of @addr (@proto) is for, or NULL (none, or
 * several: not handed off).  g_free it. */
static PbPort *
find_port(PbHandoffs *hs, int proto, const PbSockaddr *addr, gboolean dual)
{
    g_autoptr(GPtrArray) all =
        hs->ops->find(hs->ops->data, proto,
                      sa_port((const struct sockaddr_storage *)&addr->ss));
    PbPort *found = NULL;
    guint n = 0;

    for (guint i = 0; all != NULL && i < all->len; i++) {
        PbPort *p = g_ptr_array_index(all, i);

        if (bind_covers(addr, dual, &p->guest)) {
            found = p;
            n++;
        }
    }
    if (n != 1)
        return NULL;
    return g_memdup2(found, sizeof *found);
}

/* The address a bypass socket of @family binds for @port: its host
 * address, as v4-mapped for an IPv6 socket and an IPv4 entry.  FALSE if
 * an IPv4 socket cannot take an IPv6 host address. */
static gboolean
host_sockaddr(const PbPort *port, int family, PbSockaddr *out, socklen_t *len)
{
    memset(out, 0, sizeof *out);
    if (port->host.ss_family == family) {
        memcpy(&out->ss, &port->host, sizeof port->host);
        *len = family == AF_INET ? sizeof out->in : sizeof out->in6;
        return TRUE;
    }
    if (family == AF_INET)
        return FALSE;
    out->in6.sin6_family = AF_INET6;
    out->in6.sin6_port = ((const struct sockaddr_in *)&port->host)->sin_port;
    out->in6.sin6_addr.s6_addr[10] = 0xff;
    out->in6.sin6_addr.s6_addr[11] = 0xff;
    memcpy(&out->in6.sin6_addr.s6_addr[12],
           &((const struct sockaddr_in *)&port->host)->sin_addr, 4);
    *len = sizeof out->in6;
    return TRUE;
}

/* The cookies of the host's sockets on @h's port (a set of guint64 *), or
 * NULL if the kernel could not say. */
static GHashTable *
live_cookies(PbHandoffs *hs, const PbHandoff *h)
{
    GHashTable *set =
        g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    /* a removed entry's sockets were shut down: bound, not listening */
    gboolean want4 = FALSE, want6 = FALSE, bound = h->removed;
    guint16 port = sa_port(&h->port.host);

    for (guint i = 0; i < h->socks->len; i++) {
        const PbHandoffSock *s = &g_array_index(h->socks, PbHandoffSock, i);

        if (s->family == AF_INET)
            want4 = TRUE;
        else
            want6 = TRUE;
        /* the costly listing of bound sockets only while one is expected
         * not to listen (yet) */
        if (!s->listening)
            bound = TRUE;
    }
    if ((want4 && pb_sockdiag_cookies(hs->diag, h->port.proto, AF_INET, port,
                                      bound, set) < 0) ||
        (want6 && pb_sockdiag_cookies(hs->diag, h->port.proto, AF_INET6, port,
                                      bound, set) < 0)) {
        g_hash_table_unref(set);
        return NULL;
    }
    return set;
}

/* Drop the records of sockets that are gone.  Returns the number left. */
static guint
prune(PbHandoffs *hs, PbHandoff *h)
{
    g_autoptr(GHashTable) live = live_cookies(hs, h);

    if (live == NULL) {
        pb_debug("port %u: cannot list its sockets", sa_port(&h->port.host));
        return h->socks->len; /* cannot tell: keep everything */
    }
    for (guint i = h->socks->len; i-- > 0;) {
        PbHandoffSock *s = &g_array_index(h->socks, PbHandoffSock, i);
        gboolean seen = g_hash_table_contains(live, &s->cookie);

        /* a bound TCP socket the kernel does not list: gone only once the
         * process that bound it is */
        if (!seen && h->port.proto == IPPROTO_TCP &&
            (!s->listening || h->removed) &&
            !pb_sockdiag_lists_bound(hs->diag) &&
            (kill(s->pid, 0) == 0 || errno != ESRCH))
            seen = TRUE;
        if (!seen)
            g_array_remove_index_fast(h->socks, i);
    }
    return h->socks->len;
}

/* Give @h's port back to libslirp if no bypass socket is left (for a
 * removed entry: let its port go).  Returns TRUE if @h was freed. */
static gboolean
maybe_hand_back(PbHandoffs *hs, PbHandoff *h)
{
    guint16 port = sa_port(&h->port.host);

    if (prune(hs, h) > 0)
        return FALSE;
    if (h->removed) {
        pb_debug("port %u: removed, its last bypass socket is gone", port);
        g_hash_table_remove(hs->by_id, GUINT_TO_POINTER(h->port.id));
        return TRUE;
    }
    /* a listener the records do not know (a socket passed on to another
     * network namespace, say) would share the port with libslirp's */
    if (h->served && h->port.proto == IPPROTO_TCP &&
        pb_sockdiag_listening(hs->diag, &h->port.host) != 0) {
        pb_debug("port %u: another socket listens there, not taken back", port);
        return FALSE;
    }
    if (h->served && !hs->ops->set_bypassed(hs->ops->data, h->port.id, FALSE)) {
        pb_debug("port %u: libslirp cannot take it back yet", port);
        return FALSE; /* next time */
    }
    pb_debug("port %u: back to the slirp path", port);
    g_hash_table_remove(hs->by_id, GUINT_TO_POINTER(h->port.id));
    return TRUE;
}

/* The periodic check (see the theory of operation). */
static gboolean
on_check(gpointer data)
{
    PbHandoffs *hs = data;
    g_autoptr(GList) ids = g_hash_table_get_keys(hs->by_id);

    for (GList *l = ids; l != NULL; l = l->next) {
        PbHandoff *h = g_hash_table_lookup(hs->by_id, l->data);

        if (h != NULL)
            maybe_hand_back(hs, h);
    }
    if (g_hash_table_size(hs->by_id) > 0)
        return G_SOURCE_CONTINUE;
    g_source_unref(hs->timer);
    hs->timer = NULL;
    return G_SOURCE_REMOVE;
}

static void
start_timer(PbHandoffs *hs)
{
    if (hs->timer != NULL)
        return;
    hs->timer = g_timeout_source_new(PB_HANDOFF_CHECK_MS);
    g_source_set_callback(hs->timer, on_check, hs, NULL);
    g_source_set_name(hs->timer, "bypass port hand-off check");
    g_source_attach(hs->timer, hs->core->ctx);
}

/* The record of the bypass socket with @cookie, and its entry. */
static PbHandoffSock *
find_sock(PbHandoffs *hs, guint64 cookie, PbHandoff **entry)
{
    GHashTableIter it;
    gpointer value;

    g_hash_table_iter_init(&it, hs->by_id);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        PbHandoff *h = value;

        for (guint i = 0; i < h->socks->len; i++) {
            PbHandoffSock *s = &g_array_index(h->socks, PbHandoffSock, i);

            if (s->cookie == cookie) {
                *entry = h;
                return s;
            }
        }
    }
    return NULL;
}

/* Is one of @h's bypass sockets of @family? */
static gboolean
has_family(const PbHandoff *h, int family)
{
    for (guint i = 0; i < h->socks->len; i++)
        if (g_array_index(h->socks, PbHandoffSock, i).family == family)
            return TRUE;
    return FALSE;
}

/* May @rec's socket bind the port beside @h's sockets?  The kernel lets
 * sockets share a port when all asked for SO_REUSEPORT (same user). */
static gboolean
may_share(const PbHandoff *h, const PbHandoffSock *rec)
{
    if (!rec->reuseport)
        return FALSE;
    for (guint i = 0; i < h->socks->len; i++) {
        const PbHandoffSock *o = &g_array_index(h->socks, PbHandoffSock, i);

        /* the kernel groups SO_REUSEPORT listeners of one family */
        if (!o->reuseport || o->family != rec->family)
            return FALSE;
    }
    return TRUE;
}

/*
 * make_socket: the bypass socket for a bind of @c's socket (@family,
 * @type, @proto) to @port.  *result: the kernel's bind() result.
 * Returns: the socket (bound) or -1 (*result set if bind() failed).
 */
static int
make_socket(PbHandoffs *hs, PbCall *c, const PbPort *port, int family, int type,
            int proto, int *result)
{
    PbSockaddr host;
    socklen_t len;
    struct timeval tv;
    int s, one = 1, v6only;

    *result = 0;
    if (!host_sockaddr(port, family, &host, &len))
        return -1;
    s = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (s < 0)
        return -1;
    pb_sockstate_copy(hs->core->defaults, c->dup, s, family, type, &tv);
    /* SO_REUSEADDR matters here: this is the socket that binds */
    if (pb_sock_int(c->dup, SOL_SOCKET, SO_REUSEADDR) > 0)
        (void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* an IPv6 host address is an IPv6-only forward (port-driver/table.c);
     * an IPv4 one reached through a v4-mapped bind needs it off */
    v6only = port->host.ss_family == AF_INET6;
    if ((family == AF_INET6 && setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
                                          sizeof v6only) < 0) ||
        setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
        bind(s, &host.sa, len) < 0) {
        *result = -errno;
        close(s);
        return -1;
    }
    return s;
}

/**
 * pb_handoff_bind:
 * @hs: (nullable): the hand-off state
 * @c: an identified bind() call on a container socket
 * @addr: the address it binds (read once from the caller)
 *
 * Hands a bind of a published port to a host socket (see the theory of
 * operation).
 *
 * Returns: TRUE if the call was answered, FALSE if it is not a hand-off
 * (the caller answers it as before).
 */
gboolean
pb_handoff_bind(PbHandoffs *hs, PbCall *c, const PbSockaddr *addr)
{
    PbCore *core = c->core;
    g_autofree PbPort *port = NULL;
    PbSockaddr local;
    socklen_t llen = sizeof local;
    PbHandoff *h;
    PbHandoffSock rec = { 0 };
    guint64 ino = 0;
    struct stat st;
    int family, type, proto, s, r, result;
    gboolean dual = FALSE, fresh = FALSE;

    if (hs == NULL || c->is_host || core->served_cookie == 0 ||
        c->cookie != core->served_cookie)
        return FALSE;
    family = addr->sa.sa_family;
    if ((family != AF_INET && family != AF_INET6) || sa_port(&addr->ss) == 0 ||
        pb_sock_int(c->dup, SOL_SOCKET, SO_DOMAIN) != family)
        return FALSE;
    type = pb_sock_int(c->dup, SOL_SOCKET, SO_TYPE);
    proto = pb_sock_int(c->dup, SOL_SOCKET, SO_PROTOCOL);
    if (!((type == SOCK_STREAM && proto == IPPROTO_TCP) ||
          (type == SOCK_DGRAM && proto == IPPROTO_UDP)))
        return FALSE;
    /* already bound: the kernel's EINVAL */
    if (getsockname(c->dup, &local.sa, &llen) < 0 || sa_port(&local.ss) != 0)
        return FALSE;
    if (family == AF_INET6)
        dual = pb_sock_int(c->dup, IPPROTO_IPV6, IPV6_V6ONLY) == 0;
    port = find_port(hs, proto, addr, dual);
    if (port == NULL)
        return FALSE;
    if (pb_procs_fdinfo(core->procs, c->tid, c->target_fd, &c->fdflags, &ino) <
        0)
        return FALSE;
    rec.reuseport = pb_sock_int(c->dup, SOL_SOCKET, SO_REUSEPORT) > 0;
    rec.family = family;
    h = g_hash_table_lookup(hs->by_id, GUINT_TO_POINTER(port->id));
    /* what the kernel says to a second bind of one port; the records are
     * pruned (a dump) only when that answer depends on them */
    if (h != NULL && h->socks->len > 0 &&
        (!may_share(h, &rec) || h->socks->len >= PB_HANDOFF_MAX_SOCKS) &&
        prune(hs, h) > 0 &&
        (!may_share(h, &rec) || h->socks->len >= PB_HANDOFF_MAX_SOCKS)) {
        if (h->socks->len >= PB_HANDOFF_MAX_SOCKS)
            pb_log("port %u: more than %d bypass sockets, bind refused",
                   sa_port(&addr->ss), PB_HANDOFF_MAX_SOCKS);
        pb_reply_result(core, c->nfd, c->id, c->tid, -EADDRINUSE);
        return TRUE;
    }
    if (!hs->ops->share(hs->ops->data, port->id))
        return FALSE;
    s = make_socket(hs, c, port, family, type, proto, &result);
    if (s < 0) {
        pb_debug("bind pid %d fd %d: port %u stays on the slirp path: %s",
                 (int)c->tid, c->target_fd, sa_port(&addr->ss),
                 result < 0 ? g_strerror(-result) : "no host address");
        return FALSE;
    }
    rec.cookie = cookie_of(s);
    rec.ino = fstat(s, &st) == 0 ? (guint64)st.st_ino : 0;
    rec.pid = c->tid;
    rec.fd = c->target_fd;
    if (h == NULL) {
        h = g_new0(PbHandoff, 1);
        h->port = *port;
        h->held = -1;
        h->socks = g_array_new(FALSE, TRUE, sizeof(PbHandoffSock));
        g_hash_table_insert(hs->by_id, GUINT_TO_POINTER(port->id), h);
        fresh = TRUE;
    }
    if (proto == IPPROTO_UDP && !h->served) {
        if (!hs->ops->set_bypassed(hs->ops->data, port->id, TRUE)) {
            close(s);
            if (fresh)
                g_hash_table_remove(hs->by_id, GUINT_TO_POINTER(port->id));
            return FALSE;
        }
        h->served = TRUE;
    }
    if (!(c->fdflags & O_NONBLOCK))
        (void)fcntl(s, F_SETFL, 0);
    r = pb_notif_addfd(c->nfd, c->id, s, c->target_fd,
                       (c->fdflags & O_CLOEXEC) != 0);
    close(s);
    if (r < 0) {
        /* nothing given to the container: the slirp path as before */
        if (h->socks->len == 0) {
            if (h->served)
                (void)hs->ops->set_bypassed(hs->ops->data, port->id, FALSE);
            g_hash_table_remove(hs->by_id, GUINT_TO_POINTER(port->id));
        }
        if (r == -ENOENT)
            return TRUE; /* the call is gone */
        return FALSE;
    }
    g_array_append_val(h->socks, rec);
    core->n_bypassed++;
    pb_debug("bind pid %d fd %d: port %u handed to a host socket", (int)c->tid,
             c->target_fd, sa_port(&addr->ss));
    pb_reply_result(core, c->nfd, c->id, c->tid, 0);
    start_timer(hs);
    return TRUE;
}

/**
 * pb_handoff_listen:
 * @hs: (nullable): the hand-off state
 * @c: an identified listen() call on a host socket
 * @backlog: its backlog argument
 *
 * listen() on a bypass socket: libslirp's listener stops, the agent runs
 * listen() on its copy of the checked socket and answers the result.
 *
 * Returns: TRUE if answered; FALSE if @c's socket is no bypass socket.
 */
gboolean
pb_handoff_listen(PbHandoffs *hs, PbCall *c, int backlog)
{
    PbHandoff *h = NULL;
    PbHandoffSock *s;
    int r;

    if (hs == NULL || !c->is_host)
        return FALSE;
    s = find_sock(hs, cookie_of(c->dup), &h);
    if (s == NULL || h->port.proto != IPPROTO_TCP)
        return FALSE;
    if (h->removed) {
        /* the forward is gone: its port is not the container's to serve */
        pb_reply_result(c->core, c->nfd, c->id, c->tid, -EADDRINUSE);
        return TRUE;
    }
    if (!h->served) {
        if (!hs->ops->set_bypassed(hs->ops->data, h->port.id, TRUE)) {
            pb_reply_result(c->core, c->nfd, c->id, c->tid, -EADDRINUSE);
            return TRUE;
        }
        h->served = TRUE;
    }
    r = listen(c->dup, backlog) < 0 ? -errno : 0;
    if (r == 0) {
        s->listening = TRUE;
        pb_debug("listen pid %d fd %d: port %u served by the host socket",
                 (int)c->tid, c->target_fd, sa_port(&h->port.host));
    } else {
        maybe_hand_back(hs, h);
    }
    pb_reply_result(c->core, c->nfd, c->id, c->tid, r);
    return TRUE;
}

/**
 * pb_handoff_redirect:
 * @hs: (nullable): the hand-off state
 * @sock: the agent's copy of the connecting socket
 * @dst: the connect() destination
 * @out: (out): the host listener's address, in @dst's family
 * @outlen: (out): its length
 *
 * A connect() to the container's own published TCP port while a bypass
 * socket serves it goes to the host listener instead.
 *
 * Returns: TRUE if @out is set.
 */
gboolean
pb_handoff_redirect(PbHandoffs *hs, int sock, const PbSockaddr *dst,
                    PbSockaddr *out, socklen_t *outlen)
{
    g_autofree PbPort *port = NULL;
    PbHandoff *h;
    int family = dst->sa.sa_family;

    if (hs == NULL || g_hash_table_size(hs->by_id) == 0 ||
        pb_sock_int(sock, SOL_SOCKET, SO_TYPE) != SOCK_STREAM ||
        pb_sock_int(sock, SOL_SOCKET, SO_PROTOCOL) != IPPROTO_TCP)
        return FALSE;
    /* the wildcard is not a destination */
    if ((family == AF_INET && dst->in.sin_addr.s_addr == htonl(INADDR_ANY)) ||
        (family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&dst->in6.sin6_addr)))
        return FALSE;
    port = find_port(hs, IPPROTO_TCP, dst, FALSE);
    if (port == NULL && family == AF_INET6 &&
        IN6_IS_ADDR_LOOPBACK(&dst->in6.sin6_addr)) {
        /* ::1 reaches a dual-stack server of an IPv4 entry */
        PbSockaddr lo4 = { .in = { .sin_family = AF_INET,
                                   .sin_port = dst->in6.sin6_port,
                                   .sin_addr.s_addr =
                                       htonl(INADDR_LOOPBACK) } };

        port = find_port(hs, IPPROTO_TCP, &lo4, FALSE);
        h = port ? g_hash_table_lookup(hs->by_id, GUINT_TO_POINTER(port->id))
                 : NULL;
        if (h == NULL || !has_family(h, AF_INET6))
            return FALSE;
    }
    if (port == NULL)
        return FALSE;
    h = g_hash_table_lookup(hs->by_id, GUINT_TO_POINTER(port->id));
    if (h == NULL || !h->served || h->removed ||
        !host_sockaddr(port, family, out, outlen))
        return FALSE;
    /* a wildcard host address: the listener is reached on loopback */
    if (out->sa.sa_family == AF_INET &&
        out->in.sin_addr.s_addr == htonl(INADDR_ANY))
        out->in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (out->sa.sa_family == AF_INET6 &&
             IN6_IS_ADDR_UNSPECIFIED(&out->in6.sin6_addr))
        out->in6.sin6_addr = in6addr_loopback;
    else if (out->sa.sa_family == AF_INET6 &&
             IN6_IS_ADDR_V4MAPPED(&out->in6.sin6_addr) &&
             out->in6.sin6_addr.s6_addr32[3] == htonl(INADDR_ANY))
        out->in6.sin6_addr.s6_addr32[3] = htonl(INADDR_LOOPBACK);
    return TRUE;
}

/* pb_proc_find_socket() callback: shut one holder's copy down. */
typedef struct {
    PbHandoffs *hs;
    const PbHandoffSock *sock;
} PbShutdown;

static gboolean
shut_holder(pid_t pid, int fd, gpointer data)
{
    PbShutdown *sd = data;
    gboolean is_thread;
    int dup = pb_procs_getfd(sd->hs->core->procs, pid, fd, &is_thread);

    if (dup < 0)
        return TRUE;
    if (cookie_of(dup) == sd->sock->cookie)
        (void)shutdown(dup, SHUT_RDWR);
    close(dup);
    return FALSE; /* one copy is enough: it is one socket */
}

/**
 * pb_handoff_removed:
 * @hs: (nullable): the hand-off state
 * @id: the entry the table removed
 * @held: (transfer full): libslirp's socket of the entry, still bound and
 *   without SO_REUSEPORT (TCP), or -1
 *
 * Shuts every bypass socket of entry @id down: fetched from the process
 * that bound it, or, if it moved (dup2(), fork(), SCM_RIGHTS), from any
 * process of the served namespace that holds it.  A shut-down listener
 * keeps its bind; @held keeps it from listening again (it would need
 * SO_REUSEPORT on @held) until the last bypass socket is closed.
 */
void
pb_handoff_removed(PbHandoffs *hs, guint id, int held)
{
    PbHandoff *h;

    if (hs == NULL ||
        (h = g_hash_table_lookup(hs->by_id, GUINT_TO_POINTER(id))) == NULL) {
        if (held >= 0)
            close(held);
        return;
    }
    for (guint i = 0; i < h->socks->len; i++) {
        PbHandoffSock *s = &g_array_index(h->socks, PbHandoffSock, i);
        PbShutdown sd = { hs, s };
        gboolean is_thread;
        int fd = pb_procs_getfd(hs->core->procs, s->pid, s->fd, &is_thread);
        gboolean done = FALSE;

        if (fd >= 0) {
            if (cookie_of(fd) == s->cookie) {
                (void)shutdown(fd, SHUT_RDWR);
                done = TRUE;
            }
            close(fd);
        }
        if (!done && s->ino != 0)
            pb_proc_find_socket(hs->core->proc_fd, hs->core->netns_dev,
                                hs->core->netns_ino, s->ino, shut_holder, &sd);
    }
    h->removed = TRUE;
    h->served = FALSE;
    h->held = held;
    maybe_hand_back(hs, h);
}

/**
 * pb_handoff_flush:
 * @hs: (nullable): the hand-off state
 *
 * The table is about to bind a port that may still be held for a removed
 * entry: check the removed entries now instead of at the next tick.
 */
void
pb_handoff_flush(PbHandoffs *hs)
{
    g_autoptr(GList) ids = NULL;

    if (hs == NULL)
        return;
    ids = g_hash_table_get_keys(hs->by_id);
    for (GList *l = ids; l != NULL; l = l->next) {
        PbHandoff *h = g_hash_table_lookup(hs->by_id, l->data);

        if (h != NULL && h->removed)
            maybe_hand_back(hs, h);
    }
}

/**
 * pb_handoff_served: whether entry @id is served by a bypass socket.
 */
gboolean
pb_handoff_served(PbHandoffs *hs, guint id)
{
    PbHandoff *h;

    if (hs == NULL)
        return FALSE;
    h = g_hash_table_lookup(hs->by_id, GUINT_TO_POINTER(id));
    return h != NULL && h->served;
}
