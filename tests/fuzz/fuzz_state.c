/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_state.c: libFuzzer target for the OCI ContainerProcessState that
 * runtimes send to the bypass listener: the JSON framing
 * (pb_json_value_end) and the validating parser (pb_process_state_parse).
 *
 * Theory of operation: the first byte is the number of fds "received"
 * with the message (0-31), the rest is the message.  Properties: the
 * framing never claims more bytes than given; an accepted state names a
 * seccompFd within the fds it says it has and not beyond those received.
 */
#include "plugin.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    PbProcessState st = { 0 };
    g_autoptr(GError) error = NULL;
    guint nfds;
    gssize end;

    if (size < 1)
        return 0;
    nfds = data[0] & 31;
    data++;
    size--;
    end = pb_json_value_end((const char *)data, size);
    if (end > (gssize)size)
        abort();
    if (pb_process_state_parse((const char *)data, size, nfds, &st, &error)) {
        if (st.seccomp_index >= st.nfds || st.nfds > nfds)
            abort();
    } else if (error == NULL) {
        abort(); /* a refusal always says why */
    }
    pb_process_state_clear(&st);
    return 0;
}
