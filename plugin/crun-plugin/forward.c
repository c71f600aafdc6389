/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * forward.c: one notification to the agent and its answer.
 *
 * Theory of operation.  Each notification gets a fresh connection to the
 * agent's stream socket: the agent's listener serves one message per
 * connection (plugin/listener.c), so a connection it closed or reset
 * can never confuse a later one.  The socket is non-blocking throughout:
 * connect() to a unix socket completes at once or fails (EAGAIN when the
 * agent's backlog is full), the message (a few hundred bytes) fits the
 * socket buffer, and the answer is awaited with poll() against one
 * deadline.  The agent answers {"slirpbypass":"taken"} once the helper
 * (or the agent itself) is responsible for answering the notification,
 * and anything else, or nothing, means the plugin must have crun answer
 * it.  MSG_NOSIGNAL: a vanished agent gives EPIPE, not SIGPIPE in crun.
 */
#include "sbcp.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/*
 * now_ms: the monotonic clock in milliseconds.
 */
static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * send_with_fd: one sendmsg of @json with @fd attached.
 * Returns: 0 or -errno (-EMSGSIZE if it was cut short).
 */
static int
send_with_fd(int s, const char *json, int fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctrl;
    struct iovec iov = { .iov_base = (void *)json, .iov_len = strlen(json) };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    struct cmsghdr *cm;
    ssize_t n;

    memset(&ctrl, 0, sizeof ctrl);
    msg.msg_control = ctrl.buf;
    msg.msg_controllen = sizeof ctrl.buf;
    cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    do
        n = sendmsg(s, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if ((size_t)n != iov.iov_len)
        return -EMSGSIZE;
    return 0;
}

/*
 * read_answer: read the agent's answer (one small JSON object) until its
 * closing brace, end of file or @deadline.
 * Returns: 0 if it is "taken", -errno otherwise.
 */
static int
read_answer(int s, long long deadline)
{
    char buf[128];
    size_t len = 0;

    for (;;) {
        struct pollfd p = { .fd = s, .events = POLLIN };
        long long left = deadline - now_ms();
        ssize_t n;
        int r;

        if (left <= 0)
            return -ETIMEDOUT;
        r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -ETIMEDOUT;
        n = recv(s, buf + len, sizeof buf - 1 - len, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ECONNRESET; /* closed without an answer */
        len += (size_t)n;
        buf[len] = '\0';
        if (strchr(buf, '}') != NULL)
            return strstr(buf, "\"taken\"") != NULL ? 0 : -EPROTO;
        if (len == sizeof buf - 1)
            return -EPROTO;
    }
}

/**
 * sbcp_forward:
 * @path: the agent's socket
 * @json: the notification message (message.c)
 * @seccomp_fd: crun's notify fd, passed with it
 * @timeout_ms: how long everything may take
 *
 * Returns: 0 if the agent took the notification (someone else answers
 * it), -errno if not: crun must answer it.
 */
int
sbcp_forward(const char *path, const char *json, int seccomp_fd, int timeout_ms)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    long long deadline = now_ms() + timeout_ms;
    int s, r;

    if (strlen(path) >= sizeof sun.sun_path)
        return -ENAMETOOLONG;
    memcpy(sun.sun_path, path, strlen(path));
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0)
        return -errno;
    do
        r = connect(s, (struct sockaddr *)&sun, sizeof sun);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        r = -errno;
        close(s);
        return r;
    }
    r = send_with_fd(s, json, seccomp_fd);
    if (r == 0)
        r = read_answer(s, deadline);
    close(s);
    return r;
}
