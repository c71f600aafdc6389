/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fdpass.c: pass one file descriptor over a unix socket.
 *
 * Theory of operation: the tap child opens the tap inside the target
 * namespaces and must hand the fd to the long-running parent, which never
 * enters them.  SCM_RIGHTS needs at least one byte of ordinary data; the
 * tap child uses it to carry the target namespace's cookie (8 bytes).
 */
#include "slirp_bridge.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/**
 * sb_fd_send: send @fd and @len (>= 1) bytes of @data over the connected
 * unix socket @sock, in one message.
 * @sock: a connected AF_UNIX socket
 * @fd: the descriptor to pass (still owned by the caller)
 * @data: the payload (SCM_RIGHTS needs at least one byte)
 * @len: its size, at least 1
 * @error: set on failure (SB_ERROR_SYSTEM naming sendmsg)
 *
 * Returns: TRUE once the message is sent.
 */
gboolean
sb_fd_send(int sock, int fd, const void *data, size_t len, GError **error)
{
    struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = { 0 };
    struct cmsghdr *cmsg;
    ssize_t n;

    memset(&u, 0, sizeof u);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof u.buf;
    cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));

    do {
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        g_set_error(error, SB_ERROR, SB_ERROR_SYSTEM, "sendmsg: %s",
                    g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

/**
 * sb_fd_recv: receive one descriptor and its payload sent by sb_fd_send().
 * @sock: a connected AF_UNIX socket
 * @data: where the payload goes
 * @len: its size (the sender's @len)
 * @error: set on failure (EOF, no descriptor, a short payload, or a
 *         recvmsg error)
 *
 * Any extra descriptors in the message are closed.
 *
 * Returns: the received descriptor (close-on-exec), or -1.
 */
int
sb_fd_recv(int sock, void *data, size_t len, GError **error)
{
    struct iovec iov = { .iov_base = data, .iov_len = len };
    union {
        char buf[CMSG_SPACE(sizeof(int) * 4)];
        struct cmsghdr align;
    } u;
    struct msghdr msg = { 0 };
    struct cmsghdr *cmsg;
    int fd = -1;
    ssize_t n;

    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof u.buf;
    do {
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        g_set_error(error, SB_ERROR, SB_ERROR_SYSTEM, "recvmsg: %s",
                    g_strerror(errno));
        return -1;
    }
    for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
            continue;
        size_t nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < nfds; i++) {
            int f;
            memcpy(&f, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
            if (fd < 0)
                fd = f;
            else
                close(f);
        }
    }
    if (fd >= 0 && (size_t)n != len) {
        close(fd);
        fd = -1;
        g_set_error(error, SB_ERROR, SB_ERROR_SYSTEM,
                    "recvmsg: short message (%zd of %zu bytes)", n, len);
    } else if (fd < 0) {
        g_set_error(error, SB_ERROR, SB_ERROR_SYSTEM,
                    n == 0 ? "recvmsg: unexpected EOF"
                           : "recvmsg: no descriptor in message");
    }
    return fd;
}
