/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lifecycle.c: the ready-fd byte.
 *
 * Theory of operation: clients (podman, rootlesskit) wait for exactly one
 * byte "1" on the ready fd and then EOF; it is written only after every
 * piece (tap, forwards, API socket, bypass listener, sandbox, seccomp) is
 * in place.  (The socket files are unlinked by their owners, port-driver
 * and plugin, through directory fds opened at bind time, because the
 * sandbox pivots the process away from their paths.)
 */
#include "slirp_bridge.h"

#include <errno.h>
#include <unistd.h>

/**
 * sb_ready_fd_signal: write "1" to @ready_fd (retrying EINTR) and close it.
 * @ready_fd: the fd from -r, or -1 for none
 *
 * A write error is reported on stderr but is not fatal, as in slirp4netns:
 * the reader may already be gone.
 *
 * Returns: TRUE if the byte was written (or there is no ready fd).
 */
gboolean
sb_ready_fd_signal(int ready_fd)
{
    ssize_t n;

    if (ready_fd < 0)
        return TRUE;
    do {
        n = write(ready_fd, "1", 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1)
        fprintf(stderr, "ready-fd %d: write: %s\n", ready_fd,
                n < 0 ? g_strerror(errno) : "short write");
    close(ready_fd);
    return n == 1;
}
