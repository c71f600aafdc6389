/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sbcp.h: libslirpbypass-crun.so, the crun seccomp notify plugin (its
 * files share this header; docs/crun-plugin.md says how to use it).
 *
 * Theory of operation: crun loads the plugin named by the annotation
 * run.oci.seccomp.plugins (foreground `crun run` only), calls NOTIF_RECV
 * on the container's notify fd itself and hands each notification to
 * run_oci_seccomp_notify_handle_request() (entry.c).  The plugin forwards
 * it with the fd to the per-user `slirpbypass agent` (forward.c), as a
 * {"slirpbypass":"notification"} message (message.c; the agent's side is
 * plugin/notification.c), and the helper serving the container's network
 * namespace answers it exactly like one it received itself.  The plugin
 * then tells crun "delayed response" (someone else answers); on any
 * failure it tells crun to answer CONTINUE, so that the call runs in the
 * container and takes the slirp path.  Nothing waits longer than
 * SBCP_TIMEOUT_MS, and after a timeout the plugin stops trying for
 * SBCP_BACKOFF_S.
 *
 * The plugin uses libc only: it lives in crun's process, which must not
 * gain GLib's global state, threads or exit handlers, and which
 * dlclose()s its plugins (GLib cannot be unloaded safely).
 */
#ifndef SBCP_H
#define SBCP_H

#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/types.h>

/* crun's plugin ABI (crun src/libcrun/seccomp_notify_plugin.h, 1.8.1;
 * the same in conmon). */
struct libcrun_load_seccomp_notify_conf_s {
    const char *runtime_root_path;
    const char *name;
    const char *bundle_path;
    const char *oci_config_path;
};
#define RUN_OCI_SECCOMP_NOTIFY_HANDLE_NOT_HANDLED 0
#define RUN_OCI_SECCOMP_NOTIFY_HANDLE_SEND_RESPONSE 1
#define RUN_OCI_SECCOMP_NOTIFY_HANDLE_DELAYED_RESPONSE 2
#define RUN_OCI_SECCOMP_NOTIFY_HANDLE_SEND_RESPONSE_AND_CONTINUE 3

#define SBCP_EXPORT __attribute__((visibility("default")))

/* The entry points crun looks up with dlsym (entry.c).  crun calls
 * run_oci_seccomp_notify_version; its example plugin exports the other
 * name: both say 1. */
SBCP_EXPORT int run_oci_seccomp_notify_version(void);
SBCP_EXPORT int run_oci_seccomp_notify_plugin_version(void);
SBCP_EXPORT int
run_oci_seccomp_notify_start(void **opaque,
                             struct libcrun_load_seccomp_notify_conf_s *conf,
                             size_t size_configuration);
SBCP_EXPORT int run_oci_seccomp_notify_handle_request(
    void *opaque, struct seccomp_notif_sizes *sizes, struct seccomp_notif *sreq,
    struct seccomp_notif_resp *sresp, int seccomp_fd, int *handled);
SBCP_EXPORT int run_oci_seccomp_notify_stop(void *opaque);

/* How long one forward may take, and how long the plugin stops trying
 * after one timed out (the agent is stuck: every trapped call of the
 * container would wait that long). */
#define SBCP_TIMEOUT_MS 1000
#define SBCP_BACKOFF_S 10

/* message.c */
/* The message for @req (@id may be NULL) into @buf of @size bytes.
 * Returns: its length, or -1 if @buf is too small. */
int sbcp_notification_json(char *buf, size_t size,
                           const struct seccomp_notif *req, const char *id);
/* The agent's socket into @buf: $SLIRPBYPASS_AGENT_SOCKET, else the
 * default of `slirpbypass agent`.  Returns: 0 or -errno. */
int sbcp_agent_socket(char *buf, size_t size);
/* Our uid outside the user namespace crun runs in (/proc/self/uid_map;
 * getuid() if that cannot be read). */
uid_t sbcp_outer_uid(void);

/* forward.c */
/* Send @json with @seccomp_fd to the agent at @path and wait at most
 * @timeout_ms for its answer.  Returns: 0 if it took the notification,
 * -errno otherwise (-ETIMEDOUT: no answer in time; -EPROTO: it said
 * "continue" or something else). */
int sbcp_forward(const char *path, const char *json, int seccomp_fd,
                 int timeout_ms);

#endif /* SBCP_H */
