/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * register.c: a helper's registration with `slirpbypass agent`
 * (PbRegistrar; the agent side is dispatch.c).
 *
 * Theory of operation.  With bypass=true the helper does not listen on a
 * socket of its own: it registers with the per-user agent, which owns the
 * one listenerPath every container's profile names, and receives from it
 * the notify fds of the processes in the network namespace it serves.
 *
 * Start-up (pb_registrar_start, before the main loop runs):
 *   1. connect to the agent's socket.  If nobody answers (no file, or a
 *      stale one), start `slirpbypass agent --socket PATH` detached (its
 *      own session, stdio to agent.log beside the socket) and retry for up
 *      to PB_SPAWN_WAIT_MS: it works without systemd;
 *   2. send {"slirpbypass":"register","version":1,"netnsDev","netnsIno",
 *      "fds":["channel","netns"]} with one end of a SOCK_SEQPACKET
 *      socketpair and an fd on the served namespace: only a process that
 *      can open a namespace (ptrace access to a process in it) can
 *      register for it, so a container process that reaches the socket
 *      cannot claim another container's namespace and its seccomp fds;
 *   3. wait (bounded) for {"slirpbypass":"registered"} on the channel, or
 *      "refused" (another helper serves the namespace): an error.
 * Then each message on the channel is a ContainerProcessState with one
 * notify fd, validated like the listener's and handed to the agent core,
 * or a forwarded notification with its notify fd (notification.c: a
 * plugin's runtime received it; the dispatcher checked that its pid means
 * the same here), handed to the core to answer.
 *
 * If the channel closes (the agent was restarted or killed), the helper
 * keeps serving what it has and retries every PB_RETRY_MS on the main
 * loop, without blocking it.  On success it passes a copy of every notify
 * fd it serves to the new agent (a "deposit"), so that the agent again
 * holds them should the helper die.  The reconnect goes through a
 * directory fd kept from start-up, so it still works after
 * --enable-sandbox's pivot_root; no agent is started from inside the
 * sandbox (systemd's socket unit, or the next helper, does that).
 */
#include "agent_internal.h"

#include <glib-unix.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define PB_SPAWN_WAIT_MS 3000
#define PB_REPLY_WAIT_MS 3000
#define PB_RETRY_MS 1000

struct PbRegistrar {
    PbCore *core;
    PbRegistrarFunc func;
    PbNotificationFunc note_func;
    gpointer data;
    char *path;
    char *base;
    int dirfd; /* the socket's directory, for reconnects */
    int chan;
    gboolean registered; /* the agent said "registered" on @chan */
    GSource *io;
    GSource *retry;
    gboolean lost_logged;
};

static void registrar_retry_arm(PbRegistrar *r);

/*
 * connect_at: connect a new stream socket to @base in directory @dirfd
 * (fchdir there and back: AF_UNIX has no connectat).
 * Returns: the socket, or -errno.
 */
static int
connect_at(int dirfd, const char *base)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int s, cwd, r, err = 0;

    if (strlen(base) >= sizeof sun.sun_path)
        return -ENAMETOOLONG;
    memcpy(sun.sun_path, base, strlen(base));
    cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (cwd < 0)
        return -errno;
    /* non-blocking: an agent whose backlog is full (or that stopped
     * accepting) gives EAGAIN at once instead of a sleep in connect() */
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0) {
        err = errno;
        close(cwd);
        return -err;
    }
    if (fchdir(dirfd) < 0) {
        err = errno;
    } else {
        r = connect(s, (struct sockaddr *)&sun, sizeof sun);
        if (r < 0)
            err = errno;
        (void)!fchdir(cwd);
    }
    close(cwd);
    if (err != 0) {
        close(s);
        return -err;
    }
    return s;
}

/*
 * spawn_agent: start `@exe agent --socket @path` in its own session,
 * detached (double fork), stdio to @path's directory/agent.log.
 */
static void
spawn_agent(const char *exe, const char *path)
{
    pid_t pid = fork();

    if (pid < 0) {
        pb_log("starting the agent: fork: %s", g_strerror(errno));
        return;
    }
    if (pid == 0) {
        g_autofree char *dir = g_path_get_dirname(path);
        g_autofree char *log = g_build_filename(dir, "agent.log", NULL);
        char *argv[] = { (char *)"slirpbypass", (char *)"agent",
                         (char *)"--socket", (char *)path, NULL };
        sigset_t none;
        int fd;

        struct stat st;

        if (setsid() < 0 || fork() != 0)
            _exit(0);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* nothing of the helper's place: no cwd, no socket activation */
        (void)!chdir("/");
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_FDNAMES");
        fd = open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            dup2(fd, 0);
            close(fd);
        }
        /* appended (an earlier agent's lines stay), never through a
         * symlink, only a regular file of ours */
        fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
                  0600);
        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
            st.st_uid == geteuid()) {
            dup2(fd, 1);
            dup2(fd, 2);
        } else {
            fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
        }
        syscall(SYS_close_range, 3U, ~0U, 0U);
        execv(exe, argv);
        _exit(127);
    }
    (void)waitpid(pid, NULL, 0);
}

/*
 * connect_or_spawn: connect to the agent @base in @dirfd; if nobody
 * answers and @exe is not NULL, start `@exe agent --socket @path` and
 * retry for up to PB_SPAWN_WAIT_MS.
 * Returns: the connected socket, or -errno.
 */
static int
connect_or_spawn(int dirfd, const char *base, const char *exe, const char *path)
{
    gint64 deadline;
    int s = connect_at(dirfd, base);

    if (s >= 0 || exe == NULL || (s != -ENOENT && s != -ECONNREFUSED))
        return s;
    spawn_agent(exe, path);
    deadline = g_get_monotonic_time() + PB_SPAWN_WAIT_MS * 1000;
    while ((s = connect_at(dirfd, base)) < 0 &&
           g_get_monotonic_time() < deadline)
        g_usleep(10 * 1000);
    return s;
}

/**
 * pb_agent_ensure:
 * @path: the per-user agent's socket
 * @exe: the slirpbypass executable
 * @error: PB_ERROR_SYSTEM naming @path
 *
 * Start the agent unless one answers on @path.  The helper calls this
 * before it joins a user namespace (--enable-sandbox): an agent started
 * later would run inside that namespace, with its capabilities, and keep
 * it alive after the helper.
 *
 * Returns: TRUE if an agent answers now.
 */
gboolean
pb_agent_ensure(const char *path, const char *exe, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int s;

    if (dirfd < 0) {
        g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM, "agent %s: %s: %s", path,
                    dir, g_strerror(errno));
        return FALSE;
    }
    s = connect_or_spawn(dirfd, base, exe, path);
    close(dirfd);
    if (s < 0) {
        g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM,
                    "agent %s: connect: %s (and starting one did not help)",
                    path, g_strerror(-s));
        return FALSE;
    }
    close(s); /* the agent takes an empty connection as a probe */
    return TRUE;
}

/*
 * send_registration: open a channel on the stream socket @s.
 * Returns: our end of the channel, or -errno.
 */
static int
send_registration(PbRegistrar *r, int s)
{
    g_autofree char *json = g_strdup_printf(
        "{\"slirpbypass\":\"register\",\"version\":%d,\"netnsDev\":"
        "%" G_GUINT64_FORMAT ",\"netnsIno\":%" G_GUINT64_FORMAT
        ",\"fds\":[\"channel\",\"netns\"]}",
        PB_REGISTRATION_VERSION, (guint64)r->core->netns_dev,
        (guint64)r->core->netns_ino);
    int sp[2], err, fds[2];

    if (r->core->netns_fd < 0)
        return -EBADF;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
        return -errno;
    fds[0] = sp[1];
    fds[1] = r->core->netns_fd;
    err = pb_channel_send_fds(s, json, fds, 2);
    close(sp[1]);
    if (err < 0) {
        close(sp[0]);
        return err;
    }
    return sp[0];
}

/*
 * deposit_all: pass a copy of every notify fd served to the (new) agent.
 */
static void
deposit_all(PbRegistrar *r)
{
    guint n = 0;

    for (GList *l = r->core->notifies.head; l != NULL; l = l->next) {
        g_autofree char *json = pb_notify_state_json(l->data);

        if (pb_channel_send(r->chan, json, pb_notify_get_fd(l->data)) == 0)
            n++;
    }
    if (n > 0)
        pb_log("agent %s: passed it copies of %u notify fd%s", r->path, n,
               n == 1 ? "" : "s");
}

/*
 * handle_reply: the agent's answer to the registration.
 * Returns: TRUE if registered; FALSE with @error naming the reason.
 */
static gboolean
handle_reply(PbRegistrar *r, const char *msg, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    JsonObject *obj;
    const char *what, *why;

    if (!json_parser_load_from_data(parser, msg, -1, NULL) ||
        !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
        g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM,
                    "agent %s: a malformed answer", r->path);
        return FALSE;
    }
    obj = json_node_get_object(json_parser_get_root(parser));
    what = json_object_get_string_member_with_default(obj, "slirpbypass", "");
    if (g_strcmp0(what, "registered") == 0)
        return TRUE;
    why = json_object_get_string_member_with_default(obj, "reason", what);
    g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM, "agent %s: refused: %s",
                r->path, why);
    return FALSE;
}

/*
 * channel_lost: the agent is gone: keep serving, retry later.
 */
static void
channel_lost(PbRegistrar *r)
{
    if (r->io) {
        g_source_destroy(r->io);
        g_clear_pointer(&r->io, g_source_unref);
    }
    if (r->chan >= 0)
        close(r->chan);
    r->chan = -1;
    if (!r->lost_logged)
        pb_log("agent %s: connection lost; serving what is here and "
               "reconnecting every %d ms",
               r->path, PB_RETRY_MS);
    r->lost_logged = TRUE;
    r->registered = FALSE;
    registrar_retry_arm(r);
}

/*
 * channel_notification: a forwarded notification from the agent; hand it
 * to the core, or answer it CONTINUE if it is malformed (the agent took
 * it from its sender, so nobody else will answer it; a message that does
 * not parse has no id to answer, which only a broken agent sends).
 */
static void
channel_notification(PbRegistrar *r, const char *buf, gsize len, int nfd)
{
    g_autoptr(GError) error = NULL;
    PbNotification note;

    if (!pb_notification_parse(buf, len, 1, &note, &error) ||
        !pb_is_notify_fd(nfd)) {
        pb_log("agent %s: bad notification: %s", r->path,
               error ? error->message : "not a seccomp notify fd");
        if (error == NULL)
            pb_notification_clear(&note);
        close(nfd);
        return;
    }
    if (!r->note_func(nfd, &note, r->data)) {
        (void)pb_notif_continue(nfd, note.req.id);
        close(nfd);
    }
    pb_notification_clear(&note);
}

/*
 * channel_read: the agent's messages: the registration answer first, then
 * notify fds.
 */
static gboolean
channel_read(gint fd, GIOCondition cond, gpointer user_data)
{
    PbRegistrar *r = user_data;
    g_autofree char *buf = g_malloc(PB_LISTENER_MAX_MESSAGE + 1);

    for (guint i = 0; i < 64; i++) {
        g_autoptr(GError) error = NULL;
        PbProcessState st;
        int nfd;
        gssize n = pb_channel_recv(fd, buf, PB_LISTENER_MAX_MESSAGE + 1, &nfd);

        if (n == -EAGAIN && !(cond & (G_IO_HUP | G_IO_ERR)))
            return G_SOURCE_CONTINUE;
        if (n == -EMSGSIZE)
            continue;
        if (n <= 0)
            goto lost;
        if (!r->registered) {
            if (nfd >= 0)
                close(nfd);
            if (!handle_reply(r, buf, &error)) {
                pb_log("%s", error->message);
                goto lost;
            }
            r->registered = TRUE;
            r->lost_logged = FALSE;
            pb_log("agent %s: registered again", r->path);
            deposit_all(r);
            continue;
        }
        if (nfd < 0)
            continue;
        if (pb_message_kind(buf, (gsize)n) == PB_MESSAGE_NOTIFICATION) {
            channel_notification(r, buf, (gsize)n, nfd);
            continue;
        }
        if (!pb_passed_fd_parse(buf, (gsize)n, nfd, &st, &error)) {
            pb_log("agent %s: bad message: %s", r->path, error->message);
            close(nfd);
            continue;
        }
        r->func(nfd, &st, r->data);
        pb_process_state_clear(&st);
    }
    return G_SOURCE_CONTINUE;

lost:
    g_clear_pointer(&r->io, g_source_unref); /* removed by returning */
    channel_lost(r);
    return G_SOURCE_REMOVE;
}

/*
 * channel_watch: serve @r->chan on the main loop.
 */
static void
channel_watch(PbRegistrar *r)
{
    r->io = g_unix_fd_source_new(r->chan, G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(r->io, G_SOURCE_FUNC(channel_read), r, NULL);
    g_source_attach(r->io, r->core->ctx);
}

/*
 * registrar_retry: one reconnect attempt (main loop, never blocks long:
 * connecting to a unix socket does not wait, and the answer is read by
 * channel_read()).
 */
static gboolean
registrar_retry(gpointer user_data)
{
    PbRegistrar *r = user_data;
    int s = connect_at(r->dirfd, r->base);

    if (s < 0)
        return G_SOURCE_CONTINUE;
    r->chan = send_registration(r, s);
    close(s);
    if (r->chan < 0) {
        r->chan = -1;
        return G_SOURCE_CONTINUE;
    }
    (void)g_unix_set_fd_nonblocking(r->chan, TRUE, NULL);
    channel_watch(r);
    g_clear_pointer(&r->retry, g_source_unref); /* removed by returning */
    return G_SOURCE_REMOVE;
}

/*
 * registrar_retry_arm: retry every PB_RETRY_MS until connected.
 */
static void
registrar_retry_arm(PbRegistrar *r)
{
    if (r->retry != NULL)
        return;
    r->retry = g_timeout_source_new(PB_RETRY_MS);
    g_source_set_callback(r->retry, registrar_retry, r, NULL);
    g_source_attach(r->retry, r->core->ctx);
}

/**
 * pb_registrar_start:
 * @core: the agent core (its netns and main context)
 * @path: the agent's socket
 * @exe: (nullable): the slirpbypass executable, to start the agent when
 *       none answers; NULL: never start it
 * @func: called with each notify fd the agent passes on
 * @note_func: called with each notification the agent passes on (with a
 *             notify fd it owns; FALSE: the registrar answers CONTINUE)
 * @data: for @func and @note_func
 * @error: PB_ERROR_* naming @path
 *
 * Blocks for at most a few seconds (start-up only).
 *
 * Returns: (transfer full) the registrar, registered; or NULL.
 */
PbRegistrar *
pb_registrar_start(PbCore *core, const char *path, const char *exe,
                   PbRegistrarFunc func, PbNotificationFunc note_func,
                   gpointer data, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *buf = NULL;
    PbRegistrar *r = g_new0(PbRegistrar, 1);
    struct pollfd pfd;
    gssize n;
    int s, nfd = -1;

    r->core = core;
    r->func = func;
    r->note_func = note_func;
    r->data = data;
    r->chan = -1;
    r->path = g_strdup(path);
    r->base = g_path_get_basename(path);
    r->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (r->dirfd < 0) {
        g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM, "agent %s: %s: %s", path,
                    dir, g_strerror(errno));
        goto fail;
    }
    s = connect_or_spawn(r->dirfd, r->base, exe, path);
    if (s < 0) {
        g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM, "agent %s: connect: %s%s",
                    path, g_strerror(-s),
                    exe ? " (and starting one did not help)" : "");
        goto fail;
    }
    r->chan = send_registration(r, s);
    close(s);
    if (r->chan < 0) {
        g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM, "agent %s: send: %s",
                    path, g_strerror(-r->chan));
        r->chan = -1;
        goto fail;
    }
    pfd.fd = r->chan;
    pfd.events = POLLIN;
    if (poll(&pfd, 1, PB_REPLY_WAIT_MS) != 1) {
        g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM,
                    "agent %s: no answer within %d ms (is it a slirpbypass "
                    "agent?)",
                    path, PB_REPLY_WAIT_MS);
        goto fail;
    }
    buf = g_malloc(PB_LISTENER_MAX_MESSAGE + 1);
    n = pb_channel_recv(r->chan, buf, PB_LISTENER_MAX_MESSAGE + 1, &nfd);
    if (nfd >= 0)
        close(nfd);
    if (n <= 0) {
        g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM,
                    "agent %s: closed without an answer", path);
        goto fail;
    }
    if (!handle_reply(r, buf, error))
        goto fail;
    r->registered = TRUE;
    (void)g_unix_set_fd_nonblocking(r->chan, TRUE, NULL);
    channel_watch(r);
    pb_log("registered with the agent %s", path);
    return r;

fail:
    pb_registrar_free(r);
    return NULL;
}

/**
 * pb_registrar_free:
 * @r: (nullable): a registrar
 *
 * Closes the channel: the agent takes this as the deregistration.
 */
void
pb_registrar_free(PbRegistrar *r)
{
    if (r == NULL)
        return;
    if (r->io) {
        g_source_destroy(r->io);
        g_source_unref(r->io);
    }
    if (r->retry) {
        g_source_destroy(r->retry);
        g_source_unref(r->retry);
    }
    if (r->chan >= 0)
        close(r->chan);
    if (r->dirfd >= 0)
        close(r->dirfd);
    g_free(r->path);
    g_free(r->base);
    g_free(r);
}
