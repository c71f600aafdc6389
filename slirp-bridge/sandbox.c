/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sandbox.c: --enable-sandbox, a mount namespace with almost nothing in it
 * and a capability set reduced to CAP_NET_BIND_SERVICE.
 *
 * Theory of operation.  The slirp path needs very little of the file
 * system once it runs: /etc (resolv.conf, hosts) and /run (a resolv.conf
 * symlink target on systemd-resolved hosts).  Everything else it uses
 * (the tap fd, host sockets, the API socket, a directory fd for unlinking
 * socket files, the bypass's /proc fd) is already open.  So, like
 * slirp4netns's create_sandbox(), we
 *
 *   1. get CAP_SYS_ADMIN over a mount namespace we may create
 *      (sb_sandbox_join_userns(): join the target's user namespace, or when
 *      there is none to join, create a private one mapping our uid to 0);
 *   2. unshare(CLONE_NEWNS) and build a tiny root on a tmpfs mounted over
 *      /tmp: read-only, nosuid/nodev/noexec binds of /etc and /run, plus
 *      the real file behind /etc/resolv.conf when its symlink chain leaves
 *      /etc and /run (NixOS: /nix/store/...);
 *   3. pivot_root into it and detach the old root;
 *   4. set no_new_privs, clear the ambient set, drop the bounding set and
 *      capset() down to CAP_NET_BIND_SERVICE plus whatever the caller
 *      explicitly keeps (e.g. CAP_SYS_PTRACE for the bypass).
 *
 * Where we differ from slirp4netns, on purpose:
 *   - "/" is made recursively *slave*, not private, before anything is
 *     mounted.  Nothing we mount can propagate back to the caller's
 *     namespace (our tmpfs on /tmp stays ours even if /tmp was a shared
 *     mount), while the caller's later /run submounts still propagate in
 *     (slirp4netns#153: podman mounts netns files under /run after start).
 *   - The binds are read-only recursively (mount_setattr(AT_RECURSIVE)),
 *     not just their top mount, when the kernel supports it.
 *   - With --netns-type=path and no --userns-path, slirp4netns fails with
 *     "setegid(0)" (slirp4netns#317).  We create a private user namespace
 *     instead, which is all the mount-namespace sandbox needs.
 *   - The sandbox refuses to start in a multi-threaded process: mount
 *     namespaces and capabilities are per thread, so a thread started
 *     earlier would keep the full host view and every capability.
 */
#include "slirp_bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The directory the new root is built in, as in slirp4netns.  A tmpfs is
 * mounted over it, only in our own mount namespace. */
#define SB_SANDBOX_ROOT "/tmp"
/* Room for a few directories and an empty file for the resolv.conf bind:
 * nothing else is ever written there (and / is read-only afterwards). */
#define SB_SANDBOX_TMPFS_OPTS "size=16k,nr_inodes=64,mode=0755"
#define SB_SANDBOX_MNT_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)

/*
 * sandbox_set_error: fill @error with "sandbox: CALL PATH: strerror(err)".
 * @call: the syscall (or step) that failed; @path: its path, or NULL.
 * Returns FALSE so callers can `return sandbox_set_error(...)`.
 */
static gboolean
sandbox_set_error(GError **error, const char *call, const char *path, int err)
{
    if (path != NULL)
        g_set_error(error, SB_ERROR, SB_ERROR_SYSTEM, "sandbox: %s %s: %s",
                    call, path, g_strerror(err));
    else
        g_set_error(error, SB_ERROR, SB_ERROR_SYSTEM, "sandbox: %s: %s", call,
                    g_strerror(err));
    return FALSE;
}

/*
 * sandbox_check_single_threaded: setns(CLONE_NEWUSER) and unshare() act on
 * the calling thread only (or refuse), and capabilities are per thread, so
 * both steps must run before any thread exists.
 * Returns FALSE with @error set when another thread exists.
 */
static gboolean
sandbox_check_single_threaded(GError **error)
{
    g_autoptr(GDir) dir = NULL;
    GError *local = NULL;
    guint n = 0;

    dir = g_dir_open("/proc/self/task", 0, &local);
    if (dir == NULL) {
        /* No /proc: we cannot tell; the syscalls themselves still refuse
         * the dangerous cases (EINVAL), so do not fail here. */
        g_clear_error(&local);
        return TRUE;
    }
    while (g_dir_read_name(dir) != NULL)
        n++;
    if (n > 1) {
        g_set_error(error, SB_ERROR, SB_ERROR_SYSTEM,
                    "sandbox: /proc/self/task: %u threads; the sandbox must "
                    "be entered before any thread starts",
                    n);
        return FALSE;
    }
    return TRUE;
}

/*
 * sandbox_write_file: write @content to the proc file @path in one write(),
 * as uid_map/gid_map require.
 * Returns FALSE with "sandbox: write PATH: ..." on error.
 */
static gboolean
sandbox_write_file(const char *path, const char *content, GError **error)
{
    size_t len = strlen(content);
    gboolean ok = FALSE;
    ssize_t n;
    int fd;

    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return sandbox_set_error(error, "open", path, errno);
    n = write(fd, content, len);
    if (n < 0) {
        sandbox_set_error(error, "write", path, errno);
        goto out;
    }
    if ((size_t)n != len) {
        sandbox_set_error(error, "write", path, EIO);
        goto out;
    }
    ok = TRUE;
out:
    close(fd);
    return ok;
}

/*
 * sandbox_become_root: set all three gids then uids to 0 in the user
 * namespace we are now in (setresgid/setresuid, unlike slirp4netns's
 * setegid/seteuid, so the saved ids cannot bring the old ones back).
 * @where: the namespace, for the message.  Returns FALSE with @error set.
 */
static gboolean
sandbox_become_root(const char *where, GError **error)
{
    if (setresgid(0, 0, 0) < 0)
        return sandbox_set_error(error, "setresgid(0)", where, errno);
    if (setresuid(0, 0, 0) < 0)
        return sandbox_set_error(error, "setresuid(0)", where, errno);
    return TRUE;
}

/*
 * sandbox_private_userns: unshare(CLONE_NEWUSER) and map our euid/egid to
 * 0, giving us CAP_SYS_ADMIN over mount namespaces we create, and nothing
 * over anything that already exists.  Used when there is no target user
 * namespace to join (--netns-type=path without --userns-path, tapfd).
 * Returns FALSE with @error naming the failed call and path.
 */
static gboolean
sandbox_private_userns(GError **error)
{
    uid_t uid = geteuid();
    gid_t gid = getegid();
    g_autofree char *uid_map = g_strdup_printf("0 %u 1\n", (unsigned)uid);
    g_autofree char *gid_map = g_strdup_printf("0 %u 1\n", (unsigned)gid);

    if (unshare(CLONE_NEWUSER) < 0)
        return sandbox_set_error(error, "unshare", "CLONE_NEWUSER", errno);
    /* setgroups must be denied before an unprivileged gid_map write; the
     * file is missing before Linux 3.19, where no such rule exists. */
    if (access("/proc/self/setgroups", F_OK) == 0 &&
        !sandbox_write_file("/proc/self/setgroups", "deny", error))
        return FALSE;
    if (!sandbox_write_file("/proc/self/uid_map", uid_map, error))
        return FALSE;
    if (!sandbox_write_file("/proc/self/gid_map", gid_map, error))
        return FALSE;
    return sandbox_become_root("(private user namespace)", error);
}

/*
 * sb_sandbox_join_userns: give an unprivileged process the CAP_SYS_ADMIN
 * that sb_sandbox_enter() needs, before the sandbox, while single-threaded.
 * @cfg: userns_path, else /proc/<target_pid>/ns/user in pid mode; without
 *       either (path or tapfd mode), or when the target shares our own user
 *       namespace, a private user namespace is created instead.
 * Does nothing when geteuid() is already 0 (real root, or podman running us
 * as root in its rootless user namespace).
 * Returns FALSE with @error naming the failed call and path.
 */
gboolean
sb_sandbox_join_userns(const SbConfig *cfg, GError **error)
{
    g_autofree char *path = NULL;
    struct stat self_st, target_st;
    gboolean ok = FALSE;
    int fd = -1;

    if (geteuid() == 0)
        return TRUE;
    if (!sandbox_check_single_threaded(error))
        return FALSE;

    if (cfg->userns_path != NULL)
        path = g_strdup(cfg->userns_path);
    else if (cfg->netns_type == SB_NETNS_PID && cfg->target_pid > 0)
        path = g_strdup_printf("/proc/%d/ns/user", (int)cfg->target_pid);
    if (path == NULL)
        return sandbox_private_userns(error);

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        sandbox_set_error(error, "open", path, errno);
        goto out;
    }
    if (fstat(fd, &target_st) < 0) {
        sandbox_set_error(error, "fstat", path, errno);
        goto out;
    }
    /* setns() into the namespace we are already in fails with EINVAL and
     * would give no capabilities anyway: use a private one. */
    if (stat("/proc/self/ns/user", &self_st) == 0 &&
        self_st.st_dev == target_st.st_dev &&
        self_st.st_ino == target_st.st_ino) {
        ok = sandbox_private_userns(error);
        goto out;
    }
    if (setns(fd, CLONE_NEWUSER) < 0) {
        sandbox_set_error(error, "setns", path, errno);
        goto out;
    }
    ok = sandbox_become_root(path, error);
out:
    if (fd >= 0)
        close(fd);
    return ok;
}

/*
 * sandbox_make_readonly: make the mount at @path (and with @recursive every
 * mount below it) read-only, nosuid, nodev, noexec.
 * mount_setattr(AT_RECURSIVE) covers submounts (e.g. /run/user/UID); on
 * kernels without it (< 5.12) fall back to slirp4netns's remount of the top
 * mount, carrying over the flags it already has because a user namespace
 * may not clear locked ones.
 * Returns FALSE with @error set.
 */
static gboolean
sandbox_make_readonly(const char *path, gboolean recursive, GError **error)
{
    struct mount_attr attr = {
        .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                    MOUNT_ATTR_NOEXEC,
    };
    unsigned long flags =
        MS_REMOUNT | MS_BIND | MS_RDONLY | SB_SANDBOX_MNT_FLAGS;
    struct statvfs sv;

    if (syscall(SYS_mount_setattr, AT_FDCWD, path, recursive ? AT_RECURSIVE : 0,
                &attr, sizeof attr) == 0)
        return TRUE;
    if (errno != ENOSYS && errno != EINVAL && errno != EPERM)
        return sandbox_set_error(error, "mount_setattr", path, errno);

    if (statvfs(path, &sv) < 0)
        return sandbox_set_error(error, "statvfs", path, errno);
    if (sv.f_flag & ST_NOATIME)
        flags |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME)
        flags |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME)
        flags |= MS_RELATIME;
    if (mount(NULL, path, NULL, flags, NULL) < 0)
        return sandbox_set_error(error, "mount(remount,ro)", path, errno);
    return TRUE;
}

/*
 * sandbox_bind: bind @from onto @to (recursively with @recursive), keep it
 * a slave of the caller's mounts so later submounts propagate in, and make
 * it read-only.  @from may be a /proc/self/fd/N magic link.
 * Returns FALSE with @error set.
 */
static gboolean
sandbox_bind(const char *from, const char *to, gboolean recursive,
             GError **error)
{
    unsigned long flags = MS_BIND | (recursive ? MS_REC : 0);

    if (mount(from, to, NULL, flags, NULL) < 0)
        return sandbox_set_error(error, "mount(bind)", from, errno);
    /* A bind of a slave mount is already a slave of the same master; this
     * is explicit so a private source cannot make it shared. */
    if (mount(NULL, to, NULL, MS_SLAVE | (recursive ? MS_REC : 0), NULL) < 0)
        return sandbox_set_error(error, "mount(rslave)", to, errno);
    return sandbox_make_readonly(to, recursive, error);
}

/*
 * sandbox_open_resolv_conf: find the file behind /etc/resolv.conf when its
 * symlink chain ends outside /etc and /run (which are bound anyway).
 * On success *@real_out is the realpath (or NULL: nothing to bind) and
 * *@fd_out an O_PATH fd to it (see sandbox_build_root for when).
 * Returns FALSE with @error set only for a target we cannot provide.
 */
static gboolean
sandbox_open_resolv_conf(char **real_out, int *fd_out, GError **error)
{
    g_autofree char *real = NULL;
    struct stat st;
    int fd;

    *real_out = NULL;
    *fd_out = -1;
    real = realpath("/etc/resolv.conf", NULL);
    if (real == NULL)
        return TRUE; /* none, or dangling: libslirp copes without it */
    if (g_str_has_prefix(real, "/etc/") || g_str_has_prefix(real, "/run/"))
        return TRUE;
    if (g_str_has_prefix(real, "/old/")) {
        /* It would sit under the old root's mount point and be detached
         * with it. */
        return sandbox_set_error(error, "bind resolv.conf", real, ENOTSUP);
    }
    fd = open(real, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return TRUE; /* vanished since realpath(): nothing to bind */
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return TRUE;
    }
    *real_out = g_steal_pointer(&real);
    *fd_out = fd;
    return TRUE;
}

/*
 * sandbox_bind_resolv_conf: create SB_SANDBOX_ROOT/@real (parents and an
 * empty file) and bind the file open at @fd onto it, read-only.
 * Returns FALSE with @error set.
 */
static gboolean
sandbox_bind_resolv_conf(const char *real, int fd, GError **error)
{
    g_autofree char *target = g_strconcat(SB_SANDBOX_ROOT, real, NULL);
    g_autofree char *parent = g_path_get_dirname(target);
    g_autofree char *source = g_strdup_printf("/proc/self/fd/%d", fd);
    int tfd;

    if (g_mkdir_with_parents(parent, 0755) < 0)
        return sandbox_set_error(error, "mkdir", parent, errno);
    tfd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (tfd < 0)
        return sandbox_set_error(error, "open", target, errno);
    close(tfd);
    if (mount(source, target, NULL, MS_BIND, NULL) < 0)
        return sandbox_set_error(error, "mount(bind)", real, errno);
    return sandbox_make_readonly(target, FALSE, error);
}

/*
 * sandbox_build_root: steps 2 and 3 of the theory of operation: the new
 * mount namespace, the tmpfs root with its binds, pivot_root.
 * Returns FALSE with @error set; the process is then half-sandboxed and
 * must exit (the caller does).
 */
static gboolean
sandbox_build_root(GError **error)
{
    static const char *const dirs[] = { SB_SANDBOX_ROOT "/etc",
                                        SB_SANDBOX_ROOT "/run",
                                        SB_SANDBOX_ROOT "/old" };
    g_autofree char *resolv_real = NULL;
    gboolean ok = FALSE;
    int resolv_fd = -1;
    guint i;

    if (unshare(CLONE_NEWNS) < 0)
        return sandbox_set_error(error, "unshare", "CLONE_NEWNS", errno);
    /* Slave, not private: see the theory of operation (slirp4netns#153). */
    if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return sandbox_set_error(error, "mount(rslave)", "/", errno);
    /* Opened in the new namespace (a bind source must be a mount of ours)
     * and before the tmpfs covers /tmp (the file may live there). */
    if (!sandbox_open_resolv_conf(&resolv_real, &resolv_fd, error))
        goto out;
    if (mount("tmpfs", SB_SANDBOX_ROOT, "tmpfs", SB_SANDBOX_MNT_FLAGS,
              SB_SANDBOX_TMPFS_OPTS) < 0) {
        sandbox_set_error(error, "mount(tmpfs)", SB_SANDBOX_ROOT, errno);
        goto out;
    }
    for (i = 0; i < G_N_ELEMENTS(dirs); i++) {
        if (mkdir(dirs[i], 0755) < 0) {
            sandbox_set_error(error, "mkdir", dirs[i], errno);
            goto out;
        }
    }
    if (!sandbox_bind("/etc", SB_SANDBOX_ROOT "/etc", TRUE, error))
        goto out;
    if (!sandbox_bind("/run", SB_SANDBOX_ROOT "/run", TRUE, error))
        goto out;
    if (resolv_real != NULL &&
        !sandbox_bind_resolv_conf(resolv_real, resolv_fd, error))
        goto out;

    if (chdir(SB_SANDBOX_ROOT) < 0) {
        sandbox_set_error(error, "chdir", SB_SANDBOX_ROOT, errno);
        goto out;
    }
    if (syscall(SYS_pivot_root, ".", "old") < 0) {
        sandbox_set_error(error, "pivot_root", SB_SANDBOX_ROOT, errno);
        goto out;
    }
    if (chdir("/") < 0) {
        sandbox_set_error(error, "chdir", "/", errno);
        goto out;
    }
    if (umount2("/old", MNT_DETACH) < 0) {
        sandbox_set_error(error, "umount2", "/old", errno);
        goto out;
    }
    if (rmdir("/old") < 0) {
        sandbox_set_error(error, "rmdir", "/old", errno);
        goto out;
    }
    /* Read-only root; some environments refuse (slirp4netns#163) and the
     * root holds nothing writable worth protecting, so ignore errors. */
    (void)mount(NULL, "/", NULL,
                MS_REMOUNT | MS_BIND | MS_RDONLY | SB_SANDBOX_MNT_FLAGS, NULL);
    ok = TRUE;
out:
    if (resolv_fd >= 0)
        close(resolv_fd);
    return ok;
}

/*
 * sandbox_drop_caps: step 4: no_new_privs, empty ambient set, bounding set
 * reduced to @keep, and effective = permitted = inheritable = @keep (as far
 * as we hold those capabilities: we can never gain one).
 * Raw prctl/capset syscalls, so no libcap dependency.
 * Returns FALSE with @error set.
 */
static gboolean
sandbox_drop_caps(guint64 keep, GError **error)
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    guint64 permitted, want;
    int cap;

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return sandbox_set_error(error, "prctl", "PR_SET_NO_NEW_PRIVS", errno);
    /* EINVAL: a kernel before 4.3 has no ambient set to clear. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
        errno != EINVAL)
        return sandbox_set_error(error, "prctl", "PR_CAP_AMBIENT_CLEAR_ALL",
                                 errno);
    /* PR_CAPBSET_READ fails with EINVAL past the kernel's last capability. */
    for (cap = 0;; cap++) {
        int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
        if (r < 0)
            break;
        if (r == 0 || (cap < 64 && (keep & (G_GUINT64_CONSTANT(1) << cap))))
            continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            g_autofree char *what = g_strdup_printf("PR_CAPBSET_DROP %d", cap);
            return sandbox_set_error(error, "prctl", what, errno);
        }
    }

    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &hdr, data) < 0)
        return sandbox_set_error(error, "capget", NULL, errno);
    permitted = (guint64)data[0].permitted | ((guint64)data[1].permitted << 32);
    want = keep & permitted;

    memset(data, 0, sizeof data);
    data[0].effective = data[0].permitted = data[0].inheritable = (guint32)want;
    data[1].effective = data[1].permitted = data[1].inheritable =
        (guint32)(want >> 32);
    if (syscall(SYS_capset, &hdr, data) < 0)
        return sandbox_set_error(error, "capset", NULL, errno);
    return TRUE;
}

/*
 * sb_sandbox_enter: the --enable-sandbox lock-down (see the theory of
 * operation), after the tap, the API socket and any other file the process
 * needs are open.
 * @cfg: unused today (kept for options that change the sandbox);
 * @opts: NULL, or keep_caps: capabilities kept beside CAP_NET_BIND_SERVICE.
 * Returns FALSE with @error "sandbox: CALL PATH: reason"; the process must
 * then exit, as it may be half-way into the sandbox.
 */
gboolean
sb_sandbox_enter(const SbConfig *cfg, const SbSandboxOptions *opts,
                 GError **error)
{
    guint64 keep = G_GUINT64_CONSTANT(1) << CAP_NET_BIND_SERVICE;

    if (opts != NULL)
        keep |= opts->keep_caps;
    if (!sandbox_check_single_threaded(error))
        return FALSE;
    if (!sandbox_build_root(error))
        return FALSE;
    return sandbox_drop_caps(keep, error);
}
