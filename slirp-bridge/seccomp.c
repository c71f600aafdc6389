/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * seccomp.c: --enable-seccomp, a deny-list filter on ourselves.
 *
 * Theory of operation.  Like slirp4netns's seccompfilter.c this is a
 * deny-list: everything is allowed except syscalls that only an attacker
 * who took over the process would want (exec, ptrace, module loading,
 * mounting, namespace changes, kexec, reboot, handle-based opens).  A
 * listed syscall kills the whole process (SCMP_ACT_KILL_PROCESS, or
 * SCMP_ACT_KILL on kernels before 4.14).  The compat ABIs of the native
 * architecture are added to the filter, otherwise an attacker could reach
 * the same syscalls through their 32-bit numbers.
 *
 * Differences from slirp4netns, each needed by this process:
 *   - keep_bypass_syscalls leaves pidfd_open, pidfd_getfd and
 *     process_vm_readv allowed: the bypass reads the sockaddr from the
 *     container process and copies its socket with them.
 *   - prctl is blocked except PR_SET_NAME/PR_GET_NAME: GLib names every
 *     thread it starts (pthread_setname_np, i.e. prctl(PR_SET_NAME) on the
 *     thread itself), so a blanket block would kill us the first time GLib
 *     starts a worker thread.
 *   - mount_setattr (Linux 5.12) is blocked with the rest of the mount API.
 *   - The filter is synchronised to all threads (SCMP_FLTATR_CTL_TSYNC).
 *
 * The filter is built by one function used twice: once, without loading,
 * to compute the list of names it blocks (sb_seccomp_blocked_names(), so
 * the "seccomp: The following syscalls are blocked" line is exactly true
 * for this libseccomp and architecture), and once to load it.
 */
#include "slirp_bridge.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct {
    const char *name;
    gboolean bypass; /* needed by the bypass: allowed with keep_bypass */
} SbSeccompDeny;

/* slirp4netns's list (seccompfilter_rules.h), in its order, plus
 * mount_setattr. */
static const SbSeccompDeny sb_seccomp_deny[] = {
    { "execve", FALSE },
    { "lookup_dcookie", FALSE },
    { "pidfd_getfd", TRUE },
    { "ptrace", FALSE },
    { "process_vm_readv", TRUE },
    { "process_vm_writev", FALSE },
    { "delete_module", FALSE },
    { "finit_module", FALSE },
    { "init_module", FALSE },
    { "chroot", FALSE },
    { "fsconfig", FALSE },
    { "fsmount", FALSE },
    { "fsopen", FALSE },
    { "fspick", FALSE },
    { "mount", FALSE },
    { "move_mount", FALSE },
    { "open_tree", FALSE },
    { "pivot_root", FALSE },
    { "umount", FALSE },
    { "umount2", FALSE },
    { "open_by_handle_at", FALSE },
    { "execveat", FALSE },
    { "pidfd_open", TRUE },
    { "pidfd_send_signal", FALSE },
    { "prctl", FALSE },
    { "setns", FALSE },
    { "unshare", FALSE },
    { "kexec_file_load", FALSE },
    { "kexec_load", FALSE },
    { "reboot", FALSE },
    { "name_to_handle_at", FALSE },
    { "mount_setattr", FALSE },
};

/*
 * seccomp_kill_action: SCMP_ACT_KILL_PROCESS when the kernel has it
 * (SECCOMP_GET_ACTION_AVAIL, Linux 4.14), else SCMP_ACT_KILL, which kills
 * only the offending thread.
 */
static uint32_t
seccomp_kill_action(void)
{
    uint32_t action = SECCOMP_RET_KILL_PROCESS;

    if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0)
        return SCMP_ACT_KILL_PROCESS;
    return SCMP_ACT_KILL;
}

/*
 * seccomp_add_arches: add the compat ABIs of the native architecture.
 * A failure is only warned about (with @warn): a missing ABI is not a hole,
 * since libseccomp kills on any architecture the filter does not know
 * (SCMP_FLTATR_ACT_BADARCH defaults to KILL).
 */
static void
seccomp_add_arches(scmp_filter_ctx ctx, gboolean warn)
{
    guint n = 0;
    const SbArch *arches = sb_arches(&n);

    /* entry 0 is the native ABI, already in the filter */
    for (guint i = 1; i < n; i++) {
        int rc = seccomp_arch_add(ctx, arches[i].arch);

        if (rc < 0 && rc != -EEXIST && warn)
            fprintf(stderr, "seccomp: cannot add architecture %s: %s\n",
                    arches[i].oci_name, g_strerror(-rc));
    }
}

/*
 * seccomp_add_rule: block syscall @nr (named @name) with @action.  prctl
 * keeps PR_SET_NAME and PR_GET_NAME (15, 16), compared on the low 32 bits
 * as the kernel reads its int option.
 * Returns 0 or a negative errno from libseccomp.
 */
static int
seccomp_add_rule(scmp_filter_ctx ctx, uint32_t action, const char *name, int nr)
{
    int rc;

    if (strcmp(name, "prctl") != 0)
        return seccomp_rule_add(ctx, action, nr, 0);
    G_STATIC_ASSERT(PR_GET_NAME == PR_SET_NAME + 1);
    rc = seccomp_rule_add(ctx, action, nr, 1,
                          SCMP_A0_32(SCMP_CMP_LT, PR_SET_NAME));
    if (rc < 0)
        return rc;
    return seccomp_rule_add(ctx, action, nr, 1,
                            SCMP_A0_32(SCMP_CMP_GT, PR_GET_NAME));
}

/*
 * seccomp_build: build (not load) the filter.
 * @keep_bypass: leave the bypass's syscalls allowed;
 * @names: if not NULL, receives the names actually blocked (static
 *         strings), in list order;
 * @warn: print the stderr warnings (only when really applying).
 * Returns the filter (release with seccomp_release), or NULL with @error.
 */
static scmp_filter_ctx
seccomp_build(gboolean keep_bypass, GPtrArray *names, gboolean warn,
              GError **error)
{
    uint32_t action = seccomp_kill_action();
    scmp_filter_ctx ctx;
    guint i;
    int rc;

    ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (ctx == NULL) {
        g_set_error(error, SB_ERROR, SB_ERROR_SYSTEM,
                    "seccomp: seccomp_init: failed");
        return NULL;
    }
    seccomp_add_arches(ctx, warn);
    /* Threads started before us must not escape the filter; no effect and
     * no harm when there is only one. */
    rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (rc < 0 && warn)
        fprintf(stderr, "seccomp: cannot set TSYNC: %s\n", g_strerror(-rc));

    for (i = 0; i < G_N_ELEMENTS(sb_seccomp_deny); i++) {
        const SbSeccompDeny *d = &sb_seccomp_deny[i];
        int nr;

        if (keep_bypass && d->bypass)
            continue;
        nr = seccomp_syscall_resolve_name(d->name);
        if (nr == __NR_SCMP_ERROR) {
            if (warn)
                fprintf(stderr, "seccomp: cannot resolve syscall %s\n",
                        d->name);
            continue;
        }
        rc = seccomp_add_rule(ctx, action, d->name, nr);
        if (rc < 0) {
            if (warn)
                fprintf(stderr, "seccomp: cannot block syscall %s: %s\n",
                        d->name, g_strerror(-rc));
            continue;
        }
        if (names != NULL)
            g_ptr_array_add(names, (gpointer)d->name);
    }
    return ctx;
}

/*
 * sb_seccomp_blocked_names: the names sb_seccomp_apply(@keep_bypass_syscalls)
 * blocks on this libseccomp and architecture, for main's stdout line.
 * Returns a static NULL-terminated array (computed once per flag; an
 * unusable libseccomp gives an empty list).
 */
const char *const *
sb_seccomp_blocked_names(gboolean keep_bypass_syscalls)
{
    static const char *cache[2][G_N_ELEMENTS(sb_seccomp_deny) + 1];
    static gsize done[2];
    guint k = keep_bypass_syscalls ? 1 : 0;

    if (g_once_init_enter(&done[k])) {
        g_autoptr(GPtrArray) names = g_ptr_array_new();
        scmp_filter_ctx ctx;
        guint i;

        ctx = seccomp_build(keep_bypass_syscalls, names, FALSE, NULL);
        if (ctx != NULL)
            seccomp_release(ctx);
        for (i = 0; i < names->len; i++)
            cache[k][i] = g_ptr_array_index(names, i);
        cache[k][names->len] = NULL;
        g_once_init_leave(&done[k], 1);
    }
    return cache[k];
}

/*
 * sb_seccomp_apply: load the deny-list on this process (and its threads).
 * @keep_bypass_syscalls: TRUE when the bypass runs here (pidfd_open,
 *                        pidfd_getfd, process_vm_readv stay allowed).
 * Names this libseccomp cannot resolve or block are warned about on stderr
 * and skipped.  libseccomp sets no_new_privs itself, so this also works
 * without the sandbox and without CAP_SYS_ADMIN.
 * Returns FALSE with @error "seccomp: CALL: reason".
 */
gboolean
sb_seccomp_apply(gboolean keep_bypass_syscalls, GError **error)
{
    scmp_filter_ctx ctx;
    gboolean ok = FALSE;
    int rc;

    ctx = seccomp_build(keep_bypass_syscalls, NULL, TRUE, error);
    if (ctx == NULL)
        return FALSE;
    rc = seccomp_load(ctx);
    if (rc < 0) {
        g_set_error(error, SB_ERROR, SB_ERROR_SYSTEM,
                    "seccomp: seccomp_load: %s", g_strerror(-rc));
        goto out;
    }
    ok = TRUE;
out:
    seccomp_release(ctx);
    return ok;
}
