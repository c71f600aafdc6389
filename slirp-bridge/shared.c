/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shared.c: the definitions of shared.h.
 *
 * Theory of operation: small facts that the helper's own filter
 * (seccomp.c), the bypass filters (plugin/exec.c, plugin/profile.c), the
 * notification dispatcher (plugin/notify.c) and the namespace checks
 * (tap.c, plugin/agent.c, plugin/call.c) must agree on; one copy keeps
 * them agreeing.
 */
#include "shared.h"

#include <seccomp.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/**
 * sb_socket_netns_cookie:
 * @fd: a socket
 *
 * Returns: the cookie of @fd's network namespace, 0 if the kernel has
 * none (Linux < 5.14) or @fd is no socket.
 */
guint64
sb_socket_netns_cookie(int fd)
{
    guint64 cookie = 0;
    socklen_t len = sizeof cookie;

    if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0)
        return 0;
    return cookie;
}

/**
 * sb_netns_cookie_of_self:
 *
 * Returns: the cookie of the caller's network namespace (through a fresh
 * inet socket, or a unix one where inet is refused), 0 if unknown.
 */
guint64
sb_netns_cookie_of_self(void)
{
    guint64 cookie;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    cookie = sb_socket_netns_cookie(fd);
    close(fd);
    return cookie;
}

/**
 * sb_default_agent_socket:
 *
 * The per-user agent's socket (`slirpbypass agent`): the one default of
 * `agent --socket`, bypass=true, `exec --socket` and `seccomp-profile
 * --listener-path`.  $XDG_RUNTIME_DIR/slirpbypass/agent.sock; for root
 * without XDG_RUNTIME_DIR /run/slirpbypass/agent.sock.  A relative
 * XDG_RUNTIME_DIR is invalid per the XDG spec and ignored.
 *
 * Returns: (transfer full): the path.
 */
char *
sb_default_agent_socket(void)
{
    const char *xdg = g_getenv("XDG_RUNTIME_DIR");

    if (xdg != NULL && g_path_is_absolute(xdg))
        return g_build_filename(xdg, "slirpbypass", "agent.sock", NULL);
    if (getuid() == 0)
        return g_strdup("/run/slirpbypass/agent.sock");
    return g_strdup_printf("/run/user/%u/slirpbypass/agent.sock",
                           (unsigned)getuid());
}

/* Native architecture first, then its compat ABIs. */
static const SbArch sb_x86_64[] = {
    { SCMP_ARCH_X86_64, "SCMP_ARCH_X86_64" },
    { SCMP_ARCH_X86, "SCMP_ARCH_X86" },
    { SCMP_ARCH_X32, "SCMP_ARCH_X32" },
};
static const SbArch sb_aarch64[] = {
    { SCMP_ARCH_AARCH64, "SCMP_ARCH_AARCH64" },
    { SCMP_ARCH_ARM, "SCMP_ARCH_ARM" },
};
static const SbArch sb_s390x[] = {
    { SCMP_ARCH_S390X, "SCMP_ARCH_S390X" },
    { SCMP_ARCH_S390, "SCMP_ARCH_S390" },
};
static const SbArch sb_x86[] = { { SCMP_ARCH_X86, "SCMP_ARCH_X86" } };
static const SbArch sb_arm[] = { { SCMP_ARCH_ARM, "SCMP_ARCH_ARM" } };

/**
 * sb_arches:
 * @n: (out): the number of entries
 *
 * Returns: (transfer none): the native architecture and its compat ABIs,
 * as libseccomp reports the native one; @n is 0 for others (callers then
 * use the native architecture only).
 */
const SbArch *
sb_arches(guint *n)
{
    switch (seccomp_arch_native()) {
    case SCMP_ARCH_X86_64:
        *n = G_N_ELEMENTS(sb_x86_64);
        return sb_x86_64;
    case SCMP_ARCH_AARCH64:
        *n = G_N_ELEMENTS(sb_aarch64);
        return sb_aarch64;
    case SCMP_ARCH_S390X:
        *n = G_N_ELEMENTS(sb_s390x);
        return sb_s390x;
    case SCMP_ARCH_X86:
        *n = G_N_ELEMENTS(sb_x86);
        return sb_x86;
    case SCMP_ARCH_ARM:
        *n = G_N_ELEMENTS(sb_arm);
        return sb_arm;
    default:
        *n = 0;
        return NULL;
    }
}
