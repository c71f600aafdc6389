/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * plugin: the seccomp user-notification bypass.
 *
 * Theory of operation: PbAgent listens on the --bypass-socket path for OCI
 * seccomp agent connections (runc/crun listenerPath, or `slirpbypass exec`),
 * receives each container process state plus its seccomp notify fd, and
 * serves notifications on the main loop.  connect() on TCP (and connected
 * UDP) sockets to destinations the policy allows is performed by the agent
 * on a socket it creates in its own (host) network namespace, which it then
 * installs over the container's fd with SECCOMP_IOCTL_NOTIF_ADDFD(SETFD).
 * Everything else, and every error, answers CONTINUE: the syscall runs in
 * the container and the traffic takes the slirp path.
 */
#ifndef PLUGIN_H
#define PLUGIN_H

#include "slirp-bridge/shared.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

G_BEGIN_DECLS

#define PB_ERROR (pb_error_quark())
GQuark pb_error_quark(void);

typedef enum {
    PB_ERROR_INVALID = 1,
    PB_ERROR_SYSTEM,
} PbErrorCode;

/* One published port as the bypass sees it (the port table's entry). */
typedef struct {
    guint id;
    int proto;                     /* IPPROTO_TCP or IPPROTO_UDP */
    struct sockaddr_storage host;  /* host address and port */
    struct sockaddr_storage guest; /* guest address and port */
} PbPort;

/* The port table, for the port hand-off (main wires it to port-driver/).
 * NULL in PbAgentConfig: published ports always take the slirp path. */
typedef struct {
    /* The entries of @proto with guest port @guest_port (PbPort *, g_free
     * each); NULL or empty if none. */
    GPtrArray *(*find)(gpointer data, int proto, guint16 guest_port);
    /* Let a socket of this user bind entry @id's host port beside
     * libslirp's.  FALSE: no hand-off. */
    gboolean (*share)(gpointer data, guint id);
    /* TRUE: libslirp stops serving entry @id (a bypass socket serves it);
     * FALSE: libslirp serves it again.  FALSE if that failed. */
    gboolean (*set_bypassed)(gpointer data, guint id, gboolean bypassed);
    gpointer data;
} PbPortOps;

/* What the agent needs to know about the network it serves. */
typedef struct {
    /* the served network namespace: st_dev/st_ino of /proc/PID/ns/net or
     * of the --netns-type=path file */
    dev_t netns_dev;
    ino_t netns_ino;
    /* virtual network (never bypassed, except gateway -> host loopback);
     * its IPv6 half only with @ipv6 */
    SbVnet vnet;
    gboolean ipv6;
    gboolean disable_host_loopback;
    gboolean disable_dns;
    gboolean has_outbound_addr;
    struct sockaddr_in outbound_addr;
    gboolean has_outbound_addr6;
    struct sockaddr_in6 outbound_addr6;
    /* --bypass-ignore CIDRs (char *), may be NULL */
    GPtrArray *ignore;
    /* an fd on /proc opened before any sandbox pivot; -1: open "/proc" */
    int proc_fd;
    /* optional: SO_NETNS_COOKIE of a socket created in the served netns
     * (0: unknown; the agent then learns it, see connect.c) */
    guint64 netns_cookie;
    /* optional: NETLINK_ROUTE sockets created in the served namespace and
     * the index of the tap there (-1/0 (a zeroed config): none;
     * duplicated).  With them a destination the container routes through
     * another interface than the tap is never bypassed (connect.c). */
    int route_query;
    int route_monitor;
    int tap_ifindex;
    /* optional: an fd on the served namespace (nsfs), or -1 (0 too: a
     * zeroed config); duplicated.
     * Registering with the per-user agent needs it: holding it proves
     * access to the namespace claimed (register.c). */
    int netns_fd;
    /* optional: log every agent error on stderr (also: env
     * SLIRPBYPASS_DEBUG=1) */
    gboolean debug;
    /* optional: the port table, for the port hand-off (handoff.c) */
    const PbPortOps *ports;
} PbAgentConfig;

typedef struct PbAgent PbAgent;

PbAgent *pb_agent_new(const PbAgentConfig *cfg, GMainContext *ctx,
                      GError **error);
/* Binds and listens on path (mode 0600 via umask, stale file unlinked). */
gboolean pb_agent_listen(PbAgent *agent, const char *path, GError **error);
void pb_agent_free(PbAgent *agent);
/* Register with the per-user agent at @path (starting `@exe agent` if none
 * answers and @exe is not NULL); it passes on the notify fds of the
 * served namespace (register.c). */
gboolean pb_agent_register(PbAgent *agent, const char *path, const char *exe,
                           GError **error);
/* Start the per-user agent at @path with `@exe agent` unless one answers
 * (before joining a user namespace: register.c). */
gboolean pb_agent_ensure(const char *path, const char *exe, GError **error);
/* The port table removed entry @id: a bypass socket serving it stops.
 * @held (owned; -1: none): the entry's libslirp socket, still bound
 * (pd_table_take_held()), kept until the bypass sockets are gone. */
void pb_agent_port_removed(PbAgent *agent, guint id, int held);
/* Check now (not at the next 250 ms tick) whether removed entries' bypass
 * sockets are gone, and let go of their ports. */
void pb_agent_port_flush(PbAgent *agent);
/* Entry @id's path as the bypass sees it: TRUE while a bypass socket
 * serves it. */
gboolean pb_agent_port_bypassed(PbAgent *agent, guint id);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbAgent, pb_agent_free)

/* `slirpbypass agent` (dispatch.c; its command line:
 * slirp-bridge/cmd_agent.c): the per-user dispatcher of one listenerPath
 * to the helpers registered for each network namespace. */
typedef struct PbDispatcher PbDispatcher;
/* Bind @path, or with @path NULL serve @listen_fd (socket activation). */
PbDispatcher *pb_dispatcher_new(const char *path, int listen_fd,
                                GMainContext *ctx, GError **error);
void pb_dispatcher_counts(PbDispatcher *d, guint *helpers, guint *owned,
                          guint *orphans);
void pb_dispatcher_free(PbDispatcher *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbDispatcher, pb_dispatcher_free)

/* `slirpbypass exec` (exec.c; its command line: slirp-bridge/cmd_exec.c).
 * Connect to the agent at @path: the socket, or -1 with errno set. */
int pb_exec_connect(const char *path);
/* Load the bypass filter on this process: the notify fd or -1. */
int pb_exec_load_filter(gboolean no_bind, GError **error);
/* Send @state and @nfd to the agent on @sock and wait (at most @timeout_s)
 * until it holds the fd. */
gboolean pb_exec_handshake(int sock, const char *state, int nfd, int netns_fd,
                           guint timeout_s, GError **error);

/* ---- seccomp-profile / exec helpers (profile.c, exec.c; owner: plugin
 * subcommands helper).  Exposed for the unit tests. ---- */

/* Options shared by pb_profile_build() and pb_profile_merge(). */
typedef struct {
    const char *listener_path; /* required, absolute */
    const char *metadata;      /* listenerMetadata; NULL: none / keep */
    gboolean no_bind;          /* trap connect only */
} PbProfileOptions;

/* The calls the bypass filters trap with SCMP_ACT_NOTIFY (bind is left out
 * by --no-bind) and the ones they deny with ENOSYS (io_uring, whose socket
 * operations seccomp never sees): one list for the OCI profile and for
 * `slirpbypass exec` (profile.c). */
#define PB_N_TRAPPED 3
#define PB_N_DENIED 3
extern const char *const pb_trapped_calls[PB_N_TRAPPED];
extern const char *const pb_denied_calls[PB_N_DENIED];

/* The calls the bypass filters trap only when their arguments arm TCP Fast
 * Open (sendto/sendmsg/sendmmsg with MSG_FASTOPEN, setsockopt
 * TCP_FASTOPEN_CONNECT); the agent answers them EOPNOTSUPP, what the
 * kernel says with Fast Open off for clients.  Each condition is
 * "(args[index] & mask) == value", SCMP_CMP_MASKED_EQ, which only ever
 * looks at the low 32 bits the kernel reads (profile.c, exec.c, fastopen.c
 * share this list). */
typedef struct {
    const char *name;
    guint n_conds;
    struct {
        guint index;
        guint64 mask;
        guint64 value;
    } cond[2];
} PbFastOpenRule;
#define PB_N_FASTOPEN 4
extern const PbFastOpenRule pb_fastopen_rules[PB_N_FASTOPEN];

/* $XDG_RUNTIME_DIR/slirpbypass/bypass.sock (see profile.c); g_free it. */
char *pb_default_socket_path(void);
/* Fits sun_path, not abstract, absolute if required; PB_ERROR_INVALID. */
gboolean pb_socket_path_check(const char *path, gboolean require_absolute,
                              GError **error);
/* A fresh profile: ALLOW by default, NOTIFY on connect(+bind). */
JsonNode *pb_profile_build(const PbProfileOptions *opts, GError **error);
/* Rewrite an existing profile (JSON text); warnings: char * lines. */
JsonNode *pb_profile_merge(const char *data, gssize len, const char *source,
                           const PbProfileOptions *opts, GPtrArray *warnings,
                           GError **error);
/* Pretty JSON plus a trailing newline; g_free it. */
char *pb_profile_to_json(JsonNode *profile);
/* The compact OCI ContainerProcessState `exec` sends; g_free it. */
char *pb_exec_state_json(pid_t pid, const char *metadata, gboolean netns);
/* ---- end of seccomp-profile / exec helpers ---- */

/* ---- bypass agent internals exposed for the unit tests (policy.c,
 * listener.c, notify.c; owner: bypass agent helper) ---- */

/* Why a destination is (not) bypassed; PB_POLICY_BYPASS is the only yes. */
typedef enum {
    PB_POLICY_BYPASS = 0,
    PB_POLICY_DENY_FAMILY,      /* not AF_INET/AF_INET6 */
    PB_POLICY_DENY_SHORT,       /* sockaddr shorter than the kernel needs */
    PB_POLICY_DENY_IPV6_OFF,    /* IPv6 destination, IPv6 not enabled */
    PB_POLICY_DENY_UNSPECIFIED, /* 0.0.0.0/8, :: */
    PB_POLICY_DENY_LOOPBACK,    /* 127/8, ::1: the container's own lo */
    PB_POLICY_DENY_LINKLOCAL,   /* 169.254/16, fe80::/10, fec0::/10 */
    PB_POLICY_DENY_MULTICAST,   /* 224/4, ff00::/8 */
    PB_POLICY_DENY_RESERVED,    /* 240/4 incl. 255.255.255.255 */
    PB_POLICY_DENY_V4COMPAT,    /* ::a.b.c.d (deprecated) */
    PB_POLICY_DENY_VNET,        /* virtual network / prefix (DNS etc.) */
    PB_POLICY_DENY_GATEWAY,     /* gateway with host loopback disabled */
    PB_POLICY_DENY_IGNORED,     /* --bypass-ignore */
    PB_POLICY_DENY_ROUTED,      /* the container routes it past its tap */
} PbPolicyVerdict;

typedef struct PbPolicy PbPolicy;

/* Compile the destination policy of @cfg (PB_ERROR_INVALID names a bad
 * --bypass-ignore CIDR). */
PbPolicy *pb_policy_new(const PbAgentConfig *cfg, GError **error);
void pb_policy_free(PbPolicy *policy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PbPolicy, pb_policy_free)
/* Judge @sa (@len bytes, as the container passed it to connect()); on
 * PB_POLICY_BYPASS, @out/@out_len get the host-side destination (the
 * gateway translated to host loopback). */
PbPolicyVerdict pb_policy_check(const PbPolicy *policy,
                                const struct sockaddr *sa, socklen_t len,
                                struct sockaddr_storage *out,
                                socklen_t *out_len);
const char *pb_policy_verdict_str(PbPolicyVerdict verdict);

/* A parsed CIDR ("a.b.c.d[/n]" or "x::y[/n]"), address masked. */
typedef struct {
    int family;
    guint8 addr[16];
    guint prefix;
} PbCidr;
gboolean pb_cidr_parse(const char *text, PbCidr *out, GError **error);

/* listener.c: the OCI ContainerProcessState message. */
#define PB_LISTENER_MAX_MESSAGE (64 * 1024)
/* Length of the complete JSON value at the start of @buf (leading
 * whitespace included), 0 while incomplete, -1 if it cannot be JSON. */
gssize pb_json_value_end(const char *buf, gsize len);
/* What the agent takes from a ContainerProcessState. */
typedef struct {
    guint seccomp_index; /* index of "seccompFd" in "fds" */
    guint nfds;          /* length of "fds" */
    gint64 pid;          /* "pid", 0 if absent or not a positive int */
    char *id;            /* "state"."id" or NULL */
    char *json;          /* the message (set by the listener, not the
                          * parser), NUL-terminated */
    gint64 peer_pid;     /* the sender (SO_PEERCRED, set by the listener;
                          * 0: unknown) */
    guint netns_index;   /* index of "slirpbypassNetns" in "fds" (`exec`
                          * sends its namespace), G_MAXUINT if none */
    int netns_fd;        /* that fd (set by the listener, valid during its
                          * callback only), or -1 */
    gboolean passive;    /* "slirpbypassPassive": true: someone else (crun
                          * and its plugin) reads the fd's notifications,
                          * which arrive as PbNotification messages; never
                          * NOTIF_RECV it (notification.c) */
} PbProcessState;
void pb_process_state_clear(PbProcessState *st);
/* Validate @json against the number of fds received with it. */
gboolean pb_process_state_parse(const char *json, gsize len, guint nfds_rcvd,
                                PbProcessState *st, GError **error);

/* A helper's registration with `slirpbypass agent` (dispatch.c,
 * register.c): the namespace it serves; its channel is the one fd. */
#define PB_REGISTRATION_VERSION 1
typedef struct {
    guint version;
    dev_t netns_dev;
    ino_t netns_ino;
    gint64 peer_pid; /* SO_PEERCRED of the registering connection */
} PbRegistration;
/* What a message on the agent socket is, by its "slirpbypass" member. */
typedef enum {
    PB_MESSAGE_STATE = 0,    /* none: an OCI ContainerProcessState */
    PB_MESSAGE_REGISTER,     /* "register": a helper (register.c) */
    PB_MESSAGE_NOTIFICATION, /* "notification": a forwarded notification */
    PB_MESSAGE_UNKNOWN,      /* any other value */
} PbMessageKind;
PbMessageKind pb_message_kind(const char *json, gsize len);

/* notification.c: one notification a seccomp notify plugin (crun's
 * run.oci.seccomp.plugins, plugin/crun-plugin/) received and forwards, with
 * the notify fd, to be answered by the helper serving the caller's network
 * namespace.  On the wire (agent socket and channel):
 * {"slirpbypass":"notification","version":1,"pid":N,"id":"ctr",
 *  "req":"<hex of struct seccomp_notif>","fds":["seccompFd"]} + one fd. */
#define PB_NOTIFICATION_VERSION 1
typedef struct {
    gint64 pid;               /* the caller, in the sender's pid namespace */
    char *id;                 /* "id" (the container), or NULL */
    struct seccomp_notif req; /* as the sender's NOTIF_RECV filled it */
    gint64 peer_pid;          /* the sender (SO_PEERCRED, set by the
                               * listener; 0: unknown) */
} PbNotification;
void pb_notification_clear(PbNotification *note);
/* Validate a notification message against the fds received with it. */
gboolean pb_notification_parse(const char *json, gsize len, guint nfds_rcvd,
                               PbNotification *note, GError **error);
/* The message for @req (@id may be NULL); g_free it. */
char *pb_notification_json(const struct seccomp_notif *req, const char *id);
/* The agent's answer to a forwarded notification: "taken" (answered or
 * passed on: the sender must not answer it) or "continue" (the sender
 * answers CONTINUE). */
#define PB_NOTIFICATION_TAKEN "{\"slirpbypass\":\"taken\"}"
#define PB_NOTIFICATION_CONTINUE "{\"slirpbypass\":\"continue\"}"
/* Validate a registration against the number of fds received with it. */
gboolean pb_registration_parse(const char *json, gsize len, guint nfds_rcvd,
                               PbRegistration *reg, GError **error);

/* notify.c: raw seccomp ioctls; each returns 0 (ADDFD: the target fd) or
 * -errno. */
struct seccomp_notif;
int pb_notif_recv(int notify_fd, struct seccomp_notif *req);
int pb_notif_respond(int notify_fd, guint64 id, gint64 val, int err);
int pb_notif_continue(int notify_fd, guint64 id);
int pb_notif_id_valid(int notify_fd, guint64 id);
int pb_notif_addfd(int notify_fd, guint64 id, int srcfd, int newfd,
                   gboolean cloexec);
/* ---- end of bypass agent internals ---- */

G_END_DECLS

#endif /* PLUGIN_H */
