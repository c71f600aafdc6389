/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sbclient: a statically linked multi-tool test client and server for the
 * bypass integration tests.
 *
 * Theory of operation: the bypass works at the syscall level (seccomp user
 * notification), so it must catch a program that no LD_PRELOAD shim could:
 * this binary is linked with -static and makes raw libc socket calls.  It
 * prints machine-readable `key=value` lines (one per line, stdout flushed
 * after each) that the shell tests assert on, and the same binary serves
 * as the TCP/UDP servers those tests talk to (each reply names the peer
 * address the server saw, prefixed by a tag that identifies the server).
 *
 * Subcommands (run without arguments for the usage text):
 *   tcp-connect ADDR PORT [options]   connect, report, read the reply
 *   udp-connect ADDR PORT [options]   connected UDP: send, read the reply
 *   serve-tcp ADDR PORT [options]     reply "TAG PEER" to each connection
 *   serve-udp ADDR PORT [options]     reply "TAG PEER" to each datagram
 *   storm THREADS CONNECTS ADDR PORT  concurrent blocking connects
 *   race ALLOWED FORBIDDEN PORT ITERATIONS [THREADS]
 *                                     flip a shared sockaddr during connects
 *   exec-check ADDR PORT              close-on-exec across execve
 *   exec-report NAME=FD:LOCAL...      (internal, run by exec-check)
 * Exit status: 0 success, 1 the operation failed, 2 usage error.
 */
#include <arpa/inet.h>
#include <linux/io_uring.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "client_util.h"

#define MAX_TAGS 8

static void
usage(void)
{
    fprintf(
        stderr,
        "usage: sbclient tcp-connect ADDR PORT [--nonblock] [--nodelay] "
        "[--rcvbuf N]\n"
        "         [--keepalive] [--keepidle S] [--v6only|--no-v6only] "
        "[--cloexec|--no-cloexec]\n"
        "         [--fd-cloexec] [--sndtimeo MS] [--alarm MS] "
        "[--sa-restart] [--send STR]\n"
        "         [--read-timeout MS] [--wait MS] [--hold MS] [--pause-file F] "
        "[--then-unspec-bind PORT] "
        "[--no-read]\n"
        "         [--then-connect-hilen ADDR PORT] [--then-bind PORT] "
        "[--reconnect]\n"
        "         [--then-unspec] [--then-listen] [--then-socketcall-listen]\n"
        "         [--then-socketcall-connect ADDR PORT] "
        "[--then-uring-connect ADDR PORT]\n"
        "         [--then-fastopen ADDR PORT] "
        "[--then-i386-connect ADDR PORT] [--then-i386-listen] "
        "[--socketcall-hibits]\n"
        "       sbclient udp-connect ADDR PORT [--send STR] "
        "[--read-timeout MS]\n"
        "       sbclient serve-tcp|serve-udp ADDR PORT [--tag T] "
        "[--count N] [--timeout S] [--reuseport]\n"
        "                 [--dup-to FD] [--relisten]\n"
        "       sbclient grab ADDR PORT SECONDS\n"
        "       sbclient storm THREADS CONNECTS ADDR PORT\n"
        "       sbclient race ALLOWED FORBIDDEN PORT ITERATIONS "
        "[THREADS]\n"
        "       sbclient exec-check ADDR PORT\n");
    exit(2);
}

/* Parse a decimal number or exit 2. */
static long
num(const char *s)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *s == '\0' || *end != '\0' || v < 0) {
        fprintf(stderr, "sbclient: bad number '%s'\n", s);
        exit(2);
    }
    return v;
}

/* ADDR PORT -> sockaddr (v4 or v6, "%scope" not supported); exit 2 on a
 * bad address. */
static socklen_t
parse_addr(const char *addr, const char *port, struct sockaddr_storage *ss)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    long p = num(port);

    memset(ss, 0, sizeof *ss);
    if (p > 65535)
        usage();
    if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)p);
        return sizeof *s4;
    }
    if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)p);
        return sizeof *s6;
    }
    fprintf(stderr, "sbclient: bad address '%s'\n", addr);
    exit(2);
}

/* Format a sockaddr as "1.2.3.4:P" or "[::1]:P" into @buf. */
static const char *
fmt_addr(const struct sockaddr *sa, char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN];

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const void *)sa;

        inet_ntop(AF_INET, &s->sin_addr, a, sizeof a);
        snprintf(buf, len, "%s:%u", a, ntohs(s->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const void *)sa;

        inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof a);
        snprintf(buf, len, "[%s]:%u", a, ntohs(s->sin6_port));
    } else {
        snprintf(buf, len, "family-%d", sa->sa_family);
    }
    return buf;
}

/* getsockname/getpeername formatted, or "ERRNAME". */
static const char *
sock_name(int fd, int peer, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int r = peer ? getpeername(fd, (struct sockaddr *)&ss, &sl)
                 : getsockname(fd, (struct sockaddr *)&ss, &sl);

    if (r < 0) {
        snprintf(buf, len, "%s", ename(errno));
        return buf;
    }
    return fmt_addr((struct sockaddr *)&ss, buf, len);
}

/* An int socket option, or -1 (printed as such) if it cannot be read. */
static int
iopt(int fd, int level, int name)
{
    int v = -1;
    socklen_t l = sizeof v;

    if (getsockopt(fd, level, name, &v, &l) < 0)
        return -1;
    return v;
}

/* Report the socket state we promise to preserve, with prefix @p. */
static void
report_state(int fd, const char *p)
{
    struct timeval tv = { 0 };
    socklen_t l = sizeof tv;
    struct stat st;
    int family = iopt(fd, SOL_SOCKET, SO_DOMAIN);

    out("%sSO_TYPE=%d", p, iopt(fd, SOL_SOCKET, SO_TYPE));
    out("%sSO_RCVBUF=%d", p, iopt(fd, SOL_SOCKET, SO_RCVBUF));
    out("%sSO_KEEPALIVE=%d", p, iopt(fd, SOL_SOCKET, SO_KEEPALIVE));
    if (iopt(fd, SOL_SOCKET, SO_TYPE) == SOCK_STREAM) {
        out("%sTCP_NODELAY=%d", p, iopt(fd, IPPROTO_TCP, TCP_NODELAY));
        out("%sTCP_KEEPIDLE=%d", p, iopt(fd, IPPROTO_TCP, TCP_KEEPIDLE));
    }
    if (family == AF_INET6)
        out("%sIPV6_V6ONLY=%d", p, iopt(fd, IPPROTO_IPV6, IPV6_V6ONLY));
    if (getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &l) == 0)
        out("%sSO_SNDTIMEO_MS=%ld", p,
            (long)(tv.tv_sec * 1000 + tv.tv_usec / 1000));
    out("%sFD_CLOEXEC=%d", p, (fcntl(fd, F_GETFD) & FD_CLOEXEC) ? 1 : 0);
    out("%sO_NONBLOCK=%d", p, (fcntl(fd, F_GETFL) & O_NONBLOCK) ? 1 : 0);
    if (fstat(fd, &st) == 0)
        out("%sinode=%lu", p, (unsigned long)st.st_ino);
}

/* Read until EOF or @timeout_ms of silence; print reply=<text> with
 * non-printable bytes as \xNN.  Works on blocking or non-blocking fds. */
static void
read_reply(int fd, int timeout_ms)
{
    char buf[4096];
    size_t used = 0;
    char line[4 * sizeof buf + 1];
    size_t o = 0;

    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;
        int r = poll(&p, 1, timeout_ms);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            out("read=%s", r == 0 ? "timeout" : ename(errno));
            break;
        }
        n = read(fd, buf + used, sizeof buf - used);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            out("read=%s", ename(errno));
            break;
        }
        if (n == 0) {
            out("read=eof");
            break;
        }
        used += (size_t)n;
        if (used == sizeof buf)
            break;
    }
    /* strip one trailing newline: servers end their line with it */
    if (used > 0 && buf[used - 1] == '\n')
        used--;
    for (size_t i = 0; i < used; i++) {
        unsigned char c = (unsigned char)buf[i];

        if (c >= 0x20 && c < 0x7f && c != '\\')
            line[o++] = (char)c;
        else
            o += (size_t)sprintf(line + o, "\\x%02x", c);
    }
    line[o] = '\0';
    out("reply=%s", line);
}

static volatile sig_atomic_t alarms;

static void
on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

/* Arm SIGALRM after @ms, with or without SA_RESTART. */
static void
arm_alarm(long ms, int restart)
{
    struct sigaction sa = { .sa_handler = on_alarm };
    struct itimerval it = { .it_value = { .tv_sec = ms / 1000,
                                          .tv_usec = (ms % 1000) * 1000 } };

    sa.sa_flags = restart ? SA_RESTART : 0;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    setitimer(ITIMER_REAL, &it, NULL);
}

/* tcp-connect ADDR PORT [options]: see usage(). */
/*
 * then_connect_hilen: connect @fd again through the raw syscall with an
 * address length whose upper 32 bits are set.  The kernel reads the
 * length as an int and ignores them; an agent that checks the full
 * register must not be fooled into CONTINUE.  Prints then_connect=.
 * After a failed attempt the kernel's first answer is that attempt's
 * error (or ECONNABORTED once SO_ERROR was read), so the call is made a
 * second time too: then_connect2=.
 */
static void
then_connect_hilen(int fd, const char *addr, const char *port)
{
    struct sockaddr_storage ss;
    socklen_t sl = parse_addr(addr, port, &ss);
    long r = syscall(SYS_connect, fd, &ss, (unsigned long)sl | (1UL << 32));

    out("then_connect=%s", r == 0 ? "ok" : ename(errno));
    r = syscall(SYS_connect, fd, &ss, (unsigned long)sl | (1UL << 32));
    out("then_connect2=%s", r == 0 ? "ok" : ename(errno));
}

/*
 * uring_connect: connect @fd to @sa through io_uring (IORING_OP_CONNECT),
 * which seccomp never sees.  Raw syscalls, one submission.
 * Returns: 0 or -errno (io_uring_setup's, or the connect's).
 */
static int
uring_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    struct io_uring_params p;
    struct io_uring_sqe *sqe;
    struct io_uring_cqe *cqe;
    size_t sqsz, cqsz;
    char *sq, *cq;
    unsigned int *tail, *array, *head;
    int ring, r;

    memset(&p, 0, sizeof p);
    ring = (int)syscall(SYS_io_uring_setup, 1, &p);
    if (ring < 0)
        return -errno;
    sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
    cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    if (p.features & IORING_FEAT_SINGLE_MMAP)
        sqsz = cqsz = sqsz > cqsz ? sqsz : cqsz;
    sq = mmap(NULL, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
              ring, IORING_OFF_SQ_RING);
    cq = (p.features & IORING_FEAT_SINGLE_MMAP)
             ? sq
             : mmap(NULL, cqsz, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
    sqe = mmap(NULL, sizeof *sqe, PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
    if (sq == MAP_FAILED || cq == MAP_FAILED || sqe == MAP_FAILED) {
        close(ring);
        return -ENOMEM;
    }
    memset(sqe, 0, sizeof *sqe);
    sqe->opcode = IORING_OP_CONNECT;
    sqe->fd = fd;
    sqe->addr = (unsigned long)sa;
    sqe->off = len;
    tail = (unsigned int *)(sq + p.sq_off.tail);
    array = (unsigned int *)(sq + p.sq_off.array);
    array[*tail & *(unsigned int *)(sq + p.sq_off.ring_mask)] = 0;
    __atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
    r = (int)syscall(SYS_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS,
                     NULL, 0);
    if (r < 0) {
        r = -errno;
    } else {
        head = (unsigned int *)(cq + p.cq_off.head);
        cqe = (struct io_uring_cqe *)(cq + p.cq_off.cqes) +
              (__atomic_load_n(head, __ATOMIC_ACQUIRE) &
               *(unsigned int *)(cq + p.cq_off.ring_mask));
        r = cqe->res;
    }
    close(ring);
    return r;
}

/*
 * then_fastopen: send one byte with MSG_FASTOPEN to ADDR PORT, which
 * connects an unconnected TCP socket without connect().  Prints
 * then_fastopen=, and after 300 ms then_fastopen_read= (what came back).
 */
static void
then_fastopen(int fd, const char *addr, const char *port)
{
    struct sockaddr_storage ss;
    socklen_t sl = parse_addr(addr, port, &ss);
    char buf[128];
    ssize_t n;

    n = sendto(fd, "x", 1, MSG_FASTOPEN | MSG_NOSIGNAL, (struct sockaddr *)&ss,
               sl);
    out("then_fastopen=%s", n >= 0 ? "ok" : ename(errno));
    usleep(300000);
    n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
    if (n > 0) {
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        out("then_fastopen_read=%s", buf);
    } else {
        out("then_fastopen_read=%s", n == 0 ? "eof" : ename(errno));
    }
}

/*
 * then_uring_connect: connect @fd to ADDR PORT through io_uring.  Prints
 * then_uring_connect=.
 */
static void
then_uring_connect(int fd, const char *addr, const char *port)
{
    struct sockaddr_storage ss;
    socklen_t sl = parse_addr(addr, port, &ss);
    int r = uring_connect(fd, (struct sockaddr *)&ss, sl);

    out("then_uring_connect=%s", r == 0 ? "ok" : ename(-r));
}

/* --socketcall-hibits: set bit 32 of the call number (int 0x80 from
 * 64-bit code passes all of rbx; the kernel reads an int) */
static long socketcall_hibits;

#if defined(__x86_64__)
/*
 * socketcall_i386: socketcall(@call, @args) of the i386 ABI through
 * int 0x80, which a 64-bit process can use; @args must lie below 4 GiB.
 * Returns: the raw result (0 or -errno).
 */
static long
socketcall_i386(long call, const unsigned int *args)
{
    long r;

    call |= socketcall_hibits;
    /* eax = __NR_socketcall (102, i386), ebx = call, ecx = args */
    __asm__ volatile("int $0x80"
                     : "=a"(r)
                     : "a"(102L), "b"(call), "c"((long)(unsigned long)args)
                     : "memory");
    return r;
}

/*
 * low_pages: two pages below 4 GiB, the second one inaccessible (an array
 * placed at the end of the first is followed by a fault).  NULL on error.
 */
static char *
low_pages(void)
{
    char *low = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);

    if (low == MAP_FAILED)
        return NULL;
    if (mprotect(low + 4096, 4096, PROT_NONE) < 0) {
        munmap(low, 8192);
        return NULL;
    }
    return low;
}
/*
 * i386_direct: the i386 ABI's direct syscall @nr (connect 362, listen 363;
 * Linux 4.3) with up to three arguments, through int 0x80.
 * Returns: the raw result (0 or -errno).
 */
static long
i386_direct(long nr, long a, long b, long c)
{
    long r;

    __asm__ volatile("int $0x80"
                     : "=a"(r)
                     : "a"(nr), "b"(a), "c"(b), "d"(c)
                     : "memory");
    return r;
}

#endif

/*
 * then_i386_connect: connect @fd to ADDR PORT through the i386 ABI's
 * direct connect (362), twice.  Prints then_i386_connect= and
 * then_i386_connect2=.
 */
static void
then_i386_connect(int fd, const char *addr, const char *port)
{
#if defined(__x86_64__)
    struct sockaddr_storage ss;
    socklen_t sl = parse_addr(addr, port, &ss);
    char *low = low_pages();
    long r;

    if (low == NULL) {
        out("then_i386_connect=%s", ename(errno));
        return;
    }
    memcpy(low, &ss, sl);
    r = i386_direct(362, fd, (long)(unsigned long)low, sl);
    out("then_i386_connect=%s", r == 0 ? "ok" : ename((int)-r));
    /* after a failed attempt the first answer is the kernel's for it */
    r = i386_direct(362, fd, (long)(unsigned long)low, sl);
    out("then_i386_connect2=%s", r == 0 ? "ok" : ename((int)-r));
    munmap(low, 8192);
#else
    (void)fd, (void)addr, (void)port;
    out("then_i386_connect=unsupported");
#endif
}

/*
 * then_i386_listen: listen() on @fd through the i386 ABI's direct listen
 * (363).  Prints then_i386_listen=.
 */
static void
then_i386_listen(int fd)
{
#if defined(__x86_64__)
    long r = i386_direct(363, fd, 1, 0);

    out("then_i386_listen=%s", r == 0 ? "ok" : ename((int)-r));
#else
    (void)fd;
    out("then_i386_listen=unsupported");
#endif
}

/*
 * then_socketcall_connect: connect @fd again through the i386 ABI's
 * socketcall(SYS_CONNECT).  Prints then_socketcall=, or "unsupported" off
 * x86_64.
 */
static void
then_socketcall_connect(int fd, const char *addr, const char *port)
{
#if defined(__x86_64__)
    struct sockaddr_storage ss;
    socklen_t sl = parse_addr(addr, port, &ss);
    unsigned int *args;
    char *low = low_pages();

    if (low == NULL) {
        out("then_socketcall=%s", ename(errno));
        return;
    }
    memcpy(low + 64, &ss, sl);
    args = (unsigned int *)low;
    args[0] = (unsigned int)fd;
    args[1] = (unsigned int)(unsigned long)(low + 64);
    args[2] = sl;
    long r = socketcall_i386(3 /* SYS_CONNECT */, args);
    out("then_socketcall=%s", r == 0 ? "ok" : ename((int)-r));
    munmap(low, 8192);
#else
    (void)fd, (void)addr, (void)port;
    out("then_socketcall=unsupported");
#endif
}

/*
 * then_socketcall_listen: listen() on @fd through the i386 ABI's
 * socketcall(SYS_LISTEN), with the two-word argument array at the very end
 * of a page (the kernel reads exactly two words; reading more would
 * fault).  Prints then_socketcall_listen=, or "unsupported" off x86_64.
 */
static void
then_socketcall_listen(int fd)
{
#if defined(__x86_64__)
    unsigned int *args;
    char *low = low_pages();

    if (low == NULL) {
        out("then_socketcall_listen=%s", ename(errno));
        return;
    }
    args = (unsigned int *)(low + 4096 - 2 * sizeof *args);
    args[0] = (unsigned int)fd;
    args[1] = 1;
    long r = socketcall_i386(4 /* SYS_LISTEN */, args);
    out("then_socketcall_listen=%s", r == 0 ? "ok" : ename((int)-r));
    munmap(low, 8192);
#else
    (void)fd;
    out("then_socketcall_listen=unsupported");
#endif
}

/*
 * then_bind_any: bind @fd to the wildcard address and @port.  Prints
 * then_bind=.
 */
static void
then_bind_any(int fd, int family, int port)
{
    struct sockaddr_storage ss;
    socklen_t sl;

    memset(&ss, 0, sizeof ss);
    if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((unsigned short)port);
        sl = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((unsigned short)port);
        sl = sizeof *s4;
    }
    out("then_bind=%s",
        bind(fd, (struct sockaddr *)&ss, sl) == 0 ? "ok" : ename(errno));
}

static int
cmd_tcp_connect(int argc, char **argv)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int nonblock = 0, nodelay = 0, keepalive = 0, v6only = -1;
    int cloexec = 0, fd_cloexec = 0, restart = 0, no_read = 0, reconnect = 0;
    int then_listen = 0, then_unspec = 0, then_sc_listen = 0;
    int then_i386_lst = 0;
    const char *i3_addr = NULL, *i3_port = NULL;
    const char *tfo_addr = NULL, *tfo_port = NULL;
    long rcvbuf = -1, keepidle = -1, sndtimeo = -1, alarm_ms = -1;
    long read_timeout = 5000, wait_ms = 5000, hold = 0;
    const char *send_str = NULL;
    const char *hilen_addr = NULL, *hilen_port = NULL;
    const char *sc_addr = NULL, *sc_port = NULL;
    const char *ur_addr = NULL, *ur_port = NULL;
    long then_bind = -1, unspec_bind = -1;
    const char *pause_file = NULL;
    char a[128];
    int fd, r, e, ok = 0;

    if (argc < 3)
        usage();
    sl = parse_addr(argv[1], argv[2], &ss);
    for (int i = 3; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(o, "--nonblock"))
            nonblock = 1;
        else if (!strcmp(o, "--nodelay"))
            nodelay = 1;
        else if (!strcmp(o, "--keepalive"))
            keepalive = 1;
        else if (!strcmp(o, "--v6only"))
            v6only = 1;
        else if (!strcmp(o, "--no-v6only"))
            v6only = 0;
        else if (!strcmp(o, "--cloexec"))
            cloexec = 1;
        else if (!strcmp(o, "--no-cloexec"))
            cloexec = 0;
        else if (!strcmp(o, "--fd-cloexec"))
            fd_cloexec = 1;
        else if (!strcmp(o, "--sa-restart"))
            restart = 1;
        else if (!strcmp(o, "--no-read"))
            no_read = 1;
        else if (!strcmp(o, "--reconnect"))
            reconnect = 1;
        else if (!strcmp(o, "--then-listen"))
            then_listen = 1;
        else if (!strcmp(o, "--then-unspec"))
            then_unspec = 1;
        else if (!strcmp(o, "--then-socketcall-listen"))
            then_sc_listen = 1;
        else if (!strcmp(o, "--then-i386-listen"))
            then_i386_lst = 1;
        else if (!strcmp(o, "--socketcall-hibits"))
            socketcall_hibits = 1L << 32;
        else if (v == NULL)
            usage();
        else if (!strcmp(o, "--rcvbuf"))
            rcvbuf = num(v), i++;
        else if (!strcmp(o, "--keepidle"))
            keepidle = num(v), i++;
        else if (!strcmp(o, "--sndtimeo"))
            sndtimeo = num(v), i++;
        else if (!strcmp(o, "--alarm"))
            alarm_ms = num(v), i++;
        else if (!strcmp(o, "--read-timeout"))
            read_timeout = num(v), i++;
        else if (!strcmp(o, "--wait"))
            wait_ms = num(v), i++;
        else if (!strcmp(o, "--hold"))
            hold = num(v), i++;
        else if (!strcmp(o, "--pause-file"))
            pause_file = v, i++;
        else if (!strcmp(o, "--then-unspec-bind"))
            then_unspec = 1, unspec_bind = num(v), i++;
        else if (!strcmp(o, "--send"))
            send_str = v, i++;
        else if (!strcmp(o, "--then-bind"))
            then_bind = num(v), i++;
        else if (!strcmp(o, "--then-connect-hilen") && i + 2 < argc)
            hilen_addr = v, hilen_port = argv[i + 2], i += 2;
        else if (!strcmp(o, "--then-fastopen") && i + 2 < argc)
            tfo_addr = v, tfo_port = argv[i + 2], i += 2;
        else if (!strcmp(o, "--then-i386-connect") && i + 2 < argc)
            i3_addr = v, i3_port = argv[i + 2], i += 2;
        else if (!strcmp(o, "--then-uring-connect") && i + 2 < argc)
            ur_addr = v, ur_port = argv[i + 2], i += 2;
        else if (!strcmp(o, "--then-socketcall-connect") && i + 2 < argc)
            sc_addr = v, sc_port = argv[i + 2], i += 2;
        else
            usage();
    }

    fd = socket(ss.ss_family,
                SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0) |
                    (cloexec ? SOCK_CLOEXEC : 0),
                0);
    if (fd < 0) {
        out("socket=%s", ename(errno));
        return 1;
    }
    if (fd_cloexec)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (nodelay)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay);
    if (keepalive)
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &keepalive, sizeof keepalive);
    if (keepidle >= 0) {
        int v = (int)keepidle;

        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof v);
    }
    if (rcvbuf >= 0) {
        int v = (int)rcvbuf;

        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    }
    if (v6only >= 0 && ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    if (sndtimeo >= 0) {
        struct timeval tv = { .tv_sec = sndtimeo / 1000,
                              .tv_usec = (sndtimeo % 1000) * 1000 };

        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    report_state(fd, "pre.");

    if (alarm_ms >= 0)
        arm_alarm(alarm_ms, restart);
    r = connect(fd, (struct sockaddr *)&ss, sl);
    e = errno;
    if (alarm_ms >= 0) {
        struct itimerval off = { { 0, 0 }, { 0, 0 } };

        setitimer(ITIMER_REAL, &off, NULL);
        out("alarms=%d", (int)alarms);
    }
    out("connect_rc=%s", r == 0 ? "0" : ename(e));

    /* a blocking connect that ran out of SO_SNDTIMEO: asking again waits
     * once more and then says EALREADY */
    if (r < 0 && e == EINPROGRESS && !nonblock && reconnect)
        out("reconnect_blocking=%s",
            connect(fd, (struct sockaddr *)&ss, sl) == 0 ? "0" : ename(errno));
    if (r < 0 && e == EINPROGRESS && nonblock) {
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int pr;

        /* asking again at once, as event loops do: EALREADY unless the
         * handshake already completed (EISCONN) */
        if (reconnect)
            out("reconnect_early=%s",
                connect(fd, (struct sockaddr *)&ss, sl) == 0 ? "0"
                                                             : ename(errno));

        do
            pr = poll(&p, 1, (int)wait_ms);
        while (pr < 0 && errno == EINTR);
        if (pr == 0) {
            out("connect=timeout");
        } else {
            int err = iopt(fd, SOL_SOCKET, SO_ERROR);

            out("connect=%s", err == 0 ? "ok" : ename(err));
            ok = err == 0;
        }
    } else {
        out("connect=%s", r == 0 ? "ok" : ename(e));
        ok = r == 0;
    }
    /* The local address tells the paths apart: a bypassed socket lives in
     * the host namespace, a slirp one has the tap address. */
    out("local=%s", sock_name(fd, 0, a, sizeof a));
    if (ok) {
        out("peer=%s", sock_name(fd, 1, a, sizeof a));
        /* the outcome asked the APR way: connect() again says EISCONN */
        if (reconnect)
            out("reconnect=%s", connect(fd, (struct sockaddr *)&ss, sl) == 0
                                    ? "0"
                                    : ename(errno));
        report_state(fd, "post.");
        if (send_str != NULL &&
            send(fd, send_str, strlen(send_str), MSG_NOSIGNAL) < 0)
            out("send=%s", ename(errno));
        if (!no_read)
            read_reply(fd, (int)read_timeout);
        if (hold > 0)
            usleep((useconds_t)hold * 1000);
    }
    if (pause_file != NULL) {
        /* wait (at most 60 s) until the test lets us go on */
        out("paused=1");
        for (int t = 0; t < 600 && access(pause_file, F_OK) != 0; t++)
            usleep(100 * 1000);
        out("resumed=%d", access(pause_file, F_OK) == 0);
    }
    if (hilen_addr != NULL)
        then_connect_hilen(fd, hilen_addr, hilen_port);
    if (sc_addr != NULL)
        then_socketcall_connect(fd, sc_addr, sc_port);
    if (ur_addr != NULL)
        then_uring_connect(fd, ur_addr, ur_port);
    if (i3_addr != NULL)
        then_i386_connect(fd, i3_addr, i3_port);
    if (then_bind >= 0)
        then_bind_any(fd, ss.ss_family, (int)then_bind);
    if (then_unspec) {
        /* connect(AF_UNSPEC) dissolves the association (TCP: disconnect) */
        struct sockaddr unspec = { .sa_family = AF_UNSPEC };

        out("then_unspec=%s",
            connect(fd, &unspec, sizeof unspec) == 0 ? "ok" : ename(errno));
        if (unspec_bind >= 0) {
            /* the dissolved socket bound anew: then_bind= */
            then_bind_any(fd, ss.ss_family, (int)unspec_bind);
        }
    }
    if (then_sc_listen)
        then_socketcall_listen(fd);
    if (then_i386_lst)
        then_i386_listen(fd);
    if (tfo_addr != NULL)
        then_fastopen(fd, tfo_addr, tfo_port);
    if (then_listen) {
        /* listen() on an unbound socket binds a free port first */
        int lr = listen(fd, 1);

        out("then_listen=%s", lr == 0 ? "ok" : ename(errno));
        out("listen_local=%s", sock_name(fd, 0, a, sizeof a));
    }
    close(fd);
    return ok ? 0 : 1;
}

/* udp-connect ADDR PORT [--send STR] [--read-timeout MS]. */
static int
cmd_udp_connect(int argc, char **argv)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    const char *send_str = "ping";
    long read_timeout = 3000;
    char a[128];
    char buf[2048];
    int fd;

    if (argc < 3)
        usage();
    sl = parse_addr(argv[1], argv[2], &ss);
    for (int i = 3; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (!strcmp(argv[i], "--send"))
            send_str = argv[++i];
        else if (!strcmp(argv[i], "--read-timeout"))
            read_timeout = num(argv[++i]);
        else
            usage();
    }
    fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        out("socket=%s", ename(errno));
        return 1;
    }
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
        out("connect=%s", ename(errno));
        close(fd);
        return 1;
    }
    out("connect=ok");
    out("local=%s", sock_name(fd, 0, a, sizeof a));
    out("peer=%s", sock_name(fd, 1, a, sizeof a));
    report_state(fd, "post.");
    if (send(fd, send_str, strlen(send_str), 0) < 0) {
        out("send=%s", ename(errno));
    } else {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n = -1;

        if (poll(&p, 1, (int)read_timeout) == 1)
            n = recv(fd, buf, sizeof buf - 1, 0);
        if (n < 0) {
            out("read=%s", n < 0 && errno ? ename(errno) : "timeout");
        } else {
            buf[n] = '\0';
            if (n > 0 && buf[n - 1] == '\n')
                buf[n - 1] = '\0';
            out("reply=%s", buf);
        }
    }
    close(fd);
    return 0;
}

/* Options shared by the servers. */
typedef struct {
    const char *tag;
    long count;    /* connections/datagrams to serve, 0 = unlimited */
    long timeout;  /* seconds before exiting, 0 = never */
    int reuseport; /* --reuseport: SO_REUSEPORT before bind */
    int dup_to;    /* --dup-to N: move the listener to fd N (-1: no) */
    int relisten;  /* --relisten: after accept fails, listen() again */
} ServeOpts;

static void
parse_serve_opts(int argc, char **argv, ServeOpts *o)
{
    o->tag = "";
    o->count = 0;
    o->timeout = 60;
    o->reuseport = 0;
    o->dup_to = -1;
    o->relisten = 0;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--reuseport")) {
            o->reuseport = 1;
            continue;
        }
        if (!strcmp(argv[i], "--relisten")) {
            o->relisten = 1;
            continue;
        }
        if (i + 1 >= argc)
            usage();
        if (!strcmp(argv[i], "--tag"))
            o->tag = argv[++i];
        else if (!strcmp(argv[i], "--count"))
            o->count = num(argv[++i]);
        else if (!strcmp(argv[i], "--timeout"))
            o->timeout = num(argv[++i]);
        else if (!strcmp(argv[i], "--dup-to"))
            o->dup_to = (int)num(argv[++i]);
        else
            usage();
    }
}

/* Bind a socket of @type to ADDR PORT; print listening=ADDR:PORT. */
static int
serve_socket(int argc, char **argv, int type, ServeOpts *o)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    char a[128];
    int one = 1;
    int fd;

    if (argc < 3)
        usage();
    sl = parse_addr(argv[1], argv[2], &ss);
    parse_serve_opts(argc, argv, o);
    fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        out("socket=%s", ename(errno));
        exit(1);
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (o->reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 ||
        (type == SOCK_STREAM && listen(fd, 512) < 0)) {
        out("bind=%s", ename(errno));
        exit(1);
    }
    if (o->timeout > 0)
        alarm((unsigned)o->timeout); /* default action: terminate */
    out("listening=%s", sock_name(fd, 0, a, sizeof a));
    if (o->dup_to >= 0 && o->dup_to != fd) {
        /* the listener moves to another fd number, as a daemon's may */
        if (dup2(fd, o->dup_to) < 0) {
            out("dup2=%s", ename(errno));
            exit(1);
        }
        close(fd);
        fd = o->dup_to;
        out("moved=%d", fd);
    }
    return fd;
}

/* serve-tcp ADDR PORT [--tag T] [--count N] [--timeout S] [--reuseport]. */
static int
cmd_serve_tcp(int argc, char **argv)
{
    ServeOpts o;
    int lfd = serve_socket(argc, argv, SOCK_STREAM, &o);

    signal(SIGPIPE, SIG_IGN);
    for (long n = 0; o.count == 0 || n < o.count; n++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        char a[128];
        char msg[256];
        int c = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
        int len;

        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                n--;
                continue;
            }
            out("accept=%s", ename(errno));
            if (o.relisten)
                out("relisten=%s", listen(lfd, 16) < 0 ? ename(errno) : "ok");
            return 1;
        }
        fmt_addr((struct sockaddr *)&ss, a, sizeof a);
        len =
            snprintf(msg, sizeof msg, "%s%s%s\n", o.tag, *o.tag ? " " : "", a);
        if (write(c, msg, (size_t)len) < 0)
            out("write=%s", ename(errno));
        out("accepted=%s", a);
        close(c);
    }
    close(lfd);
    return 0;
}

/* grab ADDR PORT SECONDS: try, again and again for SECONDS, to bind
 * (SO_REUSEADDR) and listen on ADDR:PORT, as a hostile local user would;
 * prints grabbed=yes (and exits 0) on the first success, else
 * grabbed=no with the number of tries. */
static int
cmd_grab(int argc, char **argv)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    struct timespec t0, t;
    long tries = 0, secs;
    int one = 1;

    if (argc != 4)
        usage();
    sl = parse_addr(argv[1], argv[2], &ss);
    secs = num(argv[3]);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0) {
            out("socket=%s", ename(errno));
            return 1;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        tries++;
        if (bind(fd, (struct sockaddr *)&ss, sl) == 0) {
            /* bound beside a closed socket: keep trying to listen */
            for (int k = 0; k < 1000; k++) {
                if (listen(fd, 4) == 0) {
                    out("grabbed=yes");
                    out("tries=%ld", tries);
                    close(fd);
                    return 0;
                }
            }
        }
        close(fd);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (t.tv_sec - t0.tv_sec < secs && tries < 100000000);
    out("grabbed=no");
    out("tries=%ld", tries);
    return 1;
}

/* serve-udp ADDR PORT [--tag T] [--count N] [--timeout S]. */
static int
cmd_serve_udp(int argc, char **argv)
{
    ServeOpts o;
    int fd = serve_socket(argc, argv, SOCK_DGRAM, &o);

    for (long n = 0; o.count == 0 || n < o.count; n++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        char buf[2048];
        char a[128];
        char msg[256];
        int len;

        if (recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&ss, &sl) < 0) {
            if (errno == EINTR) {
                n--;
                continue;
            }
            out("recv=%s", ename(errno));
            return 1;
        }
        fmt_addr((struct sockaddr *)&ss, a, sizeof a);
        len =
            snprintf(msg, sizeof msg, "%s%s%s\n", o.tag, *o.tag ? " " : "", a);
        sendto(fd, msg, (size_t)len, 0, (struct sockaddr *)&ss, sl);
        out("received=%s", a);
    }
    close(fd);
    return 0;
}

/* Shared state of the storm and race workers. */
typedef struct {
    pthread_mutex_t lock;
    struct sockaddr_storage ss;
    socklen_t sl;
    long per_thread; /* storm: connects per thread */
    long budget;     /* race: attempts left, under lock */
    volatile int stop;
    long ok, failed, bypassed, other;
    int err_count[256];
    char tags[MAX_TAGS][32];
    long tag_count[MAX_TAGS];
} Shared;

/* Count errno @e (under lock). */
static void
count_err(Shared *s, int e)
{
    pthread_mutex_lock(&s->lock);
    s->failed++;
    s->err_count[e & 0xff]++;
    pthread_mutex_unlock(&s->lock);
}

/* Read a short reply "TAG PEER" or "PEER" (blocking, bounded by the
 * socket's SO_RCVTIMEO); returns its length, or -1. */
static int
read_short(int fd, char *buf, size_t len)
{
    size_t used = 0;

    errno = 0;
    while (used < len - 1) {
        ssize_t n = read(fd, buf + used, len - 1 - used);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    if (used > 0 && buf[used - 1] == '\n')
        buf[--used] = '\0';
    return used > 0 ? (int)used : -1;
}

/* A blocking TCP socket with 3 s send/receive timeouts (bounds every
 * connect and read even if something hangs). */
static int
bounded_socket(int family)
{
    struct timeval tv = { .tv_sec = 3 };
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    return fd;
}

static void *
storm_worker(void *arg)
{
    Shared *s = arg;

    for (long i = 0; i < s->per_thread; i++) {
        char reply[256];
        char local[128];
        const char *peer;
        int fd = bounded_socket(s->ss.ss_family);

        if (fd < 0) {
            count_err(s, errno);
            continue;
        }
        if (connect(fd, (struct sockaddr *)&s->ss, s->sl) < 0) {
            count_err(s, errno);
            close(fd);
            continue;
        }
        sock_name(fd, 0, local, sizeof local);
        if (read_short(fd, reply, sizeof reply) < 0) {
            count_err(s, errno ? errno : EIO);
            close(fd);
            continue;
        }
        close(fd);
        peer = strrchr(reply, ' ');
        peer = peer != NULL ? peer + 1 : reply;
        pthread_mutex_lock(&s->lock);
        s->ok++;
        /* the server saw our own local address: same socket, no NAT */
        if (strcmp(peer, local) == 0)
            s->bypassed++;
        else
            s->other++;
        pthread_mutex_unlock(&s->lock);
    }
    return NULL;
}

/* Print "errors=NAME:count,..." for the collected errnos. */
static void
print_errors(Shared *s)
{
    char buf[2048] = "";
    size_t o = 0;

    for (int e = 1; e < 256; e++)
        if (s->err_count[e] > 0 && o < sizeof buf - 64)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s:%d",
                                  o ? "," : "", ename(e), s->err_count[e]);
    out("errors=%s", buf);
}

/* storm THREADS CONNECTS ADDR PORT. */
static int
cmd_storm(int argc, char **argv)
{
    static Shared s = { .lock = PTHREAD_MUTEX_INITIALIZER };
    long nthreads;
    pthread_t th[256];

    if (argc != 5)
        usage();
    nthreads = num(argv[1]);
    s.per_thread = num(argv[2]);
    if (nthreads < 1 || nthreads > 256)
        usage();
    s.sl = parse_addr(argv[3], argv[4], &s.ss);
    for (long i = 0; i < nthreads; i++)
        pthread_create(&th[i], NULL, storm_worker, &s);
    for (long i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    out("storm.total=%ld", nthreads * s.per_thread);
    out("storm.ok=%ld", s.ok);
    out("storm.failed=%ld", s.failed);
    out("storm.bypassed=%ld", s.bypassed);
    out("storm.other=%ld", s.other);
    print_errors(&s);
    return s.failed == 0 ? 0 : 1;
}

/* The two 32-bit IPv4 addresses the race flips between. */
static uint32_t race_addr[2];

static void *
race_flipper(void *arg)
{
    Shared *s = arg;
    struct sockaddr_in *sin = (struct sockaddr_in *)&s->ss;
    unsigned long i = 0;

    /* single aligned 32-bit stores: every read sees one of the two */
    while (!s->stop)
        __atomic_store_n(&sin->sin_addr.s_addr, race_addr[++i & 1],
                         __ATOMIC_RELAXED);
    return NULL;
}

/* Count reply tag @tag (under lock). */
static void
count_tag(Shared *s, const char *tag)
{
    char t[sizeof s->tags[0]];
    size_t len = strnlen(tag, sizeof t - 1);

    /* tags are short; compare the truncated form consistently */
    memcpy(t, tag, len);
    t[len] = '\0';
    pthread_mutex_lock(&s->lock);
    s->ok++;
    for (int i = 0; i < MAX_TAGS; i++) {
        if (s->tags[i][0] == '\0')
            memcpy(s->tags[i], t, len + 1);
        if (strcmp(s->tags[i], t) == 0) {
            s->tag_count[i]++;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
}

static void *
race_worker(void *arg)
{
    Shared *s = arg;

    for (;;) {
        char reply[256];
        char *sp;
        int fd;

        pthread_mutex_lock(&s->lock);
        if (s->budget <= 0) {
            pthread_mutex_unlock(&s->lock);
            break;
        }
        s->budget--;
        pthread_mutex_unlock(&s->lock);

        fd = bounded_socket(AF_INET);
        if (fd < 0) {
            count_err(s, errno);
            continue;
        }
        /* the kernel and the agent read the sockaddr the flipper writes */
        if (connect(fd, (struct sockaddr *)&s->ss, sizeof(struct sockaddr_in)) <
            0) {
            count_err(s, errno);
            close(fd);
            continue;
        }
        if (read_short(fd, reply, sizeof reply) < 0) {
            count_err(s, errno ? errno : EIO);
            close(fd);
            continue;
        }
        close(fd);
        sp = strchr(reply, ' ');
        if (sp != NULL)
            *sp = '\0';
        count_tag(s, reply);
    }
    return NULL;
}

/* race ALLOWED FORBIDDEN PORT ITERATIONS [THREADS] (IPv4 only: the flip
 * must be a single atomic store). */
static int
cmd_race(int argc, char **argv)
{
    static Shared s = { .lock = PTHREAD_MUTEX_INITIALIZER };
    struct sockaddr_storage tmp;
    pthread_t flip;
    pthread_t th[64];
    long nthreads = 2;
    long attempts;

    if (argc != 5 && argc != 6)
        usage();
    if (parse_addr(argv[1], argv[3], &tmp) != sizeof(struct sockaddr_in))
        usage();
    race_addr[0] = ((struct sockaddr_in *)&tmp)->sin_addr.s_addr;
    if (parse_addr(argv[2], argv[3], &s.ss) != sizeof(struct sockaddr_in))
        usage();
    race_addr[1] = ((struct sockaddr_in *)&s.ss)->sin_addr.s_addr;
    attempts = s.budget = num(argv[4]);
    if (argc == 6)
        nthreads = num(argv[5]);
    if (nthreads < 1 || nthreads > 64)
        usage();
    pthread_create(&flip, NULL, race_flipper, &s);
    for (long i = 0; i < nthreads; i++)
        pthread_create(&th[i], NULL, race_worker, &s);
    for (long i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    s.stop = 1;
    pthread_join(flip, NULL);
    out("race.attempts=%ld", attempts);
    out("race.ok=%ld", s.ok);
    out("race.failed=%ld", s.failed);
    for (int i = 0; i < MAX_TAGS && s.tags[i][0]; i++)
        out("race.tag.%s=%ld", s.tags[i], s.tag_count[i]);
    print_errors(&s);
    return 0;
}

/* exec-check ADDR PORT: four sockets with different close-on-exec
 * histories, connected, then execve of ourselves to see which survive. */
static int
cmd_exec_check(int argc, char **argv)
{
    static const struct {
        const char *name;
        int sock_cloexec; /* SOCK_CLOEXEC at socket() */
        int setfd;        /* -1: no fcntl, else F_SETFD value */
    } kinds[] = {
        { "A", 1, -1 },         /* created close-on-exec */
        { "B", 0, -1 },         /* inheritable */
        { "C", 0, FD_CLOEXEC }, /* made close-on-exec before connect */
        { "D", 1, 0 },          /* made inheritable before connect */
    };
    struct sockaddr_storage ss;
    socklen_t sl;
    char *nargv[8];
    char args[4][160];
    int n = 0;

    if (argc != 3)
        usage();
    sl = parse_addr(argv[1], argv[2], &ss);
    nargv[n++] = "sbclient";
    nargv[n++] = "exec-report";
    for (int i = 0; i < 4; i++) {
        char local[128];
        char reply[256];
        int fd =
            socket(ss.ss_family,
                   SOCK_STREAM | (kinds[i].sock_cloexec ? SOCK_CLOEXEC : 0), 0);

        if (fd < 0) {
            out("%s.socket=%s", kinds[i].name, ename(errno));
            return 1;
        }
        if (kinds[i].setfd >= 0)
            fcntl(fd, F_SETFD, kinds[i].setfd);
        if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
            out("%s.connect=%s", kinds[i].name, ename(errno));
            return 1;
        }
        out("%s.connect=ok", kinds[i].name);
        out("%s.local=%s", kinds[i].name,
            sock_name(fd, 0, local, sizeof local));
        out("%s.FD_CLOEXEC=%d", kinds[i].name,
            (fcntl(fd, F_GETFD) & FD_CLOEXEC) ? 1 : 0);
        if (read_short(fd, reply, sizeof reply) > 0)
            out("%s.reply=%s", kinds[i].name, reply);
        snprintf(args[i], sizeof args[i], "%s=%d:%s", kinds[i].name, fd, local);
        nargv[n++] = args[i];
    }
    nargv[n] = NULL;
    execv("/proc/self/exe", nargv);
    out("execv=%s", ename(errno));
    return 1;
}

/* exec-report NAME=FD:LOCAL...: which fds survived, still the same
 * connected socket? */
static int
cmd_exec_report(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        char name[16];
        char local[128];
        char now[128];
        int fd;

        if (sscanf(argv[i], "%15[^=]=%d:%127s", name, &fd, local) != 3)
            usage();
        if (fcntl(fd, F_GETFD) < 0) {
            out("%s.open=0", name);
            continue;
        }
        out("%s.open=1", name);
        out("%s.same=%d", name,
            strcmp(sock_name(fd, 0, now, sizeof now), local) == 0);
    }
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        { "tcp-connect", cmd_tcp_connect },
        { "udp-connect", cmd_udp_connect },
        { "serve-tcp", cmd_serve_tcp },
        { "serve-udp", cmd_serve_udp },
        { "grab", cmd_grab },
        { "storm", cmd_storm },
        { "race", cmd_race },
        { "exec-check", cmd_exec_check },
        { "exec-report", cmd_exec_report },
    };

    if (argc < 2)
        usage();
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    usage();
    return 2;
}
