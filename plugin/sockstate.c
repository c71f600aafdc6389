/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sockstate.c: copy the original socket's state onto the host socket.
 *
 * Theory of operation.  The agent does not trap setsockopt() (every trap
 * costs every fd of the container ~3 us, and trapping common calls
 * deadlocked runtimes before), so it reads the state at switch time from
 * its duplicate of the original socket and replays it on the fresh host
 * socket.  Only options that differ from a fresh socket's default are
 * set: setting an option is not free, and for SO_RCVBUF/SO_SNDBUF setting
 * it at all disables the kernel's buffer autotuning, which must only
 * happen when the application asked for it.  The defaults are read once
 * per (family, type) from a fresh socket in the agent's own namespace.
 *
 * The documented list (per socket kind; "T" TCP, "U" connected UDP):
 *   SOL_SOCKET   SO_KEEPALIVE(T) SO_RCVBUF SO_SNDBUF SO_LINGER(T)
 *                SO_RCVTIMEO SO_SNDTIMEO SO_PRIORITY SO_TIMESTAMP(U)
 *                SO_TIMESTAMPNS(U)
 *   IPPROTO_TCP  TCP_NODELAY TCP_KEEPIDLE TCP_KEEPINTVL TCP_KEEPCNT
 *                TCP_SYNCNT TCP_USER_TIMEOUT TCP_NOTSENT_LOWAT
 *                TCP_CONGESTION
 *   IPPROTO_IP   IP_TOS, IP_RECVERR(U) IP_PKTINFO(U) IP_RECVTOS(U)
 *   IPPROTO_IPV6 IPV6_V6ONLY IPV6_TCLASS IPV6_RECVERR(U)
 *                IPV6_RECVPKTINFO(U)
 * Each entry costs a getsockopt() on every bypassed connect (~0.4 us), so
 * options that programs practically never set before connect() are left
 * out: SO_OOBINLINE, SO_RCVLOWAT, TCP_MAXSEG, TCP_LINGER2,
 * TCP_WINDOW_CLAMP, IP_TTL, IP_MTU_DISCOVER, IPV6_UNICAST_HOPS,
 * IPV6_MTU_DISCOVER (set after connect(), they act on the host socket
 * directly, as every later setsockopt() does).
 * Deliberately not copied:
 *   - SO_REUSEADDR/SO_REUSEPORT: they only matter for bind(), and a
 *     bypassed socket was never bound and cannot be bound after connect;
 *   - SO_MARK: a mark chosen in the container's namespace means nothing in
 *     the host's, and could select host policy routes (it also needs
 *     CAP_NET_ADMIN);
 *   - SO_BROADCAST: slirp's host sockets never broadcast;
 *   - SO_BINDTODEVICE: names the container's devices; connect.c does not
 *     bypass such sockets at all;
 *   - TCP_QUICKACK: transient by definition;
 *   - TCP_FASTOPEN_CONNECT: it makes connect() only record the destination
 *     and the first write() send the SYN with data; a host socket that
 *     carries it is one a later unchecked connect() could use to hand data
 *     to a server in its SYN, before any reply the socket could filter.
 *     The bypass filters refuse to set it (EOPNOTSUPP, as with Fast Open
 *     off), so a container socket normally never has it; the connection
 *     is simply made without Fast Open.
 * SO_RCVBUF/SO_SNDBUF read back twice what was set (the kernel doubles
 * the value for bookkeeping), so half is set.  Failures (e.g. a congestion
 * control the host does not allow unprivileged) are skipped: the state is
 * best effort, the connection is not.
 */
#include "agent_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    PB_K_INT,     /* int */
    PB_K_BUF,     /* int, set half of it */
    PB_K_LINGER,  /* struct linger */
    PB_K_TIMEVAL, /* struct timeval */
    PB_K_STR,     /* char[16] (TCP_CA_NAME_MAX) */
};

/* applicability bits */
#define A_TCP 0x1u
#define A_UDP 0x2u
#define A_V4 0x4u
#define A_V6 0x8u
#define A_ALL (A_TCP | A_UDP | A_V4 | A_V6)

typedef struct {
    int level;
    int name;
    guint8 kind;
    guint8 applies;
    const char *label;
} PbSockOpt;

static const PbSockOpt opts[] = {
    { SOL_SOCKET, SO_KEEPALIVE, PB_K_INT, A_TCP | A_V4 | A_V6, "SO_KEEPALIVE" },
    { SOL_SOCKET, SO_RCVBUF, PB_K_BUF, A_ALL, "SO_RCVBUF" },
    { SOL_SOCKET, SO_SNDBUF, PB_K_BUF, A_ALL, "SO_SNDBUF" },
    { SOL_SOCKET, SO_LINGER, PB_K_LINGER, A_TCP | A_V4 | A_V6, "SO_LINGER" },
    { SOL_SOCKET, SO_RCVTIMEO, PB_K_TIMEVAL, A_ALL, "SO_RCVTIMEO" },
    { SOL_SOCKET, SO_SNDTIMEO, PB_K_TIMEVAL, A_ALL, "SO_SNDTIMEO" },
    { SOL_SOCKET, SO_PRIORITY, PB_K_INT, A_ALL, "SO_PRIORITY" },
    { SOL_SOCKET, SO_TIMESTAMP, PB_K_INT, A_UDP | A_V4 | A_V6, "SO_TIMESTAMP" },
    { SOL_SOCKET, SO_TIMESTAMPNS, PB_K_INT, A_UDP | A_V4 | A_V6,
      "SO_TIMESTAMPNS" },
    { IPPROTO_TCP, TCP_NODELAY, PB_K_INT, A_TCP | A_V4 | A_V6, "TCP_NODELAY" },
    { IPPROTO_TCP, TCP_KEEPIDLE, PB_K_INT, A_TCP | A_V4 | A_V6,
      "TCP_KEEPIDLE" },
    { IPPROTO_TCP, TCP_KEEPINTVL, PB_K_INT, A_TCP | A_V4 | A_V6,
      "TCP_KEEPINTVL" },
    { IPPROTO_TCP, TCP_KEEPCNT, PB_K_INT, A_TCP | A_V4 | A_V6, "TCP_KEEPCNT" },
    { IPPROTO_TCP, TCP_SYNCNT, PB_K_INT, A_TCP | A_V4 | A_V6, "TCP_SYNCNT" },
    { IPPROTO_TCP, TCP_USER_TIMEOUT, PB_K_INT, A_TCP | A_V4 | A_V6,
      "TCP_USER_TIMEOUT" },
    { IPPROTO_TCP, TCP_NOTSENT_LOWAT, PB_K_INT, A_TCP | A_V4 | A_V6,
      "TCP_NOTSENT_LOWAT" },
    { IPPROTO_TCP, TCP_CONGESTION, PB_K_STR, A_TCP | A_V4 | A_V6,
      "TCP_CONGESTION" },
    /* IP_TOS also applies to v4-mapped traffic of AF_INET6 sockets */
    { IPPROTO_IP, IP_TOS, PB_K_INT, A_ALL, "IP_TOS" },
    { IPPROTO_IP, IP_RECVERR, PB_K_INT, A_UDP | A_V4, "IP_RECVERR" },
    { IPPROTO_IP, IP_PKTINFO, PB_K_INT, A_UDP | A_V4, "IP_PKTINFO" },
    { IPPROTO_IP, IP_RECVTOS, PB_K_INT, A_UDP | A_V4, "IP_RECVTOS" },
    { IPPROTO_IPV6, IPV6_V6ONLY, PB_K_INT, A_TCP | A_UDP | A_V6,
      "IPV6_V6ONLY" },
    { IPPROTO_IPV6, IPV6_TCLASS, PB_K_INT, A_TCP | A_UDP | A_V6,
      "IPV6_TCLASS" },
    { IPPROTO_IPV6, IPV6_RECVERR, PB_K_INT, A_UDP | A_V6, "IPV6_RECVERR" },
    { IPPROTO_IPV6, IPV6_RECVPKTINFO, PB_K_INT, A_UDP | A_V6,
      "IPV6_RECVPKTINFO" },
};

#define N_OPTS G_N_ELEMENTS(opts)

typedef struct {
    socklen_t len; /* 0: could not be read */
    union {
        int i;
        struct linger l;
        struct timeval tv;
        char s[16];
    } v;
} PbOptVal;

/* The defaults of one socket kind; index = kind_index(). */
typedef struct {
    gboolean loaded;
    PbOptVal val[N_OPTS];
} PbKindDefaults;

struct PbSockDefaults {
    PbKindDefaults kinds[4];
};

/*
 * kind_bits: the applicability bits of (@domain, @type); 0 if unknown.
 */
static guint
kind_bits(int domain, int type)
{
    guint bits = domain == AF_INET ? A_V4 : domain == AF_INET6 ? A_V6 : 0;

    if (type == SOCK_STREAM)
        return bits | A_TCP;
    if (type == SOCK_DGRAM)
        return bits | A_UDP;
    return 0;
}

/*
 * kind_index: 0..3 for (v4|v6) x (TCP|UDP).
 */
static guint
kind_index(guint bits)
{
    return ((bits & A_V6) ? 2 : 0) + ((bits & A_UDP) ? 1 : 0);
}

/*
 * opt_get: read option @o of @fd into @out (len 0 on failure).
 */
static void
opt_get(int fd, const PbSockOpt *o, PbOptVal *out)
{
    out->len = sizeof out->v;
    memset(&out->v, 0, sizeof out->v);
    if (getsockopt(fd, o->level, o->name, &out->v, &out->len) < 0)
        out->len = 0;
}

/**
 * pb_sock_defaults_new:
 *
 * Returns: (transfer full) an empty defaults cache (filled lazily).
 */
PbSockDefaults *
pb_sock_defaults_new(void)
{
    return g_new0(PbSockDefaults, 1);
}

/**
 * pb_sock_defaults_free:
 * @d: (nullable): a defaults cache
 */
void
pb_sock_defaults_free(PbSockDefaults *d)
{
    g_free(d);
}

/*
 * defaults_for: the defaults of the kind @bits, read from a fresh socket
 * the first time.  Returns NULL if no such socket can be made.
 */
static PbKindDefaults *
defaults_for(PbSockDefaults *d, guint bits, int domain, int type)
{
    PbKindDefaults *k = &d->kinds[kind_index(bits)];
    int fd;

    if (k->loaded)
        return k;
    fd = socket(domain, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    for (guint i = 0; i < N_OPTS; i++)
        if ((opts[i].applies & bits) == bits)
            opt_get(fd, &opts[i], &k->val[i]);
    close(fd);
    k->loaded = TRUE;
    return k;
}

/**
 * pb_sockstate_copy:
 * @d: the defaults cache
 * @from: the agent's duplicate of the original socket
 * @to: the fresh host socket
 * @domain: AF_INET or AF_INET6 (both sockets)
 * @type: SOCK_STREAM or SOCK_DGRAM (flags masked off)
 * @sndtimeo: (out): @from's SO_SNDTIMEO (zero: none)
 */
void
pb_sockstate_copy(PbSockDefaults *d, int from, int to, int domain, int type,
                  struct timeval *sndtimeo)
{
    guint bits = kind_bits(domain, type);
    PbKindDefaults *k;

    memset(sndtimeo, 0, sizeof *sndtimeo);
    if (bits == 0 || (k = defaults_for(d, bits, domain, type)) == NULL)
        return;
    for (guint i = 0; i < N_OPTS; i++) {
        const PbSockOpt *o = &opts[i];
        const PbOptVal *def = &k->val[i];
        PbOptVal cur;
        int half;
        const void *val = &cur.v;
        socklen_t len;

        if ((o->applies & bits) != bits)
            continue;
        opt_get(from, o, &cur);
        if (cur.len == 0)
            continue;
        if (o->level == SOL_SOCKET && o->name == SO_SNDTIMEO &&
            cur.len == sizeof cur.v.tv)
            *sndtimeo = cur.v.tv;
        if (cur.len == def->len && memcmp(&cur.v, &def->v, cur.len) == 0)
            continue;
        len = cur.len;
        if (o->kind == PB_K_BUF) {
            half = cur.v.i / 2;
            val = &half;
            len = sizeof half;
        } else if (o->kind == PB_K_STR) {
            len = (socklen_t)strnlen(cur.v.s, sizeof cur.v.s);
        }
        if (setsockopt(to, o->level, o->name, val, len) < 0)
            pb_debug("copy %s: %s", o->label, g_strerror(errno));
    }
}
