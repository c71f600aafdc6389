/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * port-driver: the one port-forwarding table and the JSON API socket.
 *
 * Theory of operation: PdTable is the only owner of libslirp hostfwd
 * calls.  Every forward (from the API socket, from -p/--publish, and later
 * from the bypass hand-off) is an entry {id, proto, host addr/port, guest
 * addr/port, path}.  PdApi serves the slirp4netns-compatible API socket on
 * the main loop, one asynchronous client at a time per connection, and
 * turns requests into PdTable calls.
 *
 * The table does not know about the bypass; the plugin asks it through
 * pd_table_* lookups and flips an entry's path with pd_table_set_path().
 */
#ifndef PORT_DRIVER_H
#define PORT_DRIVER_H

#include <glib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <libslirp.h>

#include "slirp-bridge/shared.h"

G_BEGIN_DECLS

#define PD_ERROR (pd_error_quark())
GQuark pd_error_quark(void);

typedef enum {
    PD_ERROR_INVALID = 1, /* bad spec: message names the field */
    PD_ERROR_EXISTS,      /* duplicate host address/port */
    PD_ERROR_NOT_FOUND,   /* unknown id */
    PD_ERROR_SLIRP,       /* libslirp refused (e.g. port in use) */
} PdErrorCode;

typedef enum {
    PD_PROTO_TCP = 0,
    PD_PROTO_UDP,
} PdProto;

typedef enum {
    PD_PATH_SLIRP = 0, /* served by libslirp hostfwd */
    PD_PATH_BYPASS,    /* handed to the bypass (host listener in place) */
} PdPath;

/* One forward.  Addresses are sockaddr_storage so that IPv4 and IPv6 fit;
 * host_port/guest_port are also inside the sockaddrs. */
typedef struct {
    guint id; /* 0 until added */
    PdProto proto;
    struct sockaddr_storage host;  /* AF_INET or AF_INET6, port set */
    struct sockaddr_storage guest; /* AF_INET or AF_INET6, port set */
    PdPath path;
} PdForward;

/* The virtual network facts the table needs (default guest addresses:
 * vnet.guest, and vnet.guest6 if known, else ::). */
typedef struct {
    SbVnet vnet;
    gboolean ipv6; /* -6 given */
} PdNetInfo;

typedef struct PdTable PdTable;

PdTable *pd_table_new(Slirp *slirp, const PdNetInfo *net);
void pd_table_free(PdTable *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PdTable, pd_table_free)

/* Adds fwd (its id is ignored); on success stores the new id in *id. */
gboolean pd_table_add(PdTable *t, const PdForward *fwd, guint *id,
                      GError **error);
gboolean pd_table_remove(PdTable *t, guint id, GError **error);
/* Entries in id order; the array owns copies (PdForward *). */
GPtrArray *pd_table_list(PdTable *t);

/* The default guest address for a host address of family (AF_INET: net->guest;
 * AF_INET6: net->guest6, "::" meaning "the guest's address, resolved by
 * libslirp at connect time"), with port. */
void pd_default_guest(const PdNetInfo *net, int family, guint16 port,
                      struct sockaddr_storage *out);

/* Parses "[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]" (IPv6 in brackets). */
gboolean pd_publish_parse(const char *spec, const PdNetInfo *net,
                          PdForward *out, GError **error);

/* The PdNetInfo given to pd_table_new (defaults for empty guest_addr). */
const PdNetInfo *pd_table_get_net(PdTable *t);

/* Bypass hand-off (used by plugin/ through main).  An entry's path says who
 * serves the host port: PD_PATH_SLIRP: libslirp's socket; PD_PATH_BYPASS:
 * a bypass socket bound to the same address and port, while libslirp's
 * socket stays bound but receives nothing (handover.c).  The port is held
 * by one of them at every instant. */

/* Copies entry id into *out; FALSE if there is no such id. */
gboolean pd_table_get(PdTable *t, guint id, PdForward *out);
/* All entries (copies, id order) with this protocol whose guest port is
 * guest_port; an empty array if none.  Several entries may share a guest
 * port (e.g. 0.0.0.0:8080 and [::]:8080 both to port 80). */
GPtrArray *pd_table_find_guest(PdTable *t, PdProto proto, guint16 guest_port);
/* Lets a socket of this user bind entry id's host port beside libslirp's
 * (SO_REUSEPORT), before the hand-over.  PD_ERROR_NOT_FOUND, _SLIRP. */
gboolean pd_table_share(PdTable *t, guint id, GError **error);
/* Moves entry id to path.  SLIRP -> BYPASS stops libslirp's socket in place
 * (it keeps the port); BYPASS -> SLIRP resumes it: the caller makes sure no
 * bypass socket listens there any more (handoff.c lists them first), or
 * libslirp's socket would join its SO_REUSEPORT group.  Setting the current
 * path is a no-op. Errors: PD_ERROR_NOT_FOUND, PD_ERROR_SLIRP (the entry keeps
 * its path). */
gboolean pd_table_set_path(PdTable *t, guint id, PdPath path, GError **error);

typedef enum {
    PD_TABLE_ADDED = 0,   /* a new entry (path SLIRP) */
    PD_TABLE_REMOVED,     /* entry removed (fwd->path: path it had) */
    PD_TABLE_PATH_CHANGED /* fwd->path is the new path */
} PdTableEvent;
/* Called after every change; fwd is only valid during the call.  The
 * callback must not call pd_table_add/remove/set_path itself. */
typedef void (*PdTableWatchFunc)(PdTable *t, PdTableEvent event,
                                 const PdForward *fwd, gpointer user_data);
/* One watcher (the bypass); NULL func removes it. */
void pd_table_set_watch(PdTable *t, PdTableWatchFunc func, gpointer user_data);
/* In a PD_TABLE_REMOVED watcher of a BYPASS TCP entry: libslirp's socket
 * (a dup, still bound, no SO_REUSEPORT; the caller owns it), or -1. */
int pd_table_take_held(PdTable *t);
/* Called when an added forward's port is taken, before one retry (the
 * bypass releases the ports of removed forwards whose sockets are gone). */
typedef void (*PdTableFlushFunc)(gpointer user_data);
void pd_table_set_flush(PdTable *t, PdTableFlushFunc func, gpointer user_data);
/* Stops (TRUE) or resumes polling libslirp's socket @fd (main loop). */
typedef void (*PdTableMuteFunc)(int fd, gboolean mute, gpointer user_data);
void pd_table_set_mute(PdTable *t, PdTableMuteFunc func, gpointer user_data);

/* Address helpers (addr.c), shared by the API, --publish and the tests. */

/* Parses a numeric IPv4 or IPv6 address (IPv6 may carry a %scope) into
 * *out with port; an IPv4-mapped IPv6 address becomes AF_INET.  FALSE if
 * text is not an address. */
gboolean pd_addr_parse(const char *text, guint16 port,
                       struct sockaddr_storage *out);
/* The address part of sa as text ("127.0.0.1", "::1"); g_free() it. */
char *pd_addr_to_string(const struct sockaddr_storage *sa);
guint16 pd_addr_port(const struct sockaddr_storage *sa);
const char *pd_proto_name(PdProto proto);
const char *pd_path_name(PdPath path);

typedef struct PdApi PdApi;
/* Binds and listens on path (unlinking a stale file first) and serves
 * clients on ctx.  Fails if path is >= 108 bytes. */
PdApi *pd_api_new(PdTable *t, const char *path, GMainContext *ctx,
                  GError **error);
/* Closes every client and the listener, and unlinks the socket file it
 * created (through a directory fd opened at bind time, so this works after
 * the sandbox's pivot_root), unless the file was replaced meanwhile. */
void pd_api_free(PdApi *api);

/* Network facts reported by the "info" extension command. */
typedef struct {
    const char *version; /* e.g. "0.1.0"; copied */
    SbVnet vnet;         /* the IPv6 half only with @ipv6 */
    guint mtu;
    gboolean ipv6; /* -6 given */
    gboolean disable_host_loopback;
    gboolean bypass; /* the seccomp bypass is armed */
} PdApiInfo;
/* Sets (copies) what "info" reports; before this call "info" reports only
 * the version and the features. */
void pd_api_set_info(PdApi *api, const PdApiInfo *info);

/* Limits (documented in docs/api.md). */
#define PD_API_MAX_REQUEST 4096 /* a request must end before this byte */
#define PD_API_MAX_CLIENTS 128  /* served at once; a new one closes the oldest \
                                 */
#define PD_API_TIMEOUT_SEC 10   /* per connection, accept to reply sent */

/* The request handler alone (api_commands.c): request is the text of one
 * JSON value (not NUL-terminated, len bytes); returns the reply text
 * (g_free).  Exposed for the unit tests. */
char *pd_api_handle_request(PdTable *t, const PdApiInfo *info,
                            const char *request, gsize len);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PdApi, pd_api_free)

G_END_DECLS

#endif /* PORT_DRIVER_H */
