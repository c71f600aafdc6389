/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bindlisten.c: the bind(2), listen(2) and i386 socketcall(2) handlers.
 *
 * Theory of operation.  Binds and listens are not bypassed (yet: the port
 * hand-off will hand a published port's bind to a host listener here).
 * A container socket runs the call itself (CONTINUE); an injected host
 * socket is refused with the kernel's answer for a socket that cannot do
 * it (call.c explains why it never runs a call unchecked).  i386
 * socketcall(2) multiplexes connect, bind and listen (and the sends of
 * fastopen.c): its arguments are read once from the caller's memory.
 */
#include "agent_internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/*
 * continue_unless_host: a call on the fd in args[0] that is never
 * bypassed (@what: its name, for the debug log): CONTINUE, or EINVAL for an
 * injected host socket.
 */
static void
continue_unless_host(PbCore *core, PbNotify *n, const struct seccomp_notif *req,
                     const char *what)
{
    PbCall c = pb_call_init(core, n, req);

    c.what = what;
    if (core->disabled) {
        pb_call_continue(&c, NULL);
        return;
    }
    pb_call_refuse_if_host(&c, -EINVAL, what);
}

/**
 * pb_bind_handle:
 * @core: the agent core
 * @n: the notify the call came from
 * @req: the notification (bind(fd, addr, len) in @req->data.args)
 *
 * Binds are not bypassed (yet): container sockets run the call themselves
 * (CONTINUE).  An injected host socket is refused with the kernel's EINVAL
 * for an already used socket: after a failed bypassed connect it is a
 * closed host-namespace socket, and binding it there would open a host port
 * nobody published.
 */
void
pb_bind_handle(PbCore *core, PbNotify *n, const struct seccomp_notif *req)
{
    PbCall c = pb_call_init(core, n, req);
    PbSockaddr sa;
    int addrlen = (int)(guint32)req->data.args[2];

    c.what = "bind";
    if (core->disabled || core->handoffs == NULL) {
        continue_unless_host(core, n, req, "bind");
        return;
    }
    if (!pb_call_identify(&c))
        return;
    memset(&sa, 0, sizeof sa);
    if (c.is_host || addrlen < (int)sizeof(sa_family_t) ||
        addrlen > (int)sizeof sa.ss) {
        pb_call_refuse_with(&c, -EINVAL, "bind");
    } else {
        addrlen = MIN(addrlen, (int)sizeof sa.in6);
        /* read once: what the hand-off decides on is what it binds; a
         * CONTINUE binds in the container whatever the memory says then */
        if (pb_proc_read_mem(c.tid, req->data.args[1], &sa, (gsize)addrlen) !=
                (gssize)addrlen ||
            addrlen < (int)(sa.sa.sa_family == AF_INET6 ? sizeof sa.in6
                                                        : sizeof sa.in) ||
            !pb_handoff_bind(core->handoffs, &c, &sa))
            pb_call_continue(&c, NULL);
    }
    close(c.dup);
}

/**
 * pb_listen_handle:
 * @core: the agent core
 * @n: the notify the call came from
 * @req: the notification (listen(fd, backlog) in @req->data.args)
 *
 * Container sockets listen in the container (CONTINUE).  An injected host
 * socket is refused with the kernel's EINVAL for a socket that cannot
 * listen: once it is unconnected again (connect(AF_UNSPEC) after a bypassed
 * connect), listen() would bind a free port on every address of the host
 * and accept connections from anywhere, which nothing published.
 */
void
pb_listen_handle(PbCore *core, PbNotify *n, const struct seccomp_notif *req)
{
    PbCall c = pb_call_init(core, n, req);

    c.what = "listen";
    if (core->disabled || core->handoffs == NULL) {
        continue_unless_host(core, n, req, "listen");
        return;
    }
    if (!pb_call_identify(&c))
        return;
    /* listen() takes an int backlog */
    if (!pb_handoff_listen(core->handoffs, &c, (int)(guint32)req->data.args[1]))
        pb_call_refuse_with(&c, -EINVAL, "listen");
    close(c.dup);
}

/* socketcall(2) call numbers (linux/net.h) */
#define PB_SYS_BIND 2
#define PB_SYS_CONNECT 3
#define PB_SYS_LISTEN 4

/**
 * pb_socketcall_handle:
 * @core: the agent core
 * @n: the notify the call came from
 * @req: socketcall(call, args) of the i386 ABI
 *
 * connect, bind and listen through socketcall are not bypassed: the call
 * runs in the container (CONTINUE).  The fd sits in the 32-bit argument
 * array in the caller's memory; it is read once (as many words as the
 * kernel reads for that call), and if it names an injected host socket the
 * call is refused (ENETUNREACH for connect, EINVAL for bind and listen)
 * instead of running unchecked in the host namespace.  Other socketcall
 * calls (only these three are trapped by the filters we generate)
 * CONTINUE.
 */
void
pb_socketcall_handle(PbCore *core, PbNotify *n, const struct seccomp_notif *req)
{
    guint32 args[3];
    PbCall c = pb_call_init(core, n, req);
    /* compat_sys_socketcall() takes an int, and libseccomp's i386 filter
     * compares the low 32 bits: the upper half of rbx (int 0x80 from 64-bit
     * code) must not make a connect look like another call */
    guint32 call = (guint32)req->data.args[0];
    /* the kernel copies exactly nargs[call] words (listen: fd, backlog) */
    gsize len = (call == PB_SYS_LISTEN ? 2 : 3) * sizeof args[0];

    c.what = "socketcall";

    if (pb_fastopen_socketcall(core, n, req, call))
        return;
    if (core->disabled || (call != PB_SYS_CONNECT && call != PB_SYS_BIND &&
                           call != PB_SYS_LISTEN)) {
        pb_call_continue(&c, NULL);
        return;
    }
    if (pb_proc_read_mem(c.tid, (guint32)req->data.args[1], args, len) !=
        (gssize)len) {
        /* the kernel's own answer; not CONTINUE, which would let another
         * thread map the page in before the kernel reads it */
        pb_reply_result(core, c.nfd, c.id, c.tid, -EFAULT);
        return;
    }
    c.target_fd = (int)args[0];
    pb_call_refuse_if_host(&c, call == PB_SYS_CONNECT ? -ENETUNREACH : -EINVAL,
                           "socketcall");
}
