/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pending.c: blocking connects in progress, waited for on the main loop.
 *
 * Theory of operation.  A blocking connect() that did not complete at once
 * must not block the agent: its host socket is watched by a GSource (a
 * PbPending) until it is writable, fails, its SO_SNDTIMEO expires, or the
 * notification goes away (signal, exit: checked with ID_VALID every
 * 200 ms).  The waits are kept per notify (PbPendings, owned by the core):
 * notify.c cancels a notify's waits when it stops serving it, connect.c
 * starts them, and nothing here calls up into either.  A task makes one
 * call at a time, so a new connect() of the same task and fd means its
 * previous wait is dead (pb_pending_restarted()).  The kernel's answers
 * for a socket that is connecting or connected are learnt by probing the
 * agent's copy (pb_probe_connect()), never by CONTINUE.  At most
 * PB_MAX_PENDING waits (and a quarter of RLIMIT_NOFILE) exist at once;
 * beyond that, connect.c answers as if it could not bypass.
 */
#include "agent_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* SO_SNDTIMEO values above this are treated as no timeout. */
#define PB_MAX_TIMEOUT_SEC (366 * 24 * 3600)
/* How often a waiting blocking connect re-checks its notification. */
#define PB_IDVALID_INTERVAL_US (200 * G_TIME_SPAN_MILLISECOND)

/* A blocking connect waiting for completion. */
struct PbPending {
    GSource source;
    PbCore *core;
    PbNotify *n; /* the notify it belongs to (the key of its queue) */
    int nfd;
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
};

/* Every wait of the agent, by notify. */
struct PbPendings {
    GHashTable *by_notify; /* PbNotify * -> GQueue of PbPending * */
    guint count;
    guint max;
    /* blocking connects with SO_SNDTIMEO interrupted by a signal, for
     * answering their SA_RESTART restart EINTR */
    struct {
        pid_t tid;
        int fd;
        gint64 when;
    } interrupted[16];
    guint n_interrupted;
};

static void
queue_free(gpointer data)
{
    g_queue_free(data);
}

/**
 * pb_pendings_new: an empty set of at most @max waits.
 */
PbPendings *
pb_pendings_new(guint max)
{
    PbPendings *ps = g_new0(PbPendings, 1);

    ps->by_notify = g_hash_table_new_full(NULL, NULL, NULL, queue_free);
    ps->max = max;
    return ps;
}

/**
 * pb_pendings_cancel:
 * @ps: the set
 * @n: a notify that stops being served
 *
 * Destroys @n's waits (their host sockets are closed).  Each is answered
 * ECONNREFUSED first: the per-user agent may hold another copy of the
 * notify fd (dispatch.c), so closing ours would not end the wait.
 */
void
pb_pendings_cancel(PbPendings *ps, PbNotify *n)
{
    GQueue *q = g_hash_table_lookup(ps->by_notify, n);
    PbPending *p;

    if (q == NULL)
        return;
    while ((p = g_queue_pop_head(q)) != NULL) {
        ps->count--;
        (void)pb_notif_respond(p->nfd, p->id, 0, -ECONNREFUSED);
        g_source_destroy(&p->source);
        g_source_unref(&p->source);
    }
    g_hash_table_remove(ps->by_notify, n);
}

/**
 * pb_pendings_free: the set, after every notify was cancelled.  NULL is
 * allowed.
 */
void
pb_pendings_free(PbPendings *ps)
{
    if (ps == NULL)
        return;
    g_hash_table_destroy(ps->by_notify);
    g_free(ps);
}

/**
 * pb_pendings_busy: are there waits, or recently interrupted ones?  (A
 * cheap test before pb_pending_restarted().)
 */
gboolean
pb_pendings_busy(PbPendings *ps)
{
    return ps->count > 0 || ps->n_interrupted > 0;
}

/**
 * pb_tcp_state: the TCP state (TCP_ESTABLISHED, TCP_CLOSE, ...) of @fd, or -1
 * if it is not a TCP socket (TCP_INFO only works on TCP sockets).  A TCP
 * socket in any state but TCP_CLOSE is connecting or connected: the
 * kernel refuses to start another connection on it (EALREADY, EISCONN, or
 * the pending error of a failed attempt), and answer_in_use() asks it on
 * the agent's copy.
 */
int
pb_tcp_state(int fd)
{
    guint8 info[8] = { 0 }; /* tcpi_state is the first byte */
    socklen_t len = sizeof info;

    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, &len) < 0 || len < 1)
        return -1;
    return info[0];
}

/**
 * pb_watched_connect: connect() on @dup, the agent's copy of a socket whose
 * file the container shares: the container decides whether it blocks (and
 * its SO_SNDTIMEO), and another thread of it can start a connection on it
 * at any moment (sendto(MSG_FASTOPEN) through i386 socketcall, a won
 * race), so a call that should return at once may wait for a handshake.
 * A 100 ms watchdog (SIGALRM; pb_watchdog_install() in notify.c interrupts
 * without restarting) keeps that from holding the agent: the call then fails
 * with EINTR. Returns: 0 or -errno.
 */
int
pb_watched_connect(int dup, const struct sockaddr *sa, socklen_t len)
{
    const struct itimerval arm = { .it_value = { 0, 100 * 1000 } };
    const struct itimerval off = { { 0, 0 }, { 0, 0 } };
    int r;

    setitimer(ITIMER_REAL, &arm, NULL);
    r = connect(dup, sa, len) < 0 ? -errno : 0;
    setitimer(ITIMER_REAL, &off, NULL);
    return r;
}

/**
 * pb_probe_connect: connect() on the agent's copy @dup of a host socket that
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
int
pb_probe_connect(int dup, int family)
{
    PbSockaddr probe;
    socklen_t len;
    int r, now;

    memset(&probe, 0, sizeof probe);
    probe.sa.sa_family = (sa_family_t)family;
    len = family == AF_INET6 ? sizeof probe.in6 : sizeof probe.in;
    r = pb_watched_connect(dup, &probe.sa, len);
    if (r != -EINTR && r != -EINVAL && r != -EACCES && r != -EPERM)
        return r;
    now = pb_tcp_state(dup);
    if (now < 0 || now == TCP_CLOSE)
        return r;
    if (now == TCP_SYN_SENT || now == TCP_SYN_RECV || r == -EINTR)
        return -EALREADY;
    return -EISCONN;
}

/*
 * pending_finish: stop waiting; the host fd is closed by finalize.
 */
static void
pending_finish(PbPending *p)
{
    PbPendings *ps = p->core->pendings;
    GQueue *q = g_hash_table_lookup(ps->by_notify, p->n);

    g_source_destroy(&p->source);
    if (q != NULL && g_queue_remove(q, p)) {
        ps->count--;
        if (g_queue_is_empty(q))
            g_hash_table_remove(ps->by_notify, p->n);
        g_source_unref(&p->source);
    }
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
remember_interrupted(PbPendings *ps, pid_t tid, int fd)
{
    guint i = ps->n_interrupted % G_N_ELEMENTS(ps->interrupted);

    ps->interrupted[i].tid = tid;
    ps->interrupted[i].fd = fd;
    ps->interrupted[i].when = g_get_monotonic_time();
    ps->n_interrupted++;
}

/**
 * pb_pending_restarted: is this call (@tid, @fd) the SA_RESTART
 * restart of an interrupted blocking connect that had SO_SNDTIMEO set?
 * A still registered pending connect of the same task is dead by
 * definition (a task makes one call at a time): it is released here.
 * Limitation: without SA_RESTART the task already got EINTR, and if it
 * calls connect() again on the same fd within a second, that call gets
 * one more EINTR (the kernel would answer EALREADY or keep waiting).
 */
gboolean
pb_pending_restarted(PbPendings *ps, PbNotify *n, pid_t tid, int fd)
{
    GQueue *q = g_hash_table_lookup(ps->by_notify, n);
    gint64 now;

    for (GList *l = q != NULL ? q->head : NULL; l != NULL; l = l->next) {
        PbPending *p = l->data;

        if (p->tid == tid && p->target_fd == fd) {
            gboolean had_timeout = p->deadline != 0;

            pending_finish(p);
            return had_timeout;
        }
    }
    if (ps->n_interrupted == 0)
        return FALSE;
    now = g_get_monotonic_time();
    for (guint i = 0; i < G_N_ELEMENTS(ps->interrupted); i++) {
        if (ps->interrupted[i].tid == tid && ps->interrupted[i].fd == fd &&
            now - ps->interrupted[i].when < G_USEC_PER_SEC) {
            ps->interrupted[i].tid = 0;
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
        pb_reply_result(p->core, nfd, p->id, p->tid, -ENETUNREACH);
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
    PbCore *core = p->core;
    int nfd = p->nfd;
    GIOCondition cond = g_source_query_unix_fd(source, p->tag);
    gint64 now = g_source_get_time(source);
    gint64 next;

    if (p->answer_only && (cond & (G_IO_OUT | G_IO_ERR | G_IO_HUP))) {
        /* no longer connecting: the kernel's answer comes at once */
        pb_reply_result(core, nfd, p->id, p->tid,
                        pb_probe_connect(p->host, p->family));
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
        int err = pb_sock_int(p->host, SOL_SOCKET, SO_ERROR);

        if (err == 0) {
            int r = pb_call_inject(core, nfd, p->id, p->tid, &p->host,
                                   p->target_fd, p->cloexec, TRUE, 0);

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
        int r = pb_call_inject(core, nfd, p->id, p->tid, &p->host, p->target_fd,
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
                remember_interrupted(core->pendings, p->tid, p->target_fd);
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

/**
 * pb_pending_start:
 * @c: the call (its notify, id, tid, target fd, flags)
 * @host: (transfer full): the host socket whose connect is in progress
 * @sndtimeo: the original's SO_SNDTIMEO (zero: none)
 * @answer_only: @host is the agent's copy of an injected socket that is
 *   still connecting: answer the kernel's verdict, inject nothing
 * @family: the connect's address family (for the answer_only probe)
 *
 * Waits for @host's connect on the main loop.
 *
 * Returns: (transfer none) the wait (owned by the pending set), or NULL if
 * too many are waiting already (@host is then still the caller's).
 */
PbPending *
pb_pending_start(PbCall *c, int host, const struct timeval *sndtimeo,
                 gboolean answer_only, int family)
{
    PbPendings *ps = c->core->pendings;
    PbPending *p;
    GQueue *q;
    gint64 now = g_get_monotonic_time();

    if (ps->count >= ps->max)
        return NULL;
    p = (PbPending *)g_source_new(&pending_funcs, sizeof(PbPending));
    p->core = c->core;
    p->n = c->n;
    p->nfd = c->nfd;
    p->answer_only = answer_only;
    p->family = family;
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
    q = g_hash_table_lookup(ps->by_notify, c->n);
    if (q == NULL) {
        q = g_queue_new();
        g_hash_table_insert(ps->by_notify, c->n, q);
    }
    g_queue_push_tail(q, p); /* the set holds the reference */
    ps->count++;
    return p;
}
