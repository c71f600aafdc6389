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
#include <sys/socket.h>
#include <unistd.h>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/*
 * reply_continue: let the kernel run the call in the container.
 */
void
pb_call_continue(PbCall *c, const char *why)
{
    int r = pb_notif_continue(c->nfd, c->id);

    c->core->n_continued++;
    if (why)
        pb_debug("connect pid %d fd %d: continue: %s", (int)c->tid,
                 c->target_fd, why);
    if (r < 0 && r != -ENOENT)
        pb_debug("connect pid %d: continue: %s", (int)c->tid, g_strerror(-r));
}

/*
 * reply_result: answer the call with @err (0 or -errno).
 */
void
pb_reply_result(PbCore *core, int nfd, guint64 id, pid_t tid, int err)
{
    int r = pb_notif_respond(nfd, id, 0, err);

    if (r < 0 && r != -ENOENT)
        pb_debug("connect pid %d: reply: %s", (int)tid, g_strerror(-r));
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
    pb_debug("connect pid %d fd %d: host socket refused: %s", (int)c->tid,
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
    pb_debug("connect pid %d fd %d: host socket: %s", (int)c->tid, c->target_fd,
             why ? why : g_strerror(-err));
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
    socklen_t clen = sizeof c->cookie;

    c->dup =
        pb_procs_getfd(c->core->procs, c->tid, c->target_fd, &c->is_thread);
    if (c->dup < 0) {
        /* EBADF and friends: the kernel will say it better */
        pb_call_continue(c, pb_debug_enabled ? g_strerror(-c->dup) : NULL);
        return FALSE;
    }
    if (getsockopt(c->dup, SOL_SOCKET, SO_NETNS_COOKIE, &c->cookie, &clen) <
        0) {
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
