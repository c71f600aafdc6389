/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * slirp-bridge: the public header of the slirpbypass core.
 *
 * Theory of operation: the executable parses a slirp4netns-compatible
 * command line into an SbConfig (cli.c), forks a short-lived child that
 * enters the target namespaces and hands back a tap fd (tap.c, fdpass.c),
 * then drives libslirp from a GLib main loop (slirp_loop.c) in the caller's
 * own network namespace.  The lifecycle (ready-fd, exit-fd, signals,
 * sandbox, self-seccomp) lives in lifecycle.c, sandbox.c and seccomp.c.
 *
 * Nothing outside slirp-bridge/ touches these structs' internals except
 * through the functions declared here; other directories receive plain
 * values (addresses, a Slirp *, a GMainContext *).
 */
#ifndef SLIRP_BRIDGE_H
#define SLIRP_BRIDGE_H

#include <glib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/types.h>
#include <libslirp.h>

#include "shared.h"

G_BEGIN_DECLS

/* GError domain for everything in slirp-bridge/. */
#define SB_ERROR (sb_error_quark())
GQuark sb_error_quark(void);

typedef enum {
    SB_ERROR_INVALID = 1, /* bad user input: one-line message names it */
    SB_ERROR_SYSTEM,      /* a syscall failed: message names the call */
    SB_ERROR_USAGE,       /* bad command line (sb_cli_parse): print the
                           * message to stderr unless it is empty, then the
                           * usage to stdout, exit 1.  SB_ERROR_INVALID from
                           * sb_cli_parse: message only, no usage, exit 1
                           * (slirp4netns does the same split). */
} SbErrorCode;

typedef enum {
    SB_NETNS_PID = 0, /* target is /proc/PID/ns/net */
    SB_NETNS_PATH,    /* target is a netns file path */
    SB_NETNS_TAPFD,   /* target is an already open tap fd (no fork) */
} SbNetnsType;

typedef enum {
    SB_TARGET_NETNS = 0,
    SB_TARGET_BESS,
} SbTargetType;

/* SbVnet, the virtual network derived from --cidr (default 10.0.2.0/24),
 * is in shared.h. */

/*
 * Everything the command line says.  Filled by sb_cli_parse(), released
 * by sb_config_clear().  Fields keep slirp4netns's names where one exists.
 */
typedef struct {
    /* slirp4netns options */
    gboolean configure;   /* -c */
    int exit_fd;          /* -e, -1 if unset */
    int ready_fd;         /* -r, -1 if unset */
    guint mtu;            /* -m, default 1500 */
    gboolean enable_ipv6; /* -6 */
    char *api_socket;     /* -a, NULL if unset */
    SbVnet vnet;          /* --cidr */
    gboolean disable_host_loopback;
    SbNetnsType netns_type;
    char *userns_path; /* --userns-path, NULL if unset */
    gboolean enable_sandbox;
    gboolean enable_seccomp;
    gboolean has_outbound_addr;
    struct sockaddr_in outbound_addr;
    gboolean has_outbound_addr6;
    struct sockaddr_in6 outbound_addr6;
    gboolean disable_dns;
    gboolean has_macaddr;
    guint8 macaddr[6];
    SbTargetType target_type;

    /* positional arguments */
    pid_t target_pid; /* SB_NETNS_PID */
    char *netns_path; /* SB_NETNS_PATH, or BESS socket path */
    int target_tapfd; /* SB_NETNS_TAPFD */
    char *tapname;    /* e.g. "tap0"; NULL only in tapfd mode
                       * when no TAPNAME was given */

    /* slirpbypass extensions */
    GPtrArray *publish;  /* char *: -p/--publish specs, unparsed */
    char *bypass_socket; /* --bypass-socket PATH: listen there */
    /* --bypass-agent PATH or bypass=true: register with the per-user agent
     * there; NULL (and no bypass_socket): no bypass */
    char *bypass_agent;
    /* the bypass came from bypass=true (-o or a config file): if the agent
     * cannot be reached, run without it */
    gboolean bypass_soft;
    /* read the configuration files in sb_cli_parse() (main sets it; tests
     * and fuzzers do not) */
    gboolean read_config_files;
    GPtrArray *bypass_ignore; /* char *: --bypass-ignore CIDRs */

    /* Lines to print on stdout before starting (WARNINGs), in order. */
    GPtrArray *warnings; /* char * */
} SbConfig;

/* What main() should do after parsing. */
typedef enum {
    SB_CLI_RUN = 0,
    SB_CLI_HELP,
    SB_CLI_VERSION,
} SbCliAction;

/* cli.c */
/* Defaults: slirp4netns's (mtu 1500, fds -1, 10.0.2.0/24, pid mode). */
void sb_config_init(SbConfig *cfg);
void sb_config_clear(SbConfig *cfg);
/*
 * Parse argv (permuted in place by getopt_long) into cfg, which must have
 * been set up with sb_config_init().  On FALSE the error is SB_ERROR_USAGE
 * (message, possibly empty, then usage; exit 1) or SB_ERROR_INVALID
 * (message only; exit 1), exactly as slirp4netns splits them; the message
 * is slirp4netns's stderr text without the trailing newline.  Warnings
 * collected before the error stay in cfg->warnings (slirp4netns prints them
 * on stdout before the error).  -h/-v stop parsing at once with TRUE and
 * *action set, like slirp4netns's exit(0).
 */
gboolean sb_cli_parse(int argc, char **argv, SbConfig *cfg, SbCliAction *action,
                      GError **error);
void sb_cli_print_usage(FILE *out, const char *argv0);
/* conffile.c: the configuration files (system first), and one file's
 * [slirpbypass] keys and values (NULL: no such file). */
char **sb_conffile_paths(void);
gboolean sb_conffile_read(const char *path, char ***keys, char ***values,
                          GError **error);
void sb_cli_print_version(FILE *out);
gboolean sb_vnet_from_cidr(const char *cidr, SbVnet *vnet, GError **error);
gboolean sb_parse_macaddr(const char *s, guint8 mac[6], GError **error);

/* fdpass.c: one fd over a unix socket with SCM_RIGHTS and one dummy byte. */
gboolean sb_fd_send(int sock, int fd, const void *data, size_t len,
                    GError **error);
int sb_fd_recv(int sock, void *data, size_t len, GError **error);

/* What the tap child learns about the target network namespace, for the
 * bypass.  Unknown values are 0 / -1 (tapfd and BESS modes). */
typedef struct {
    guint64 netns_cookie; /* SO_NETNS_COOKIE (Linux >= 5.14) */
    int tap_ifindex;      /* the tap's index in the namespace */
    int route_query;      /* NETLINK_ROUTE sockets created in the */
    int route_monitor;    /* namespace (owned by the caller) */
} SbTapNs;
/* tap.c: fork a child that enters the target namespaces and opens (and
 * with -c configures) the tap; returns the tap fd in this process. */
int sb_tap_open(const SbConfig *cfg, SbTapNs *ns, GError **error);
/* Close @ns's route sockets (idempotent). */
void sb_tap_ns_close(SbTapNs *ns);

/* slirp_loop.c: libslirp on a GMainContext. */
typedef struct SbSlirp SbSlirp;
SbSlirp *sb_slirp_new(const SbConfig *cfg, int tapfd, GMainContext *ctx,
                      GError **error);
Slirp *sb_slirp_get(SbSlirp *s);
typedef void (*SbFatalFunc)(const char *msg, gpointer data);
void sb_slirp_set_fatal(SbSlirp *s, SbFatalFunc func, gpointer data);
/* Stop (TRUE) or resume reporting events on one of libslirp's sockets (a
 * listener the port table handed to the bypass). */
void sb_slirp_mute_fd(SbSlirp *s, int fd, gboolean mute);
void sb_slirp_free(SbSlirp *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbSlirp, sb_slirp_free)

/* sandbox.c: mount namespace + pivot_root + capability drop. */
typedef struct {
    /* extra capabilities to keep besides CAP_NET_BIND_SERVICE (bitmask of
     * 1ULL << CAP_x), e.g. CAP_SYS_PTRACE for the bypass. */
    guint64 keep_caps;
} SbSandboxOptions;
gboolean sb_sandbox_join_userns(const SbConfig *cfg, GError **error);
gboolean sb_sandbox_enter(const SbConfig *cfg, const SbSandboxOptions *opts,
                          GError **error);

/* seccomp.c: the --enable-seccomp deny-list on ourselves. */
gboolean sb_seccomp_apply(gboolean keep_bypass_syscalls, GError **error);
/* The names blocked, for the "seccomp: The following syscalls are blocked"
 * line; NULL-terminated, static. */
const char *const *sb_seccomp_blocked_names(gboolean keep_bypass_syscalls);

/* lifecycle.c */
gboolean sb_ready_fd_signal(int ready_fd);

G_END_DECLS

#endif /* SLIRP_BRIDGE_H */
