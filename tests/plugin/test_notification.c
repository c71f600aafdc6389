/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_notification.c: unit tests of forwarded notifications: the
 * message (plugin/notification.c, and the crun plugin's libc encoder
 * plugin/crun-plugin/message.c, which must agree), the agent socket's
 * kinds of message (listener.c), the plugin's socket path rules, and one
 * notification forwarded end to end with the plugin's own code.
 *
 * Theory of operation: the pure parts are checked on strings.  The end to
 * end test plays crun: a forked child installs a filter notifying on
 * getppid(2) and sends us the notify fd; we NOTIF_RECV its call and
 * forward it with sbcp_forward() to a PbListener served by a second
 * thread, whose notification callback answers it with a value the child
 * checks.  A listener without a callback answers "continue", after which
 * we answer CONTINUE as crun would and the child sees its real parent.
 */
#include "agent_internal.h"
#include "sbcp.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <linux/filter.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The value the listener answers the child's first getppid() with. */
#define FAKE_PPID 4242

/*
 * sample_req: a notification with every byte set to something.
 */
static void
sample_req(struct seccomp_notif *req)
{
    memset(req, 0, sizeof *req);
    req->id = G_GUINT64_CONSTANT(0x0123456789abcdef);
    req->pid = 4711;
    req->flags = 0;
    req->data.nr = 42;
    req->data.arch = 0xc000003e;
    req->data.instruction_pointer = G_GUINT64_CONSTANT(0xfeedfacecafebeef);
    for (guint i = 0; i < 6; i++)
        req->data.args[i] = G_GUINT64_CONSTANT(0x1111111111111111) * (i + 1);
}

static void
test_roundtrip(void)
{
    struct seccomp_notif req;
    g_autoptr(GError) error = NULL;
    g_autofree char *json = NULL;
    char buf[2048];
    PbNotification note;
    int n;

    sample_req(&req);
    /* the agent's encoder */
    json = pb_notification_json(&req, "ctr-1");
    g_assert_cmpint(pb_message_kind(json, strlen(json)), ==,
                    PB_MESSAGE_NOTIFICATION);
    g_assert_true(pb_notification_parse(json, strlen(json), 1, &note, &error));
    g_assert_no_error(error);
    g_assert_cmpint(note.pid, ==, 4711);
    g_assert_cmpstr(note.id, ==, "ctr-1");
    g_assert_cmpmem(&note.req, sizeof note.req, &req, sizeof req);
    pb_notification_clear(&note);

    /* the plugin's encoder, with an id that needs escaping */
    n = sbcp_notification_json(buf, sizeof buf, &req, "a\"b\\c\nd");
    g_assert_cmpint(n, ==, (int)strlen(buf));
    g_assert_true(pb_notification_parse(buf, (gsize)n, 1, &note, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(note.id, ==, "a\"b\\c\nd");
    g_assert_cmpmem(&note.req, sizeof note.req, &req, sizeof req);
    pb_notification_clear(&note);
    /* and without an id */
    n = sbcp_notification_json(buf, sizeof buf, &req, NULL);
    g_assert_true(pb_notification_parse(buf, (gsize)n, 1, &note, &error));
    g_assert_null(note.id);
    pb_notification_clear(&note);
    /* too small a buffer: -1, never a cut message */
    g_assert_cmpint(sbcp_notification_json(buf, 100, &req, NULL), ==, -1);
    g_assert_cmpint(sbcp_notification_json(buf, (gsize)n, &req, NULL), ==, -1);
    g_assert_cmpint(sbcp_notification_json(buf, (gsize)n + 1, &req, NULL), ==,
                    n);
}

static void
test_rejects(void)
{
    static const char *const bad[] = {
        "[]",
        "{\"slirpbypass\":\"register\"}",
        "{\"slirpbypass\":\"notification\",\"version\":2,\"pid\":4711,"
        "\"req\":\"%s\",\"fds\":[\"seccompFd\"]}",
        "{\"slirpbypass\":\"notification\",\"version\":1,"
        "\"req\":\"%s\",\"fds\":[\"seccompFd\"]}",
        "{\"slirpbypass\":\"notification\",\"version\":1,\"pid\":-1,"
        "\"req\":\"%s\",\"fds\":[\"seccompFd\"]}",
        /* pid differs from the request's */
        "{\"slirpbypass\":\"notification\",\"version\":1,\"pid\":4712,"
        "\"req\":\"%s\",\"fds\":[\"seccompFd\"]}",
        "{\"slirpbypass\":\"notification\",\"version\":1,\"pid\":4711,"
        "\"req\":\"%s00\",\"fds\":[\"seccompFd\"]}",
        "{\"slirpbypass\":\"notification\",\"version\":1,\"pid\":4711,"
        "\"req\":\"%.158szz\",\"fds\":[\"seccompFd\"]}",
        "{\"slirpbypass\":\"notification\",\"version\":1,\"pid\":4711,"
        "\"req\":\"%s\",\"fds\":[\"channel\"]}",
        "{\"slirpbypass\":\"notification\",\"version\":1,\"pid\":4711,"
        "\"req\":\"%s\"}",
    };
    struct seccomp_notif req;
    g_autoptr(GString) hex = g_string_new(NULL);
    PbNotification note;

    sample_req(&req);
    for (gsize i = 0; i < sizeof req; i++)
        g_string_append_printf(hex, "%02x", ((guint8 *)&req)[i]);
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        g_autofree char *json = NULL;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
        json = g_strdup_printf(bad[i], hex->str);
#pragma GCC diagnostic pop
        g_assert_false(
            pb_notification_parse(json, strlen(json), 1, &note, &error));
        g_assert_error(error, PB_ERROR, PB_ERROR_INVALID);
    }
    /* the right message, with no fd or two */
    {
        g_autofree char *json = pb_notification_json(&req, NULL);
        g_autoptr(GError) e0 = NULL;
        g_autoptr(GError) e2 = NULL;

        g_assert_false(
            pb_notification_parse(json, strlen(json), 0, &note, &e0));
        g_assert_false(
            pb_notification_parse(json, strlen(json), 2, &note, &e2));
        g_assert_error(e2, PB_ERROR, PB_ERROR_INVALID);
    }
}

static void
test_kinds(void)
{
    static const struct {
        const char *json;
        PbMessageKind kind;
    } cases[] = {
        { "{\"ociVersion\":\"1.0.2\",\"fds\":[\"seccompFd\"]}",
          PB_MESSAGE_STATE },
        { "not json", PB_MESSAGE_STATE },
        { "{\"slirpbypass\":\"register\"}", PB_MESSAGE_REGISTER },
        { "{\"slirpbypass\":\"notification\"}", PB_MESSAGE_NOTIFICATION },
        { "{\"slirpbypass\":\"nonsense\"}", PB_MESSAGE_UNKNOWN },
        { "{\"slirpbypass\":7}", PB_MESSAGE_UNKNOWN },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_assert_cmpint(pb_message_kind(cases[i].json, strlen(cases[i].json)),
                        ==, cases[i].kind);
    }
}

static void
test_socket_path(void)
{
    char buf[108];
    g_autofree char *expect = NULL;
    uid_t uid = sbcp_outer_uid();

    g_setenv("SLIRPBYPASS_AGENT_SOCKET", "/x/agent.sock", TRUE);
    g_setenv("XDG_RUNTIME_DIR", "/run/user/77", TRUE);
    g_assert_cmpint(sbcp_agent_socket(buf, sizeof buf), ==, 0);
    g_assert_cmpstr(buf, ==, "/x/agent.sock");
    g_setenv("SLIRPBYPASS_AGENT_SOCKET", "relative.sock", TRUE);
    g_assert_cmpint(sbcp_agent_socket(buf, sizeof buf), ==, -EINVAL);
    g_setenv("SLIRPBYPASS_AGENT_SOCKET", "", TRUE);
    g_assert_cmpint(sbcp_agent_socket(buf, sizeof buf), ==, 0);
    g_assert_cmpstr(buf, ==, "/run/user/77/slirpbypass/agent.sock");
    g_setenv("XDG_RUNTIME_DIR", "/run/user/77/", TRUE);
    g_assert_cmpint(sbcp_agent_socket(buf, sizeof buf), ==, 0);
    g_assert_cmpstr(buf, ==, "/run/user/77/slirpbypass/agent.sock");
    g_assert_cmpint(sbcp_agent_socket(buf, 20), ==, -ENAMETOOLONG);
    g_unsetenv("SLIRPBYPASS_AGENT_SOCKET");
    g_setenv("XDG_RUNTIME_DIR", "relative", TRUE);
    expect = uid == 0 ? g_strdup("/run/slirpbypass/agent.sock")
                      : g_strdup_printf("/run/user/%u/slirpbypass/agent.sock",
                                        (unsigned)uid);
    g_assert_cmpint(sbcp_agent_socket(buf, sizeof buf), ==, 0);
    g_assert_cmpstr(buf, ==, expect);
    g_unsetenv("XDG_RUNTIME_DIR");
    g_assert_cmpint(sbcp_agent_socket(buf, sizeof buf), ==, 0);
    g_assert_cmpstr(buf, ==, expect);
}

/* ---- end to end ---- */

typedef struct {
    GMainContext *ctx;
    volatile gint stop;
    guint n_notes;
    gint64 pid;
} Serve;

/*
 * serve_thread: iterate the listeners' context until told to stop.
 */
static gpointer
serve_thread(gpointer data)
{
    Serve *s = data;

    g_main_context_push_thread_default(s->ctx);
    while (!g_atomic_int_get(&s->stop))
        g_main_context_iteration(s->ctx, TRUE);
    g_main_context_pop_thread_default(s->ctx);
    return NULL;
}

/*
 * on_state: no ContainerProcessState is expected.
 */
static void
on_state(int notify_fd, const PbProcessState *st, gpointer user_data)
{
    close(notify_fd);
    g_assert_not_reached();
}

/*
 * on_note: answer the forwarded getppid() with FAKE_PPID.
 */
static gboolean
on_note(int notify_fd, const PbNotification *note, gpointer user_data)
{
    Serve *s = user_data;

    s->n_notes++;
    s->pid = note->pid;
    g_assert_cmpint(pb_notif_respond(notify_fd, note->req.id, FAKE_PPID, 0), ==,
                    0);
    close(notify_fd);
    return TRUE;
}

/*
 * child_main: install a filter that notifies on getppid, send the notify
 * fd on @sock, call getppid twice: exit 0 if the first answer was
 * FAKE_PPID and the second the real parent.
 */
static void G_GNUC_NORETURN
child_main(int sock)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = G_N_ELEMENTS(f), .filter = f };
    pid_t real = getppid();
    long a, b;
    int fd;

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        _exit(10);
    fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                      SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (fd < 0)
        _exit(11);
    if (pb_channel_send(sock, "fd", fd) < 0)
        _exit(12);
    close(fd);
    a = syscall(SYS_getppid);
    b = syscall(SYS_getppid);
    _exit(a == FAKE_PPID && b == real ? 0 : 1);
}

/*
 * recv_one: wait (bounded) for the child's next call and NOTIF_RECV it.
 */
static void
recv_one(int nfd, struct seccomp_notif *req)
{
    struct pollfd p = { .fd = nfd, .events = POLLIN };

    g_assert_cmpint(poll(&p, 1, 10000), ==, 1);
    g_assert_cmpint(pb_notif_recv(nfd, req), ==, 0);
}

static void
test_forward(void)
{
    g_autofree char *dir = g_dir_make_tmp("pb-note-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "agent.sock", NULL);
    g_autofree char *path2 = g_build_filename(dir, "other.sock", NULL);
    g_autoptr(GError) error = NULL;
    Serve s = { 0 };
    PbListener *l, *l2;
    GThread *thread;
    struct seccomp_notif req;
    char json[2048], buf[8];
    int sp[2], nfd, status;
    pid_t pid;

    /* no agent: the plugin's forward fails at once */
    sbcp_notification_json(json, sizeof json,
                           &(struct seccomp_notif){ .pid = 1 }, NULL);
    g_assert_cmpint(sbcp_forward(path, json, 0, 1000), ==, -ENOENT);

    s.ctx = g_main_context_new();
    l = pb_listener_new(path, s.ctx, on_state, NULL, &error);
    g_assert_no_error(error);
    pb_listener_set_notification(l, on_note, &s);
    l2 = pb_listener_new(path2, s.ctx, on_state, NULL, &error);
    g_assert_no_error(error);
    thread = g_thread_new("serve", serve_thread, &s);

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp),
                    ==, 0);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        close(sp[0]);
        child_main(sp[1]);
    }
    close(sp[1]);
    {
        struct pollfd p = { .fd = sp[0], .events = POLLIN };

        g_assert_cmpint(poll(&p, 1, 10000), ==, 1);
    }
    g_assert_cmpint(pb_channel_recv(sp[0], buf, sizeof buf, &nfd), ==, 2);
    g_assert_cmpint(nfd, >=, 0);

    /* the first call: forwarded, taken, answered by the listener's side */
    recv_one(nfd, &req);
    g_assert_cmpint(
        sbcp_notification_json(json, sizeof json, &req, "ctr-forward"), >, 0);
    g_assert_cmpint(sbcp_forward(path, json, nfd, 5000), ==, 0);
    g_assert_cmpuint(s.n_notes, ==, 1);
    g_assert_cmpint(s.pid, ==, pid);

    /* the second: a listener without the callback says "continue", and
     * the sender answers CONTINUE */
    recv_one(nfd, &req);
    g_assert_cmpint(
        sbcp_notification_json(json, sizeof json, &req, "ctr-forward"), >, 0);
    g_assert_cmpint(sbcp_forward(path2, json, nfd, 5000), ==, -EPROTO);
    g_assert_cmpint(pb_notif_continue(nfd, req.id), ==, 0);

    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
    g_assert_cmpuint(s.n_notes, ==, 1);

    g_atomic_int_set(&s.stop, 1);
    g_main_context_wakeup(s.ctx);
    g_thread_join(thread);
    pb_listener_free(l);
    pb_listener_free(l2);
    g_main_context_unref(s.ctx);
    close(nfd);
    close(sp[0]);
    g_rmdir(dir);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/notification/roundtrip", test_roundtrip);
    g_test_add_func("/notification/rejects", test_rejects);
    g_test_add_func("/notification/kinds", test_kinds);
    g_test_add_func("/notification/socket-path", test_socket_path);
    g_test_add_func("/notification/forward", test_forward);
    return g_test_run();
}
