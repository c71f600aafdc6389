/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * channel.c: the message channel between `slirpbypass agent` and a helper.
 *
 * Theory of operation.  A helper registers with the per-user agent by
 * connecting to its stream socket (the OCI listenerPath) and sending one
 * JSON object with one end of a SOCK_SEQPACKET socketpair (register.c,
 * dispatch.c).  Everything after that goes over the socketpair: each
 * message is one JSON object in one datagram, with at most one fd
 * attached.  SOCK_SEQPACKET keeps message boundaries and ties each fd to
 * its message, which a stream socket does not.  Deregistration is the
 * channel closing: a helper that exits or crashes is noticed by the
 * kernel, not by a message that might never come.
 *
 * Sends never block (MSG_DONTWAIT): a peer that does not read loses the
 * message and the sender keeps the fd (the caller decides what then).
 */
#include "agent_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/socket.h>
#include <unistd.h>

/**
 * pb_channel_send_fds:
 * @sock: a SOCK_SEQPACKET (or, for the registration, stream) socket
 * @json: the message, NUL-terminated
 * @fds: the fds to pass with it
 * @nfds: how many (0 to 2)
 *
 * Returns: 0, or -errno (-EAGAIN: the peer's queue is full).
 */
int
pb_channel_send_fds(int sock, const char *json, const int *fds, guint nfds)
{
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } ctrl;
    struct iovec iov = { .iov_base = (void *)json, .iov_len = strlen(json) };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t n;

    g_return_val_if_fail(nfds <= 2, -EINVAL);
    if (nfds > 0) {
        struct cmsghdr *cm;

        memset(&ctrl, 0, sizeof ctrl);
        msg.msg_control = ctrl.buf;
        msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
    }
    do
        n = sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if ((size_t)n != iov.iov_len)
        return -EMSGSIZE;
    return 0;
}

/**
 * pb_channel_send:
 * @sock: a SOCK_SEQPACKET (or, for the registration, stream) socket
 * @json: the message, NUL-terminated
 * @fd: an fd to pass with it, or -1
 *
 * Returns: 0, or -errno (-EAGAIN: the peer's queue is full).
 */
int
pb_channel_send(int sock, const char *json, int fd)
{
    return pb_channel_send_fds(sock, json, &fd, fd >= 0 ? 1 : 0);
}

/**
 * pb_channel_recv:
 * @sock: a SOCK_SEQPACKET socket (non-blocking reads)
 * @buf: room for the message and a NUL
 * @size: size of @buf
 * @fd_out: (out): the fd that came with it, or -1; any further fds are
 *          closed
 *
 * Returns: the message length (@buf NUL-terminated), 0 at end of file,
 * -EAGAIN when nothing is queued, -EMSGSIZE for a message that did not
 * fit or came with more than one fd (its fds closed), or another -errno.
 */
gssize
pb_channel_recv(int sock, char *buf, gsize size, int *fd_out)
{
    union {
        char buf[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } ctrl;
    struct iovec iov = { .iov_base = buf, .iov_len = size - 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    guint nfds = 0;
    ssize_t n;

    *fd_out = -1;
    msg.msg_control = ctrl.buf;
    msg.msg_controllen = sizeof ctrl.buf;
    do
        n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm != NULL;
         cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
             i++) {
            int one;

            memcpy(&one, CMSG_DATA(cm) + i * sizeof(int), sizeof one);
            if (nfds++ == 0)
                *fd_out = one;
            else
                close(one);
        }
    }
    if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || nfds > 1) {
        if (*fd_out >= 0)
            close(*fd_out);
        *fd_out = -1;
        return -EMSGSIZE;
    }
    if (n == 0 && *fd_out < 0)
        return 0;
    buf[n] = '\0';
    return n;
}

/**
 * pb_state_json_for: the ContainerProcessState passed on with a notify fd
 * (to a helper, or back to the agent): only "seccompFd" in "fds".
 * @pid: the container process (0: none)
 * @id: (nullable): the container id
 * @metadata: (nullable): the runtime's listenerMetadata
 * @passive: the fd is read by someone else (a plugin's runtime): add
 *           "slirpbypassPassive":true (notification.c)
 *
 * Returns: (transfer full): compact JSON.
 */
char *
pb_state_json_for(gint64 pid, const char *id, const char *metadata,
                  gboolean passive)
{
    g_autoptr(JsonBuilder) b = json_builder_new_immutable();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "ociVersion");
    json_builder_add_string_value(b, "1.0.2");
    json_builder_set_member_name(b, "fds");
    json_builder_begin_array(b);
    json_builder_add_string_value(b, "seccompFd");
    json_builder_end_array(b);
    json_builder_set_member_name(b, "pid");
    json_builder_add_int_value(b, pid);
    if (metadata != NULL) {
        json_builder_set_member_name(b, "metadata");
        json_builder_add_string_value(b, metadata);
    }
    if (passive) {
        json_builder_set_member_name(b, "slirpbypassPassive");
        json_builder_add_boolean_value(b, TRUE);
    }
    json_builder_set_member_name(b, "state");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "ociVersion");
    json_builder_add_string_value(b, "1.0.2");
    if (id != NULL) {
        json_builder_set_member_name(b, "id");
        json_builder_add_string_value(b, id);
    }
    json_builder_end_object(b);
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    return json_generator_to_data(gen, NULL);
}

/**
 * pb_channel_check:
 * @fd: the fd a registration came with
 * @error: PB_ERROR_INVALID if it is not an AF_UNIX SOCK_SEQPACKET socket
 *
 * Returns: TRUE if it can be a channel.
 */
gboolean
pb_channel_check(int fd, GError **error)
{
    int domain = 0, type = 0;
    socklen_t dl = sizeof domain, tl = sizeof type;

    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dl) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
        domain != AF_UNIX || type != SOCK_SEQPACKET) {
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "registration: the channel is not a unix seqpacket "
                    "socket");
        return FALSE;
    }
    return TRUE;
}

/*
 * fd_dev: the device of @fd's file, from statx() without syncing with the
 * file's server: an fd a client sent may be a FUSE file whose daemon never
 * answers, and any request to it (an ioctl, a plain fstat()) would hang
 * this single-threaded process.  Returns: FALSE if unknown.
 */
static gboolean
fd_dev(int fd, dev_t *dev)
{
    struct statx stx;

    if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &stx) < 0)
        return FALSE;
    *dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
    return TRUE;
}

/*
 * anon_dev: the device of anonymous inodes (seccomp notify fds are some),
 * learnt once from an eventfd.  0 if unknown.
 */
static dev_t
anon_dev(void)
{
    static gsize once;
    static dev_t dev;

    if (g_once_init_enter(&once)) {
        int e = eventfd(0, EFD_CLOEXEC);

        if (e >= 0) {
            (void)fd_dev(e, &dev);
            close(e);
        }
        g_once_init_leave(&once, 1);
    }
    return dev;
}

/*
 * nsfs_dev: the device of namespace files, learnt once from our own
 * network namespace (the agent has /proc; a sandboxed helper asks only
 * anon_dev()).  0 if unknown.
 */
static dev_t
nsfs_dev(void)
{
    static gsize once;
    static dev_t dev;

    if (g_once_init_enter(&once)) {
        int n = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

        if (n >= 0) {
            (void)fd_dev(n, &dev);
            close(n);
        }
        g_once_init_leave(&once, 1);
    }
    return dev;
}

/**
 * pb_is_notify_fd:
 * @fd: any fd (a client's: maybe a FUSE file)
 *
 * An anonymous inode first (asked without a request to any filesystem),
 * then: a notify fd answers SECCOMP_IOCTL_NOTIF_ID_VALID for an unknown id
 * with ENOENT; any other fd with ENOTTY or EINVAL.
 *
 * Returns: TRUE if @fd is a seccomp notify fd.
 */
gboolean
pb_is_notify_fd(int fd)
{
    dev_t dev;

    if (!fd_dev(fd, &dev) || dev == 0 || dev != anon_dev())
        return FALSE;
    return pb_notif_id_valid(fd, G_MAXUINT64) == -ENOENT;
}

/**
 * pb_passed_fd_parse:
 * @json: a ContainerProcessState passed on a channel (not NUL-terminated)
 * @len: its length
 * @fd: the fd that came with it
 * @st: (out): the state; clear with pb_process_state_clear() on success
 * @error: PB_ERROR_INVALID: a bad state, or @fd is no seccomp notify fd
 *
 * The check both ends of a channel make on a notify fd passed to them
 * (the agent on a helper's deposit, a helper on what the agent passes).
 *
 * Returns: TRUE if @json names @fd as the seccomp fd and @fd is one.
 */
gboolean
pb_passed_fd_parse(const char *json, gsize len, int fd, PbProcessState *st,
                   GError **error)
{
    if (!pb_process_state_parse(json, len, 1, st, error))
        return FALSE;
    if (!pb_is_notify_fd(fd)) {
        pb_process_state_clear(st);
        g_set_error(error, PB_ERROR, PB_ERROR_INVALID,
                    "not a seccomp notify fd");
        return FALSE;
    }
    return TRUE;
}

/**
 * pb_netns_of_fd:
 * @fd: any fd (a client's: maybe a FUSE file)
 * @st: (out): fstat() of it
 *
 * Returns: TRUE if @fd is a network namespace (a namespace file, asked
 * without a request to any filesystem, then NS_GET_NSTYPE).
 */
gboolean
pb_netns_of_fd(int fd, struct stat *st)
{
    dev_t dev;

    if (!fd_dev(fd, &dev) || dev == 0 || dev != nsfs_dev())
        return FALSE;
    return ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNET && fstat(fd, st) == 0;
}
