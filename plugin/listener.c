/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * listener.c: the OCI seccomp agent socket (runtime-spec "listenerPath").
 *
 * Theory of operation.  A runtime (runc >= 1.1, crun >= 1.6) or
 * `slirpbypass exec` connects to the AF_UNIX stream socket and sends one
 * ContainerProcessState as JSON, with the seccomp notify fd in SCM_RIGHTS
 * and named by "fds".  runc sends compact JSON in one sendmsg and never
 * closes its end while its init blocks; crun sends pretty-printed JSON;
 * the JSON may arrive in several reads, with the fds only in the first.
 * So the fd is served as soon as one complete JSON value has arrived
 * (pb_json_value_end() tracks nesting and strings), never waiting for EOF;
 * the agent then closes its end (`slirpbypass exec` waits for that EOF).
 *
 * Two more kinds of message share the socket, told apart by their
 * "slirpbypass" member (pb_message_kind()): a helper's registration with
 * the per-user agent (dispatch.c, register.c), and a notification that a
 * plugin's runtime received and forwards with its notify fd
 * (notification.c).  The latter is the one message answered: "taken" or
 * "continue", so that its sender knows whether it must answer the
 * notification itself.
 *
 * Every connection is non-blocking on the main loop and bounded: 64 KiB
 * of JSON, 16 fds, an idle timeout, at most PB_MAX_CONNS at once (fewer
 * under a low RLIMIT_NOFILE).  A new connection beyond that closes the
 * oldest one that has sent nothing yet (a client whose message is on its
 * way is never closed for another), so that idle clients, however many
 * and however often they reconnect, never keep a runtime or `slirpbypass
 * exec` from being served.  A real client is idle only between its
 * connect() and its message (exec loads its filter in between, a few ms):
 * only PB_MAX_CONNS newer connections in that time can evict it, i.e. a
 * flood by a process of the same user (the socket is 0600), which could
 * as well kill the helper.  If every connection is sending, the new one
 * is refused.
 * Out of fds, accepting pauses for PB_ACCEPT_PAUSE_MS, logged once per
 * episode.  A bad
 * message (malformed JSON, no or two "seccompFd", fewer fds than named,
 * fds after the first data, an fd that is not a seccomp notify fd) closes
 * the connection and every fd that came with it, with one log line.
 * Extra fds beyond the named ones are closed.  Each exec brings a new
 * connection and a new notify fd.
 *
 * The socket file is created with mode 0600 (umask), replaces a stale
 * socket file (nobody accepting) but never a live one or a non-socket,
 * and is unlinked at exit through a dirfd of its parent kept from bind
 * time, since after --enable-sandbox's pivot_root the path is gone.
 */
#include "agent_internal.h"

#include <glib-unix.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stddef.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#define PB_MAX_CONNS 1024
#define PB_MAX_FDS 16
#define PB_CONN_TIMEOUT_S 10
#define PB_JSON_MAX_DEPTH 64

/* How long accepting stops after EMFILE and friends. */
#define PB_ACCEPT_PAUSE_MS 100

struct PbListener {
    GMainContext *ctx;
    int fd;
    GSource *accept_src;
    int dirfd;
    char *base;
    char *path;
    dev_t dev;
    ino_t ino;
    PbListenerFunc func;
    gpointer data;
    PbRegisterFunc reg_func; /* NULL: registrations are rejected */
    gpointer reg_data;
    PbNotificationFunc note_func; /* NULL: notifications are refused */
    gpointer note_data;
    gboolean adopted; /* socket-activated: the file is not ours to unlink */
    GQueue conns;     /* PbConn * */
    guint max_conns;  /* PB_MAX_CONNS, or less under RLIMIT_NOFILE */
    gboolean accept_failing; /* logged the current accept() failure */
    gint64 evict_logged_us;  /* last "closing the oldest" line */
};

typedef struct {
    PbListener *l;
    int fd;
    GSource *io;
    GSource *timeout;
    GByteArray *buf;
    GArray *fds; /* int */
} PbConn;

/* ---- message parsing (pure, unit-tested) ---- */

/**
 * pb_json_value_end:
 * @buf: bytes received so far
 * @len: their number
 *
 * Finds the end of the JSON object at the start of @buf by matching
 * brackets outside strings (the parser proper checks everything else).
 *
 * Returns: the length up to and including the object's closing brace, 0
 * if more bytes are needed, -1 if this cannot be the expected object (it
 * does not start with '{', a bracket does not match, or it nests deeper
 * than 64).
 */
gssize
pb_json_value_end(const char *buf, gsize len)
{
    gsize i = 0;
    guint depth = 0;
    guint64 brackets = 0; /* bit d: the opener at depth d+1 was '[' */
    gboolean in_string = FALSE, escape = FALSE;

    while (i < len && g_ascii_isspace(buf[i]))
        i++;
    if (i == len)
        return 0;
    if (buf[i] != '{')
        return -1;
    for (; i < len; i++) {
        char ch = buf[i];

        if (in_string) {
            if (escape)
                escape = FALSE;
            else if (ch == '\\')
                escape = TRUE;
            else if (ch == '"')
                in_string = FALSE;
            continue;
        }
        switch (ch) {
        case '"':
            in_string = TRUE;
            break;
        case '{':
        case '[':
            if (depth == PB_JSON_MAX_DEPTH)
                return -1;
            if (ch == '[')
                brackets |= G_GUINT64_CONSTANT(1) << depth;
            else
                brackets &= ~(G_GUINT64_CONSTANT(1) << depth);
            depth++;
            break;
        case '}':
        case ']':
            if (depth == 0)
                return -1;
            depth--;
            if (((brackets >> depth) & 1) != (ch == ']'))
                return -1; /* mismatched */
            if (depth == 0)
                return (gssize)(i + 1);
            break;
        default:
            break;
        }
    }
    return 0;
}

/**
 * pb_process_state_clear:
 * @st: a state filled by pb_process_state_parse()
 */
void
pb_process_state_clear(PbProcessState *st)
{
    g_clear_pointer(&st->id, g_free);
    g_clear_pointer(&st->json, g_free);
}

/**
 * pb_process_state_parse:
 * @json: one JSON object (not NUL-terminated)
 * @len: its length
 * @nfds_rcvd: how many fds arrived with it
 * @st: (out): what the agent needs; clear with pb_process_state_clear()
 * @error: PB_ERROR_INVALID with a one-line reason
 *
 * Requires "ociVersion" (string), "fds" (array of strings naming
 * "seccompFd" exactly once) and at least as many fds received as named.
 * "pid" (0 unless a positive integer) and "state"."id" are kept for logs
 * only: crun 1.8's `exec` sends no usable "pid".
 *
 * Returns: TRUE if valid.
 */
gboolean
pb_process_state_parse(const char *json, gsize len, guint nfds_rcvd,
                       PbProcessState *st, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(GError) local = NULL;
    JsonNode *root, *node;
    JsonObject *obj;
    JsonArray *fds;
    guint found = 0;
    gboolean has_netns = FALSE;

    memset(st, 0, sizeof *st);
    st->netns_index = G_MAXUINT;
    st->netns_fd = -1;
    if (!json_parser_load_from_data(parser, json, (gssize)len, &local)) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "container process state: malformed JSON: %s",
                    local->message);
        return FALSE;
    }
    root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "container process state: not a JSON object");
        return FALSE;
    }
    obj = json_node_get_object(root);
    node = json_object_get_member(obj, "ociVersion");
    if (node == NULL || json_node_get_value_type(node) != G_TYPE_STRING) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "container process state: no \"ociVersion\" string");
        return FALSE;
    }
    /* "pid" is only logged: crun 1.8 `exec` sends no usable one */
    node = json_object_get_member(obj, "pid");
    if (node && json_node_get_value_type(node) == G_TYPE_INT64 &&
        json_node_get_int(node) > 0 && json_node_get_int(node) <= G_MAXINT)
        st->pid = json_node_get_int(node);
    node = json_object_get_member(obj, "fds");
    if (node == NULL || !JSON_NODE_HOLDS_ARRAY(node)) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "container process state: no \"fds\" array");
        return FALSE;
    }
    fds = json_node_get_array(node);
    st->nfds = json_array_get_length(fds);
    for (guint i = 0; i < st->nfds; i++) {
        JsonNode *e = json_array_get_element(fds, i);

        if (json_node_get_value_type(e) != G_TYPE_STRING) {
            g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                        "container process state: \"fds\"[%u] is not a "
                        "string",
                        i);
            return FALSE;
        }
        if (g_strcmp0(json_node_get_string(e), "seccompFd") == 0) {
            st->seccomp_index = i;
            found++;
        } else if (g_strcmp0(json_node_get_string(e), "slirpbypassNetns") ==
                       0 &&
                   !has_netns) {
            st->netns_index = i;
            has_netns = TRUE;
        }
    }
    if (found != 1) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "container process state: \"fds\" names \"seccompFd\" "
                    "%u times",
                    found);
        return FALSE;
    }
    if (nfds_rcvd < st->nfds) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "container process state: \"fds\" names %u fds but %u "
                    "arrived",
                    st->nfds, nfds_rcvd);
        return FALSE;
    }
    node = json_object_get_member(obj, "slirpbypassPassive");
    st->passive = node != NULL &&
                  json_node_get_value_type(node) == G_TYPE_BOOLEAN &&
                  json_node_get_boolean(node);
    node = json_object_get_member(obj, "state");
    if (node && JSON_NODE_HOLDS_OBJECT(node)) {
        JsonObject *state = json_node_get_object(node);
        JsonNode *id = json_object_get_member(state, "id");

        if (id && json_node_get_value_type(id) == G_TYPE_STRING) {
            /* logged: no control characters (forged log lines) */
            st->id = g_strdup(json_node_get_string(id));
            for (char *p = st->id; *p != '\0'; p++)
                if ((guchar)*p < 0x20 || *p == 0x7f)
                    *p = '?';
        }
    }
    return TRUE;
}

/**
 * pb_message_kind:
 * @json: one JSON object (not NUL-terminated)
 * @len: its length
 *
 * Tells the messages on the agent socket apart by their "slirpbypass"
 * member: none (a runtime's ContainerProcessState, also when @json is
 * not valid JSON: its parser says why), "register" or "notification".
 *
 * Returns: the kind; PB_MESSAGE_UNKNOWN for another "slirpbypass" value.
 */
PbMessageKind
pb_message_kind(const char *json, gsize len)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    JsonNode *root, *node;

    if (!json_parser_load_from_data(parser, json, (gssize)len, NULL))
        return PB_MESSAGE_STATE;
    root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root))
        return PB_MESSAGE_STATE;
    node = json_object_get_member(json_node_get_object(root), "slirpbypass");
    if (node == NULL)
        return PB_MESSAGE_STATE;
    if (json_node_get_value_type(node) == G_TYPE_STRING) {
        if (g_strcmp0(json_node_get_string(node), "register") == 0)
            return PB_MESSAGE_REGISTER;
        if (g_strcmp0(json_node_get_string(node), "notification") == 0)
            return PB_MESSAGE_NOTIFICATION;
    }
    return PB_MESSAGE_UNKNOWN;
}

/*
 * get_uint: member @name of @obj as a non-negative integer.
 */
static gboolean
get_uint(JsonObject *obj, const char *name, guint64 *out, GError **error)
{
    JsonNode *node = json_object_get_member(obj, name);

    if (node == NULL || json_node_get_value_type(node) != G_TYPE_INT64 ||
        json_node_get_int(node) < 0) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "registration: no \"%s\" non-negative integer", name);
        return FALSE;
    }
    *out = (guint64)json_node_get_int(node);
    return TRUE;
}

/**
 * pb_registration_parse:
 * @json: one JSON object (not NUL-terminated)
 * @len: its length
 * @nfds_rcvd: how many fds arrived with it
 * @reg: (out): the registration
 * @error: PB_ERROR_INVALID with a one-line reason
 *
 * Requires {"slirpbypass":"register","version":1,"netnsDev":N,
 * "netnsIno":N,"fds":["channel","netns"]} and exactly two fds (checked
 * by the caller: a SOCK_SEQPACKET socket, and the namespace claimed).
 *
 * Returns: TRUE if valid.
 */
gboolean
pb_registration_parse(const char *json, gsize len, guint nfds_rcvd,
                      PbRegistration *reg, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(GError) local = NULL;
    JsonNode *root, *node;
    JsonObject *obj;
    JsonArray *fds;
    guint64 v;

    memset(reg, 0, sizeof *reg);
    if (!json_parser_load_from_data(parser, json, (gssize)len, &local)) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "registration: malformed JSON: %s", local->message);
        return FALSE;
    }
    root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "registration: not a JSON object");
        return FALSE;
    }
    obj = json_node_get_object(root);
    node = json_object_get_member(obj, "slirpbypass");
    if (node == NULL || json_node_get_value_type(node) != G_TYPE_STRING ||
        g_strcmp0(json_node_get_string(node), "register") != 0) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "registration: \"slirpbypass\" is not \"register\"");
        return FALSE;
    }
    if (!get_uint(obj, "version", &v, error))
        return FALSE;
    if (v != PB_REGISTRATION_VERSION) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "registration: version %" G_GUINT64_FORMAT
                    " (this agent speaks %d)",
                    v, PB_REGISTRATION_VERSION);
        return FALSE;
    }
    reg->version = (guint)v;
    if (!get_uint(obj, "netnsDev", &v, error))
        return FALSE;
    reg->netns_dev = (dev_t)v;
    if (!get_uint(obj, "netnsIno", &v, error))
        return FALSE;
    reg->netns_ino = (ino_t)v;
    node = json_object_get_member(obj, "fds");
    if (node == NULL || !JSON_NODE_HOLDS_ARRAY(node) ||
        json_array_get_length(fds = json_node_get_array(node)) != 2 ||
        json_node_get_value_type(json_array_get_element(fds, 0)) !=
            G_TYPE_STRING ||
        json_node_get_value_type(json_array_get_element(fds, 1)) !=
            G_TYPE_STRING ||
        g_strcmp0(json_array_get_string_element(fds, 0), "channel") != 0 ||
        g_strcmp0(json_array_get_string_element(fds, 1), "netns") != 0) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "registration: \"fds\" is not [\"channel\",\"netns\"]");
        return FALSE;
    }
    if (nfds_rcvd != 2) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "registration: %u fds arrived, 2 expected", nfds_rcvd);
        return FALSE;
    }
    return TRUE;
}

/* ---- connections ---- */

/*
 * conn_free: close the connection and every fd it still holds.
 */
static void
conn_free(PbConn *c)
{
    g_queue_remove(&c->l->conns, c);
    if (c->io) {
        g_source_destroy(c->io);
        g_source_unref(c->io);
    }
    if (c->timeout) {
        g_source_destroy(c->timeout);
        g_source_unref(c->timeout);
    }
    for (guint i = 0; i < c->fds->len; i++)
        if (g_array_index(c->fds, int, i) >= 0)
            close(g_array_index(c->fds, int, i));
    g_array_unref(c->fds);
    g_byte_array_unref(c->buf);
    close(c->fd);
    g_free(c);
}

/*
 * conn_reject: log why, then drop the connection and its fds.
 */
static void
conn_reject(PbConn *c, const char *why)
{
    g_autoptr(JsonBuilder) b = json_builder_new_immutable();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *reply = NULL;

    pb_log("%s: rejected a connection: %s", c->l->path, why);
    /* tell the client (`slirpbypass exec` reads it; runtimes ignore it):
     * a closed connection alone would look like success */
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "slirpbypass");
    json_builder_add_string_value(b, "refused");
    json_builder_set_member_name(b, "reason");
    json_builder_add_string_value(b, why);
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    reply = json_generator_to_data(gen, NULL);
    (void)!send(c->fd, reply, strlen(reply), MSG_DONTWAIT | MSG_NOSIGNAL);
    conn_free(c);
}

/*
 * peer_pid: the connected peer's pid in our pid namespace (SO_PEERCRED),
 * 0 if unknown.
 */
static gint64
peer_pid(int fd)
{
    struct ucred cred;
    socklen_t cl = sizeof cred;

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0)
        return 0;
    return cred.pid;
}

/*
 * netns_proves: is @fd a network namespace, the one @reg claims?  A
 * namespace can only be opened with ptrace access to a process in it, or
 * through a bind mount of it the client can see (/run/netns, podman's
 * $XDG_RUNTIME_DIR/netns): this keeps a client that merely reaches the
 * socket (a container process that shares the host's files, e.g. a
 * rootlesskit child) from registering for another container's namespace
 * by its numbers alone and receiving its seccomp fds.
 */
static gboolean
netns_proves(int fd, const PbRegistration *reg, GError **error)
{
    struct stat st;

    if (!pb_netns_of_fd(fd, &st) || st.st_dev != reg->netns_dev ||
        st.st_ino != reg->netns_ino) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "registration: the \"netns\" fd is not the network "
                    "namespace claimed");
        return FALSE;
    }
    return TRUE;
}

/*
 * conn_register: a helper's registration (dispatch.c) has arrived: check
 * it and hand its channel on.
 */
static void
conn_register(PbConn *c, gsize len)
{
    g_autoptr(GError) error = NULL;
    PbRegistration reg;
    int chan;

    if (!pb_registration_parse((const char *)c->buf->data, len, c->fds->len,
                               &reg, &error)) {
        conn_reject(c, error->message);
        return;
    }
    chan = g_array_index(c->fds, int, 0);
    if (!pb_channel_check(chan, &error) ||
        !netns_proves(g_array_index(c->fds, int, 1), &reg, &error)) {
        conn_reject(c, error->message);
        return;
    }
    g_array_remove_index(c->fds, 0);
    reg.peer_pid = peer_pid(c->fd);
    c->l->reg_func(chan, &reg, c->l->reg_data);
    conn_free(c);
}

/*
 * conn_notification: a forwarded notification (notification.c) has
 * arrived: check it, hand it on, and tell the sender whether it was taken
 * (it answers CONTINUE itself if not, so every path answers it).  The
 * answer fits any socket buffer: a non-blocking send never waits.
 */
static void
conn_notification(PbConn *c, gsize len)
{
    g_autoptr(GError) error = NULL;
    const char *answer = PB_NOTIFICATION_CONTINUE;
    PbNotification note;
    int nfd;

    if (c->l->note_func == NULL) {
        pb_debug("%s: a forwarded notification, not served here", c->l->path);
    } else if (!pb_notification_parse((const char *)c->buf->data, len,
                                      c->fds->len, &note, &error)) {
        pb_log("%s: rejected a notification: %s", c->l->path, error->message);
    } else if (!pb_is_notify_fd(g_array_index(c->fds, int, 0))) {
        pb_log("%s: rejected a notification: \"seccompFd\" is not a "
               "seccomp notify fd",
               c->l->path);
        pb_notification_clear(&note);
    } else {
        nfd = g_array_index(c->fds, int, 0);
        g_array_remove_index(c->fds, 0);
        note.peer_pid = peer_pid(c->fd);
        if (c->l->note_func(nfd, &note, c->l->note_data))
            answer = PB_NOTIFICATION_TAKEN;
        else
            close(nfd);
        pb_notification_clear(&note);
    }
    (void)send(c->fd, answer, strlen(answer), MSG_DONTWAIT | MSG_NOSIGNAL);
    conn_free(c);
}

/*
 * conn_complete: a whole JSON object of @len bytes has arrived: validate
 * it, hand the notify fd on, close the rest.
 */
static void
conn_complete(PbConn *c, gsize len)
{
    g_autoptr(GError) error = NULL;
    PbProcessState st;
    int nfd;

    switch (pb_message_kind((const char *)c->buf->data, len)) {
    case PB_MESSAGE_STATE:
        break;
    case PB_MESSAGE_REGISTER:
        if (c->l->reg_func == NULL) {
            conn_reject(c, "registrations are not served here");
            return;
        }
        conn_register(c, len);
        return;
    case PB_MESSAGE_NOTIFICATION:
        conn_notification(c, len);
        return;
    case PB_MESSAGE_UNKNOWN:
    default:
        conn_reject(c, "unknown \"slirpbypass\" message");
        return;
    }
    if (!pb_process_state_parse((const char *)c->buf->data, len, c->fds->len,
                                &st, &error)) {
        conn_reject(c, error->message);
        return;
    }
    nfd = g_array_index(c->fds, int, st.seccomp_index);
    if (!pb_is_notify_fd(nfd)) {
        pb_process_state_clear(&st);
        conn_reject(c, "\"seccompFd\" is not a seccomp notify fd");
        return;
    }
    /* the sender's own namespace, if it sent one (exec): valid during the
     * call only (the connection's fds are closed with it) */
    if (st.netns_index < st.nfds)
        st.netns_fd = g_array_index(c->fds, int, st.netns_index);
    g_array_index(c->fds, int, st.seccomp_index) = -1;
    st.json = g_strndup((const char *)c->buf->data, len);
    st.peer_pid = peer_pid(c->fd);
    c->l->func(nfd, &st, c->l->data);
    pb_process_state_clear(&st);
    conn_free(c);
}

/*
 * conn_read: one non-blocking recvmsg.
 * Returns: G_SOURCE_REMOVE once the connection is gone.
 */
static gboolean
conn_read(gint fd, GIOCondition cond, gpointer user_data)
{
    PbConn *c = user_data;
    char data[8192];
    union {
        char buf[CMSG_SPACE(PB_MAX_FDS * sizeof(int))];
        struct cmsghdr align;
    } ctrl;
    struct iovec iov = { .iov_base = data };
    struct msghdr msg = { 0 };
    struct cmsghdr *cm;
    gboolean had_data = c->buf->len > 0, late_fds = FALSE;
    gsize room = PB_LISTENER_MAX_MESSAGE + 1 - c->buf->len;
    ssize_t n;
    gssize end;

    iov.iov_len = MIN(sizeof data, room);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl.buf;
    msg.msg_controllen = sizeof ctrl.buf;
    n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return G_SOURCE_CONTINUE;
    /* take the fds first, so that every path below closes them */
    for (cm = CMSG_FIRSTHDR(&msg); n >= 0 && cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            guint k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            int *fds = (int *)CMSG_DATA(cm);

            for (guint i = 0; i < k; i++) {
                int one;

                memcpy(&one, &fds[i], sizeof one);
                g_array_append_val(c->fds, one);
            }
            if (had_data)
                late_fds = TRUE;
        }
    }
    if (n < 0) {
        g_autofree char *why =
            g_strdup_printf("recvmsg: %s", g_strerror(errno));
        conn_reject(c, why);
        return G_SOURCE_REMOVE;
    }
    if (msg.msg_flags & MSG_CTRUNC) {
        conn_reject(c, "too many fds");
        return G_SOURCE_REMOVE;
    }
    if (late_fds) {
        conn_reject(c, "fds after the first part of the message");
        return G_SOURCE_REMOVE;
    }
    if (n == 0) {
        if (c->buf->len == 0 && c->fds->len == 0) {
            /* connected and closed, nothing sent: another helper probing
             * whether this socket is live, or a client that gave up */
            pb_debug("%s: a connection closed without a message", c->l->path);
            conn_free(c);
        } else {
            conn_reject(c, "truncated JSON");
        }
        return G_SOURCE_REMOVE;
    }
    g_byte_array_append(c->buf, (const guint8 *)data, (guint)n);
    end = pb_json_value_end((const char *)c->buf->data, c->buf->len);
    if (end < 0) {
        conn_reject(c, "not a JSON object");
        return G_SOURCE_REMOVE;
    }
    if (end == 0) {
        if (c->buf->len > PB_LISTENER_MAX_MESSAGE) {
            conn_reject(c, "message larger than 64 KiB");
            return G_SOURCE_REMOVE;
        }
        return G_SOURCE_CONTINUE;
    }
    conn_complete(c, (gsize)end);
    return G_SOURCE_REMOVE;
}

/*
 * conn_timeout: the peer went quiet before completing its message.
 */
static gboolean
conn_timeout(gpointer user_data)
{
    PbConn *c = user_data;

    conn_reject(c, "timed out");
    return G_SOURCE_REMOVE;
}

static gboolean listener_accept(gint fd, GIOCondition cond, gpointer user_data);

/*
 * listener_watch: (re)arm the accept source of @l.
 */
static void
listener_watch(PbListener *l)
{
    if (l->accept_src) {
        g_source_destroy(l->accept_src);
        g_source_unref(l->accept_src);
    }
    l->accept_src = g_unix_fd_source_new(l->fd, G_IO_IN);
    g_source_set_callback(l->accept_src, G_SOURCE_FUNC(listener_accept), l,
                          NULL);
    g_source_attach(l->accept_src, l->ctx);
}

/* The pause is over: watch the listening socket again. */
static gboolean
listener_resume(gpointer user_data)
{
    listener_watch(user_data);
    return G_SOURCE_REMOVE;
}

/*
 * listener_pause: stop accepting for PB_ACCEPT_PAUSE_MS (out of fds); the
 * accept source is replaced by a timeout that re-arms it.
 */
static void
listener_pause(PbListener *l)
{
    g_source_destroy(l->accept_src);
    g_source_unref(l->accept_src);
    l->accept_src = g_timeout_source_new(PB_ACCEPT_PAUSE_MS);
    g_source_set_callback(l->accept_src, listener_resume, l, NULL);
    g_source_attach(l->accept_src, l->ctx);
}

/*
 * oldest_idle: the oldest connection that has sent nothing yet (nothing
 * read, nothing waiting in its socket), or NULL.
 */
static PbConn *
oldest_idle(PbListener *l)
{
    for (GList *it = l->conns.head; it != NULL; it = it->next) {
        PbConn *c = it->data;
        int pending = 0;

        if (c->buf->len == 0 && c->fds->len == 0 &&
            ioctl(c->fd, FIONREAD, &pending) == 0 && pending == 0)
            return c;
    }
    return NULL;
}

/*
 * listener_accept: accept every pending connection.
 */
static gboolean
listener_accept(gint fd, GIOCondition cond, gpointer user_data)
{
    PbListener *l = user_data;

    for (;;) {
        PbConn *c;
        int cfd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (cfd < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                break;
            /* EMFILE, ENFILE, ENOBUFS, ENOMEM: the socket stays readable,
             * so stop watching it for a moment instead of spinning. */
            if (!l->accept_failing)
                pb_log("%s: accept: %s (retrying every %d ms)", l->path,
                       g_strerror(errno), PB_ACCEPT_PAUSE_MS);
            l->accept_failing = TRUE;
            listener_pause(l);
            return G_SOURCE_REMOVE;
        }
        l->accept_failing = FALSE;
        if (g_queue_get_length(&l->conns) >= l->max_conns) {
            PbConn *idle = oldest_idle(l);
            gint64 now = g_get_monotonic_time();

            if (now - l->evict_logged_us >= G_USEC_PER_SEC) {
                pb_log("%s: %u connections at once; %s", l->path, l->max_conns,
                       idle ? "closing the oldest idle one"
                            : "refusing a new one (all are sending)");
                l->evict_logged_us = now;
            }
            if (idle == NULL) {
                close(cfd);
                continue;
            }
            conn_free(idle);
        }
        c = g_new0(PbConn, 1);
        c->l = l;
        c->fd = cfd;
        c->buf = g_byte_array_new();
        c->fds = g_array_new(FALSE, FALSE, sizeof(int));
        c->io = g_unix_fd_source_new(cfd, G_IO_IN | G_IO_HUP | G_IO_ERR);
        g_source_set_callback(c->io, G_SOURCE_FUNC(conn_read), c, NULL);
        g_source_attach(c->io, l->ctx);
        c->timeout = g_timeout_source_new_seconds(PB_CONN_TIMEOUT_S);
        g_source_set_callback(c->timeout, conn_timeout, c, NULL);
        g_source_attach(c->timeout, l->ctx);
        g_queue_push_tail(&l->conns, c);
    }
    return G_SOURCE_CONTINUE;
}

/*
 * listener_max_conns: PB_MAX_CONNS, fewer under a low RLIMIT_NOFILE (each
 * connection may hold an fd and up to PB_MAX_FDS received ones: most of
 * the fds are left to the rest of the process).
 */
static guint
listener_max_conns(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        return CLAMP(rl.rlim_cur / 8, 16, PB_MAX_CONNS);
    return PB_MAX_CONNS;
}

/*
 * replace_stale: make room for the socket at @base in @dirfd.  A stale
 * socket file (nobody accepting) is removed; a live one or a non-socket
 * is an error.
 */
static gboolean
replace_stale(PbListener *l, GError **error)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    struct stat st;
    int probe, r;

    if (fstatat(l->dirfd, l->base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return TRUE;
        g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM, "%s: %s", l->path,
                    g_strerror(errno));
        return FALSE;
    }
    if (!S_ISSOCK(st.st_mode)) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "%s: exists and is not a socket", l->path);
        return FALSE;
    }
    probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (probe < 0) {
        g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM, "socket: %s",
                    g_strerror(errno));
        return FALSE;
    }
    memcpy(sun.sun_path, l->path, strlen(l->path));
    r = connect(probe, (struct sockaddr *)&sun, sizeof sun);
    close(probe);
    if (r == 0 || errno == EAGAIN) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "%s: another agent is listening there", l->path);
        return FALSE;
    }
    if (unlinkat(l->dirfd, l->base, 0) < 0 && errno != ENOENT) {
        g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM, "unlink %s: %s", l->path,
                    g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

/**
 * pb_listener_new:
 * @path: the socket path (filesystem, shorter than sun_path)
 * @ctx: the main context
 * @func: called with each validated notify fd
 * @user_data: for @func
 * @error: PB_ERROR_INVALID/PB_ERROR_SYSTEM naming @path
 *
 * Returns: (transfer full) the listener, or NULL.
 */
PbListener *
pb_listener_new(const char *path, GMainContext *ctx, PbListenerFunc func,
                gpointer user_data, GError **error)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    g_autofree char *dir = NULL;
    PbListener *l;
    struct stat st;
    mode_t old;
    int r;

    if (path == NULL || *path == '\0' || strlen(path) >= sizeof sun.sun_path) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "bypass socket path %s: empty or too long",
                    path ? path : "");
        return NULL;
    }
    l = g_new0(PbListener, 1);
    l->ctx = ctx;
    l->max_conns = listener_max_conns();
    l->fd = -1;
    l->func = func;
    l->data = user_data;
    l->path = g_strdup(path);
    l->base = g_path_get_basename(path);
    g_queue_init(&l->conns);
    dir = g_path_get_dirname(path);
    l->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (l->dirfd < 0) {
        g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM, "%s: %s", dir,
                    g_strerror(errno));
        goto fail;
    }
    if (!replace_stale(l, error))
        goto fail;
    l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd < 0) {
        g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM, "socket: %s",
                    g_strerror(errno));
        goto fail;
    }
    memcpy(sun.sun_path, path, strlen(path));
    old = umask(0177);
    r = bind(l->fd, (struct sockaddr *)&sun, sizeof sun);
    umask(old);
    if (r < 0 || listen(l->fd, 64) < 0 ||
        fstatat(l->dirfd, l->base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM, "bind %s: %s", path,
                    g_strerror(errno));
        if (r == 0)
            unlinkat(l->dirfd, l->base, 0);
        goto fail;
    }
    l->dev = st.st_dev;
    l->ino = st.st_ino;
    listener_watch(l);
    return l;
fail:
    pb_listener_free(l);
    return NULL;
}

/**
 * pb_listener_adopt:
 * @fd: (transfer full): a listening AF_UNIX stream socket (systemd socket
 *      activation)
 * @ctx: the main context
 * @func: called with each validated notify fd
 * @user_data: for @func
 * @error: PB_ERROR_INVALID if @fd is not a listening unix stream socket
 *
 * Like pb_listener_new(), but the socket file belongs to whoever made it
 * and is never unlinked.
 *
 * Returns: (transfer full) the listener, or NULL (@fd closed).
 */
PbListener *
pb_listener_adopt(int fd, GMainContext *ctx, PbListenerFunc func,
                  gpointer user_data, GError **error)
{
    struct sockaddr_un sun = { 0 };
    socklen_t len = sizeof sun;
    int type = 0, acc = 0;
    socklen_t ol = sizeof type, al = sizeof acc;
    PbListener *l;

    if (getsockname(fd, (struct sockaddr *)&sun, &len) < 0 ||
        sun.sun_family != AF_UNIX ||
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &ol) < 0 ||
        type != SOCK_STREAM ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) < 0 || !acc) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "fd %d (socket activation): not a listening unix "
                    "stream socket",
                    fd);
        close(fd);
        return NULL;
    }
    l = g_new0(PbListener, 1);
    l->ctx = ctx;
    l->max_conns = listener_max_conns();
    l->fd = fd;
    l->dirfd = -1;
    l->adopted = TRUE;
    l->func = func;
    l->data = user_data;
    if (len > offsetof(struct sockaddr_un, sun_path) && sun.sun_path[0])
        l->path = g_strndup(sun.sun_path, sizeof sun.sun_path);
    else
        l->path = g_strdup_printf("fd %d", fd);
    l->base = g_path_get_basename(l->path);
    g_queue_init(&l->conns);
    (void)g_unix_set_fd_nonblocking(fd, TRUE, NULL);
    listener_watch(l);
    return l;
}

/**
 * pb_listener_set_register:
 * @l: a listener
 * @func: called with each helper registration (dispatch.c)
 * @user_data: for @func
 *
 * Without this, registrations are rejected like any bad message.
 */
void
pb_listener_set_register(PbListener *l, PbRegisterFunc func, gpointer user_data)
{
    l->reg_func = func;
    l->reg_data = user_data;
}

/**
 * pb_listener_set_notification:
 * @l: a listener
 * @func: called with each forwarded notification (dispatch.c, agent.c)
 * @user_data: for @func
 *
 * Without this, forwarded notifications are answered "continue": their
 * sender lets the call run (the slirp path).
 */
void
pb_listener_set_notification(PbListener *l, PbNotificationFunc func,
                             gpointer user_data)
{
    l->note_func = func;
    l->note_data = user_data;
}

/**
 * pb_listener_free:
 * @l: (nullable): a listener
 *
 * Closes the socket and every connection, and unlinks the socket file if
 * it is still the one this listener created.
 */
void
pb_listener_free(PbListener *l)
{
    PbConn *c;
    struct stat st;

    if (l == NULL)
        return;
    while ((c = g_queue_peek_head(&l->conns)) != NULL)
        conn_free(c);
    if (l->accept_src) {
        g_source_destroy(l->accept_src);
        g_source_unref(l->accept_src);
    }
    if (l->fd >= 0) {
        close(l->fd);
        if (!l->adopted &&
            fstatat(l->dirfd, l->base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            st.st_dev == l->dev && st.st_ino == l->ino)
            unlinkat(l->dirfd, l->base, 0);
    }
    if (l->dirfd >= 0)
        close(l->dirfd);
    g_free(l->base);
    g_free(l->path);
    g_free(l);
}
