/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_state.c: libFuzzer target for the messages the bypass listener
 * and the per-user agent accept: the JSON framing (pb_json_value_end),
 * the ContainerProcessState runtimes send (pb_process_state_parse), a
 * helper's registration (pb_registration_parse) and a plugin's forwarded
 * notification (pb_notification_parse), told apart by pb_message_kind.
 *
 * Theory of operation: the first byte is the number of fds "received"
 * with the message (0-31), the rest is the message.  Properties: the
 * framing never claims more bytes than given; an accepted state names a
 * seccompFd within the fds it says it has and not beyond those received;
 * an accepted registration came with exactly its two fds, an accepted
 * notification with one; every refusal says why.
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
    (void)pb_message_kind((const char *)data, size);
    {
        g_autoptr(GError) rerr = NULL;
        PbRegistration reg;

        if (pb_registration_parse((const char *)data, size, nfds, &reg,
                                  &rerr)) {
            if (nfds != 2)
                abort();
        } else if (rerr == NULL) {
            abort();
        }
    }
    {
        g_autoptr(GError) nerr = NULL;
        PbNotification note;

        if (pb_notification_parse((const char *)data, size, nfds, &note,
                                  &nerr)) {
            if (nfds != 1)
                abort();
            pb_notification_clear(&note);
        } else if (nerr == NULL) {
            abort();
        }
    }
    return 0;
}
