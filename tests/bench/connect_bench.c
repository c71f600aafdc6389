/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * connect_bench: the micro-benchmark of bench-bypass.sh, plus the tiny
 * servers it measures against.
 *
 * Theory of operation: the cost of a trapped connect() is the difference
 * between the same socket+connect+close loop run with and without the
 * seccomp filter of `slirpbypass exec` (bypassed, or answered CONTINUE),
 * so the loop must do nothing else: blocking TCP, no data, close at once.
 * `run` times ROUNDS batches of N iterations with CLOCK_MONOTONIC and
 * prints the median per-iteration time in microseconds.  `serve` is an
 * accept-and-close loop; `http` answers every request with a fixed
 * HTTP/1.0 response and closes (for ab with keep-alive off); both use a
 * few threads on one listening socket.
 *
 *   connect_bench run ADDR PORT N [ROUNDS]   -> "per_op_us=12.34"
 *   connect_bench serve ADDR PORT [SECONDS]
 *   connect_bench http ADDR PORT [SECONDS]
 * Exit status: 0 ok, 1 an operation failed, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SERVER_THREADS 4

static void
usage(void)
{
    fprintf(stderr, "usage: connect_bench run ADDR PORT N [ROUNDS]\n"
                    "       connect_bench serve|http ADDR PORT [SECONDS]\n");
    exit(2);
}

/* ADDR PORT -> sockaddr; exit 2 if invalid. */
static socklen_t
parse(const char *addr, const char *port, struct sockaddr_storage *ss)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    int p = atoi(port);

    memset(ss, 0, sizeof *ss);
    if (p <= 0 || p > 65535)
        usage();
    if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((unsigned short)p);
        return sizeof *s4;
    }
    if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((unsigned short)p);
        return sizeof *s6;
    }
    usage();
    return 0;
}

static double
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* run ADDR PORT N [ROUNDS] */
static int
cmd_run(int argc, char **argv)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    long n, rounds = 5;
    double per[64];

    if (argc < 4 || argc > 5)
        usage();
    sl = parse(argv[1], argv[2], &ss);
    n = atol(argv[3]);
    if (argc == 5)
        rounds = atol(argv[4]);
    if (n <= 0 || rounds <= 0 || rounds > 64)
        usage();
    for (long r = 0; r < rounds; r++) {
        double t0 = now_us();

        for (long i = 0; i < n; i++) {
            int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

            if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) < 0) {
                printf("error=%s\n", strerror(errno));
                return 1;
            }
            close(fd);
        }
        per[r] = (now_us() - t0) / (double)n;
    }
    qsort(per, (size_t)rounds, sizeof per[0], cmp_double);
    printf("per_op_us=%.2f\n", per[rounds / 2]);
    return 0;
}

static int listen_fd = -1;
static int http_mode;

static void *
server_thread(void *arg)
{
    static const char resp[] = "HTTP/1.0 200 OK\r\n"
                               "Content-Type: text/plain\r\n"
                               "Content-Length: 6\r\n\r\nhello\n";

    (void)arg;
    for (;;) {
        char buf[2048];
        size_t used = 0;
        int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
                continue;
            return NULL;
        }
        if (http_mode) {
            /* read the request head, answer, close (no keep-alive) */
            while (used < sizeof buf - 1) {
                ssize_t r = read(c, buf + used, sizeof buf - 1 - used);

                if (r <= 0)
                    break;
                used += (size_t)r;
                buf[used] = '\0';
                if (strstr(buf, "\r\n\r\n") != NULL) {
                    if (write(c, resp, sizeof resp - 1) < 0)
                        break;
                    break;
                }
            }
        }
        close(c);
    }
}

/* serve|http ADDR PORT [SECONDS] */
static int
cmd_serve(int argc, char **argv, int http)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    pthread_t th[SERVER_THREADS];
    int one = 1;

    if (argc < 3 || argc > 4)
        usage();
    sl = parse(argv[1], argv[2], &ss);
    http_mode = http;
    signal(SIGPIPE, SIG_IGN);
    listen_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd < 0)
        return 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(listen_fd, (struct sockaddr *)&ss, sl) < 0 ||
        listen(listen_fd, 4096) < 0) {
        printf("bind=%s\n", strerror(errno));
        return 1;
    }
    /* default SIGALRM action ends the process: a bounded lifetime */
    alarm(argc == 4 ? (unsigned)atoi(argv[3]) : 600);
    printf("listening\n");
    fflush(stdout);
    for (int i = 0; i < SERVER_THREADS; i++)
        pthread_create(&th[i], NULL, server_thread, NULL);
    for (int i = 0; i < SERVER_THREADS; i++)
        pthread_join(th[i], NULL);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(argv[1], "serve") == 0)
        return cmd_serve(argc - 1, argv + 1, 0);
    if (strcmp(argv[1], "http") == 0)
        return cmd_serve(argc - 1, argv + 1, 1);
    usage();
    return 2;
}
