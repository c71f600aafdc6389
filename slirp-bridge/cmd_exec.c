/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_exec.c: the command line of `slirpbypass exec` (plugin/exec.c does
 * the work, as libcrun does for crun's CLI).
 *
 * Theory of operation: parse the options, find COMMAND, then connect to
 * the agent, load the filter and hand it over (pb_exec_*), and execvp().
 * Errors before the filter is loaded may fall back (--fallback); after,
 * the command is not run.  Exit status like env(1)/podman: 125 for our
 * own errors, 126 if COMMAND cannot be run, 127 if it is not found.
 */
#include "commands.h"

#include "plugin.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_OURS 125
#define EXIT_CANNOT_RUN 126
#define EXIT_NOT_FOUND 127
#define DEFAULT_METADATA "slirpbypass-exec"
#define DEFAULT_TIMEOUT_S 5

static void
print_usage(FILE *out)
{
    g_autofree char *def = pb_default_socket_path();

    fprintf(
        out,
        "Usage: slirpbypass exec [OPTION]... [--] COMMAND [ARG]...\n"
        "Run COMMAND with its connect(), bind() and listen() calls handed to "
        "the\nslirpbypass helper serving its network namespace, through the "
        "per-user agent\n(`slirpbypass agent`; or a helper's own "
        "--bypass-socket). Run it inside a\nnetwork namespace a helper "
        "serves; elsewhere the calls run as without the\nbypass.\n"
        "\n"
        "  -s, --socket=PATH    the agent socket (default: %s)\n"
        "      --fallback       if the agent cannot be reached, run "
        "COMMAND without the\n"
        "                       bypass (a warning on stderr) instead of "
        "failing\n"
        "      --metadata=STR   metadata sent to the agent (default: "
        "%s)\n"
        "      --no-bind        do not trap bind()\n"
        "      --timeout=SEC    wait at most SEC seconds for the agent "
        "to take the\n"
        "                       seccomp fd (default: %d)\n"
        "  -h, --help           show this help and exit\n"
        "\n"
        "Under the filter, sends with MSG_FASTOPEN and setsockopt "
        "TCP_FASTOPEN_CONNECT\nfail with EOPNOTSUPP (TCP Fast Open off), "
        "and io_uring with ENOSYS.\n"
        "COMMAND and its children inherit the filter (and "
        "NO_NEW_PRIVS when run without\nCAP_SYS_ADMIN). Exit status: "
        "125 if slirpbypass fails, 126 if COMMAND cannot\nbe run, 127 "
        "if COMMAND is not found, else the status of COMMAND.\n",
        def, DEFAULT_METADATA, DEFAULT_TIMEOUT_S);
}

/* Parse a timeout in seconds, 1..3600. */
static gboolean
parse_timeout(const char *s, guint *out)
{
    guint64 v;

    if (!g_ascii_string_to_unsigned(s, 10, 1, 3600, &v, NULL))
        return FALSE;
    *out = (guint)v;
    return TRUE;
}

/**
 * sb_cmd_exec_main:
 * @argc: argument count, @argv: argv[0] is "exec"
 *
 * Returns: only on failure (success replaces the process): 125 for our
 * errors, 126/127 when COMMAND cannot be run / is not found, 0 for --help.
 */
int
sb_cmd_exec_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "socket", required_argument, NULL, 's' },
        { "fallback", no_argument, NULL, 'F' },
        { "metadata", required_argument, NULL, 'M' },
        { "no-bind", no_argument, NULL, 'B' },
        { "timeout", required_argument, NULL, 'T' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    g_autofree char *def_path = pb_default_socket_path();
    g_autofree char *found = NULL;
    g_autofree char *state = NULL;
    g_autoptr(GError) error = NULL;
    const char *path = def_path;
    const char *metadata = DEFAULT_METADATA;
    const char *cmd;
    gboolean fallback = FALSE;
    gboolean no_bind = FALSE;
    guint timeout_s = DEFAULT_TIMEOUT_S;
    int status = EXIT_OURS;
    int sock = -1;
    int nfd = -1;
    int netns_fd = -1;
    int c;

    optind = 0; /* GNU: re-initialise; '+': stop at COMMAND */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            path = optarg;
            break;
        case 'F':
            fallback = TRUE;
            break;
        case 'M':
            metadata = optarg;
            break;
        case 'B':
            no_bind = TRUE;
            break;
        case 'T':
            if (!parse_timeout(optarg, &timeout_s)) {
                g_printerr("slirpbypass exec: bad --timeout '%s' (1..3600 "
                           "seconds)\n",
                           optarg);
                goto out;
            }
            break;
        case 'h':
            print_usage(stdout);
            status = 0;
            goto out;
        default:
            g_printerr("slirpbypass exec: unknown option or missing "
                       "argument: '%s' (see --help)\n",
                       argv[optind - 1]);
            goto out;
        }
    }
    if (optind >= argc) {
        g_printerr("slirpbypass exec: no COMMAND given (see --help)\n");
        goto out;
    }
    cmd = argv[optind];
    if (!pb_socket_path_check(path, FALSE, &error)) {
        g_printerr("slirpbypass exec: %s\n", error->message);
        goto out;
    }
    /* Find the command before touching the agent, like env(1) would
     * after: nothing to undo when it does not exist. */
    if (strchr(cmd, '/') == NULL) {
        found = g_find_program_in_path(cmd);
        if (found == NULL) {
            g_printerr("slirpbypass exec: %s: command not found\n", cmd);
            status = EXIT_NOT_FOUND;
            goto out;
        }
    }

    /* the agent routes by it (no /proc access needed there); best
     * effort: without it the agent routes by our pid */
    netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    sock = pb_exec_connect(path);
    if (sock < 0) {
        int e = errno;

        if (!fallback) {
            g_printerr("slirpbypass exec: cannot reach the bypass agent at "
                       "%s: %s (is `slirpbypass agent` running? `systemctl "
                       "--user start slirpbypass-agent.socket` or a helper "
                       "with bypass=true starts it; --fallback runs without "
                       "it)\n",
                       path, g_strerror(e));
            goto out;
        }
        g_printerr("slirpbypass exec: warning: cannot reach the bypass agent "
                   "at %s: %s; running %s without the bypass\n",
                   path, g_strerror(e), cmd);
        goto run;
    }

    nfd = pb_exec_load_filter(no_bind, &error);
    if (nfd < 0) {
        if (!fallback) {
            g_printerr("slirpbypass exec: cannot install the seccomp filter: "
                       "%s\n",
                       error->message);
            goto out;
        }
        g_printerr("slirpbypass exec: warning: cannot install the seccomp "
                   "filter: %s; running %s without the bypass\n",
                   error->message, cmd);
        goto run;
    }

    /* The filter is in place: from here on, failing means not running
     * the command at all (its connect() would get ENOSYS). */
    state = pb_exec_state_json(getpid(), metadata, netns_fd >= 0);
    if (!pb_exec_handshake(sock, state, nfd, netns_fd, timeout_s, &error)) {
        g_printerr("slirpbypass exec: agent at %s: %s\n", path, error->message);
        goto out;
    }

run:
    if (netns_fd >= 0) {
        close(netns_fd);
        netns_fd = -1;
    }
    if (nfd >= 0) {
        close(nfd);
        nfd = -1;
    }
    if (sock >= 0) {
        close(sock);
        sock = -1;
    }
    execvp(found != NULL ? found : cmd, argv + optind);
    status = errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
    g_printerr("slirpbypass exec: cannot run %s: %s\n", cmd, g_strerror(errno));
out:
    if (netns_fd >= 0)
        close(netns_fd);
    if (nfd >= 0)
        close(nfd);
    if (sock >= 0)
        close(sock);
    return status;
}
