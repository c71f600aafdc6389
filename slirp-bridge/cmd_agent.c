/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_agent.c: the command line of `slirpbypass agent`, the per-user
 * dispatcher (plugin/dispatch.c does the work).
 *
 * Theory of operation: parse the options, take the listening socket from
 * systemd (socket activation: LISTEN_PID is us and LISTEN_FDS is 1, fd 3)
 * or bind --socket (default: the per-user path every profile, `exec` and
 * bypass=true helper uses; its directory is created 0700), then serve on
 * the main loop until SIGTERM, SIGINT or SIGHUP.  It keeps no capability
 * but CAP_SYS_PTRACE and sets no_new_privs first.  A bound socket file is
 * removed at exit; systemd's is left to systemd, which keeps it open
 * across restarts so that no runtime finds it missing.
 */
#include "commands.h"

#include "plugin.h"
#include "sb_build_config.h"
#include "slirp-bridge/shared.h"

#include <glib-unix.h>

#include <errno.h>
#include <getopt.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SD_LISTEN_FDS_START 3

static void
print_usage(FILE *out)
{
    g_autofree char *def = sb_default_agent_socket();

    fprintf(out,
            "Usage: slirpbypass agent [OPTION]...\n"
            "The per-user slirpbypass agent: owns the one OCI seccomp "
            "listenerPath that\ncontainer profiles name (`slirpbypass "
            "seccomp-profile`), and passes each\ncontainer's seccomp fd to "
            "the slirpbypass helper serving its network\nnamespace "
            "(helpers started with bypass=true register here). Until one "
            "does,\nthe agent answers the container's calls itself: they "
            "take the slirp path.\nA helper starts the agent when none "
            "answers; systemd users can use the\nslirpbypass-agent.socket "
            "user unit instead (socket activation).\n"
            "\n"
            "  -s, --socket=PATH    the socket (default: %s)\n"
            "  -h, --help           show this help and exit\n"
            "\n"
            "Runs until SIGTERM, SIGINT or SIGHUP. Exit status: 0 after a "
            "signal, 1 on\nany error (one line on stderr).\n",
            def);
}

static gboolean
on_quit(gpointer user_data)
{
    g_main_loop_quit(user_data);
    return G_SOURCE_CONTINUE;
}

/*
 * activated_fd: the socket systemd passed, or -1.
 */
static int
activated_fd(void)
{
    const char *pid = g_getenv("LISTEN_PID");
    const char *fds = g_getenv("LISTEN_FDS");

    if (pid == NULL || fds == NULL || strtoll(pid, NULL, 10) != getpid() ||
        strcmp(fds, "1") != 0)
        return -1;
    g_unsetenv("LISTEN_PID");
    g_unsetenv("LISTEN_FDS");
    g_unsetenv("LISTEN_FDNAMES");
    return SD_LISTEN_FDS_START;
}

/*
 * drop_privileges: keep CAP_SYS_PTRACE at most (reading
 * /proc/PID/ns/net of container processes that run as other uids of a
 * user namespace it does not own), and no new privileges.  An agent a
 * helper started inside a user namespace (podman's) would otherwise hold
 * every capability there.
 */
static void
drop_privileges(void)
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    const guint32 keep = 1U << CAP_SYS_PTRACE; /* CAP_SYS_PTRACE < 32 */

    if (syscall(SYS_capget, &hdr, data) == 0) {
        for (guint i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
            guint32 k = i == 0 ? keep : 0;

            data[i].effective &= k;
            data[i].permitted &= k;
            data[i].inheritable = 0;
        }
        if (syscall(SYS_capset, &hdr, data) < 0)
            fprintf(stderr, "slirpbypass agent: capset: %s\n",
                    g_strerror(errno));
    }
    (void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/**
 * sb_cmd_agent_main:
 * @argc: argument count, @argv: argv[0] is "agent"
 *
 * Returns: 0 after a signal, 1 on any error, 2 on a usage error.
 */
int
sb_cmd_agent_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "socket", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    g_autofree char *path = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(PbDispatcher) d = NULL;
    g_autoptr(GMainLoop) loop = NULL;
    int c, fd;

    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            g_free(path);
            path = g_strdup(optarg);
            break;
        case 'h':
            print_usage(stdout);
            return 0;
        default:
            fprintf(stderr, "slirpbypass agent: %s '%s' (see --help)\n",
                    c == ':' ? "missing argument for" : "unknown option",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "slirpbypass agent: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    setvbuf(stderr, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    drop_privileges();
    fd = activated_fd();
    if (fd < 0) {
        g_autofree char *dir = NULL;

        if (path == NULL)
            path = sb_default_agent_socket();
        if (!pb_socket_path_check(path, TRUE, &error)) {
            fprintf(stderr, "slirpbypass agent: %s\n", error->message);
            return 1;
        }
        dir = g_path_get_dirname(path);
        (void)g_mkdir_with_parents(dir, 0700);
    }
    loop = g_main_loop_new(NULL, FALSE);
    d = pb_dispatcher_new(fd < 0 ? path : NULL, fd, NULL, &error);
    if (d == NULL) {
        fprintf(stderr, "slirpbypass agent: %s\n", error->message);
        return 1;
    }
    g_unix_signal_add(SIGTERM, on_quit, loop);
    g_unix_signal_add(SIGINT, on_quit, loop);
    g_unix_signal_add(SIGHUP, on_quit, loop);
    fprintf(stderr, "slirpbypass agent %s: serving %s (pid %d)\n", SB_VERSION,
            fd < 0 ? path : "the socket from systemd", (int)getpid());
    g_main_loop_run(loop);
    fprintf(stderr, "slirpbypass agent: exiting\n");
    return 0;
}
