/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * api_commands.c: one API request in, one reply out.
 *
 * Theory of operation: this is the part of the API socket that knows
 * JSON; it does no I/O, so the unit tests can drive it directly.  The
 * compatible commands (add_hostfwd, list_hostfwd, remove_hostfwd) answer
 * with exactly the bytes slirp4netns 1.2 writes, including its quirks:
 * list_hostfwd has no "return" wrapper, errors are
 * {"error":{"desc":"bad request: ..."}} with slirp4netns's texts, and the
 * fields are checked in slirp4netns's order so the first bad field named
 * is the same.  Where slirp4netns crashes or silently misbehaves (a
 * missing proto, port 70000, 80.9) we answer with the error for that
 * field instead; the reasons are logged on stderr, since the compatible
 * reply text cannot carry them.  Extension commands (info,
 * list_hostfwd_ex) use the QMP-style {"return":...} wrapper throughout.
 *
 * Replies are built with JsonBuilder and written by a compact
 * JsonGenerator: json-glib keeps member insertion order, which gives
 * slirp4netns's key order.
 */
#include "port_driver.h"
#include "pd_internal.h"

#include <arpa/inet.h>
#include <json-glib/json-glib.h>
#include <string.h>

#define BAD "bad request: "

/**
 * pd_api_error_reply:
 * @desc: the error text
 *
 * Returns: (transfer full): {"error":{"desc":DESC}}
 */
char *
pd_api_error_reply(const char *desc)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) g = json_generator_new();
    g_autoptr(JsonNode) root = NULL;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "error");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "desc");
    json_builder_add_string_value(b, desc);
    json_builder_end_object(b);
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    json_generator_set_root(g, root);
    return json_generator_to_data(g, NULL);
}

/* Serialises the builder's root compactly. */
static char *
reply_from(JsonBuilder *b)
{
    g_autoptr(JsonGenerator) g = json_generator_new();
    g_autoptr(JsonNode) root = json_builder_get_root(b);

    json_generator_set_root(g, root);
    return json_generator_to_data(g, NULL);
}

/* The member name of obj, or NULL if obj is NULL or lacks it. */
static JsonNode *
member(JsonObject *obj, const char *name)
{
    if (obj == NULL || !json_object_has_member(obj, name))
        return NULL;
    return json_object_get_member(obj, name);
}

/* A string member: *out is NULL when absent or null (meaning "default");
 * FALSE when present with another type. */
static gboolean
get_opt_string(JsonObject *obj, const char *name, const char **out)
{
    JsonNode *n = member(obj, name);

    *out = NULL;
    if (n == NULL || JSON_NODE_HOLDS_NULL(n))
        return TRUE;
    if (!JSON_NODE_HOLDS_VALUE(n) ||
        json_node_get_value_type(n) != G_TYPE_STRING)
        return FALSE;
    *out = json_node_get_string(n);
    return TRUE;
}

/* An integral JSON number in [min, max]. */
static gboolean
get_int(JsonObject *obj, const char *name, gint64 min, gint64 max, gint64 *out)
{
    JsonNode *n = member(obj, name);
    GType type;

    if (n == NULL || !JSON_NODE_HOLDS_VALUE(n))
        return FALSE;
    type = json_node_get_value_type(n);
    if (type == G_TYPE_INT64) {
        *out = json_node_get_int(n);
    } else if (type == G_TYPE_DOUBLE) {
        double d = json_node_get_double(n);

        /* 80.9 is not a port (slirp4netns would use 80). */
        if (!(d >= (double)min && d <= (double)max) || (double)(gint64)d != d)
            return FALSE;
        *out = (gint64)d;
    } else {
        return FALSE;
    }
    return *out >= min && *out <= max;
}

static JsonObject *
get_arguments(JsonObject *root)
{
    JsonNode *n = member(root, "arguments");

    if (n == NULL || !JSON_NODE_HOLDS_OBJECT(n))
        return NULL;
    return json_node_get_object(n);
}

/* Appends the slirp4netns entry members (id ... guest_port) of f. */
static void
add_entry_members(JsonBuilder *b, const PdForward *f)
{
    g_autofree char *host = pd_addr_to_string(&f->host);
    g_autofree char *guest = pd_addr_to_string(&f->guest);

    json_builder_set_member_name(b, "id");
    json_builder_add_int_value(b, f->id);
    json_builder_set_member_name(b, "proto");
    json_builder_add_string_value(b, pd_proto_name(f->proto));
    json_builder_set_member_name(b, "host_addr");
    json_builder_add_string_value(b, host);
    json_builder_set_member_name(b, "host_port");
    json_builder_add_int_value(b, pd_addr_port(&f->host));
    json_builder_set_member_name(b, "guest_addr");
    json_builder_add_string_value(b, guest);
    json_builder_set_member_name(b, "guest_port");
    json_builder_add_int_value(b, pd_addr_port(&f->guest));
}

static char *
cmd_add_hostfwd(PdTable *t, JsonObject *root)
{
    const PdNetInfo *net = pd_table_get_net(t);
    JsonObject *args = get_arguments(root);
    const char *proto = NULL, *host = NULL, *guest = NULL;
    gint64 hport = 0, gport = 0;
    PdForward f = { 0 };
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonBuilder) b = NULL;
    guint id = 0;

    /* Same order as slirp4netns: proto, host_addr, host_port, guest_addr,
     * guest_port. */
    if (!get_opt_string(args, "proto", &proto) || proto == NULL)
        return pd_api_error_reply(BAD "add_hostfwd: bad arguments.proto");
    if (strcmp(proto, "tcp") == 0)
        f.proto = PD_PROTO_TCP;
    else if (strcmp(proto, "udp") == 0)
        f.proto = PD_PROTO_UDP;
    else
        return pd_api_error_reply(BAD "add_hostfwd: bad arguments.proto");
    if (!get_opt_string(args, "host_addr", &host))
        return pd_api_error_reply(BAD "add_hostfwd: bad arguments.host_addr");
    if (host == NULL || host[0] == '\0')
        host = "0.0.0.0";
    if (!pd_addr_parse(host, 1, &f.host) ||
        (f.host.ss_family == AF_INET6 && !net->ipv6))
        return pd_api_error_reply(BAD "add_hostfwd: bad arguments.host_addr");
    if (!get_int(args, "host_port", 1, 65535, &hport))
        return pd_api_error_reply(BAD "add_hostfwd: bad arguments.host_port");
    pd_addr_parse(host, (guint16)hport, &f.host);
    if (!get_opt_string(args, "guest_addr", &guest))
        return pd_api_error_reply(BAD "add_hostfwd: bad arguments.guest_addr");
    if (guest != NULL && guest[0] != '\0') {
        if (!pd_addr_parse(guest, 1, &f.guest) ||
            f.guest.ss_family != f.host.ss_family)
            return pd_api_error_reply(BAD
                                      "add_hostfwd: bad arguments.guest_addr");
    }
    if (!get_int(args, "guest_port", 1, 65535, &gport))
        return pd_api_error_reply(BAD "add_hostfwd: bad arguments.guest_port");
    if (guest != NULL && guest[0] != '\0')
        pd_addr_parse(guest, (guint16)gport, &f.guest);
    else
        pd_default_guest(net, f.host.ss_family, (guint16)gport, &f.guest);

    if (f.proto == PD_PROTO_UDP && f.guest.ss_family == AF_INET6 &&
        IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&f.guest)->sin6_addr))
        return pd_api_error_reply(BAD "add_hostfwd: bad arguments.guest_addr");
    if (!pd_table_add(t, &f, &id, &err)) {
        g_message("api: add_hostfwd refused: %s", err->message);
        return pd_api_error_reply(BAD "add_hostfwd: slirp_add_hostfwd failed");
    }
    b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "return");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "id");
    json_builder_add_int_value(b, id);
    json_builder_end_object(b);
    json_builder_end_object(b);
    return reply_from(b);
}

/* {"entries":[...]} (compat) or {"return":{"entries":[...]}} with "path"
 * (extended). */
static char *
cmd_list(PdTable *t, gboolean extended)
{
    g_autoptr(GPtrArray) all = pd_table_list(t);
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    if (extended) {
        json_builder_set_member_name(b, "return");
        json_builder_begin_object(b);
    }
    json_builder_set_member_name(b, "entries");
    json_builder_begin_array(b);
    for (guint i = 0; i < all->len; i++) {
        const PdForward *f = g_ptr_array_index(all, i);

        json_builder_begin_object(b);
        add_entry_members(b, f);
        if (extended) {
            json_builder_set_member_name(b, "path");
            json_builder_add_string_value(b, pd_path_name(f->path));
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    if (extended)
        json_builder_end_object(b);
    json_builder_end_object(b);
    return reply_from(b);
}

static char *
cmd_remove_hostfwd(PdTable *t, JsonObject *root)
{
    JsonObject *args = get_arguments(root);
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonBuilder) b = NULL;
    gint64 id = 0;

    if (!get_int(args, "id", 1, G_MAXUINT, &id) ||
        !pd_table_get(t, (guint)id, NULL))
        return pd_api_error_reply(BAD "remove_hostfwd: bad arguments.id");
    if (!pd_table_remove(t, (guint)id, &err)) {
        g_message("api: remove_hostfwd failed: %s", err->message);
        return pd_api_error_reply(
            BAD "remove_hostfwd: slirp_remove_hostfwd failed");
    }
    b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "return");
    json_builder_begin_object(b);
    json_builder_end_object(b);
    json_builder_end_object(b);
    return reply_from(b);
}

static void
add_str(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    json_builder_add_string_value(b, value);
}

static void
add_in4(JsonBuilder *b, const char *name, struct in_addr a)
{
    char buf[INET_ADDRSTRLEN] = "";

    inet_ntop(AF_INET, &a, buf, sizeof(buf));
    add_str(b, name, buf);
}

static void
add_in6(JsonBuilder *b, const char *name, const struct in6_addr *a)
{
    char buf[INET6_ADDRSTRLEN] = "";

    inet_ntop(AF_INET6, a, buf, sizeof(buf));
    add_str(b, name, buf);
}

/* The extension commands, in the order "info" lists them. */
static const char *const features[] = {
    "add_hostfwd",  "list_hostfwd", "remove_hostfwd", "info", "list_hostfwd_ex",
    "ipv6_hostfwd", NULL,
};

static char *
cmd_info(PdTable *t, const PdApiInfo *info)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "return");
    json_builder_begin_object(b);
    add_str(b, "version",
            info != NULL && info->version != NULL ? info->version : "");
    if (info != NULL && info->mtu != 0) {
        g_autofree char *cidr = NULL;
        char net4[INET_ADDRSTRLEN] = "";

        inet_ntop(AF_INET, &info->vnet.network, net4, sizeof(net4));
        cidr = g_strdup_printf("%s/%u", net4, info->vnet.prefix_len);
        json_builder_set_member_name(b, "network");
        json_builder_begin_object(b);
        add_str(b, "cidr", cidr);
        add_in4(b, "gateway", info->vnet.gateway);
        add_in4(b, "dns", info->vnet.dns);
        add_in4(b, "guest", info->vnet.guest);
        json_builder_set_member_name(b, "mtu");
        json_builder_add_int_value(b, info->mtu);
        json_builder_set_member_name(b, "ipv6");
        json_builder_add_boolean_value(b, info->ipv6);
        if (info->ipv6) {
            char net6[INET6_ADDRSTRLEN] = "";
            g_autofree char *cidr6 = NULL;

            inet_ntop(AF_INET6, &info->vnet.prefix6, net6, sizeof(net6));
            cidr6 = g_strdup_printf("%s/%u", net6, info->vnet.prefix6_len);
            add_str(b, "cidr6", cidr6);
            add_in6(b, "gateway6", &info->vnet.gateway6);
            add_in6(b, "dns6", &info->vnet.dns6);
        }
        json_builder_set_member_name(b, "disable_host_loopback");
        json_builder_add_boolean_value(b, info->disable_host_loopback);
        json_builder_set_member_name(b, "bypass");
        json_builder_add_boolean_value(b, info->bypass);
        json_builder_end_object(b);
    }
    json_builder_set_member_name(b, "features");
    json_builder_begin_array(b);
    for (guint i = 0; features[i] != NULL; i++)
        json_builder_add_string_value(b, features[i]);
    json_builder_end_array(b);
    json_builder_end_object(b);
    json_builder_end_object(b);
    (void)t;
    return reply_from(b);
}

/**
 * pd_api_handle_request:
 * @t: the table
 * @info: (nullable): facts for "info"
 * @request: the request text (one JSON value; need not be NUL-terminated)
 * @len: its length in bytes
 *
 * Returns: (transfer full): the reply text, without a trailing newline.
 */
char *
pd_api_handle_request(PdTable *t, const PdApiInfo *info, const char *request,
                      gsize len)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonNode *root;
    JsonObject *obj;
    const char *execute = NULL;

    /* a NUL inside a string (\u0000, or a raw NUL byte) would silently cut
     * it in json-glib's C strings: "10.0.2.100\u0000junk" must not pass
     * as "10.0.2.100" */
    if (memchr(request, '\0', len) != NULL ||
        g_strstr_len(request, (gssize)len, "\\u0000") != NULL)
        return pd_api_error_reply(BAD "NUL character in the request");
    if (len == 0 ||
        !json_parser_load_from_data(parser, request, (gssize)len, NULL) ||
        json_parser_has_assignment(parser, NULL) ||
        (root = json_parser_get_root(parser)) == NULL)
        return pd_api_error_reply(BAD "cannot parse JSON");
    if (!JSON_NODE_HOLDS_OBJECT(root))
        return pd_api_error_reply(BAD "json_object() failed");
    obj = json_node_get_object(root);
    if (!get_opt_string(obj, "execute", &execute) || execute == NULL)
        return pd_api_error_reply(BAD "no execute found");
    if (strcmp(execute, "add_hostfwd") == 0)
        return cmd_add_hostfwd(t, obj);
    if (strcmp(execute, "list_hostfwd") == 0)
        return cmd_list(t, FALSE);
    if (strcmp(execute, "remove_hostfwd") == 0)
        return cmd_remove_hostfwd(t, obj);
    /* Extensions (not in slirp4netns). */
    if (strcmp(execute, "info") == 0)
        return cmd_info(t, info);
    if (strcmp(execute, "list_hostfwd_ex") == 0)
        return cmd_list(t, TRUE);
    return pd_api_error_reply(BAD "unknown execute");
}
