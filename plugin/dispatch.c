/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dispatch.c: `slirpbypass agent`, the per-user dispatcher (PbDispatcher).
 *
 * Theory of operation.  Engines give every container the same seccomp
 * profile, so one fixed listenerPath, while there is one helper per
 * container network.  The dispatcher owns that path.  Two kinds of
 * clients connect to it (listener.c tells them apart):
 *
 *   - a runtime (runc, crun) or `slirpbypass exec`: one ContainerProcessState
 *     with a seccomp notify fd.  The dispatcher stats /proc/PID/ns/net of
 *     its "pid" and looks for the helper registered for that namespace;
 *   - a helper (register.c): {"slirpbypass":"register", netnsDev,
 *     netnsIno} with one end of a SOCK_SEQPACKET socketpair, its channel
 *     (channel.c).  The channel closing is the deregistration.
 *
 * Every notify fd is a PbHeld, kept for as long as the container's filter
 * has users (the fd polls HUP when none are left):
 *
 *   - owned by a helper: passed to it over the channel; the dispatcher
 *     keeps its own copy but does not read it (a notification is read by
 *     whoever calls NOTIF_RECV first, so only one may).  The copy keeps
 *     the filter's listener alive if the helper dies: without any
 *     listener, the kernel fails every trapped call with ENOSYS;
 *   - an orphan: no helper serves its namespace yet (podman starts the
 *     helper after the container with --userns=keep-id), or its helper is
 *     gone.  The dispatcher answers every notification CONTINUE itself:
 *     the call runs in the container, on the slirp path, as if there were
 *     no bypass.  When a helper registers for the namespace, its orphans
 *     are passed to it.
 *
 * A third kind of client is a seccomp notify plugin's runtime (crun with
 * plugin/crun-plugin/, notification.c): crun reads its notify fd itself
 * and the plugin forwards each notification, with the fd, as
 * {"slirpbypass":"notification",...}.  Such an fd is held "passive": never
 * read here nor by the helper (a second reader would race crun's RECV and
 * could leave crun blocked in it, unable to reap its container).  Each
 * notification goes to the helper serving the caller's namespace, over
 * the channel with the fd; without one, or if that fails, the dispatcher
 * answers it CONTINUE itself.  Its pid is in the sender's pid namespace,
 * so the sender and the helper must share the dispatcher's (else the
 * sender answers CONTINUE).  The ids passed to a helper are remembered
 * until they are answered: if the helper dies first, they are answered
 * CONTINUE here (its pending connects would otherwise hang forever, as
 * the dispatcher's copy keeps the filter's listener alive).
 *
 * A helper that re-registers (after the dispatcher restarted) passes its
 * notify fds back ("deposits"), so that the new dispatcher holds copies
 * again.  Two helpers for one namespace: the second is refused.
 *
 * Nothing here blocks: channel sends are non-blocking, and an fd that
 * cannot be passed stays an orphan (served CONTINUE).
 */
#include "agent_internal.h"

#include <glib-unix.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sched.h>
#include <linux/nsfs.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Helpers registered at once, at most (fewer under a low RLIMIT_NOFILE):
 * each holds a channel fd, and one per network namespace is allowed. */
#define PB_MAX_HELPERS 512

typedef struct PbHelper PbHelper;

/* One notify fd the dispatcher holds. */
typedef struct {
    PbDispatcher *d;
    int fd;
    GSource *io;
    dev_t dev; /* the namespace of its process */
    ino_t ino;
    gint64 pid;
    char *id;
    PbHelper *owner; /* NULL: an orphan, answered CONTINUE here */
    guint64 n_continued;
    gboolean passive; /* read by a plugin's runtime: never NOTIF_RECV it */
    GArray *sent;     /* passive: ids passed to @owner, maybe unanswered */
} PbHeld;

/* The ids of a passive fd a helper may still answer: pruned (ID_VALID)
 * from PB_SENT_PRUNE on, the oldest dropped beyond PB_SENT_MAX. */
#define PB_SENT_PRUNE 64
#define PB_SENT_MAX 4096

/* One registered helper. */
struct PbHelper {
    PbDispatcher *d;
    int chan;
    GSource *io;
    dev_t dev;
    ino_t ino;
    gint64 pid;
    gboolean same_pidns; /* forwarded notifications' pids mean the same */
};

struct PbDispatcher {
    GMainContext *ctx;
    dev_t own_dev; /* the agent's own network namespace */
    ino_t own_ino;
    guint64 own_cookie; /* its SO_NETNS_COOKIE (0: unknown) */
    guint max_helpers;  /* registrations at once (each holds an fd) */
    PbListener *listener;
    GQueue helpers; /* PbHelper * */
    GQueue held;    /* PbHeld * */
};

static void held_watch(PbHeld *h);

/*
 * held_free: close @h's fd and forget it.
 */
static void
held_free(PbHeld *h)
{
    g_queue_remove(&h->d->held, h);
    if (h->io) {
        g_source_destroy(h->io);
        g_source_unref(h->io);
    }
    close(h->fd);
    g_free(h->id);
    g_array_unref(h->sent);
    g_free(h);
}

/*
 * on_host_socket: is @req, a call of orphan @h's process, a trapped call
 * on a socket of the agent's own network namespace, one a helper that is
 * gone put in the container?
 * Such a call must not just run (CONTINUE): a helper never lets one run
 * unchecked (docs/bypass.md, "The guarantee").
 * Returns: the errno to refuse it with, or 0 (CONTINUE: not a host
 * socket, or nothing can be learnt).
 */
static int
on_host_socket(PbHeld *h, const struct seccomp_notif *req)
{
    PbDispatcher *d = h->d;
    int err = pb_trapped_host_errno(&req->data);
    int pidfd, sock;
    guint64 cookie;

    if (err == 0 || d->own_cookie == 0)
        return 0;
    /* a process of the agent's own namespace (`exec` on the host) has
     * host sockets of its own: only elsewhere were they injected */
    if (h->dev == d->own_dev && h->ino == d->own_ino)
        return 0;
    pidfd = (int)syscall(SYS_pidfd_open, (pid_t)req->pid, 0);
    if (pidfd < 0)
        return 0;
    sock = (int)syscall(SYS_pidfd_getfd, pidfd, (int)req->data.args[0], 0);
    close(pidfd);
    if (sock < 0)
        return 0;
    cookie = sb_socket_netns_cookie(sock);
    close(sock);
    /* the call may have been answered meanwhile: then it does not matter */
    return cookie == d->own_cookie ? err : 0;
}

/*
 * held_ready: an orphan has a notification (answer CONTINUE), or the
 * filter has no users left (HUP: forget it).
 */
static gboolean
held_ready(gint fd, GIOCondition cond, gpointer user_data)
{
    PbHeld *h = user_data;
    struct seccomp_notif req;

    if (cond & (G_IO_HUP | G_IO_ERR | G_IO_NVAL)) {
        pb_log("notify fd of pid %" G_GINT64_FORMAT " closed (no process "
               "left)",
               h->pid);
        g_clear_pointer(&h->io, g_source_unref); /* removed by returning */
        held_free(h);
        return G_SOURCE_REMOVE;
    }
    if (pb_notif_recv(fd, &req) == 0) {
        int err = on_host_socket(h, &req);

        /* -ENOENT: the caller was killed meanwhile; nothing to do */
        if (err > 0)
            (void)pb_notif_respond(fd, req.id, 0, -err);
        else
            (void)pb_notif_continue(fd, req.id);
        h->n_continued++;
    }
    return G_SOURCE_CONTINUE;
}

/*
 * held_watch: (re)arm @h's source: an orphan is read, an owned fd only
 * watched for HUP.
 */
static void
held_watch(PbHeld *h)
{
    GIOCondition cond = G_IO_HUP | G_IO_ERR;

    if (h->io) {
        g_source_destroy(h->io);
        g_source_unref(h->io);
    }
    if (h->owner == NULL && !h->passive)
        cond |= G_IO_IN;
    h->io = g_unix_fd_source_new(h->fd, cond);
    g_source_set_callback(h->io, G_SOURCE_FUNC(held_ready), h, NULL);
    g_source_attach(h->io, h->d->ctx);
}

/*
 * held_pass: pass @h to @helper.  On failure it stays (or becomes) an
 * orphan.
 */
static void
held_pass(PbHeld *h, PbHelper *helper)
{
    g_autofree char *json = pb_state_json_for(h->pid, h->id, NULL, h->passive);
    int r = pb_channel_send(helper->chan, json, h->fd);

    if (r < 0) {
        pb_log("notify fd of pid %" G_GINT64_FORMAT ": passing it to the "
               "helper (pid %" G_GINT64_FORMAT ") failed: %s; answering "
               "CONTINUE here",
               h->pid, helper->pid, g_strerror(-r));
        h->owner = NULL;
    } else {
        pb_log("notify fd of pid %" G_GINT64_FORMAT " passed to the helper "
               "(pid %" G_GINT64_FORMAT ")",
               h->pid, helper->pid);
        h->owner = helper;
    }
    held_watch(h);
}

/*
 * find_held: the PbHeld of another descriptor of @fd's file, or NULL.
 * (Two readers of one filter would race for its notifications.)
 */
static PbHeld *
find_held(PbDispatcher *d, int fd)
{
    pid_t self = getpid();

    for (GList *l = d->held.head; l != NULL; l = l->next) {
        PbHeld *h = l->data;

        if (syscall(SYS_kcmp, self, self, KCMP_FILE, fd, h->fd) == 0)
            return h;
    }
    return NULL;
}

/*
 * already_held: is @fd another descriptor of a file held here?
 */
static gboolean
already_held(PbDispatcher *d, int fd)
{
    return find_held(d, fd) != NULL;
}

/*
 * held_new: hold @fd (transfer full), owned by @owner or an orphan;
 * @passive: read by a plugin's runtime, never here.
 */
static PbHeld *
held_new(PbDispatcher *d, int fd, dev_t dev, ino_t ino, gint64 pid,
         const char *id, PbHelper *owner, gboolean passive)
{
    PbHeld *h = g_new0(PbHeld, 1);

    h->d = d;
    h->fd = fd;
    h->dev = dev;
    h->ino = ino;
    h->pid = pid;
    h->id = g_strdup(id);
    h->owner = owner;
    h->passive = passive;
    h->sent = g_array_new(FALSE, FALSE, sizeof(guint64));
    g_queue_push_tail(&d->held, h);
    held_watch(h);
    return h;
}

/*
 * find_helper: the helper registered for namespace @dev/@ino, or NULL.
 */
static PbHelper *
find_helper(PbDispatcher *d, dev_t dev, ino_t ino)
{
    for (GList *l = d->helpers.head; l != NULL; l = l->next) {
        PbHelper *hp = l->data;

        if (hp->dev == dev && hp->ino == ino)
            return hp;
    }
    return NULL;
}

/*
 * route_ns: the network namespace that decides where @st's fd goes,
 * into @sb.
 *  - `slirpbypass exec` sends an fd on its own namespace with the state
 *    ("slirpbypassNetns"): it proves the sender could open it, and needs
 *    no access to /proc/PID here (an agent started in podman's user
 *    namespace cannot read a rootlesskit child's);
 *  - a runtime on the host (runc, crun) names the container process in
 *    "pid", in the host's pid namespace;
 *  - a sender in another network namespace than the agent's is itself the
 *    process to route by (SO_PEERCRED gives its pid in our namespace);
 *    if it is gone already, nothing is known: never the "pid" it named.
 * Returns: TRUE with @sb filled, FALSE (with @why) if it cannot be known.
 */
static gboolean
route_ns(PbDispatcher *d, const PbProcessState *st, struct stat *sb,
         const char **why)
{
    g_autofree char *ns = NULL;
    gint64 pid = st->pid;

    if (st->netns_fd >= 0) {
        if (!pb_netns_of_fd(st->netns_fd, sb)) {
            *why = "its \"slirpbypassNetns\" fd is not a network namespace";
            return FALSE;
        }
        return TRUE;
    }
    if (st->peer_pid > 0) {
        ns = g_strdup_printf("/proc/%" G_GINT64_FORMAT "/ns/net", st->peer_pid);
        if (stat(ns, sb) < 0) {
            *why = "its sender is gone";
            return FALSE;
        }
        if (sb->st_dev != d->own_dev || sb->st_ino != d->own_ino)
            return TRUE;
        g_clear_pointer(&ns, g_free);
    }
    if (pid <= 0) {
        *why = "no pid";
        return FALSE;
    }
    ns = g_strdup_printf("/proc/%" G_GINT64_FORMAT "/ns/net", pid);
    if (stat(ns, sb) < 0) {
        *why = g_intern_string(g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

/*
 * on_notify_fd: a runtime or `slirpbypass exec` sent a notify fd.
 */
static void
on_notify_fd(int notify_fd, const PbProcessState *st, gpointer user_data)
{
    PbDispatcher *d = user_data;
    const char *why = NULL;
    struct stat sb;
    PbHelper *hp;
    PbHeld *h;

    if (already_held(d, notify_fd)) {
        pb_log("notify fd of pid %" G_GINT64_FORMAT " refused: already "
               "held",
               st->pid);
        close(notify_fd);
        return;
    }
    if (!route_ns(d, st, &sb, &why)) {
        /* no namespace to route by: CONTINUE for as long as it lives
         * (dev/ino 0 never match a registration: those prove theirs) */
        pb_log("notify fd of pid %" G_GINT64_FORMAT ": no network namespace "
               "(%s); answering CONTINUE",
               st->pid, why);
        held_new(d, notify_fd, 0, 0, st->pid, st->id, NULL, st->passive);
        return;
    }
    hp = find_helper(d, sb.st_dev, sb.st_ino);
    h = held_new(d, notify_fd, sb.st_dev, sb.st_ino, st->pid, st->id, NULL,
                 st->passive);
    if (hp != NULL)
        held_pass(h, hp);
    else
        pb_log("notify fd of pid %" G_GINT64_FORMAT "%s%s: no helper serves "
               "its network namespace yet; answering CONTINUE",
               st->pid, st->id ? ", id " : "", st->id ? st->id : "");
}

/*
 * held_sent: remember that notification @id of passive @h went to its
 * owner (pruning the answered ones first when there are many).
 */
static void
held_sent(PbHeld *h, guint64 id)
{
    if (h->sent->len >= PB_SENT_PRUNE) {
        for (guint i = h->sent->len; i-- > 0;)
            if (pb_notif_id_valid(h->fd, g_array_index(h->sent, guint64, i)) !=
                0)
                g_array_remove_index(h->sent, i);
        if (h->sent->len >= PB_SENT_MAX)
            g_array_remove_index(h->sent, 0);
    }
    g_array_append_val(h->sent, id);
}

/*
 * held_answer_sent: @h's owner is gone: answer CONTINUE whatever it may
 * not have answered (-ENOENT for the ones it did: ids are never reused).
 */
static void
held_answer_sent(PbHeld *h)
{
    guint n = 0;

    for (guint i = 0; i < h->sent->len; i++)
        if (pb_notif_continue(h->fd, g_array_index(h->sent, guint64, i)) == 0)
            n++;
    g_array_set_size(h->sent, 0);
    if (n > 0)
        pb_log("notify fd of pid %" G_GINT64_FORMAT ": answered CONTINUE "
               "%u notification%s its helper left unanswered",
               h->pid, n, n == 1 ? "" : "s");
}

/*
 * helper_free: the helper is gone (@gone: its channel closed; else the
 * dispatcher is closing): its fds become orphans.
 */
static void
helper_free(PbHelper *hp, gboolean gone)
{
    PbDispatcher *d = hp->d;
    guint n = 0;

    g_queue_remove(&d->helpers, hp);
    for (GList *l = d->held.head; l != NULL; l = l->next) {
        PbHeld *h = l->data;

        if (h->owner == hp) {
            h->owner = NULL;
            if (gone)
                held_answer_sent(h);
            g_array_set_size(h->sent, 0);
            held_watch(h);
            n++;
        }
    }
    if (hp->io) {
        g_source_destroy(hp->io);
        g_source_unref(hp->io);
    }
    close(hp->chan);
    pb_log("helper (pid %" G_GINT64_FORMAT ") deregistered; %u notify fd%s "
           "answered CONTINUE here now",
           hp->pid, n, n == 1 ? "" : "s");
    g_free(hp);
}

/*
 * helper_deposit: a re-registered helper passes back a notify fd it
 * serves, so that this dispatcher holds a copy too.
 */
static void
helper_deposit(PbHelper *hp, const char *json, gsize len, int fd)
{
    g_autoptr(GError) error = NULL;
    PbProcessState st;

    if (!pb_passed_fd_parse(json, len, fd, &st, &error)) {
        pb_log("helper (pid %" G_GINT64_FORMAT "): bad deposit: %s", hp->pid,
               error->message);
        close(fd);
        return;
    }
    if (already_held(hp->d, fd))
        close(fd);
    else
        held_new(hp->d, fd, hp->dev, hp->ino, st.pid, st.id, hp, st.passive);
    pb_process_state_clear(&st);
}

/*
 * helper_read: a message from a helper, or its channel closing.
 */
static gboolean
helper_read(gint fd, GIOCondition cond, gpointer user_data)
{
    PbHelper *hp = user_data;
    g_autofree char *buf = g_malloc(PB_LISTENER_MAX_MESSAGE + 1);

    for (guint i = 0; i < 64; i++) {
        int mfd;
        gssize n = pb_channel_recv(fd, buf, PB_LISTENER_MAX_MESSAGE + 1, &mfd);

        if (n == -EAGAIN && !(cond & (G_IO_HUP | G_IO_ERR)))
            return G_SOURCE_CONTINUE;
        if (n == -EMSGSIZE)
            continue;
        if (n <= 0) {
            g_clear_pointer(&hp->io, g_source_unref);
            helper_free(hp, TRUE);
            return G_SOURCE_REMOVE;
        }
        if (mfd < 0) {
            /* helpers only ever deposit fds: anything else is not one */
            pb_log("helper (pid %" G_GINT64_FORMAT "): a message without an "
                   "fd; dropping it",
                   hp->pid);
            g_clear_pointer(&hp->io, g_source_unref);
            helper_free(hp, TRUE);
            return G_SOURCE_REMOVE;
        }
        helper_deposit(hp, buf, (gsize)n, mfd);
    }
    return G_SOURCE_CONTINUE;
}

/*
 * on_register: a helper registered for a namespace.
 */
static void
on_register(int chan, const PbRegistration *reg, gpointer user_data)
{
    PbDispatcher *d = user_data;
    PbHelper *hp = find_helper(d, reg->netns_dev, reg->netns_ino);
    guint n = 0;

    if (hp == NULL && g_queue_get_length(&d->helpers) >= d->max_helpers) {
        pb_log("helper (pid %" G_GINT64_FORMAT ") refused: %u helpers "
               "registered already",
               reg->peer_pid, d->max_helpers);
        (void)pb_channel_send(chan,
                              "{\"slirpbypass\":\"refused\",\"reason\":"
                              "\"too many helpers registered\"}",
                              -1);
        close(chan);
        return;
    }
    if (hp != NULL) {
        g_autofree char *why = g_strdup_printf(
            "{\"slirpbypass\":\"refused\",\"reason\":\"another helper (pid "
            "%" G_GINT64_FORMAT ") serves this network namespace\"}",
            hp->pid);

        pb_log("helper (pid %" G_GINT64_FORMAT
               ") refused: pid %" G_GINT64_FORMAT
               " serves that network namespace",
               reg->peer_pid, hp->pid);
        (void)pb_channel_send(chan, why, -1);
        close(chan);
        return;
    }
    hp = g_new0(PbHelper, 1);
    hp->d = d;
    hp->chan = chan;
    hp->dev = reg->netns_dev;
    hp->ino = reg->netns_ino;
    hp->pid = reg->peer_pid;
    hp->same_pidns = pb_pidns_shared(reg->peer_pid);
    (void)g_unix_set_fd_nonblocking(chan, TRUE, NULL);
    if (pb_channel_send(chan, "{\"slirpbypass\":\"registered\",\"version\":1}",
                        -1) < 0) {
        close(chan);
        g_free(hp);
        return;
    }
    g_queue_push_tail(&d->helpers, hp);
    hp->io = g_unix_fd_source_new(chan, G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(hp->io, G_SOURCE_FUNC(helper_read), hp, NULL);
    g_source_attach(hp->io, d->ctx);
    for (GList *l = d->held.head; l != NULL; l = l->next) {
        PbHeld *h = l->data;

        if (h->owner == NULL && !h->passive && h->dev == hp->dev &&
            h->ino == hp->ino) {
            held_pass(h, hp);
            n++;
        }
    }
    pb_log("helper (pid %" G_GINT64_FORMAT ") registered for network "
           "namespace %" G_GUINT64_FORMAT "; %u waiting notify fd%s passed",
           hp->pid, (guint64)hp->ino, n, n == 1 ? "" : "s");
}

/*
 * held_route: learn the network namespace of passive @h from its caller
 * @pid (in our pid namespace).  Returns: FALSE if it cannot be known.
 */
static gboolean
held_route(PbHeld *h, gint64 pid)
{
    g_autofree char *ns =
        g_strdup_printf("/proc/%" G_GINT64_FORMAT "/ns/net", pid);
    struct stat sb;

    if (stat(ns, &sb) < 0)
        return FALSE;
    h->dev = sb.st_dev;
    h->ino = sb.st_ino;
    return TRUE;
}

/*
 * on_notification: a plugin's runtime forwarded a notification it
 * received, with its notify fd: pass it on to the helper serving the
 * caller's namespace, or answer it CONTINUE here.
 * Returns: TRUE (taken: @notify_fd is ours), FALSE (the sender answers
 * it: its pids mean something else here).
 */
static gboolean
on_notification(int notify_fd, const PbNotification *note, gpointer user_data)
{
    PbDispatcher *d = user_data;
    PbHeld *h;
    PbHelper *hp = NULL;
    int r;

    if (!pb_pidns_shared(note->peer_pid)) {
        pb_debug("notification from pid %" G_GINT64_FORMAT ": another pid "
                 "namespace; the sender answers CONTINUE",
                 note->peer_pid);
        return FALSE;
    }
    h = find_held(d, notify_fd);
    if (h != NULL && !h->passive) {
        /* it came as a ContainerProcessState too (a profile with both a
         * listenerPath and the plugin): crun reads it, so stop reading */
        pb_log("notify fd of pid %" G_GINT64_FORMAT ": its notifications "
               "are forwarded now; no longer read here",
               h->pid);
        h->passive = TRUE;
        held_watch(h);
    }
    if (h != NULL) {
        close(notify_fd);
    } else {
        h = held_new(d, notify_fd, 0, 0, note->pid, note->id, NULL, TRUE);
        if (!held_route(h, note->pid))
            pb_log("notify fd of pid %" G_GINT64_FORMAT " (forwarded "
                   "notifications%s%s): no network namespace (%s); "
                   "answering CONTINUE",
                   note->pid, note->id ? ", id " : "", note->id ? note->id : "",
                   g_strerror(errno));
    }
    if (h->dev == 0 && h->ino == 0)
        (void)held_route(h, note->pid);
    if (h->dev != 0 || h->ino != 0)
        hp = find_helper(d, h->dev, h->ino);
    if (hp != NULL && !hp->same_pidns) {
        pb_debug("helper (pid %" G_GINT64_FORMAT ") is in another pid "
                 "namespace: answering a forwarded notification CONTINUE",
                 hp->pid);
        hp = NULL;
    }
    if (hp != NULL) {
        g_autofree char *json =
            pb_notification_json(&note->req, note->id ? note->id : h->id);

        r = pb_channel_send(hp->chan, json, h->fd);
        if (r == 0) {
            if (h->owner != hp)
                pb_log("notify fd of pid %" G_GINT64_FORMAT " (forwarded "
                       "notifications) served by the helper (pid "
                       "%" G_GINT64_FORMAT ")",
                       h->pid, hp->pid);
            h->owner = hp;
            held_sent(h, note->req.id);
            return TRUE;
        }
        pb_log("notify fd of pid %" G_GINT64_FORMAT ": passing a "
               "notification to the helper (pid %" G_GINT64_FORMAT ") "
               "failed: %s; answering CONTINUE",
               h->pid, hp->pid, g_strerror(-r));
    } else if (h->owner != NULL || h->n_continued == 0) {
        pb_log("notify fd of pid %" G_GINT64_FORMAT " (forwarded "
               "notifications%s%s): no helper serves its network namespace; "
               "answering CONTINUE",
               h->pid, h->id ? ", id " : "", h->id ? h->id : "");
        h->owner = NULL;
    }
    h->n_continued++;
    r = pb_notif_continue(h->fd, note->req.id);
    if (r < 0 && r != -ENOENT)
        pb_debug("continue: %s", g_strerror(-r));
    return TRUE;
}

/**
 * pb_dispatcher_new:
 * @path: (nullable): the socket to bind (0600, stale file replaced)
 * @listen_fd: with @path NULL: an already listening socket (systemd
 *             socket activation; transfer full)
 * @ctx: the main context
 * @error: PB_ERROR_* naming the socket
 *
 * Returns: (transfer full) the dispatcher, serving; or NULL.
 */
PbDispatcher *
pb_dispatcher_new(const char *path, int listen_fd, GMainContext *ctx,
                  GError **error)
{
    PbDispatcher *d = g_new0(PbDispatcher, 1);

    d->ctx =
        ctx ? g_main_context_ref(ctx) : g_main_context_ref_thread_default();
    g_queue_init(&d->helpers);
    g_queue_init(&d->held);
    {
        struct stat sb;

        if (stat("/proc/self/ns/net", &sb) == 0) {
            d->own_dev = sb.st_dev;
            d->own_ino = sb.st_ino;
        }
        d->own_cookie = sb_netns_cookie_of_self();
    }
    {
        struct rlimit rl;

        d->max_helpers = PB_MAX_HELPERS;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
            d->max_helpers = CLAMP(rl.rlim_cur / 8, 8, PB_MAX_HELPERS);
    }
    if (path != NULL)
        d->listener = pb_listener_new(path, d->ctx, on_notify_fd, d, error);
    else
        d->listener =
            pb_listener_adopt(listen_fd, d->ctx, on_notify_fd, d, error);
    if (d->listener == NULL) {
        pb_dispatcher_free(d);
        return NULL;
    }
    pb_listener_set_register(d->listener, on_register, d);
    pb_listener_set_notification(d->listener, on_notification, d);
    return d;
}

/**
 * pb_dispatcher_counts:
 * @d: a dispatcher
 * @helpers: (out) (optional): registered helpers
 * @owned: (out) (optional): notify fds passed to helpers
 * @orphans: (out) (optional): notify fds answered CONTINUE here
 */
void
pb_dispatcher_counts(PbDispatcher *d, guint *helpers, guint *owned,
                     guint *orphans)
{
    guint o = 0, a = 0;

    for (GList *l = d->held.head; l != NULL; l = l->next) {
        if (((PbHeld *)l->data)->owner)
            o++;
        else
            a++;
    }
    if (helpers)
        *helpers = g_queue_get_length(&d->helpers);
    if (owned)
        *owned = o;
    if (orphans)
        *orphans = a;
}

/**
 * pb_dispatcher_free:
 * @d: (nullable): a dispatcher
 *
 * Closes every channel and notify fd, and the socket.  Helpers keep
 * serving what they hold; the containers of orphans get ENOSYS from
 * trapped calls once no copy of their fd is left (the kernel's rule).
 */
void
pb_dispatcher_free(PbDispatcher *d)
{
    PbHelper *hp;
    PbHeld *h;

    if (d == NULL)
        return;
    while ((hp = g_queue_peek_head(&d->helpers)) != NULL)
        helper_free(hp, FALSE);
    while ((h = g_queue_peek_head(&d->held)) != NULL)
        held_free(h);
    pb_listener_free(d->listener);
    g_main_context_unref(d->ctx);
    g_free(d);
}
