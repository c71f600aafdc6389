/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_api.c: libFuzzer target for the API socket's request path: the
 * framing scanner (pd_json_scan) and the parser/dispatcher
 * (pd_api_handle_request) on a real table over a real libslirp instance.
 *
 * Theory of operation: each input is one request.  Properties checked
 * beyond "no crash, no sanitizer report": the reply is one JSON object,
 * either an error ({"error":{"desc":STRING}}) or a success ("return" or
 * the compatible "entries"); a failed request leaves the table as it was.
 * After each input every forward is removed again, so state does not grow.
 * add_hostfwd binds real ports: run it only inside a private network
 * namespace (run-fuzz.sh does).
 */
#include "pd_internal.h"
#include "pd_test_util.h"

#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

static PdTable *table;

static guint
table_len(void)
{
    g_autoptr(GPtrArray) all = pd_table_list(table);

    return all->len;
}

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autofree char *reply = NULL;
    gsize end = 0;
    guint before;
    JsonObject *o;
    gboolean failed;

    if (table == NULL) {
        PdNetInfo net;

        pd_test_netinfo(&net, TRUE);
        table = pd_table_new(pd_test_slirp_new(TRUE), &net);
    }
    (void)pd_json_scan((const char *)data, size, TRUE, &end);
    (void)pd_json_scan((const char *)data, size, FALSE, &end);
    before = table_len();
    reply = pd_api_handle_request(table, NULL, (const char *)data, size);
    if (reply == NULL || !json_parser_load_from_data(parser, reply, -1, NULL) ||
        !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
        abort();
    o = json_node_get_object(json_parser_get_root(parser));
    failed = json_object_has_member(o, "error");
    if (!failed && !json_object_has_member(o, "return") &&
        !json_object_has_member(o, "entries"))
        abort();
    if (failed && table_len() != before)
        abort(); /* a refused request changed the table */
    /* back to empty */
    {
        g_autoptr(GPtrArray) all = pd_table_list(table);

        for (guint i = 0; i < all->len; i++)
            (void)pd_table_remove(
                table, ((PdForward *)g_ptr_array_index(all, i))->id, NULL);
    }
    return 0;
}
