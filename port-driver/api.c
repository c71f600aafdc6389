/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * api.c: the slirp4netns-compatible API socket, served asynchronously.
 *
 * Theory of operation: slirp4netns serves its API inside the packet loop
 * with a blocking accept() and a blocking read(): one silent client
 * freezes all networking.  Here the listening socket and every client are
 * non-blocking fds watched by GSources on the caller's GMainContext, so
 * the loop never waits for a client:
 *
 *   accept -> READING: bytes accumulate in a 4 KiB buffer; after each read
 *             the scanner (api_scan.c) says whether the first JSON value is
 *             complete.  A request therefore may arrive in any number of
 *             writes and needs no SHUT_WR; EOF also completes it.
 *          -> WRITING: the reply (api_commands.c) is sent with
 *             non-blocking send(); a partial send waits for G_IO_OUT.
 *          -> LINGERING: shutdown(SHUT_WR) tells the client the reply is
 *             complete; its remaining input is read and discarded until
 *             its EOF, so that close() does not turn into a reset.
 *          -> closed: one request per connection and no trailing newline,
 *             as slirp4netns.
 *
 * Limits keep a misbehaving client from costing more than a few KiB and
 * one fd: PD_API_MAX_REQUEST bytes (the too-large error, as slirp4netns
 * answers a 4096-byte read), PD_API_TIMEOUT_SEC from accept to the end of
 * the reply (then the connection is closed without a reply), and
 * PD_API_MAX_CLIENTS at once: a new client beyond that closes the oldest
 * one (without a reply), so that idle or slow clients, however many and
 * however often they reconnect, never keep a real one waiting; a client
 * sends its request at once and is done in milliseconds, so only a flood
 * of PD_API_MAX_CLIENTS newer connections during its exchange can evict
 * it.  If accept() runs out of fds, the listener is paused briefly rather
 * than spinning on a readable socket it cannot drain (logged once per
 * episode).
 *
 * The socket file is unlinked at pd_api_free() through a directory fd
 * opened at bind time (main may have pivot_root'ed into the sandbox by
 * then), and only if the file is still the one we bound.
 */
#include "port_driver.h"
#include "pd_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define ACCEPT_BURST 32          /* accepts per wakeup, for fairness */
#define ACCEPT_PAUSE_MS 100      /* after EMFILE and friends */
#define LINGER_MAX_DISCARD 65536 /* request bytes drained after the reply */

typedef struct PdApiClient PdApiClient;

struct PdApi {
    PdTable *table;
    GMainContext *ctx;
    int fd;              /* listening socket */
    GSource *listen_src; /* NULL while paused or at the client cap */
    GSource *pause_src;  /* re-arms the listener after EMFILE */
    GQueue clients;      /* PdApiClient * */
    int dir_fd;          /* O_PATH fd of the socket file's directory */
    char *base;          /* the socket file's name in dir_fd */
    dev_t dev;           /* identity of the file we bound */
    ino_t ino;
    guint timeout_ms;  /* PD_API_TIMEOUT_SEC unless overridden */
    guint max_clients; /* PD_API_MAX_CLIENTS unless overridden */
    int sndbuf;        /* SO_SNDBUF for clients; 0: default */
    gboolean have_info;
    gboolean accept_failing; /* logged the current accept() failure */
    gint64 evict_logged_us;  /* last "closed the oldest" line */
    PdApiInfo info;
    char *version; /* owned copy of info.version */
};

struct PdApiClient {
    PdApi *api;
    int fd;
    GSource *io; /* G_IO_IN while reading, G_IO_OUT writing */
    GSource *timeout;
    GList *link; /* in api->clients */
    gsize len;
    char buf[PD_API_MAX_REQUEST];
    char *reply;
    gsize reply_len;
    gsize reply_off;
    gsize discarded; /* bytes drained after the reply */
};

static void listener_arm(PdApi *api);
static void client_linger(PdApiClient *c);

/* Destroys and unrefs *src if set. */
static void
source_clear(GSource **src)
{
    if (*src != NULL) {
        g_source_destroy(*src);
        g_source_unref(*src);
        *src = NULL;
    }
}

/* Closes the connection and frees the client; re-arms the listener if the
 * cap had paused it. */
static void
client_free(PdApiClient *c)
{
    PdApi *api = c->api;

    source_clear(&c->io);
    source_clear(&c->timeout);
    if (c->fd >= 0) {
        shutdown(c->fd, SHUT_RDWR);
        close(c->fd);
    }
    g_queue_delete_link(&api->clients, c->link);
    g_free(c->reply);
    g_free(c);
    listener_arm(api);
}

static gboolean
on_client_linger(gint fd, GIOCondition cond, gpointer data)
{
    PdApiClient *c = data;
    char sink[1024];

    (void)cond;
    for (;;) {
        ssize_t n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return G_SOURCE_CONTINUE;
        if (n > 0 && (c->discarded += (gsize)n) <= LINGER_MAX_DISCARD)
            continue;
        break; /* EOF, error, or a client that will not stop talking */
    }
    client_free(c);
    return G_SOURCE_CONTINUE; /* already destroyed by client_free */
}

/* The reply is out.  Closing now with unread request bytes (say, a newline
 * sent in a separate write after the JSON) would make the kernel reset the
 * connection, and a client reading until EOF (rootlesskit's ReadAll) would
 * see ECONNRESET after the reply.  So: send EOF, discard whatever the
 * client still sends until its EOF (bounded by the timeout and
 * LINGER_MAX_DISCARD), then close. */
static void
client_linger(PdApiClient *c)
{
    source_clear(&c->io);
    shutdown(c->fd, SHUT_WR);
    c->io = g_unix_fd_source_new(c->fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(c->io, G_SOURCE_FUNC(on_client_linger), c, NULL);
    g_source_attach(c->io, c->api->ctx);
}

/* Sends what is left of the reply.  Returns FALSE if it must wait for
 * G_IO_OUT; TRUE when done (the client then lingers, see above) or
 * failed (the client is freed). */
static gboolean
client_write(PdApiClient *c)
{
    while (c->reply_off < c->reply_len) {
        ssize_t n =
            send(c->fd, c->reply + c->reply_off, c->reply_len - c->reply_off,
                 MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return FALSE; /* wait for G_IO_OUT */
        if (n <= 0) {
            g_debug("api: client went away before the reply: %s",
                    g_strerror(errno));
            break;
        }
        c->reply_off += (gsize)n;
    }
    if (c->reply_off < c->reply_len)
        client_free(c);
    else
        client_linger(c);
    return TRUE;
}

static gboolean
on_client_writable(gint fd, GIOCondition cond, gpointer data)
{
    PdApiClient *c = data;

    (void)fd;
    (void)cond;
    /* client_write frees c (and its source) when done; otherwise keep
     * waiting for G_IO_OUT. */
    client_write(c);
    return G_SOURCE_CONTINUE;
}

/* The request is complete (or hopeless): compute the reply and send it. */
static void
client_reply(PdApiClient *c, char *reply)
{
    PdApi *api = c->api;

    source_clear(&c->io);
    c->reply = reply;
    c->reply_len = strlen(reply);
    c->reply_off = 0;
    if (client_write(c))
        return;
    c->io = g_unix_fd_source_new(c->fd, G_IO_OUT);
    g_source_set_callback(c->io, G_SOURCE_FUNC(on_client_writable), c, NULL);
    g_source_attach(c->io, api->ctx);
}

/* Handles the bytes buffered so far; eof if the client half-closed.  The
 * first JSON value must end within the first PD_API_MAX_REQUEST - 1
 * bytes: slirp4netns answers "too large" when its one read() fills 4096
 * bytes, so a 4095-byte request is the largest that works with both. */
static void
client_process(PdApiClient *c, gboolean eof)
{
    PdApi *api = c->api;
    const gsize limit = sizeof(c->buf) - 1;
    gsize end = 0;

    switch (pd_json_scan(c->buf, MIN(c->len, limit), eof && c->len <= limit,
                         &end)) {
    case PD_SCAN_COMPLETE:
        client_reply(c, pd_api_handle_request(
                            api->table, api->have_info ? &api->info : NULL,
                            c->buf, end));
        return;
    case PD_SCAN_INVALID:
        client_reply(c, pd_api_error_reply("bad request: cannot parse JSON"));
        return;
    case PD_SCAN_INCOMPLETE:
        break;
    }
    if (c->len >= limit || eof) {
        g_message("api: request too large (>= %d bytes)", PD_API_MAX_REQUEST);
        client_reply(c, pd_api_error_reply("bad request: too large message"));
    }
}

static gboolean
on_client_readable(gint fd, GIOCondition cond, gpointer data)
{
    PdApiClient *c = data;
    ssize_t n;

    (void)cond;
    n = recv(fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            return G_SOURCE_CONTINUE;
        g_debug("api: read failed: %s", g_strerror(errno));
        client_free(c);
        return G_SOURCE_CONTINUE; /* source already destroyed */
    }
    c->len += (gsize)n;
    /* client_process may replace c->io (and so destroy this source). */
    client_process(c, n == 0);
    return G_SOURCE_CONTINUE;
}

static gboolean
on_client_timeout(gpointer data)
{
    PdApiClient *c = data;

    g_message("api: client not done within %u ms; closing it",
              c->api->timeout_ms);
    client_free(c);
    return G_SOURCE_REMOVE;
}

static void
client_new(PdApi *api, int fd)
{
    PdApiClient *c = g_new0(PdApiClient, 1);

    c->api = api;
    c->fd = fd;
    g_queue_push_tail(&api->clients, c);
    c->link = g_queue_peek_tail_link(&api->clients);
    c->io = g_unix_fd_source_new(fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(c->io, G_SOURCE_FUNC(on_client_readable), c, NULL);
    g_source_attach(c->io, api->ctx);
    if (api->sndbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &api->sndbuf,
                   sizeof(api->sndbuf));
    c->timeout = g_timeout_source_new(api->timeout_ms);
    g_source_set_callback(c->timeout, on_client_timeout, c, NULL);
    g_source_attach(c->timeout, api->ctx);
}

static gboolean
on_pause_over(gpointer data)
{
    PdApi *api = data;

    g_source_unref(api->pause_src);
    api->pause_src = NULL;
    listener_arm(api);
    return G_SOURCE_REMOVE;
}

/* At the client cap: close the oldest client to make room (see the theory
 * of operation), with one log line per second at most. */
static void
evict_oldest(PdApi *api)
{
    PdApiClient *old = g_queue_peek_head(&api->clients);
    gint64 now = g_get_monotonic_time();

    if (old == NULL)
        return;
    if (now - api->evict_logged_us >= G_USEC_PER_SEC) {
        g_message("api: %u clients at once; closing the oldest",
                  api->clients.length);
        api->evict_logged_us = now;
    }
    client_free(old);
}

static gboolean
on_listener_readable(gint fd, GIOCondition cond, gpointer data)
{
    PdApi *api = data;

    (void)cond;
    for (int i = 0; i < ACCEPT_BURST; i++) {
        int cfd;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd >= 0) {
            api->accept_failing = FALSE;
            if (api->clients.length >= api->max_clients)
                evict_oldest(api);
            client_new(api, cfd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        /* EMFILE, ENFILE, ENOBUFS, ENOMEM: the socket stays readable, so
         * stop watching it for a moment instead of spinning. */
        if (!api->accept_failing)
            g_message("api: accept failed: %s (retrying every %d ms)",
                      g_strerror(errno), ACCEPT_PAUSE_MS);
        api->accept_failing = TRUE;
        source_clear(&api->listen_src);
        api->pause_src = g_timeout_source_new(ACCEPT_PAUSE_MS);
        g_source_set_callback(api->pause_src, on_pause_over, api, NULL);
        g_source_attach(api->pause_src, api->ctx);
        return G_SOURCE_REMOVE;
    }
    listener_arm(api);
    return G_SOURCE_CONTINUE;
}

/* Watches the listening socket unless paused. */
static void
listener_arm(PdApi *api)
{
    gboolean want = api->fd >= 0 && api->pause_src == NULL;

    if (want && api->listen_src == NULL) {
        api->listen_src = g_unix_fd_source_new(api->fd, G_IO_IN);
        g_source_set_callback(api->listen_src,
                              G_SOURCE_FUNC(on_listener_readable), api, NULL);
        g_source_attach(api->listen_src, api->ctx);
    } else if (!want && api->listen_src != NULL) {
        source_clear(&api->listen_src);
    }
}

/**
 * pd_api_new:
 * @t: the table requests act on (not owned; must outlive the PdApi)
 * @path: the socket path (< 108 bytes)
 * @ctx: (nullable): the main context to serve on (NULL: the default one)
 * @error: PD_ERROR_INVALID: the path is too long or empty, or a system
 *   call failed (the message names the call's purpose, the path and the
 *   strerror text)
 *
 * Removes a stale socket file at path (only a socket: any other file is
 * left alone and bind fails), binds, listens and starts serving.
 *
 * Returns: (transfer full): the API, or NULL.
 */
PdApi *
pd_api_new(PdTable *t, const char *path, GMainContext *ctx, GError **error)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    g_autofree char *dir = NULL;
    PdApi *api = NULL;
    struct stat st;
    int saved;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        g_set_error(error, PD_ERROR, PD_ERROR_INVALID,
                    "the specified API socket path is too long (>= %zu)",
                    sizeof(sa.sun_path));
        goto fail;
    }
    if (path[0] == '\0') {
        g_set_error(error, PD_ERROR, PD_ERROR_INVALID,
                    "the API socket path is empty");
        goto fail;
    }
    api = g_new0(PdApi, 1);
    api->table = t;
    api->ctx = ctx != NULL ? g_main_context_ref(ctx)
                           : g_main_context_ref(g_main_context_default());
    api->fd = -1;
    api->dir_fd = -1;
    api->timeout_ms = PD_API_TIMEOUT_SEC * 1000;
    api->max_clients = PD_API_MAX_CLIENTS;
    g_queue_init(&api->clients);
    dir = g_path_get_dirname(path);
    api->base = g_path_get_basename(path);
    api->dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (api->dir_fd < 0) {
        saved = errno;
        g_set_error(error, PD_ERROR, PD_ERROR_INVALID,
                    "cannot open the directory of API socket %s: %s", path,
                    g_strerror(saved));
        goto fail;
    }
    if (fstatat(api->dir_fd, api->base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISSOCK(st.st_mode))
        unlinkat(api->dir_fd, api->base, 0); /* stale, as slirp4netns */
    api->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (api->fd < 0) {
        saved = errno;
        g_set_error(error, PD_ERROR, PD_ERROR_INVALID,
                    "cannot create API socket: %s", g_strerror(saved));
        goto fail;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (bind(api->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        saved = errno;
        g_set_error(error, PD_ERROR, PD_ERROR_INVALID,
                    "cannot bind API socket %s: %s", path, g_strerror(saved));
        close(api->fd);
        api->fd = -1; /* the file is not ours: do not unlink it */
        goto fail;
    }
    if (fstatat(api->dir_fd, api->base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        api->dev = st.st_dev;
        api->ino = st.st_ino;
    }
    /* A deep backlog: beyond the client cap, clients wait here. */
    if (listen(api->fd, SOMAXCONN) < 0) {
        saved = errno;
        g_set_error(error, PD_ERROR, PD_ERROR_INVALID,
                    "cannot listen on API socket %s: %s", path,
                    g_strerror(saved));
        goto fail;
    }
    listener_arm(api);
    return api;
fail:
    pd_api_free(api);
    return NULL;
}

/**
 * pd_api_free:
 * @api: (nullable): the API
 *
 * Closes all clients (without replies) and the listener, and unlinks the
 * socket file if it is still the one bound by pd_api_new().
 */
void
pd_api_free(PdApi *api)
{
    struct stat st;

    if (api == NULL)
        return;
    source_clear(&api->pause_src);
    /* Clear the listener first so client_free does not re-arm it. */
    if (api->fd >= 0) {
        close(api->fd);
        api->fd = -1;
        if (api->dir_fd >= 0 &&
            fstatat(api->dir_fd, api->base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISSOCK(st.st_mode) && st.st_dev == api->dev &&
            st.st_ino == api->ino)
            unlinkat(api->dir_fd, api->base, 0);
    }
    source_clear(&api->listen_src);
    while (api->clients.head != NULL)
        client_free(api->clients.head->data);
    if (api->dir_fd >= 0)
        close(api->dir_fd);
    g_main_context_unref(api->ctx);
    g_free(api->base);
    g_free(api->version);
    g_free(api);
}

/**
 * pd_api_set_info:
 * @api: the API
 * @info: the facts "info" reports (copied, version string included)
 */
void
pd_api_set_info(PdApi *api, const PdApiInfo *info)
{
    g_free(api->version);
    api->info = *info;
    api->version = g_strdup(info->version);
    api->info.version = api->version;
    api->have_info = TRUE;
}

/**
 * pd_api_set_limits:
 * @api: the API
 * @timeout_ms: per-connection time limit for new clients
 * @max_clients: clients served at once (>= 1)
 * @sndbuf: SO_SNDBUF for new clients, 0 for the kernel default
 *
 * For the unit tests (pd_internal.h): small limits make the timeout, the
 * cap and partial writes quick to exercise.
 */
void
pd_api_set_limits(PdApi *api, guint timeout_ms, guint max_clients, int sndbuf)
{
    api->timeout_ms = timeout_ms;
    api->max_clients = MAX(max_clients, 1);
    api->sndbuf = sndbuf;
    listener_arm(api);
}
