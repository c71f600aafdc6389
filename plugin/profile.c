/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * profile.c: `slirpbypass seccomp-profile`, the OCI seccomp profile that
 * arms the bypass.
 *
 * Theory of operation: a container runtime (runc >= 1.1, crun >= 1.6,
 * podman >= 4.1 through its profile) hands the seccomp notify fd of a
 * container to the agent named by the profile's "listenerPath".  The bypass
 * traps connect, bind and listen (DESIGN.md: never close/fcntl, nor an
 * ordinary setsockopt/send, which would also trap the runtime's own calls
 * between filter load and fd hand-off), the Fast Open forms of the sends
 * and of setsockopt only (pb_fastopen_rules: conditions on register
 * arguments, fastopen.c answers EOPNOTSUPP), and denies io_uring
 * (ENOSYS): io_uring's connect,
 * bind and listen operations are not seen by seccomp, so on a socket the
 * agent installed they would run unchecked in the host namespace.  Docker,
 * podman and containerd deny io_uring by default already.  Two modes:
 *
 *  - build: a fresh profile, defaultAction SCMP_ACT_ALLOW, the native
 *    architecture plus its compat ones (a 32-bit binary must not hit the
 *    "bad arch" kill action), one NOTIFY rule, the Fast Open rules, the
 *    io_uring denial, listenerPath[/Metadata].
 *  - merge: rewrite an existing profile (podman's seccomp.json,
 *    containerd's default): the trapped names are removed from every rule
 *    that allows them unconditionally (rules left empty are dropped), the
 *    NOTIFY rule is prepended, listenerPath is set.  The agent answers
 *    CONTINUE for everything it does not bypass, so NOTIFY behaves like
 *    ALLOW; that is only equivalent when the original profile allowed the
 *    call unconditionally.  A rule that denies or conditionally allows a
 *    trapped call is therefore refused instead of silently widened, and a
 *    trapped call the profile does not allow at all is not trapped.
 *    io_uring calls the profile allows (by a rule, which loses them, or by
 *    the default action) get the denial rule, with a warning; names another
 *    rule denies already are left to it (libseccomp refuses two rules of
 *    different actions for one call).  Merging is idempotent: our own
 *    NOTIFY rule is recognised by the identical listenerPath, our denial
 *    rule is a denial like any other.  The Fast Open calls are planned by
 *    plan_fastopen(): allowed outright, the sends are split into our
 *    NOTIFY rule and an ALLOW rule for the other flag values; our own
 *    earlier rules are recognised by their exact shape and replaced.
 *
 * The logic lives in pb_profile_build()/pb_profile_merge() so the unit
 * tests run it without main(); slirp-bridge/cmd_profile.c parses the
 * command line and prints.
 */
#include "plugin.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define NOTIFY_ACTION "SCMP_ACT_NOTIFY"

/* The calls the bypass traps, in rule order, and those it denies with
 * ENOSYS (see the theory of operation); exec.c builds its filter from the
 * same lists. */
const char *const pb_trapped_calls[PB_N_TRAPPED] = { "connect", "bind",
                                                     "listen" };
const char *const pb_denied_calls[PB_N_DENIED] = { "io_uring_setup",
                                                   "io_uring_enter",
                                                   "io_uring_register" };
#define DENY_ERRNO ENOSYS /* "not implemented here", as Docker does */

/* The calls that arm TCP Fast Open (plugin.h): the flags or the option
 * are register arguments, so the filter sees them as the kernel will. */
const PbFastOpenRule pb_fastopen_rules[PB_N_FASTOPEN] = {
    { "sendto", 1, { { 3, MSG_FASTOPEN, MSG_FASTOPEN } } },
    { "sendmsg", 1, { { 2, MSG_FASTOPEN, MSG_FASTOPEN } } },
    { "sendmmsg", 1, { { 3, MSG_FASTOPEN, MSG_FASTOPEN } } },
    { "setsockopt",
      2,
      { { 1, 0xffffffff, IPPROTO_TCP },
        { 2, 0xffffffff, TCP_FASTOPEN_CONNECT } } },
};

/**
 * pb_default_socket_path:
 *
 * The agent socket path used when neither the profile nor `exec` is told
 * one: the per-user agent's, sb_default_agent_socket().
 *
 * Returns: (transfer full) an absolute path.
 */
char *
pb_default_socket_path(void)
{
    return sb_default_agent_socket();
}

/**
 * pb_socket_path_check:
 * @path: a unix socket path
 * @require_absolute: TRUE for a profile's listenerPath (crun requires an
 *   absolute path; a relative one would be resolved against the runtime's
 *   working directory)
 * @error: PB_ERROR_INVALID naming the path
 *
 * Returns: TRUE if @path fits in sockaddr_un.sun_path and is not an
 * abstract ("@name") address, which runc refuses.
 */
gboolean
pb_socket_path_check(const char *path, gboolean require_absolute,
                     GError **error)
{
    struct sockaddr_un sun;

    if (path == NULL || path[0] == '\0') {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID, "socket path is empty");
        return FALSE;
    }
    if (path[0] == '@') {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "socket path '%s': abstract sockets are not supported "
                    "(runc refuses them)",
                    path);
        return FALSE;
    }
    if (require_absolute && !g_path_is_absolute(path)) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "socket path '%s' is not absolute", path);
        return FALSE;
    }
    if (strlen(path) >= sizeof sun.sun_path) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "socket path '%s' is longer than %zu bytes", path,
                    sizeof sun.sun_path - 1);
        return FALSE;
    }
    return TRUE;
}

/* Append the native architecture and its compat ABIs (names as in the
 * OCI runtime-spec). */
static void
add_architectures(JsonBuilder *b)
{
    const SbArch *arches;
    guint n = 0;

    json_builder_set_member_name(b, "architectures");
    json_builder_begin_array(b);
    arches = sb_arches(&n);
    for (guint i = 0; i < n; i++)
        json_builder_add_string_value(b, arches[i].oci_name);
    /* On an unknown machine an empty list means "the native
     * architecture only". */
    json_builder_end_array(b);
}

/* The NOTIFY rule for the names selected in @trap (same order as
 * pb_trapped_calls). */
static JsonNode *
notify_rule_new(const gboolean trap[G_N_ELEMENTS(pb_trapped_calls)])
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "names");
    json_builder_begin_array(b);
    for (guint i = 0; i < G_N_ELEMENTS(pb_trapped_calls); i++)
        if (trap[i])
            json_builder_add_string_value(b, pb_trapped_calls[i]);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "action");
    json_builder_add_string_value(b, NOTIFY_ACTION);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

/* The ERRNO rule for the names selected in @deny (all when NULL);
 * NULL if none is selected. */
static JsonNode *
deny_rule_new(const gboolean *deny)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    guint n = 0;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "names");
    json_builder_begin_array(b);
    for (guint i = 0; i < G_N_ELEMENTS(pb_denied_calls); i++)
        if (deny == NULL || deny[i]) {
            json_builder_add_string_value(b, pb_denied_calls[i]);
            n++;
        }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "action");
    json_builder_add_string_value(b, "SCMP_ACT_ERRNO");
    json_builder_set_member_name(b, "errnoRet");
    json_builder_add_int_value(b, DENY_ERRNO);
    json_builder_end_object(b);
    return n > 0 ? json_builder_get_root(b) : NULL;
}

/* Add one SCMP_CMP_MASKED_EQ condition (OCI: "value" is the mask,
 * "valueTwo" the value) to the args array being built in @b. */
static void
add_masked_cond(JsonBuilder *b, guint index, guint64 mask, guint64 value)
{
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "index");
    json_builder_add_int_value(b, index);
    json_builder_set_member_name(b, "value");
    json_builder_add_int_value(b, (gint64)mask);
    json_builder_set_member_name(b, "valueTwo");
    json_builder_add_int_value(b, (gint64)value);
    json_builder_set_member_name(b, "op");
    json_builder_add_string_value(b, "SCMP_CMP_MASKED_EQ");
    json_builder_end_object(b);
}

/*
 * fastopen_rule_new: the rule for pb_fastopen_rules[@t]: NOTIFY when its
 * conditions hold; with @complement, the ALLOW rule for the other values
 * of its one condition instead (a merged profile that allowed the call
 * unconditionally keeps allowing everything but Fast Open).
 */
static JsonNode *
fastopen_rule_new(guint t, gboolean complement)
{
    const PbFastOpenRule *r = &pb_fastopen_rules[t];
    g_autoptr(JsonBuilder) b = json_builder_new();

    g_assert(!complement || r->n_conds == 1);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "names");
    json_builder_begin_array(b);
    json_builder_add_string_value(b, r->name);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "action");
    json_builder_add_string_value(b, complement ? "SCMP_ACT_ALLOW"
                                                : NOTIFY_ACTION);
    json_builder_set_member_name(b, "args");
    json_builder_begin_array(b);
    for (guint i = 0; i < r->n_conds; i++)
        add_masked_cond(b, r->cond[i].index, r->cond[i].mask,
                        complement ? 0 : r->cond[i].value);
    json_builder_end_array(b);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

/* Fill trap[] from the options: connect and listen always, bind unless
 * no_bind. */
static void
wanted_traps(const PbProfileOptions *opts,
             gboolean trap[G_N_ELEMENTS(pb_trapped_calls)])
{
    for (guint i = 0; i < G_N_ELEMENTS(pb_trapped_calls); i++)
        trap[i] = !(opts->no_bind && strcmp(pb_trapped_calls[i], "bind") == 0);
}

/**
 * pb_profile_build:
 * @opts: listener path (required, absolute), metadata (optional), no_bind
 * @error: PB_ERROR_INVALID for a bad listener path
 *
 * Returns: (transfer full) a new profile object node, or NULL.
 */
JsonNode *
pb_profile_build(const PbProfileOptions *opts, GError **error)
{
    g_autoptr(JsonBuilder) b = NULL;
    gboolean trap[G_N_ELEMENTS(pb_trapped_calls)];

    if (!pb_socket_path_check(opts->listener_path, TRUE, error))
        return NULL;
    wanted_traps(opts, trap);

    b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "defaultAction");
    json_builder_add_string_value(b, "SCMP_ACT_ALLOW");
    add_architectures(b);
    json_builder_set_member_name(b, "listenerPath");
    json_builder_add_string_value(b, opts->listener_path);
    if (opts->metadata != NULL) {
        json_builder_set_member_name(b, "listenerMetadata");
        json_builder_add_string_value(b, opts->metadata);
    }
    json_builder_set_member_name(b, "syscalls");
    json_builder_begin_array(b);
    /* the order a merge of this profile keeps (the denial is then one of
     * the profile's own rules, after ours) */
    json_builder_add_value(b, notify_rule_new(trap));
    for (guint t = 0; t < PB_N_FASTOPEN; t++)
        json_builder_add_value(b, fastopen_rule_new(t, FALSE));
    json_builder_add_value(b, deny_rule_new(NULL));
    json_builder_end_array(b);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

/* TRUE if @node is absent, null, or an empty array/object: the way
 * podman's profile spells "no condition" ("args": [], "includes": {}). */
static gboolean
member_is_empty(JsonObject *rule, const char *name)
{
    JsonNode *n = json_object_get_member(rule, name);

    if (n == NULL || JSON_NODE_HOLDS_NULL(n))
        return TRUE;
    if (JSON_NODE_HOLDS_ARRAY(n))
        return json_array_get_length(json_node_get_array(n)) == 0;
    if (JSON_NODE_HOLDS_OBJECT(n))
        return json_object_get_size(json_node_get_object(n)) == 0;
    return FALSE;
}

/* Does @rule apply whatever the arguments, architecture or capabilities
 * (no "args", "includes" or "excludes")? */
static gboolean
unconditional(JsonObject *rule)
{
    return member_is_empty(rule, "args") && member_is_empty(rule, "includes") &&
           member_is_empty(rule, "excludes");
}

/* Actions under which a CONTINUE-ing notifier changes nothing. */
static gboolean
action_allows(const char *action)
{
    return strcmp(action, "SCMP_ACT_ALLOW") == 0 ||
           strcmp(action, "SCMP_ACT_LOG") == 0;
}

/* Read a string member; NULL if absent or not a string. */
static const char *
get_string(JsonObject *o, const char *name)
{
    JsonNode *n = json_object_get_member(o, name);

    if (n == NULL || json_node_get_value_type(n) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string(n);
}

/* Does rule @rule name @name (in "names" or the legacy "name")? */
static gboolean
rule_names_call(JsonObject *rule, const char *name)
{
    JsonNode *names = json_object_get_member(rule, "names");
    const char *legacy = get_string(rule, "name");

    if (legacy != NULL && strcmp(legacy, name) == 0)
        return TRUE;
    if (names != NULL && JSON_NODE_HOLDS_ARRAY(names)) {
        JsonArray *a = json_node_get_array(names);

        for (guint i = 0; i < json_array_get_length(a); i++) {
            const char *n = json_array_get_string_element(a, i);

            if (n != NULL && strcmp(n, name) == 0)
                return TRUE;
        }
    }
    return FALSE;
}

/* Per trapped name: what the existing rules say about it. */
typedef struct {
    gboolean named;   /* some rule names it */
    gboolean allowed; /* an unconditional ALLOW/LOG rule or our NOTIFY */
} TrapState;

/*
 * Validate rule @idx of @source and fold what it says about each trapped
 * name into @st.  Our own earlier NOTIFY rule (@ours: the profile's
 * listenerPath equals the one we set) counts as allowing.
 */
static gboolean
scan_rule(JsonNode *node, guint idx, const char *source, gboolean ours,
          TrapState st[G_N_ELEMENTS(pb_trapped_calls)], GError **error)
{
    JsonObject *rule;
    JsonNode *names;
    const char *action;
    const char *legacy;

    if (!JSON_NODE_HOLDS_OBJECT(node)) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "%s: syscalls[%u] is not an object", source, idx);
        return FALSE;
    }
    rule = json_node_get_object(node);
    action = get_string(rule, "action");
    if (action == NULL) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "%s: syscalls[%u] has no string \"action\"", source, idx);
        return FALSE;
    }
    names = json_object_get_member(rule, "names");
    if (names != NULL && !JSON_NODE_HOLDS_ARRAY(names)) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "%s: syscalls[%u].names is not an array", source, idx);
        return FALSE;
    }
    /* Docker's pre-1.0 format used a single "name"; treat it as names. */
    legacy = get_string(rule, "name");

    for (guint t = 0; t < G_N_ELEMENTS(pb_trapped_calls); t++) {
        gboolean hit =
            legacy != NULL && strcmp(legacy, pb_trapped_calls[t]) == 0;

        if (names != NULL) {
            JsonArray *a = json_node_get_array(names);

            for (guint i = 0; i < json_array_get_length(a); i++) {
                JsonNode *e = json_array_get_element(a, i);

                if (json_node_get_value_type(e) != G_TYPE_STRING) {
                    g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                                "%s: syscalls[%u].names[%u] is not a string",
                                source, idx, i);
                    return FALSE;
                }
                if (strcmp(json_node_get_string(e), pb_trapped_calls[t]) == 0)
                    hit = TRUE;
            }
        }
        if (!hit)
            continue;
        st[t].named = TRUE;
        if (strcmp(action, NOTIFY_ACTION) == 0 && ours) {
            st[t].allowed = TRUE;
            continue;
        }
        if (!action_allows(action) || !unconditional(rule)) {
            /* NOTIFY would behave like ALLOW: refuse to widen a denial or
             * to drop a condition. */
            g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                        "%s: syscalls[%u] gives %s action %s%s; only "
                        "unconditional SCMP_ACT_ALLOW rules can be merged",
                        source, idx, pb_trapped_calls[t], action,
                        action_allows(action) ? " with conditions" : "");
            return FALSE;
        }
        st[t].allowed = TRUE;
    }
    return TRUE;
}

/*
 * Remove the names @list[i] selected by @sel[i] (@n of them) from rule
 * @rule; returns TRUE if the rule named something before and names nothing
 * now (drop it).
 */
static gboolean
strip_names(JsonObject *rule, const char *const *list, const gboolean *sel,
            guint n)
{
    JsonNode *names = json_object_get_member(rule, "names");
    const char *legacy = get_string(rule, "name");
    gboolean had = FALSE;
    gboolean has = FALSE;

    if (legacy != NULL) {
        had = TRUE;
        has = TRUE;
        for (guint t = 0; t < n; t++)
            if (sel[t] && strcmp(legacy, list[t]) == 0) {
                json_object_remove_member(rule, "name");
                has = FALSE;
                break;
            }
    }
    if (names != NULL) {
        JsonArray *a = json_node_get_array(names);
        guint i = 0;

        had = had || json_array_get_length(a) > 0;
        while (i < json_array_get_length(a)) {
            const char *name = json_array_get_string_element(a, i);
            gboolean drop = FALSE;

            for (guint t = 0; t < n; t++)
                if (sel[t] && strcmp(name, list[t]) == 0)
                    drop = TRUE;
            if (drop)
                json_array_remove_element(a, i);
            else
                i++;
        }
        has = has || json_array_get_length(a) > 0;
    }
    return had && !has;
}

/* Does @rule refuse its calls unconditionally? */
static gboolean
denies_outright(JsonObject *rule)
{
    const char *action = get_string(rule, "action");

    return action != NULL && !action_allows(action) && unconditional(rule);
}

/* Does @rule allow its calls unconditionally? */
static gboolean
allows_outright(JsonObject *rule)
{
    const char *action = get_string(rule, "action");

    return action != NULL && action_allows(action) && unconditional(rule);
}

/*
 * Strip the trapped names selected in @trap from every rule, and the
 * denied names selected in @strip from every rule that does not deny them
 * outright; returns TRUE if @rule is left naming nothing (drop it).
 */
static gboolean
strip_rule(JsonObject *rule,
           const gboolean trap[G_N_ELEMENTS(pb_trapped_calls)],
           const gboolean strip[G_N_ELEMENTS(pb_denied_calls)])
{
    gboolean gone = strip_names(rule, pb_trapped_calls, trap,
                                G_N_ELEMENTS(pb_trapped_calls));

    if (!gone && !denies_outright(rule))
        gone = strip_names(rule, pb_denied_calls, strip,
                           G_N_ELEMENTS(pb_denied_calls));
    return gone;
}

/*
 * plan_denials: which io_uring names need our denial rule (@deny) and
 * which are to be stripped from every rule that does not deny them
 * outright (@strip: allowing rules, and conditional or per-architecture
 * denials, which leave other cases open), from the rules @rules and the
 * default action @def.  A name some rule denies outright keeps that rule
 * and gets no second one (libseccomp refuses two actions for one call).
 * Adds one warning when the profile did not deny io_uring outright.
 */
static void
plan_denials(JsonArray *rules, const char *def, const char *source,
             gboolean deny[G_N_ELEMENTS(pb_denied_calls)],
             gboolean strip[G_N_ELEMENTS(pb_denied_calls)], GPtrArray *warnings)
{
    gboolean any = FALSE;

    for (guint d = 0; d < G_N_ELEMENTS(pb_denied_calls); d++) {
        gboolean outright = FALSE, other = FALSE;

        for (guint i = 0; i < json_array_get_length(rules); i++) {
            JsonObject *r = json_array_get_object_element(rules, i);

            if (!rule_names_call(r, pb_denied_calls[d]))
                continue;
            if (denies_outright(r))
                outright = TRUE;
            else
                other = TRUE;
        }
        strip[d] = other;
        deny[d] = !outright && (other || action_allows(def));
        any = any || deny[d] || (outright && other);
    }
    if (any && warnings != NULL)
        g_ptr_array_add(warnings,
                        g_strdup_printf("%s: the profile does not deny "
                                        "io_uring outright; denying it "
                                        "(ENOSYS): its operations are not "
                                        "seen by seccomp",
                                        source));
}

/* Does args condition @c equal (index, mask, value) under
 * SCMP_CMP_MASKED_EQ? */
static gboolean
cond_is(JsonNode *c, guint index, guint64 mask, guint64 value)
{
    JsonObject *o;
    const char *op;

    if (!JSON_NODE_HOLDS_OBJECT(c))
        return FALSE;
    o = json_node_get_object(c);
    op = get_string(o, "op");
    return op != NULL && strcmp(op, "SCMP_CMP_MASKED_EQ") == 0 &&
           json_object_get_size(o) == 4 &&
           json_object_get_int_member_with_default(o, "index", -1) ==
               (gint64)index &&
           json_object_get_int_member_with_default(o, "value", -1) ==
               (gint64)mask &&
           json_object_get_int_member_with_default(o, "valueTwo", -1) ==
               (gint64)value;
}

/* What one of our Fast Open rules is, as fastopen_rule_new() writes it. */
typedef enum {
    FO_NOT_OURS = 0,
    FO_OURS_NOTIFY,
    FO_OURS_ALLOW, /* the complement */
} FoRuleKind;

/*
 * fastopen_rule_kind: is @rule our rule for pb_fastopen_rules[@t]?
 */
static FoRuleKind
fastopen_rule_kind(JsonObject *rule, guint t)
{
    const PbFastOpenRule *r = &pb_fastopen_rules[t];
    JsonNode *names = json_object_get_member(rule, "names");
    JsonNode *args = json_object_get_member(rule, "args");
    const char *action = get_string(rule, "action");
    gboolean allow;
    JsonArray *a;

    if (action == NULL || names == NULL || !JSON_NODE_HOLDS_ARRAY(names) ||
        args == NULL || !JSON_NODE_HOLDS_ARRAY(args) ||
        json_object_has_member(rule, "name") ||
        !member_is_empty(rule, "includes") ||
        !member_is_empty(rule, "excludes"))
        return FO_NOT_OURS;
    a = json_node_get_array(names);
    if (json_array_get_length(a) != 1 ||
        g_strcmp0(json_array_get_string_element(a, 0), r->name) != 0)
        return FO_NOT_OURS;
    allow = strcmp(action, "SCMP_ACT_ALLOW") == 0;
    if (!allow && strcmp(action, NOTIFY_ACTION) != 0)
        return FO_NOT_OURS;
    if (allow && r->n_conds != 1)
        return FO_NOT_OURS;
    a = json_node_get_array(args);
    if (json_array_get_length(a) != r->n_conds)
        return FO_NOT_OURS;
    for (guint i = 0; i < r->n_conds; i++)
        if (!cond_is(json_array_get_element(a, i), r->cond[i].index,
                     r->cond[i].mask, allow ? 0 : r->cond[i].value))
            return FO_NOT_OURS;
    return allow ? FO_OURS_ALLOW : FO_OURS_NOTIFY;
}

/* Is @rule any of our Fast Open rules? */
static gboolean
is_fastopen_rule(JsonObject *rule)
{
    for (guint t = 0; t < PB_N_FASTOPEN; t++)
        if (fastopen_rule_kind(rule, t) != FO_NOT_OURS)
            return TRUE;
    return FALSE;
}

/*
 * plan_fastopen: for each Fast Open call, whether to add our NOTIFY rule
 * (@trap) and whether to take the call out of the unconditional ALLOW
 * rules and add the ALLOW rule for every other value instead (@comp;
 * libseccomp lets an unconditional rule of the same call override a
 * conditional one, or refuses the pair).  A call the profile treats with
 * a rule of its own (conditions, a denial, another notifier) is left to
 * that rule, with a warning.  setsockopt's condition has two parts, whose
 * complement SCMP_CMP_MASKED_EQ cannot express: when a rule allows
 * setsockopt outright, TCP_FASTOPEN_CONNECT is not refused (see
 * docs/bypass.md for why that is safe).  Our own rules from an earlier
 * merge count as what they replaced.
 */
static void
plan_fastopen(JsonArray *rules, const char *def, const char *source,
              gboolean trap[PB_N_FASTOPEN], gboolean comp[PB_N_FASTOPEN],
              GPtrArray *warnings)
{
    for (guint t = 0; t < PB_N_FASTOPEN; t++) {
        gboolean allowed = FALSE, ours = FALSE, other = FALSE;

        for (guint i = 0; i < json_array_get_length(rules); i++) {
            JsonObject *r = json_array_get_object_element(rules, i);
            FoRuleKind k = fastopen_rule_kind(r, t);

            if (k == FO_OURS_NOTIFY)
                ours = TRUE;
            else if (k == FO_OURS_ALLOW)
                allowed = TRUE;
            else if (!rule_names_call(r, pb_fastopen_rules[t].name) ||
                     is_fastopen_rule(r))
                continue;
            else if (allows_outright(r))
                allowed = TRUE;
            else
                other = TRUE;
        }
        trap[t] = comp[t] = FALSE;
        if (other) {
            if (warnings != NULL)
                g_ptr_array_add(
                    warnings,
                    g_strdup_printf("%s: a rule of the profile has conditions "
                                    "or another action for %s; Fast Open "
                                    "through it is left to that rule",
                                    source, pb_fastopen_rules[t].name));
        } else if (allowed) {
            trap[t] = comp[t] = pb_fastopen_rules[t].n_conds == 1;
            if (!trap[t] && warnings != NULL)
                g_ptr_array_add(
                    warnings,
                    g_strdup_printf("%s: %s is allowed outright, so "
                                    "TCP_FASTOPEN_CONNECT is not refused "
                                    "(host sockets stay locked to their "
                                    "interface; see docs/bypass.md)",
                                    source, pb_fastopen_rules[t].name));
        } else {
            trap[t] = ours || action_allows(def);
        }
    }
}

/*
 * warn_socketcall: libseccomp implements a rule on connect, bind or listen
 * for the i386 ABI partly as socketcall(SYS_CONNECT, ...), and an
 * unconditional rule for socketcall itself overrides that: i386 socketcall
 * connects are then not trapped.  Say so when the profile allows it.
 */
static void
warn_socketcall(JsonArray *rules, const char *source, GPtrArray *warnings)
{
    for (guint i = 0; warnings != NULL && i < json_array_get_length(rules);
         i++) {
        JsonObject *r = json_array_get_object_element(rules, i);

        if (rule_names_call(r, "socketcall") && allows_outright(r)) {
            g_ptr_array_add(
                warnings,
                g_strdup_printf("%s: socketcall is allowed outright, which "
                                "keeps i386 socketcall connect/bind/listen "
                                "from being trapped (host sockets stay "
                                "locked to their interface; see "
                                "docs/bypass.md)",
                                source));
            return;
        }
    }
}

/*
 * all_finite: does every number in @node (recursively, at most 64 levels:
 * json-glib's parser allows no deeper) fit a double?
 */
static gboolean
all_finite(JsonNode *node)
{
    switch (JSON_NODE_TYPE(node)) {
    case JSON_NODE_OBJECT: {
        g_autoptr(GList) members =
            json_object_get_values(json_node_get_object(node));

        for (GList *l = members; l != NULL; l = l->next)
            if (!all_finite(l->data))
                return FALSE;
        return TRUE;
    }
    case JSON_NODE_ARRAY: {
        JsonArray *a = json_node_get_array(node);

        for (guint i = 0; i < json_array_get_length(a); i++)
            if (!all_finite(json_array_get_element(a, i)))
                return FALSE;
        return TRUE;
    }
    case JSON_NODE_VALUE:
        return json_node_get_value_type(node) != G_TYPE_DOUBLE ||
               isfinite(json_node_get_double(node));
    default:
        return TRUE;
    }
}

/**
 * pb_profile_merge:
 * @data: the existing profile's JSON text
 * @len: its length, or -1 if NUL-terminated
 * @source: the name used in messages (the file name)
 * @opts: listener path (required, absolute), metadata (NULL: keep the
 *   existing one), no_bind
 * @warnings: (nullable): receives one line (char *) per call left untrapped
 * @error: PB_ERROR_INVALID naming @source and the offending part
 *
 * Rewrites the profile as described at the top of this file.  Errors: not
 * JSON, not an object, defaultAction missing or SCMP_ACT_NOTIFY (runc
 * forbids it), a different listenerPath already set, malformed rules, a
 * trapped call denied or conditionally allowed by a rule, connect not
 * allowed at all (nothing to bypass).
 *
 * Returns: (transfer full) the rewritten profile, or NULL.
 */
JsonNode *
pb_profile_merge(const char *data, gssize len, const char *source,
                 const PbProfileOptions *opts, GPtrArray *warnings,
                 GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) local = NULL;
    JsonNode *root;
    JsonNode *result = NULL;
    JsonObject *prof;
    JsonNode *sys;
    JsonArray *rules;
    g_autoptr(JsonArray) out = NULL;
    const char *def;
    const char *old_path;
    gboolean ours;
    gboolean trap[G_N_ELEMENTS(pb_trapped_calls)];
    TrapState st[G_N_ELEMENTS(pb_trapped_calls)] = { { 0 } };
    gboolean deny[G_N_ELEMENTS(pb_denied_calls)];
    gboolean strip[G_N_ELEMENTS(pb_denied_calls)];
    gboolean fo_trap[PB_N_FASTOPEN], fo_comp[PB_N_FASTOPEN];
    const char *fo_names[PB_N_FASTOPEN];
    JsonNode *deny_rule;

    if (!pb_socket_path_check(opts->listener_path, TRUE, error))
        goto out;
    if (!json_parser_load_from_data(parser, data, len, &local)) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID, "%s: not valid JSON: %s",
                    source, local->message);
        goto out;
    }
    root = json_parser_get_root(parser);
    if (root == NULL) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "%s: empty, not a seccomp profile", source);
        goto out;
    }
    if (!all_finite(root)) {
        /* 1e999 parses as infinity, which would be written back as
         * "inf": not JSON any more */
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "%s: a number out of range", source);
        goto out;
    }
    if (!JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "%s: not a seccomp profile (the top level is not an "
                    "object)",
                    source);
        goto out;
    }
    prof = json_node_get_object(root);

    def = get_string(prof, "defaultAction");
    if (def == NULL) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "%s: no string \"defaultAction\"", source);
        goto out;
    }
    if (strcmp(def, NOTIFY_ACTION) == 0) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "%s: defaultAction is SCMP_ACT_NOTIFY, which runc "
                    "refuses and which would trap every syscall",
                    source);
        goto out;
    }

    if (json_object_has_member(prof, "listenerPath") &&
        !JSON_NODE_HOLDS_NULL(json_object_get_member(prof, "listenerPath"))) {
        old_path = get_string(prof, "listenerPath");
        if (old_path == NULL) {
            g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                        "%s: listenerPath is not a string", source);
            goto out;
        }
        if (old_path[0] != '\0' && strcmp(old_path, opts->listener_path) != 0) {
            g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                        "%s: already has listenerPath '%s' (another seccomp "
                        "agent); refusing to replace it with '%s'",
                        source, old_path, opts->listener_path);
            goto out;
        }
    }
    ours =
        g_strcmp0(get_string(prof, "listenerPath"), opts->listener_path) == 0;

    sys = json_object_get_member(prof, "syscalls");
    if (sys == NULL || JSON_NODE_HOLDS_NULL(sys)) {
        json_object_set_array_member(prof, "syscalls", json_array_new());
        sys = json_object_get_member(prof, "syscalls");
    }
    if (!JSON_NODE_HOLDS_ARRAY(sys)) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "%s: \"syscalls\" is not an array", source);
        goto out;
    }
    rules = json_node_get_array(sys);
    for (guint i = 0; i < json_array_get_length(rules); i++)
        if (!scan_rule(json_array_get_element(rules, i), i, source, ours, st,
                       error))
            goto out;

    wanted_traps(opts, trap);
    for (guint t = 0; t < G_N_ELEMENTS(pb_trapped_calls); t++) {
        /* Not named anywhere: the default action decides. */
        gboolean allowed = st[t].named ? st[t].allowed : action_allows(def);

        if (!trap[t] || allowed)
            continue;
        trap[t] = FALSE;
        if (strcmp(pb_trapped_calls[t], "connect") == 0) {
            g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                        "%s: the profile does not allow connect; there is "
                        "nothing to bypass",
                        source);
            goto out;
        }
        if (warnings != NULL)
            g_ptr_array_add(warnings,
                            g_strdup_printf("%s: the profile does not allow "
                                            "%s; not trapping it",
                                            source, pb_trapped_calls[t]));
    }

    plan_denials(rules, def, source, deny, strip, warnings);
    plan_fastopen(rules, def, source, fo_trap, fo_comp, warnings);
    warn_socketcall(rules, source, warnings);
    for (guint t = 0; t < PB_N_FASTOPEN; t++)
        fo_names[t] = pb_fastopen_rules[t].name;

    /* Rebuild the rule list: ours first (NOTIFY, the Fast Open rules, then
     * the denial if one is needed), then the others minus the trapped
     * names, the allowed io_uring names and the Fast Open sends we split
     * (our previous NOTIFY and Fast Open rules disappear). */
    out = json_array_new();
    json_array_add_element(out, notify_rule_new(trap));
    for (guint t = 0; t < PB_N_FASTOPEN; t++) {
        if (fo_trap[t])
            json_array_add_element(out, fastopen_rule_new(t, FALSE));
        if (fo_comp[t])
            json_array_add_element(out, fastopen_rule_new(t, TRUE));
    }
    deny_rule = deny_rule_new(deny);
    if (deny_rule != NULL)
        json_array_add_element(out, deny_rule);
    for (guint i = 0; i < json_array_get_length(rules); i++) {
        JsonNode *n = json_array_get_element(rules, i);
        JsonObject *o = json_node_get_object(n);

        if (is_fastopen_rule(o) || strip_rule(o, trap, strip))
            continue;
        if (allows_outright(o) &&
            strip_names(o, fo_names, fo_comp, PB_N_FASTOPEN))
            continue;
        json_array_add_element(out, json_node_copy(n));
    }
    json_object_set_array_member(prof, "syscalls", json_array_ref(out));

    json_object_set_string_member(prof, "listenerPath", opts->listener_path);
    if (opts->metadata != NULL)
        json_object_set_string_member(prof, "listenerMetadata", opts->metadata);
    result = json_node_copy(root);
out:
    return result;
}

/**
 * pb_profile_to_json:
 * @profile: a profile node
 *
 * Returns: (transfer full) pretty-printed JSON with a trailing newline.
 */
char *
pb_profile_to_json(JsonNode *profile)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *text = NULL;

    json_generator_set_pretty(gen, TRUE);
    json_generator_set_indent(gen, 2);
    json_generator_set_root(gen, profile);
    text = json_generator_to_data(gen, NULL);
    return g_strconcat(text, "\n", NULL);
}
