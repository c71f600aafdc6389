/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lifecycle.c: the ready-fd byte and the socket files to unlink at exit.
 *
 * Theory of operation: clients (podman, rootlesskit) wait for exactly one
 * byte "1" on the ready fd and then EOF; it is written only after every
 * piece (tap, forwards, API socket, bypass listener, sandbox, seccomp) is
 * in place.  Socket files we bind must be unlinked at exit even though the
 * sandbox may have pivoted the process into a tree where their paths no
 * longer resolve, so each is remembered as (directory fd, basename),
 * opened at bind time, and removed with unlinkat().
 */
#include "slirp_bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
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

typedef struct {
    int dirfd;
    char *name;
} SbUnlinkItem;

struct SbUnlinkList {
    GArray *items; /* SbUnlinkItem */
};

/**
 * sb_unlink_list_new: an empty list of files to remove at exit.
 */
SbUnlinkList *
sb_unlink_list_new(void)
{
    SbUnlinkList *l = g_new0(SbUnlinkList, 1);

    l->items = g_array_new(FALSE, FALSE, sizeof(SbUnlinkItem));
    return l;
}

/**
 * sb_unlink_list_add: remember @path for sb_unlink_list_run().
 * @l: the list
 * @path: a file this process created
 * @error: SB_ERROR_SYSTEM if the parent directory cannot be opened
 *
 * Returns: TRUE on success.
 */
gboolean
sb_unlink_list_add(SbUnlinkList *l, const char *path, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    SbUnlinkItem item;

    item.dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (item.dirfd < 0) {
        g_set_error(error, SB_ERROR, SB_ERROR_SYSTEM, "open %s: %s", dir,
                    g_strerror(errno));
        return FALSE;
    }
    item.name = g_path_get_basename(path);
    g_array_append_val(l->items, item);
    return TRUE;
}

/**
 * sb_unlink_list_run: unlink every remembered file (errors ignored: the
 * file may already be gone) and forget them.
 */
void
sb_unlink_list_run(SbUnlinkList *l)
{
    for (guint i = 0; i < l->items->len; i++) {
        SbUnlinkItem *it = &g_array_index(l->items, SbUnlinkItem, i);
        (void)unlinkat(it->dirfd, it->name, 0);
        close(it->dirfd);
        g_free(it->name);
    }
    g_array_set_size(l->items, 0);
}

/**
 * sb_unlink_list_free: release the list without unlinking.  NULL is allowed.
 */
void
sb_unlink_list_free(SbUnlinkList *l)
{
    if (!l)
        return;
    for (guint i = 0; i < l->items->len; i++) {
        SbUnlinkItem *it = &g_array_index(l->items, SbUnlinkItem, i);
        close(it->dirfd);
        g_free(it->name);
    }
    g_array_free(l->items, TRUE);
    g_free(l);
}
