/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tinyhttpd.c: the smallest HTTP/1.0 server that does not limit a
 * connection-rate benchmark.
 *
 * Theory of operation: one epoll loop, non-blocking sockets, a listen
 * backlog of 4096.  Each connection's request is read until the blank line,
 * answered with a fixed 200 response, and closed.  busybox httpd forks per
 * connection and measures fork(), not the network path; nginx needs writable
 * state directories that a rootless namespace does not have.
 *
 * Usage: tinyhttpd [ADDR] PORT  (default ADDR 0.0.0.0; "::" for IPv6).
 * Runs until killed.  Only for benchmarks and tests.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char response[] = "HTTP/1.0 200 OK\r\n"
                               "Content-Type: text/plain\r\n"
                               "Content-Length: 6\r\n"
                               "Connection: close\r\n"
                               "\r\n"
                               "hello\n";

/* Open the listening socket; exits on error. */
static int
listen_on(const char *addr, int port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int one = 1, fd;

    memset(&ss, 0, sizeof ss);
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((unsigned short)port);
        if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
            goto bad;
        len = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((unsigned short)port);
        if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
            goto bad;
        len = sizeof *s4;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 4096) < 0) {
        perror("tinyhttpd: listen");
        exit(1);
    }
    return fd;
bad:
    fprintf(stderr, "tinyhttpd: bad address %s\n", addr);
    exit(1);
}

int
main(int argc, char **argv)
{
    const char *addr = argc > 2 ? argv[1] : "0.0.0.0";
    int port = atoi(argv[argc > 2 ? 2 : 1 < argc ? 1 : 0]);
    struct epoll_event ev, evs[256];
    int lfd, ep;

    if (argc < 2 || port <= 0 || port > 65535) {
        fprintf(stderr, "usage: tinyhttpd [ADDR] PORT\n");
        return 2;
    }
    lfd = listen_on(addr, port);
    ep = epoll_create1(EPOLL_CLOEXEC);
    ev.events = EPOLLIN;
    ev.data.fd = lfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL,
                                    SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    ev.events = EPOLLIN;
                    ev.data.fd = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                }
                continue;
            }
            char buf[4096];
            ssize_t r = read(fd, buf, sizeof buf);
            if (r < 0 && errno == EAGAIN)
                continue;
            /* One read holds a benchmark's whole request. */
            if (r > 0)
                (void)!write(fd, response, sizeof response - 1);
            close(fd);
        }
    }
}
