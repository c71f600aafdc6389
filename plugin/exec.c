/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exec.c: what `slirpbypass exec [OPTION]... [--] COMMAND [ARG]...` does
 * to put a command under the bypass without a container runtime (scripts,
 * rootlesskit children, tests).  The command line is parsed in
 * slirp-bridge/cmd_exec.c, beside main.c.
 *
 * Theory of operation: it does, for itself, what runc does for a container
 * whose profile names a listenerPath:
 *
 *  1. connect to the agent socket FIRST: once the filter is loaded our own
 *     connect() would be trapped, and nobody would be listening yet;
 *  2. load a libseccomp filter (default ALLOW, SCMP_ACT_NOTIFY on connect
 *     and bind, the compat architectures added so 32-bit programs are not
 *     killed as "bad arch") with SECCOMP_FILTER_FLAG_NEW_LISTENER;
 *     NO_NEW_PRIVS is set only when the kernel requires it (we lack
 *     CAP_SYS_ADMIN), so setuid programs keep working for privileged users;
 *  3. send a runc-style compact OCI ContainerProcessState plus the notify
 *     fd (SCM_RIGHTS) in one sendmsg, then shutdown(SHUT_WR) so an agent
 *     that reads until EOF sees the end;
 *  4. wait (bounded) until the agent closes its end: only then is the fd
 *     known to be in the agent's hands.  If we exec'd at once and the
 *     agent dropped the message, every connect() would fail with ENOSYS;
 *  5. close the notify fd and the socket (the command must not inherit
 *     them) and execvp() the command, which inherits the filter.
 *
 * Errors before step 2 can fall back (--fallback: run the command without
 * the bypass, with a warning).  After the filter is loaded there is no way
 * back: a failure there exits 125 without running the command, because
 * the command would otherwise see ENOSYS from connect().
 * Exit status like env(1)/podman: 125 for our own errors, 126 if COMMAND
 * cannot be run, 127 if it is not found.
 */
#include "plugin.h"

#include <errno.h>
#include <poll.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/**
 * pb_exec_state_json:
 * @pid: our pid, both the process and the "container" init
 * @metadata: the metadata string
 * @netns: name a second fd, "slirpbypassNetns", our network namespace
 *   (the per-user agent routes by it: dispatch.c)
 *
 * Returns: (transfer full) compact JSON, the shape runc sends for
 * `runc exec` (ContainerProcessState, status "running", no newline).
 */
char *
pb_exec_state_json(pid_t pid, const char *metadata, gboolean netns)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *id = g_strdup_printf("exec-%ld", (long)pid);

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "ociVersion");
    json_builder_add_string_value(b, "1.0.2");
    json_builder_set_member_name(b, "fds");
    json_builder_begin_array(b);
    json_builder_add_string_value(b, "seccompFd");
    if (netns)
        json_builder_add_string_value(b, "slirpbypassNetns");
    json_builder_end_array(b);
    json_builder_set_member_name(b, "pid");
    json_builder_add_int_value(b, pid);
    json_builder_set_member_name(b, "metadata");
    json_builder_add_string_value(b, metadata);
    json_builder_set_member_name(b, "state");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "ociVersion");
    json_builder_add_string_value(b, "1.0.2");
    json_builder_set_member_name(b, "id");
    json_builder_add_string_value(b, id);
    json_builder_set_member_name(b, "status");
    json_builder_add_string_value(b, "running");
    json_builder_set_member_name(b, "pid");
    json_builder_add_int_value(b, pid);
    json_builder_set_member_name(b, "bundle");
    json_builder_add_string_value(b, "");
    json_builder_end_object(b);
    json_builder_end_object(b);

    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    return json_generator_to_data(gen, NULL);
}

/**
 * pb_exec_connect: connect a SOCK_STREAM unix socket to @path (the agent).
 * Returns: the socket, or -1 with errno set.
 */
int
pb_exec_connect(const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd;
    int saved;

    g_strlcpy(sun.sun_path, path, sizeof sun.sun_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    while (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
        if (errno == EINTR)
            continue;
        saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/*
 * Load the filter and return the notify fd (owned by the caller), or -1
 * with @error set.  NO_NEW_PRIVS first off: the kernel accepts that only
 * with CAP_SYS_ADMIN (EACCES otherwise), and then setuid binaries in the
 * command keep their meaning; retry with it on when refused.
 */
int
pb_exec_load_filter(gboolean no_bind, GError **error)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    int rc = -ENOMEM;
    int fd = -1;
    const char *what = "seccomp_init";
    char rule[64];
    const SbArch *arches;
    guint n_arches = 0;

    if (ctx == NULL)
        goto fail;
    /* Raw kernel errnos instead of libseccomp's -ECANCELED. */
    what = "seccomp_attr_set";
    rc = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
    if (rc < 0)
        goto fail;
    /* the compat ABIs (entry 0 is the native one, already there) */
    arches = sb_arches(&n_arches);
    for (guint i = 1; i < n_arches; i++) {
        what = "seccomp_arch_add";
        rc = seccomp_arch_add(ctx, arches[i].arch);
        if (rc < 0 && rc != -EEXIST)
            goto fail;
    }
    /* the same calls as the profile's rules (profile.c) */
    for (guint i = 0; i < PB_N_TRAPPED + PB_N_DENIED; i++) {
        gboolean trap = i < PB_N_TRAPPED;
        const char *name =
            trap ? pb_trapped_calls[i] : pb_denied_calls[i - PB_N_TRAPPED];

        if (trap && no_bind && strcmp(name, "bind") == 0)
            continue;
        g_snprintf(rule, sizeof rule, "seccomp_rule_add(%s)", name);
        what = rule;
        rc = seccomp_rule_add(ctx,
                              trap ? SCMP_ACT_NOTIFY : SCMP_ACT_ERRNO(ENOSYS),
                              seccomp_syscall_resolve_name(name), 0);
        if (rc < 0)
            goto fail;
    }
    /* and the Fast Open calls, only with the arguments that arm it */
    for (guint t = 0; t < PB_N_FASTOPEN; t++) {
        const PbFastOpenRule *f = &pb_fastopen_rules[t];
        struct scmp_arg_cmp cmp[G_N_ELEMENTS(f->cond)];

        for (guint i = 0; i < f->n_conds; i++)
            cmp[i] = SCMP_CMP(f->cond[i].index, SCMP_CMP_MASKED_EQ,
                              f->cond[i].mask, f->cond[i].value);
        g_snprintf(rule, sizeof rule, "seccomp_rule_add(%s)", f->name);
        what = rule;
        rc = seccomp_rule_add_array(ctx, SCMP_ACT_NOTIFY,
                                    seccomp_syscall_resolve_name(f->name),
                                    f->n_conds, cmp);
        if (rc < 0)
            goto fail;
    }
    what = "seccomp_attr_set";
    rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    if (rc < 0)
        goto fail;
    what = "seccomp_load";
    rc = seccomp_load(ctx);
    if (rc == -EACCES) {
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
        if (rc == 0)
            rc = seccomp_load(ctx);
    }
    if (rc < 0)
        goto fail;
    what = "seccomp_notify_fd";
    fd = seccomp_notify_fd(ctx);
    if (fd < 0) {
        rc = fd < -1 ? fd : -EBADF;
        fd = -1;
        goto fail;
    }
    goto out;
fail:
    g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM, "%s: %s", what,
                g_strerror(-rc));
out:
    if (ctx != NULL)
        seccomp_release(ctx);
    return fd;
}

/* Send @msg with @fds (@nfds, 1 or 2) attached to the first byte; loops
 * over short writes (the fds go only with the first chunk, as the spec
 * requires). */
static gboolean
send_state(int sock, const char *msg, const int *fds, guint nfds,
           GError **error)
{
    size_t len = strlen(msg);
    size_t off = 0;
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } u;

    while (off < len) {
        struct iovec iov = { .iov_base = (char *)msg + off,
                             .iov_len = len - off };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n;

        if (off == 0) {
            struct cmsghdr *c;

            memset(&u, 0, sizeof u);
            mh.msg_control = u.buf;
            mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
            c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
            memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
        }
        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM,
                        "sending the seccomp fd: %s", g_strerror(errno));
            return FALSE;
        }
        off += (size_t)n;
    }
    return TRUE;
}

/* Milliseconds on the monotonic clock. */
static gint64
now_ms(void)
{
    return g_get_monotonic_time() / 1000;
}

/*
 * refused: did the agent's reply (@got, NUL-terminated) refuse the fd?
 * slirpbypass's agent says {"slirpbypass":"refused","reason":...} before
 * it closes a connection it rejects; other agents say nothing.
 */
static gboolean
refused(const char *got, GError **error)
{
    g_autoptr(JsonParser) p = json_parser_new_immutable();
    JsonObject *o;

    if (strstr(got, "\"refused\"") == NULL)
        return FALSE;
    if (json_parser_load_from_data(p, got, -1, NULL) &&
        JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
        o = json_node_get_object(json_parser_get_root(p));
        if (g_strcmp0(json_object_get_string_member_with_default(
                          o, "slirpbypass", ""),
                      "refused") != 0)
            return FALSE;
        g_set_error(
            error, PB_ERROR, PB_ERROR_SYSTEM,
            "the agent refused the seccomp fd: %s",
            json_object_get_string_member_with_default(o, "reason", "?"));
        return TRUE;
    }
    return FALSE;
}

/*
 * Half-close and wait up to @timeout_s for the agent to close its end
 * (EOF); a refusal before it is an error.  ECONNRESET means it closed
 * without reading everything: the fd may have been dropped with the
 * unread data.
 */
static gboolean
wait_agent(int sock, guint timeout_s, GError **error)
{
    gint64 deadline = now_ms() + (gint64)timeout_s * 1000;
    g_autoptr(GString) got = g_string_new(NULL);
    char buf[256];
    int e;

    if (shutdown(sock, SHUT_WR) < 0) {
        g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM, "shutdown: %s",
                    g_strerror(errno));
        return FALSE;
    }
    for (;;) {
        struct pollfd p = { .fd = sock, .events = POLLIN };
        gint64 left = deadline - now_ms();
        ssize_t n;
        int r;

        if (left <= 0) {
            g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM,
                        "the agent did not take the seccomp fd within %u s",
                        timeout_s);
            return FALSE;
        }
        r = poll(&p, 1, (int)MIN(left, G_MAXINT));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM, "poll: %s",
                        g_strerror(errno));
            return FALSE;
        }
        if (r == 0)
            continue;
        n = read(sock, buf, sizeof buf);
        if (n == 0)
            return !refused(got->str, error);
        if (n > 0 && got->len < 4096)
            g_string_append_len(got, buf, n);
        if (n > 0 || errno == EINTR || errno == EAGAIN)
            continue; /* OCI has no reply; only a refusal counts */
        e = errno;
        if (refused(got->str, error))
            return FALSE; /* closed with our data unread: say why */
        g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM,
                    "the agent dropped the connection: %s", g_strerror(e));
        return FALSE;
    }
}

/**
 * pb_exec_handshake:
 * @sock: the agent connection (pb_exec_connect())
 * @state: the OCI ContainerProcessState (pb_exec_state_json(), naming
 *   "slirpbypassNetns" iff @netns_fd is not -1)
 * @nfd: the notify fd (pb_exec_load_filter())
 * @netns_fd: an fd on our network namespace, or -1
 * @timeout_s: how long to wait for the agent to take it
 * @error: what went wrong (also: the agent refused it)
 *
 * Steps 3 and 4 of the theory of operation.
 *
 * Returns: TRUE once the agent holds the notify fd.
 */
gboolean
pb_exec_handshake(int sock, const char *state, int nfd, int netns_fd,
                  guint timeout_s, GError **error)
{
    int fds[2] = { nfd, netns_fd };

    return send_state(sock, state, fds, netns_fd >= 0 ? 2 : 1, error) &&
           wait_agent(sock, timeout_s, error);
}
