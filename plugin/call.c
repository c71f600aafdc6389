/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * call.c: one trapped call on a socket fd, and the ways to answer it.
 *
 * Theory of operation.  Every handler (connect.c, bindlisten.c) starts the
 * same way: a PbCall from the notification (pb_call_init()), then the
 * agent's own copy of the target's fd and its network namespace cookie
 * (pb_call_identify()), which tells a socket of the container from a host
 * socket the agent injected earlier.  The two are answered differently
 * when a call is not bypassed: a container socket runs the call itself
 * (CONTINUE, the slirp path), an injected host socket never does (the
 * kernel would read the fd and the arguments again, unchecked, in the host
 * namespace) and gets an error instead.  Those answers live here so that
 * every handler gives them the same way.
 */
#include "agent_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * reply_continue: let the kernel run the call in the container.
 */
void
pb_call_continue(PbCall *c, const char *why)
{
    int r = pb_notif_continue(c->nfd, c->id);

    c->core->n_continued++;
    if (why)
        pb_debug("%s pid %d fd %d: continue: %s", c->what, (int)c->tid,
                 c->target_fd, why);
    if (r < 0 && r != -ENOENT)
        pb_debug("%s pid %d: continue: %s", c->what, (int)c->tid,
                 g_strerror(-r));
}

/*
 * reply_result: answer the call with @err (0 or -errno).
 */
void
pb_reply_result(PbCore *core, int nfd, guint64 id, pid_t tid, int err)
{
    int r = pb_notif_respond(nfd, id, 0, err);

    if (r < 0 && r != -ENOENT)
        pb_debug("pid %d: reply: %s", (int)tid, g_strerror(-r));
}

/*
 * refuse_or_continue: the call cannot be bypassed.  Sockets of the
 * container go the slirp path; an injected host socket must not run the
 * call unchecked in the host namespace, so it is refused.
 */
void
pb_call_refuse_or_continue(PbCall *c, const char *why)
{
    if (!c->is_host) {
        pb_call_continue(c, why);
        return;
    }
    c->core->n_errors++;
    pb_debug("%s pid %d fd %d: host socket refused: %s", c->what, (int)c->tid,
             c->target_fd, why);
    pb_reply_result(c->core, c->nfd, c->id, c->tid, -ENETUNREACH);
}

/*
 * refuse_with: like pb_call_refuse_or_continue(), but an injected host socket
 * gets the kernel's own answer @err for the malformed call instead.
 */
void
pb_call_refuse_with(PbCall *c, int err, const char *why)
{
    if (!c->is_host) {
        pb_call_continue(c, why);
        return;
    }
    pb_debug("%s pid %d fd %d: host socket: %s", c->what, (int)c->tid,
             c->target_fd, why ? why : g_strerror(-err));
    pb_reply_result(c->core, c->nfd, c->id, c->tid, err);
}

/*
 * identify_socket: take the agent's copy of the target fd and its network
 * namespace cookie, which says whether it is a socket the agent injected.
 * Returns: FALSE if the call was answered (CONTINUE: not a socket we can
 * see; the kernel gives its own error), TRUE otherwise.
 */
gboolean
pb_call_identify(PbCall *c)
{
    c->dup =
        pb_procs_getfd(c->core->procs, c->tid, c->target_fd, &c->is_thread);
    if (c->dup < 0) {
        if (c->dup == -EMFILE || c->dup == -ENFILE) {
            /* out of fds: say so (once in 10 s), the call goes on unbypassed */
            static gint64 logged_us;
            gint64 now = g_get_monotonic_time();

            if (logged_us == 0 || now - logged_us >= 10 * G_USEC_PER_SEC) {
                pb_log("out of file descriptors (%s): calls take the slirp "
                       "path until some are free",
                       g_strerror(-c->dup));
                logged_us = now;
            }
        }
        /* EBADF and friends: the kernel will say it better */
        pb_call_continue(c, pb_debug_enabled ? g_strerror(-c->dup) : NULL);
        return FALSE;
    }
    c->cookie = sb_socket_netns_cookie(c->dup);
    if (c->cookie == 0) {
        pb_call_continue(c, "not a socket");
        return FALSE;
    }
    c->is_host = c->cookie == c->core->host_cookie;
    return TRUE;
}

/*
 * call_init: the PbCall of notification @req; the target fd is the call's
 * first argument (socketcall overrides it from its argument array).
 */
PbCall
pb_call_init(PbCore *core, PbNotify *n, const struct seccomp_notif *req)
{
    PbCall c = {
        .core = core,
        .n = n,
        .what = "connect",
        .nfd = pb_notify_get_fd(n),
        .id = req->id,
        .tid = (pid_t)req->pid,
        .target_fd = (int)req->data.args[0],
        .dup = -1,
    };

    return c;
}

/*
 * refuse_if_host: for calls that are never bypassed: CONTINUE, unless the
 * fd is an injected host socket, which gets @err instead.  Releases the
 * agent's copy of the fd.
 */
void
pb_call_refuse_if_host(PbCall *c, int err, const char *why)
{
    if (pb_call_identify(c))
        pb_call_refuse_with(c, err, why);
    if (c->dup >= 0) {
        close(c->dup);
        c->dup = -1;
    }
}

/**
 * pb_sock_int: getsockopt of an int; -1 on failure.
 */
int
pb_sock_int(int fd, int level, int name)
{
    int v = 0;
    socklen_t len = sizeof v;

    if (getsockopt(fd, level, name, &v, &len) < 0)
        return -1;
    return v;
}

/**
 * pb_call_inject: install *@host over the target's fd and reply @result.  Our
 * reference to the host socket is dropped before the reply, so that the
 * target holds the last one and a quick close() there runs the TCP close
 * in the target's context, not in the agent's.
 * Returns: 0 if injected (the reply may still have found the target gone:
 * then it behaves like a kernel connect interrupted after the SYN);
 * -ENOENT if the notification is gone; another -errno if nothing was
 * injected and the call still needs an answer.
 */
int
pb_call_inject(PbCore *core, int nfd, guint64 id, pid_t tid, int *host,
               int target_fd, gboolean cloexec, gboolean blocking, int result)
{
    int r;

    /* the original was blocking: so is its replacement (after connecting
     * without blocking the loop) */
    if (blocking && fcntl(*host, F_SETFL, 0) < 0)
        return -errno;
    r = pb_notif_addfd(nfd, id, *host, target_fd, cloexec);
    if (r < 0) {
        if (r != -ENOENT)
            pb_debug("pid %d: addfd: %s", (int)tid, g_strerror(-r));
        return r;
    }
    close(*host);
    *host = -1;
    core->n_bypassed++;
    pb_reply_result(core, nfd, id, tid, result);
    return 0;
}
