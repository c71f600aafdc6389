/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hostile.c: the odd and hostile calls of test-bypass-hostile.sh, one case
 * per run: `hostile CASE ADDR PORT`.
 *
 * Theory of operation: each case makes one call that the bypass filter
 * traps (connect, bind, listen) with arguments no ordinary program passes,
 * and prints "result=ok" or "result=ERRNO" (plus case-specific lines).  The
 * test runs every case twice in the container, once plain and once under
 * `slirpbypass exec`, and requires the same answer: the agent must give
 * the kernel's own answer (or let the kernel give it), never crash, hang
 * or bypass what it must not.  ADDR:PORT is an allowed IPv4 destination
 * with a server (so a wrongly bypassed call would succeed).
 *
 * Cases:
 *   unmapped    connect() with a sockaddr pointer to unmapped memory
 *   hugelen     connect() with addrlen 0x7fffffff
 *   zerolen     connect() with addrlen 0
 *   negfd       connect() on fd -1
 *   badfd       connect() on a closed fd number
 *   pipe        connect() and bind() on a pipe (not a socket)
 *   file        connect() on a regular file
 *   unix        AF_UNIX stream connect() to an abstract name nobody uses
 *   netlink     AF_NETLINK connect() to the kernel, then a route dump
 *   packet      AF_PACKET bind() to lo
 *   raw         AF_INET raw ICMP socket connect() to ADDR
 *   nested      connect() from a new user+network namespace of our own
 *   shortsin    connect() with an AF_INET sockaddr of 4 bytes
 *   mixfamily   an AF_INET6 socket connect()ing with an AF_INET sockaddr
 *   listen-tcp  listen() on an unbound TCP socket (binds a free port)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "client_util.h"

/* result: print the outcome of a call that returned @r. */
static void
result(const char *key, long r)
{
    out("%s=%s", key, r == 0 ? "ok" : ename(errno));
}

/* the destination ADDR:PORT */
static struct sockaddr_in dst;

/* tcp: a fresh TCP socket. */
static int
tcp(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0) {
        out("socket=%s", ename(errno));
        exit(1);
    }
    return fd;
}

/* raw_connect: connect() through the raw syscall (no libc checks). */
static long
raw_connect(long fd, const void *sa, long len)
{
    return syscall(SYS_connect, fd, sa, len);
}

int
main(int argc, char **argv)
{
    const char *c;
    int fd, p[2];

    if (argc != 4) {
        fprintf(stderr, "usage: hostile CASE ADDR PORT\n");
        return 2;
    }
    c = argv[1];
    dst.sin_family = AF_INET;
    dst.sin_port = htons((uint16_t)atoi(argv[3]));
    if (inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1) {
        fprintf(stderr, "hostile: bad address %s\n", argv[2]);
        return 2;
    }
    if (strcmp(c, "unmapped") == 0) {
        void *page =
            mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        result("result", raw_connect(tcp(), page, sizeof dst));
    } else if (strcmp(c, "hugelen") == 0) {
        result("result", raw_connect(tcp(), &dst, 0x7fffffffL));
    } else if (strcmp(c, "zerolen") == 0) {
        result("result", raw_connect(tcp(), &dst, 0));
    } else if (strcmp(c, "negfd") == 0) {
        result("result", raw_connect(-1, &dst, sizeof dst));
    } else if (strcmp(c, "badfd") == 0) {
        fd = tcp();
        close(fd);
        result("result", raw_connect(fd, &dst, sizeof dst));
    } else if (strcmp(c, "pipe") == 0) {
        if (pipe(p) < 0)
            return 1;
        result("result", raw_connect(p[0], &dst, sizeof dst));
        result("bind", bind(p[1], (struct sockaddr *)&dst, sizeof dst));
    } else if (strcmp(c, "file") == 0) {
        fd = open("/proc/self/status", O_RDONLY);
        result("result", raw_connect(fd, &dst, sizeof dst));
    } else if (strcmp(c, "unix") == 0) {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };

        memcpy(sun.sun_path, "\0sb-hostile-nobody", 18);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        result(
            "result",
            connect(fd, (struct sockaddr *)&sun,
                    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 18)));
    } else if (strcmp(c, "netlink") == 0) {
        struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
        struct {
            struct nlmsghdr nh;
            struct rtmsg rt;
        } req = { .nh = { .nlmsg_len = sizeof req,
                          .nlmsg_type = RTM_GETROUTE,
                          .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
                  .rt = { .rtm_family = AF_INET } };
        char buf[8192];

        fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
        result("result", connect(fd, (struct sockaddr *)&nl, sizeof nl));
        out("dump=%s", send(fd, &req, sizeof req, 0) == sizeof req &&
                               recv(fd, buf, sizeof buf, 0) > 0
                           ? "ok"
                           : ename(errno));
    } else if (strcmp(c, "packet") == 0) {
        struct sockaddr_ll ll = { .sll_family = AF_PACKET,
                                  .sll_protocol = htons(0x0003),
                                  .sll_ifindex = (int)if_nametoindex("lo") };

        fd = socket(AF_PACKET, SOCK_RAW, htons(0x0003));
        if (fd < 0)
            result("result", -1);
        else
            result("result", bind(fd, (struct sockaddr *)&ll, sizeof ll));
    } else if (strcmp(c, "raw") == 0) {
        fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
        if (fd < 0)
            result("result", -1);
        else
            result("result", connect(fd, (struct sockaddr *)&dst, sizeof dst));
    } else if (strcmp(c, "nested") == 0) {
        if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
            out("unshare=%s", ename(errno));
            return 1;
        }
        result("result", raw_connect(tcp(), &dst, sizeof dst));
    } else if (strcmp(c, "shortsin") == 0) {
        result("result", raw_connect(tcp(), &dst, 4));
    } else if (strcmp(c, "mixfamily") == 0) {
        fd = socket(AF_INET6, SOCK_STREAM, 0);
        result("result", raw_connect(fd, &dst, sizeof dst));
    } else if (strcmp(c, "listen-tcp") == 0) {
        struct sockaddr_in local;
        socklen_t len = sizeof local;

        fd = tcp();
        result("result", listen(fd, 1));
        /* a free port of the container, never a host socket */
        getsockname(fd, (struct sockaddr *)&local, &len);
        out("bound=%s", local.sin_port != 0 ? "yes" : "no");
    } else {
        fprintf(stderr, "hostile: unknown case %s\n", c);
        return 2;
    }
    return 0;
}
