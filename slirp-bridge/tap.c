/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tap.c: obtain the tap device of the target network namespace.
 *
 * Theory of operation: the long-running process must never enter the
 * container's namespaces (its libslirp sockets have to live in the
 * caller's network namespace, which is what makes forwarded connections
 * keep their source address).  So a short-lived forked child does the
 * privileged part: it joins the target user namespace (if it can and
 * needs to) and network namespace, opens /dev/net/tun with TUNSETIFF
 * (which also attaches to an existing persistent tap, as rootlesskit
 * creates one before starting us), optionally configures the interface
 * with plain ioctls (no netlink dependency), and passes the fd back over
 * a socketpair.  The parent waits for the child, passes on its failure
 * status like slirp4netns ("child failed(N)"), and returns the fd.
 *
 * The child only uses async-signal-safe-enough calls after fork in a
 * single-threaded process, reports errors on stderr with perror-style
 * texts, and leaves with _exit() so stdio buffers are never flushed twice.
 */
#include "slirp_bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* Print "what: strerror(errno)" on stderr, like perror(). */
static void
child_perror(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, strerror(errno));
}

/**
 * child_nsenter: join the target user (best effort) and network namespace.
 * @cfg: the configuration (pid or path mode, optional --userns-path)
 *
 * The user namespace join is allowed to fail (we may already be in it, as
 * podman runs us inside its rootless namespace); the network namespace join
 * must succeed.
 *
 * Returns: 0 on success, -1 after printing the reason.
 */
static int
child_nsenter(const SbConfig *cfg)
{
    char netns_buf[64], userns_buf[64];
    const char *netns_path = cfg->netns_path;
    const char *userns_path = cfg->userns_path;
    int userns_fd = -1, netns_fd;

    if (cfg->netns_type == SB_NETNS_PID) {
        g_snprintf(netns_buf, sizeof netns_buf, "/proc/%d/ns/net",
                   (int)cfg->target_pid);
        netns_path = netns_buf;
        if (!userns_path) {
            g_snprintf(userns_buf, sizeof userns_buf, "/proc/%d/ns/user",
                       (int)cfg->target_pid);
            userns_path = userns_buf;
        }
    }
    netns_fd = open(netns_path, O_RDONLY | O_CLOEXEC);
    if (netns_fd < 0) {
        fprintf(stderr, "open(\"%s\"): %s\n", netns_path, strerror(errno));
        return -1;
    }
    if (userns_path) {
        userns_fd = open(userns_path, O_RDONLY | O_CLOEXEC);
        if (userns_fd < 0) {
            fprintf(stderr, "open(\"%s\"): %s\n", userns_path, strerror(errno));
            close(netns_fd);
            return -1;
        }
        /* EINVAL: already a member; EPERM: we may still have enough
         * privilege for the netns (real root).  setns(NET) decides. */
        (void)setns(userns_fd, CLONE_NEWUSER);
        close(userns_fd);
    }
    if (setns(netns_fd, CLONE_NEWNET) < 0) {
        child_perror("setns(CLONE_NEWNET)");
        close(netns_fd);
        return -1;
    }
    close(netns_fd);
    return 0;
}

/**
 * child_open_tap: open (or attach to) the tap device @name.
 *
 * Returns: the tap fd, or -1 after printing the reason.
 */
static int
child_open_tap(const char *name)
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        child_perror("open(\"/dev/net/tun\")");
        return -1;
    }
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    g_strlcpy(ifr.ifr_name, name, sizeof ifr.ifr_name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        child_perror("ioctl(TUNSETIFF)");
        close(fd);
        return -1;
    }
    return fd;
}

/* Set IFF_UP|IFF_RUNNING on @ifname, keeping its other flags. */
static int
if_up(int sock, const char *ifname)
{
    struct ifreq ifr;

    memset(&ifr, 0, sizeof ifr);
    g_strlcpy(ifr.ifr_name, ifname, sizeof ifr.ifr_name);
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
        return -1;
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    return ioctl(sock, SIOCSIFFLAGS, &ifr);
}

/* Fill @sa with an AF_INET address. */
static void
set_sin(struct sockaddr *sa, struct in_addr a)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = a };
    memcpy(sa, &sin, sizeof sin);
}

/**
 * child_configure: the -c/--configure step, slirp4netns's ioctl sequence.
 * @cfg: MTU, MAC, virtual network
 *
 * lo up, tap up, MTU, MAC (if given), address network+100, netmask,
 * default route via network+2.
 *
 * Returns: 0 on success, -1 after printing which step failed.
 */
static int
child_configure(const SbConfig *cfg)
{
    struct ifreq ifr;
    struct rtentry route;
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int rc = -1;

    if (sock < 0) {
        child_perror("cannot create socket");
        return -1;
    }
    if (if_up(sock, "lo") < 0) {
        child_perror("cannot set lo up");
        goto out;
    }
    if (if_up(sock, cfg->tapname) < 0) {
        child_perror("cannot set device up");
        goto out;
    }
    memset(&ifr, 0, sizeof ifr);
    g_strlcpy(ifr.ifr_name, cfg->tapname, sizeof ifr.ifr_name);
    ifr.ifr_mtu = (int)cfg->mtu;
    if (ioctl(sock, SIOCSIFMTU, &ifr) < 0) {
        child_perror("cannot set MTU");
        goto out;
    }
    if (cfg->has_macaddr) {
        memset(&ifr, 0, sizeof ifr);
        g_strlcpy(ifr.ifr_name, cfg->tapname, sizeof ifr.ifr_name);
        ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
        memcpy(ifr.ifr_hwaddr.sa_data, cfg->macaddr, 6);
        if (ioctl(sock, SIOCSIFHWADDR, &ifr) < 0) {
            child_perror("cannot set MAC address");
            goto out;
        }
    }
    memset(&ifr, 0, sizeof ifr);
    g_strlcpy(ifr.ifr_name, cfg->tapname, sizeof ifr.ifr_name);
    set_sin(&ifr.ifr_addr, cfg->vnet.guest);
    if (ioctl(sock, SIOCSIFADDR, &ifr) < 0) {
        child_perror("cannot set device address");
        goto out;
    }
    set_sin(&ifr.ifr_netmask, cfg->vnet.netmask);
    if (ioctl(sock, SIOCSIFNETMASK, &ifr) < 0) {
        child_perror("cannot set device netmask");
        goto out;
    }
    memset(&route, 0, sizeof route);
    set_sin(&route.rt_dst, (struct in_addr){ .s_addr = INADDR_ANY });
    set_sin(&route.rt_genmask, (struct in_addr){ .s_addr = INADDR_ANY });
    set_sin(&route.rt_gateway, cfg->vnet.gateway);
    route.rt_flags = RTF_UP | RTF_GATEWAY;
    route.rt_metric = 0;
    route.rt_dev = cfg->tapname;
    if (ioctl(sock, SIOCADDRT, &route) < 0) {
        child_perror("set route");
        goto out;
    }
    rc = 0;
out:
    close(sock);
    return rc;
}

/**
 * child_bess: --target-type=bess: accept one SOCK_SEQPACKET connection on
 * the socket path and use it as the "tap" (one message = one frame).
 *
 * Returns: the connected fd, or -1 after printing the reason.
 */
static int
child_bess(const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int lfd, fd;

    if (strlen(path) >= sizeof sun.sun_path) {
        fprintf(stderr, "the specified socket path is too long (>= %zu)\n",
                sizeof sun.sun_path);
        return -1;
    }
    g_strlcpy(sun.sun_path, path, sizeof sun.sun_path);
    lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (lfd < 0) {
        child_perror("socket");
        return -1;
    }
    unlink(path);
    if (bind(lfd, (struct sockaddr *)&sun, sizeof sun) < 0 ||
        listen(lfd, 0) < 0) {
        child_perror(path);
        close(lfd);
        return -1;
    }
    printf("Waiting for connection to %s\n", path);
    fflush(stdout);
    do {
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        child_perror("accept");
    close(lfd);
    return fd;
}

/*
 * child_send_routes: after the tap fd, two NETLINK_ROUTE sockets created
 * here, in the target namespace, each with the tap's ifindex: the bypass
 * asks them how the container routes a destination (devlock.c).  Best
 * effort: the parent takes what arrives.
 */
static void
child_send_routes(int sock, const char *tapname)
{
    int ifindex = (int)if_nametoindex(tapname);

    for (int i = 0; i < 2; i++) {
        g_autoptr(GError) error = NULL;
        int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

        if (nl < 0 || ifindex <= 0 ||
            !sb_fd_send(sock, nl, &ifindex, sizeof ifindex, &error))
            return;
        close(nl);
    }
}

/* The forked child's whole life: never returns. */
static G_NORETURN void
child_main(const SbConfig *cfg, int sock)
{
    g_autoptr(GError) error = NULL;
    guint64 cookie = 0;
    int tapfd;

    if (cfg->target_type == SB_TARGET_BESS) {
        tapfd = child_bess(cfg->netns_path);
    } else {
        if (child_nsenter(cfg) < 0)
            _exit(EXIT_FAILURE);
        /* the namespace just joined: the bypass then knows exactly which
         * one it serves instead of learning it from the first socket */
        cookie = sb_netns_cookie_of_self();
        tapfd = child_open_tap(cfg->tapname);
        if (tapfd >= 0 && cfg->configure && child_configure(cfg) < 0)
            _exit(EXIT_FAILURE);
    }
    if (tapfd < 0)
        _exit(EXIT_FAILURE);
    if (!sb_fd_send(sock, tapfd, &cookie, sizeof cookie, &error)) {
        fprintf(stderr, "cannot send tapfd: %s\n", error->message);
        _exit(EXIT_FAILURE);
    }
    fprintf(stderr, "sent tapfd=%d for %s\n", tapfd,
            cfg->tapname ? cfg->tapname : "bess");
    if (cfg->target_type != SB_TARGET_BESS)
        child_send_routes(sock, cfg->tapname);
    _exit(EXIT_SUCCESS);
}

/**
 * sb_tap_open: get the tap fd for @cfg's target.
 * @cfg: parsed configuration
 * @ns: (out): the target namespace's cookie (0 when unknown: tapfd and
 *      BESS modes, kernels < 5.14), tap ifindex and two netlink route
 *      sockets in it (-1 when unknown); close the sockets when done
 * @error: SB_ERROR_SYSTEM on failure; for a failed child the message is
 *         "child failed(N)" and the child already printed the cause
 *
 * In tapfd mode the given fd is used directly.  The returned fd is
 * non-blocking and close-on-exec.
 *
 * Returns: the tap fd, or -1.
 */
int
sb_tap_open(const SbConfig *cfg, SbTapNs *ns, GError **error)
{
    int sv[2] = { -1, -1 };
    int tapfd = -1, status = 0;
    pid_t pid;

    ns->netns_cookie = 0;
    ns->tap_ifindex = 0;
    ns->route_query = ns->route_monitor = -1;
    if (cfg->netns_type == SB_NETNS_TAPFD &&
        cfg->target_type == SB_TARGET_NETNS) {
        tapfd = cfg->target_tapfd;
        if (fcntl(tapfd, F_GETFD) < 0) {
            g_set_error(error, SB_ERROR, SB_ERROR_SYSTEM, "tap fd %d: %s",
                        tapfd, g_strerror(errno));
            return -1;
        }
        goto done;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        g_set_error(error, SB_ERROR, SB_ERROR_SYSTEM, "socketpair: %s",
                    g_strerror(errno));
        return -1;
    }
    /* Nothing buffered may be inherited and printed twice. */
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        g_set_error(error, SB_ERROR, SB_ERROR_SYSTEM, "fork: %s",
                    g_strerror(errno));
        goto out;
    }
    if (pid == 0) {
        close(sv[0]);
        child_main(cfg, sv[1]);
    }
    close(sv[1]);
    sv[1] = -1;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            g_set_error(error, SB_ERROR, SB_ERROR_SYSTEM, "waitpid: %s",
                        g_strerror(errno));
            goto out;
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        int code =
            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        g_set_error(error, SB_ERROR, SB_ERROR_SYSTEM, "child failed(%d)", code);
        goto out;
    }
    tapfd =
        sb_fd_recv(sv[0], &ns->netns_cookie, sizeof ns->netns_cookie, error);
    if (tapfd < 0) {
        g_prefix_error(error, "failed to receive tapfd from child: ");
        goto out;
    }
    if (cfg->target_type != SB_TARGET_BESS) {
        /* the child has exited: the rest is queued, or never came */
        ns->route_query =
            sb_fd_recv(sv[0], &ns->tap_ifindex, sizeof ns->tap_ifindex, NULL);
        ns->route_monitor =
            sb_fd_recv(sv[0], &ns->tap_ifindex, sizeof ns->tap_ifindex, NULL);
        if (ns->route_query < 0 || ns->route_monitor < 0) {
            sb_tap_ns_close(ns);
            ns->tap_ifindex = 0;
        }
    }
    fprintf(stderr, "received tapfd=%d\n", tapfd);
done:
    if (fcntl(tapfd, F_SETFL, fcntl(tapfd, F_GETFL) | O_NONBLOCK) < 0 ||
        fcntl(tapfd, F_SETFD, FD_CLOEXEC) < 0) {
        g_set_error(error, SB_ERROR, SB_ERROR_SYSTEM, "tap fd flags: %s",
                    g_strerror(errno));
        if (cfg->netns_type != SB_NETNS_TAPFD)
            close(tapfd);
        tapfd = -1;
    }
out:
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    return tapfd;
}

/**
 * sb_tap_ns_close: close @ns's route sockets (idempotent).
 * @ns: filled by sb_tap_open()
 */
void
sb_tap_ns_close(SbTapNs *ns)
{
    if (ns->route_query >= 0)
        close(ns->route_query);
    if (ns->route_monitor >= 0)
        close(ns->route_monitor);
    ns->route_query = ns->route_monitor = -1;
}
