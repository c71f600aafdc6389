/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * conffile.c: the configuration files, where users of engines that do not
 * pass our options (podman validates its slirp4netns keys, rootlesskit has
 * a fixed argv) turn things on.
 *
 * Theory of operation: GKeyFile, group [slirpbypass], keys = the -o option
 * keys (cli.c applies them).  Read in this order, each overriding the one
 * before: /etc/slirpbypass/slirpbypass.conf, then
 * $XDG_CONFIG_HOME/slirpbypass/slirpbypass.conf (default ~/.config/...);
 * the command line comes after both.  SLIRPBYPASS_SYSTEM_CONFIG and
 * SLIRPBYPASS_USER_CONFIG name other files (tests, packaging).  A missing
 * file is no error; an unreadable or malformed one, another group, or an
 * unknown key (cli.c) is, naming the file: nothing is silently ignored.
 */
#include "slirp_bridge.h"

#include <string.h>

#define SB_CONF_GROUP "slirpbypass"

/**
 * sb_conffile_paths:
 *
 * Returns: (transfer full): the files to read, system first (g_strfreev).
 */
char **
sb_conffile_paths(void)
{
    const char *sys = g_getenv("SLIRPBYPASS_SYSTEM_CONFIG");
    const char *user = g_getenv("SLIRPBYPASS_USER_CONFIG");
    char **paths = g_new0(char *, 3);

    paths[0] =
        g_strdup(sys != NULL ? sys : "/etc/slirpbypass/slirpbypass.conf");
    paths[1] = user != NULL
                   ? g_strdup(user)
                   : g_build_filename(g_get_user_config_dir(), "slirpbypass",
                                      "slirpbypass.conf", NULL);
    return paths;
}

/**
 * sb_conffile_read:
 * @path: a configuration file
 * @keys: (out) (transfer full): its keys, file order (g_strfreev); NULL
 *   when the file does not exist
 * @values: (out) (transfer full): their values
 * @error: SB_ERROR_INVALID naming @path (unreadable, not a key file, a
 *   group other than [slirpbypass], a key given twice)
 *
 * Returns: TRUE if the file was read or does not exist.
 */
gboolean
sb_conffile_read(const char *path, char ***keys, char ***values, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) local = NULL;
    g_auto(GStrv) groups = NULL;
    gsize n = 0;

    *keys = NULL;
    *values = NULL;
    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &local)) {
        if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return TRUE;
        g_set_error(error, SB_ERROR, SB_ERROR_INVALID, "config file %s: %s",
                    path, local->message);
        return FALSE;
    }
    groups = g_key_file_get_groups(kf, NULL);
    for (guint i = 0; groups[i] != NULL; i++) {
        if (strcmp(groups[i], SB_CONF_GROUP) != 0) {
            g_set_error(error, SB_ERROR, SB_ERROR_INVALID,
                        "config file %s: unknown group [%s] (the only one is "
                        "[" SB_CONF_GROUP "])",
                        path, groups[i]);
            return FALSE;
        }
    }
    *keys = g_key_file_get_keys(kf, SB_CONF_GROUP, &n, NULL);
    if (*keys == NULL)
        *keys = g_new0(char *, 1);
    *values = g_new0(char *, n + 1);
    for (gsize i = 0; i < n; i++) {
        (*values)[i] =
            g_key_file_get_string(kf, SB_CONF_GROUP, (*keys)[i], &local);
        if ((*values)[i] == NULL) {
            g_set_error(error, SB_ERROR, SB_ERROR_INVALID,
                        "config file %s: key %s: %s", path, (*keys)[i],
                        local->message);
            g_clear_pointer(keys, g_strfreev);
            g_clear_pointer(values, g_strfreev);
            return FALSE;
        }
    }
    return TRUE;
}
