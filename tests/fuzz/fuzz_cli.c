/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_cli.c: libFuzzer target for the command line parser
 * (sb_cli_parse): slirp4netns's options, the extensions, --publish specs.
 *
 * Theory of operation: an input starting with the byte 0x01 is a
 * configuration file (the rest of it, GKeyFile, [slirpbypass] keys),
 * read through a memfd as the user's file for a plain `1 tap0` command
 * line; any other input is split at NUL bytes into at most 32 arguments
 * after argv[0] (the -o option strings among them).  Properties: a refusal
 * always says why (the message is what the user sees); a success leaves a
 * configuration that sb_config_clear() releases (LeakSanitizer checks).
 */
#include "slirp_bridge.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

/*
 * fuzz_config_file: parse `slirpbypass 1 tap0` with @data as the user's
 * configuration file (a memfd) and no system file.
 */
static int
fuzz_config_file(const guint8 *data, size_t size)
{
    char *argv[] = { (char *)"slirpbypass", (char *)"1", (char *)"tap0", NULL };
    g_autofree char *path = NULL;
    g_autoptr(GError) error = NULL;
    SbCliAction action;
    SbConfig cfg;
    int fd = memfd_create("fuzz-conf", MFD_CLOEXEC);

    if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
        abort();
    path = g_strdup_printf("/proc/self/fd/%d", fd);
    g_setenv("SLIRPBYPASS_USER_CONFIG", path, TRUE);
    g_setenv("SLIRPBYPASS_SYSTEM_CONFIG", "/nonexistent/slirpbypass.conf",
             TRUE);
    sb_config_init(&cfg);
    cfg.read_config_files = TRUE;
    if (!sb_cli_parse(3, argv, &cfg, &action, &error) && error == NULL)
        abort();
    sb_config_clear(&cfg);
    close(fd);
    return 0;
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    g_autofree char *copy = g_malloc(size + 1);
    char *argv[34];
    int argc = 0;
    SbConfig cfg;
    SbCliAction action;
    g_autoptr(GError) error = NULL;
    gsize start = 0;

    if (size > 0 && data[0] == 0x01)
        return fuzz_config_file(data + 1, size - 1);
    memcpy(copy, data, size);
    copy[size] = '\0';
    argv[argc++] = (char *)"slirpbypass";
    for (gsize i = 0; i <= size && argc < 33; i++) {
        if (copy[i] == '\0') {
            argv[argc++] = copy + start;
            start = i + 1;
        }
    }
    argv[argc] = NULL;
    sb_config_init(&cfg);
    if (!sb_cli_parse(argc, argv, &cfg, &action, &error) && error == NULL)
        abort();
    sb_config_clear(&cfg);
    return 0;
}
