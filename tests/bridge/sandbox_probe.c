/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sandbox_probe.c: a test driver for slirp-bridge/sandbox.c and seccomp.c.
 *
 * Theory of operation: the probe does what main() does around the
 * sandbox (join or create a user namespace, enter the sandbox, load the
 * self-seccomp filter) and then reports, as "key=value" lines on stdout,
 * what a process in that state observes: its credentials and capability
 * sets, the contents of its root, whether it can write there, and what
 * happens (killed by SIGSYS, success, errno) when a forked child issues a
 * given syscall; each such call is chosen to have no effect when it is
 * allowed (the probe also runs without a filter, as root).
 * tests/bridge/test-sandbox.sh and test-seccomp.sh run it as root and as an
 * unprivileged user and assert on those lines.  With
 * --hold it then prints "ready" and sleeps (up to 300 s, until killed), so
 * the script can inspect /proc/PID from outside (root view, propagation).
 *
 * Exit status: 0 after reporting, 2 when a sandbox/seccomp call failed
 * (the line "error=MESSAGE" says why), 1 on bad usage.
 */
#include "slirp_bridge.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/* /proc opened before the pivot, as the bypass does. */
static int probe_procfd = -1;

/*
 * probe_status_field: print "KEY=VALUE" for the /proc/self/status field
 * @field (e.g. "CapEff"), read through the /proc fd kept across the pivot.
 */
static void
probe_status_field(const char *key, const char *field)
{
    g_autofree char *want = g_strconcat(field, ":", NULL);
    char line[256];
    const char *value = "missing";
    FILE *f;
    int fd;

    fd = openat(probe_procfd, "self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        printf("%s=error:%s\n", key, g_strerror(errno));
        return;
    }
    f = fdopen(fd, "r");
    if (f == NULL) {
        close(fd);
        printf("%s=error:fdopen\n", key);
        return;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (g_str_has_prefix(line, want)) {
            value = g_strstrip(line + strlen(want));
            break;
        }
    }
    printf("%s=%s\n", key, value);
    fclose(f);
}

/* g_ptr_array_sort comparator: it passes pointers to the elements. */
static gint
probe_cmp_names(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

/*
 * probe_root_entries: print "root=a,b,c", the sorted names in "/".
 */
static void
probe_root_entries(void)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *joined = NULL;
    struct dirent *de;
    DIR *d;

    d = opendir("/");
    if (d == NULL) {
        printf("root=error:%s\n", g_strerror(errno));
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        g_ptr_array_add(names, g_strdup(de->d_name));
    }
    closedir(d);
    g_ptr_array_sort(names, probe_cmp_names);
    g_ptr_array_add(names, NULL);
    joined = g_strjoinv(",", (char **)names->pdata);
    printf("root=%s\n", joined);
}

/*
 * probe_errno_result: "ok" when @rc >= 0, else the errno's symbolic-ish
 * description (strerrorname_np is glibc >= 2.32).
 */
static const char *
probe_errno_result(int rc, int err)
{
    return rc >= 0 ? "ok" : strerrorname_np(err);
}

typedef enum {
    PROBE_SYS_UNSHARE,
    PROBE_SYS_PIDFD_OPEN,
    PROBE_SYS_PIDFD_GETFD,
    PROBE_SYS_VM_READV,
    PROBE_SYS_PRCTL_SET_NAME,
    PROBE_SYS_PRCTL_DUMPABLE,
    PROBE_SYS_EXECVE,
    PROBE_SYS_MOUNT,
    PROBE_SYS_PTRACE,
    PROBE_SYS_GLIB_THREAD,
    PROBE_SYS_SOCKET,
} ProbeSys;

static gpointer
probe_thread_fn(gpointer data)
{
    return data;
}

/*
 * probe_child_syscall: the body of the forked child for @which.
 * Returns the exit status: 0 success, 10 + errno (capped) on failure.
 */
static int
probe_child_syscall(ProbeSys which)
{
    long rc = -1;
    char buf[8] = { 0 }, src[8] = "x";
    struct iovec local = { buf, sizeof buf }, remote = { src, sizeof src };

    errno = 0;
    switch (which) {
    case PROBE_SYS_UNSHARE:
        rc = syscall(SYS_unshare, 0);
        break;
    case PROBE_SYS_PIDFD_OPEN:
        rc = syscall(SYS_pidfd_open, getpid(), 0);
        break;
    case PROBE_SYS_PIDFD_GETFD: {
        int pfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
        rc = pfd < 0 ? -1 : syscall(SYS_pidfd_getfd, pfd, 0, 0);
        break;
    }
    case PROBE_SYS_VM_READV:
        rc = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
        break;
    case PROBE_SYS_PRCTL_SET_NAME:
        rc = prctl(PR_SET_NAME, "probe", 0, 0, 0);
        break;
    case PROBE_SYS_PRCTL_DUMPABLE:
        rc = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
        break;
    case PROBE_SYS_EXECVE: {
        char *argv[] = { (char *)"/nonexistent", NULL };
        rc = execve("/nonexistent", argv, argv + 1);
        break;
    }
    case PROBE_SYS_MOUNT:
        /* Fails harmlessly (ENOENT) where mount is allowed. */
        rc = syscall(SYS_mount, NULL, "/nonexistent-sb-probe", NULL, MS_REMOUNT,
                     NULL);
        break;
    case PROBE_SYS_PTRACE:
        /* Fails harmlessly (ESRCH: we are not traced) where allowed. */
        rc = syscall(SYS_ptrace, PTRACE_CONT, getpid(), 0, 0);
        break;
    case PROBE_SYS_GLIB_THREAD: {
        GThread *t = g_thread_new("probe-worker", probe_thread_fn, buf);
        rc = g_thread_join(t) == buf ? 0 : -1;
        break;
    }
    case PROBE_SYS_SOCKET: {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        rc = fd;
        if (fd >= 0)
            close(fd);
        break;
    }
    }
    if (rc >= 0)
        return 0;
    return 10 + MIN(errno, 200);
}

/*
 * probe_syscall: fork, run @which in the child, print "sys_KEY=RESULT"
 * where RESULT is ok, killed:SIGNAME, or the errno name.
 */
static void
probe_syscall(const char *key, ProbeSys which)
{
    int status;
    pid_t pid;

    fflush(stdout);
    pid = fork();
    if (pid < 0) {
        printf("sys_%s=error:fork:%s\n", key, g_strerror(errno));
        return;
    }
    if (pid == 0)
        _exit(probe_child_syscall(which));
    if (waitpid(pid, &status, 0) < 0) {
        printf("sys_%s=error:waitpid:%s\n", key, g_strerror(errno));
        return;
    }
    if (WIFSIGNALED(status))
        printf("sys_%s=killed:%s\n", key, sigabbrev_np(WTERMSIG(status)));
    else if (WEXITSTATUS(status) == 0)
        printf("sys_%s=ok\n", key);
    else
        printf("sys_%s=%s\n", key,
               probe_errno_result(-1, WEXITSTATUS(status) - 10));
}

/*
 * probe_readonly: print "KEY=1" when the mount holding @path is
 * read-only, "KEY=0" when not (statvfs ST_RDONLY).
 */
static void
probe_readonly(const char *key, const char *path)
{
    struct statvfs sv;

    if (statvfs(path, &sv) < 0)
        printf("%s=error:%s\n", key, g_strerror(errno));
    else
        printf("%s=%d\n", key, (sv.f_flag & ST_RDONLY) ? 1 : 0);
}

/*
 * probe_dump_mountinfo: copy our mountinfo to stderr, to diagnose a
 * failed sandbox set-up from the test log.
 */
static void
probe_dump_mountinfo(void)
{
    char buf[4096];
    ssize_t n;
    int fd;

    if (probe_procfd < 0)
        return;
    fd = openat(probe_procfd, "self/mountinfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    fprintf(stderr, "mountinfo:\n");
    fflush(stderr);
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        if (write(STDERR_FILENO, buf, (size_t)n) != n)
            break;
    }
    close(fd);
}

/*
 * probe_report: everything the tests assert on, after the set-up.
 */
static void
probe_report(void)
{
    int fd, rc;

    printf("euid=%u\n", (unsigned)geteuid());
    probe_status_field("cap_eff", "CapEff");
    probe_status_field("cap_prm", "CapPrm");
    probe_status_field("cap_inh", "CapInh");
    probe_status_field("cap_bnd", "CapBnd");
    probe_status_field("cap_amb", "CapAmb");
    probe_status_field("no_new_privs", "NoNewPrivs");
    probe_status_field("seccomp", "Seccomp");
    probe_root_entries();
    printf("home_exists=%d\n", access("/home", F_OK) == 0);
    fd = open("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
    printf("resolv_readable=%d\n", fd >= 0);
    if (fd >= 0) {
        char line[128] = { 0 };
        ssize_t n = read(fd, line, sizeof line - 1);
        line[MAX(n, 0)] = '\0';
        line[strcspn(line, "\n")] = '\0';
        printf("resolv_first=%s\n", line);
        close(fd);
    }
    probe_readonly("ro_root", "/");
    probe_readonly("ro_etc", "/etc");
    probe_readonly("ro_run", "/run");
    rc = mkdir("/probe-dir", 0755);
    printf("mkdir_root=%s\n", probe_errno_result(rc, errno));
    fd = open("/etc/probe-file", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    printf("create_etc=%s\n", probe_errno_result(fd, errno));
    if (fd >= 0)
        close(fd);
    probe_syscall("socket", PROBE_SYS_SOCKET);
    probe_syscall("unshare", PROBE_SYS_UNSHARE);
    probe_syscall("mount", PROBE_SYS_MOUNT);
    probe_syscall("execve", PROBE_SYS_EXECVE);
    probe_syscall("ptrace", PROBE_SYS_PTRACE);
    probe_syscall("pidfd_open", PROBE_SYS_PIDFD_OPEN);
    probe_syscall("pidfd_getfd", PROBE_SYS_PIDFD_GETFD);
    probe_syscall("process_vm_readv", PROBE_SYS_VM_READV);
    probe_syscall("prctl_set_name", PROBE_SYS_PRCTL_SET_NAME);
    probe_syscall("prctl_get_dumpable", PROBE_SYS_PRCTL_DUMPABLE);
    probe_syscall("glib_thread", PROBE_SYS_GLIB_THREAD);
}

/*
 * probe_print_names: "blocked=a b c" and "blocked_keep=..." lines.
 */
static void
probe_print_names(void)
{
    g_autofree char *all =
        g_strjoinv(" ", (char **)sb_seccomp_blocked_names(FALSE));
    g_autofree char *keep =
        g_strjoinv(" ", (char **)sb_seccomp_blocked_names(TRUE));

    printf("blocked=%s\nblocked_keep=%s\n", all, keep);
}

static gpointer
probe_sleeper(gpointer data)
{
    g_usleep(G_USEC_PER_SEC);
    return NULL;
}

int
main(int argc, char **argv)
{
    gboolean join = FALSE, sandbox = FALSE, seccomp = FALSE;
    gboolean seccomp_keep = FALSE, hold = FALSE, names = FALSE;
    gboolean path_mode = FALSE, thread_first = FALSE;
    gint pid = 0;
    char *userns_path = NULL, *keep_caps = NULL;
    GOptionEntry entries[] = {
        { "join", 0, 0, G_OPTION_ARG_NONE, &join, "call sb_sandbox_join_userns",
          NULL },
        { "pid", 0, 0, G_OPTION_ARG_INT, &pid, "target pid (pid mode)", "PID" },
        { "path-mode", 0, 0, G_OPTION_ARG_NONE, &path_mode, "netns-type=path",
          NULL },
        { "userns-path", 0, 0, G_OPTION_ARG_FILENAME, &userns_path,
          "--userns-path", "PATH" },
        { "sandbox", 0, 0, G_OPTION_ARG_NONE, &sandbox, "call sb_sandbox_enter",
          NULL },
        { "keep-caps", 0, 0, G_OPTION_ARG_STRING, &keep_caps,
          "SbSandboxOptions.keep_caps (hex)", "HEX" },
        { "seccomp", 0, 0, G_OPTION_ARG_NONE, &seccomp,
          "sb_seccomp_apply(FALSE)", NULL },
        { "seccomp-keep", 0, 0, G_OPTION_ARG_NONE, &seccomp_keep,
          "sb_seccomp_apply(TRUE)", NULL },
        { "names", 0, 0, G_OPTION_ARG_NONE, &names,
          "print the blocked names and exit", NULL },
        { "thread-first", 0, 0, G_OPTION_ARG_NONE, &thread_first,
          "start a thread before the sandbox (must be refused)", NULL },
        { "hold", 0, 0, G_OPTION_ARG_NONE, &hold,
          "print ready and sleep until killed", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) octx = g_option_context_new("- sandbox probe");
    g_autoptr(GError) error = NULL;
    GThread *sleeper = NULL;
    SbSandboxOptions opts = { 0 };
    SbConfig cfg;
    int rc = 2;

    g_option_context_add_main_entries(octx, entries, NULL);
    if (!g_option_context_parse(octx, &argc, &argv, &error)) {
        fprintf(stderr, "sandbox_probe: %s\n", error->message);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (names) {
        probe_print_names();
        return 0;
    }

    memset(&cfg, 0, sizeof cfg);
    cfg.netns_type = path_mode ? SB_NETNS_PATH : SB_NETNS_PID;
    cfg.target_pid = pid;
    cfg.userns_path = userns_path;
    cfg.enable_sandbox = sandbox;
    if (keep_caps != NULL)
        opts.keep_caps = g_ascii_strtoull(keep_caps, NULL, 16);

    probe_procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (probe_procfd < 0) {
        printf("error=open /proc: %s\n", g_strerror(errno));
        goto out;
    }
    if (thread_first)
        sleeper = g_thread_new("probe-sleeper", probe_sleeper, NULL);
    if (join && !sb_sandbox_join_userns(&cfg, &error))
        goto fail;
    if (sandbox && !sb_sandbox_enter(&cfg, &opts, &error))
        goto fail;
    if ((seccomp || seccomp_keep) && !sb_seccomp_apply(seccomp_keep, &error))
        goto fail;
    probe_report();
    if (hold) {
        /* Bounded: the test kills us long before. */
        printf("ready\n");
        sleep(300);
    }
    rc = 0;
    goto out;
fail:
    printf("error=%s\n", error->message);
    probe_dump_mountinfo();
out:
    if (sleeper != NULL)
        g_thread_join(sleeper);
    if (probe_procfd >= 0)
        close(probe_procfd);
    g_free(userns_path);
    g_free(keep_caps);
    return rc;
}
