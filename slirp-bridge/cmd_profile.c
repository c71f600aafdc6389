/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_profile.c: the command line of `slirpbypass seccomp-profile`
 * (plugin/profile.c builds and merges the profiles).
 *
 * Theory of operation: parse the options, read the profile to merge (a
 * file or stdin), call pb_profile_build() or pb_profile_merge(), print the
 * warnings on stderr and the JSON on stdout.  Exit 0, or 1 with one line
 * naming the bad input.
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

/* Print the usage text on @out. */
static void
print_usage(FILE *out)
{
    g_autofree char *def = pb_default_socket_path();

    fprintf(out,
            "Usage: slirpbypass seccomp-profile [OPTION]...\n"
            "Print an OCI seccomp profile that hands connect(), bind() and "
            "listen() to the\nslirpbypass agent listening on PATH: by "
            "default the per-user agent\n(`slirpbypass agent`), which passes "
            "each container to the helper serving it.\n"
            "\n"
            "  -l, --listener-path=PATH  the agent socket, absolute "
            "(default: %s)\n"
            "  -m, --merge=FILE          rewrite the existing profile FILE "
            "('-': stdin) instead\n"
            "                            of printing a minimal one "
            "(defaultAction SCMP_ACT_ALLOW)\n"
            "      --metadata=STR        set listenerMetadata (merge: "
            "default keeps FILE's)\n"
            "      --no-bind             do not trap bind() "
            "(only connect() and listen())\n"
            "  -o, --output=FILE         write to FILE instead of stdout\n"
            "  -h, --help                show this help and exit\n"
            "\n"
            "The profile also traps sendto/sendmsg/sendmmsg with "
            "MSG_FASTOPEN and setsockopt\nTCP_FASTOPEN_CONNECT, which "
            "slirpbypass refuses (EOPNOTSUPP), and denies io_uring.\n"
            "\n"
            "--merge removes connect/bind/listen from FILE's unconditional "
            "SCMP_ACT_ALLOW rules, drops\nrules left empty, prepends the "
            "SCMP_ACT_NOTIFY rule and sets listenerPath. It refuses\na "
            "different existing listenerPath, a rule that denies or "
            "conditionally allows\nconnect/bind/listen, and defaultAction "
            "SCMP_ACT_NOTIFY.\n"
            "\n"
            "Use: podman run --security-opt seccomp=PROFILE ...; runc/crun: "
            "put it in\nconfig.json at linux.seccomp. Exit status: 0 on "
            "success, 1 on any error.\n",
            def);
}

/* Read @path ('-' = stdin) fully; one-line error naming the file. */
static gboolean
read_input(const char *path, char **data, gsize *len, GError **error)
{
    gboolean is_stdin = strcmp(path, "-") == 0;
    g_autoptr(GByteArray) buf = g_byte_array_new();
    gboolean ok = FALSE;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    guint8 chunk[65536];

    if (fd < 0)
        goto fail;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto fail;
        if (n == 0)
            break;
        g_byte_array_append(buf, chunk, (guint)n);
    }
    *len = buf->len;
    g_byte_array_append(buf, (const guint8 *)"", 1); /* NUL-terminate */
    *data = (char *)g_byte_array_free(g_steal_pointer(&buf), FALSE);
    ok = TRUE;
    goto out;
fail:
    g_set_error(error, PB_ERROR, PB_ERROR_INVALID, "cannot read %s: %s",
                is_stdin ? "stdin" : path, g_strerror(errno));
out:
    if (fd >= 0 && !is_stdin)
        close(fd);
    return ok;
}

/**
 * sb_cmd_profile_main:
 * @argc: argument count, @argv: argv[0] is "seccomp-profile"
 *
 * Returns: 0 on success, 1 on any error (one line on stderr).
 */
int
sb_cmd_profile_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "listener-path", required_argument, NULL, 'l' },
        { "merge", required_argument, NULL, 'm' },
        { "metadata", required_argument, NULL, 'M' },
        { "no-bind", no_argument, NULL, 'B' },
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    PbProfileOptions opts = { 0 };
    g_autofree char *def_path = pb_default_socket_path();
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) prof = NULL;
    g_autofree char *text = NULL;
    g_autofree char *data = NULL;
    const char *merge = NULL;
    const char *output = NULL;
    gsize len = 0;
    int status = 1;
    int c;

    opts.listener_path = def_path;
    optind = 0; /* GNU: re-initialise, main() may have run getopt */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+l:m:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            opts.listener_path = optarg;
            break;
        case 'm':
            merge = optarg;
            break;
        case 'M':
            opts.metadata = optarg;
            break;
        case 'B':
            opts.no_bind = TRUE;
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
            print_usage(stdout);
            status = 0;
            goto out;
        default:
            g_printerr("slirpbypass seccomp-profile: unknown option or "
                       "missing argument: '%s' (see --help)\n",
                       argv[optind - 1]);
            goto out;
        }
    }
    if (optind < argc) {
        g_printerr("slirpbypass seccomp-profile: unexpected argument '%s' "
                   "(see --help)\n",
                   argv[optind]);
        goto out;
    }

    if (merge != NULL) {
        if (!read_input(merge, &data, &len, &error))
            goto fail;
        prof = pb_profile_merge(data, (gssize)len,
                                strcmp(merge, "-") == 0 ? "stdin" : merge,
                                &opts, warnings, &error);
    } else {
        prof = pb_profile_build(&opts, &error);
    }
    if (prof == NULL)
        goto fail;
    for (guint i = 0; i < warnings->len; i++)
        g_printerr("slirpbypass seccomp-profile: warning: %s\n",
                   (const char *)warnings->pdata[i]);

    text = pb_profile_to_json(prof);
    if (output != NULL) {
        if (!g_file_set_contents(output, text, -1, &error))
            goto fail;
    } else if (fputs(text, stdout) == EOF || fflush(stdout) != 0) {
        g_printerr("slirpbypass seccomp-profile: writing stdout: %s\n",
                   g_strerror(errno));
        goto out;
    }
    status = 0;
    goto out;
fail:
    g_printerr("slirpbypass seccomp-profile: %s\n", error->message);
out:
    return status;
}
