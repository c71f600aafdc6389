/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main.c: the slirpbypass executable.
 *
 * Theory of operation, in the order things happen (slirp4netns's order,
 * so that clients observe the same protocol):
 *
 *   1. subcommands (`seccomp-profile`, `exec`) are dispatched to plugin/;
 *      otherwise the slirp4netns command line is parsed (cli.c).
 *   2. the tap: a forked child enters the target namespaces and passes the
 *      tap fd back (tap.c).  Until then no thread, no GLib main context and
 *      no buffered output exists, so fork and setns are safe.
 *   3. the banner on stdout (line-buffered, so logs are not duplicated or
 *      delayed as slirp4netns's fully buffered stdout is).
 *   4. with --enable-sandbox and not root: join the target user namespace
 *      while still single-threaded.
 *   5. libslirp on the main context (slirp_loop.c), the port table with
 *      every -p forward, the API socket (port-driver/), the bypass listener
 *      (plugin/), the exit-fd watch and a signalfd for SIGTERM/SIGINT/SIGHUP.
 *   6. sandbox (mount namespace, pivot_root, capability drop), then the
 *      self-seccomp deny-list; both keep what the bypass needs.
 *   7. the ready-fd byte "1", then the loop.
 *   8. on exit-fd HUP/ERR/NVAL or a signal: free everything, unlink the
 *      socket files we created, exit 0.  Any setup failure exits 1 with a
 *      one-line message on stderr.
 */
#include "sb_build_config.h"
#include "slirp_bridge.h"
#include "port_driver.h"
#include "plugin.h"
#include "commands.h"
#include "ports.h"

#include <arpa/inet.h>
#include <glib-unix.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
/*
 * ASan builds only: LeakSanitizer's exit-time check needs ptrace and /proc,
 * which the sandbox and the self-seccomp filter take away on purpose (it
 * would die of SIGSYS).  LSan asks this hook before checking; every run
 * without those options keeps the leak check.
 */
static int sb_lsan_impossible;
int __lsan_is_turned_off(void);
__attribute__((used, visibility("default"))) int
__lsan_is_turned_off(void)
{
    return sb_lsan_impossible;
}
#define SB_LSAN_IMPOSSIBLE() (sb_lsan_impossible = 1)
#else
#define SB_LSAN_IMPOSSIBLE() ((void)0)
#endif

typedef struct {
    GMainLoop *loop;
    int exit_status;
} SbRun;

/* Format an IPv4 address into a static-lifetime buffer owned by caller. */
static const char *
ip4(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
    return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/**
 * print_banner: slirp4netns's "Starting slirp" block on stdout.
 */
static void
print_banner(const SbConfig *cfg)
{
    char b[INET6_ADDRSTRLEN];
    struct in_addr dhcp_end = cfg->vnet.dhcp_start;

    dhcp_end.s_addr = htonl(ntohl(dhcp_end.s_addr) + 15);
    printf("Starting slirp\n");
    printf("* MTU:             %u\n", cfg->mtu);
    printf("* Network:         %s\n", ip4(cfg->vnet.network, b));
    printf("* Netmask:         %s\n", ip4(cfg->vnet.netmask, b));
    printf("* Gateway:         %s\n", ip4(cfg->vnet.gateway, b));
    printf("* DNS:             %s\n", ip4(cfg->vnet.dns, b));
    printf("* DHCP begin:      %s\n", ip4(cfg->vnet.dhcp_start, b));
    printf("* DHCP end:        %s\n", ip4(dhcp_end, b));
    printf("* Recommended IP:  %s\n", ip4(cfg->vnet.guest, b));
    if (cfg->api_socket)
        printf("* API Socket:      %s\n", cfg->api_socket);
    if (cfg->has_outbound_addr)
        printf("* Outbound IPv4:    %s\n", ip4(cfg->outbound_addr.sin_addr, b));
    if (cfg->has_outbound_addr6)
        printf(
            "* Outbound IPv6:    %s\n",
            inet_ntop(AF_INET6, &cfg->outbound_addr6.sin6_addr, b, sizeof b));
    if (cfg->has_macaddr)
        printf("* MAC address:     %02x:%02x:%02x:%02x:%02x:%02x\n",
               cfg->macaddr[0], cfg->macaddr[1], cfg->macaddr[2],
               cfg->macaddr[3], cfg->macaddr[4], cfg->macaddr[5]);
    if (cfg->bypass_socket)
        printf("* Bypass socket:   %s\n", cfg->bypass_socket);
    if (cfg->bypass_agent)
        printf("* Bypass agent:    %s\n", cfg->bypass_agent);
    if (!cfg->disable_host_loopback)
        printf("WARNING: 127.0.0.1:* on the host is accessible as %s (set "
               "--disable-host-loopback to prohibit connecting to "
               "127.0.0.1:*)\n",
               ip4(cfg->vnet.gateway, b));
}

/* exit-fd watch: any event (HUP, ERR, NVAL) ends the process with 0. */
static gboolean
on_exit_fd(gint fd, GIOCondition cond, gpointer data)
{
    SbRun *run = data;

    fprintf(stderr, "exitfd event\n");
    run->exit_status = EXIT_SUCCESS;
    g_main_loop_quit(run->loop);
    return G_SOURCE_REMOVE;
}

/* signalfd watch: SIGTERM/SIGINT/SIGHUP end the process cleanly. */
static gboolean
on_signal(gint fd, GIOCondition cond, gpointer data)
{
    SbRun *run = data;
    struct signalfd_siginfo si;

    if (read(fd, &si, sizeof si) == (ssize_t)sizeof si)
        fprintf(stderr, "received signal %u, exiting\n", si.ssi_signo);
    run->exit_status = EXIT_SUCCESS;
    g_main_loop_quit(run->loop);
    return G_SOURCE_REMOVE;
}

/* The tap broke (BESS peer gone, tap error): exit 1. */
static void
on_tap_fatal(const char *msg, gpointer data)
{
    SbRun *run = data;

    fprintf(stderr, "%s\n", msg);
    run->exit_status = EXIT_FAILURE;
    g_main_loop_quit(run->loop);
}

/**
 * netns_open: open the served network namespace for the bypass.
 * Returns: the fd (O_CLOEXEC) with @st filled by fstat(), or -1 with
 * @error set.
 */
static int
netns_open(const SbConfig *cfg, struct stat *st, GError **error)
{
    g_autofree char *path = NULL;
    int fd;

    if (cfg->netns_type == SB_NETNS_PID)
        path = g_strdup_printf("/proc/%d/ns/net", (int)cfg->target_pid);
    else if (cfg->netns_type == SB_NETNS_PATH)
        path = g_strdup(cfg->netns_path);
    else {
        g_set_error(error, SB_ERROR, SB_ERROR_INVALID,
                    "the bypass needs a PID or a netns path target");
        return -1;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, st) < 0) {
        g_set_error(error, SB_ERROR, SB_ERROR_SYSTEM, "open %s: %s", path,
                    g_strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/**
 * parse_publish: parse every -p spec, before anything is started, so that a
 * typo fails fast.
 * Returns: (transfer full) an array of PdForward, or NULL with @error set
 * (the message quotes the spec).
 */
static GArray *
parse_publish(const SbConfig *cfg, const PdNetInfo *net, GError **error)
{
    g_autoptr(GArray) fwds = g_array_new(FALSE, TRUE, sizeof(PdForward));

    for (guint i = 0; i < cfg->publish->len; i++) {
        PdForward fwd;

        if (!pd_publish_parse(cfg->publish->pdata[i], net, &fwd, error))
            return NULL;
        g_array_append_val(fwds, fwd);
    }
    return g_steal_pointer(&fwds);
}

/**
 * add_publish: add the parsed -p forwards to the table.
 * Returns: TRUE, or FALSE with @error naming the spec.
 */
static gboolean
add_publish(const SbConfig *cfg, GArray *fwds, PdTable *table, GError **error)
{
    for (guint i = 0; i < fwds->len; i++) {
        guint id;

        if (!pd_table_add(table, &g_array_index(fwds, PdForward, i), &id,
                          error)) {
            g_prefix_error(error,
                           "--publish %s: ", (char *)cfg->publish->pdata[i]);
            return FALSE;
        }
    }
    return TRUE;
}

/**
 * set_api_info: what the API's "info" extension reports.
 */
static void
set_api_info(const SbConfig *cfg, PdApi *api, gboolean bypass)
{
    PdApiInfo ai = { 0 };

    ai.version = SB_VERSION;
    ai.vnet = cfg->vnet;
    ai.mtu = cfg->mtu;
    ai.ipv6 = cfg->enable_ipv6;
    ai.disable_host_loopback = cfg->disable_host_loopback;
    ai.bypass = bypass;
    pd_api_set_info(api, &ai);
}

/**
 * prepare_default_socket_dir: the directory of the agent's socket,
 * created 0700 if missing (the agent started from here binds there);
 * failures show up when connecting.
 */
static void
prepare_default_socket_dir(const char *path)
{
    g_autofree char *dir = g_path_get_dirname(path);

    (void)g_mkdir_with_parents(dir, 0700);
}

/**
 * start_agent: the bypass listener, configured from @cfg.
 * Returns: (transfer full) the agent, or NULL with @error set.
 */
static PbAgent *
start_agent(const SbConfig *cfg, int proc_fd, const SbTapNs *tapns,
            const PbPortOps *ports, GMainContext *ctx, GError **error)
{
    PbAgentConfig ac = { 0 };
    struct stat st;
    PbAgent *agent;
    int nsfd = netns_open(cfg, &st, error);

    if (nsfd < 0)
        return NULL;
    ac.netns_fd = nsfd;
    ac.netns_dev = st.st_dev;
    ac.netns_ino = st.st_ino;
    ac.vnet = cfg->vnet;
    ac.ipv6 = cfg->enable_ipv6;
    ac.disable_host_loopback = cfg->disable_host_loopback;
    ac.disable_dns = cfg->disable_dns;
    ac.has_outbound_addr = cfg->has_outbound_addr;
    ac.outbound_addr = cfg->outbound_addr;
    ac.has_outbound_addr6 = cfg->has_outbound_addr6;
    ac.outbound_addr6 = cfg->outbound_addr6;
    ac.ignore = cfg->bypass_ignore;
    ac.proc_fd = proc_fd;
    ac.netns_cookie = tapns->netns_cookie;
    ac.tap_ifindex = tapns->tap_ifindex;
    ac.route_query = tapns->route_query;
    ac.route_monitor = tapns->route_monitor;
    ac.ports = ports;
    agent = pb_agent_new(&ac, ctx, error);
    close(nsfd); /* the agent keeps a copy */
    if (agent && cfg->bypass_socket &&
        !pb_agent_listen(agent, cfg->bypass_socket, error))
        g_clear_pointer(&agent, pb_agent_free);
    /* the agent was started, if needed, before joining any user
     * namespace (run()): never start it from in there */
    if (agent && cfg->bypass_agent &&
        !pb_agent_register(agent, cfg->bypass_agent, NULL, error))
        g_clear_pointer(&agent, pb_agent_free);
    return agent;
}

/**
 * print_seccomp_line: slirp4netns's list of blocked syscalls, on stdout.
 */
static void
print_seccomp_line(gboolean keep_bypass)
{
    const char *const *names = sb_seccomp_blocked_names(keep_bypass);
    g_autofree char *joined = g_strjoinv(" ", (char **)names);

    printf("seccomp: The following syscalls are blocked: %s\n", joined);
}

/**
 * run: steps 2 to 8 of the theory of operation.
 * Returns: the process exit status.
 */
static int
run(SbConfig *cfg)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SbSlirp) slirp = NULL;
    g_autoptr(PdTable) table = NULL;
    g_autoptr(PdApi) api = NULL;
    g_autoptr(PbAgent) agent = NULL;
    g_autoptr(SbPorts) ports = NULL;
    g_autoptr(GArray) fwds = NULL;
    GMainContext *ctx = g_main_context_default();
    SbRun state = { NULL, EXIT_FAILURE };
    PdNetInfo net = { 0 };
    sigset_t mask;
    int tapfd = -1, sigfd = -1, proc_fd = -1;
    SbTapNs tapns = { 0, 0, -1, -1 };
    gboolean bypass = cfg->bypass_socket != NULL || cfg->bypass_agent != NULL;

    net.vnet = cfg->vnet;
    net.ipv6 = cfg->enable_ipv6;
    fwds = parse_publish(cfg, &net, &error);
    if (!fwds)
        goto fail;

    tapfd = sb_tap_open(cfg, &tapns, &error);
    if (tapfd < 0)
        goto fail;
    print_banner(cfg);

    if (bypass) {
        /* The sandbox pivots /proc away; the agent reads it via this fd. */
        proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (proc_fd < 0) {
            g_set_error(&error, SB_ERROR, SB_ERROR_SYSTEM, "open /proc: %s",
                        g_strerror(errno));
            goto fail;
        }
    }
    if (cfg->bypass_agent) {
        /* before joining the target's user namespace: an agent started
         * from in there would live in it, with its capabilities */
        g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
        g_autoptr(GError) aerr = NULL;

        prepare_default_socket_dir(cfg->bypass_agent);
        if (exe == NULL || !pb_agent_ensure(cfg->bypass_agent, exe, &aerr))
            g_debug("%s", aerr ? aerr->message : "no /proc/self/exe");
    }
    if (cfg->enable_sandbox && !sb_sandbox_join_userns(cfg, &error))
        goto fail;

    state.loop = g_main_loop_new(ctx, FALSE);
    slirp = sb_slirp_new(cfg, tapfd, ctx, &error);
    tapfd = -1; /* owned by slirp now, even on failure */
    if (!slirp)
        goto fail;
    sb_slirp_set_fatal(slirp, on_tap_fatal, &state);

    table = pd_table_new(sb_slirp_get(slirp), &net);
    if (!add_publish(cfg, fwds, table, &error))
        goto fail;
    if (cfg->api_socket) {
        api = pd_api_new(table, cfg->api_socket, ctx, &error);
        if (!api)
            goto fail;
        set_api_info(cfg, api, bypass);
    }
    if (bypass) {
        ports = sb_ports_new(table, slirp);
        agent =
            start_agent(cfg, proc_fd, &tapns, sb_ports_ops(ports), ctx, &error);
        if (!agent && cfg->bypass_soft) {
            /* bypass=true from -o or a config file: the network must
             * come up anyway (another helper may serve this namespace) */
            fprintf(stderr, "WARNING: bypass off: %s\n", error->message);
            g_clear_error(&error);
            g_clear_pointer(&ports, sb_ports_free);
            bypass = FALSE;
        } else if (!agent) {
            goto fail;
        } else {
            sb_ports_set_agent(ports, agent);
        }
    }
    /* the agent keeps copies of the container's route sockets, if any */
    sb_tap_ns_close(&tapns);

    if (cfg->exit_fd >= 0)
        g_unix_fd_add(cfg->exit_fd, G_IO_HUP | G_IO_ERR, on_exit_fd, &state);
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
        (sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
        g_set_error(&error, SB_ERROR, SB_ERROR_SYSTEM, "signalfd: %s",
                    g_strerror(errno));
        goto fail;
    }
    g_unix_fd_add(sigfd, G_IO_IN, on_signal, &state);

    if (cfg->enable_sandbox || cfg->enable_seccomp)
        SB_LSAN_IMPOSSIBLE();
    if (cfg->enable_sandbox) {
        SbSandboxOptions so = { 0 };
        if (bypass)
            so.keep_caps = 1ULL << CAP_SYS_PTRACE;
        if (!sb_sandbox_enter(cfg, &so, &error))
            goto fail;
    }
    if (cfg->enable_seccomp) {
        print_seccomp_line(bypass);
        if (!sb_seccomp_apply(bypass, &error))
            goto fail;
    }

    sb_ready_fd_signal(cfg->ready_fd);
    g_main_loop_run(state.loop);
    fprintf(stderr, "slirpbypass is exiting\n");
    goto out;

fail:
    fprintf(stderr, "%s\n", error->message);
    state.exit_status = EXIT_FAILURE;
out:
    /* agent and API first: they unlink their socket files */
    if (ports)
        sb_ports_set_agent(ports, NULL);
    g_clear_pointer(&agent, pb_agent_free);
    g_clear_pointer(&ports, sb_ports_free);
    g_clear_pointer(&api, pd_api_free);
    g_clear_pointer(&table, pd_table_free);
    g_clear_pointer(&slirp, sb_slirp_free);
    if (state.loop)
        g_main_loop_unref(state.loop);
    if (tapfd >= 0)
        close(tapfd);
    if (sigfd >= 0)
        close(sigfd);
    if (proc_fd >= 0)
        close(proc_fd);
    sb_tap_ns_close(&tapns);
    return state.exit_status;
}

/* The WARNING lines collected by the parser, on stdout, once. */
static void
print_warnings(const SbConfig *cfg)
{
    for (guint i = 0; i < cfg->warnings->len; i++)
        printf("%s\n", (char *)cfg->warnings->pdata[i]);
    fflush(stdout);
}

int
main(int argc, char **argv)
{
    SbConfig cfg;
    SbCliAction action = SB_CLI_RUN;
    g_autoptr(GError) error = NULL;
    int status;

    if (argc > 1 && strcmp(argv[1], "seccomp-profile") == 0)
        return sb_cmd_profile_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "exec") == 0)
        return sb_cmd_exec_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "agent") == 0)
        return sb_cmd_agent_main(argc - 1, argv + 1);

    /* Line-buffered: podman reads our log file while we run. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);

    sb_config_init(&cfg);
    cfg.read_config_files = TRUE;
    if (!sb_cli_parse(argc, argv, &cfg, &action, &error)) {
        print_warnings(&cfg);
        if (error->message[0])
            fprintf(stderr, "%s\n", error->message);
        if (g_error_matches(error, SB_ERROR, SB_ERROR_USAGE))
            sb_cli_print_usage(stdout, argv[0]);
        status = EXIT_FAILURE;
        goto out;
    }
    if (action == SB_CLI_HELP) {
        sb_cli_print_usage(stdout, argv[0]);
        status = EXIT_SUCCESS;
        goto out;
    }
    if (action == SB_CLI_VERSION) {
        sb_cli_print_version(stdout);
        status = EXIT_SUCCESS;
        goto out;
    }
    print_warnings(&cfg);
    status = run(&cfg);
out:
    sb_config_clear(&cfg);
    return status;
}
