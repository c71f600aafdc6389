/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_sandbox.c: unit tests for slirp-bridge/seccomp.c and the parts of
 * slirp-bridge/sandbox.c that can be exercised without changing the test
 * process itself.
 *
 * Theory of operation: anything that installs a filter or changes
 * credentials runs in a fork()ed child that reports through its exit
 * status (or dies by a signal), so the test binary stays untouched and a
 * broken filter can only kill a child.  The full sandbox (mount namespace,
 * pivot_root, capabilities) is covered by tests/bridge/test-sandbox.sh with
 * sandbox_probe, which needs namespaces.
 */
#include "slirp_bridge.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* slirp4netns 1.2's list, in its order (seccompfilter_rules.h). */
static const char *const slirp4netns_names[] = {
    "execve",
    "lookup_dcookie",
    "pidfd_getfd",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "delete_module",
    "finit_module",
    "init_module",
    "chroot",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "mount",
    "move_mount",
    "open_tree",
    "pivot_root",
    "umount",
    "umount2",
    "open_by_handle_at",
    "execveat",
    "pidfd_open",
    "pidfd_send_signal",
    "prctl",
    "setns",
    "unshare",
    "kexec_file_load",
    "kexec_load",
    "reboot",
    "name_to_handle_at",
};

static const char *const bypass_names[] = { "pidfd_open", "pidfd_getfd",
                                            "process_vm_readv" };

static gboolean
names_contain(const char *const *names, const char *name)
{
    return g_strv_contains((const char *const *)names, name);
}

/* Without the bypass every slirp4netns name is blocked, in its order, and
 * the list is stable between calls. */
static void
test_names_full(void)
{
    const char *const *names = sb_seccomp_blocked_names(FALSE);
    guint i;

    g_assert_nonnull(names);
    g_assert_true(names == sb_seccomp_blocked_names(FALSE));
    g_assert_cmpuint(g_strv_length((char **)names), >=,
                     G_N_ELEMENTS(slirp4netns_names));
    for (i = 0; i < G_N_ELEMENTS(slirp4netns_names); i++)
        g_assert_cmpstr(names[i], ==, slirp4netns_names[i]);
}

/* With the bypass exactly its three syscalls are left out. */
static void
test_names_keep_bypass(void)
{
    const char *const *full = sb_seccomp_blocked_names(FALSE);
    const char *const *keep = sb_seccomp_blocked_names(TRUE);
    guint i, n = 0;

    for (i = 0; i < G_N_ELEMENTS(bypass_names); i++) {
        g_assert_true(names_contain(full, bypass_names[i]));
        g_assert_false(names_contain(keep, bypass_names[i]));
    }
    for (i = 0; full[i] != NULL; i++) {
        if (g_strv_contains((const char *const *)bypass_names, full[i]))
            continue;
        g_assert_cmpstr(keep[n], ==, full[i]);
        n++;
    }
    g_assert_null(keep[n]);
    g_assert_cmpuint(n + G_N_ELEMENTS(bypass_names), ==,
                     g_strv_length((char **)full));
}

typedef enum {
    CHILD_UNSHARE,
    CHILD_PIDFD_OPEN,
    CHILD_PRCTL_SET_NAME,
    CHILD_PRCTL_OTHER,
    CHILD_GETPID,
} ChildCall;

/*
 * run_filtered: fork; the child applies the filter (@keep) and makes
 * @call.  Returns the wait status.  Exit 3 means apply failed.
 */
static int
run_filtered(gboolean keep, ChildCall call)
{
    int status = 0;
    pid_t pid = fork();

    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        long rc = 0;
        if (!sb_seccomp_apply(keep, NULL))
            _exit(3);
        switch (call) {
        case CHILD_UNSHARE:
            rc = syscall(SYS_unshare, 0);
            break;
        case CHILD_PIDFD_OPEN:
            rc = syscall(SYS_pidfd_open, getpid(), 0);
            break;
        case CHILD_PRCTL_SET_NAME:
            rc = prctl(PR_SET_NAME, "t", 0, 0, 0);
            break;
        case CHILD_PRCTL_OTHER:
            rc = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
            break;
        case CHILD_GETPID:
            rc = getpid();
            break;
        }
        _exit(rc < 0 ? 4 : 0);
    }
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    return status;
}

static void
assert_killed(int status)
{
    g_assert_true(WIFSIGNALED(status));
    g_assert_cmpint(WTERMSIG(status), ==, SIGSYS);
}

static void
assert_exit0(int status)
{
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

/* A blocked syscall kills; an unlisted one works. */
static void
test_apply_kills(void)
{
    assert_killed(run_filtered(FALSE, CHILD_UNSHARE));
    assert_killed(run_filtered(TRUE, CHILD_UNSHARE));
    assert_exit0(run_filtered(FALSE, CHILD_GETPID));
}

/* pidfd_open: killed without the bypass, allowed with it. */
static void
test_apply_keep_bypass(void)
{
    assert_killed(run_filtered(FALSE, CHILD_PIDFD_OPEN));
    assert_exit0(run_filtered(TRUE, CHILD_PIDFD_OPEN));
}

/* prctl is blocked except thread naming (GLib names its threads). */
static void
test_apply_prctl(void)
{
    assert_exit0(run_filtered(FALSE, CHILD_PRCTL_SET_NAME));
    assert_killed(run_filtered(FALSE, CHILD_PRCTL_OTHER));
}

#if defined(__x86_64__)
/* A raw i386 syscall from 64-bit code (int 0x80 uses the 32-bit table;
 * seccomp sees AUDIT_ARCH_I386).  Returns -errno like the kernel. */
static long
int80(long nr, long a1)
{
    long ret;

    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a1) : "memory");
    return ret;
}

#define I386_NR_GETPID 20
#define I386_NR_UNSHARE 310

/*
 * test_apply_i386: the x86 ABI is part of the filter: an allowed i386
 * syscall works (it would be killed as an unknown architecture otherwise)
 * and a listed one kills.  Skipped without IA32 emulation.
 */
static void
test_apply_i386(void)
{
    int status = 0;
    pid_t pid;

    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0)
        _exit(int80(I386_NR_GETPID, 0) == (long)getpid() ? 0 : 1);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        g_test_skip("no IA32 emulation in this kernel");
        return;
    }
    for (int call = 0; call < 2; call++) {
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
            if (!sb_seccomp_apply(FALSE, NULL))
                _exit(3);
            if (call == 0)
                _exit(int80(I386_NR_GETPID, 0) == (long)getpid() ? 0 : 4);
            int80(I386_NR_UNSHARE, 0);
            _exit(0);
        }
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        if (call == 0)
            assert_exit0(status);
        else
            assert_killed(status);
    }
}
#endif

/*
 * test_join_userns_error: as an unprivileged uid, a --userns-path that
 * does not exist fails with a one-line message naming call and path.
 * Needs root to drop to another uid in the child; skipped otherwise.
 */
static void
test_join_userns_error(void)
{
    int pipefd[2], status = 0;
    char buf[256] = { 0 };
    ssize_t n;
    pid_t pid;

    if (geteuid() != 0) {
        g_test_skip("needs root to switch to an unprivileged uid");
        return;
    }
    g_assert_cmpint(pipe(pipefd), ==, 0);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        SbConfig cfg;
        GError *error = NULL;

        close(pipefd[0]);
        memset(&cfg, 0, sizeof cfg);
        cfg.userns_path = (char *)"/nonexistent/ns/user";
        if (setresgid(65534, 65534, 65534) < 0 ||
            setresuid(65534, 65534, 65534) < 0)
            _exit(5);
        if (sb_sandbox_join_userns(&cfg, &error))
            _exit(6);
        if (write(pipefd[1], error->message, strlen(error->message)) < 0)
            _exit(7);
        _exit(0);
    }
    close(pipefd[1]);
    n = read(pipefd[0], buf, sizeof buf - 1);
    close(pipefd[0]);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    assert_exit0(status);
    g_assert_cmpint(n, >, 0);
    g_assert_cmpstr(buf, ==,
                    "sandbox: open /nonexistent/ns/user: No such file or "
                    "directory");
}

static gpointer
sleeper(gpointer data)
{
    g_usleep(G_USEC_PER_SEC / 2);
    return NULL;
}

/* The sandbox refuses a multi-threaded process (before changing
 * anything, so this is safe to run in a child as root). */
static void
test_enter_refuses_threads(void)
{
    int status = 0;
    pid_t pid = fork();

    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        GThread *t = g_thread_new("sleeper", sleeper, NULL);
        GError *error = NULL;
        SbConfig cfg;
        gboolean ok;

        memset(&cfg, 0, sizeof cfg);
        ok = sb_sandbox_enter(&cfg, NULL, &error);
        g_thread_join(t);
        if (ok)
            _exit(1);
        _exit(strstr(error->message, "threads") != NULL ? 0 : 2);
    }
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    assert_exit0(status);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/sandbox/seccomp/names-full", test_names_full);
    g_test_add_func("/sandbox/seccomp/names-keep-bypass",
                    test_names_keep_bypass);
    g_test_add_func("/sandbox/seccomp/apply-kills", test_apply_kills);
    g_test_add_func("/sandbox/seccomp/apply-keep-bypass",
                    test_apply_keep_bypass);
    g_test_add_func("/sandbox/seccomp/apply-prctl", test_apply_prctl);
#if defined(__x86_64__)
    g_test_add_func("/sandbox/seccomp/apply-i386", test_apply_i386);
#endif
    g_test_add_func("/sandbox/join-userns-error", test_join_userns_error);
    g_test_add_func("/sandbox/enter-refuses-threads",
                    test_enter_refuses_threads);
    return g_test_run();
}
