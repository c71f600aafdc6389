/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * reaim.c: a hostile container program, and the Fast Open server and
 * client it is measured against (tests/plugin/test-bypass-fastopen.sh).
 *
 * Theory of operation.  A process under the bypass gets a host-namespace
 * socket for every bypassed connect().  Each "attack" mode below first
 * obtains one (a connect to ALLOWED that the agent bypasses), then tries to
 * aim it at TARGET by a path the agent does not see or cannot check: Fast
 * Open sends after connect(AF_UNSPEC), after a failed attempt or after
 * shutdown() while connecting, TCP_FASTOPEN_CONNECT, a dup2() race against
 * a connect() the agent answers CONTINUE, and i386 socketcall(SYS_SENDTO).
 * It prints KEY=VALUE lines (errno names) of every step; whether TARGET
 * was reached is decided by the TARGET server's log, not by this program.
 *
 *   reaim server ADDR PORT [--timeout S]
 *       Fast Open server (TCP_FASTOPEN queue 16): one line
 *       "accepted=PEER syn_data=0|1 data=..." per connection.
 *   reaim client ADDR PORT [--no-cookie] [--data S]
 *       one Fast Open sendto() from a fresh socket (the host's control);
 *       prints sent= and reply/peer lines.
 *   reaim attack MODE ALLOWED_ADDR ALLOWED_PORT TARGET_ADDR TARGET_PORT
 *       [--no-cookie] [--tries N] [--seconds S]
 *       MODE: unspec-sendto unspec-sendmsg unspec-sendmmsg failed-sendto
 *             shutdown-sendto fastopen-connect race i386-sendto options
 *             mptcp stall (TARGET never answers: the agent must never wait
 *             on a socket the program shares)
 *             failed-reconnect (ALLOWED_PORT closed: the kernel's answers
 *             for connect() after a failed non-blocking attempt)
 *
 * Exit status: 0 when the steps ran (whatever they answered), 2 usage.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef TCP_FASTOPEN_CONNECT
#define TCP_FASTOPEN_CONNECT 30
#endif
#ifndef TCP_FASTOPEN_NO_COOKIE
#define TCP_FASTOPEN_NO_COOKIE 34
#endif
#ifndef TCPI_OPT_SYN_DATA
#define TCPI_OPT_SYN_DATA 32
#endif

#include "client_util.h"

static int no_cookie;

static void
usage(void)
{
    fprintf(stderr,
            "usage: reaim server ADDR PORT [--timeout S]\n"
            "       reaim client ADDR PORT [--no-cookie] [--data S]\n"
            "       reaim attack MODE ALLOWED_ADDR ALLOWED_PORT TARGET_ADDR "
            "TARGET_PORT\n"
            "            [--no-cookie] [--tries N] [--seconds S]\n");
    exit(2);
}

/* Parse ADDR PORT (v4, v6 or v4-mapped v6) into @ss; the length. */
static socklen_t
parse_addr(const char *addr, const char *port, struct sockaddr_storage *ss)
{
    char *end;
    long p = strtol(port, &end, 10);

    memset(ss, 0, sizeof *ss);
    if (*end || p < 0 || p > 65535)
        usage();
    if (strchr(addr, ':') != NULL) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)p);
        if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1)
            usage();
        return sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;

        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)p);
        if (inet_pton(AF_INET, addr, &a->sin_addr) != 1)
            usage();
        return sizeof *a;
    }
}

/* "ADDR:PORT" of @sa (static buffer). */
static const char *
fmt_addr(const struct sockaddr *sa)
{
    static char buf[INET6_ADDRSTRLEN + 8];
    char a[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)sa;

        inet_ntop(AF_INET, &s->sin_addr, a, sizeof a);
        port = ntohs(s->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;

        inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof a);
        port = ntohs(s->sin6_port);
    }
    snprintf(buf, sizeof buf, "%s:%d", a, port);
    return buf;
}

/* The local address of @fd, "ADDR:PORT". */
static const char *
local_of(int fd)
{
    struct sockaddr_storage ss;
    socklen_t l = sizeof ss;

    memset(&ss, 0, sizeof ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &l) < 0)
        return ename(errno);
    return fmt_addr((struct sockaddr *)&ss);
}

/* The TCP state of @fd (TCP_INFO's first byte), -1 if unknown. */
static int
tcp_state(int fd)
{
    struct tcp_info ti;
    socklen_t l = sizeof ti;

    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0)
        return -1;
    return ti.tcpi_state;
}

/* ---- server and control client ---- */

static int
cmd_server(int argc, char **argv)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int fd, one = 1, qlen = 16;
    long timeout = 300;
    time_t end;

    if (argc < 3)
        usage();
    sl = parse_addr(argv[1], argv[2], &ss);
    for (int i = 3; i + 1 < argc; i += 2)
        if (!strcmp(argv[i], "--timeout"))
            timeout = atol(argv[i + 1]);
        else
            usage();
    fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(fd, (struct sockaddr *)&ss, sl) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof qlen) < 0 ||
        listen(fd, 64) < 0) {
        out("server=%s", ename(errno));
        return 1;
    }
    out("listening=%s", fmt_addr((struct sockaddr *)&ss));
    end = time(NULL) + timeout;
    while (time(NULL) < end) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        struct sockaddr_storage peer;
        socklen_t pl = sizeof peer;
        struct tcp_info ti;
        socklen_t tl = sizeof ti;
        char data[64] = "";
        int c;
        ssize_t n;

        if (poll(&p, 1, 1000) != 1)
            continue;
        c = accept(fd, (struct sockaddr *)&peer, &pl);
        if (c < 0)
            continue;
        memset(&ti, 0, sizeof ti);
        getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &tl);
        /* with Fast Open the data is there before the handshake ends */
        p.fd = c;
        if (poll(&p, 1, 200) == 1) {
            n = recv(c, data, sizeof data - 1, MSG_DONTWAIT);
            data[n > 0 ? n : 0] = '\0';
            for (char *s = data; *s; s++)
                if (*s < 0x21 || *s > 0x7e)
                    *s = '_';
        }
        out("accepted=%s syn_data=%d data=%s",
            fmt_addr((struct sockaddr *)&peer),
            (ti.tcpi_options & TCPI_OPT_SYN_DATA) ? 1 : 0, data);
        (void)!write(c, "SRV\n", 4);
        close(c);
    }
    return 0;
}

/* Set TCP_FASTOPEN_NO_COOKIE on @fd if asked; prints its result. */
static void
maybe_no_cookie(int fd)
{
    int one = 1;

    if (no_cookie)
        out("no_cookie=%s", setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE,
                                       &one, sizeof one) < 0
                                ? ename(errno)
                                : "ok");
}

static int
cmd_client(int argc, char **argv)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    const char *data = "CTRL";
    char buf[32] = "";
    int fd;
    ssize_t n;
    struct pollfd p;

    if (argc < 3)
        usage();
    sl = parse_addr(argv[1], argv[2], &ss);
    for (int i = 3; i < argc; i++)
        if (!strcmp(argv[i], "--no-cookie"))
            no_cookie = 1;
        else if (!strcmp(argv[i], "--data") && i + 1 < argc)
            data = argv[++i];
        else
            usage();
    fd = socket(ss.ss_family, SOCK_STREAM, 0);
    maybe_no_cookie(fd);
    n = sendto(fd, data, strlen(data), MSG_FASTOPEN, (struct sockaddr *)&ss,
               sl);
    out("sent=%s", n >= 0 ? "ok" : ename(errno));
    p = (struct pollfd){ .fd = fd, .events = POLLIN };
    if (n >= 0 && poll(&p, 1, 2000) == 1) {
        n = read(fd, buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        out("reply=%s", buf);
    }
    close(fd);
    return 0;
}

/* ---- attacks ---- */

typedef struct {
    struct sockaddr_storage allowed, target;
    socklen_t allowed_len, target_len;
    long tries;
    long seconds;
} Attack;

/*
 * host_socket: a socket connected (blocking) to the allowed destination,
 * which the agent bypasses: it is a host socket now.  Prints
 * PREFIX_connect= and PREFIX_local=.  Returns the fd or -1.
 */
static int
host_socket(const Attack *a, const char *prefix, int nonblock)
{
    int fd = socket(a->allowed.ss_family,
                    SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
    int r = connect(fd, (const struct sockaddr *)&a->allowed, a->allowed_len);

    out("%s_connect=%s", prefix, r == 0 ? "ok" : ename(errno));
    out("%s_local=%s", prefix, local_of(fd));
    return fd;
}

/* connect(AF_UNSPEC): the agent performs it on the host socket. */
static void
unspec(int fd)
{
    struct sockaddr sa = { .sa_family = AF_UNSPEC };

    out("unspec=%s", connect(fd, &sa, sizeof sa) == 0 ? "ok" : ename(errno));
}

/* One Fast Open send of "ATTACK" to the target through @how. */
static void
fastopen_send(const Attack *a, int fd, const char *how)
{
    char data[] = "ATTACK";
    struct iovec iov = { .iov_base = data, .iov_len = sizeof data - 1 };
    struct msghdr mh = { .msg_name = (void *)&a->target,
                         .msg_namelen = a->target_len,
                         .msg_iov = &iov,
                         .msg_iovlen = 1 };
    struct mmsghdr mm = { .msg_hdr = mh };
    long r;

    maybe_no_cookie(fd);
    if (!strcmp(how, "sendmsg"))
        r = sendmsg(fd, &mh, MSG_FASTOPEN | MSG_DONTWAIT);
    else if (!strcmp(how, "sendmmsg"))
        r = sendmmsg(fd, &mm, 1, MSG_FASTOPEN | MSG_DONTWAIT);
    else
        r = sendto(fd, data, sizeof data - 1, MSG_FASTOPEN | MSG_DONTWAIT,
                   (const struct sockaddr *)&a->target, a->target_len);
    out("%s=%s", how, r >= 0 ? "ok" : ename(errno));
}

/* Wait up to 2 s for @fd's connect to finish; its SO_ERROR as a name. */
static const char *
wait_connect(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    int err = 0;
    socklen_t l = sizeof err;

    if (poll(&p, 1, 2000) != 1)
        return "pending";
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
    return err == 0 ? "ok" : ename(err);
}

/* The dup2 race: see attack_race(). */
typedef struct {
    int slot, host, ctr;
    volatile int stop;
} Race;

static void *
race_swapper(void *p)
{
    Race *r = p;

    while (!r->stop) {
        dup2(r->host, r->slot);
        dup2(r->ctr, r->slot);
    }
    return NULL;
}

/*
 * attack_race: fd SLOT flips between a container socket and an unconnected
 * host socket while this thread connects SLOT to the target, which the
 * policy denies (the container's own loopback, or an ignored network): the
 * agent checks the container socket and answers CONTINUE, and when the swap
 * lands in between, the kernel's connect() runs on the host socket.  A
 * host socket the kernel started connecting is counted (race_won), and
 * counted again if that connection was established within 300 ms
 * (race_reached), then replaced.  Bounded by --tries and --seconds.
 */
static void
attack_race(const Attack *a)
{
    long won = 0, reached = 0, tries = 0;
    time_t end = time(NULL) + a->seconds;
    Race r = { .stop = 0 };
    pthread_t th;

    r.host = host_socket(a, "race_setup", 0);
    unspec(r.host);
    /* a connect the kernel runs on it must not block this thread */
    fcntl(r.host, F_SETFL, O_NONBLOCK);
    r.ctr = socket(a->target.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    r.slot = dup(r.ctr);
    pthread_create(&th, NULL, race_swapper, &r);
    while (tries < a->tries && time(NULL) < end) {
        int st;

        tries++;
        (void)connect(r.slot, (const struct sockaddr *)&a->target,
                      a->target_len);
        st = tcp_state(r.host);
        if (st > 0 && st != 7 /* TCP_CLOSE */) {
            struct pollfd p = { .fd = r.host, .events = POLLOUT };
            int fresh;

            won++;
            /* did that connection get anywhere? */
            if (poll(&p, 1, 300) == 1 &&
                tcp_state(r.host) == 1 /* ESTABLISHED */)
                reached++;
            /* the kernel connected the host socket: get another one */
            r.stop = 1;
            pthread_join(th, NULL);
            fresh = host_socket(a, "race_setup", 0);
            unspec(fresh);
            fcntl(fresh, F_SETFL, O_NONBLOCK);
            dup2(fresh, r.host);
            close(fresh);
            r.stop = 0;
            pthread_create(&th, NULL, race_swapper, &r);
        }
        /* the container socket: back to unconnected for the next try */
        st = tcp_state(r.ctr);
        if (st > 0 && st != 7) {
            int fresh =
                socket(a->target.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);

            dup2(fresh, r.ctr);
            close(fresh);
        }
    }
    r.stop = 1;
    pthread_join(th, NULL);
    out("race_tries=%ld", tries);
    out("race_won=%ld", won);
    out("race_reached=%ld", reached);
}

#if defined(__x86_64__)
/* i386 socketcall(call, args) through int 0x80 from 64-bit code. */
static long
i386_socketcall(long call, unsigned int args)
{
    long r;

    __asm__ volatile("int $0x80"
                     : "=a"(r)
                     : "a"(102L), "b"(call), "c"((long)args)
                     : "memory");
    return r;
}
#endif

/* socketcall(SYS_SENDTO) with MSG_FASTOPEN on @fd (arguments and data in
 * memory below 4 GiB, as 32-bit code has them). */
static void
i386_sendto(const Attack *a, int fd)
{
#if defined(__x86_64__)
    char *low = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    unsigned int *args;
    long r;

    if (low == MAP_FAILED) {
        out("i386_sendto=%s", ename(errno));
        return;
    }
    if (a->target.ss_family != AF_INET) {
        out("i386_sendto=skipped");
        return;
    }
    maybe_no_cookie(fd);
    memcpy(low + 64, &a->target, a->target_len);
    memcpy(low + 256, "ATTACK", 6);
    args = (unsigned int *)low;
    args[0] = (unsigned int)fd;
    args[1] = (unsigned int)(unsigned long)(low + 256);
    args[2] = 6;
    args[3] = MSG_FASTOPEN | MSG_DONTWAIT;
    args[4] = (unsigned int)(unsigned long)(low + 64);
    args[5] = a->target_len;
    r = i386_socketcall(11 /* SYS_SENDTO */, (unsigned int)(unsigned long)low);
    out("i386_sendto=%s", r >= 0 ? "ok" : ename((int)-r));
    munmap(low, 8192);
#else
    (void)a, (void)fd;
    out("i386_sendto=unsupported");
#endif
}

/* The agent-stall race: see attack_stall(). */
typedef struct {
    int fd;
    char *low; /* socketcall arguments, below 4 GiB */
    long tries;
    volatile int stop, probing, stalled;
    volatile double probe_start;
} Stall;

static double
mono(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* B: trapped connects on the host socket, which the agent answers from
 * its own copy (probe_closed() while the socket is closed). */
static void *
stall_prober(void *p)
{
    Stall *st = p;
    struct sockaddr_in d = { .sin_family = AF_INET, .sin_port = htons(1) };

    inet_pton(AF_INET, "127.0.0.1", &d.sin_addr);
    while (!st->stop)
        (void)connect(st->fd, (struct sockaddr *)&d, sizeof d);
    return NULL;
}

#if defined(__x86_64__)
/* socketcall(call, args) with the registers libseccomp's socketcall
 * translation compares set to 0, so the Fast Open rule never traps it */
static long
i386_socketcall0(long call, unsigned int args)
{
    long r;

    __asm__ volatile("int $0x80"
                     : "=a"(r)
                     : "a"(102L), "b"(call), "c"((long)args), "d"(0L), "S"(0L),
                       "D"(0L)
                     : "memory");
    return r;
}
#endif

/* C: start a Fast Open connection behind the agent's back (untrapped i386
 * socketcall to a destination that never answers), check that a trapped
 * connect of an unrelated socket still returns, shut the socket down. */
static void *
stall_racer(void *p)
{
    Stall *st = p;
    struct sockaddr_in lo = { .sin_family = AF_INET, .sin_port = htons(9) };

    inet_pton(AF_INET, "127.0.0.1", &lo.sin_addr);
    for (long i = 0; i < st->tries && !st->stop; i++) {
        int s;

#if defined(__x86_64__)
        (void)i386_socketcall0(11 /* SYS_SENDTO */,
                               (unsigned int)(unsigned long)st->low);
#endif
        s = socket(AF_INET, SOCK_STREAM, 0);
        st->probe_start = mono();
        st->probing = 1;
        (void)connect(s, (struct sockaddr *)&lo, sizeof lo);
        st->probing = 0;
        close(s);
        if (st->stalled)
            break;
        shutdown(st->fd, SHUT_RDWR);
    }
    return NULL;
}

/*
 * attack_stall: the agent answers a connect() on a closed host socket from
 * its own copy of it, whose file the program shares; if another thread
 * starts a connection on it in between (here: an untrapped i386 Fast Open
 * socketcall to a destination that never answers), a blocking copy waits
 * for the handshake, and with it the whole agent (and libslirp, on the
 * same loop).  ALLOWED is bypassed, TARGET never answers.  Prints
 * agent_stalled=1 if a trapped connect of an unrelated socket did not
 * return for 2 s.  Bounded by --tries and --seconds.
 */
static void
attack_stall(const Attack *a)
{
    Stall st = { .tries = a->tries };
    struct sockaddr un = { .sa_family = AF_UNSPEC };
    int syncnt = 127;
    unsigned int *args;
    pthread_t b, c;
    double start;

    st.fd = host_socket(a, "setup", 0);
    out("unspec=%s", connect(st.fd, &un, sizeof un) == 0 ? "ok" : ename(errno));
    setsockopt(st.fd, IPPROTO_TCP, TCP_SYNCNT, &syncnt, sizeof syncnt);
    st.low = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (st.low == MAP_FAILED || a->target.ss_family != AF_INET) {
        out("agent_stalled=skipped");
        return;
    }
    memcpy(st.low + 64, &a->target, a->target_len);
    memcpy(st.low + 256, "X", 1);
    args = (unsigned int *)st.low;
    args[0] = (unsigned int)st.fd;
    args[1] = (unsigned int)(unsigned long)(st.low + 256);
    args[2] = 1;
    args[3] = MSG_FASTOPEN | MSG_DONTWAIT;
    args[4] = (unsigned int)(unsigned long)(st.low + 64);
    args[5] = a->target_len;
    pthread_create(&b, NULL, stall_prober, &st);
    pthread_create(&c, NULL, stall_racer, &st);
    start = mono();
    while (mono() - start < (double)a->seconds) {
        usleep(20000);
        if (st.probing && mono() - st.probe_start > 2.0) {
            st.stalled = 1;
            break;
        }
    }
    out("agent_stalled=%d", st.stalled);
    /* a stalled agent never answers the threads' calls: leave them */
    if (st.stalled)
        _exit(0);
    st.stop = 1;
    pthread_join(c, NULL);
    pthread_join(b, NULL);
}

static int
cmd_attack(int argc, char **argv)
{
    Attack a = { .tries = 2000, .seconds = 10 };
    const char *mode;
    int fd, one = 1, r;

    if (argc < 6)
        usage();
    mode = argv[1];
    a.allowed_len = parse_addr(argv[2], argv[3], &a.allowed);
    a.target_len = parse_addr(argv[4], argv[5], &a.target);
    for (int i = 6; i < argc; i++)
        if (!strcmp(argv[i], "--no-cookie"))
            no_cookie = 1;
        else if (!strcmp(argv[i], "--tries") && i + 1 < argc)
            a.tries = atol(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            a.seconds = atol(argv[++i]);
        else
            usage();

    if (!strncmp(mode, "unspec-", 7)) {
        fd = host_socket(&a, "setup", 0);
        unspec(fd);
        fastopen_send(&a, fd, mode + 7);
        fastopen_send(&a, fd, mode + 7);
    } else if (!strcmp(mode, "failed-sendto")) {
        /* ALLOWED_PORT is closed: EINPROGRESS, then refused */
        fd = host_socket(&a, "setup", 1);
        out("setup_result=%s", wait_connect(fd));
        fastopen_send(&a, fd, "sendto"); /* the kernel: the error first */
        fastopen_send(&a, fd, "sendto");
    } else if (!strcmp(mode, "shutdown-sendto")) {
        /* ALLOWED never answers: still connecting when shut down, which
         * makes the socket unconnected again without any trapped call */
        fd = host_socket(&a, "setup", 1);
        out("setup_state=%d", tcp_state(fd));
        out("shutdown=%s", shutdown(fd, SHUT_RDWR) == 0 ? "ok" : ename(errno));
        out("after_shutdown_state=%d", tcp_state(fd));
        fastopen_send(&a, fd, "sendto");
        r = connect(fd, (const struct sockaddr *)&a.target, a.target_len);
        out("then_connect=%s", r == 0 ? "ok" : ename(errno));
    } else if (!strcmp(mode, "fastopen-connect")) {
        fd = host_socket(&a, "setup", 0);
        unspec(fd);
        out("fastopen_connect=%s",
            setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one,
                       sizeof one) < 0
                ? ename(errno)
                : "ok");
        maybe_no_cookie(fd);
        r = connect(fd, (const struct sockaddr *)&a.target, a.target_len);
        out("then_connect=%s", r == 0 ? "ok" : ename(errno));
        r = (int)write(fd, "ATTACK", 6);
        out("write=%s", r >= 0 ? "ok" : ename(errno));
        /* and on a fresh container socket: refused as well */
        r = socket(a.target.ss_family, SOCK_STREAM, 0);
        out("fresh_fastopen_connect=%s",
            setsockopt(r, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof one) <
                    0
                ? ename(errno)
                : "ok");
    } else if (!strcmp(mode, "race")) {
        attack_race(&a);
    } else if (!strcmp(mode, "stall")) {
        attack_stall(&a);
    } else if (!strcmp(mode, "i386-sendto")) {
        fd = host_socket(&a, "setup", 0);
        unspec(fd);
        i386_sendto(&a, fd);
        i386_sendto(&a, fd);
    } else if (!strcmp(mode, "options")) {
        /* the socket options that could move a host socket's traffic
         * elsewhere: privileged in the host namespace, or overridden by
         * the interface lock; then a Fast Open connect the kernel runs
         * itself (i386 socketcall) with them set */
        int lo = 1, zero = 0;

        fd = host_socket(&a, "setup", 0);
        out("opt_TCP_REPAIR=%s",
            setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &one, sizeof one) < 0
                ? ename(errno)
                : "ok");
        out("opt_SO_MARK=%s",
            setsockopt(fd, SOL_SOCKET, SO_MARK, &one, sizeof one) < 0
                ? ename(errno)
                : "ok");
        out("opt_SO_BINDTOIFINDEX=%s",
            setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &zero, sizeof zero) < 0
                ? ename(errno)
                : "ok");
        out("opt_SO_BINDTODEVICE=%s",
            setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3) < 0
                ? ename(errno)
                : "ok");
        unspec(fd);
        if (a.allowed.ss_family == AF_INET) {
            out("opt_IP_TRANSPARENT=%s",
                setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof one) < 0
                    ? ename(errno)
                    : "ok");
            lo = htonl(1);
            out("opt_IP_UNICAST_IF=%s",
                setsockopt(fd, IPPROTO_IP, IP_UNICAST_IF, &lo, sizeof lo) < 0
                    ? ename(errno)
                    : "ok");
        } else {
            out("opt_IP_TRANSPARENT=%s",
                setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one,
                           sizeof one) < 0
                    ? ename(errno)
                    : "ok");
            out("opt_IP_UNICAST_IF=%s",
                setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_IF, &lo, sizeof lo) <
                        0
                    ? ename(errno)
                    : "ok");
        }
        out("opt_SO_DONTROUTE=%s",
            setsockopt(fd, SOL_SOCKET, SO_DONTROUTE, &one, sizeof one) < 0
                ? ename(errno)
                : "ok");
        i386_sendto(&a, fd);
    } else if (!strcmp(mode, "mptcp")) {
        /* SOCK_STREAM with IPPROTO_MPTCP is not TCP: never bypassed */
        fd = socket(a.allowed.ss_family, SOCK_STREAM, 262 /* IPPROTO_MPTCP */);
        if (fd < 0) {
            out("mptcp=%s", ename(errno));
        } else {
            r = connect(fd, (const struct sockaddr *)&a.allowed, a.allowed_len);
            out("mptcp_connect=%s", r == 0 ? "ok" : ename(errno));
            out("mptcp_local=%s", local_of(fd));
        }
    } else if (!strcmp(mode, "failed-reconnect")) {
        /* ALLOWED_PORT is closed; SO_ERROR is not read in between */
        struct pollfd p;

        fd = socket(a.allowed.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
        r = connect(fd, (const struct sockaddr *)&a.allowed, a.allowed_len);
        out("first=%s", r == 0 ? "ok" : ename(errno));
        out("local=%s", local_of(fd));
        p = (struct pollfd){ .fd = fd, .events = POLLOUT };
        out("poll=%d", poll(&p, 1, 2000));
        r = connect(fd, (const struct sockaddr *)&a.allowed, a.allowed_len);
        out("second=%s", r == 0 ? "ok" : ename(errno));
        r = connect(fd, (const struct sockaddr *)&a.allowed, a.allowed_len);
        out("third=%s", r == 0 ? "ok" : ename(errno));
    } else {
        usage();
    }
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    if (!strcmp(argv[1], "server"))
        return cmd_server(argc - 1, argv + 1);
    if (!strcmp(argv[1], "client"))
        return cmd_client(argc - 1, argv + 1);
    if (!strcmp(argv[1], "attack"))
        return cmd_attack(argc - 1, argv + 1);
    usage();
    return 2;
}
