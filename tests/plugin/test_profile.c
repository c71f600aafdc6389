/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_profile.c: unit tests of the seccomp profile generator/merger and of
 * the state message `slirpbypass exec` sends (plugin/profile.c, exec.c).
 *
 * Theory of operation: every test feeds JSON text to pb_profile_build() /
 * pb_profile_merge(), then inspects the result through json-glib (never by
 * string matching of the pretty output, which json-glib may format
 * differently between versions), except where the exact bytes are the
 * contract (the compact exec state message).
 */
#include "plugin.h"

#include <string.h>
#include <unistd.h>

#define PATH_A "/run/user/1000/slirpbypass/bypass.sock"
#define PATH_B "/tmp/other-agent.sock"

/* A cut-down podman /usr/share/containers/seccomp.json. */
static const char podman_like[] =
    "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
    "\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\","
    "\"subArchitectures\":[\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"]}],"
    "\"syscalls\":["
    "{\"names\":[\"accept\",\"bind\",\"close\",\"connect\",\"listen\","
    "\"write\"],"
    "\"action\":\"SCMP_ACT_ALLOW\",\"args\":[],\"comment\":\"\","
    "\"includes\":{},\"excludes\":{}},"
    "{\"names\":[\"bpf\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[],"
    "\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]},\"excludes\":{}},"
    "{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":22,"
    "\"args\":[{\"index\":0,\"value\":40,\"op\":\"SCMP_CMP_EQ\"}]}"
    "]}";

/* Members of @o as JsonArray / string; abort the test if missing. */
static JsonArray *
arr(JsonObject *o, const char *name)
{
    g_assert_true(json_object_has_member(o, name));
    return json_object_get_array_member(o, name);
}

/* TRUE if array @a of strings contains @s. */
static gboolean
has_str(JsonArray *a, const char *s)
{
    for (guint i = 0; i < json_array_get_length(a); i++)
        if (strcmp(json_array_get_string_element(a, i), s) == 0)
            return TRUE;
    return FALSE;
}

/* Names of rule @i of @prof. */
static JsonArray *
rule_names(JsonObject *prof, guint i)
{
    JsonObject *r = json_array_get_object_element(arr(prof, "syscalls"), i);

    return arr(r, "names");
}

/* Action of rule @i of @prof. */
static const char *
rule_action(JsonObject *prof, guint i)
{
    JsonObject *r = json_array_get_object_element(arr(prof, "syscalls"), i);

    return json_object_get_string_member(r, "action");
}

/* Number of rules that name @name. */
static guint
count_naming(JsonObject *prof, const char *name)
{
    JsonArray *rules = arr(prof, "syscalls");
    guint n = 0;

    for (guint i = 0; i < json_array_get_length(rules); i++) {
        JsonObject *r = json_array_get_object_element(rules, i);

        if (json_object_has_member(r, "names") &&
            has_str(json_object_get_array_member(r, "names"), name))
            n++;
    }
    return n;
}

/* Is rule @r one of the Fast Open rules (a single Fast Open call, with
 * conditions)? */
static gboolean
is_fastopen(JsonObject *r)
{
    JsonArray *names;

    if (!json_object_has_member(r, "names") ||
        !json_object_has_member(r, "args"))
        return FALSE;
    names = json_object_get_array_member(r, "names");
    if (json_array_get_length(names) != 1)
        return FALSE;
    for (guint t = 0; t < PB_N_FASTOPEN; t++)
        if (strcmp(json_array_get_string_element(names, 0),
                   pb_fastopen_rules[t].name) == 0)
            return TRUE;
    return FALSE;
}

/* Take the Fast Open rules out of profile @n (they have tests of their
 * own; the other tests look at rule positions).  Returns how many. */
static guint
drop_fastopen(JsonNode *n)
{
    JsonArray *rules = arr(json_node_get_object(n), "syscalls");
    guint i = 0, dropped = 0;

    while (i < json_array_get_length(rules)) {
        if (is_fastopen(json_array_get_object_element(rules, i))) {
            json_array_remove_element(rules, i);
            dropped++;
        } else {
            i++;
        }
    }
    return dropped;
}

/* Merge @json with @opts; assert success; return the object node. */
static JsonNode *
merge_full(const char *json, const PbProfileOptions *opts, GPtrArray *warn)
{
    g_autoptr(GError) error = NULL;
    JsonNode *n = pb_profile_merge(json, -1, "test.json", opts, warn, &error);

    g_assert_no_error(error);
    g_assert_nonnull(n);
    g_assert_true(JSON_NODE_HOLDS_OBJECT(n));
    return n;
}

/* merge_full() without the Fast Open rules (see drop_fastopen()). */
static JsonNode *
merge_ok(const char *json, const PbProfileOptions *opts, GPtrArray *warn)
{
    JsonNode *n = merge_full(json, opts, warn);

    drop_fastopen(n);
    return n;
}

/* Merge @json; assert failure whose message contains @needle. */
static void
merge_fails(const char *json, const char *needle)
{
    PbProfileOptions opts = { .listener_path = PATH_A };
    g_autoptr(GError) error = NULL;
    JsonNode *n = pb_profile_merge(json, -1, "test.json", &opts, NULL, &error);

    g_assert_null(n);
    g_assert_error(error, PB_ERROR, PB_ERROR_INVALID);
    if (strstr(error->message, needle) == NULL)
        g_error("message '%s' lacks '%s'", error->message, needle);
    /* one line, naming the file */
    g_assert_null(strchr(error->message, '\n'));
    g_assert_nonnull(strstr(error->message, "test.json"));
}

static void
test_build_default(void)
{
    PbProfileOptions opts = { .listener_path = PATH_A };
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) n = pb_profile_build(&opts, &error);
    JsonObject *o;
    JsonArray *names;

    g_assert_no_error(error);
    o = json_node_get_object(n);
    g_assert_cmpstr(json_object_get_string_member(o, "defaultAction"), ==,
                    "SCMP_ACT_ALLOW");
    g_assert_cmpstr(json_object_get_string_member(o, "listenerPath"), ==,
                    PATH_A);
    g_assert_false(json_object_has_member(o, "listenerMetadata"));
#if defined(__x86_64__)
    g_assert_true(has_str(arr(o, "architectures"), "SCMP_ARCH_X86_64"));
    g_assert_true(has_str(arr(o, "architectures"), "SCMP_ARCH_X86"));
    g_assert_true(has_str(arr(o, "architectures"), "SCMP_ARCH_X32"));
#elif defined(__aarch64__)
    g_assert_true(has_str(arr(o, "architectures"), "SCMP_ARCH_AARCH64"));
    g_assert_true(has_str(arr(o, "architectures"), "SCMP_ARCH_ARM"));
#endif
    /* the NOTIFY rule, the Fast Open rules (test_build_fastopen), then the
     * io_uring denial */
    g_assert_cmpuint(json_array_get_length(arr(o, "syscalls")), ==,
                     2 + PB_N_FASTOPEN);
    g_assert_cmpuint(drop_fastopen(n), ==, PB_N_FASTOPEN);
    g_assert_cmpstr(rule_action(o, 1), ==, "SCMP_ACT_ERRNO");
    g_assert_cmpint(
        json_object_get_int_member(
            json_array_get_object_element(arr(o, "syscalls"), 1), "errnoRet"),
        ==, 38);
    g_assert_cmpuint(json_array_get_length(rule_names(o, 1)), ==, 3);
    g_assert_true(has_str(rule_names(o, 1), "io_uring_setup"));
    g_assert_true(has_str(rule_names(o, 1), "io_uring_enter"));
    g_assert_true(has_str(rule_names(o, 1), "io_uring_register"));
    names = rule_names(o, 0);
    g_assert_cmpuint(json_array_get_length(names), ==, 3);
    g_assert_cmpstr(json_array_get_string_element(names, 0), ==, "connect");
    g_assert_cmpstr(json_array_get_string_element(names, 1), ==, "bind");
    g_assert_cmpstr(json_array_get_string_element(names, 2), ==, "listen");
    g_assert_cmpstr(rule_action(o, 0), ==, "SCMP_ACT_NOTIFY");
}

static void
test_build_options(void)
{
    PbProfileOptions opts = { .listener_path = PATH_B,
                              .metadata = "meta data",
                              .no_bind = TRUE };
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) n = pb_profile_build(&opts, &error);
    g_autofree char *text = NULL;
    g_autoptr(JsonParser) p = json_parser_new();
    JsonObject *o;

    g_assert_no_error(error);
    o = json_node_get_object(n);
    g_assert_cmpstr(json_object_get_string_member(o, "listenerMetadata"), ==,
                    "meta data");
    /* --no-bind: connect and listen */
    g_assert_cmpuint(json_array_get_length(rule_names(o, 0)), ==, 2);
    g_assert_true(has_str(rule_names(o, 0), "connect"));
    g_assert_true(has_str(rule_names(o, 0), "listen"));

    /* The printed text parses back and ends with one newline. */
    text = pb_profile_to_json(n);
    g_assert_true(g_str_has_suffix(text, "}\n"));
    g_assert_true(json_parser_load_from_data(p, text, -1, NULL));
    g_assert_true(json_node_equal(json_parser_get_root(p), n));
}

static void
test_build_bad_paths(void)
{
    static const char *const bad[] = { "relative/bypass.sock", "@abstract", "",
                                       NULL };
    g_autofree char *longp = g_strnfill(200, 'x');

    longp[0] = '/';
    for (guint i = 0; bad[i] != NULL; i++) {
        PbProfileOptions opts = { .listener_path = bad[i] };
        g_autoptr(GError) error = NULL;

        g_assert_null(pb_profile_build(&opts, &error));
        g_assert_error(error, PB_ERROR, PB_ERROR_INVALID);
    }
    {
        PbProfileOptions opts = { .listener_path = longp };
        g_autoptr(GError) error = NULL;

        g_assert_null(pb_profile_build(&opts, &error));
        g_assert_nonnull(strstr(error->message, "longer than 107"));
    }
}

static void
test_merge_podman_like(void)
{
    PbProfileOptions opts = { .listener_path = PATH_A };
    g_autoptr(JsonNode) n = merge_ok(podman_like, &opts, NULL);
    JsonObject *o = json_node_get_object(n);
    JsonArray *big;

    /* untouched members */
    g_assert_cmpstr(json_object_get_string_member(o, "defaultAction"), ==,
                    "SCMP_ACT_ERRNO");
    g_assert_cmpint(json_object_get_int_member(o, "defaultErrnoRet"), ==, 38);
    g_assert_true(json_object_has_member(o, "archMap"));
    g_assert_false(json_object_has_member(o, "architectures"));
    g_assert_cmpstr(json_object_get_string_member(o, "listenerPath"), ==,
                    PATH_A);

    /* ours first, then the three originals in order */
    g_assert_cmpuint(json_array_get_length(arr(o, "syscalls")), ==, 4);
    g_assert_cmpstr(rule_action(o, 0), ==, "SCMP_ACT_NOTIFY");
    g_assert_true(has_str(rule_names(o, 0), "connect"));
    g_assert_true(has_str(rule_names(o, 0), "bind"));
    big = rule_names(o, 1);
    g_assert_cmpuint(json_array_get_length(big), ==, 3);
    g_assert_true(has_str(big, "accept"));
    g_assert_true(has_str(big, "close"));
    g_assert_true(has_str(big, "write"));
    g_assert_cmpuint(count_naming(o, "connect"), ==, 1);
    g_assert_cmpuint(count_naming(o, "bind"), ==, 1);
    g_assert_cmpuint(count_naming(o, "listen"), ==, 1);
    g_assert_true(has_str(rule_names(o, 0), "listen"));
    g_assert_true(has_str(rule_names(o, 2), "bpf"));
    g_assert_true(has_str(rule_names(o, 3), "socket"));
    g_assert_cmpstr(rule_action(o, 3), ==, "SCMP_ACT_ERRNO");
}

static void
test_merge_drops_emptied_rules(void)
{
    static const char json[] =
        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
        "{\"names\":[\"connect\"],\"action\":\"SCMP_ACT_ALLOW\"},"
        "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"},"
        "{\"name\":\"bind\",\"action\":\"SCMP_ACT_ALLOW\"},"
        "{\"names\":[],\"action\":\"SCMP_ACT_ALLOW\",\"comment\":\"kept\"}]}";
    PbProfileOptions opts = { .listener_path = PATH_A };
    g_autoptr(JsonNode) n = merge_ok(json, &opts, NULL);
    JsonObject *o = json_node_get_object(n);
    JsonArray *rules = arr(o, "syscalls");

    /* notify, read, and the rule that was already empty (not ours to
     * judge); the connect-only and legacy bind rules are gone */
    g_assert_cmpuint(json_array_get_length(rules), ==, 3);
    g_assert_cmpstr(rule_action(o, 0), ==, "SCMP_ACT_NOTIFY");
    g_assert_cmpuint(json_array_get_length(rule_names(o, 0)), ==, 2);
    g_assert_true(has_str(rule_names(o, 1), "read"));
    g_assert_cmpuint(json_array_get_length(rule_names(o, 2)), ==, 0);
}

static void
test_merge_idempotent(void)
{
    PbProfileOptions opts = { .listener_path = PATH_A, .metadata = "m" };
    g_autoptr(JsonNode) once = merge_ok(podman_like, &opts, NULL);
    g_autofree char *text = pb_profile_to_json(once);
    g_autoptr(JsonNode) twice = merge_ok(text, &opts, NULL);
    g_autoptr(JsonNode) built = NULL;
    g_autofree char *btext = NULL;
    g_autoptr(JsonNode) rebuilt = NULL;

    g_assert_true(json_node_equal(once, twice));

    /* merging a freshly built profile gives it back unchanged */
    built = pb_profile_build(&opts, NULL);
    btext = pb_profile_to_json(built);
    rebuilt = merge_full(btext, &opts, NULL);
    g_assert_true(json_node_equal(built, rebuilt));
}

static void
test_merge_listener_conflict(void)
{
    merge_fails(
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"" PATH_B
        "\",\"syscalls\":[{\"names\":[\"connect\"],"
        "\"action\":\"SCMP_ACT_NOTIFY\"}]}",
        "already has listenerPath '" PATH_B "'");
    /* a NOTIFY rule without our listenerPath is another agent's */
    merge_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                "{\"names\":[\"connect\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}",
                "connect action SCMP_ACT_NOTIFY");
    merge_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":7}",
                "listenerPath is not a string");
}

static void
test_merge_same_listener_and_metadata(void)
{
    static const char json[] =
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"" PATH_A
        "\",\"listenerMetadata\":\"old\"}";
    PbProfileOptions keep = { .listener_path = PATH_A };
    PbProfileOptions set = { .listener_path = PATH_A, .metadata = "new" };
    g_autoptr(JsonNode) a = merge_ok(json, &keep, NULL);
    g_autoptr(JsonNode) b = merge_ok(json, &set, NULL);
    JsonObject *oa = json_node_get_object(a);
    JsonObject *ob = json_node_get_object(b);

    g_assert_cmpstr(json_object_get_string_member(oa, "listenerMetadata"), ==,
                    "old");
    g_assert_cmpstr(json_object_get_string_member(ob, "listenerMetadata"), ==,
                    "new");
    /* syscalls was missing: created with our rules (the default allows
     * io_uring, so it is denied) */
    g_assert_cmpuint(json_array_get_length(arr(oa, "syscalls")), ==, 2);
    g_assert_cmpstr(rule_action(oa, 0), ==, "SCMP_ACT_NOTIFY");
    g_assert_cmpstr(rule_action(oa, 1), ==, "SCMP_ACT_ERRNO");
}

static void
test_merge_errors(void)
{
    merge_fails("{\"defaultAction\":", "not valid JSON");
    /* 1e999 is infinity for the parser, and "inf" is no JSON to write */
    merge_fails(
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
        "[\"sendto\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":3,"
        "\"value\":5e999}]}]}",
        "a number out of range");
    merge_fails("", "empty");
    merge_fails(" \n", "empty");
    merge_fails("[1,2]", "top level is not an object");
    merge_fails("{}", "no string \"defaultAction\"");
    merge_fails("{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}",
                "defaultAction is SCMP_ACT_NOTIFY");
    merge_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}",
                "\"syscalls\" is not an array");
    merge_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[3]}",
                "syscalls[0] is not an object");
    merge_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                "{\"names\":[\"read\"]}]}",
                "syscalls[0] has no string \"action\"");
    merge_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                "{\"names\":\"connect\",\"action\":\"SCMP_ACT_ALLOW\"}]}",
                "syscalls[0].names is not an array");
    merge_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                "{\"names\":[\"read\",1],\"action\":\"SCMP_ACT_ALLOW\"}]}",
                "syscalls[0].names[1] is not a string");
}

static void
test_merge_refuses_to_widen(void)
{
    /* a denial of connect must not become NOTIFY (= allow) */
    merge_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                "{\"names\":[\"connect\"],\"action\":\"SCMP_ACT_ERRNO\"}]}",
                "syscalls[1] gives connect action SCMP_ACT_ERRNO");
    /* a conditional allow would lose its condition */
    merge_fails("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
                "{\"names\":[\"bind\"],\"action\":\"SCMP_ACT_ALLOW\","
                "\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}"
                "]}",
                "bind action SCMP_ACT_ALLOW with conditions");
    merge_fails("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
                "{\"names\":[\"connect\"],\"action\":\"SCMP_ACT_ALLOW\","
                "\"includes\":{\"caps\":[\"CAP_NET_ADMIN\"]}}]}",
                "with conditions");
    /* nothing allows connect */
    merge_fails("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
                "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"}]}",
                "does not allow connect");
}

static void
test_merge_bind_not_allowed(void)
{
    static const char json[] =
        "{\"defaultAction\":\"SCMP_ACT_KILL\",\"syscalls\":["
        "{\"names\":[\"connect\",\"read\"],\"action\":\"SCMP_ACT_ALLOW\"}]}";
    PbProfileOptions opts = { .listener_path = PATH_A };
    g_autoptr(GPtrArray) warn = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(JsonNode) n = merge_ok(json, &opts, warn);
    JsonObject *o = json_node_get_object(n);

    /* bind and listen stay denied by the default action: only connect
     * trapped */
    g_assert_cmpuint(json_array_get_length(rule_names(o, 0)), ==, 1);
    g_assert_true(has_str(rule_names(o, 0), "connect"));
    g_assert_cmpuint(count_naming(o, "bind"), ==, 0);
    g_assert_cmpuint(count_naming(o, "listen"), ==, 0);
    g_assert_cmpuint(warn->len, ==, 2);
    g_assert_nonnull(strstr(warn->pdata[0], "does not allow bind"));
    g_assert_nonnull(strstr(warn->pdata[1], "does not allow listen"));
}

static void
test_merge_denies_io_uring(void)
{
    /* allowed by a rule (which loses it) and by the default action */
    static const char json[] =
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
        "{\"names\":[\"read\",\"io_uring_setup\"],\"action\":\"SCMP_ACT_"
        "ALLOW\"},"
        "{\"names\":[\"io_uring_register\"],\"action\":\"SCMP_ACT_ERRNO\","
        "\"errnoRet\":1}]}";
    PbProfileOptions opts = { .listener_path = PATH_A };
    g_autoptr(GPtrArray) warn = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(JsonNode) n = merge_ok(json, &opts, warn);
    g_autofree char *text = pb_profile_to_json(n);
    g_autoptr(JsonNode) again = merge_ok(text, &opts, NULL);
    JsonObject *o = json_node_get_object(n);

    /* NOTIFY, our denial (not io_uring_register: another rule denies it
     * already, and libseccomp refuses two actions for one call), then the
     * originals */
    g_assert_cmpuint(json_array_get_length(arr(o, "syscalls")), ==, 4);
    g_assert_cmpstr(rule_action(o, 1), ==, "SCMP_ACT_ERRNO");
    g_assert_cmpuint(json_array_get_length(rule_names(o, 1)), ==, 2);
    g_assert_true(has_str(rule_names(o, 1), "io_uring_setup"));
    g_assert_true(has_str(rule_names(o, 1), "io_uring_enter"));
    g_assert_cmpuint(count_naming(o, "io_uring_setup"), ==, 1);
    g_assert_cmpuint(count_naming(o, "io_uring_register"), ==, 1);
    g_assert_true(has_str(rule_names(o, 3), "io_uring_register"));
    g_assert_false(has_str(rule_names(o, 2), "io_uring_setup"));
    g_assert_true(has_str(rule_names(o, 2), "read"));
    g_assert_cmpuint(warn->len, ==, 1);
    g_assert_nonnull(strstr(warn->pdata[0], "io_uring"));
    /* and merging the result again changes nothing */
    g_assert_true(json_node_equal(n, again));
}

static void
test_merge_io_uring_conditions(void)
{
    /* a conditional denial and a per-architecture one leave other cases
     * allowed by the default action: they lose the name, ours denies */
    static const char json[] =
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
        "{\"names\":[\"io_uring_setup\"],\"action\":\"SCMP_ACT_ERRNO\","
        "\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]},"
        "{\"names\":[\"io_uring_enter\",\"read\"],\"action\":"
        "\"SCMP_ACT_KILL\",\"includes\":{\"arches\":[\"s390x\"]}}]}";
    PbProfileOptions opts = { .listener_path = PATH_A };
    g_autoptr(GPtrArray) warn = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(JsonNode) n = merge_ok(json, &opts, warn);
    JsonObject *o = json_node_get_object(n);

    /* NOTIFY, our denial of all three, the s390x rule keeping read */
    g_assert_cmpuint(json_array_get_length(arr(o, "syscalls")), ==, 3);
    g_assert_cmpuint(json_array_get_length(rule_names(o, 1)), ==, 3);
    g_assert_cmpuint(count_naming(o, "io_uring_setup"), ==, 1);
    g_assert_cmpuint(count_naming(o, "io_uring_enter"), ==, 1);
    g_assert_true(has_str(rule_names(o, 2), "read"));
    g_assert_cmpuint(warn->len, ==, 1);
}

static void
test_merge_no_bind(void)
{
    PbProfileOptions opts = { .listener_path = PATH_A, .no_bind = TRUE };
    g_autoptr(JsonNode) n = merge_ok(podman_like, &opts, NULL);
    JsonObject *o = json_node_get_object(n);

    g_assert_cmpuint(json_array_get_length(rule_names(o, 0)), ==, 2);
    g_assert_false(has_str(rule_names(o, 0), "bind"));
    /* bind stays where it was */
    g_assert_true(has_str(rule_names(o, 1), "bind"));
    g_assert_false(has_str(rule_names(o, 1), "connect"));
}

static void
test_merge_installed_podman_profile(void)
{
    const char *f = "/usr/share/containers/seccomp.json";
    g_autofree char *data = NULL;
    PbProfileOptions opts = { .listener_path = PATH_A };
    g_autoptr(JsonNode) n = NULL;
    JsonObject *o;

    if (!g_file_get_contents(f, &data, NULL, NULL)) {
        g_test_skip("no /usr/share/containers/seccomp.json");
        return;
    }
    n = merge_full(data, &opts, NULL);
    o = json_node_get_object(n);
    /* podman allows the sends outright: NOTIFY and ALLOW on the flag */
    g_assert_cmpuint(count_naming(o, "sendto"), ==, 2);
    g_assert_cmpuint(count_naming(o, "sendmsg"), ==, 2);
    g_assert_cmpuint(count_naming(o, "sendmmsg"), ==, 2);
    g_assert_cmpuint(drop_fastopen(n), ==, 6);
    g_assert_cmpuint(count_naming(o, "sendto"), ==, 0);
    g_assert_cmpstr(rule_action(o, 0), ==, "SCMP_ACT_NOTIFY");
    g_assert_cmpuint(count_naming(o, "connect"), ==, 1);
    g_assert_cmpuint(count_naming(o, "bind"), ==, 1);
    g_assert_cmpuint(count_naming(o, "listen"), ==, 1);
    g_assert_cmpuint(count_naming(o, "write"), >=, 1);
}

/* Assert that rule @r is the Fast Open rule for pb_fastopen_rules[@t]:
 * NOTIFY on its conditions, or (@complement) ALLOW on the other values. */
static void
assert_fastopen_rule(JsonObject *r, guint t, gboolean complement)
{
    const PbFastOpenRule *f = &pb_fastopen_rules[t];
    JsonArray *args = arr(r, "args");

    g_assert_cmpuint(json_array_get_length(arr(r, "names")), ==, 1);
    g_assert_cmpstr(json_array_get_string_element(arr(r, "names"), 0), ==,
                    f->name);
    g_assert_cmpstr(json_object_get_string_member(r, "action"), ==,
                    complement ? "SCMP_ACT_ALLOW" : "SCMP_ACT_NOTIFY");
    g_assert_cmpuint(json_array_get_length(args), ==, f->n_conds);
    for (guint i = 0; i < f->n_conds; i++) {
        JsonObject *c = json_array_get_object_element(args, i);

        g_assert_cmpstr(json_object_get_string_member(c, "op"), ==,
                        "SCMP_CMP_MASKED_EQ");
        g_assert_cmpint(json_object_get_int_member(c, "index"), ==,
                        f->cond[i].index);
        /* OCI: "value" is the mask, "valueTwo" the value */
        g_assert_cmpint(json_object_get_int_member(c, "value"), ==,
                        (gint64)f->cond[i].mask);
        g_assert_cmpint(json_object_get_int_member(c, "valueTwo"), ==,
                        complement ? 0 : (gint64)f->cond[i].value);
    }
}

/* The index in pb_fastopen_rules of @name. */
static guint
fastopen_index(const char *name)
{
    for (guint t = 0; t < PB_N_FASTOPEN; t++)
        if (strcmp(pb_fastopen_rules[t].name, name) == 0)
            return t;
    g_assert_not_reached();
}

static void
test_build_fastopen(void)
{
    PbProfileOptions opts = { .listener_path = PATH_A };
    g_autoptr(JsonNode) n = pb_profile_build(&opts, NULL);
    JsonArray *rules = arr(json_node_get_object(n), "syscalls");

    /* MSG_FASTOPEN in the flags of the three sends, and
     * setsockopt(IPPROTO_TCP, TCP_FASTOPEN_CONNECT): low 32 bits only */
    g_assert_cmpuint(pb_fastopen_rules[fastopen_index("sendto")].cond[0].index,
                     ==, 3);
    g_assert_cmpuint(pb_fastopen_rules[fastopen_index("sendmsg")].cond[0].index,
                     ==, 2);
    g_assert_cmpuint(
        pb_fastopen_rules[fastopen_index("sendmmsg")].cond[0].index, ==, 3);
    g_assert_cmpuint(pb_fastopen_rules[0].cond[0].mask, ==, 0x20000000);
    g_assert_cmpuint(
        pb_fastopen_rules[fastopen_index("setsockopt")].cond[1].value, ==, 30);
    g_assert_cmpuint(json_array_get_length(rules), ==, 2 + PB_N_FASTOPEN);
    for (guint t = 0; t < PB_N_FASTOPEN; t++)
        assert_fastopen_rule(json_array_get_object_element(rules, 1 + t), t,
                             FALSE);
}

static void
test_merge_fastopen_allowed(void)
{
    /* the calls allowed outright by the profile: the sends keep every
     * value but MSG_FASTOPEN (our complement), setsockopt stays as it is */
    static const char json[] =
        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
        "{\"names\":[\"connect\",\"bind\",\"listen\",\"sendto\",\"sendmsg\","
        "\"sendmmsg\","
        "\"setsockopt\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\","
        "\"args\":[],\"includes\":{},\"excludes\":{}}]}";
    PbProfileOptions opts = { .listener_path = PATH_A };
    g_autoptr(GPtrArray) warn = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(JsonNode) n = merge_full(json, &opts, warn);
    g_autofree char *text = pb_profile_to_json(n);
    g_autoptr(JsonNode) again = merge_full(text, &opts, NULL);
    JsonObject *o = json_node_get_object(n);
    JsonArray *rules = arr(o, "syscalls");
    guint r = 1; /* after the NOTIFY rule; io_uring is denied by default */

    g_assert_cmpstr(rule_action(o, 0), ==, "SCMP_ACT_NOTIFY");
    for (guint t = 0; t < PB_N_FASTOPEN; t++) {
        if (pb_fastopen_rules[t].n_conds != 1)
            continue;
        assert_fastopen_rule(json_array_get_object_element(rules, r++), t,
                             FALSE);
        assert_fastopen_rule(json_array_get_object_element(rules, r++), t,
                             TRUE);
        g_assert_cmpuint(count_naming(o, pb_fastopen_rules[t].name), ==, 2);
    }
    /* the original rule, without the sends */
    g_assert_cmpuint(json_array_get_length(rules), ==, r + 1);
    g_assert_false(has_str(rule_names(o, r), "sendto"));
    g_assert_false(has_str(rule_names(o, r), "connect"));
    g_assert_true(has_str(rule_names(o, r), "setsockopt"));
    g_assert_true(has_str(rule_names(o, r), "write"));
    g_assert_cmpuint(count_naming(o, "setsockopt"), ==, 1);
    /* which is said */
    g_assert_cmpuint(warn->len, ==, 1);
    g_assert_nonnull(strstr(warn->pdata[0], "TCP_FASTOPEN_CONNECT"));
    g_assert_true(json_node_equal(n, again));
}

static void
test_merge_fastopen_default_allows(void)
{
    /* not named, allowed by the default action: NOTIFY rules only */
    static const char json[] = "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}";
    PbProfileOptions opts = { .listener_path = PATH_A };
    g_autoptr(JsonNode) n = merge_full(json, &opts, NULL);
    JsonArray *rules = arr(json_node_get_object(n), "syscalls");

    g_assert_cmpuint(json_array_get_length(rules), ==, 2 + PB_N_FASTOPEN);
    for (guint t = 0; t < PB_N_FASTOPEN; t++)
        assert_fastopen_rule(json_array_get_object_element(rules, 1 + t), t,
                             FALSE);
}

static void
test_merge_fastopen_own_rule(void)
{
    /* a rule with conditions of its own for sendto: left to it, warned;
     * a default that denies: nothing to refuse */
    static const char json[] =
        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
        "{\"names\":[\"connect\",\"bind\",\"listen\"],\"action\":\"SCMP_ACT_"
        "ALLOW\"},"
        "{\"names\":[\"sendto\"],\"action\":\"SCMP_ACT_ALLOW\","
        "\"args\":[{\"index\":0,\"value\":3,\"op\":\"SCMP_CMP_EQ\"}]}]}";
    PbProfileOptions opts = { .listener_path = PATH_A };
    g_autoptr(GPtrArray) warn = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(JsonNode) n = merge_full(json, &opts, warn);
    JsonObject *o = json_node_get_object(n);

    g_assert_cmpuint(count_naming(o, "sendto"), ==, 1);
    g_assert_cmpuint(count_naming(o, "sendmsg"), ==, 0);
    g_assert_cmpuint(count_naming(o, "setsockopt"), ==, 0);
    g_assert_cmpuint(warn->len, ==, 1);
    g_assert_nonnull(strstr(warn->pdata[0], "sendto"));
}

static void
test_exec_state_json(void)
{
    g_autofree char *s = pb_exec_state_json(4242, "slirpbypass-exec", FALSE);
    g_autofree char *t = pb_exec_state_json(4242, "slirpbypass-exec", TRUE);

    /* compact, runc's key order, no newline: the contract of `exec` */
    g_assert_cmpstr(s, ==,
                    "{\"ociVersion\":\"1.0.2\",\"fds\":[\"seccompFd\"],"
                    "\"pid\":4242,\"metadata\":\"slirpbypass-exec\","
                    "\"state\":{\"ociVersion\":\"1.0.2\",\"id\":\"exec-4242\","
                    "\"status\":\"running\",\"pid\":4242,\"bundle\":\"\"}}");
    /* with our network namespace as a second, named fd */
    g_assert_nonnull(strstr(t, "\"fds\":[\"seccompFd\",\"slirpbypassNetns\"]"));
}

static void
test_exec_state_json_escapes(void)
{
    g_autofree char *s = pb_exec_state_json(1, "a\"b\\c\n", TRUE);
    g_autoptr(JsonParser) p = json_parser_new();
    JsonObject *o;

    g_assert_true(json_parser_load_from_data(p, s, -1, NULL));
    o = json_node_get_object(json_parser_get_root(p));
    g_assert_cmpstr(json_object_get_string_member(o, "metadata"), ==,
                    "a\"b\\c\n");
}

static void
test_default_socket_path(void)
{
    g_autofree char *saved = g_strdup(g_getenv("XDG_RUNTIME_DIR"));
    g_autofree char *a = NULL;
    g_autofree char *b = NULL;
    g_autofree char *c = NULL;
    g_autofree char *want = NULL;

    g_setenv("XDG_RUNTIME_DIR", "/run/user/77", TRUE);
    a = pb_default_socket_path();
    g_assert_cmpstr(a, ==, "/run/user/77/slirpbypass/agent.sock");

    g_unsetenv("XDG_RUNTIME_DIR");
    b = pb_default_socket_path();
    want = getuid() == 0 ? g_strdup("/run/slirpbypass/agent.sock")
                         : g_strdup_printf("/run/user/%u/slirpbypass/"
                                           "agent.sock",
                                           (unsigned)getuid());
    g_assert_cmpstr(b, ==, want);

    /* a relative value is invalid per XDG and ignored */
    g_setenv("XDG_RUNTIME_DIR", "rel", TRUE);
    c = pb_default_socket_path();
    g_assert_cmpstr(c, ==, want);

    if (saved != NULL)
        g_setenv("XDG_RUNTIME_DIR", saved, TRUE);
    else
        g_unsetenv("XDG_RUNTIME_DIR");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/profile/build/default", test_build_default);
    g_test_add_func("/profile/build/fastopen", test_build_fastopen);
    g_test_add_func("/profile/merge/fastopen-allowed",
                    test_merge_fastopen_allowed);
    g_test_add_func("/profile/merge/fastopen-default-allows",
                    test_merge_fastopen_default_allows);
    g_test_add_func("/profile/merge/fastopen-own-rule",
                    test_merge_fastopen_own_rule);
    g_test_add_func("/profile/build/options", test_build_options);
    g_test_add_func("/profile/build/bad-paths", test_build_bad_paths);
    g_test_add_func("/profile/merge/podman-like", test_merge_podman_like);
    g_test_add_func("/profile/merge/drops-emptied",
                    test_merge_drops_emptied_rules);
    g_test_add_func("/profile/merge/idempotent", test_merge_idempotent);
    g_test_add_func("/profile/merge/listener-conflict",
                    test_merge_listener_conflict);
    g_test_add_func("/profile/merge/same-listener-metadata",
                    test_merge_same_listener_and_metadata);
    g_test_add_func("/profile/merge/errors", test_merge_errors);
    g_test_add_func("/profile/merge/refuses-to-widen",
                    test_merge_refuses_to_widen);
    g_test_add_func("/profile/merge/bind-not-allowed",
                    test_merge_bind_not_allowed);
    g_test_add_func("/profile/merge/no-bind", test_merge_no_bind);
    g_test_add_func("/profile/merge/denies-io-uring",
                    test_merge_denies_io_uring);
    g_test_add_func("/profile/merge/io-uring-conditions",
                    test_merge_io_uring_conditions);
    g_test_add_func("/profile/merge/installed-podman",
                    test_merge_installed_podman_profile);
    g_test_add_func("/exec/state-json", test_exec_state_json);
    g_test_add_func("/exec/state-json-escapes", test_exec_state_json_escapes);
    g_test_add_func("/profile/default-socket-path", test_default_socket_path);
    return g_test_run();
}
