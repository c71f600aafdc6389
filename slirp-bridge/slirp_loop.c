/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * slirp_loop.c: libslirp driven by a GMainContext.
 *
 * Theory of operation: one custom GSource carries both the tap fd and an
 * epoll fd that mirrors the set of host sockets libslirp wants polled.
 *
 *   prepare:  slirp_pollfds_fill() lists libslirp's sockets; we sync that
 *             list into the epoll set (only changes cost a syscall) and
 *             turn libslirp's timeout and our timers into GLib's timeout.
 *   (GLib polls the tap fd and the epoll fd together with every other
 *   source of the context: API clients, bypass notify fds, exit-fd.)
 *   dispatch: drain the tap in a batch (up to SB_TAP_BATCH frames, each one
 *             handed to slirp_input()), then collect socket readiness with
 *             a zero-timeout epoll_wait() and run slirp_pollfds_poll() with
 *             select_error=0 so that libslirp services its sockets in the
 *             same iteration, then fire expired timers.
 *
 * Why not slirp4netns's loop: it reads one frame per poll and then tells
 * libslirp select_error=1, which skips all socket work for that iteration,
 * adding a poll round trip to every segment.  libslirp has no TCP window
 * scaling, so throughput is window/RTT and the loop's latency is the
 * throughput.  Why epoll rather than g_source_add_poll() per socket: GLib
 * keeps poll records in a priority-sorted list, so re-adding n sockets
 * every iteration costs O(n^2); with thousands of short connections that
 * dominates.
 *
 * libslirp announces closes through unregister_poll_fd() on almost every
 * path, which removes the epoll registration; as a safety net for any path
 * that closes without telling us (an fd number then reused with the same
 * events would never be re-added), the whole epoll set is rebuilt once a
 * second.
 *
 * Muted sockets: the port table (port-driver/table.c) can stop a libslirp
 * listener without closing it while the bypass serves its port
 * (sb_slirp_mute_fd()).  Such a socket is closed-but-bound and polls as
 * HUP for ever; libslirp would try accept() on every iteration, so a muted
 * fd is left out of the epoll set and reported with no events.
 *
 * Out of fds: libslirp's accept() on a forwarded port's listener fails
 * (EMFILE) and leaves the connection queued, so the listener stays
 * readable and the loop would spin at 100 % CPU (slirp4netns's #227).
 * After libslirp's turn, a listener that was readable and still is, while
 * no fd can be had, is paused like a muted one for SB_ACCEPT_PAUSE_US,
 * logged once per episode; the queued clients are served when fds free up.
 */
#include "slirp_bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Frames read from the tap per iteration before sockets get a turn. */
#define SB_TAP_BATCH 128
/* Tap read buffer: the largest MTU (65521) plus the Ethernet header. */
#define SB_TAP_BUFSIZE (65536 + 64)
/* epoll events collected per iteration (level-triggered: rest next time). */
#define SB_EPOLL_BATCH 256
/* if_mru handed to libslirp: MSS = 21845 - 40, three segments per 64 KiB
 * window (see sb_slirp_new). */
#define SB_TCP_MSS_MRU 21845
/* How long a listener libslirp cannot accept on (out of fds) is left out. */
#define SB_ACCEPT_PAUSE_US (100 * G_TIME_SPAN_MILLISECOND)
/* Safety-net rebuild period of the epoll set, in microseconds. */
#define SB_EPOLL_RESYNC_US (G_USEC_PER_SEC)

/* One host socket libslirp polls. */
typedef struct {
    int fd;
    guint32 registered;  /* epoll events currently registered, 0: none */
    guint32 wanted;      /* events asked for in the latest fill */
    guint32 revents;     /* epoll result of the latest dispatch */
    guint64 round;       /* fill round in which it was last asked for */
    gboolean checked;    /* widen_backlog() has looked at it */
    gboolean listening;  /* a listener (forwarded port), per widen_backlog() */
    gboolean muted;      /* sb_slirp_mute_fd() or paused: not registered */
    gint64 paused_until; /* monotonic us: out of fds, accept cannot work */
} SbPollEntry;

/* A libslirp timer. */
typedef struct {
    SbSlirp *owner;
    SlirpTimerId id;
    void *cb_opaque;
    gint64 expire_ms; /* on the clock_get_ns()/1e6 clock; -1: disarmed */
} SbTimer;

typedef struct {
    GSource source;
    SbSlirp *owner;
} SbSlirpSource;

struct SbSlirp {
    Slirp *slirp;
    GMainContext *ctx;
    GSource *source;
    gpointer tap_tag;
    gpointer epoll_tag;
    int tapfd;
    int epfd;
    guint8 *buf;
    GHashTable *entries;     /* fd -> SbPollEntry* */
    GHashTable *muted;       /* fds libslirp must not see events on */
    gboolean accept_failing; /* logged the current out-of-fds episode */
    gint64 next_unpause;     /* earliest end of a listener's pause, or 0 */
    GPtrArray *by_idx;       /* index from add_poll -> SbPollEntry* */
    guint64 round;
    gint64 next_resync_us;
    GList *timers;    /* SbTimer* */
    gboolean stopped; /* tap failed: no more reads */
    SbFatalFunc fatal;
    gpointer fatal_data;
    guint64 tx_drops;
};

/* --- libslirp callbacks ------------------------------------------------ */

/* implements SlirpCb.send_packet: one frame to the guest. */
static ssize_t
cb_send_packet(const void *buf, size_t len, void *opaque)
{
    SbSlirp *s = opaque;
    ssize_t n;

    do {
        n = write(s->tapfd, buf, len);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        /* A full queue drops the frame like a lossy link would; TCP in
         * the guest retransmits.  Report other errors to libslirp. */
        if (errno == EAGAIN || errno == ENOBUFS) {
            s->tx_drops++;
            return (ssize_t)len;
        }
        return -1;
    }
    return n;
}

/* implements SlirpCb.guest_error */
static void
cb_guest_error(const char *msg, void *opaque)
{
    fprintf(stderr, "libslirp: %s\n", msg);
}

/* implements SlirpCb.clock_get_ns: the monotonic clock. */
static int64_t
cb_clock_get_ns(void *opaque)
{
    return g_get_monotonic_time() * 1000;
}

/* Milliseconds on the same clock as cb_clock_get_ns(). */
static gint64
now_ms(void)
{
    return g_get_monotonic_time() / 1000;
}

/* implements SlirpCb.timer_new_opaque (config version 4) */
static void *
cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
    SbSlirp *s = opaque;
    SbTimer *t = g_new0(SbTimer, 1);

    t->owner = s;
    t->id = id;
    t->cb_opaque = cb_opaque;
    t->expire_ms = -1;
    s->timers = g_list_prepend(s->timers, t);
    return t;
}

/* implements SlirpCb.timer_free */
static void
cb_timer_free(void *timer, void *opaque)
{
    SbSlirp *s = opaque;

    s->timers = g_list_remove(s->timers, timer);
    g_free(timer);
}

/* implements SlirpCb.timer_mod: @expire_time is in ms on our clock. */
static void
cb_timer_mod(void *timer, int64_t expire_time, void *opaque)
{
    SbTimer *t = timer;

    /* No wakeup needed: libslirp only calls this from inside our own
     * dispatch, and the next prepare recomputes the poll timeout. */
    t->expire_ms = expire_time;
}

/*
 * Forget fd's epoll registration (libslirp is closing it, or the number is
 * being reused).  The entry itself stays in the table until the next
 * sync_epoll(): this runs from inside slirp_input()/slirp_pollfds_poll()
 * while s->by_idx still points at the entries of the current round, so
 * freeing it here would leave a dangling pointer (seen under ASan).
 */
static void
entry_forget(SbSlirp *s, int fd)
{
    SbPollEntry *e = g_hash_table_lookup(s->entries, GINT_TO_POINTER(fd));

    if (!e)
        return;
    if (e->registered)
        (void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
    e->registered = 0;
    e->revents = 0;
    /* a new socket may get the number: nothing of this one carries over */
    e->checked = FALSE;
    e->listening = FALSE;
    e->paused_until = 0;
}

/* implements SlirpCb.register_poll_fd: a new socket; a stale entry with
 * the same number (closed without unregister) must not survive. */
static void
cb_register_poll_fd(int fd, void *opaque)
{
    entry_forget(opaque, fd);
}

/* implements SlirpCb.unregister_poll_fd */
static void
cb_unregister_poll_fd(int fd, void *opaque)
{
    entry_forget(opaque, fd);
}

/* implements SlirpCb.notify: nothing to do, sockets are serviced on every
 * iteration anyway. */
static void
cb_notify(void *opaque)
{
}

static const SlirpCb sb_slirp_callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
    .timer_new_opaque = cb_timer_new_opaque,
};

/* --- poll set -------------------------------------------------------- */

/* Convert SLIRP_POLL_* to EPOLL* and back. */
static guint32
slirp_to_epoll(int ev)
{
    guint32 r = 0;

    if (ev & SLIRP_POLL_IN)
        r |= EPOLLIN;
    if (ev & SLIRP_POLL_OUT)
        r |= EPOLLOUT;
    if (ev & SLIRP_POLL_PRI)
        r |= EPOLLPRI;
    return r;
}

static int
epoll_to_slirp(guint32 ev)
{
    int r = 0;

    if (ev & EPOLLIN)
        r |= SLIRP_POLL_IN;
    if (ev & EPOLLOUT)
        r |= SLIRP_POLL_OUT;
    if (ev & EPOLLPRI)
        r |= SLIRP_POLL_PRI;
    if (ev & EPOLLERR)
        r |= SLIRP_POLL_ERR;
    if (ev & EPOLLHUP)
        r |= SLIRP_POLL_HUP;
    return r;
}

/* SlirpAddPollCb for slirp_pollfds_fill(): remember what is wanted. */
static int
add_poll(int fd, int events, void *opaque)
{
    SbSlirp *s = opaque;
    SbPollEntry *e = g_hash_table_lookup(s->entries, GINT_TO_POINTER(fd));

    if (!e) {
        e = g_new0(SbPollEntry, 1);
        e->fd = fd;
        g_hash_table_insert(s->entries, GINT_TO_POINTER(fd), e);
    }
    e->muted =
        g_hash_table_contains(s->muted, GINT_TO_POINTER(fd)) ||
        (e->paused_until != 0 && g_get_monotonic_time() < e->paused_until);
    e->wanted = slirp_to_epoll(events);
    e->revents = 0;
    e->round = s->round;
    g_ptr_array_add(s->by_idx, e);
    return (int)s->by_idx->len - 1;
}

/* SlirpGetREventsCb for slirp_pollfds_poll(). */
static int
get_revents(int idx, void *opaque)
{
    SbSlirp *s = opaque;

    if (idx < 0 || (guint)idx >= s->by_idx->len)
        return 0;
    return epoll_to_slirp(((SbPollEntry *)s->by_idx->pdata[idx])->revents);
}

/*
 * libslirp's forwarded ports listen with a backlog of 1, so a burst of
 * connections overflows the accept queue and the clients wait a full SYN
 * retransmission timeout (1 s): hostfwd connection rates collapsed to a few
 * hundred per second at 16 concurrent clients.  Calling listen() again on a
 * listening socket only changes its backlog, so do that the first time a
 * listening socket is seen.  Listening sockets are polled for IN without
 * PRI; connected TCP sockets always ask for PRI too, which saves the
 * getsockopt for them.
 */
static void
widen_backlog(SbPollEntry *e)
{
    int on = 0;
    socklen_t len = sizeof on;

    if (e->wanted != EPOLLIN)
        return;
    if (getsockopt(e->fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on) {
        e->listening = TRUE;
        (void)listen(e->fd, SOMAXCONN);
    }
}

/*
 * out_of_fds: can this process open no more files (EMFILE, ENFILE)?
 */
static gboolean
out_of_fds(SbSlirp *s)
{
    int t = fcntl(s->epfd, F_DUPFD_CLOEXEC, 0);

    if (t >= 0) {
        close(t);
        return FALSE;
    }
    return errno == EMFILE || errno == ENFILE;
}

/*
 * pause_stuck_listeners: after libslirp's turn, a listener that was
 * readable and still is could not accept: if that is for want of fds,
 * leave it out for SB_ACCEPT_PAUSE_US (see the theory of operation).
 */
static void
pause_stuck_listeners(SbSlirp *s)
{
    gint64 now = g_get_monotonic_time();
    int exhausted = -1; /* not asked yet */

    s->next_unpause = 0;
    for (guint i = 0; i < s->by_idx->len; i++) {
        SbPollEntry *e = s->by_idx->pdata[i];
        struct pollfd p = { .fd = e->fd, .events = POLLIN };

        if (e->paused_until > now) {
            /* still paused: the loop must wake up when that ends */
            if (s->next_unpause == 0 || e->paused_until < s->next_unpause)
                s->next_unpause = e->paused_until;
            continue;
        }
        e->paused_until = 0;
        if (!e->listening || !(e->revents & EPOLLIN) || e->muted ||
            poll(&p, 1, 0) != 1 || !(p.revents & POLLIN))
            continue;
        if (exhausted < 0)
            exhausted = out_of_fds(s);
        if (!exhausted)
            continue;
        e->paused_until = now + SB_ACCEPT_PAUSE_US;
        if (s->next_unpause == 0 || e->paused_until < s->next_unpause)
            s->next_unpause = e->paused_until;
        if (!s->accept_failing)
            g_printerr("slirp: accept on a forwarded port: out of file "
                       "descriptors (retrying every %d ms)\n",
                       (int)(SB_ACCEPT_PAUSE_US / 1000));
        s->accept_failing = TRUE;
    }
    /* fds to be had again: the next episode is logged anew */
    if (exhausted == 0)
        s->accept_failing = FALSE;
}

/* Bring the epoll set in line with the latest fill.  Returns nothing: an
 * fd that cannot be registered (closed under us) is dropped and libslirp
 * simply sees no events for it. */
static void
sync_epoll(SbSlirp *s)
{
    GHashTableIter it;
    gpointer value;

    if (g_get_monotonic_time() >= s->next_resync_us) {
        /* safety net, see the theory of operation */
        g_hash_table_iter_init(&it, s->entries);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
            SbPollEntry *e = value;
            if (e->registered)
                (void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, e->fd, NULL);
            e->registered = 0;
        }
        s->next_resync_us = g_get_monotonic_time() + SB_EPOLL_RESYNC_US;
    }
    g_hash_table_iter_init(&it, s->entries);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        SbPollEntry *e = value;
        struct epoll_event ev = { .events = e->wanted, .data.fd = e->fd };

        if (e->round != s->round) {
            /* not asked for any more */
            if (e->registered)
                (void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, e->fd, NULL);
            g_hash_table_iter_remove(&it);
            continue;
        }
        if (e->muted) {
            /* epoll would report HUP even with no events asked for */
            if (e->registered)
                (void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, e->fd, NULL);
            e->registered = 0;
            continue;
        }
        if (e->registered == (e->wanted | EPOLLERR) && e->registered)
            continue;
        if (e->registered) {
            if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, e->fd, &ev) == 0) {
                e->registered = e->wanted | EPOLLERR;
                continue;
            }
        }
        if (!e->checked) {
            widen_backlog(e);
            e->checked = TRUE;
        }
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, e->fd, &ev) == 0 ||
            (errno == EEXIST &&
             epoll_ctl(s->epfd, EPOLL_CTL_MOD, e->fd, &ev) == 0))
            e->registered = e->wanted | EPOLLERR;
        else
            e->registered = 0;
    }
}

/* --- the GSource ------------------------------------------------------ */

/* Nearest armed timer expiry, or -1. */
static gint64
timers_next(SbSlirp *s)
{
    gint64 next = -1;

    for (GList *l = s->timers; l; l = l->next) {
        SbTimer *t = l->data;
        if (t->expire_ms >= 0 && (next < 0 || t->expire_ms < next))
            next = t->expire_ms;
    }
    return next;
}

/* Fire every expired timer once. */
static void
timers_run(SbSlirp *s)
{
    gint64 now = now_ms();
    gboolean fired;

    /* A callback may re-arm or free timers: restart the scan after each. */
    do {
        fired = FALSE;
        for (GList *l = s->timers; l; l = l->next) {
            SbTimer *t = l->data;
            if (t->expire_ms >= 0 && t->expire_ms <= now) {
                t->expire_ms = -1;
                slirp_handle_timer(s->slirp, t->id, t->cb_opaque);
                fired = TRUE;
                break;
            }
        }
    } while (fired);
}

/* GSourceFuncs.prepare: fill libslirp's poll set, compute the timeout. */
static gboolean
source_prepare(GSource *source, gint *timeout)
{
    SbSlirp *s = ((SbSlirpSource *)source)->owner;
    uint32_t ms = UINT32_MAX;
    gint64 next;

    s->round++;
    g_ptr_array_set_size(s->by_idx, 0);
    slirp_pollfds_fill(s->slirp, &ms, add_poll, s);
    sync_epoll(s);
    next = timers_next(s);
    if (next >= 0) {
        gint64 d = next - now_ms();
        if (d < 0)
            d = 0;
        if ((guint64)d < ms)
            ms = (uint32_t)d;
    }
    /* a paused listener (out of fds) is tried again when its pause ends */
    if (s->next_unpause != 0) {
        gint64 d = (s->next_unpause - g_get_monotonic_time()) / 1000 + 1;

        if (d < 0)
            d = 0;
        if ((guint64)d < ms)
            ms = (uint32_t)d;
    }
    *timeout = ms == UINT32_MAX ? -1 : (gint)MIN(ms, (uint32_t)G_MAXINT);
    return FALSE;
}

/* GSourceFuncs.check: always run; slirp_pollfds_poll() also drives the
 * TCP timers that the timeout above was computed for. */
static gboolean
source_check(GSource *source)
{
    return TRUE;
}

/* Read up to SB_TAP_BATCH frames and feed them to libslirp. */
static void
drain_tap(SbSlirp *s)
{
    for (int i = 0; i < SB_TAP_BATCH && !s->stopped; i++) {
        ssize_t n = read(s->tapfd, s->buf, SB_TAP_BUFSIZE);

        if (n > 0) {
            slirp_input(s->slirp, s->buf, (int)n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        /* EOF (BESS peer left) or a broken tap: nothing more will come. */
        s->stopped = TRUE;
        g_source_remove_unix_fd(s->source, s->tap_tag);
        s->tap_tag = NULL;
        if (s->fatal) {
            g_autofree char *msg =
                n == 0 ? g_strdup("tap: end of file")
                       : g_strdup_printf("tap read: %s", g_strerror(errno));
            s->fatal(msg, s->fatal_data);
        }
        return;
    }
}

/* GSourceFuncs.dispatch: tap batch, then sockets, then timers. */
static gboolean
source_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
    SbSlirp *s = ((SbSlirpSource *)source)->owner;
    struct epoll_event evs[SB_EPOLL_BATCH];
    int n;

    if (s->tap_tag && (g_source_query_unix_fd(source, s->tap_tag) &
                       (G_IO_IN | G_IO_HUP | G_IO_ERR)))
        drain_tap(s);

    for (guint i = 0; i < s->by_idx->len; i++)
        ((SbPollEntry *)s->by_idx->pdata[i])->revents = 0;
    /* GLib's poll already said whether any socket is ready. */
    n = 0;
    if (g_source_query_unix_fd(source, s->epoll_tag) & G_IO_IN) {
        do {
            n = epoll_wait(s->epfd, evs, SB_EPOLL_BATCH, 0);
        } while (n < 0 && errno == EINTR);
    }
    for (int i = 0; i < n; i++) {
        SbPollEntry *e =
            g_hash_table_lookup(s->entries, GINT_TO_POINTER(evs[i].data.fd));
        if (e)
            e->revents = evs[i].events;
    }
    slirp_pollfds_poll(s->slirp, 0, get_revents, s);
    pause_stuck_listeners(s);
    timers_run(s);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs sb_slirp_source_funcs = {
    .prepare = source_prepare,
    .check = source_check,
    .dispatch = source_dispatch,
};

/* --- public ----------------------------------------------------------- */

/**
 * sb_slirp_new: create the libslirp instance for @cfg and attach its
 * source to @ctx.
 * @cfg: network configuration (CIDR, MTU, IPv6, loopback, DNS, outbound)
 * @tapfd: non-blocking tap fd (ownership passes to the returned object)
 * @ctx: the main context to run on
 * @error: SB_ERROR_SYSTEM if epoll or libslirp cannot be set up
 *
 * Returns: (transfer full): the instance, or NULL.
 */
SbSlirp *
sb_slirp_new(const SbConfig *cfg, int tapfd, GMainContext *ctx, GError **error)
{
    SlirpConfig sc = { 0 };
    SbSlirp *s = g_new0(SbSlirp, 1);

    s->tapfd = tapfd;
    s->ctx = ctx;
    s->entries = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    s->muted = g_hash_table_new(NULL, NULL);
    s->by_idx = g_ptr_array_new();
    s->buf = g_malloc(SB_TAP_BUFSIZE);
    s->next_resync_us = g_get_monotonic_time() + SB_EPOLL_RESYNC_US;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0) {
        g_set_error(error, SB_ERROR, SB_ERROR_SYSTEM, "epoll_create1: %s",
                    g_strerror(errno));
        goto fail;
    }

    sc.version = 4;
    sc.restricted = 0;
    sc.in_enabled = true;
    sc.vnetwork = cfg->vnet.network;
    sc.vnetmask = cfg->vnet.netmask;
    sc.vhost = cfg->vnet.gateway;
    sc.in6_enabled = cfg->enable_ipv6;
    sc.vprefix_addr6 = cfg->vnet.prefix6;
    sc.vprefix_len = (uint8_t)cfg->vnet.prefix6_len;
    sc.vhost6 = cfg->vnet.gateway6;
    sc.vdhcp_start = cfg->vnet.dhcp_start;
    sc.vnameserver = cfg->vnet.dns;
    sc.vnameserver6 = cfg->vnet.dns6;
    sc.if_mtu = cfg->mtu;
    /* libslirp uses MIN(if_mtu, if_mru) only to pick its TCP MSS.  It has
     * no window scaling, so a window is at most 65535 bytes: with the usual
     * MTU of 65520 one segment fills it and every transfer becomes
     * stop-and-wait.  Clamping the MSS so that three segments fit keeps the
     * pipe full (measured: about twice the namespace->host throughput);
     * frames up to the full MTU are still accepted and sent. */
    sc.if_mru = MIN(cfg->mtu, SB_TCP_MSS_MRU);
    sc.disable_host_loopback = cfg->disable_host_loopback;
    /* libslirp keeps these pointers; cfg outlives the instance. */
    sc.outbound_addr = cfg->has_outbound_addr
                           ? (struct sockaddr_in *)&cfg->outbound_addr
                           : NULL;
    sc.outbound_addr6 = cfg->has_outbound_addr6
                            ? (struct sockaddr_in6 *)&cfg->outbound_addr6
                            : NULL;
    sc.disable_dns = cfg->disable_dns;
    sc.disable_dhcp = false;

    s->slirp = slirp_new(&sc, &sb_slirp_callbacks, s);
    if (!s->slirp) {
        g_set_error(error, SB_ERROR, SB_ERROR_SYSTEM, "slirp_new failed");
        goto fail;
    }

    s->source = g_source_new(&sb_slirp_source_funcs, sizeof(SbSlirpSource));
    ((SbSlirpSource *)s->source)->owner = s;
    g_source_set_name(s->source, "slirp");
    /* Without this GLib "blocks" the source around every dispatch by
     * removing and re-adding its fds, and each change signals the context's
     * wakeup fd: the next poll then returns at once and the loop spins. */
    g_source_set_can_recurse(s->source, TRUE);
    s->tap_tag = g_source_add_unix_fd(s->source, tapfd, G_IO_IN);
    s->epoll_tag = g_source_add_unix_fd(s->source, s->epfd, G_IO_IN);
    g_source_attach(s->source, ctx);
    return s;

fail:
    sb_slirp_free(s);
    return NULL;
}

/**
 * sb_slirp_get: the libslirp instance, for the port-forwarding table.
 */
Slirp *
sb_slirp_get(SbSlirp *s)
{
    return s->slirp;
}

/**
 * sb_slirp_set_fatal: call @func once if the tap breaks (EOF or a read
 * error); the loop owner decides whether to exit.
 */
void
sb_slirp_set_fatal(SbSlirp *s, SbFatalFunc func, gpointer data)
{
    s->fatal = func;
    s->fatal_data = data;
}

/**
 * sb_slirp_mute_fd:
 * @s: the instance
 * @fd: one of libslirp's sockets
 * @mute: TRUE: report no events for @fd from the next iteration on (its
 *   epoll registration is dropped); FALSE: poll it again
 *
 * For the port table's hand-off (see the theory of operation).  The caller
 * unmutes before libslirp closes the fd.
 */
void
sb_slirp_mute_fd(SbSlirp *s, int fd, gboolean mute)
{
    SbPollEntry *e = g_hash_table_lookup(s->entries, GINT_TO_POINTER(fd));

    if (mute)
        g_hash_table_add(s->muted, GINT_TO_POINTER(fd));
    else
        g_hash_table_remove(s->muted, GINT_TO_POINTER(fd));
    if (e != NULL) {
        e->muted = mute;
        if (mute && e->registered)
            (void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
        if (mute) {
            e->registered = 0;
            e->revents = 0;
        }
    }
}

/**
 * sb_slirp_free: detach the source, clean up libslirp (closing its host
 * sockets) and close the tap fd.  NULL is allowed.
 */
void
sb_slirp_free(SbSlirp *s)
{
    if (!s)
        return;
    if (s->source) {
        g_source_destroy(s->source);
        g_source_unref(s->source);
    }
    if (s->slirp)
        slirp_cleanup(s->slirp);
    g_list_free_full(s->timers, g_free);
    if (s->epfd >= 0)
        close(s->epfd);
    if (s->tapfd >= 0)
        close(s->tapfd);
    g_hash_table_destroy(s->entries);
    g_hash_table_destroy(s->muted);
    g_ptr_array_free(s->by_idx, TRUE);
    g_free(s->buf);
    g_free(s);
}
