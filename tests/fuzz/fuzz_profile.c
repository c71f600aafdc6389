/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_profile.c: libFuzzer target for `slirpbypass seccomp-profile
 * --merge`: an arbitrary (hostile or broken) OCI seccomp profile.
 *
 * Theory of operation: the input is the profile text.  Properties: a
 * refusal always says why; a merged profile is JSON that merging again
 * leaves unchanged (the merge is documented as idempotent) and that names
 * our listener path.
 */
#include "plugin.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    PbProfileOptions opts = { .listener_path = "/run/fuzz/bypass.sock" };
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(GError) error2 = NULL;
    g_autofree char *once = NULL;
    g_autofree char *twice = NULL;
    JsonNode *merged, *again;

    merged = pb_profile_merge((const char *)data, (gssize)size, "fuzz", &opts,
                              warnings, &error);
    if (merged == NULL) {
        if (error == NULL)
            abort();
        return 0;
    }
    once = pb_profile_to_json(merged);
    json_node_unref(merged);
    if (strstr(once, opts.listener_path) == NULL)
        abort();
    again =
        pb_profile_merge(once, -1, "fuzz (again)", &opts, warnings, &error2);
    if (again == NULL)
        abort(); /* our own output must merge */
    twice = pb_profile_to_json(again);
    json_node_unref(again);
    if (strcmp(once, twice) != 0)
        abort(); /* not idempotent */
    return 0;
}
