/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * entry.c: the entry points crun calls (see sbcp.h for the whole plugin).
 *
 * Theory of operation.  start() (once per container) remembers the
 * container's name and the agent's socket path; handle_request() (once
 * per notification crun received) forwards it (forward.c) and answers
 * crun "delayed response" when the agent took it, "send response and
 * continue" otherwise: a notification is never left unanswered and the
 * plugin never returns an error, which would end crun's wait loop.  The
 * first failure is logged on crun's stderr, once per container; after a
 * timeout the plugin answers CONTINUE at once for SBCP_BACKOFF_S.
 * There is no state but the opaque per-container struct: no threads, no
 * exit handlers, so crun may dlclose() the plugin after stop().
 */
#include "sbcp.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

/* The per-container state (crun's "opaque"). */
typedef struct {
    char *name; /* the container id, or NULL */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int path_err;   /* sbcp_agent_socket()'s error, 0 if @path is valid */
    int logged;     /* the first failure was logged */
    time_t backoff; /* answer CONTINUE at once until then (monotonic s) */
} SbcpState;

/*
 * mono_s: the monotonic clock in seconds.
 */
static time_t
mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/*
 * log_once: say once per container why calls take the slirp path.
 */
static void
log_once(SbcpState *st, int err)
{
    if (st->logged)
        return;
    st->logged = 1;
    fprintf(stderr,
            "slirpbypass-crun: agent %s: %s; trapped calls take the slirp "
            "path\n",
            st->path_err ? "(no socket path)" : st->path, strerror(-err));
}

/**
 * run_oci_seccomp_notify_version:
 *
 * Returns: 1, the plugin ABI version crun requires.
 */
int
run_oci_seccomp_notify_version(void)
{
    return 1;
}

/**
 * run_oci_seccomp_notify_plugin_version:
 *
 * The name crun's example plugin exports (crun itself never calls it).
 *
 * Returns: 1.
 */
int
run_oci_seccomp_notify_plugin_version(void)
{
    return 1;
}

/**
 * run_oci_seccomp_notify_start:
 * @opaque: (out): the per-container state
 * @conf: the container (its "name" is kept, if the struct has it)
 * @size_configuration: sizeof *@conf as crun knows it
 *
 * Never fails for want of an agent or a socket path: the container must
 * run anyway (calls then take the slirp path).
 *
 * Returns: 0, or -ENOMEM (crun then fails the container's start).
 */
int
run_oci_seccomp_notify_start(void **opaque,
                             struct libcrun_load_seccomp_notify_conf_s *conf,
                             size_t size_configuration)
{
    SbcpState *st = calloc(1, sizeof *st);

    if (st == NULL)
        return -ENOMEM;
    if (conf != NULL &&
        size_configuration >=
            offsetof(struct libcrun_load_seccomp_notify_conf_s, name) +
                sizeof conf->name &&
        conf->name != NULL) {
        st->name = strdup(conf->name);
        if (st->name == NULL) {
            free(st);
            return -ENOMEM;
        }
    }
    st->path_err = sbcp_agent_socket(st->path, sizeof st->path);
    *opaque = st;
    return 0;
}

/**
 * run_oci_seccomp_notify_handle_request:
 * @opaque: the state from start()
 * @sizes: the kernel's struct sizes (SECCOMP_GET_NOTIF_SIZES)
 * @sreq: the notification crun received
 * @sresp: crun's response (left zeroed: CONTINUE needs error = val = 0)
 * @seccomp_fd: the container's notify fd
 * @handled: (out): DELAYED_RESPONSE if forwarded, else
 *           SEND_RESPONSE_AND_CONTINUE
 *
 * Blocks for at most SBCP_TIMEOUT_MS.
 *
 * Returns: 0 (always: an error would end crun's wait loop).
 */
int
run_oci_seccomp_notify_handle_request(void *opaque,
                                      struct seccomp_notif_sizes *sizes,
                                      struct seccomp_notif *sreq,
                                      struct seccomp_notif_resp *sresp,
                                      int seccomp_fd, int *handled)
{
    SbcpState *st = opaque;
    char json[2048];
    int r;

    (void)sresp;
    *handled = RUN_OCI_SECCOMP_NOTIFY_HANDLE_SEND_RESPONSE_AND_CONTINUE;
    if (st == NULL ||
        (sizes != NULL && sizes->seccomp_notif < sizeof(struct seccomp_notif)))
        return 0;
    if (st->path_err != 0) {
        log_once(st, st->path_err);
        return 0;
    }
    if (st->backoff != 0 && mono_s() < st->backoff)
        return 0;
    st->backoff = 0;
    /* a container id too long for the buffer is left out */
    if (sbcp_notification_json(json, sizeof json, sreq, st->name) < 0 &&
        sbcp_notification_json(json, sizeof json, sreq, NULL) < 0)
        return 0;
    r = sbcp_forward(st->path, json, seccomp_fd, SBCP_TIMEOUT_MS);
    if (r == 0) {
        *handled = RUN_OCI_SECCOMP_NOTIFY_HANDLE_DELAYED_RESPONSE;
        return 0;
    }
    log_once(st, r);
    if (r == -ETIMEDOUT)
        st->backoff = mono_s() + SBCP_BACKOFF_S;
    return 0;
}

/**
 * run_oci_seccomp_notify_stop:
 * @opaque: the state from start(), freed here
 *
 * Returns: 0.
 */
int
run_oci_seccomp_notify_stop(void *opaque)
{
    SbcpState *st = opaque;

    if (st != NULL) {
        free(st->name);
        free(st);
    }
    return 0;
}
