/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fastopen.c: the calls that arm TCP Fast Open, refused under the bypass.
 *
 * Theory of operation.  With Fast Open a client's data rides in its SYN,
 * and a server that accepts Fast Open (net.ipv4.tcp_fastopen's server bit,
 * nginx "fastopen=", haproxy "tfo", DNS servers) hands that data to its
 * program before the handshake completes.  So a host socket that could be
 * re-aimed with sendto(MSG_FASTOPEN), or connected by an unchecked connect()
 * after TCP_FASTOPEN_CONNECT, would deliver data to a server without ever
 * receiving a packet: the peer lock (peerlock.c), which filters what a
 * socket receives, cannot stop that.  The interface lock (devlock.c) keeps
 * such a SYN away from host loopback whatever happens; refusing Fast Open
 * also keeps it away from everything else the agent did not approve on
 * the same interface (--bypass-ignore).
 *
 * The bypass filters (profile.c, exec.c) trap sendto/sendmsg/sendmmsg only
 * when MSG_FASTOPEN is set in their flags, and setsockopt only for
 * IPPROTO_TCP/TCP_FASTOPEN_CONNECT.  These are register arguments, so the
 * filter sees the values the kernel will use and nothing can change them
 * after the check; every other send never leaves the kernel.  The agent
 * answers EOPNOTSUPP, which is what the kernel says when Fast Open is off
 * for clients (net.ipv4.tcp_fastopen without bit 1): programs that use
 * Fast Open must handle it, and fall back to connect() and send().  It is
 * the same for container sockets, whose Fast Open would only reach
 * libslirp, which does not take data from a SYN anyway.
 *
 * libseccomp also applies such a rule to i386 socketcall(2), but there the
 * flags are in memory and the filter compares an unrelated register: a
 * socketcall(SYS_SENDTO, ...) may be trapped by chance.  Those are answered
 * from the arguments read from the caller's memory (EOPNOTSUPP for Fast
 * Open, CONTINUE otherwise); a 32-bit program's Fast Open through
 * socketcall is not reliably seen, and the interface lock is what bounds
 * it.
 */
#include "agent_internal.h"

#include <errno.h>
#include <string.h>

/* socketcall(2) call numbers (linux/net.h) and their argument counts */
#define PB_SYS_SENDTO 11
#define PB_SYS_SETSOCKOPT 14
#define PB_SYS_SENDMSG 16
#define PB_SYS_SENDMMSG 20

/*
 * rule_index: the index of @name in pb_fastopen_rules (it is there).
 */
static guint
rule_index(const char *name)
{
    guint t = 0;

    while (strcmp(pb_fastopen_rules[t].name, name) != 0)
        t++;
    g_assert(t < PB_N_FASTOPEN);
    return t;
}

/*
 * rule_matches: do the argument values @args satisfy every condition of
 * pb_fastopen_rules[@t]?
 */
static gboolean
rule_matches(guint t, const guint64 *args)
{
    const PbFastOpenRule *r = &pb_fastopen_rules[t];

    for (guint i = 0; i < r->n_conds; i++)
        if ((args[r->cond[i].index] & r->cond[i].mask) != r->cond[i].value)
            return FALSE;
    return TRUE;
}

/*
 * answer: EOPNOTSUPP if @refuse, else CONTINUE.
 */
static void
answer(PbCore *core, PbNotify *n, const struct seccomp_notif *req,
       gboolean refuse, guint t)
{
    int fd = pb_notify_get_fd(n);
    int r;

    if (refuse) {
        pb_debug("%s pid %u fd %d: Fast Open refused (EOPNOTSUPP)",
                 pb_fastopen_rules[t].name, req->pid,
                 (int)(guint32)req->data.args[0]);
        r = pb_notif_respond(fd, req->id, 0, -EOPNOTSUPP);
    } else {
        core->n_continued++;
        r = pb_notif_continue(fd, req->id);
    }
    if (r < 0 && r != -ENOENT)
        pb_debug("%s: reply: %s", pb_fastopen_rules[t].name, g_strerror(-r));
}

/**
 * pb_fastopen_handle:
 * @core: the agent core
 * @n: the notify the call came from
 * @req: a trapped sendto/sendmsg/sendmmsg/setsockopt (direct call)
 * @t: its index in pb_fastopen_rules
 *
 * The filter trapped it because its registers arm Fast Open: EOPNOTSUPP.
 * (The values are checked again, so a call trapped for another reason
 * continues.)
 */
void
pb_fastopen_handle(PbCore *core, PbNotify *n, const struct seccomp_notif *req,
                   guint t)
{
    guint64 args[6];

    for (guint i = 0; i < 6; i++)
        args[i] = req->data.args[i];
    answer(core, n, req, !core->disabled && rule_matches(t, args), t);
}

/**
 * pb_fastopen_socketcall:
 * @core: the agent core
 * @n: the notify the call came from
 * @req: an i386 socketcall(@call, args)
 * @call: the call number (32 bits, as the kernel reads it)
 *
 * Returns: FALSE if @call is not one of the Fast Open calls (the caller
 * answers it); TRUE once answered: EOPNOTSUPP if the arguments in the
 * caller's memory arm Fast Open, EFAULT if they cannot be read (the
 * kernel's answer), CONTINUE otherwise.
 */
gboolean
pb_fastopen_socketcall(PbCore *core, PbNotify *n,
                       const struct seccomp_notif *req, guint32 call)
{
    guint32 words[6];
    guint64 args[6] = { 0 };
    gsize nwords;
    guint t;
    int r;

    switch (call) {
    case PB_SYS_SENDTO:
        t = rule_index("sendto"), nwords = 6;
        break;
    case PB_SYS_SENDMSG:
        t = rule_index("sendmsg"), nwords = 3;
        break;
    case PB_SYS_SENDMMSG:
        t = rule_index("sendmmsg"), nwords = 4;
        break;
    case PB_SYS_SETSOCKOPT:
        t = rule_index("setsockopt"), nwords = 5;
        break;
    default:
        return FALSE;
    }
    if (pb_proc_read_mem((pid_t)req->pid, (guint32)req->data.args[1], words,
                         nwords * sizeof words[0]) !=
        (gssize)(nwords * sizeof words[0])) {
        r = pb_notif_respond(pb_notify_get_fd(n), req->id, 0, -EFAULT);
        if (r < 0 && r != -ENOENT)
            pb_debug("socketcall: reply: %s", g_strerror(-r));
        return TRUE;
    }
    for (gsize i = 0; i < nwords; i++)
        args[i] = words[i];
    answer(core, n, req, !core->disabled && rule_matches(t, args), t);
    return TRUE;
}
