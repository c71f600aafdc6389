/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * handover.c: libslirp's own socket of a forward, stopped and restarted in
 * place so that the host port is never free.
 *
 * Theory of operation.  When the bypass serves a published port, a
 * host-namespace socket in the container (the "bypass socket") must own the
 * host address and port, and when it is gone libslirp must serve it again.
 * Removing libslirp's forward and re-adding it would leave the port free
 * for a moment, for any process of any user to take.  Instead libslirp's
 * socket stays open and bound throughout:
 *
 *   share:  SO_REUSEPORT on it, so that the bypass socket (also
 *           SO_REUSEPORT, created by the same user) may bind the same
 *           address and port.  The kernel allows that only between sockets
 *           of one user, so nobody else can join.
 *   stop:   SO_REUSEADDR off (first: a closed socket with SO_REUSEADDR
 *           lets any user's SO_REUSEADDR socket bind and listen beside
 *           it), then TCP: shutdown(SHUT_RD), which on a listening socket
 *           stops listening but keeps the bind (the port stays held
 *           against every other user); the main loop stops polling it (it
 *           would poll HUP for ever).  UDP: connect() to its own port on
 *           loopback, which takes it out of the kernel's choice among
 *           SO_REUSEPORT sockets; every datagram goes to the bypass socket.
 *   resume: the reverse: listen() again with libslirp's backlog, and only
 *           then SO_REUSEADDR on.
 *
 * Measured on Linux 6.18 (tests/plugin/test-bypass-handoff.sh checks it):
 * another user's bind of the port fails with EADDRINUSE in every state.
 * One residue on UDP: connect() rebinds a wildcard socket to the address
 * it connects from (the kernel's rehash), so while the bypass socket is
 * gone and before the table resumes (at most a second), another user
 * could bind that port on one specific other address.  libslirp's UDP
 * sockets carry SO_REUSEADDR anyway, which lets every user share them.
 *
 * libslirp does not tell which socket it created for a forward.  The
 * socket is the lowest free fd at the time of slirp_add_hostxfwd() (it
 * creates exactly one, and nothing else runs in between on the one
 * thread); that guess is checked (type, family, bound address and port)
 * and otherwise the open fds are scanned.
 */
#include "pd_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

/* Highest fd scanned when the guess was wrong. */
#define PD_HANDOVER_SCAN_MAX 65536

/**
 * pd_handover_next_fd: the fd the next socket() will get (the lowest free
 * one), or -1.
 */
int
pd_handover_next_fd(void)
{
    int fd = eventfd(0, EFD_CLOEXEC);

    if (fd >= 0)
        close(fd);
    return fd;
}

/* Is @fd a socket of @f's protocol bound to exactly @f's host address? */
static gboolean
is_forward_socket(int fd, const PdForward *f)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int type = 0;
    socklen_t tlen = sizeof type;

    if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0)
        return FALSE;
    if (type != (f->proto == PD_PROTO_UDP ? SOCK_DGRAM : SOCK_STREAM))
        return FALSE;
    memset(&ss, 0, sizeof ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
        ss.ss_family != f->host.ss_family)
        return FALSE;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)&ss;
        const struct sockaddr_in *b = (const void *)&f->host;

        return a->sin_port == b->sin_port &&
               a->sin_addr.s_addr == b->sin_addr.s_addr;
    } else {
        const struct sockaddr_in6 *a = (const void *)&ss;
        const struct sockaddr_in6 *b = (const void *)&f->host;

        return a->sin6_port == b->sin6_port &&
               IN6_ARE_ADDR_EQUAL(&a->sin6_addr, &b->sin6_addr);
    }
}

/**
 * pd_handover_find:
 * @f: a forward libslirp has just bound
 * @hint: pd_handover_next_fd() taken just before slirp_add_hostxfwd()
 *
 * Returns: libslirp's socket for @f, or -1 if none was found.
 */
int
pd_handover_find(const PdForward *f, int hint)
{
    struct rlimit rl;
    int max = PD_HANDOVER_SCAN_MAX;

    if (is_forward_socket(hint, f))
        return hint;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)max)
        max = (int)rl.rlim_cur;
    for (int fd = 0; fd < max; fd++)
        if (is_forward_socket(fd, f))
            return fd;
    return -1;
}

static int
set_int(int fd, int level, int name, int value)
{
    return setsockopt(fd, level, name, &value, sizeof value) < 0 ? -errno : 0;
}

/**
 * pd_handover_share:
 * @fd: libslirp's socket of a forward
 *
 * Lets a socket of the same user bind the same address and port.
 *
 * Returns: 0 or -errno.
 */
int
pd_handover_share(int fd)
{
    return set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
}

/**
 * pd_handover_stop:
 * @fd: libslirp's socket of @f (shared)
 * @f: the forward
 *
 * Stops the socket receiving anything while it keeps the port (see the
 * theory of operation).  The caller stops polling a TCP socket first.
 *
 * Returns: 0 or -errno (then nothing changed).
 */
int
pd_handover_stop(int fd, const PdForward *f)
{
    struct sockaddr_storage peer;
    socklen_t len;
    int r = pd_handover_share(fd);

    if (r < 0)
        return r;
    /* SO_REUSEADDR off FIRST: a socket of any user with SO_REUSEADDR may
     * bind and listen beside a closed (not listening) one that has it */
    (void)set_int(fd, SOL_SOCKET, SO_REUSEADDR, 0);
    if (f->proto == PD_PROTO_TCP) {
        if (shutdown(fd, SHUT_RD) < 0) {
            r = -errno;
            (void)set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
            return r;
        }
        return 0;
    }
    /* UDP: connected to its own port on loopback.  Only a socket bound to
     * that port could send from there, and the port is ours; a port 0 peer
     * would match every sender. */
    memset(&peer, 0, sizeof peer);
    if (f->host.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&peer;

        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        in->sin_port = ((const struct sockaddr_in *)&f->host)->sin_port;
        len = sizeof *in;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&peer;

        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_loopback;
        in6->sin6_port = ((const struct sockaddr_in6 *)&f->host)->sin6_port;
        len = sizeof *in6;
    }
    if (connect(fd, (struct sockaddr *)&peer, len) < 0) {
        r = -errno;
        (void)set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
        return r;
    }
    return 0;
}

/**
 * pd_handover_resume:
 * @fd: libslirp's socket of @f, stopped
 * @f: the forward
 *
 * Makes the socket receive again, as libslirp set it up (SO_REUSEADDR on,
 * SO_REUSEPORT off unless connections of the bypass socket linger in
 * TIME_WAIT).  The
 * caller polls a TCP socket again afterwards.
 *
 * The caller makes sure no bypass socket listens on the port any more: the
 * SO_REUSEPORT retry below would join it.
 *
 * Returns: 0 or -errno (the socket stays stopped).
 */
int
pd_handover_resume(int fd, const PdForward *f)
{
    struct sockaddr unspec = { .sa_family = AF_UNSPEC };

    if (f->proto == PD_PROTO_UDP) {
        if (connect(fd, &unspec, sizeof unspec) < 0)
            return -errno;
        (void)set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
        (void)set_int(fd, SOL_SOCKET, SO_REUSEPORT, 0);
        return 0;
    }
    /* listen() FIRST, SO_REUSEADDR after: see pd_handover_stop() */
    (void)set_int(fd, SOL_SOCKET, SO_REUSEPORT, 0);
    if (listen(fd, SOMAXCONN) == 0) {
        (void)set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
        return 0;
    }
    /* the bypass socket's connections in TIME_WAIT hold the port with
     * SO_REUSEPORT (it always has it): they let only SO_REUSEPORT sockets
     * of this user listen (nothing else listens there now: the caller
     * checked) */
    (void)set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    if (listen(fd, SOMAXCONN) == 0) {
        (void)set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
        return 0;
    }
    return -errno;
}

/**
 * pd_handover_hold:
 * @fd: libslirp's socket of a stopped TCP forward that is being removed
 *
 * A duplicate that keeps the port bound after libslirp closes its fd,
 * with SO_REUSEPORT and SO_REUSEADDR off: the bypass sockets (all
 * SO_REUSEPORT) then cannot listen on the port again.
 *
 * Returns: the duplicate, or -1.
 */
int
pd_handover_hold(int fd)
{
    int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);

    if (dup >= 0) {
        (void)set_int(dup, SOL_SOCKET, SO_REUSEPORT, 0);
        (void)set_int(dup, SOL_SOCKET, SO_REUSEADDR, 0);
    }
    return dup;
}
