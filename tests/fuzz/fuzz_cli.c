/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_cli.c: libFuzzer target for the command line parser
 * (sb_cli_parse): slirp4netns's options, the extensions, --publish specs.
 *
 * Theory of operation: the input is split at NUL bytes into at most 32
 * arguments after argv[0].  Properties: a refusal always says why (the
 * message is what the user sees); a success leaves a configuration that
 * sb_config_clear() releases (LeakSanitizer checks).
 */
#include "slirp_bridge.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

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
