/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * floor_agent: the least a connect-swapping seccomp agent can do, as a
 * benchmark reference for bench-bypass.sh ("floor").
 *
 * Theory of operation: the connection rate through any seccomp-notify
 * bypass is bounded by what the kernel charges for the trap itself (two
 * context switches), the ADDFD round trip (the target installs the fd
 * and wakes the agent again) and the connect the agent makes in place of
 * the program.  This program pays exactly that and nothing else: it runs
 * CMD under a filter that traps connect(2), and for every trapped call
 * RECVs it, duplicates the socket (pidfd_getfd on the calling task) to
 * tell a repeated
 * connect of an already connecting socket (answered CONTINUE, as
 * slirpbypass does) from a fresh one, copies the sockaddr once, checks
 * ID_VALID, makes a non-blocking socket, connects it to the same address
 * (no policy, no address mapping, no state copy, no fdinfo, no namespace
 * checks), injects it over the original with ADDFD(SETFD) and replies
 * with the connect's result.  A blocking original (F_GETFL) is answered
 * once the connect completed, waiting in poll(): this agent serves one
 * client, it has no loop to keep responsive.  Everything runs in one namespace,
 * so only use it against a server it may reach directly.  Whatever separates
 * slirpbypass from this floor is the price of its checks; whatever
 * separates the floor from host loopback is the kernel's (and the VM's).
 *
 *   floor_agent CMD [ARGS...]    -> CMD's exit status (127: exec failed)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define G_N_ELEMENTS_(a) ((unsigned short)(sizeof(a) / sizeof((a)[0])))
#if defined(__x86_64__)
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_AARCH64
#else
#error "floor_agent: add this architecture's AUDIT_ARCH"
#endif

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS _IOW('!', 4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1
#endif

/*
 * child: install the filter, report the listener's fd number on @up,
 * wait for the go on @down, exec @argv.  Never returns.
 */
static void
child(int up, int down, char **argv)
{
    /* native connect(2) only: another ABI's number 42 is another call */
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_NATIVE, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_connect, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = G_N_ELEMENTS_(f), .filter = f };
    int fd;
    char go;

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        _exit(127);
    fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                      SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (fd < 0 || write(up, &fd, sizeof fd) != sizeof fd ||
        read(down, &go, 1) != 1)
        _exit(127);
    close(fd);
    close(up);
    close(down);
    execvp(argv[0], argv);
    _exit(127);
}

/*
 * task_pidfd: a pidfd of task @tid (a thread too, with PIDFD_THREAD on
 * 6.9+), cached for the last task asked about (slirpbypass caches them
 * per process, so the floor should not pay pidfd_open each time).
 * Returns: the pidfd (owned by the cache) or -1.
 */
static int
task_pidfd(pid_t tid)
{
    static pid_t last_tid;
    static int last_fd = -1;

    if (tid == last_tid && last_fd >= 0)
        return last_fd;
    if (last_fd >= 0)
        close(last_fd);
    last_fd = (int)syscall(SYS_pidfd_open, tid, O_EXCL /* PIDFD_THREAD */);
    if (last_fd < 0)
        last_fd = (int)syscall(SYS_pidfd_open, tid, 0);
    last_tid = tid;
    return last_fd;
}

/*
 * answer: handle one notification @req from listener @nfd.  Errors answer
 * CONTINUE or are ignored (a benchmark tool).
 */
static void
answer(int nfd, const struct seccomp_notif *req)
{
    struct seccomp_notif_resp resp = { .id = req->id };
    struct sockaddr_storage sa;
    struct iovec local = { &sa, sizeof sa };
    struct iovec remote = { (void *)(uintptr_t)req->data.args[1], 0 };
    unsigned char info[8] = { 0 }; /* tcpi_state first */
    socklen_t ilen = sizeof info;
    int tfd = (int)req->data.args[0];
    int pidfd = task_pidfd((pid_t)req->pid);
    int dup = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, tfd, 0);
    int host = -1, proto = 0, r;
    socklen_t plen = sizeof proto;

    remote.iov_len = req->data.args[2] <= sizeof sa ? req->data.args[2] : 0;
    /* TCP only (UDP, AF_UNIX, ...: CONTINUE); the family is the
     * sockaddr's, checked after the read */
    if (dup < 0 || remote.iov_len == 0 ||
        getsockopt(dup, SOL_SOCKET, SO_PROTOCOL, &proto, &plen) < 0 ||
        proto != IPPROTO_TCP ||
        (getsockopt(dup, IPPROTO_TCP, TCP_INFO, info, &ilen) == 0 &&
         info[0] != TCP_CLOSE) ||
        process_vm_readv((pid_t)req->pid, &local, 1, &remote, 1, 0) !=
            (ssize_t)remote.iov_len ||
        (sa.ss_family != AF_INET && sa.ss_family != AF_INET6) ||
        ioctl(nfd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) < 0 ||
        (host = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                       0)) < 0) {
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        goto out;
    }
    r = connect(host, (struct sockaddr *)&sa, (socklen_t)remote.iov_len);
    resp.error = r == 0 ? 0 : -errno;
    if (r < 0 && errno == EINPROGRESS && !(fcntl(dup, F_GETFL) & O_NONBLOCK)) {
        struct pollfd p = { .fd = host, .events = POLLOUT };
        int err = 0;
        socklen_t elen = sizeof err;

        while (poll(&p, 1, -1) < 0 && errno == EINTR)
            ;
        getsockopt(host, SOL_SOCKET, SO_ERROR, &err, &elen);
        resp.error = -err;
        r = err == 0 ? 0 : -1;
        fcntl(host, F_SETFL, 0);
    }
    if (r == 0 || resp.error == -EINPROGRESS) {
        struct seccomp_notif_addfd a = {
            .id = req->id,
            .flags = SECCOMP_ADDFD_FLAG_SETFD,
            .srcfd = (__u32)host,
            .newfd = (__u32)tfd,
        };

        if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_ADDFD, &a) < 0) {
            resp.error = 0;
            resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        }
    }
out:
    if (host >= 0)
        close(host);
    if (dup >= 0)
        close(dup);
    ioctl(nfd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

/*
 * main: run argv[1..] under the filter and answer its connects until the
 * filter has no users left.
 * Returns: the command's exit status.
 */
int
main(int argc, char **argv)
{
    int up[2], down[2], fd, pidfd, nfd, status = 0;
    __u64 flags = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
    pid_t pid;

    if (argc < 2) {
        fprintf(stderr, "usage: floor_agent CMD [ARGS...]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (pipe(up) < 0 || pipe(down) < 0 || (pid = fork()) < 0) {
        perror("floor_agent");
        return 1;
    }
    if (pid == 0) {
        close(up[0]);
        close(down[1]);
        child(up[1], down[0], argv + 1);
    }
    close(up[1]);
    close(down[0]);
    if (read(up[0], &fd, sizeof fd) != sizeof fd ||
        (pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0 ||
        (nfd = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0)) < 0) {
        perror("floor_agent: listener");
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return 1;
    }
    /* the same wake-up mode slirpbypass asks for (6.6+; ignored before) */
    ioctl(nfd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, flags);
    if (write(down[1], "g", 1) != 1)
        return 1;
    close(down[1]);
    close(up[0]);
    for (;;) {
        struct pollfd p = { .fd = nfd, .events = POLLIN };
        struct seccomp_notif req;

        if (poll(&p, 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
            break; /* the command and its children are gone */
        memset(&req, 0, sizeof req);
        if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0)
            answer(nfd, &req);
    }
    if (waitpid(pid, &status, 0) < 0)
        return 1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
