/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * notify.c: one seccomp notify fd on the main loop.
 *
 * Theory of operation.  Each notify fd received by the listener becomes a
 * PbNotify, a GSource polling the fd.  Readable means a notification is
 * pending: one SECCOMP_IOCTL_NOTIF_RECV (with a zeroed struct, as the
 * kernel requires since 5.5) fetches it and it is dispatched at once:
 * connect() goes to connect.c, bind(), listen() and i386 socketcall() to
 * bindlisten.c, the Fast Open sends and setsockopt to fastopen.c, anything
 * else a profile traps is answered CONTINUE.  RECV blocks when
 * nothing is pending and the main loop must never block, so a RECV only
 * follows a poll() that reported the fd readable (up to PB_NOTIFY_BATCH
 * per wake-up, see notify_dispatch()).
 *
 * A passive PbNotify (an fd that crun reads, with our plugin forwarding
 * its notifications: notification.c) is only watched for POLLHUP: its
 * notifications come through pb_notify_handle(), which is also what the
 * RECV path calls, so both are answered the same way.
 *
 * POLLHUP means the last process using the filter is gone: the notify fd
 * is closed and everything hanging on it (blocking connects still in
 * progress) is released.  RECV failing with ENOENT just means the target
 * was interrupted or died between poll and RECV.
 *
 * The ioctls are raw (libseccomp 2.5 maps every error to -ECANCELED and
 * has no ADDFD); the wrappers return -errno.
 */
#include "agent_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <poll.h>
#include <seccomp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <signal.h>
#include <unistd.h>

/* SIGALRM: only there to interrupt a call (see pb_watchdog_install). */
static void
on_alarm(int sig)
{
    (void)sig;
}

/**
 * pb_watchdog_install:
 *
 * The SIGALRM handler of the agent's watchdogs (ITIMER_REAL around a call
 * that must not block the main loop: NOTIF_RECV here, connect() in
 * pending.c's pb_watched_connect()): it interrupts the call (EINTR: no
 * SA_RESTART) and never kills the process (SIGALRM's default).  Once per
 * process; safe to call again.
 */
void
pb_watchdog_install(void)
{
    static gsize done;

    if (g_once_init_enter(&done)) {
        struct sigaction sa = { .sa_handler = on_alarm };

        sigemptyset(&sa.sa_mask);
        sigaction(SIGALRM, &sa, NULL);
        g_once_init_leave(&done, 1);
    }
}

/**
 * pb_notif_recv:
 * @notify_fd: a seccomp notify fd
 * @req: zeroed here, then filled by the kernel
 *
 * Returns: 0, or -errno (-ENOENT: the notification went away).
 */
int
pb_notif_recv(int notify_fd, struct seccomp_notif *req)
{
    /* repeating: a signal that came before the ioctl slept must not be
     * the only one */
    static const struct itimerval arm = { .it_interval = { 0, 100 * 1000 },
                                          .it_value = { 0, 100 * 1000 } };
    static const struct itimerval off = { { 0, 0 }, { 0, 0 } };
    int r;

    pb_watchdog_install();
    memset(req, 0, sizeof *req);
    /* another holder of the file may have taken the notification poll()
     * announced (a sender that kept a copy): the ioctl would then sleep
     * until the next one, so a watchdog interrupts it (EINTR) */
    setitimer(ITIMER_REAL, &arm, NULL);
    r = ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0 ? -errno : 0;
    setitimer(ITIMER_REAL, &off, NULL);
    return r;
}

/**
 * pb_notif_respond:
 * @notify_fd: a seccomp notify fd
 * @id: the notification
 * @val: the syscall's return value when @err is 0
 * @err: 0 or a negative errno the syscall fails with
 *
 * Returns: 0, or -errno (-ENOENT: the target was interrupted or died).
 */
int
pb_notif_respond(int notify_fd, guint64 id, gint64 val, int err)
{
    struct seccomp_notif_resp resp = {
        .id = id, .val = err ? 0 : val, .error = err, .flags = 0
    };

    if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0)
        return -errno;
    return 0;
}

/**
 * pb_notif_continue:
 * @notify_fd: a seccomp notify fd
 * @id: the notification
 *
 * Let the syscall run in the target as if it had not been trapped.
 * Returns: 0, or -errno.
 */
int
pb_notif_continue(int notify_fd, guint64 id)
{
    struct seccomp_notif_resp resp = { .id = id,
                                       .val = 0,
                                       .error = 0,
                                       .flags =
                                           SECCOMP_USER_NOTIF_FLAG_CONTINUE };

    if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0)
        return -errno;
    return 0;
}

/**
 * pb_notif_id_valid:
 * @notify_fd: a seccomp notify fd
 * @id: the notification
 *
 * Returns: 0 while the target still waits in the notified syscall,
 * -ENOENT once it does not, another -errno if @notify_fd is no notify fd.
 */
int
pb_notif_id_valid(int notify_fd, guint64 id)
{
    if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0)
        return -errno;
    return 0;
}

/**
 * pb_notif_addfd:
 * @notify_fd: a seccomp notify fd
 * @id: the notification
 * @srcfd: the agent's fd to install
 * @newfd: the target's fd number to replace (dup2-style, atomically)
 * @cloexec: set close-on-exec on @newfd in the target (else clear it)
 *
 * Returns: the target fd number, or -errno (-ENOENT: target interrupted).
 */
int
pb_notif_addfd(int notify_fd, guint64 id, int srcfd, int newfd,
               gboolean cloexec)
{
    struct seccomp_notif_addfd a = {
        .id = id,
        .flags = SECCOMP_ADDFD_FLAG_SETFD,
        .srcfd = (guint32)srcfd,
        .newfd = (guint32)newfd,
        .newfd_flags = cloexec ? O_CLOEXEC : 0,
    };
    int r = ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_ADDFD, &a);

    return r < 0 ? -errno : r;
}

/* ---- the GSource ---- */

/* At most this many notifications are answered per wake-up. */
#define PB_NOTIFY_BATCH 16

struct PbNotify {
    GSource source;
    PbCore *core;
    int fd;
    gpointer tag;
    gint64 pid;
    char *id;
    gboolean passive; /* never RECV: notifications are handed to us */
    GList *link;      /* in core->notifies */
};

/* The calls the filters trap, and what each (arch, number) pair means. */
typedef enum {
    PB_CALL_CONNECT,
    PB_CALL_BIND,
    PB_CALL_LISTEN,
    PB_CALL_N,
    PB_CALL_OTHER = PB_CALL_N,
} PbCallKind;
/* named by pb_trapped_calls (profile.c), which lists them in this order */
G_STATIC_ASSERT(PB_CALL_N == PB_N_TRAPPED);

typedef struct {
    guint32 arch;
    int nr;
} PbSyscallId;
/* per kind: the native ABI and its compat ABIs, resolved once */
static PbSyscallId call_ids[PB_CALL_N][4];
static guint n_call_ids[PB_CALL_N];
/* i386 socketcall(2): libseccomp turns a connect/bind/listen rule for the
 * x86 ABI into socketcall(SYS_CONNECT/...) too, and a 64-bit process can
 * use it through int 0x80. */
static int socketcall_nr = -1;
/* i386 also has direct connect/bind/listen (Linux 4.3).  libseccomp names
 * them by negative pseudo numbers (it models the calls as socketcall) but
 * its filter traps the direct ones as well: their real numbers, from
 * asm/unistd_32.h, in PbCallKind order. */
static const int i386_direct_nr[PB_CALL_N] = { 362, 361, 363 };
/* The Fast Open calls (pb_fastopen_rules), per ABI like call_ids; their
 * i386 direct numbers, in the order of pb_fastopen_rules. */
static PbSyscallId fastopen_ids[PB_N_FASTOPEN][4];
static guint n_fastopen_ids[PB_N_FASTOPEN];
static const struct {
    const char *name;
    int nr;
} i386_fastopen_nr[] = {
    { "sendto", 369 },
    { "sendmsg", 370 },
    { "sendmmsg", 345 },
    { "setsockopt", 366 },
};

/*
 * i386_fastopen: the i386 direct number of @name (one of the tables above),
 * -1 if unknown.
 */
static int
i386_fastopen(const char *name)
{
    for (guint i = 0; i < G_N_ELEMENTS(i386_fastopen_nr); i++)
        if (strcmp(i386_fastopen_nr[i].name, name) == 0)
            return i386_fastopen_nr[i].nr;
    return -1;
}

/*
 * add_id: record (@arch, @nr) in @ids (@n used, at most 4).
 */
static void
add_id(PbSyscallId ids[4], guint *n, guint32 arch, int nr)
{
    if (nr >= 0 && *n < 4) {
        ids[*n].arch = arch;
        ids[*n].nr = nr;
        (*n)++;
    }
}

/*
 * resolve_calls: fill call_ids for the native ABI and its compat ABIs (the
 * ones the filters list, sb_arches()) and find i386 socketcall(2).
 */
static void
resolve_calls(void)
{
    static gsize done;
    guint32 arches[4] = { seccomp_arch_native() };
    guint n_arches = 1, n = 0;
    const SbArch *all = sb_arches(&n);

    if (!g_once_init_enter(&done))
        return;
    for (guint i = 0; i < n && i < G_N_ELEMENTS(arches); i++)
        arches[i] = all[i].arch;
    n_arches = MAX(n_arches, MIN(n, G_N_ELEMENTS(arches)));
    for (guint i = 0; i < n_arches; i++) {
        guint32 arch = arches[i];

        /* x32 shares AUDIT_ARCH_X86_64; its numbers carry the x32 bit */
        if (arch == SCMP_ARCH_X32)
            arch = SCMP_ARCH_X86_64;
        for (guint k = 0; k < PB_CALL_N; k++) {
            int nr = seccomp_syscall_resolve_name_arch(arches[i],
                                                       pb_trapped_calls[k]);

            if (nr < 0 && arches[i] == SCMP_ARCH_X86)
                nr = i386_direct_nr[k];
            add_id(call_ids[k], &n_call_ids[k], arch, nr);
        }
        for (guint t = 0; t < PB_N_FASTOPEN; t++) {
            const char *name = pb_fastopen_rules[t].name;
            int nr = seccomp_syscall_resolve_name_arch(arches[i], name);

            if (nr < 0 && arches[i] == SCMP_ARCH_X86)
                nr = i386_fastopen(name);
            add_id(fastopen_ids[t], &n_fastopen_ids[t], arch, nr);
        }
    }
    socketcall_nr =
        seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, "socketcall");
    g_once_init_leave(&done, 1);
}

/*
 * classify: which trapped call does @data describe?
 * Returns: its PbCallKind, PB_CALL_OTHER for anything else.
 */
static PbCallKind
classify(const struct seccomp_data *data)
{
    for (guint k = 0; k < PB_CALL_N; k++)
        for (guint i = 0; i < n_call_ids[k]; i++)
            if (call_ids[k][i].nr == data->nr &&
                call_ids[k][i].arch == data->arch)
                return (PbCallKind)k;
    return PB_CALL_OTHER;
}

/**
 * pb_trapped_host_errno:
 * @data: a trapped call
 *
 * For the per-user agent answering an orphan (dispatch.c): what a call on
 * a host socket the bypass put in the container must get once no helper
 * serves it, instead of CONTINUE (the helper itself never lets such a call
 * run unchecked).
 *
 * Returns: a positive errno (connect: ENETUNREACH; bind, listen: EINVAL;
 * the Fast Open calls: EOPNOTSUPP), or 0 for a call that does not name a
 * socket in its first argument (i386 socketcall, anything else): CONTINUE.
 */
int
pb_trapped_host_errno(const struct seccomp_data *data)
{
    resolve_calls();
    switch (classify(data)) {
    case PB_CALL_CONNECT:
        return ENETUNREACH;
    case PB_CALL_BIND:
    case PB_CALL_LISTEN:
        return EINVAL;
    default:
        break;
    }
    for (guint t = 0; t < PB_N_FASTOPEN; t++)
        for (guint i = 0; i < n_fastopen_ids[t]; i++)
            if (fastopen_ids[t][i].nr == data->nr &&
                fastopen_ids[t][i].arch == data->arch)
                return EOPNOTSUPP;
    return 0;
}

/**
 * pb_notify_handle:
 * @n: a notify
 * @req: a notification of @n's fd, received (SENT state) and not answered
 *       yet: by notify_one() here, or by a plugin's runtime and forwarded
 *       (notification.c)
 *
 * Answers it, now or later from the main loop (a blocking connect): the
 * connect, bind, listen and i386 socketcall handlers, the Fast Open calls,
 * and CONTINUE for anything else.
 */
void
pb_notify_handle(PbNotify *n, const struct seccomp_notif *req)
{
    int r;

    switch (classify(&req->data)) {
    case PB_CALL_CONNECT:
        pb_connect_handle(n->core, n, req);
        return;
    case PB_CALL_BIND:
        pb_bind_handle(n->core, n, req);
        return;
    case PB_CALL_LISTEN:
        pb_listen_handle(n->core, n, req);
        return;
    default:
        break;
    }
    for (guint t = 0; t < PB_N_FASTOPEN; t++)
        for (guint i = 0; i < n_fastopen_ids[t]; i++)
            if (fastopen_ids[t][i].nr == req->data.nr &&
                fastopen_ids[t][i].arch == req->data.arch) {
                pb_fastopen_handle(n->core, n, req, t);
                return;
            }
    if (socketcall_nr >= 0 && req->data.arch == AUDIT_ARCH_I386 &&
        req->data.nr == socketcall_nr) {
        pb_socketcall_handle(n->core, n, req);
    } else {
        n->core->n_continued++;
        r = pb_notif_continue(n->fd, req->id);
        if (r < 0 && r != -ENOENT)
            pb_debug("continue syscall %d: %s", req->data.nr, g_strerror(-r));
    }
}

/*
 * notify_one: fetch and answer one pending notification.
 * Returns: FALSE if @n was destroyed.
 */
static gboolean
notify_one(PbNotify *n)
{
    struct seccomp_notif req;
    int r = pb_notif_recv(n->fd, &req);

    if (r == -ENOENT || r == -EINTR)
        return TRUE;
    if (r < 0) {
        pb_log("notify fd of pid %" G_GINT64_FORMAT ": recv: %s", n->pid,
               g_strerror(-r));
        pb_notify_destroy(n);
        return FALSE;
    }
    pb_notify_handle(n, &req);
    return TRUE;
}

/*
 * notify_dispatch: one wake-up of the notify fd.  Under load (many
 * processes connecting at once) notifications queue up; answering up to
 * PB_NOTIFY_BATCH of them per wake-up, checking with a poll() of this fd
 * alone, is much cheaper than a full main-loop iteration each.
 */
static gboolean
notify_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
    PbNotify *n = (PbNotify *)source;
    GIOCondition cond = g_source_query_unix_fd(source, n->tag);

    if (cond & (G_IO_HUP | G_IO_ERR | G_IO_NVAL)) {
        pb_notify_destroy(n);
        return G_SOURCE_REMOVE;
    }
    if (!(cond & G_IO_IN) || n->passive)
        return G_SOURCE_CONTINUE;
    for (guint i = 0; i < PB_NOTIFY_BATCH; i++) {
        struct pollfd p = { .fd = n->fd, .events = POLLIN };

        if (!notify_one(n))
            return G_SOURCE_REMOVE;
        /* POLLIN without POLLHUP: another notification is pending (a
         * hang-up is left to the next dispatch) */
        if (poll(&p, 1, 0) != 1 || p.revents != POLLIN)
            break;
    }
    return G_SOURCE_CONTINUE;
}

/*
 * notify_finalize: the last reference is gone; the fd and pendings were
 * released by pb_notify_destroy().
 */
static void
notify_finalize(GSource *source)
{
    PbNotify *n = (PbNotify *)source;

    if (n->fd >= 0)
        close(n->fd);
    g_free(n->id);
}

static GSourceFuncs notify_funcs = {
    .dispatch = notify_dispatch,
    .finalize = notify_finalize,
};

/* Linux 6.6+ (not in bookworm's 6.1 uapi headers). */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

/*
 * enable_sync_wakeup: ask the kernel (6.6+) to hand the CPU over directly
 * between the trapped task and the agent.  A bypassed connect crosses
 * between them four times (trap, ADDFD, its completion, the reply); woken
 * on another, idle CPU each crossing costs an inter-processor wake-up,
 * which on a virtual machine is tens of microseconds.  Older kernels say
 * EINVAL/ENOTTY and keep the ordinary wake-ups.
 */
static void
enable_sync_wakeup(int fd)
{
    (void)ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
                (__u64)SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
}

/**
 * pb_notify_new:
 * @core: the agent core
 * @fd: (transfer full): a seccomp notify fd
 * @pid: the container process it came with (for the log)
 * @id: (nullable): the container id (for the log)
 * @passive: someone else reads @fd (a plugin's runtime): watch it for
 *           POLLHUP only; its notifications come via pb_notify_handle()
 *
 * Returns: (transfer none) the notify, owned by @core->notifies.
 */
PbNotify *
pb_notify_new(PbCore *core, int fd, gint64 pid, const char *id,
              gboolean passive)
{
    PbNotify *n = (PbNotify *)g_source_new(&notify_funcs, sizeof(PbNotify));

    resolve_calls();
    n->core = core;
    n->fd = fd;
    n->pid = pid;
    n->id = g_strdup(id);
    n->passive = passive;
    n->tag = g_source_add_unix_fd(
        &n->source, fd, (passive ? 0 : G_IO_IN) | G_IO_HUP | G_IO_ERR);
    if (!passive)
        enable_sync_wakeup(fd);
    g_source_set_name(&n->source, "pb-notify");
    /* GLib blocks a non-recursive source while dispatching it by removing
     * its fds from the poll set and adding them back afterwards, and each
     * of those signals the context's wakeup eventfd: two writes, a read
     * and an extra loop iteration per notification.  Nothing here
     * iterates the context recursively, so let it "recurse". */
    g_source_set_can_recurse(&n->source, TRUE);
    g_source_attach(&n->source, core->ctx);
    g_queue_push_tail(&core->notifies, n);
    n->link = g_queue_peek_tail_link(&core->notifies);
    pb_log("notify fd registered (pid %" G_GINT64_FORMAT "%s%s%s)", pid,
           id ? ", id " : "", id ? id : "",
           passive ? ", forwarded notifications" : "");
    return n;
}

/**
 * pb_notify_destroy:
 * @n: a notify
 *
 * Stop serving @n: destroy its pending connects, close the fd, log the
 * line, drop it from the core.  Safe from @n's own dispatch.
 */
void
pb_notify_destroy(PbNotify *n)
{
    if (n->link == NULL)
        return;
    pb_pendings_cancel(n->core->pendings, n);
    g_queue_delete_link(&n->core->notifies, n->link);
    n->link = NULL;
    pb_log("notify fd closed (pid %" G_GINT64_FORMAT "%s%s)", n->pid,
           n->id ? ", id " : "", n->id ? n->id : "");
    g_source_remove_unix_fd(&n->source, n->tag);
    close(n->fd);
    n->fd = -1;
    g_source_destroy(&n->source);
    g_source_unref(&n->source);
}

/**
 * pb_notify_set_passive:
 * @n: a notify
 *
 * Stop reading @n's fd (watch it for POLLHUP only): its notifications are
 * forwarded by the process that reads it (a plugin's runtime), and two
 * readers would race (notification.c).
 */
void
pb_notify_set_passive(PbNotify *n)
{
    if (n->passive || n->link == NULL)
        return;
    n->passive = TRUE;
    g_source_modify_unix_fd(&n->source, n->tag, G_IO_HUP | G_IO_ERR);
    pb_log("notify fd of pid %" G_GINT64_FORMAT ": its notifications are "
           "forwarded now; no longer read here",
           n->pid);
}

/**
 * pb_notify_get_fd:
 * @n: a notify
 *
 * Returns: its seccomp notify fd (-1 once destroyed).
 */
int
pb_notify_get_fd(PbNotify *n)
{
    return n->fd;
}

/**
 * pb_notify_state_json:
 * @n: a notify
 *
 * Returns: (transfer full): the ContainerProcessState its fd came with
 * (pid and container id), to pass the fd on with.
 */
char *
pb_notify_state_json(PbNotify *n)
{
    return pb_state_json_for(n->pid, n->id, NULL, n->passive);
}

/**
 * pb_notify_get_core:
 * @n: a notify
 *
 * Returns: the core it belongs to.
 */
PbCore *
pb_notify_get_core(PbNotify *n)
{
    return n->core;
}
