/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * proc.c: reaching into the target processes (pidfds, memory, /proc).
 *
 * Theory of operation.  A notification names a task by its thread id in
 * our pid namespace.  To look at the socket behind the target's fd the
 * agent needs a pidfd of the thread group: pidfd_open() refuses non-leader
 * threads (EINVAL up to 6.8, ENOENT later; PIDFD_THREAD is 6.9+),
 * so for those the Tgid is read from /proc/TID/status first.  pidfds are
 * cached per thread group (PbProc), and every cached pidfd is watched on
 * the main loop: when the process exits, its entry and everything cached
 * for it is closed at once, so the agent's fd count does not grow with
 * the number of processes it has served.
 *
 * Close-on-exec is a property of the target's fd table slot, visible only
 * in /proc/TID/fdinfo/FD ("flags:", octal; pidfd_getfd() always sets
 * FD_CLOEXEC on the agent's copy).  Opening that file costs about three
 * times more than reading it, and programs reuse the same few fd numbers
 * for their sockets, so the open fdinfo files are cached per (tid, fd) in
 * a direct-mapped table per process (bounded in all) and re-read with
 * pread(2) at offset 0, which
 * makes the seq_file render the slot's current file again.  A cached
 * fdinfo file pins the task's struct pid, not its number: once the task
 * is gone the read fails and the slot is reopened, so a recycled tid
 * never reads another task's table.
 *
 * A recycled thread id could map to a stale tgid entry; connect.c guards
 * against that by comparing the "ino:" of the fdinfo (read for the task
 * that made the call) with the duplicated socket's inode.
 *
 * Every /proc access goes through the proc_fd opened before the sandbox
 * (openat/fstatat), since /proc is not mounted after pivot_root.
 */
#include "agent_internal.h"

#include <glib-unix.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

/* Cached fdinfo files per process, direct-mapped by (tid, fd): a busy
 * client (ab, a proxy) rotates through dozens of socket fd numbers. */
#define PB_INFO_SLOTS 64
/* Fd budgets of the caches (pidfds, fdinfo files), so that the agent and
 * libslirp in the same process never run out of fds: an eighth of
 * RLIMIT_NOFILE each, within these bounds.  A process beyond the budget
 * evicts another one; it is reopened on its next call. */
#define PB_MIN_BUDGET 16
#define PB_MAX_PROCS 256
#define PB_MAX_INFO_FDS 512
/* Beyond this many cached thread ids the tid map is dropped (threads that
 * exit are not watched; their process's exit drops them too). */
#define PB_MAX_TASKS 8192

typedef struct {
    pid_t tid;
    int fd;
    int infofd; /* -1: free */
} PbInfoSlot;

typedef struct {
    PbProcs *owner;
    pid_t tgid;
    int pidfd;
    GSource *watch;
    PbInfoSlot slots[PB_INFO_SLOTS];
} PbProc;

struct PbProcs {
    int proc_fd;
    GMainContext *ctx;
    GHashTable *by_tgid; /* tgid -> PbProc * (owned) */
    GHashTable *by_tid;  /* tid -> PbProc * (borrowed) */
    guint n_infofds;     /* open fdinfo files in all PbProcs */
    guint max_procs;     /* budgets, from RLIMIT_NOFILE */
    guint max_infofds;
};

/*
 * proc_free: close everything a PbProc holds (GDestroyNotify of by_tgid).
 */
static void
proc_free(gpointer data)
{
    PbProc *p = data;

    if (p->watch) {
        g_source_destroy(p->watch);
        g_source_unref(p->watch);
    }
    for (guint i = 0; i < PB_INFO_SLOTS; i++) {
        if (p->slots[i].infofd >= 0) {
            close(p->slots[i].infofd);
            p->owner->n_infofds--;
        }
    }
    if (p->pidfd >= 0)
        close(p->pidfd);
    g_free(p);
}

/* by_tid foreach_remove predicate: entries pointing at @user_data. */
static gboolean
tid_points_to(gpointer key, gpointer value, gpointer user_data)
{
    return value == user_data;
}

/*
 * proc_drop: forget @p and every tid mapped to it.
 */
static void
proc_drop(PbProcs *procs, PbProc *p)
{
    g_hash_table_foreach_remove(procs->by_tid, tid_points_to, p);
    g_hash_table_remove(procs->by_tgid, GINT_TO_POINTER(p->tgid));
}

/*
 * proc_exited: the pidfd poll callback: the thread group is gone.
 */
static gboolean
proc_exited(gint fd, GIOCondition cond, gpointer user_data)
{
    PbProc *p = user_data;

    /* the source goes away with this return value; do not destroy it */
    g_source_unref(p->watch);
    p->watch = NULL;
    proc_drop(p->owner, p);
    return G_SOURCE_REMOVE;
}

/*
 * proc_is_dead: has @p's thread group exited (pidfd readable)?
 */
static gboolean
proc_is_dead(PbProc *p)
{
    struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };

    return poll(&pfd, 1, 0) > 0;
}

/*
 * read_tgid: the Tgid of task @tid, from /proc/TID/status.
 * Returns: the tgid or -errno.
 */
static pid_t
read_tgid(int proc_fd, pid_t tid)
{
    char path[64], buf[4096];
    const char *line;
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "%d/status", (int)tid);
    fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return n < 0 ? -errno : -ESRCH;
    buf[n] = '\0';
    line = strstr(buf, "\nTgid:");
    if (line == NULL)
        return -EINVAL;
    n = strtol(line + 6, NULL, 10);
    return n > 0 ? (pid_t)n : -EINVAL;
}

/*
 * proc_attach: find or create the entry for task @tid.
 * Returns: the entry, or NULL with *err = -errno.
 */
static PbProc *
proc_attach(PbProcs *procs, pid_t tid, int *err)
{
    PbProc *p;
    pid_t tgid = tid;
    int pidfd = (int)syscall(SYS_pidfd_open, tid, 0);

    if (pidfd < 0) {
        /* a non-leader thread: EINVAL up to 6.8, ENOENT since (PIDFD_THREAD
         * rework); a task that is really gone fails read_tgid() too */
        if (errno != EINVAL && errno != ENOENT) {
            *err = -errno;
            return NULL;
        }
        tgid = read_tgid(procs->proc_fd, tid);
        if (tgid < 0) {
            *err = tgid;
            return NULL;
        }
    }
    if (g_hash_table_size(procs->by_tid) >= PB_MAX_TASKS)
        g_hash_table_remove_all(procs->by_tid);
    p = g_hash_table_lookup(procs->by_tgid, GINT_TO_POINTER(tgid));
    if (p && proc_is_dead(p)) {
        proc_drop(procs, p);
        p = NULL;
    }
    if (p == NULL && g_hash_table_size(procs->by_tgid) >= procs->max_procs) {
        GHashTableIter it;
        gpointer victim;

        g_hash_table_iter_init(&it, procs->by_tgid);
        if (g_hash_table_iter_next(&it, NULL, &victim))
            proc_drop(procs, victim);
    }
    if (p == NULL) {
        if (pidfd < 0)
            pidfd = (int)syscall(SYS_pidfd_open, tgid, 0);
        if (pidfd < 0) {
            *err = -errno;
            return NULL;
        }
        p = g_new0(PbProc, 1);
        p->owner = procs;
        p->tgid = tgid;
        p->pidfd = pidfd;
        for (guint i = 0; i < PB_INFO_SLOTS; i++)
            p->slots[i].infofd = -1;
        p->watch = g_unix_fd_source_new(pidfd, G_IO_IN);
        g_source_set_callback(p->watch, G_SOURCE_FUNC(proc_exited), p, NULL);
        g_source_attach(p->watch, procs->ctx);
        g_hash_table_insert(procs->by_tgid, GINT_TO_POINTER(tgid), p);
    } else if (pidfd >= 0) {
        close(pidfd);
    }
    g_hash_table_insert(procs->by_tid, GINT_TO_POINTER(tid), p);
    return p;
}

/**
 * pb_procs_new:
 * @proc_fd: an fd on /proc (borrowed)
 * @ctx: the main context the exit watches attach to
 *
 * Returns: (transfer full) an empty cache.
 */
PbProcs *
pb_procs_new(int proc_fd, GMainContext *ctx)
{
    PbProcs *procs = g_new0(PbProcs, 1);
    struct rlimit rl;
    guint64 budget = G_MAXUINT;

    procs->proc_fd = proc_fd;
    procs->ctx = ctx;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        budget = rl.rlim_cur / 8;
    procs->max_procs = CLAMP(budget, PB_MIN_BUDGET, PB_MAX_PROCS);
    procs->max_infofds = CLAMP(budget, PB_MIN_BUDGET, PB_MAX_INFO_FDS);
    procs->by_tgid =
        g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, proc_free);
    procs->by_tid = g_hash_table_new(g_direct_hash, g_direct_equal);
    return procs;
}

/**
 * pb_procs_free:
 * @procs: (nullable): a cache; every fd it holds is closed
 */
void
pb_procs_free(PbProcs *procs)
{
    if (procs == NULL)
        return;
    g_hash_table_destroy(procs->by_tid);
    g_hash_table_destroy(procs->by_tgid);
    g_free(procs);
}

/**
 * pb_procs_count:
 * @procs: a cache
 *
 * Returns: the number of thread groups cached.
 */
guint
pb_procs_count(PbProcs *procs)
{
    return g_hash_table_size(procs->by_tgid);
}

/**
 * pb_procs_forget:
 * @procs: a cache
 * @tid: a task whose mapping to a thread group is suspect
 */
void
pb_procs_forget(PbProcs *procs, pid_t tid)
{
    g_hash_table_remove(procs->by_tid, GINT_TO_POINTER(tid));
}

/**
 * pb_procs_getfd:
 * @procs: the cache
 * @tid: the task that made the call
 * @target_fd: its fd number
 * @is_thread: (out): @tid is not its thread group's leader
 *
 * Returns: a duplicate of the target's file (O_CLOEXEC) or -errno
 * (-EBADF: no such fd; -ESRCH: the task is gone; -EPERM: no ptrace
 * rights).
 */
int
pb_procs_getfd(PbProcs *procs, pid_t tid, int target_fd, gboolean *is_thread)
{
    PbProc *p = g_hash_table_lookup(procs->by_tid, GINT_TO_POINTER(tid));
    int err = 0, fd;

    for (int attempt = 0; attempt < 2; attempt++) {
        if (p == NULL && (p = proc_attach(procs, tid, &err)) == NULL)
            return err;
        *is_thread = p->tgid != tid;
        fd = (int)syscall(SYS_pidfd_getfd, p->pidfd, target_fd, 0);
        if (fd >= 0)
            return fd;
        err = -errno;
        if (!proc_is_dead(p))
            return err;
        /* a stale entry (exit not dispatched yet, pid recycled): retry */
        proc_drop(procs, p);
        p = NULL;
    }
    return err;
}

/**
 * pb_fdinfo_parse:
 * @text: the NUL-terminated contents of a /proc/PID/fdinfo/FD file
 * @flags: (out): the "flags:" value (octal)
 * @ino: (out): the "ino:" value, 0 when the kernel does not print it
 *
 * Returns: 0, or -EINVAL without a "flags:" line.
 */
int
pb_fdinfo_parse(const char *text, unsigned int *flags, guint64 *ino)
{
    const char *f = strstr(text, "flags:");
    const char *i = strstr(text, "ino:");
    char *end;

    if (f == NULL || (f != text && f[-1] != '\n'))
        return -EINVAL;
    *flags = (unsigned int)strtoul(f + 6, &end, 8);
    if (end == f + 6)
        return -EINVAL;
    *ino = 0;
    if (i != NULL && (i == text || i[-1] == '\n'))
        *ino = g_ascii_strtoull(i + 4, NULL, 10);
    return 0;
}

/*
 * fdinfo_read: render @infofd again and parse it.
 */
static int
fdinfo_read(int infofd, unsigned int *flags, guint64 *ino)
{
    char buf[512];
    ssize_t n = pread(infofd, buf, sizeof buf - 1, 0);

    if (n <= 0)
        return n < 0 ? -errno : -EINVAL;
    buf[n] = '\0';
    return pb_fdinfo_parse(buf, flags, ino);
}

/**
 * pb_procs_fdinfo:
 * @procs: the cache
 * @tid: the task that made the call (its own fd table is read)
 * @target_fd: its fd number
 * @flags: (out): open flags (O_CLOEXEC, O_NONBLOCK, ...)
 * @ino: (out): the file's inode number, 0 if the kernel does not say
 *
 * Returns: 0 or -errno.
 */
int
pb_procs_fdinfo(PbProcs *procs, pid_t tid, int target_fd, unsigned int *flags,
                guint64 *ino)
{
    PbProc *p = g_hash_table_lookup(procs->by_tid, GINT_TO_POINTER(tid));
    PbInfoSlot *slot = NULL;
    char path[64];
    int infofd, r;

    if (p != NULL) {
        slot = &p->slots[((guint)target_fd + (guint)tid * 31u) % PB_INFO_SLOTS];
        if (slot->infofd >= 0 && slot->tid == tid && slot->fd == target_fd &&
            fdinfo_read(slot->infofd, flags, ino) == 0)
            return 0;
        /* empty, another (tid, fd), or stale: (re)open into this slot */
        if (slot->infofd >= 0) {
            close(slot->infofd);
            slot->infofd = -1;
            procs->n_infofds--;
        }
    }
    snprintf(path, sizeof path, "%d/fdinfo/%d", (int)tid, target_fd);
    infofd = openat(procs->proc_fd, path, O_RDONLY | O_CLOEXEC);
    if (infofd < 0)
        return -errno;
    r = fdinfo_read(infofd, flags, ino);
    if (r < 0 || slot == NULL || procs->n_infofds >= procs->max_infofds) {
        close(infofd);
        return r;
    }
    slot->tid = tid;
    slot->fd = target_fd;
    slot->infofd = infofd;
    procs->n_infofds++;
    return 0;
}

/**
 * pb_proc_read_mem:
 * @tid: the task
 * @addr: an address in its memory
 * @buf: where to copy
 * @len: how many bytes
 *
 * Returns: bytes read (possibly fewer than @len) or -errno.
 */
gssize
pb_proc_read_mem(pid_t tid, guint64 addr, void *buf, gsize len)
{
    struct iovec local = { .iov_base = buf, .iov_len = len };
    struct iovec remote = { .iov_base = (void *)(uintptr_t)addr,
                            .iov_len = len };
    ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);

    return n < 0 ? -errno : n;
}

/**
 * pb_proc_in_netns:
 * @proc_fd: an fd on /proc
 * @tid: the task
 * @dev: st_dev of the network namespace
 * @ino: st_ino of the network namespace
 *
 * Returns: 1 if @tid is in that namespace, 0 if not, -errno.
 */
int
pb_proc_in_netns(int proc_fd, pid_t tid, dev_t dev, ino_t ino)
{
    char path[64];
    struct stat st;

    snprintf(path, sizeof path, "%d/ns/net", (int)tid);
    if (fstatat(proc_fd, path, &st, 0) < 0)
        return -errno;
    return st.st_dev == dev && st.st_ino == ino;
}

/* Upper bounds of pb_proc_find_socket()'s walk (a removal is rare; a
 * container with more processes or fds is searched only this far). */
#define PB_PROC_SCAN_PIDS 4096
#define PB_PROC_SCAN_FDS 65536

/**
 * pb_proc_find_socket:
 * @proc_fd: an fd on /proc
 * @dev: st_dev of the network namespace searched
 * @ino: st_ino of the network namespace searched
 * @sock_ino: the socket's inode number
 * @func: called with each (pid, fd) holding it; returns FALSE to stop
 * @data: passed to @func
 *
 * Walks the processes of network namespace @dev/@ino and their fds for
 * "socket:[@sock_ino]" (a socket passed on by dup2(), fork() or
 * SCM_RIGHTS), bounded by PB_PROC_SCAN_PIDS and PB_PROC_SCAN_FDS.
 *
 * Returns: the number of holders found.
 */
guint
pb_proc_find_socket(int proc_fd, dev_t dev, ino_t ino, guint64 sock_ino,
                    gboolean (*func)(pid_t pid, int fd, gpointer data),
                    gpointer data)
{
    g_autofree char *want =
        g_strdup_printf("socket:[%" G_GUINT64_FORMAT "]", sock_ino);
    int dfd = openat(proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    struct dirent *de;
    guint found = 0, pids = 0;
    gboolean go = TRUE;

    if (d == NULL) {
        if (dfd >= 0)
            close(dfd);
        return 0;
    }
    while (go && pids < PB_PROC_SCAN_PIDS && (de = readdir(d)) != NULL) {
        char path[64];
        pid_t pid;
        int fdd;
        DIR *fds;
        struct dirent *fe;
        guint nfds = 0;

        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        pid = (pid_t)atoi(de->d_name);
        pids++;
        if (pb_proc_in_netns(proc_fd, pid, dev, ino) != 1)
            continue;
        snprintf(path, sizeof path, "%d/fd", (int)pid);
        fdd = openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        fds = fdd >= 0 ? fdopendir(fdd) : NULL;
        if (fds == NULL) {
            if (fdd >= 0)
                close(fdd);
            continue;
        }
        while (go && nfds++ < PB_PROC_SCAN_FDS && (fe = readdir(fds)) != NULL) {
            char link[64];
            ssize_t n;

            if (fe->d_name[0] < '0' || fe->d_name[0] > '9')
                continue;
            n = readlinkat(dirfd(fds), fe->d_name, link, sizeof link - 1);
            if (n <= 0)
                continue;
            link[n] = '\0';
            if (strcmp(link, want) != 0)
                continue;
            found++;
            go = func(pid, atoi(fe->d_name), data);
        }
        closedir(fds);
    }
    closedir(d);
    return found;
}
