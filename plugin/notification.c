/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * notification.c: forwarded notifications (PbNotification), the message
 * a seccomp notify plugin sends for each notification its runtime
 * received.
 *
 * Theory of operation.  crun's plugins (run.oci.seccomp.plugins) live in
 * crun's wait loop: crun itself calls SECCOMP_IOCTL_NOTIF_RECV and hands
 * each notification to the plugin.  Our plugin (plugin/crun-plugin/)
 * forwards it, with the notify fd, to the agent socket; the dispatcher
 * (dispatch.c) passes it on to the helper serving the caller's network
 * namespace over the channel, and the helper answers it exactly like one
 * it received itself (notify.c: pb_notify_handle()).  Any holder of a
 * notify fd may answer a received notification by its id.
 *
 * Such an fd is "passive": crun reads it, so nobody else may.  A second
 * reader would race crun for notifications; crun's RECV, having lost,
 * blocks until the next notification arrives, and if none does (the
 * caller exits) crun never reaps its container: a deadlock.  So the
 * dispatcher and the helper hold passive fds only to answer, watch them
 * for HUP only, and mark them "slirpbypassPassive" when they pass them on
 * as a ContainerProcessState (channel.c, deposits).
 *
 * The message is {"slirpbypass":"notification","version":1,"pid":N,
 * "id":"ctr","req":"<hex>","fds":["seccompFd"]} with the fd.  "req" is the
 * struct seccomp_notif as the kernel filled it (host byte order: sender
 * and receiver share the host), "pid" repeats its pid (it must match),
 * "id" is optional.  The pid is the caller's in the sender's pid
 * namespace: it is only used when the sender shares ours
 * (pb_pidns_shared()).  The agent answers the sender PB_NOTIFICATION_TAKEN
 * or PB_NOTIFICATION_CONTINUE (listener.c).
 */
#include "agent_internal.h"

#include <string.h>
#include <sys/stat.h>

/**
 * pb_notification_clear:
 * @note: a notification filled by pb_notification_parse()
 */
void
pb_notification_clear(PbNotification *note)
{
    g_clear_pointer(&note->id, g_free);
}

/*
 * hex_decode: decode exactly 2 * @len hex digits of @hex into @out.
 * Returns: FALSE if @hex has another length or a non-hex character.
 */
static gboolean
hex_decode(const char *hex, guint8 *out, gsize len)
{
    if (strlen(hex) != 2 * len)
        return FALSE;
    for (gsize i = 0; i < len; i++) {
        int hi = g_ascii_xdigit_value(hex[2 * i]);
        int lo = g_ascii_xdigit_value(hex[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return FALSE;
        out[i] = (guint8)(hi << 4 | lo);
    }
    return TRUE;
}

/**
 * pb_notification_parse:
 * @json: one JSON object (not NUL-terminated)
 * @len: its length
 * @nfds_rcvd: how many fds arrived with it (exactly one is required)
 * @note: (out): the notification; clear with pb_notification_clear()
 * @error: PB_ERROR_INVALID with a one-line reason
 *
 * Returns: TRUE if valid.
 */
gboolean
pb_notification_parse(const char *json, gsize len, guint nfds_rcvd,
                      PbNotification *note, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(GError) local = NULL;
    JsonNode *root, *node;
    JsonObject *obj;
    JsonArray *fds;

    memset(note, 0, sizeof *note);
    if (!json_parser_load_from_data(parser, json, (gssize)len, &local)) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "notification: malformed JSON: %s", local->message);
        return FALSE;
    }
    root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "notification: not a JSON object");
        return FALSE;
    }
    obj = json_node_get_object(root);
    if (g_strcmp0(json_object_get_string_member_with_default(obj, "slirpbypass",
                                                             NULL),
                  "notification") != 0) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "notification: \"slirpbypass\" is not \"notification\"");
        return FALSE;
    }
    node = json_object_get_member(obj, "version");
    if (node == NULL || json_node_get_value_type(node) != G_TYPE_INT64 ||
        json_node_get_int(node) != PB_NOTIFICATION_VERSION) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "notification: \"version\" is not %d",
                    PB_NOTIFICATION_VERSION);
        return FALSE;
    }
    node = json_object_get_member(obj, "pid");
    if (node == NULL || json_node_get_value_type(node) != G_TYPE_INT64 ||
        json_node_get_int(node) <= 0 || json_node_get_int(node) > G_MAXINT) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "notification: no positive \"pid\"");
        return FALSE;
    }
    note->pid = json_node_get_int(node);
    node = json_object_get_member(obj, "req");
    if (node == NULL || json_node_get_value_type(node) != G_TYPE_STRING ||
        !hex_decode(json_node_get_string(node), (guint8 *)&note->req,
                    sizeof note->req)) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "notification: \"req\" is not %zu hex bytes",
                    sizeof note->req);
        return FALSE;
    }
    if ((gint64)note->req.pid != note->pid) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "notification: \"pid\" %" G_GINT64_FORMAT
                    " is not the request's %u",
                    note->pid, note->req.pid);
        return FALSE;
    }
    node = json_object_get_member(obj, "fds");
    if (node == NULL || !JSON_NODE_HOLDS_ARRAY(node) ||
        json_array_get_length(fds = json_node_get_array(node)) != 1 ||
        json_node_get_value_type(json_array_get_element(fds, 0)) !=
            G_TYPE_STRING ||
        g_strcmp0(json_array_get_string_element(fds, 0), "seccompFd") != 0) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "notification: \"fds\" is not [\"seccompFd\"]");
        return FALSE;
    }
    if (nfds_rcvd != 1) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "notification: %u fds arrived, 1 expected", nfds_rcvd);
        return FALSE;
    }
    node = json_object_get_member(obj, "id");
    if (node != NULL && json_node_get_value_type(node) == G_TYPE_STRING)
        note->id = g_strdup(json_node_get_string(node));
    return TRUE;
}

/**
 * pb_notification_json:
 * @req: the notification, as NOTIF_RECV filled it
 * @id: (nullable): the container id
 *
 * Returns: (transfer full): the compact message (without the fd).
 */
char *
pb_notification_json(const struct seccomp_notif *req, const char *id)
{
    g_autoptr(JsonBuilder) b = json_builder_new_immutable();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    g_autoptr(GString) hex = g_string_sized_new(2 * sizeof *req + 1);
    const guint8 *p = (const guint8 *)req;

    for (gsize i = 0; i < sizeof *req; i++)
        g_string_append_printf(hex, "%02x", p[i]);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "slirpbypass");
    json_builder_add_string_value(b, "notification");
    json_builder_set_member_name(b, "version");
    json_builder_add_int_value(b, PB_NOTIFICATION_VERSION);
    json_builder_set_member_name(b, "pid");
    json_builder_add_int_value(b, req->pid);
    if (id != NULL) {
        json_builder_set_member_name(b, "id");
        json_builder_add_string_value(b, id);
    }
    json_builder_set_member_name(b, "req");
    json_builder_add_string_value(b, hex->str);
    json_builder_set_member_name(b, "fds");
    json_builder_begin_array(b);
    json_builder_add_string_value(b, "seccompFd");
    json_builder_end_array(b);
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    return json_generator_to_data(gen, NULL);
}

/**
 * pb_pidns_shared:
 * @pid: a process, in our pid namespace (SO_PEERCRED gives that)
 *
 * Returns: TRUE if it lives in our pid namespace; FALSE if not or if that
 * cannot be told (gone, or /proc/PID/ns/pid not ours to stat).
 */
gboolean
pb_pidns_shared(gint64 pid)
{
    g_autofree char *path = NULL;
    struct stat self, other;

    if (pid <= 0 || stat("/proc/self/ns/pid", &self) < 0)
        return FALSE;
    path = g_strdup_printf("/proc/%" G_GINT64_FORMAT "/ns/pid", pid);
    if (stat(path, &other) < 0)
        return FALSE;
    return self.st_dev == other.st_dev && self.st_ino == other.st_ino;
}
