/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * agent.c: the bypass agent (PbAgent), glue between its parts.
 *
 * Theory of operation.  pb_agent_new() compiles the destination policy,
 * learns the agent's own network namespace cookie (SO_NETNS_COOKIE, Linux
 * 5.14: without it injected sockets could not be told apart, so the
 * bypass is switched off and every call answered CONTINUE), and sets up
 * the caches.  pb_agent_listen() binds the listener socket; every notify
 * fd it accepts becomes a PbNotify served on the same GMainContext.
 * Notifications forwarded by a plugin's runtime (notification.c), through
 * the per-user agent or straight to this listener, are answered by the
 * PbNotify of their fd, made passive (never read) on first sight.
 * pb_agent_free() closes every notify fd, pending connect, cached pidfd
 * and the listener, and unlinks the socket file.
 *
 * Logging: one stderr line per notify fd registered or closed and per
 * rejected listener connection; everything else (per-call errors) only
 * with PbAgentConfig.debug or SLIRPBYPASS_DEBUG=1 in the environment.
 */
#include "agent_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/kcmp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* clang-format would space the dashes of the stringified quark name */
// clang-format off
G_DEFINE_QUARK(pb-error-quark, pb_error)
// clang-format on

struct PbAgent {
    PbCore core;
    PbListener *listener;
    PbRegistrar *registrar;
};

/*
 * already_served: the PbNotify serving another descriptor of @fd's notify
 * file, or NULL.  Two sources on one file would both see it readable and
 * the second SECCOMP_IOCTL_NOTIF_RECV would block the main loop, so a
 * duplicate (a confused or hostile client sending the same fd twice) is
 * refused.  Without kcmp(2) (CONFIG_KCMP) nothing can be checked.
 */
static PbNotify *
already_served(PbCore *core, int fd)
{
    pid_t self = getpid();

    for (GList *l = core->notifies.head; l != NULL; l = l->next) {
        int other = pb_notify_get_fd(l->data);

        if (syscall(SYS_kcmp, self, self, KCMP_FILE, fd, other) == 0)
            return l->data;
    }
    return NULL;
}

/*
 * on_notify_fd: the listener validated a new notify fd.
 */
static void
on_notify_fd(int notify_fd, const PbProcessState *st, gpointer user_data)
{
    PbAgent *agent = user_data;

    if (already_served(&agent->core, notify_fd) != NULL) {
        pb_log("notify fd of pid %" G_GINT64_FORMAT " refused: already "
               "served",
               st->pid);
        close(notify_fd);
        return;
    }
    pb_notify_new(&agent->core, notify_fd, st->pid, st->id, st->passive);
}

/*
 * on_notification: a plugin's runtime received a notification and
 * forwarded it (through the per-user agent, or to our own listener):
 * answer it with the PbNotify of its fd, a passive one made now if its
 * fd is new here.  The notification's pid must mean the same here: when
 * it came straight from its sender (@note->peer_pid set), that sender
 * must share our pid namespace (the dispatcher checks that itself).
 * Returns: TRUE (answered, now or later), FALSE (the sender answers it
 * CONTINUE).
 */
static gboolean
on_notification(int notify_fd, const PbNotification *note, gpointer user_data)
{
    PbAgent *agent = user_data;
    PbNotify *n;

    if (note->peer_pid > 0 && !pb_pidns_shared(note->peer_pid)) {
        pb_debug("notification of pid %" G_GINT64_FORMAT " from pid "
                 "%" G_GINT64_FORMAT ": another pid namespace; CONTINUE",
                 note->pid, note->peer_pid);
        return FALSE;
    }
    n = already_served(&agent->core, notify_fd);
    if (n != NULL) {
        close(notify_fd);
        pb_notify_set_passive(n);
    } else
        n = pb_notify_new(&agent->core, notify_fd, note->pid, note->id, TRUE);
    pb_notify_handle(n, &note->req);
    return TRUE;
}

/**
 * pb_agent_new:
 * @cfg: the served network and options (copied)
 * @ctx: the main context everything runs on
 * @error: PB_ERROR_INVALID (a bad --bypass-ignore) or PB_ERROR_SYSTEM
 *
 * Returns: (transfer full) the agent, not listening yet; or NULL.
 */
PbAgent *
pb_agent_new(const PbAgentConfig *cfg, GMainContext *ctx, GError **error)
{
    g_autoptr(PbPolicy) policy = NULL;
    PbAgent *agent;
    PbCore *core;
    const char *env = g_getenv("SLIRPBYPASS_DEBUG");
    struct rlimit rl;
    guint max_pending;

    pb_debug_enabled = cfg->debug || (env && *env && g_strcmp0(env, "0"));
    pb_watchdog_install();
    policy = pb_policy_new(cfg, error);
    if (policy == NULL)
        return NULL;
    agent = g_new0(PbAgent, 1);
    core = &agent->core;
    core->ctx =
        ctx ? g_main_context_ref(ctx) : g_main_context_ref_thread_default();
    core->policy = g_steal_pointer(&policy);
    core->proc_fd = cfg->proc_fd;
    if (core->proc_fd < 0) {
        core->proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (core->proc_fd < 0) {
            g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM, "open /proc: %s",
                        g_strerror(errno));
            pb_agent_free(agent);
            return NULL;
        }
        core->own_proc_fd = TRUE;
    }
    core->netns_dev = cfg->netns_dev;
    core->netns_ino = cfg->netns_ino;
    core->served_cookie = cfg->netns_cookie;
    /* 0 (a zeroed config) means none, as -1 does */
    core->netns_fd = cfg->netns_fd > STDERR_FILENO
                         ? fcntl(cfg->netns_fd, F_DUPFD_CLOEXEC, 3)
                         : -1;
    core->served_cookie_exact = cfg->netns_cookie != 0;
    /* UDP: a connected host UDP socket can still sendto() other
     * addresses, and an IP_PKTINFO control message picks a datagram's
     * interface past the interface lock (devlock.c), so it may reach
     * anything the host can: only bypass it when neither host loopback
     * nor --bypass-ignore keeps something from the bypass. */
    core->udp = !cfg->disable_host_loopback &&
                (cfg->ignore == NULL || cfg->ignore->len == 0);
    /* A reconnected host socket (peerlock.c) can only reach more than the
     * slirp path when the policy keeps something from the bypass that the
     * host can reach: host loopback, or --bypass-ignore CIDRs.  Only then is
     * the lock worth its ~14 us (a filter JIT-compiled per socket). */
    core->peer_lock = cfg->disable_host_loopback ||
                      (cfg->ignore != NULL && cfg->ignore->len > 0);
    core->has_outbound4 = cfg->has_outbound_addr;
    core->outbound4 = cfg->outbound_addr;
    core->has_outbound6 = cfg->has_outbound_addr6;
    core->outbound6 = cfg->outbound_addr6;
    max_pending = PB_MAX_PENDING;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        max_pending = CLAMP(rl.rlim_cur / 4, 16, PB_MAX_PENDING);
    core->pendings = pb_pendings_new(max_pending);
    core->procs = pb_procs_new(core->proc_fd, core->ctx);
    core->defaults = pb_sock_defaults_new();
    g_queue_init(&core->notifies);
    core->loopback_ok = !cfg->disable_host_loopback;
    core->host_cookie = sb_netns_cookie_of_self();
    if (core->host_cookie != 0) {
        g_autoptr(GError) rerr = NULL;

        core->routes = pb_routes_new(
            core->ctx,
            cfg->has_outbound_addr ? &cfg->outbound_addr.sin_addr : NULL,
            cfg->has_outbound_addr6 ? &cfg->outbound_addr6.sin6_addr : NULL,
            &rerr);
        if (core->routes == NULL) {
            /* without the interface lock an injected socket could be
             * re-aimed (devlock.c): no bypass at all */
            core->disabled = TRUE;
            pb_log("%s: bypass disabled, every call goes the slirp path",
                   rerr->message);
        }
    } else {
        core->disabled = TRUE;
        pb_log("SO_NETNS_COOKIE unavailable (Linux < 5.14): bypass "
               "disabled, every call goes the slirp path");
    }
    if (cfg->route_query > STDERR_FILENO &&
        cfg->route_monitor > STDERR_FILENO && cfg->tap_ifindex > 0) {
        g_autoptr(GError) rerr = NULL;
        int q = fcntl(cfg->route_query, F_DUPFD_CLOEXEC, 3);
        int m = fcntl(cfg->route_monitor, F_DUPFD_CLOEXEC, 3);

        /* (the container's routes: no outbound source address applies) */
        if (q >= 0 && m >= 0)
            core->served_routes =
                pb_routes_new_from(core->ctx, q, m, NULL, NULL, &rerr);
        else if (q >= 0 || m >= 0)
            close(q >= 0 ? q : m);
        if (core->served_routes == NULL)
            pb_log("the container's routes cannot be read (%s): every "
                   "destination the policy allows is bypassed",
                   rerr ? rerr->message : g_strerror(errno));
        core->tap_ifindex = cfg->tap_ifindex;
    }
    core->handoffs = pb_handoffs_new(core, cfg->ports);
    return agent;
}

/**
 * pb_agent_listen:
 * @agent: an agent
 * @path: the listener socket path (created 0600; a stale socket file is
 *        replaced, a live one or a non-socket is an error)
 * @error: PB_ERROR_* naming @path
 *
 * Returns: TRUE once listening.
 */
gboolean
pb_agent_listen(PbAgent *agent, const char *path, GError **error)
{
    if (agent->listener != NULL) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "bypass socket %s: already listening", path);
        return FALSE;
    }
    agent->listener =
        pb_listener_new(path, agent->core.ctx, on_notify_fd, agent, error);
    if (agent->listener == NULL)
        return FALSE;
    pb_listener_set_notification(agent->listener, on_notification, agent);
    return TRUE;
}

/**
 * pb_agent_register:
 * @agent: an agent
 * @path: the per-user agent's socket (`slirpbypass agent`)
 * @exe: (nullable): the slirpbypass executable, to start that agent if
 *       none answers (NULL: do not)
 * @error: PB_ERROR_SYSTEM naming @path
 *
 * Registers the served network namespace with the per-user agent, which
 * then passes on the notify fds of its processes (register.c).
 *
 * Returns: TRUE once registered.
 */
gboolean
pb_agent_register(PbAgent *agent, const char *path, const char *exe,
                  GError **error)
{
    if (agent->registrar != NULL) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "agent %s: already registered", path);
        return FALSE;
    }
    agent->registrar = pb_registrar_start(&agent->core, path, exe, on_notify_fd,
                                          on_notification, agent, error);
    return agent->registrar != NULL;
}

/**
 * pb_agent_port_removed:
 * @agent: an agent
 * @id: the port table entry that was removed
 * @held: (transfer full): libslirp's socket of it, still bound, or -1
 *
 * Stops the bypass sockets that served it (handoff.c).
 */
void
pb_agent_port_removed(PbAgent *agent, guint id, int held)
{
    pb_handoff_removed(agent->core.handoffs, id, held);
}

/**
 * pb_agent_port_flush:
 * @agent: an agent
 *
 * Lets go of the ports of removed entries whose bypass sockets are gone
 * (the table is about to bind one of them again).
 */
void
pb_agent_port_flush(PbAgent *agent)
{
    pb_handoff_flush(agent->core.handoffs);
}

/**
 * pb_agent_port_bypassed:
 * @agent: an agent
 * @id: a port table entry
 *
 * Returns: TRUE while a bypass socket serves entry @id.
 */
gboolean
pb_agent_port_bypassed(PbAgent *agent, guint id)
{
    return pb_handoff_served(agent->core.handoffs, id);
}

/**
 * pb_agent_free:
 * @agent: (nullable): an agent
 *
 * Closes every notify fd (the container's trapped calls then fail with
 * ENOSYS, which is why this only happens at exit), the listener (and
 * unlinks its socket file), and every cached fd.
 */
void
pb_agent_free(PbAgent *agent)
{
    PbCore *core;
    PbNotify *n;

    if (agent == NULL)
        return;
    core = &agent->core;
    pb_listener_free(agent->listener);
    while ((n = g_queue_peek_head(&core->notifies)) != NULL)
        pb_notify_destroy(n);
    /* after the waits were answered: the agent then serves the fds */
    pb_registrar_free(agent->registrar);
    pb_handoffs_free(core->handoffs);
    pb_pendings_free(core->pendings);
    pb_procs_free(core->procs);
    pb_routes_free(core->routes);
    pb_routes_free(core->served_routes);
    pb_sock_defaults_free(core->defaults);
    pb_policy_free(core->policy);
    if (core->netns_fd >= 0)
        close(core->netns_fd);
    if (core->own_proc_fd)
        close(core->proc_fd);
    if (core->ctx)
        g_main_context_unref(core->ctx);
    g_free(agent);
}
