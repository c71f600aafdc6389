/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * agent_internal.h: what the files of the bypass agent share (private to
 * plugin/; the public and unit-tested parts are in plugin.h).
 *
 * Theory of operation: agent.c owns a PbCore (configuration, policy,
 * caches, counters) and a PbListener; the listener hands every received
 * seccomp notify fd to agent.c, which wraps it in a PbNotify (notify.c, a
 * GSource on the main context).  Each notification is dispatched by
 * notify.c to connect.c (connect), bindlisten.c (bind, listen, i386
 * socketcall), fastopen.c (the Fast Open sends and setsockopt) or answered
 * CONTINUE (everything else).  The handlers share call.c (one call and its
 * answers); bindlisten.c hands published ports over (handoff.c, which
 * lists host sockets with sockdiag.c); connect.c waits for blocking
 * connects with pending.c and uses proc.c (pidfds, target memory, /proc),
 * sockstate.c (copying socket options), devlock.c (the interface lock) and
 * peerlock.c.  Everything runs on the one GMainContext.
 */
#ifndef PB_AGENT_INTERNAL_H
#define PB_AGENT_INTERNAL_H

#include "log.h"
#include "plugin.h"

#include <linux/seccomp.h>
#include <sys/stat.h>
#include <sys/time.h>

G_BEGIN_DECLS

/* ---- logging: log.h ---- */

/* ---- proc.c: target processes ---- */
typedef struct PbProcs PbProcs;
PbProcs *pb_procs_new(int proc_fd, GMainContext *ctx);
void pb_procs_free(PbProcs *procs);
/* Duplicate @target_fd of task @tid into the agent (pidfd_getfd on the
 * cached pidfd of its thread group).  *is_thread: @tid is not a leader.
 * Returns: the new fd (O_CLOEXEC) or -errno. */
int pb_procs_getfd(PbProcs *procs, pid_t tid, int target_fd,
                   gboolean *is_thread);
/* The "flags:" (octal open flags) and "ino:" (0 if absent) lines of
 * /proc/TID/fdinfo/FD, read through a cached fd.  Returns 0 or -errno. */
int pb_procs_fdinfo(PbProcs *procs, pid_t tid, int target_fd,
                    unsigned int *flags, guint64 *ino);
/* Drop what is cached for @tid (after a failed validation). */
void pb_procs_forget(PbProcs *procs, pid_t tid);
/* Number of processes cached (tests, debug). */
guint pb_procs_count(PbProcs *procs);
/* process_vm_readv of @len bytes at @addr in @tid.  Returns bytes read
 * (may be short) or -errno. */
gssize pb_proc_read_mem(pid_t tid, guint64 addr, void *buf, gsize len);
/* Is task @tid in the network namespace @dev/@ino?  1, 0 or -errno. */
int pb_proc_in_netns(int proc_fd, pid_t tid, dev_t dev, ino_t ino);
/* Call @func(pid, fd) for each fd holding socket inode @sock_ino in the
 * processes of network namespace @dev/@ino (bounded walk of /proc).
 * Returns the number found. */
guint pb_proc_find_socket(int proc_fd, dev_t dev, ino_t ino, guint64 sock_ino,
                          gboolean (*func)(pid_t pid, int fd, gpointer data),
                          gpointer data);
/* Parse an fdinfo text: 0 or -EINVAL.  Exposed for the unit tests. */
int pb_fdinfo_parse(const char *text, unsigned int *flags, guint64 *ino);

/* ---- sockstate.c: the original socket's state ---- */
typedef struct PbSockDefaults PbSockDefaults;
PbSockDefaults *pb_sock_defaults_new(void);
void pb_sock_defaults_free(PbSockDefaults *d);
/* Copy every documented option that differs from a fresh socket's
 * default from @from to @to (both @domain/@type).  Best effort: a failed
 * copy is logged at debug level only.  *sndtimeo: @from's SO_SNDTIMEO. */
void pb_sockstate_copy(PbSockDefaults *d, int from, int to, int domain,
                       int type, struct timeval *sndtimeo);

/* ---- devlock.c: the interface lock ---- */
#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif
/* The loopback interface's index, the same in every network namespace. */
#define PB_LOOPBACK_IFINDEX 1
typedef struct PbRoutes PbRoutes;
/* A cache of route lookups, emptied when the host's network configuration
 * changes (monitored on @ctx).  @src4/@src6: --outbound-addr(6), or NULL.
 * NULL with PB_ERROR_SYSTEM if netlink is unavailable. */
PbRoutes *pb_routes_new(GMainContext *ctx, const struct in_addr *src4,
                        const struct in6_addr *src6, GError **error);
/* The same on netlink sockets made elsewhere (the served namespace). */
PbRoutes *pb_routes_new_from(GMainContext *ctx, int query, int monitor,
                             const struct in_addr *src4,
                             const struct in6_addr *src6, GError **error);
void pb_routes_free(PbRoutes *r);
/* The interface a socket connecting to @dst must be bound to (> 0), or
 * -errno (no usable route). */
int pb_routes_ifindex(PbRoutes *r, const struct sockaddr *dst);
/* Bind @fd to interface @ifindex for good (SO_BINDTOIFINDEX).  0/-errno. */
int pb_dev_lock(int fd, int ifindex);

/* ---- sockdiag.c: which host sockets on a port still exist ---- */
typedef struct PbSockDiag PbSockDiag;
/* NULL with PB_ERROR_SYSTEM if NETLINK_SOCK_DIAG cannot be opened. */
PbSockDiag *pb_sockdiag_new(GError **error);
void pb_sockdiag_free(PbSockDiag *d);
/* Are bound, not listening TCP sockets listed (Linux >= 6.7)? */
gboolean pb_sockdiag_lists_bound(PbSockDiag *d);
/* Add the cookies (guint64 *, g_int64_hash set) of the host's @proto
 * sockets of @family on local @port to @out (TCP: listeners, and with
 * @bound bound ones too, which walks the bind table).  0 or -errno. */
int pb_sockdiag_cookies(PbSockDiag *d, int proto, int family, guint16 port,
                        gboolean bound, GHashTable *out);
/* Is any host TCP socket listening on @host's port at an address that
 * overlaps @host's (equal, or either one a wildcard)?  1, 0 or -errno. */
int pb_sockdiag_listening(PbSockDiag *d, const struct sockaddr_storage *host);

/* ---- peerlock.c ---- */
/* Let @fd receive only from @dst's address and port (locked socket
 * filter).  0 or -errno. */
int pb_peer_lock(int fd, const struct sockaddr *dst);

/* A sockaddr of either family. */
typedef union {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
    struct sockaddr_storage ss;
} PbSockaddr;

/* ---- the shared core (agent.c) ---- */
typedef struct PbNotify PbNotify;
typedef struct PbHandoffs PbHandoffs;
typedef struct PbPendings PbPendings;

typedef struct {
    GMainContext *ctx;
    PbPolicy *policy;
    PbProcs *procs;
    PbSockDefaults *defaults;
    int proc_fd;
    gboolean own_proc_fd;
    int netns_fd; /* the served namespace (registration proof), or -1 */
    /* how the served namespace routes (NULL: not known) and its tap */
    PbRoutes *served_routes;
    int tap_ifindex;
    dev_t netns_dev;
    ino_t netns_ino;
    guint64 host_cookie;   /* SO_NETNS_COOKIE of the agent's own netns */
    guint64 served_cookie; /* of the served netns; 0: not known yet */
    gboolean served_cookie_exact;
    gboolean disabled; /* no SO_NETNS_COOKIE: everything CONTINUE */
    gboolean udp;      /* connected-UDP bypass allowed */
    gboolean has_outbound4;
    struct sockaddr_in outbound4;
    gboolean has_outbound6;
    struct sockaddr_in6 outbound6;
    GQueue notifies;      /* PbNotify * */
    PbPendings *pendings; /* blocking connects in progress (pending.c) */
    /* counters, for debug and tests */
    guint64 n_bypassed;
    guint64 n_continued;
    guint64 n_errors;
    PbRoutes *routes;     /* the interface lock's route cache (devlock.c) */
    gboolean loopback_ok; /* host loopback may be reached (no
                           * --disable-host-loopback) */
    gboolean peer_lock;   /* tie injected sockets to their peer */
    gboolean peer_lock_warned; /* pb_peer_lock() failed once (logged) */
    PbHandoffs *handoffs;      /* the port hand-off; NULL: none */
} PbCore;

/* At most this many blocking connects wait at once (each holds a socket;
 * also at most a quarter of RLIMIT_NOFILE); more: CONTINUE. */
#define PB_MAX_PENDING 1024

/* ---- notify.c: one notify fd ---- */
/* Start serving @fd (takes ownership).  @pid/@id: for the log line.
 * @passive: never NOTIF_RECV it, only answer the notifications handed to
 * pb_notify_handle() (a plugin's process reads them, notification.c). */
PbNotify *pb_notify_new(PbCore *core, int fd, gint64 pid, const char *id,
                        gboolean passive);
/* From now on, never NOTIF_RECV @n's fd (its notifications are being
 * forwarded: someone else reads it). */
void pb_notify_set_passive(PbNotify *n);
/* Answer notification @req of @n's fd (received by us or forwarded). */
void pb_notify_handle(PbNotify *n, const struct seccomp_notif *req);
/* Stop serving, release everything (also the pending connects). */
void pb_notify_destroy(PbNotify *n);
int pb_notify_get_fd(PbNotify *n);
/* The SIGALRM handler of the watchdogs (notify.c): interrupts, never
 * restarts, never kills.  Idempotent. */
void pb_watchdog_install(void);
/* What a trapped call on an orphaned host socket gets (dispatch.c): a
 * positive errno, or 0 for CONTINUE. */
int pb_trapped_host_errno(const struct seccomp_data *data);
/* The ContainerProcessState to pass @n's fd on with (register.c). */
char *pb_notify_state_json(PbNotify *n);
PbCore *pb_notify_get_core(PbNotify *n);

/* ---- call.c: one trapped call on a socket fd ---- */
/* What a handler learned about one call. */
typedef struct {
    PbCore *core;
    PbNotify *n;
    const char *what; /* the call's name, for the debug log */
    int nfd;
    guint64 id;
    pid_t tid;
    int target_fd;
    int dup;            /* agent's copy of the original, -1 */
    gboolean is_thread; /* tid is not a thread group leader */
    guint64 cookie;     /* SO_NETNS_COOKIE of the original */
    gboolean is_host;
    unsigned int fdflags;
} PbCall;
/* The PbCall of notification @req (target fd: args[0]). */
PbCall pb_call_init(PbCore *core, PbNotify *n, const struct seccomp_notif *req);
/* Take the agent's copy of the fd and its netns cookie; FALSE if the call
 * was answered already (not a socket we can see: CONTINUE). */
gboolean pb_call_identify(PbCall *c);
/* CONTINUE (@why: for the debug log, may be NULL). */
void pb_call_continue(PbCall *c, const char *why);
/* Answer notification @id with @err (0 or -errno). */
void pb_reply_result(PbCore *core, int nfd, guint64 id, pid_t tid, int err);
/* Not bypassed: CONTINUE, or ENETUNREACH for an injected host socket. */
void pb_call_refuse_or_continue(PbCall *c, const char *why);
/* Malformed: CONTINUE, or the kernel's @err for an injected host socket. */
void pb_call_refuse_with(PbCall *c, int err, const char *why);
/* Never bypassed: identify, then CONTINUE or @err; releases the copy. */
void pb_call_refuse_if_host(PbCall *c, int err, const char *why);
/* Install *@host over @target_fd of @tid (ADDFD; our reference is dropped,
 * *@host = -1) and reply @result.  0 if injected; -ENOENT if the
 * notification is gone; another -errno if nothing was injected and the
 * call still needs an answer. */
int pb_call_inject(PbCore *core, int nfd, guint64 id, pid_t tid, int *host,
                   int target_fd, gboolean cloexec, gboolean blocking,
                   int result);
/* getsockopt of an int; -1 on failure. */
int pb_sock_int(int fd, int level, int name);

/* ---- pending.c: blocking connects in progress ---- */
typedef struct PbPending PbPending;
PbPendings *pb_pendings_new(guint max);
void pb_pendings_free(PbPendings *ps);
/* Destroy the waits of a notify that stops being served. */
void pb_pendings_cancel(PbPendings *ps, PbNotify *n);
/* Any waits, or recently interrupted ones? */
gboolean pb_pendings_busy(PbPendings *ps);
/* Is connect(@fd) of @tid the restart of an interrupted wait with
 * SO_SNDTIMEO (answer EINTR)?  Releases a dead wait of the same call. */
gboolean pb_pending_restarted(PbPendings *ps, PbNotify *n, pid_t tid, int fd);
/* Wait for @host's connect on the main loop (see pending.c); NULL if too
 * many wait already (@host stays the caller's). */
PbPending *pb_pending_start(PbCall *c, int host, const struct timeval *sndtimeo,
                            gboolean answer_only, int family);
/* The TCP state of @fd (first byte of TCP_INFO), -1 if not TCP. */
int pb_tcp_state(int fd);
/* connect() on the agent's copy of a shared socket under a 100 ms
 * watchdog: 0 or -errno (-EINTR when it fired). */
int pb_watched_connect(int dup, const struct sockaddr *sa, socklen_t len);
/* The kernel's connect() answer for a host socket in use, learnt on the
 * agent's copy without CONTINUE.  0 or -errno. */
int pb_probe_connect(int dup, int family);

/* ---- connect.c ---- */
/* Answer one connect() notification (now, or later from the loop). */
void pb_connect_handle(PbCore *core, PbNotify *n,
                       const struct seccomp_notif *req);
/* ---- bindlisten.c ---- */
/* bind(2): CONTINUE, except on an injected host socket, which must not be
 * bound in the host namespace behind the table's back (EINVAL). */
void pb_bind_handle(PbCore *core, PbNotify *n, const struct seccomp_notif *req);
/* listen(2): CONTINUE, except on an injected host socket (EINVAL): it would
 * listen on a free port of every host address. */
void pb_listen_handle(PbCore *core, PbNotify *n,
                      const struct seccomp_notif *req);
/* i386 socketcall(SYS_CONNECT/SYS_BIND): not bypassed; CONTINUE, except on
 * an injected host socket, which is refused. */
void pb_socketcall_handle(PbCore *core, PbNotify *n,
                          const struct seccomp_notif *req);

/* ---- handoff.c: published ports served by host sockets ---- */
/* NULL (no hand-off) without @ops, with the bypass disabled, or when the
 * policy keeps something from the bypass (see handoff.c, Safety). */
PbHandoffs *pb_handoffs_new(PbCore *core, const PbPortOps *ops);
void pb_handoffs_free(PbHandoffs *hs);
/* bind() of a published port on a container socket: TRUE if answered. */
gboolean pb_handoff_bind(PbHandoffs *hs, PbCall *c, const PbSockaddr *addr);
/* listen() on a host socket: TRUE if it was a bypass socket (answered). */
gboolean pb_handoff_listen(PbHandoffs *hs, PbCall *c, int backlog);
/* A connect() to the container's own handed-off TCP port: TRUE and the
 * host listener's address in *out. */
gboolean pb_handoff_redirect(PbHandoffs *hs, int sock, const PbSockaddr *dst,
                             PbSockaddr *out, socklen_t *outlen);
/* The table removed entry @id: shut its bypass sockets down; @held (owned)
 * keeps them from listening again until they are gone. */
void pb_handoff_removed(PbHandoffs *hs, guint id, int held);
/* Check the removed entries now; release the ports of those whose bypass
 * sockets are gone. */
void pb_handoff_flush(PbHandoffs *hs);
/* Is entry @id served by a bypass socket? */
gboolean pb_handoff_served(PbHandoffs *hs, guint id);

/* ---- fastopen.c ---- */
/* A trapped sendto/sendmsg/sendmmsg/setsockopt, pb_fastopen_rules[@t]:
 * EOPNOTSUPP when its arguments arm Fast Open, else CONTINUE. */
void pb_fastopen_handle(PbCore *core, PbNotify *n,
                        const struct seccomp_notif *req, guint t);
/* i386 socketcall(@call): TRUE if it was one of those calls (answered). */
gboolean pb_fastopen_socketcall(PbCore *core, PbNotify *n,
                                const struct seccomp_notif *req, guint32 call);

/* ---- listener.c ---- */
typedef struct PbListener PbListener;
/* Called with each validated notify fd (ownership passes). */
typedef void (*PbListenerFunc)(int notify_fd, const PbProcessState *st,
                               gpointer user_data);
/* Bind @path, listen, serve on @ctx.  PB_ERROR_* names the path. */
PbListener *pb_listener_new(const char *path, GMainContext *ctx,
                            PbListenerFunc func, gpointer user_data,
                            GError **error);
/* Serve an already listening socket (systemd socket activation); its
 * file is never unlinked.  @fd is closed on failure. */
PbListener *pb_listener_adopt(int fd, GMainContext *ctx, PbListenerFunc func,
                              gpointer user_data, GError **error);
/* Called with each forwarded notification.  Returns TRUE if it was taken
 * (answered, or passed on to be answered: the sender must not answer it;
 * ownership of @notify_fd passed), FALSE if not (@notify_fd is still the
 * caller's, and the sender answers CONTINUE). */
typedef gboolean (*PbNotificationFunc)(int notify_fd,
                                       const PbNotification *note,
                                       gpointer user_data);
/* Accept forwarded notifications (dispatch.c, agent.c); without this they
 * are rejected and the sender answers them CONTINUE. */
void pb_listener_set_notification(PbListener *l, PbNotificationFunc func,
                                  gpointer user_data);
/* Called with each helper registration (ownership of @chan passes). */
typedef void (*PbRegisterFunc)(int chan, const PbRegistration *reg,
                               gpointer user_data);
/* Accept registrations too (the per-user agent, dispatch.c). */
void pb_listener_set_register(PbListener *l, PbRegisterFunc func,
                              gpointer user_data);
/* Close everything and unlink the socket file (via the parent dirfd kept
 * at bind time, so this works after a pivot_root). */
void pb_listener_free(PbListener *l);

/* ---- register.c: a helper's registration with the per-user agent ---- */
typedef struct PbRegistrar PbRegistrar;
typedef PbListenerFunc PbRegistrarFunc;
PbRegistrar *pb_registrar_start(PbCore *core, const char *path, const char *exe,
                                PbRegistrarFunc func,
                                PbNotificationFunc note_func, gpointer data,
                                GError **error);
void pb_registrar_free(PbRegistrar *r);

/* ---- channel.c: agent <-> helper messages ---- */
/* Messages are JSON objects of at most PB_LISTENER_MAX_MESSAGE bytes. */
int pb_channel_send(int sock, const char *json, int fd);
int pb_channel_send_fds(int sock, const char *json, const int *fds, guint nfds);
gssize pb_channel_recv(int sock, char *buf, gsize size, int *fd_out);
/* Is @fd an AF_UNIX SOCK_SEQPACKET socket?  PB_ERROR_INVALID if not. */
gboolean pb_channel_check(int fd, GError **error);
/* The ContainerProcessState passed on with a notify fd (@passive: mark
 * it "slirpbypassPassive", see PbProcessState). */
char *pb_state_json_for(gint64 pid, const char *id, const char *metadata,
                        gboolean passive);
/* Is @fd a seccomp notify fd?  (Never hangs on a client's FUSE file.) */
gboolean pb_is_notify_fd(int fd);
/* A ContainerProcessState passed on a channel with @fd: valid, and @fd a
 * seccomp notify fd?  (The check of both ends of a channel.) */
gboolean pb_passed_fd_parse(const char *json, gsize len, int fd,
                            PbProcessState *st, GError **error);
/* Is @fd a network namespace?  Fills @st.  (Never hangs either.) */
gboolean pb_netns_of_fd(int fd, struct stat *st);

/* ---- notification.c ---- */
/* Does process @pid live in our pid namespace (so that pids it reports,
 * like a notification's, mean the same here)? */
gboolean pb_pidns_shared(gint64 pid);

G_END_DECLS

#endif /* PB_AGENT_INTERNAL_H */
