/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli.c: the slirp4netns-compatible command line.
 *
 * Theory of operation: engines (podman, rootlesskit) launch us with a
 * slirp4netns argv and grep our --help, so the parser reproduces
 * slirp4netns 1.2.0/HEAD observable behaviour: the same getopt_long
 * option table in the same order (so abbreviations and "ambiguous"
 * messages match), the same error texts, and the same split between
 * errors that print the usage (option and positional errors:
 * SB_ERROR_USAGE) and errors that do not (CIDR, outbound address and MAC
 * address, which slirp4netns checks after parsing: SB_ERROR_INVALID).
 * Nothing is printed here: errors come back as a GError whose message is
 * the text slirp4netns writes to stderr, and WARNING lines are queued in
 * cfg->warnings in the order slirp4netns prints them, so main() owns the
 * output streams and the unit tests can see everything.
 *
 * Parsing runs in three phases, in slirp4netns's order:
 *   1. the getopt_long loop: per-option checks (numbers, --userns-path,
 *      --target-type, extensions);
 *   2. positionals and cross-option checks (--macaddress needs -c, BESS
 *      conflicts, PID/PATH/FD, TAPNAME);
 *   3. configuration: --cidr, --outbound-addr, --outbound-addr6, MAC.
 * Where slirp4netns crashes, truncates or accepts garbage (MTU 1..67 that
 * libslirp refuses later, fds beyond INT_MAX, over-long TAPNAMEs, the
 * --outbound-addr6 interface lookup reading the IPv4 option) we refuse or
 * fix it up front with a one-line message instead.
 */
#include "slirp_bridge.h"
#include "sb_build_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* clang-format would space the dashes of the stringified quark name */
// clang-format off
G_DEFINE_QUARK(sb-error-quark, sb_error)
// clang-format on

/* libslirp's IF_MTU_MIN / IF_MTU_MAX (src/if.h). */
#define SB_MTU_MIN 68
#define SB_MTU_MAX 65521

/* Long-only options: values above any char so getopt never confuses them
 * with a short option (see report_getopt_error()). */
enum {
    OPT_CIDR = 256,
    OPT_DISABLE_HOST_LOOPBACK,
    OPT_NO_HOST_LOOPBACK,
    OPT_NETNS_TYPE,
    OPT_USERNS_PATH,
    OPT_ENABLE_SANDBOX,
    OPT_CREATE_SANDBOX,
    OPT_ENABLE_SECCOMP,
    OPT_OUTBOUND_ADDR,
    OPT_OUTBOUND_ADDR6,
    OPT_DISABLE_DNS,
    OPT_MACADDRESS,
    OPT_TARGET_TYPE,
    OPT_BYPASS_SOCKET,
    OPT_BYPASS_AGENT,
    OPT_BYPASS_IGNORE,
};

/* The leading ':' makes getopt silent and return ':' for a missing
 * argument; we rebuild glibc's messages ourselves. */
static const char short_opts[] = ":ce:r:m:a:6hvp:o:";

/* slirp4netns's longopts, in its order (the order shows in glibc's
 * "ambiguous; possibilities:" message), then our extensions. */
static const struct option long_opts[] = {
    { "configure", no_argument, NULL, 'c' },
    { "exit-fd", required_argument, NULL, 'e' },
    { "ready-fd", required_argument, NULL, 'r' },
    { "mtu", required_argument, NULL, 'm' },
    { "cidr", required_argument, NULL, OPT_CIDR },
    { "disable-host-loopback", no_argument, NULL, OPT_DISABLE_HOST_LOOPBACK },
    { "no-host-loopback", no_argument, NULL, OPT_NO_HOST_LOOPBACK },
    { "netns-type", required_argument, NULL, OPT_NETNS_TYPE },
    { "userns-path", required_argument, NULL, OPT_USERNS_PATH },
    { "api-socket", required_argument, NULL, 'a' },
    { "enable-ipv6", no_argument, NULL, '6' },
    { "enable-sandbox", no_argument, NULL, OPT_ENABLE_SANDBOX },
    { "create-sandbox", no_argument, NULL, OPT_CREATE_SANDBOX },
    { "enable-seccomp", no_argument, NULL, OPT_ENABLE_SECCOMP },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'v' },
    { "outbound-addr", required_argument, NULL, OPT_OUTBOUND_ADDR },
    { "outbound-addr6", required_argument, NULL, OPT_OUTBOUND_ADDR6 },
    { "disable-dns", no_argument, NULL, OPT_DISABLE_DNS },
    { "macaddress", required_argument, NULL, OPT_MACADDRESS },
    { "target-type", required_argument, NULL, OPT_TARGET_TYPE },
    /* slirpbypass extensions */
    { "publish", required_argument, NULL, 'p' },
    { "bypass-socket", required_argument, NULL, OPT_BYPASS_SOCKET },
    { "bypass-agent", required_argument, NULL, OPT_BYPASS_AGENT },
    { "bypass-ignore", required_argument, NULL, OPT_BYPASS_IGNORE },
    { "options", required_argument, NULL, 'o' },
    { NULL, 0, NULL, 0 },
};

/* Option strings kept until phase 2/3 (slirp4netns checks these after
 * the loop, so option order does not matter). */
typedef struct {
    const char *netns_type; /* NULL: not given */
    const char *macaddress;
    const char *cidr;
    const char *outbound_addr;
    const char *outbound_addr6;
    GPtrArray *keep; /* strings of -o and the config files (GStrv) */
} ParseState;

static gboolean set_error(GError **error, SbErrorCode code, const char *fmt,
                          ...) G_GNUC_PRINTF(3, 4);

/**
 * set_error: set @error to @code with a printf-formatted message.
 * @error: may be NULL.  Returns FALSE so callers can `return set_error(...)`.
 */
static gboolean
set_error(GError **error, SbErrorCode code, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(error, SB_ERROR, code, msg);
    return FALSE;
}

/**
 * parse_long: strtol() with the checks slirp4netns forgets.
 * @s: the text; leading blanks and a sign are allowed (as strtol does,
 *     and slirp4netns accepts " 3"), trailing garbage is not.
 * @out: the value, written only on success.
 * Returns TRUE if @s is a whole base-10 number that fits in a long.
 */
static gboolean
parse_long(const char *s, long *out)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return FALSE;
    *out = v;
    return TRUE;
}

/**
 * parse_fd_arg: a non-negative int for -e/-r/FD.
 * Returns the fd, or -1 if @s is not an integer in 0..INT_MAX (slirp4netns
 * silently truncated larger values to int).
 */
static int
parse_fd_arg(const char *s)
{
    long v;

    if (!parse_long(s, &v) || v < 0 || v > INT_MAX)
        return -1;
    return (int)v;
}

/**
 * report_getopt_error: turn a silent getopt_long failure into glibc's own
 * message (what slirp4netns prints, prefixed by argv[0]).
 * @c: ':' (missing argument) or '?' (anything else).
 * The element that failed is argv[optind - 1] for every long-option error
 * and for a missing short-option argument (glibc has stepped past it);
 * long-only options have values >= 256 and a short option's value is its
 * character, so optopt tells the cases apart.
 */
static gboolean
report_getopt_error(int c, char **argv, GError **error)
{
    const char *argv0 = argv[0];
    const char *elem = argv[optind - 1];
    const struct option *o;

    if (c == ':') {
        if (g_str_has_prefix(elem, "--")) {
            for (o = long_opts; o->name; o++)
                if (o->val == optopt)
                    break;
            return set_error(error, SB_ERROR_USAGE,
                             "%s: option '--%s' requires an argument", argv0,
                             o->name ? o->name : elem + 2);
        }
        return set_error(error, SB_ERROR_USAGE,
                         "%s: option requires an argument -- '%c'", argv0,
                         optopt);
    }
    if (optopt >= 256 ||
        (optopt > 0 && optopt != ':' && strchr(short_opts + 1, optopt))) {
        /* "--configure=x": a known long option given an argument. */
        for (o = long_opts; o->name; o++)
            if (o->val == optopt)
                break;
        return set_error(error, SB_ERROR_USAGE,
                         "%s: option '--%s' doesn't allow an argument", argv0,
                         o->name ? o->name : "?");
    }
    if (optopt != 0)
        return set_error(error, SB_ERROR_USAGE, "%s: invalid option -- '%c'",
                         argv0, optopt);

    /* Unknown or ambiguous long option: glibc lists every prefix match
     * in table order when there is more than one. */
    {
        const char *name = elem + 2;
        size_t namelen = strcspn(name, "=");
        g_autoptr(GString) amb = g_string_new(NULL);
        guint matches = 0;

        for (o = long_opts; o->name; o++) {
            if (strncmp(o->name, name, namelen) == 0) {
                g_string_append_printf(amb, " '--%s'", o->name);
                matches++;
            }
        }
        if (matches > 1)
            return set_error(error, SB_ERROR_USAGE,
                             "%s: option '%s' is ambiguous; possibilities:%s",
                             argv0, elem, amb->str);
        return set_error(error, SB_ERROR_USAGE, "%s: unrecognized option '%s'",
                         argv0, elem);
    }
}

/**
 * check_cidr_any: validate one --bypass-ignore entry, "ADDR/PREFIX" with
 * an IPv4 (prefix 0..32) or IPv6 (prefix 0..128) address.
 * Returns TRUE if valid.
 */
static gboolean
check_cidr_any(const char *s)
{
    const char *slash = strrchr(s, '/');
    g_autofree char *addr = NULL;
    guint8 buf[sizeof(struct in6_addr)];
    long prefix;
    const char *p;

    if (slash == NULL || slash == s || slash[1] == '\0' || strlen(slash) > 4)
        return FALSE;
    for (p = slash + 1; *p; p++)
        if (!g_ascii_isdigit(*p))
            return FALSE;
    if (!parse_long(slash + 1, &prefix))
        return FALSE;
    addr = g_strndup(s, slash - s);
    if (inet_pton(AF_INET, addr, buf) == 1)
        return prefix <= 32;
    if (inet_pton(AF_INET6, addr, buf) == 1)
        return prefix <= 128;
    return FALSE;
}

/**
 * add_bypass_ignore: split a --bypass-ignore value on ',' and append each
 * validated CIDR to cfg->bypass_ignore.
 * Errors: SB_ERROR_USAGE naming the first bad entry.
 */
static gboolean
add_bypass_ignore(SbConfig *cfg, const char *value, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(value, ",", -1);
    guint i;

    if (parts[0] == NULL)
        return set_error(error, SB_ERROR_USAGE,
                         "--bypass-ignore needs CIDR[,CIDR...], got \"\"");
    for (i = 0; parts[i]; i++) {
        if (!check_cidr_any(parts[i]))
            return set_error(error, SB_ERROR_USAGE,
                             "--bypass-ignore: \"%s\" is not an IPv4 or IPv6 "
                             "CIDR like 192.168.0.0/16 or fd00::/8",
                             parts[i]);
    }
    for (i = 0; parts[i]; i++)
        g_ptr_array_add(cfg->bypass_ignore, g_strdup(parts[i]));
    return TRUE;
}

/**
 * check_tapname: refuse names the kernel would truncate (slirp4netns
 * silently creates a different interface) or reject later.
 * Returns TRUE if @name is 1..IFNAMSIZ-1 bytes without '/', ':' or blanks
 * and is not "." or "..".
 */
static gboolean
check_tapname(const char *name, GError **error)
{
    const char *p;
    size_t len = strlen(name);
    gboolean ok = len > 0 && len < IFNAMSIZ && strcmp(name, ".") != 0 &&
                  strcmp(name, "..") != 0;

    for (p = name; ok && *p; p++)
        if (*p == '/' || *p == ':' || g_ascii_isspace(*p))
            ok = FALSE;
    if (!ok)
        return set_error(error, SB_ERROR_USAGE,
                         "invalid TAPNAME \"%s\": it must be 1-%d characters "
                         "without '/', ':' or blanks",
                         name, IFNAMSIZ - 1);
    return TRUE;
}

/**
 * resolve_outbound: --outbound-addr / --outbound-addr6 value to a socket
 * address: a literal address of @family, otherwise the first address of
 * that family on the host interface named @s (getifaddrs).  Unlike
 * slirp4netns, the IPv6 lookup uses its own option's string.
 * @out: a struct sockaddr_in or sockaddr_in6 (port 0), written on success.
 * Returns TRUE if resolved.
 */
static gboolean
resolve_outbound(const char *s, int family, void *out)
{
    struct ifaddrs *ifas = NULL, *ifa;
    gboolean found = FALSE;

    if (family == AF_INET) {
        struct sockaddr_in *sin = out;
        struct in_addr a;
        if (inet_pton(AF_INET, s, &a) == 1) {
            memset(sin, 0, sizeof *sin);
            sin->sin_family = AF_INET;
            sin->sin_addr = a;
            return TRUE;
        }
    } else {
        struct sockaddr_in6 *sin6 = out;
        struct in6_addr a6;
        if (inet_pton(AF_INET6, s, &a6) == 1) {
            memset(sin6, 0, sizeof *sin6);
            sin6->sin6_family = AF_INET6;
            sin6->sin6_addr = a6;
            return TRUE;
        }
    }
    if (getifaddrs(&ifas) != 0)
        return FALSE;
    for (ifa = ifas; ifa != NULL && !found; ifa = ifa->ifa_next) {
        if (ifa->ifa_addr == NULL || ifa->ifa_addr->sa_family != family ||
            strcmp(ifa->ifa_name, s) != 0)
            continue;
        if (family == AF_INET) {
            struct sockaddr_in *sin = out;
            memcpy(sin, ifa->ifa_addr, sizeof *sin);
            sin->sin_port = 0;
        } else {
            /* Keep sin6_scope_id: a link-local address needs it to bind. */
            struct sockaddr_in6 *sin6 = out;
            memcpy(sin6, ifa->ifa_addr, sizeof *sin6);
            sin6->sin6_port = 0;
        }
        found = TRUE;
    }
    freeifaddrs(ifas);
    return found;
}

/**
 * parse_options: phase 1, the getopt_long loop.
 * @st: receives the option strings checked in later phases.
 * @action: set to HELP/VERSION, which stop parsing at once.
 * Returns FALSE with SB_ERROR_USAGE on a bad option.
 */
/* "true"/"false" (podman's values); FALSE if neither. */
static gboolean
parse_bool(const char *value, gboolean *out)
{
    if (strcmp(value, "true") == 0)
        *out = TRUE;
    else if (strcmp(value, "false") == 0)
        *out = FALSE;
    else
        return FALSE;
    return TRUE;
}

/*
 * apply_option: one KEY=VALUE of -o/--options or of a config file (@where
 * names it for the message): podman's slirp4netns option keys plus
 * bypass and bypass_ignore, mapped to the command line options they mean.
 * String values that later checks validate (cidr, outbound_addr*) are kept
 * in @st and checked with the command line's; their strings must outlive
 * parsing (the caller keeps them).
 * Errors: SB_ERROR_INVALID naming the key, the value and @where.
 */
static gboolean
apply_option(SbConfig *cfg, ParseState *st, const char *key, const char *value,
             const char *where, GError **error)
{
    gboolean b;
    long v;

    if (strcmp(key, "cidr") == 0) {
        st->cidr = value;
    } else if (strcmp(key, "allow_host_loopback") == 0) {
        if (!parse_bool(value, &b))
            goto bad_bool;
        cfg->disable_host_loopback = !b;
    } else if (strcmp(key, "enable_ipv6") == 0) {
        if (!parse_bool(value, &b))
            goto bad_bool;
        cfg->enable_ipv6 = b;
    } else if (strcmp(key, "mtu") == 0) {
        if (!parse_long(value, &v) || v < SB_MTU_MIN || v > SB_MTU_MAX)
            return set_error(error, SB_ERROR_INVALID,
                             "%s: mtu=%s: must be a number %d-%d", where, value,
                             SB_MTU_MIN, SB_MTU_MAX);
        cfg->mtu = (guint)v;
    } else if (strcmp(key, "outbound_addr") == 0) {
        st->outbound_addr = value;
    } else if (strcmp(key, "outbound_addr6") == 0) {
        st->outbound_addr6 = value;
    } else if (strcmp(key, "port_handler") == 0) {
        /* podman's choice of who serves published ports: nothing to do
         * here, but only its two values are valid */
        if (strcmp(value, "slirp4netns") != 0 &&
            strcmp(value, "rootlesskit") != 0)
            return set_error(error, SB_ERROR_INVALID,
                             "%s: port_handler=%s: must be slirp4netns or "
                             "rootlesskit",
                             where, value);
    } else if (strcmp(key, "bypass") == 0) {
        if (!parse_bool(value, &b))
            goto bad_bool;
        g_clear_pointer(&cfg->bypass_agent, g_free);
        cfg->bypass_soft = b;
        if (b)
            cfg->bypass_agent = sb_default_agent_socket();
    } else if (strcmp(key, "bypass_ignore") == 0) {
        g_autofree char *list = g_strdup(value);

        /* ';' separates CIDRs here: ',' separates the options */
        g_strdelimit(list, ";", ',');
        if (!add_bypass_ignore(cfg, list, error)) {
            g_prefix_error(error, "%s: bypass_ignore=%s: ", where, value);
            return FALSE;
        }
    } else {
        return set_error(error, SB_ERROR_INVALID,
                         "%s: unknown option '%s' (known: cidr, "
                         "allow_host_loopback, enable_ipv6, mtu, "
                         "outbound_addr, outbound_addr6, port_handler, "
                         "bypass, bypass_ignore)",
                         where, key);
    }
    return TRUE;

bad_bool:
    return set_error(error, SB_ERROR_INVALID,
                     "%s: %s=%s: must be true or false", where, key, value);
}

/*
 * apply_options: -o KEY=VALUE[,KEY=VALUE...] (podman's grammar).  The
 * pieces are kept in @keep (they are referenced from @st).
 */
static gboolean
apply_options(SbConfig *cfg, ParseState *st, const char *arg, GPtrArray *keep,
              GError **error)
{
    char **items = g_strsplit(arg, ",", -1);

    g_ptr_array_add(keep, items);
    for (guint i = 0; items[i] != NULL; i++) {
        char *eq = strchr(items[i], '=');

        if (eq == NULL || eq == items[i])
            return set_error(error, SB_ERROR_INVALID,
                             "-o: '%s' is not KEY=VALUE", items[i]);
        *eq = '\0';
        if (!apply_option(cfg, st, items[i], eq + 1, "-o", error))
            return FALSE;
    }
    return TRUE;
}

static gboolean
parse_options(int argc, char **argv, SbConfig *cfg, ParseState *st,
              SbCliAction *action, GError **error)
{
    int c;
    long v;

    /* optind = 0 makes glibc re-initialise (tests parse many times). */
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            cfg->configure = TRUE;
            break;
        case 'e':
            cfg->exit_fd = parse_fd_arg(optarg);
            if (cfg->exit_fd < 0)
                return set_error(error, SB_ERROR_USAGE,
                                 "exit-fd must be a non-negative integer");
            break;
        case 'r':
            cfg->ready_fd = parse_fd_arg(optarg);
            if (cfg->ready_fd < 0)
                return set_error(error, SB_ERROR_USAGE,
                                 "ready-fd must be a non-negative integer");
            break;
        case 'm':
            if (!parse_long(optarg, &v) || v <= 0 || v > SB_MTU_MAX)
                return set_error(error, SB_ERROR_USAGE,
                                 "MTU must be a positive integer (< 65522)");
            if (v < SB_MTU_MIN)
                /* slirp4netns accepts this and fails later (or libslirp
                 * misbehaves); refuse it here. */
                return set_error(error, SB_ERROR_USAGE,
                                 "MTU %ld is too small: it must be %d-%d", v,
                                 SB_MTU_MIN, SB_MTU_MAX);
            cfg->mtu = (guint)v;
            break;
        case '6':
            cfg->enable_ipv6 = TRUE;
            g_ptr_array_add(cfg->warnings,
                            g_strdup("WARNING: Support for IPv6 is "
                                     "experimental"));
            break;
        case 'a':
            g_free(cfg->api_socket);
            cfg->api_socket = g_strdup(optarg);
            break;
        case 'h':
            *action = SB_CLI_HELP;
            return TRUE;
        case 'v':
            *action = SB_CLI_VERSION;
            return TRUE;
        case OPT_CIDR:
            st->cidr = optarg;
            break;
        case OPT_NO_HOST_LOOPBACK:
            g_ptr_array_add(
                cfg->warnings,
                g_strdup("WARNING: --no-host-loopback is deprecated and will "
                         "be removed in future releases, please use "
                         "--disable-host-loopback instead."));
            /* fall through */
        case OPT_DISABLE_HOST_LOOPBACK:
            cfg->disable_host_loopback = TRUE;
            break;
        case OPT_NETNS_TYPE:
            st->netns_type = optarg;
            break;
        case OPT_USERNS_PATH:
            /* Checked at once, like slirp4netns (an earlier bad option
             * still wins). */
            if (access(optarg, F_OK) != 0)
                return set_error(error, SB_ERROR_USAGE,
                                 "userns path doesn't exist: %s", optarg);
            g_free(cfg->userns_path);
            cfg->userns_path = g_strdup(optarg);
            break;
        case OPT_CREATE_SANDBOX:
            g_ptr_array_add(
                cfg->warnings,
                g_strdup("WARNING: --create-sandbox is deprecated and will be "
                         "removed in future releases, please use "
                         "--enable-sandbox instead."));
            /* fall through */
        case OPT_ENABLE_SANDBOX:
            cfg->enable_sandbox = TRUE;
            break;
        case OPT_ENABLE_SECCOMP:
            cfg->enable_seccomp = TRUE;
            g_ptr_array_add(cfg->warnings,
                            g_strdup("WARNING: Support for seccomp is "
                                     "experimental"));
            break;
        case OPT_OUTBOUND_ADDR:
            st->outbound_addr = optarg;
            g_ptr_array_add(cfg->warnings,
                            g_strdup("WARNING: Support for --outbound-addr "
                                     "is experimental"));
            break;
        case OPT_OUTBOUND_ADDR6:
            st->outbound_addr6 = optarg;
            g_ptr_array_add(cfg->warnings,
                            g_strdup("WARNING: Support for --outbound-addr6 "
                                     "is experimental"));
            break;
        case OPT_DISABLE_DNS:
            cfg->disable_dns = TRUE;
            break;
        case OPT_MACADDRESS:
            st->macaddress = optarg;
            break;
        case OPT_TARGET_TYPE:
            if (strcmp(optarg, "netns") == 0)
                cfg->target_type = SB_TARGET_NETNS;
            else if (strcmp(optarg, "bess") == 0)
                cfg->target_type = SB_TARGET_BESS;
            else
                return set_error(error, SB_ERROR_USAGE,
                                 "--target-type must be either \"netns\" or "
                                 "\"bess\"");
            break;
        case 'p':
            g_ptr_array_add(cfg->publish, g_strdup(optarg));
            break;
        case OPT_BYPASS_SOCKET:
            if (optarg[0] == '\0')
                return set_error(error, SB_ERROR_USAGE,
                                 "--bypass-socket needs a non-empty PATH");
            g_free(cfg->bypass_socket);
            cfg->bypass_socket = g_strdup(optarg);
            break;
        case OPT_BYPASS_AGENT:
            if (optarg[0] != '/')
                return set_error(error, SB_ERROR_USAGE,
                                 "--bypass-agent needs an absolute PATH, got "
                                 "\"%s\"",
                                 optarg);
            g_free(cfg->bypass_agent);
            cfg->bypass_agent = g_strdup(optarg);
            cfg->bypass_soft = FALSE;
            break;
        case 'o':
            if (!apply_options(cfg, st, optarg, st->keep, error))
                return FALSE;
            break;
        case OPT_BYPASS_IGNORE:
            if (!add_bypass_ignore(cfg, optarg, error))
                return FALSE;
            break;
        default: /* ':' or '?' */
            return report_getopt_error(c, argv, error);
        }
    }
    return TRUE;
}

/**
 * parse_positionals: phase 2, cross-option checks and PID|PATH|FD
 * [TAPNAME], in slirp4netns's order.
 * Errors: SB_ERROR_USAGE (an empty message where slirp4netns prints only
 * the usage).
 */
static gboolean
parse_positionals(int argc, char **argv, SbConfig *cfg, const ParseState *st,
                  GError **error)
{
    int nargs = argc - optind;
    char **args = argv + optind;
    long v;

    if (st->macaddress != NULL && !cfg->configure)
        return set_error(error, SB_ERROR_USAGE,
                         "--macaddr cannot be specified when --configure or "
                         "-c is not specified");

    if (cfg->target_type == SB_TARGET_BESS) {
        if (nargs < 1)
            return set_error(error, SB_ERROR_USAGE, "%s", "");
        if (nargs > 1)
            return set_error(error, SB_ERROR_USAGE, "too many arguments");
        if (cfg->configure)
            return set_error(error, SB_ERROR_USAGE,
                             "--configure conflicts with --target-type=bess");
        if (st->netns_type != NULL)
            return set_error(error, SB_ERROR_USAGE,
                             "--netns-type conflicts with --target-type=bess");
        if (cfg->userns_path != NULL)
            return set_error(error, SB_ERROR_USAGE,
                             "--userns-path conflicts with --target-type=bess");
        cfg->netns_path = g_strdup(args[0]);
        g_ptr_array_add(cfg->warnings,
                        g_strdup("WARNING: BESS mode is experimental"));
        return TRUE;
    }

    if (st->netns_type != NULL && strcmp(st->netns_type, "tapfd") == 0) {
        cfg->netns_type = SB_NETNS_TAPFD;
        if (nargs < 1)
            return set_error(error, SB_ERROR_USAGE, "%s", "");
        if (nargs > 2)
            g_ptr_array_add(cfg->warnings,
                            g_strdup("WARNING: too many arguments"));
        cfg->target_tapfd = parse_fd_arg(args[0]);
        if (cfg->target_tapfd < 0)
            return set_error(error, SB_ERROR_USAGE,
                             "FD must be a non-negative integer when "
                             "--netns-type=tapfd");
        if (fcntl(cfg->target_tapfd, F_GETFD) < 0)
            return set_error(error, SB_ERROR_USAGE,
                             "FD %d is not an open file descriptor: %s",
                             cfg->target_tapfd, g_strerror(errno));
        if (nargs >= 2) {
            if (!check_tapname(args[1], error))
                return FALSE;
            cfg->tapname = g_strdup(args[1]);
        }
        /* The tap is already configured by whoever opened it. */
        cfg->configure = FALSE;
        return TRUE;
    }

    if (nargs < 2)
        return set_error(error, SB_ERROR_USAGE, "%s", "");
    if (nargs > 2)
        g_ptr_array_add(cfg->warnings, g_strdup("WARNING: too many arguments"));
    if (st->netns_type == NULL || strcmp(st->netns_type, "pid") == 0) {
        cfg->netns_type = SB_NETNS_PID;
        if (!parse_long(args[0], &v) || v <= 0 || v > INT_MAX)
            return set_error(error, SB_ERROR_USAGE,
                             "PID must be a positive integer");
        cfg->target_pid = (pid_t)v;
    } else {
        /* Any other string means path mode, as in slirp4netns. */
        cfg->netns_type = SB_NETNS_PATH;
        if (access(args[0], F_OK) != 0)
            return set_error(error, SB_ERROR_USAGE,
                             "existing path expected when --netns-type=path: "
                             "%s",
                             g_strerror(errno));
        cfg->netns_path = g_strdup(args[0]);
    }
    if (!check_tapname(args[1], error))
        return FALSE;
    cfg->tapname = g_strdup(args[1]);
    return TRUE;
}

/**
 * apply_config: phase 3, values slirp4netns converts after parsing (no
 * usage on error): --cidr, --outbound-addr, --outbound-addr6, --macaddress.
 * Errors: SB_ERROR_INVALID.
 */
static gboolean
apply_config(SbConfig *cfg, const ParseState *st, GError **error)
{
    g_autoptr(GError) local = NULL;

    if (st->cidr != NULL && !sb_vnet_from_cidr(st->cidr, &cfg->vnet, error))
        return FALSE;
    if (st->outbound_addr != NULL) {
        if (!resolve_outbound(st->outbound_addr, AF_INET, &cfg->outbound_addr))
            return set_error(error, SB_ERROR_INVALID,
                             "outbound-addr has to be valid ipv4 address or "
                             "interface name.");
        cfg->has_outbound_addr = TRUE;
    }
    if (st->outbound_addr6 != NULL) {
        if (!resolve_outbound(st->outbound_addr6, AF_INET6,
                              &cfg->outbound_addr6))
            return set_error(error, SB_ERROR_INVALID,
                             "outbound-addr6 has to be valid ipv6 address or "
                             "interface name.");
        cfg->has_outbound_addr6 = TRUE;
    }
    if (st->macaddress != NULL) {
        if (!sb_parse_macaddr(st->macaddress, cfg->macaddr, &local))
            return set_error(error, SB_ERROR_INVALID,
                             "%s\nmacaddress has to be a valid MAC address "
                             "(hex string, 6 bytes, each byte separated by a "
                             "':').",
                             local->message);
        cfg->has_macaddr = TRUE;
    }
    return TRUE;
}

/* Does the command line ask for -h/--help or -v/--version? */
static gboolean
asks_help(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0 ||
            strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--version") == 0)
            return TRUE;
    return FALSE;
}

/* The configuration files (conffile.c), system then user, applied as -o
 * options would be; their strings are kept in @st->keep. */
static gboolean
read_config_files(SbConfig *cfg, ParseState *st, GError **error)
{
    g_auto(GStrv) paths = sb_conffile_paths();

    for (guint i = 0; paths[i] != NULL; i++) {
        char **keys = NULL, **values = NULL;

        if (!sb_conffile_read(paths[i], &keys, &values, error))
            return FALSE;
        if (keys == NULL)
            continue;
        g_ptr_array_add(st->keep, keys);
        g_ptr_array_add(st->keep, values);
        for (guint k = 0; keys[k] != NULL; k++) {
            g_autofree char *where =
                g_strdup_printf("config file %s", paths[i]);

            if (!apply_option(cfg, st, keys[k], values[k], where, error))
                return FALSE;
        }
    }
    return TRUE;
}

/**
 * sb_cli_parse: see slirp_bridge.h.
 * @argv: permuted in place by getopt_long (options first).
 */
gboolean
sb_cli_parse(int argc, char **argv, SbConfig *cfg, SbCliAction *action,
             GError **error)
{
    g_autoptr(GPtrArray) keep =
        g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    ParseState st = { .keep = keep };
    char *fallback_argv[] = { (char *)"slirpbypass", NULL };

    *action = SB_CLI_RUN;
    if (argc < 1 || argv[0] == NULL) {
        /* execve with an empty argv: give getopt something sane. */
        argc = 1;
        argv = fallback_argv;
    }
    /* the files first: the command line (and its -o) override them; a
     * broken file does not keep --help and --version from working */
    if (cfg->read_config_files && !asks_help(argc, argv) &&
        !read_config_files(cfg, &st, error))
        return FALSE;
    if (!parse_options(argc, argv, cfg, &st, action, error))
        return FALSE;
    if (*action != SB_CLI_RUN)
        return TRUE;
    if (!parse_positionals(argc, argv, cfg, &st, error))
        return FALSE;
    return apply_config(cfg, &st, error);
}

/**
 * sb_config_init: fill @cfg with slirp4netns's defaults and empty lists.
 */
void
sb_config_init(SbConfig *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->exit_fd = -1;
    cfg->ready_fd = -1;
    cfg->target_tapfd = -1;
    cfg->mtu = 1500;
    cfg->netns_type = SB_NETNS_PID;
    cfg->target_type = SB_TARGET_NETNS;
    cfg->publish = g_ptr_array_new_with_free_func(g_free);
    cfg->bypass_ignore = g_ptr_array_new_with_free_func(g_free);
    cfg->warnings = g_ptr_array_new_with_free_func(g_free);
    /* Cannot fail: the default is a valid CIDR. */
    sb_vnet_from_cidr("10.0.2.0/24", &cfg->vnet, NULL);
}

/**
 * sb_config_clear: free everything sb_config_init()/sb_cli_parse()
 * allocated; @cfg may be cleared twice.
 */
void
sb_config_clear(SbConfig *cfg)
{
    g_clear_pointer(&cfg->api_socket, g_free);
    g_clear_pointer(&cfg->userns_path, g_free);
    g_clear_pointer(&cfg->netns_path, g_free);
    g_clear_pointer(&cfg->tapname, g_free);
    g_clear_pointer(&cfg->bypass_socket, g_free);
    g_clear_pointer(&cfg->bypass_agent, g_free);
    g_clear_pointer(&cfg->publish, g_ptr_array_unref);
    g_clear_pointer(&cfg->bypass_ignore, g_ptr_array_unref);
    g_clear_pointer(&cfg->warnings, g_ptr_array_unref);
}

/**
 * sb_cli_print_usage: slirp4netns's --help text (TABs included), our
 * extensions before -h/-v, then the subcommands.
 * @argv0: shown on the Usage line as given, like slirp4netns.
 */
void
sb_cli_print_usage(FILE *out, const char *argv0)
{
    fprintf(out, "Usage: %s [OPTION]... PID|PATH|FD [TAPNAME]\n", argv0);
    fputs("User-mode networking for unprivileged network namespaces.\n"
          "\n"
          "-c, --configure          bring up the interface\n"
          "-e, --exit-fd=FD         specify the FD for terminating "
          "slirp4netns\n"
          "-r, --ready-fd=FD        specify the FD to write to when the "
          "network is configured\n"
          "-m, --mtu=MTU            specify MTU (default=1500, max=65521)\n"
          "-6, --enable-ipv6        enable IPv6 (experimental)\n"
          "-a, --api-socket=PATH    specify API socket path\n"
          "--cidr=CIDR              specify network address CIDR "
          "(default=10.0.2.0/24)\n"
          "--disable-host-loopback  prohibit connecting to 127.0.0.1:* on "
          "the host namespace\n"
          "--netns-type=TYPE \t specify network namespace type "
          "([path|pid|tapfd], default=pid)\n"
          "--userns-path=PATH\t specify user namespace path\n"
          "--enable-sandbox         create a new mount namespace (and drop "
          "all caps except CAP_NET_BIND_SERVICE if running as the root)\n"
          "--enable-seccomp         enable seccomp to limit syscalls "
          "(experimental)\n",
          out);
#if SLIRP_CONFIG_VERSION_MAX >= 2
    fputs("--outbound-addr=IPv4     sets outbound ipv4 address to bound to "
          "(experimental)\n"
          "--outbound-addr6=IPv6    sets outbound ipv6 address to bound to "
          "(experimental)\n",
          out);
#endif
#if SLIRP_CONFIG_VERSION_MAX >= 3
    fputs("--disable-dns            disables 10.0.2.3 (or configured "
          "internal ip) to host dns redirect (experimental)\n",
          out);
#endif
    fputs("--macaddress=MAC         specify the MAC address of the TAP "
          "(only valid with -c)\n"
          "--target-type=TYPE       specify the target type ([netns|bess], "
          "default=netns)\n"
          "-p, --publish=SPEC       publish a port, SPEC is "
          "[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp] (repeatable)\n"
          "--bypass-socket=PATH     enable the seccomp bypass: listen for "
          "OCI seccomp notify fds on PATH\n"
          "--bypass-agent=PATH      enable the seccomp bypass: register "
          "with the per-user agent\n"
          "                         (`slirpbypass agent`) at PATH, "
          "started if none answers\n"
          "--bypass-ignore=CIDR[,CIDR...]  never bypass connections to "
          "these networks (repeatable)\n"
          "-o, --options=KEY=VALUE[,KEY=VALUE...]  podman's option keys "
          "(cidr, allow_host_loopback,\n"
          "                         enable_ipv6, mtu, outbound_addr, "
          "outbound_addr6, port_handler)\n"
          "                         plus bypass=true|false and "
          "bypass_ignore=CIDR[;CIDR...];\n"
          "                         the same keys in [slirpbypass] of "
          "/etc/slirpbypass/slirpbypass.conf\n"
          "                         and ~/.config/slirpbypass/"
          "slirpbypass.conf (the command line wins)\n"
          "-h, --help               show this help and exit\n"
          "-v, --version            show version and exit\n"
          "\n"
          "Subcommands: 'slirpbypass seccomp-profile' prints an OCI seccomp "
          "profile for the bypass;\n"
          "'slirpbypass exec [OPTION]... -- CMD [ARG]...' runs CMD under "
          "the bypass filter;\n"
          "'slirpbypass agent' is the per-user agent that bypass=true "
          "registers with.\n",
          out);
}

/**
 * sb_cli_print_version: the machine-parsable version block, in
 * slirp4netns's (runc-compatible) format.
 */
void
sb_cli_print_version(FILE *out)
{
    fprintf(out, "slirpbypass version %s\n", SB_VERSION);
    if (SB_COMMIT[0] != '\0')
        fprintf(out, "commit: %s\n", SB_COMMIT);
    fprintf(out, "libslirp: %s\n", slirp_version_string());
    fprintf(out, "SLIRP_CONFIG_VERSION_MAX: %d\n", SLIRP_CONFIG_VERSION_MAX);
    fprintf(out, "libseccomp: %s\n", SB_LIBSECCOMP_VERSION);
}

/**
 * sb_vnet_from_cidr: --cidr to the virtual network, slirp4netns's rules:
 * the POSIX regex below (so "/024" or a trailing newline is invalid), a
 * dotted-quad inet_pton accepts, prefix 1..25 (guest = network+100 must
 * fit), and no host bits.
 * @vnet: written only on success.
 * Errors: SB_ERROR_INVALID with slirp4netns's texts.
 */
gboolean
sb_vnet_from_cidr(const char *cidr, SbVnet *vnet, GError **error)
{
    static const char pattern[] =
        "^(([0-9]{1,3}\\.){3}[0-9]{1,3})/([0-9]{1,2})$";
    regex_t re;
    regmatch_t m[4];
    gboolean matched;
    g_autofree char *addr_s = NULL;
    g_autofree char *prefix_s = NULL;
    struct in_addr addr;
    long prefix;
    guint32 mask, net;
    SbVnet n;

    if (regcomp(&re, pattern, REG_EXTENDED) != 0)
        return set_error(error, SB_ERROR_SYSTEM, "regcomp failed");
    matched = regexec(&re, cidr, G_N_ELEMENTS(m), m, 0) == 0;
    regfree(&re);
    if (!matched)
        return set_error(error, SB_ERROR_INVALID, "invalid CIDR: %s", cidr);
    addr_s = g_strndup(cidr + m[1].rm_so, m[1].rm_eo - m[1].rm_so);
    prefix_s = g_strndup(cidr + m[3].rm_so, m[3].rm_eo - m[3].rm_so);
    if (inet_pton(AF_INET, addr_s, &addr) != 1)
        return set_error(error, SB_ERROR_INVALID, "invalid network address: %s",
                         addr_s);
    if (!parse_long(prefix_s, &prefix) || prefix < 1 || prefix > 25)
        return set_error(error, SB_ERROR_INVALID,
                         "prefix length needs to be 1-25");
    mask = 0xffffffffu << (32 - prefix);
    net = ntohl(addr.s_addr);
    if ((net & ~mask) != 0)
        return set_error(error, SB_ERROR_INVALID,
                         "CIDR needs to be a network address like "
                         "10.0.2.0/24, not like 10.0.2.100/24");

    memset(&n, 0, sizeof n);
    n.network.s_addr = htonl(net);
    n.netmask.s_addr = htonl(mask);
    n.prefix_len = (guint)prefix;
    n.gateway.s_addr = htonl(net + 2);
    n.dns.s_addr = htonl(net + 3);
    n.dhcp_start.s_addr = htonl(net + 15);
    n.guest.s_addr = htonl(net + 100);
    inet_pton(AF_INET6, "fd00::", &n.prefix6);
    n.prefix6_len = 64;
    inet_pton(AF_INET6, "fd00::2", &n.gateway6);
    inet_pton(AF_INET6, "fd00::3", &n.dns6);
    *vnet = n;
    return TRUE;
}

/**
 * sb_parse_macaddr: "xx:xx:xx:xx:xx:xx", 1 or 2 hex digits per field.
 * Fewer than 6 fields are zero-filled ("0e:d4" is 0e:d4:00:00:00:00), as
 * in slirp4netns; unlike its sscanf("%x"), "0x1", " 1" or "1:2x" are
 * refused rather than half-read.
 * @mac: written only on success.
 * Errors: SB_ERROR_INVALID, `"S" is an invalid MAC address.` with
 * `  Is it too long?` appended for more than 6 fields.
 */
gboolean
sb_parse_macaddr(const char *s, guint8 mac[6], GError **error)
{
    g_auto(GStrv) fields = g_strsplit(s, ":", -1);
    guint8 out[6] = { 0 };
    guint i, n = g_strv_length(fields);

    if (n > 6)
        return set_error(error, SB_ERROR_INVALID,
                         "\"%s\" is an invalid MAC address.  Is it too long?",
                         s);
    if (n == 0)
        goto invalid;
    for (i = 0; i < n; i++) {
        const char *f = fields[i];
        size_t len = strlen(f);
        if (len < 1 || len > 2 || !g_ascii_isxdigit(f[0]) ||
            (len == 2 && !g_ascii_isxdigit(f[1])))
            goto invalid;
        out[i] = (guint8)strtoul(f, NULL, 16);
    }
    memcpy(mac, out, sizeof out);
    return TRUE;

invalid:
    return set_error(error, SB_ERROR_INVALID,
                     "\"%s\" is an invalid MAC address.", s);
}
