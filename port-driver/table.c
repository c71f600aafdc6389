/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * table.c: the one port-forwarding table.
 *
 * Theory of operation: PdTable owns every libslirp host forward; nothing
 * else in the process calls slirp_add_hostxfwd()/slirp_remove_hostxfwd().
 * Entries live in a GPtrArray in id order (ids start at 1, increase and are
 * never reused, as slirp4netns does), so list output is stable and a
 * linear scan is cheap for the tens of forwards a container has.
 *
 * Every entry is validated before libslirp sees it, because libslirp
 * itself is not defensive: an IPv4 host forward to an IPv6 guest aborts the
 * process on the first connection (soassign_guest_addr_if_needed, libslirp
 * 4.7), an IPv6 host forward to an IPv4 guest silently drops connections,
 * host port 0 would bind an ephemeral port nobody knows, and a UDP forward
 * to the IPv6 guest "::" (TCP resolves it per connection) goes nowhere.  IPv6
 * host sockets are always bound IPV6_V6ONLY, so "::" and "0.0.0.0" on the same
 * port are two independent forwards (a dual-stack "::" would collide with
 * the IPv4 one and would feed IPv4 clients to the IPv6 guest).
 *
 * Duplicates are refused before binding: same protocol, same family, same
 * port, and equal addresses or either one the wildcard.  The kernel would
 * refuse most of these too, but not all (SO_REUSEADDR on UDP), and a clear
 * message is better than "Address already in use".
 *
 * The bypass hand-off: an entry's path is SLIRP while libslirp's socket
 * serves the host port and BYPASS while a bypass socket does.  libslirp's
 * socket is never closed for the hand-off: pd_table_share() lets the
 * bypass socket bind the same port, pd_table_set_path() stops and resumes
 * libslirp's socket in place (handover.c), so the port is held at every
 * instant.  The table remembers which fd libslirp created for each entry
 * (handover.c finds it) and has the main loop stop polling a stopped TCP
 * listener (the mute callback).  Removing a BYPASS entry resumes nothing:
 * it unmutes and lets libslirp close its socket; the watcher is told so
 * that the bypass closes its side.  pd_table_free() does not touch
 * libslirp: the forwards die with the Slirp instance, whatever the order
 * in which main tears things down.
 */
#include "pd_internal.h"

#include <errno.h>
#include <string.h>

/* clang-format would space the dashes of the stringified quark name */
// clang-format off
G_DEFINE_QUARK(pd-error-quark, pd_error)
// clang-format on

struct PdTable {
    Slirp *slirp;
    PdNetInfo net;
    GPtrArray *entries; /* PdForward *, owned, id order */
    guint next_id;
    PdTableWatchFunc watch;
    gpointer watch_data;
    GHashTable *fds; /* id -> libslirp's fd + 1 (0: not found) */
    PdTableMuteFunc mute;
    gpointer mute_data;
    int held; /* during a REMOVED notification: see pd_table_take_held() */
    PdTableFlushFunc flush;
    gpointer flush_data;
};

/**
 * pd_table_new:
 * @slirp: the libslirp instance the forwards are added to (not owned)
 * @net: the virtual network facts (copied)
 *
 * Returns: (transfer full): an empty table.
 */
PdTable *
pd_table_new(Slirp *slirp, const PdNetInfo *net)
{
    PdTable *t = g_new0(PdTable, 1);

    t->slirp = slirp;
    if (net != NULL)
        t->net = *net;
    t->entries = g_ptr_array_new_with_free_func(g_free);
    t->next_id = 1;
    t->fds = g_hash_table_new(NULL, NULL);
    t->held = -1;
    return t;
}

/**
 * pd_table_free:
 * @t: (nullable): a table
 *
 * Frees the table.  libslirp is not called (see the file comment).
 */
void
pd_table_free(PdTable *t)
{
    if (t == NULL)
        return;
    g_ptr_array_unref(t->entries);
    g_hash_table_destroy(t->fds);
    g_free(t);
}

/* Length of the sockaddr for its family (what libslirp wants). */
static socklen_t
sa_len(const struct sockaddr_storage *sa)
{
    return sa->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                     : sizeof(struct sockaddr_in);
}

static gboolean
sa_is_any(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET)
        return ((const struct sockaddr_in *)sa)->sin_addr.s_addr ==
               htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(
        &((const struct sockaddr_in6 *)sa)->sin6_addr);
}

static gboolean
sa_same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return FALSE;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    return IN6_ARE_ADDR_EQUAL(&((const struct sockaddr_in6 *)a)->sin6_addr,
                              &((const struct sockaddr_in6 *)b)->sin6_addr);
}

/* "tcp 127.0.0.1:8080" / "udp [::1]:53" for messages. */
static char *
describe_sa(PdProto proto, const struct sockaddr_storage *sa)
{
    g_autofree char *addr = pd_addr_to_string(sa);

    if (sa->ss_family == AF_INET6)
        return g_strdup_printf("%s [%s]:%u", pd_proto_name(proto), addr,
                               pd_addr_port(sa));
    return g_strdup_printf("%s %s:%u", pd_proto_name(proto), addr,
                           pd_addr_port(sa));
}

/* Folds an IPv4-mapped IPv6 address to AF_INET in place. */
static void
normalize_sa(struct sockaddr_storage *sa)
{
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)sa;
    struct sockaddr_in sin = { 0 };

    if (sa->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
        return;
    sin.sin_family = AF_INET;
    sin.sin_port = sin6->sin6_port;
    memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
    memset(sa, 0, sizeof(*sa));
    memcpy(sa, &sin, sizeof(sin));
}

/* Checks one forward on its own (not against the table).  Returns FALSE
 * with PD_ERROR_INVALID naming the field. */
static gboolean
check_forward(const PdTable *t, const PdForward *f, GError **error)
{
    g_autofree char *what = NULL;

    if (f->proto != PD_PROTO_TCP && f->proto != PD_PROTO_UDP) {
        g_set_error(error, PD_ERROR, PD_ERROR_INVALID,
                    "unknown protocol %d (want tcp or udp)", (int)f->proto);
        return FALSE;
    }
    if (f->host.ss_family != AF_INET && f->host.ss_family != AF_INET6) {
        g_set_error(error, PD_ERROR, PD_ERROR_INVALID,
                    "host address is not IPv4 or IPv6");
        return FALSE;
    }
    what = describe_sa(f->proto, &f->host);
    if (f->guest.ss_family != AF_INET && f->guest.ss_family != AF_INET6) {
        g_set_error(error, PD_ERROR, PD_ERROR_INVALID,
                    "forward %s: guest address is not IPv4 or IPv6", what);
        return FALSE;
    }
    if (pd_addr_port(&f->host) == 0) {
        g_set_error(error, PD_ERROR, PD_ERROR_INVALID,
                    "forward %s: host port must be 1-65535", what);
        return FALSE;
    }
    if (pd_addr_port(&f->guest) == 0) {
        g_set_error(error, PD_ERROR, PD_ERROR_INVALID,
                    "forward %s: guest port must be 1-65535", what);
        return FALSE;
    }
    if (f->host.ss_family != f->guest.ss_family) {
        /* libslirp 4.7 aborts (v4 -> v6) or drops (v6 -> v4) these. */
        g_set_error(error, PD_ERROR, PD_ERROR_INVALID,
                    "forward %s: host and guest addresses must be the same "
                    "family (both IPv4 or both IPv6)",
                    what);
        return FALSE;
    }
    if (f->proto == PD_PROTO_UDP && f->guest.ss_family == AF_INET6 &&
        IN6_IS_ADDR_UNSPECIFIED(
            &((const struct sockaddr_in6 *)&f->guest)->sin6_addr)) {
        /* libslirp 4.7 picks the guest's address for "::" only when it
         * accepts a TCP connection; UDP datagrams would go nowhere. */
        g_set_error(error, PD_ERROR, PD_ERROR_INVALID,
                    "forward %s: an IPv6 UDP forward needs an explicit guest "
                    "address",
                    what);
        return FALSE;
    }
    if (f->host.ss_family == AF_INET6 && !t->net.ipv6) {
        g_set_error(error, PD_ERROR, PD_ERROR_INVALID,
                    "forward %s: IPv6 forwarding needs --enable-ipv6", what);
        return FALSE;
    }
    return TRUE;
}

/* The entry that would conflict with host address h for proto, or NULL. */
static PdForward *
find_conflict(const PdTable *t, PdProto proto, const struct sockaddr_storage *h)
{
    for (guint i = 0; i < t->entries->len; i++) {
        PdForward *e = g_ptr_array_index(t->entries, i);

        if (e->proto != proto || e->host.ss_family != h->ss_family ||
            pd_addr_port(&e->host) != pd_addr_port(h))
            continue;
        if (sa_same_addr(&e->host, h) || sa_is_any(&e->host) || sa_is_any(h))
            return e;
    }
    return NULL;
}

static int
slirp_flags(const PdForward *f)
{
    int flags = 0;

    if (f->proto == PD_PROTO_UDP)
        flags |= SLIRP_HOSTFWD_UDP;
    if (f->host.ss_family == AF_INET6)
        flags |= SLIRP_HOSTFWD_V6ONLY;
    return flags;
}

/* Asks libslirp to listen for f; *fd: the socket it made (-1: not found).
 * PD_ERROR_SLIRP on failure. */
static gboolean
slirp_listen(PdTable *t, const PdForward *f, int *fd, GError **error)
{
    g_autofree char *what = NULL;
    int saved, hint = pd_handover_next_fd();

    if (slirp_add_hostxfwd(t->slirp, (const struct sockaddr *)&f->host,
                           sa_len(&f->host), (const struct sockaddr *)&f->guest,
                           sa_len(&f->guest), slirp_flags(f)) == 0) {
        *fd = pd_handover_find(f, hint);
        return TRUE;
    }
    saved = errno;
    what = describe_sa(f->proto, &f->host);
    g_set_error(error, PD_ERROR, PD_ERROR_SLIRP, "cannot listen on %s: %s",
                what, g_strerror(saved));
    return FALSE;
}

/* Asks libslirp to drop its listener for f.  PD_ERROR_SLIRP on failure. */
static gboolean
slirp_unlisten(PdTable *t, const PdForward *f, GError **error)
{
    g_autofree char *what = NULL;

    if (slirp_remove_hostxfwd(t->slirp, (const struct sockaddr *)&f->host,
                              sa_len(&f->host), slirp_flags(f)) == 0)
        return TRUE;
    what = describe_sa(f->proto, &f->host);
    g_set_error(error, PD_ERROR, PD_ERROR_SLIRP,
                "libslirp has no listener for %s", what);
    return FALSE;
}

static PdForward *
fwd_dup(const PdForward *f)
{
    PdForward *c = g_new(PdForward, 1);

    *c = *f;
    return c;
}

static void
notify(PdTable *t, PdTableEvent ev, const PdForward *f)
{
    if (t->watch != NULL)
        t->watch(t, ev, f, t->watch_data);
}

/* Index of entry id in t->entries, or -1. */
static gint
find_index(const PdTable *t, guint id)
{
    for (guint i = 0; i < t->entries->len; i++) {
        const PdForward *e = g_ptr_array_index(t->entries, i);

        if (e->id == id)
            return (gint)i;
    }
    return -1;
}

/* libslirp's socket of entry id, or -1. */
static int
entry_fd(const PdTable *t, guint id)
{
    return GPOINTER_TO_INT(g_hash_table_lookup(t->fds, GUINT_TO_POINTER(id))) -
           1;
}

/*
 * find_handed_off: an entry for @proto and guest port @gport that a bypass
 * socket serves (PD_PATH_BYPASS), or NULL.
 */
static const PdForward *
find_handed_off(PdTable *t, PdProto proto, guint16 gport)
{
    for (guint i = 0; i < t->entries->len; i++) {
        const PdForward *e = t->entries->pdata[i];

        if (e->proto == proto && e->path == PD_PATH_BYPASS &&
            pd_addr_port(&e->guest) == gport)
            return e;
    }
    return NULL;
}

/**
 * pd_table_add:
 * @t: the table
 * @fwd: the forward (its id and path are ignored)
 * @id: (out) (optional): the new entry's id
 * @error: PD_ERROR_INVALID (bad field), PD_ERROR_EXISTS (the host
 *   address/port is already forwarded, or the guest port is served by a
 *   handed-off socket: a second host port could not reach it),
 *   PD_ERROR_SLIRP (bind failed)
 *
 * Validates fwd, starts the libslirp listener and records the entry with
 * path SLIRP.  On any error the table is unchanged and no id is used up.
 *
 * Returns: TRUE on success.
 */
gboolean
pd_table_add(PdTable *t, const PdForward *fwd, guint *id, GError **error)
{
    PdForward f = *fwd;
    PdForward *e = NULL;
    const PdForward *other;
    gboolean ok = FALSE;
    int fd = -1;

    normalize_sa(&f.host);
    normalize_sa(&f.guest);
    f.id = 0;
    f.path = PD_PATH_SLIRP;
    if (!check_forward(t, &f, error))
        goto out;
    other = find_conflict(t, f.proto, &f.host);
    if (other != NULL) {
        g_autofree char *what = describe_sa(f.proto, &f.host);
        g_autofree char *theirs = describe_sa(other->proto, &other->host);

        g_set_error(error, PD_ERROR, PD_ERROR_EXISTS,
                    "forward %s: overlaps forward %u (%s)", what, other->id,
                    theirs);
        goto out;
    }
    other = find_handed_off(t, f.proto, pd_addr_port(&f.guest));
    if (other != NULL) {
        /* libslirp would forward to a guest port nothing listens on in
         * the container: its listener is a host socket of forward @other */
        g_autofree char *what = describe_sa(f.proto, &f.host);

        g_set_error(error, PD_ERROR, PD_ERROR_EXISTS,
                    "forward %s: guest port %u is served by its program's "
                    "own host socket (forward %u, host port %u) and cannot "
                    "take a second host port until that socket closes",
                    what, pd_addr_port(&f.guest), other->id,
                    pd_addr_port(&other->host));
        goto out;
    }
    if (!slirp_listen(t, &f, &fd, t->flush != NULL ? NULL : error)) {
        /* the port may still be held for a removed forward whose bypass
         * socket just closed: let the bypass notice now, then retry */
        if (t->flush == NULL)
            goto out;
        t->flush(t->flush_data);
        if (!slirp_listen(t, &f, &fd, error))
            goto out;
    }
    f.id = t->next_id++;
    if (fd >= 0)
        g_hash_table_insert(t->fds, GUINT_TO_POINTER(f.id),
                            GINT_TO_POINTER(fd + 1));
    e = fwd_dup(&f);
    g_ptr_array_add(t->entries, e);
    if (id != NULL)
        *id = f.id;
    notify(t, PD_TABLE_ADDED, e);
    ok = TRUE;
out:
    return ok;
}

/**
 * pd_table_remove:
 * @t: the table
 * @id: the entry
 * @error: PD_ERROR_NOT_FOUND (no such id), PD_ERROR_SLIRP (libslirp did
 *   not know the listener; the entry is kept, as slirp4netns does)
 *
 * Removes the entry and its libslirp listener (if its path is SLIRP).
 * Connections already accepted may be cut by libslirp.
 *
 * Returns: TRUE on success.
 */
gboolean
pd_table_remove(PdTable *t, guint id, GError **error)
{
    gint i = find_index(t, id);
    PdForward gone;
    int fd;

    if (i < 0) {
        g_set_error(error, PD_ERROR, PD_ERROR_NOT_FOUND,
                    "no forward with id %u", id);
        return FALSE;
    }
    gone = *(PdForward *)g_ptr_array_index(t->entries, i);
    fd = entry_fd(t, id);
    if (gone.path == PD_PATH_BYPASS && fd >= 0) {
        /* libslirp finds its socket by its bound address, which a
         * connect() of the stopped UDP socket changed */
        if (gone.proto == PD_PROTO_UDP)
            (void)pd_handover_resume(fd, &gone);
        if (t->mute != NULL)
            t->mute(fd, FALSE, t->mute_data);
        /* a stopped TCP listener outlives libslirp's fd: it keeps the
         * bypass sockets (shut down by the watcher) from listening again */
        if (gone.proto == PD_PROTO_TCP)
            t->held = pd_handover_hold(fd);
    }
    if (!slirp_unlisten(t, &gone, error)) {
        if (t->held >= 0)
            close(t->held);
        t->held = -1;
        return FALSE;
    }
    g_hash_table_remove(t->fds, GUINT_TO_POINTER(id));
    g_ptr_array_remove_index(t->entries, i);
    notify(t, PD_TABLE_REMOVED, &gone);
    if (t->held >= 0)
        close(t->held); /* nobody took it */
    t->held = -1;
    return TRUE;
}

/**
 * pd_table_list:
 * @t: the table
 *
 * Returns: (transfer full): copies of every entry (PdForward *), id order.
 */
GPtrArray *
pd_table_list(PdTable *t)
{
    GPtrArray *a = g_ptr_array_new_full(t->entries->len, g_free);

    for (guint i = 0; i < t->entries->len; i++)
        g_ptr_array_add(a, fwd_dup(g_ptr_array_index(t->entries, i)));
    return a;
}

/**
 * pd_table_get:
 * @t: the table
 * @id: an entry id
 * @out: (out) (optional): a copy of the entry
 *
 * Returns: TRUE if the entry exists.
 */
gboolean
pd_table_get(PdTable *t, guint id, PdForward *out)
{
    gint i = find_index(t, id);

    if (i < 0)
        return FALSE;
    if (out != NULL)
        *out = *(PdForward *)g_ptr_array_index(t->entries, i);
    return TRUE;
}

/**
 * pd_table_find_guest:
 * @t: the table
 * @proto: protocol
 * @guest_port: guest port, host byte order
 *
 * Returns: (transfer full): copies (PdForward *) of the matching entries,
 * id order; possibly empty.
 */
GPtrArray *
pd_table_find_guest(PdTable *t, PdProto proto, guint16 guest_port)
{
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);

    for (guint i = 0; i < t->entries->len; i++) {
        const PdForward *e = g_ptr_array_index(t->entries, i);

        if (e->proto == proto && pd_addr_port(&e->guest) == guest_port)
            g_ptr_array_add(a, fwd_dup(e));
    }
    return a;
}

/**
 * pd_table_set_path:
 * @t: the table
 * @id: an entry id
 * @path: the new path
 * @error: PD_ERROR_NOT_FOUND, PD_ERROR_SLIRP
 *
 * See port_driver.h.  On error the entry keeps its old path.
 *
 * Returns: TRUE on success (also when path was already set).
 */
gboolean
pd_table_set_path(PdTable *t, guint id, PdPath path, GError **error)
{
    gint i = find_index(t, id);
    PdForward *e;
    int fd, r;

    if (i < 0) {
        g_set_error(error, PD_ERROR, PD_ERROR_NOT_FOUND,
                    "no forward with id %u", id);
        return FALSE;
    }
    if (path != PD_PATH_SLIRP && path != PD_PATH_BYPASS) {
        g_set_error(error, PD_ERROR, PD_ERROR_INVALID, "unknown path %d",
                    (int)path);
        return FALSE;
    }
    e = g_ptr_array_index(t->entries, i);
    if (e->path == path)
        return TRUE;
    fd = entry_fd(t, id);
    if (fd < 0) {
        g_set_error(error, PD_ERROR, PD_ERROR_SLIRP,
                    "forward %u: libslirp's socket is unknown", id);
        return FALSE;
    }
    if (path == PD_PATH_BYPASS) {
        if (e->proto == PD_PROTO_TCP && t->mute != NULL)
            t->mute(fd, TRUE, t->mute_data);
        r = pd_handover_stop(fd, e);
        if (r < 0 && e->proto == PD_PROTO_TCP && t->mute != NULL)
            t->mute(fd, FALSE, t->mute_data);
    } else {
        r = pd_handover_resume(fd, e);
        if (r == 0 && e->proto == PD_PROTO_TCP && t->mute != NULL)
            t->mute(fd, FALSE, t->mute_data);
    }
    if (r < 0) {
        g_autofree char *what = describe_sa(e->proto, &e->host);

        g_set_error(error, PD_ERROR, PD_ERROR_SLIRP, "cannot %s %s: %s",
                    path == PD_PATH_BYPASS ? "stop" : "resume", what,
                    g_strerror(-r));
        return FALSE;
    }
    e->path = path;
    notify(t, PD_TABLE_PATH_CHANGED, e);
    return TRUE;
}

/**
 * pd_table_share:
 * @t: the table
 * @id: an entry id
 * @error: PD_ERROR_NOT_FOUND, PD_ERROR_SLIRP
 *
 * Lets a socket of this process's user bind entry @id's host address and
 * port beside libslirp's (SO_REUSEPORT), before pd_table_set_path() hands
 * the port over.  Idempotent.
 *
 * Returns: TRUE on success.
 */
gboolean
pd_table_share(PdTable *t, guint id, GError **error)
{
    int fd, r;

    if (find_index(t, id) < 0) {
        g_set_error(error, PD_ERROR, PD_ERROR_NOT_FOUND,
                    "no forward with id %u", id);
        return FALSE;
    }
    fd = entry_fd(t, id);
    r = fd < 0 ? -EBADF : pd_handover_share(fd);
    if (r < 0) {
        g_set_error(error, PD_ERROR, PD_ERROR_SLIRP,
                    "forward %u: cannot share its port: %s", id,
                    g_strerror(-r));
        return FALSE;
    }
    return TRUE;
}

/**
 * pd_table_take_held:
 * @t: the table
 *
 * Only from a PD_TABLE_REMOVED watcher, for a removed BYPASS TCP entry:
 * libslirp's socket of it (a duplicate, still bound, stopped, without
 * SO_REUSEPORT), which keeps the port from the bypass sockets' listen()
 * as long as it is open.
 *
 * Returns: (transfer full): the fd, or -1.
 */
int
pd_table_take_held(PdTable *t)
{
    int fd = t->held;

    t->held = -1;
    return fd;
}

/**
 * pd_table_set_flush:
 * @t: the table
 * @func: (nullable): called when a new forward's port is taken, before
 *   one retry: the bypass lets go of ports it no longer needs
 * @user_data: passed to func
 */
void
pd_table_set_flush(PdTable *t, PdTableFlushFunc func, gpointer user_data)
{
    t->flush = func;
    t->flush_data = user_data;
}

/**
 * pd_table_set_mute:
 * @t: the table
 * @func: (nullable): stops (TRUE) or resumes polling one of libslirp's fds
 * @user_data: passed to func
 */
void
pd_table_set_mute(PdTable *t, PdTableMuteFunc func, gpointer user_data)
{
    t->mute = func;
    t->mute_data = user_data;
}

/**
 * pd_table_set_watch:
 * @t: the table
 * @func: (nullable): called after every change; NULL to stop
 * @user_data: passed to func
 */
void
pd_table_set_watch(PdTable *t, PdTableWatchFunc func, gpointer user_data)
{
    t->watch = func;
    t->watch_data = user_data;
}

/**
 * pd_table_get_net:
 * @t: the table
 *
 * Returns: (transfer none): the network facts given to pd_table_new().
 */
const PdNetInfo *
pd_table_get_net(PdTable *t)
{
    return &t->net;
}
