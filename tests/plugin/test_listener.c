/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_listener.c: unit tests of the OCI listener (listener.c), the raw
 * seccomp ioctl wrappers (notify.c), the fdinfo parser (proc.c),
 * and the agent's handling of notify fds (agent.c, notify.c).
 *
 * Theory of operation: real seccomp notify fds come from a forked child
 * that installs a filter notifying on getppid(2) and sends the fd back
 * over a socketpair; it then makes trapped calls on command, so the
 * wrappers are tested against the kernel, not a mock.  The listener runs
 * on a private GMainContext in this process, so "every fd that came with
 * a rejected message was closed" is checked by counting /proc/self/fd.
 */
#include "agent_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- a child with a notify fd ---- */

typedef struct {
    pid_t pid;
    int ctl;       /* our end of the control socketpair */
    int notify_fd; /* its listener fd, in our process */
} Notifier;

/*
 * send_fds: one sendmsg of @len bytes of @data with @n fds.
 */
static ssize_t
send_fds(int sock, const void *data, size_t len, const int *fds, guint n)
{
    union {
        char buf[CMSG_SPACE(16 * sizeof(int))];
        struct cmsghdr align;
    } ctrl;
    struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

    if (n > 0) {
        struct cmsghdr *cm;

        memset(&ctrl, 0, sizeof ctrl);
        msg.msg_control = ctrl.buf;
        msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
        cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(n * sizeof(int));
        memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
    }
    return sendmsg(sock, &msg, MSG_NOSIGNAL);
}

/*
 * recv_fd: receive one fd (and one byte) from @sock.
 */
static int
recv_fd(int sock)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctrl;
    char byte;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    struct msghdr msg = { .msg_iov = &iov,
                          .msg_iovlen = 1,
                          .msg_control = ctrl.buf,
                          .msg_controllen = sizeof ctrl.buf };
    struct cmsghdr *cm;
    int fd = -1;

    if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0)
        return -1;
    cm = CMSG_FIRSTHDR(&msg);
    if (cm && cm->cmsg_type == SCM_RIGHTS)
        memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    return fd;
}

/*
 * child_main: install the filter, send its fd, then serve commands:
 * 'g': call getppid() and write the result (long); 'i' FD: write
 * st_ino (guint64) and FD_CLOEXEC (int) of FD; EOF: exit.
 */
static void G_GNUC_NORETURN
child_main(int ctl)
{
    scmp_filter_ctx ctx;
    int nfd;
    char cmd;

    /* drop what we inherited (other children's control sockets): their
     * EOF must not depend on us */
    for (int fd = 3; fd < 1024; fd++)
        if (fd != ctl)
            close(fd);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(getppid), 0) ||
        seccomp_load(ctx) || (nfd = seccomp_notify_fd(ctx)) < 0)
        _exit(2);
    if (send_fds(ctl, "n", 1, &nfd, 1) != 1)
        _exit(3);
    close(nfd);
    while (read(ctl, &cmd, 1) == 1) {
        if (cmd == 'g') {
            long r = (long)getppid();

            if (write(ctl, &r, sizeof r) != sizeof r)
                _exit(4);
        } else if (cmd == 'i') {
            int fd;
            struct stat st = { 0 };
            guint64 ino;
            int cloexec;

            if (read(ctl, &fd, sizeof fd) != sizeof fd)
                _exit(5);
            ino = fstat(fd, &st) == 0 ? (guint64)st.st_ino : 0;
            cloexec = fcntl(fd, F_GETFD);
            if (write(ctl, &ino, sizeof ino) != sizeof ino ||
                write(ctl, &cloexec, sizeof cloexec) != sizeof cloexec)
                _exit(6);
        }
    }
    _exit(0);
}

/*
 * notifier_start: fork the child and receive its notify fd.
 */
static void
notifier_start(Notifier *nt)
{
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==,
                    0);
    nt->pid = fork();
    g_assert_cmpint(nt->pid, >=, 0);
    if (nt->pid == 0) {
        close(sv[0]);
        child_main(sv[1]);
    }
    close(sv[1]);
    nt->ctl = sv[0];
    nt->notify_fd = recv_fd(nt->ctl);
    g_assert_cmpint(nt->notify_fd, >=, 0);
}

/*
 * notifier_stop: let the child exit and reap it.
 */
static void
notifier_stop(Notifier *nt)
{
    int status;

    close(nt->ctl);
    g_assert_cmpint(waitpid(nt->pid, &status, 0), ==, nt->pid);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
    if (nt->notify_fd >= 0)
        close(nt->notify_fd);
}

/*
 * recv_notif: wait for the child's next trapped call.
 */
static void
recv_notif(Notifier *nt, struct seccomp_notif *req)
{
    g_assert_cmpint(pb_notif_recv(nt->notify_fd, req), ==, 0);
    g_assert_cmpint(req->pid, ==, nt->pid);
    g_assert_cmpint(req->data.nr, ==, seccomp_syscall_resolve_name("getppid"));
}

/* ---- the ioctl wrappers against the kernel ---- */

static void
test_notify_ioctls(void)
{
    Notifier nt;
    struct seccomp_notif req;
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    int pipefd[2];
    long result;
    guint64 ino;
    int cloexec;
    struct stat st;

    /* not a notify fd: the ioctl is unknown there */
    g_assert_cmpint(pb_notif_id_valid(devnull, 1), ==, -ENOTTY);
    g_assert_cmpint(pb_notif_continue(devnull, 1), ==, -ENOTTY);

    notifier_start(&nt);
    /* unknown notification ids */
    g_assert_cmpint(pb_notif_id_valid(nt.notify_fd, 12345), ==, -ENOENT);
    g_assert_cmpint(pb_notif_respond(nt.notify_fd, 12345, 0, 0), ==, -ENOENT);
    g_assert_cmpint(pb_notif_continue(nt.notify_fd, 12345), ==, -ENOENT);
    g_assert_cmpint(pb_notif_addfd(nt.notify_fd, 12345, devnull, 50, FALSE), ==,
                    -ENOENT);

    /* respond with a value */
    g_assert_cmpint(write(nt.ctl, "g", 1), ==, 1);
    recv_notif(&nt, &req);
    g_assert_cmpint(pb_notif_id_valid(nt.notify_fd, req.id), ==, 0);
    g_assert_cmpint(pb_notif_respond(nt.notify_fd, req.id, 4242, 0), ==, 0);
    g_assert_cmpint(read(nt.ctl, &result, sizeof result), ==, sizeof result);
    g_assert_cmpint(result, ==, 4242);
    /* answered: no longer valid, cannot be answered twice */
    g_assert_cmpint(pb_notif_id_valid(nt.notify_fd, req.id), ==, -ENOENT);
    g_assert_cmpint(pb_notif_respond(nt.notify_fd, req.id, 1, 0), ==, -ENOENT);

    /* respond with an error: getppid() returns -1 */
    g_assert_cmpint(write(nt.ctl, "g", 1), ==, 1);
    recv_notif(&nt, &req);
    g_assert_cmpint(pb_notif_respond(nt.notify_fd, req.id, 99, -EPERM), ==, 0);
    g_assert_cmpint(read(nt.ctl, &result, sizeof result), ==, sizeof result);
    g_assert_cmpint(result, ==, -1);

    /* continue: the real getppid(), i.e. us */
    g_assert_cmpint(write(nt.ctl, "g", 1), ==, 1);
    recv_notif(&nt, &req);
    g_assert_cmpint(pb_notif_continue(nt.notify_fd, req.id), ==, 0);
    g_assert_cmpint(read(nt.ctl, &result, sizeof result), ==, sizeof result);
    g_assert_cmpint(result, ==, getpid());

    /* addfd with SETFD: our pipe lands on the child's fd 50, close-on-exec
     * as asked, and the wrapper returns that number */
    g_assert_cmpint(pipe2(pipefd, O_CLOEXEC), ==, 0);
    g_assert_cmpint(fstat(pipefd[1], &st), ==, 0);
    for (int round = 0; round < 2; round++) {
        gboolean want_cloexec = round == 0;
        int fdnum = 50;

        g_assert_cmpint(write(nt.ctl, "g", 1), ==, 1);
        recv_notif(&nt, &req);
        g_assert_cmpint(
            pb_notif_addfd(nt.notify_fd, req.id, pipefd[1], 50, want_cloexec),
            ==, 50);
        g_assert_cmpint(pb_notif_respond(nt.notify_fd, req.id, 0, 0), ==, 0);
        g_assert_cmpint(read(nt.ctl, &result, sizeof result), ==,
                        sizeof result);
        g_assert_cmpint(write(nt.ctl, "i", 1), ==, 1);
        g_assert_cmpint(write(nt.ctl, &fdnum, sizeof fdnum), ==, sizeof fdnum);
        g_assert_cmpint(read(nt.ctl, &ino, sizeof ino), ==, sizeof ino);
        g_assert_cmpint(read(nt.ctl, &cloexec, sizeof cloexec), ==,
                        sizeof cloexec);
        g_assert_cmpuint(ino, ==, (guint64)st.st_ino);
        g_assert_cmpint(cloexec, ==, want_cloexec ? FD_CLOEXEC : 0);
    }
    close(pipefd[0]);
    close(pipefd[1]);
    notifier_stop(&nt);
    close(devnull);
}

/* fdinfo text as the kernel prints it. */
static void
test_fdinfo_parse(void)
{
    unsigned int flags = 0;
    guint64 ino = 7;

    g_assert_cmpint(pb_fdinfo_parse("pos:\t0\nflags:\t02004002\nmnt_id:\t9\n"
                                    "ino:\t12345\n",
                                    &flags, &ino),
                    ==, 0);
    g_assert_cmpuint(flags, ==, 02004002);
    g_assert_true(flags & O_CLOEXEC);
    g_assert_true(flags & O_NONBLOCK);
    g_assert_cmpuint(ino, ==, 12345);
    g_assert_cmpint(
        pb_fdinfo_parse("pos:\t0\nflags:\t02\nmnt_id:\t9\n", &flags, &ino), ==,
        0);
    g_assert_cmpuint(flags, ==, 02);
    g_assert_cmpuint(ino, ==, 0);
    g_assert_cmpint(pb_fdinfo_parse("pos:\t0\nmnt_id:\t9\n", &flags, &ino), ==,
                    -EINVAL);
    g_assert_cmpint(pb_fdinfo_parse("flags:\tzz\n", &flags, &ino), ==, -EINVAL);
    g_assert_cmpint(pb_fdinfo_parse("xflags:\t02\n", &flags, &ino), ==,
                    -EINVAL);
}

/* ---- message scanning and parsing (pure) ---- */

static const char runc_msg[] =
    "{\"ociVersion\":\"1.0.2-dev\",\"fds\":[\"seccompFd\"],\"pid\":12293,"
    "\"metadata\":\"hello-meta\",\"state\":{\"ociVersion\":\"1.0.2-dev\","
    "\"id\":\"ctr-runc\",\"status\":\"creating\",\"pid\":12293,\"bundle\":"
    "\"/tmp/notify-test\",\"annotations\":{\"org.example.k\":\"v\"}}}";

static const char crun_msg[] =
    "{\n    \"ociVersion\" : \"0.2.0\",\n    \"fds\" : [\n        "
    "\"seccompFd\"\n    ],\n    \"pid\" : 4711,\n    \"metadata\" : "
    "\"m {with} [brackets] and \\\"quotes\\\" }\",\n    \"state\" : {\n"
    "        \"ociVersion\" : \"0.2.0\",\n        \"id\" : \"ctr-crun\",\n"
    "        \"status\" : \"creating\",\n        \"pid\" : 4711,\n"
    "        \"bundle\" : \"/b\",\n        \"annotations\" : {\n"
    "        }\n    }\n}\n";

static void
test_scan(void)
{
    gsize rl = strlen(runc_msg), cl = strlen(crun_msg);
    g_autofree char *deep = NULL;
    g_autoptr(GString) s = g_string_new(NULL);

    g_assert_cmpint(pb_json_value_end(runc_msg, rl), ==, (gssize)rl);
    /* crun: the trailing newline is not part of the value */
    g_assert_cmpint(pb_json_value_end(crun_msg, cl), ==, (gssize)cl - 1);
    /* every proper prefix is incomplete */
    for (gsize i = 0; i < rl; i++)
        g_assert_cmpint(pb_json_value_end(runc_msg, i), ==, 0);
    for (gsize i = 0; i < cl - 1; i++)
        g_assert_cmpint(pb_json_value_end(crun_msg, i), ==, 0);
    /* trailing bytes after the value are not looked at */
    g_assert_cmpint(pb_json_value_end("{}garbage", 9), ==, 2);
    g_assert_cmpint(pb_json_value_end("  \n{\"a\":1}", 10), ==, 10);
    /* braces and escaped quotes inside strings */
    g_assert_cmpint(pb_json_value_end("{\"a\":\"}{\\\"}\"}", 13), ==, 13);
    g_assert_cmpint(pb_json_value_end("{\"a\":\"\\\\\"}", 10), ==, 10);
    /* not an object */
    g_assert_cmpint(pb_json_value_end("[1]", 3), ==, -1);
    g_assert_cmpint(pb_json_value_end("x", 1), ==, -1);
    g_assert_cmpint(pb_json_value_end("}", 1), ==, -1);
    g_assert_cmpint(pb_json_value_end("{]]", 3), ==, -1);
    g_assert_cmpint(pb_json_value_end("   ", 3), ==, 0);
    g_assert_cmpint(pb_json_value_end("", 0), ==, 0);
    /* nesting is bounded */
    for (int i = 0; i < 65; i++)
        g_string_append_c(s, i == 0 ? '{' : '[');
    g_assert_cmpint(pb_json_value_end(s->str, s->len), ==, -1);
    deep = g_strnfill(64, '[');
    deep[0] = '{';
    g_assert_cmpint(pb_json_value_end(deep, 64), ==, 0);
}

/*
 * parse_ok: pb_process_state_parse() of @json must succeed.
 */
static void
parse_ok(const char *json, guint nfds, guint index, gint64 pid, const char *id)
{
    g_autoptr(GError) error = NULL;
    PbProcessState st;

    g_assert_true(
        pb_process_state_parse(json, strlen(json), nfds, &st, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(st.seccomp_index, ==, index);
    g_assert_cmpint(st.pid, ==, pid);
    g_assert_cmpstr(st.id, ==, id);
    pb_process_state_clear(&st);
}

/*
 * parse_bad: pb_process_state_parse() of @json must fail mentioning @what.
 */
static void
parse_bad(const char *json, guint nfds, const char *what)
{
    g_autoptr(GError) error = NULL;
    PbProcessState st;

    g_assert_false(
        pb_process_state_parse(json, strlen(json), nfds, &st, &error));
    g_assert_error(error, PB_ERROR, PB_ERROR_INVALID);
    if (strstr(error->message, what) == NULL)
        g_error("expected \"%s\" in \"%s\"", what, error->message);
    g_assert_null(st.id);
}

static void
test_parse(void)
{
    parse_ok(runc_msg, 1, 0, 12293, "ctr-runc");
    parse_ok(crun_msg, 1, 0, 4711, "ctr-crun");
    /* extra fds received: fine (the listener closes them) */
    parse_ok(runc_msg, 3, 0, 12293, "ctr-runc");
    parse_ok("{\"ociVersion\":\"1\",\"fds\":[\"x\",\"seccompFd\"],\"pid\":5}",
             2, 1, 5, NULL);
    parse_ok("{\"ociVersion\":\"1\",\"fds\":[\"seccompFd\"],\"pid\":5,"
             "\"state\":{\"id\":7}}",
             1, 0, 5, NULL);

    parse_bad("{\"ociVersion\":\"1\",\"fds\":[\"other\"],\"pid\":5}", 1,
              "0 times");
    parse_bad("{\"ociVersion\":\"1\",\"fds\":[],\"pid\":5}", 0, "0 times");
    parse_bad("{\"ociVersion\":\"1\",\"fds\":[\"seccompFd\",\"seccompFd\"],"
              "\"pid\":5}",
              2, "2 times");
    parse_bad("{\"ociVersion\":\"1\",\"fds\":[\"x\",\"seccompFd\"],"
              "\"pid\":5}",
              1, "names 2 fds but 1 arrived");
    parse_bad("{\"ociVersion\":\"1\",\"fds\":[\"seccompFd\"],\"pid\":5}", 0,
              "but 0 arrived");
    parse_bad("{\"ociVersion\":\"1\",\"fds\":[1],\"pid\":5}", 1,
              "not a string");
    parse_bad("{\"ociVersion\":\"1\",\"fds\":\"seccompFd\",\"pid\":5}", 1,
              "\"fds\"");
    parse_bad("{\"ociVersion\":\"1\",\"pid\":5}", 1, "\"fds\"");
    /* "pid" is informative only (crun 1.8 exec): anything but a positive
     * int reads as 0 */
    parse_ok("{\"ociVersion\":\"1\",\"fds\":[\"seccompFd\"]}", 1, 0, 0, NULL);
    parse_ok("{\"ociVersion\":\"1\",\"fds\":[\"seccompFd\"],\"pid\":\"5\"}", 1,
             0, 0, NULL);
    parse_ok("{\"ociVersion\":\"1\",\"fds\":[\"seccompFd\"],\"pid\":0}", 1, 0,
             0, NULL);
    parse_ok("{\"ociVersion\":\"1\",\"fds\":[\"seccompFd\"],\"pid\":-3}", 1, 0,
             0, NULL);
    parse_ok("{\"ociVersion\":\"1\",\"fds\":[\"seccompFd\"],"
             "\"pid\":99999999999}",
             1, 0, 0, NULL);
    parse_bad("{\"fds\":[\"seccompFd\"],\"pid\":5}", 1, "ociVersion");
    parse_bad("{\"ociVersion\":2,\"fds\":[\"seccompFd\"],\"pid\":5}", 1,
              "ociVersion");
    parse_bad("{\"ociVersion\":\"1\",\"fds\":[\"seccompFd\"],\"pid\":5,}", 1,
              "malformed");
    parse_bad("{\"ociVersion\" \"1\"}", 1, "malformed");
    parse_bad("[1,2]", 1, "not a JSON object");
}

/* ---- the listener on a real socket ---- */

typedef struct {
    GMainContext *ctx;
    char *dir;
    char *path;
    PbListener *l;
    int got_fd;
    gint64 got_pid;
    char *got_id;
    guint calls;
} Fixture;

static void
on_fd(int notify_fd, const PbProcessState *st, gpointer user_data)
{
    Fixture *f = user_data;

    f->calls++;
    if (f->got_fd >= 0)
        close(f->got_fd);
    f->got_fd = notify_fd;
    f->got_pid = st->pid;
    g_free(f->got_id);
    f->got_id = g_strdup(st->id);
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;

    f->ctx = g_main_context_new();
    f->dir = g_dir_make_tmp("pb-listener-XXXXXX", &error);
    g_assert_no_error(error);
    f->path = g_build_filename(f->dir, "agent.sock", NULL);
    f->got_fd = -1;
    f->l = pb_listener_new(f->path, f->ctx, on_fd, f, &error);
    g_assert_no_error(error);
    g_assert_nonnull(f->l);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
    pb_listener_free(f->l);
    /* the socket file goes with the listener */
    g_assert_false(g_file_test(f->path, G_FILE_TEST_EXISTS));
    if (f->got_fd >= 0)
        close(f->got_fd);
    g_rmdir(f->dir);
    g_free(f->got_id);
    g_free(f->path);
    g_free(f->dir);
    g_main_context_unref(f->ctx);
}

/*
 * count_fds: the number of fds open in this process.
 */
static guint
count_fds(void)
{
    g_autoptr(GDir) d = g_dir_open("/proc/self/fd", 0, NULL);
    guint n = 0;

    while (g_dir_read_name(d) != NULL)
        n++;
    return n - 1; /* the GDir's own fd */
}

/*
 * spin: run the context for about @ms milliseconds.
 */
static void
spin(Fixture *f, guint ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000;

    while (g_get_monotonic_time() < end) {
        while (g_main_context_iteration(f->ctx, FALSE))
            ;
        g_usleep(2000);
    }
}

/*
 * client_connect: a connected client socket to the listener.
 */
static int
client_connect(Fixture *f)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_strlcpy(sun.sun_path, f->path, sizeof sun.sun_path);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sun, sizeof sun), ==, 0);
    return fd;
}

/*
 * peer_closed: has the listener closed its end of @fd (EOF readable)?
 */
static gboolean
peer_closed(int fd)
{
    char b[512];
    ssize_t n;

    /* a rejection may come with a {"slirpbypass":"refused",...} line */
    while ((n = recv(fd, b, sizeof b, MSG_DONTWAIT)) > 0)
        ;
    return n == 0;
}

/* peer_refused: the agent said {"slirpbypass":"refused",...} and closed. */
static gboolean
peer_refused(int fd)
{
    char b[1024];
    ssize_t n = recv(fd, b, sizeof b - 1, MSG_DONTWAIT);

    if (n <= 0)
        return FALSE;
    b[n] = '\0';
    return strstr(b, "\"slirpbypass\":\"refused\"") != NULL &&
           strstr(b, "\"reason\":") != NULL;
}

/* runc: compact JSON in one sendmsg, connection kept open. */
static void
test_runc(Fixture *f, gconstpointer data)
{
    Notifier nt;
    int c;

    notifier_start(&nt);
    c = client_connect(f);
    g_assert_cmpint(send_fds(c, runc_msg, strlen(runc_msg), &nt.notify_fd, 1),
                    ==, (ssize_t)strlen(runc_msg));
    spin(f, 100);
    /* served without waiting for EOF (we never closed our end) */
    g_assert_cmpuint(f->calls, ==, 1);
    g_assert_cmpint(f->got_pid, ==, 12293);
    g_assert_cmpstr(f->got_id, ==, "ctr-runc");
    g_assert_cmpint(pb_notif_id_valid(f->got_fd, 1), ==, -ENOENT);
    /* the agent closed its end: `slirpbypass exec` waits for that */
    g_assert_true(peer_closed(c));
    close(c);
    notifier_stop(&nt);
}

/* crun: pretty JSON in three parts, fds with the first. */
static void
test_crun_split(Fixture *f, gconstpointer data)
{
    Notifier nt;
    gsize len = strlen(crun_msg), a = 10, b = len / 2;
    int c;

    notifier_start(&nt);
    c = client_connect(f);
    g_assert_cmpint(send_fds(c, crun_msg, a, &nt.notify_fd, 1), ==, (ssize_t)a);
    spin(f, 50);
    g_assert_cmpuint(f->calls, ==, 0);
    g_assert_cmpint(send_fds(c, crun_msg + a, b - a, NULL, 0), ==,
                    (ssize_t)(b - a));
    spin(f, 50);
    g_assert_cmpuint(f->calls, ==, 0);
    g_assert_cmpint(send_fds(c, crun_msg + b, len - b, NULL, 0), ==,
                    (ssize_t)(len - b));
    spin(f, 100);
    g_assert_cmpuint(f->calls, ==, 1);
    g_assert_cmpint(f->got_pid, ==, 4711);
    g_assert_cmpstr(f->got_id, ==, "ctr-crun");
    close(c);
    notifier_stop(&nt);
}

/* Two connections, two notify fds (each exec brings its own). */
static void
test_two_execs(Fixture *f, gconstpointer data)
{
    Notifier n1, n2;
    int c1, c2, first;

    notifier_start(&n1);
    notifier_start(&n2);
    c1 = client_connect(f);
    c2 = client_connect(f);
    send_fds(c1, runc_msg, strlen(runc_msg), &n1.notify_fd, 1);
    spin(f, 100);
    g_assert_cmpuint(f->calls, ==, 1);
    first = f->got_fd;
    f->got_fd = -1;
    send_fds(c2, crun_msg, strlen(crun_msg), &n2.notify_fd, 1);
    spin(f, 100);
    g_assert_cmpuint(f->calls, ==, 2);
    g_assert_cmpint(first, !=, f->got_fd);
    close(first);
    close(c1);
    close(c2);
    notifier_stop(&n1);
    notifier_stop(&n2);
}

/*
 * expect_rejected: send @parts (NULL-terminated; fds @fds/@nfds with the
 * first) and check nothing is served, the connection is closed, and every
 * fd that reached the listener was closed.
 */
static void
expect_rejected(Fixture *f, const char *const *parts, const int *fds,
                guint nfds, gboolean late_fds, gboolean shut)
{
    guint before = count_fds();
    int c = client_connect(f);

    for (guint i = 0; parts[i] != NULL; i++) {
        gboolean with = late_fds ? i == 1 : i == 0;

        send_fds(c, parts[i], strlen(parts[i]), with ? fds : NULL,
                 with ? nfds : 0);
        spin(f, 30);
    }
    if (shut)
        shutdown(c, SHUT_WR);
    spin(f, 100);
    g_assert_cmpuint(f->calls, ==, 0);
    /* a client that can read learns why (exec fails instead of running a
     * command whose calls would get ENOSYS) */
    g_assert_true(peer_refused(c));
    g_assert_true(peer_closed(c));
    close(c);
    g_assert_cmpuint(count_fds(), ==, before);
}

static void
test_rejects(Fixture *f, gconstpointer data)
{
    Notifier nt;
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int three[3];
    static const char *const missing[] = {
        "{\"ociVersion\":\"1\",\"fds\":[\"other\"],\"pid\":5}", NULL
    };
    static const char *const dup[] = {
        "{\"ociVersion\":\"1\",\"fds\":[\"seccompFd\",\"seccompFd\"],"
        "\"pid\":5}",
        NULL
    };
    static const char *const fewer[] = {
        "{\"ociVersion\":\"1\",\"fds\":[\"seccompFd\",\"x\"],\"pid\":5}", NULL
    };
    static const char *const malformed[] = {
        "{\"ociVersion\":\"1\",\"fds\":[\"seccompFd\"],\"pid\":5,,}", NULL
    };
    static const char *const notobj[] = { "[\"seccompFd\"]", NULL };
    static const char *const late[] = { "{\"ociVersion\":\"1\",",
                                        "\"fds\":[\"seccompFd\"],\"pid\":5}",
                                        NULL };
    static const char *const truncated[] = {
        "{\"ociVersion\":\"1\",\"fds\":[\"seccompFd\"]", NULL
    };
    static const char *const good[] = {
        "{\"ociVersion\":\"1\",\"fds\":[\"seccompFd\"],\"pid\":5}", NULL
    };

    notifier_start(&nt);
    expect_rejected(f, missing, &nt.notify_fd, 1, FALSE, FALSE);
    three[0] = three[1] = nt.notify_fd;
    expect_rejected(f, dup, three, 2, FALSE, FALSE);
    expect_rejected(f, fewer, &nt.notify_fd, 1, FALSE, FALSE);
    expect_rejected(f, malformed, &nt.notify_fd, 1, FALSE, FALSE);
    expect_rejected(f, notobj, &nt.notify_fd, 1, FALSE, FALSE);
    expect_rejected(f, late, &nt.notify_fd, 1, TRUE, FALSE);
    expect_rejected(f, truncated, &nt.notify_fd, 1, FALSE, TRUE);
    /* a well-formed message whose "seccompFd" is no notify fd */
    expect_rejected(f, good, &devnull, 1, FALSE, FALSE);

    /* extra fds: served, the extras closed */
    {
        guint before = count_fds();
        int c = client_connect(f);

        three[0] = nt.notify_fd;
        three[1] = devnull;
        three[2] = devnull;
        send_fds(c, good[0], strlen(good[0]), three, 3);
        spin(f, 100);
        g_assert_cmpuint(f->calls, ==, 1);
        g_assert_cmpint(pb_notif_id_valid(f->got_fd, 1), ==, -ENOENT);
        close(f->got_fd);
        f->got_fd = -1;
        close(c);
        g_assert_cmpuint(count_fds(), ==, before);
    }
    close(devnull);
    notifier_stop(&nt);
}

/* More than 64 KiB without completing the object. */
static void
test_huge(Fixture *f, gconstpointer data)
{
    g_autofree char *big = g_strnfill(70 * 1024, 'x');
    guint before = count_fds();
    int c = client_connect(f);
    ssize_t sent = 0;
    gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    big[0] = '{';
    big[1] = '"';
    /* send in pieces while the loop reads, until rejected */
    while (sent < (ssize_t)strlen(big) && g_get_monotonic_time() < end) {
        ssize_t n = send(c, big + sent, MIN(4096, strlen(big) - sent),
                         MSG_DONTWAIT | MSG_NOSIGNAL);

        if (n > 0)
            sent += n;
        else if (errno != EAGAIN)
            break;
        while (g_main_context_iteration(f->ctx, FALSE))
            ;
    }
    spin(f, 100);
    g_assert_cmpuint(f->calls, ==, 0);
    g_assert_true(peer_closed(c) || send(c, "x", 1, MSG_NOSIGNAL) < 0);
    close(c);
    g_assert_cmpuint(count_fds(), ==, before);
}

/* The socket file: stale replaced, live or non-socket refused. */
static void
test_socket_file(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("pb-sockfile-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "s", NULL);
    g_autofree char *reg = g_build_filename(dir, "regular", NULL);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    GMainContext *ctx = g_main_context_new();
    PbListener *l, *l2;
    struct stat st;
    int s;

    /* a stale socket file: bound, then closed */
    g_strlcpy(sun.sun_path, path, sizeof sun.sun_path);
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(bind(s, (struct sockaddr *)&sun, sizeof sun), ==, 0);
    close(s);
    l = pb_listener_new(path, ctx, on_fd, NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_true(S_ISSOCK(st.st_mode));
    g_assert_cmpint(st.st_mode & 0777, ==, 0600);

    /* a live one is not taken over */
    l2 = pb_listener_new(path, ctx, on_fd, NULL, &error);
    g_assert_null(l2);
    g_assert_error(error, PB_ERROR, PB_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, path));
    g_clear_error(&error);
    pb_listener_free(l);
    g_assert_cmpint(stat(path, &st), ==, -1);

    /* a regular file is never removed */
    g_assert_true(g_file_set_contents(reg, "keep", -1, NULL));
    g_assert_null(pb_listener_new(reg, ctx, on_fd, NULL, &error));
    g_assert_error(error, PB_ERROR, PB_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "not a socket"));
    g_clear_error(&error);
    g_assert_true(g_file_test(reg, G_FILE_TEST_IS_REGULAR));

    /* too long for sun_path */
    {
        g_autofree char *lng = g_strnfill(200, 'a');

        g_assert_null(pb_listener_new(lng, ctx, on_fd, NULL, &error));
        g_assert_error(error, PB_ERROR, PB_ERROR_INVALID);
        g_clear_error(&error);
    }
    /* a directory that does not exist */
    g_assert_null(
        pb_listener_new("/nonexistent-dir/x.sock", ctx, on_fd, NULL, &error));
    g_assert_nonnull(strstr(error->message, "/nonexistent-dir"));
    g_clear_error(&error);

    g_unlink(reg);
    g_rmdir(dir);
    g_main_context_unref(ctx);
}

/* ---- the agent: notify fds on its loop ---- */

/*
 * agent_getppid: ask the child for a trapped getppid() while spinning
 * @ctx (the agent answers on it); returns what the child got.
 */
static long
agent_getppid(GMainContext *ctx, Notifier *nt)
{
    gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    long r = 0;

    g_assert_cmpint(write(nt->ctl, "g", 1), ==, 1);
    while (g_get_monotonic_time() < end) {
        struct pollfd p = { .fd = nt->ctl, .events = POLLIN };

        while (g_main_context_iteration(ctx, FALSE))
            ;
        if (poll(&p, 1, 2) == 1) {
            g_assert_cmpint(read(nt->ctl, &r, sizeof r), ==, sizeof r);
            return r;
        }
    }
    g_error("the child's trapped call was not answered");
    return -1;
}

/* Calls other than connect() are answered CONTINUE; the same notify fd
 * sent twice is served once (two sources on one file would make RECV
 * block the loop); freeing the agent closes everything and unlinks. */
static void
test_agent_notify(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("pb-agent-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "a.sock", NULL);
    GMainContext *ctx = g_main_context_new();
    PbAgentConfig cfg = { 0 };
    Fixture f = { .ctx = ctx, .path = path };
    PbAgent *agent;
    Notifier nt;
    guint before;
    int c1, c2;

    cfg.proc_fd = -1;
    before = count_fds();
    agent = pb_agent_new(&cfg, ctx, &error);
    g_assert_no_error(error);
    g_assert_true(pb_agent_listen(agent, path, &error));
    g_assert_no_error(error);
    g_assert_false(pb_agent_listen(agent, path, &error));
    g_clear_error(&error);

    notifier_start(&nt);
    c1 = client_connect(&f);
    c2 = client_connect(&f);
    send_fds(c1, runc_msg, strlen(runc_msg), &nt.notify_fd, 1);
    spin(&f, 50);
    send_fds(c2, runc_msg, strlen(runc_msg), &nt.notify_fd, 1);
    spin(&f, 50);
    close(c1);
    close(c2);
    close(nt.notify_fd);
    nt.notify_fd = -1;
    for (int i = 0; i < 3; i++)
        g_assert_cmpint(agent_getppid(ctx, &nt), ==, getpid());
    notifier_stop(&nt);
    /* the child is gone: its notify fd hangs up and is closed */
    spin(&f, 100);
    pb_agent_free(agent);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    g_assert_cmpuint(count_fds(), ==, before);
    g_rmdir(dir);
    g_main_context_unref(ctx);
}

/* A bad --bypass-ignore fails pb_agent_new() with its text. */
static void
test_agent_bad_config(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) ignore = g_ptr_array_new();
    PbAgentConfig cfg = { 0 };

    g_ptr_array_add(ignore, (gpointer) "10.0.0.0/99");
    cfg.ignore = ignore;
    cfg.proc_fd = -1;
    g_assert_null(pb_agent_new(&cfg, NULL, &error));
    g_assert_error(error, PB_ERROR, PB_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "10.0.0.0/99"));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    g_test_add_func("/notify/ioctls", test_notify_ioctls);
    g_test_add_func("/notify/fdinfo-parse", test_fdinfo_parse);
    g_test_add_func("/listener/scan", test_scan);
    g_test_add_func("/listener/parse", test_parse);
    g_test_add("/listener/runc", Fixture, NULL, fixture_setup, test_runc,
               fixture_teardown);
    g_test_add("/listener/crun-split", Fixture, NULL, fixture_setup,
               test_crun_split, fixture_teardown);
    g_test_add("/listener/two-execs", Fixture, NULL, fixture_setup,
               test_two_execs, fixture_teardown);
    g_test_add("/listener/rejects", Fixture, NULL, fixture_setup, test_rejects,
               fixture_teardown);
    g_test_add("/listener/huge", Fixture, NULL, fixture_setup, test_huge,
               fixture_teardown);
    g_test_add_func("/listener/socket-file", test_socket_file);
    g_test_add_func("/agent/notify", test_agent_notify);
    g_test_add_func("/agent/bad-config", test_agent_bad_config);
    return g_test_run();
}
