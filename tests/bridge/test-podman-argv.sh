#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Rootless, podman 4.3 style: the helper runs as root inside the user's
# user namespace (like podman's rootless userns, with its own mount
# namespace), in the host network namespace, with podman's exact argv (see
# reference/testbed.md §3.ii): -c -e 3 -r 4, --netns-type=path with a netns
# bind-mounted to a file, fd 0 /dev/null, fd 5 an extra pipe.  First
# `--help` must exit 0 and list the options podman greps for.  Checked: the
# container's configuration, reachability of the host loopback when
# allowed, podman's add_hostfwd request (guest_addr "") serving a page from
# the container on the host, and a clean exit 0 when the exit pipe closes.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict

user=$(sb_ensure_test_user)
run="$T/run"
install -d -o "$user" -m 0755 "$run" "$run/netns" "$run/tmp"
mkfifo "$T/extra"
exec 5<>"$T/extra"

sb_log "--help as podman's checkSlirpFlags runs it (as the user)"
help=$(sb_as_user "$SLIRPBYPASS" --help 2>&1) || sb_fail "--help exited non-zero"
for flag in --disable-host-loopback --mtu --enable-sandbox --enable-seccomp --cidr --outbound-addr --enable-ipv6; do
    sb_assert_contains "$help" "$flag" "--help output"
done

# The "podman" wrapper: runs as root in a fresh user namespace (user -> 0)
# with its own mount namespace, creates netns-<id> bound to a file like
# podman, starts a container process in it (its PID goes to target.pid),
# then execs the helper so that HELPER_PID is the helper itself.
cat >"$T/podman-ns.sh" <<'SH'
#!/bin/bash
set -e
dir=$1
shift
touch "$dir/netns/netns-sbtest"
unshare --net="$dir/netns/netns-sbtest" true
nsenter --net="$dir/netns/netns-sbtest" sleep 3600 </dev/null >/dev/null 2>&1 3<&- 4>&- 5<&- &
echo $! >"$dir/target.pid"
export _CONTAINERS_USERNS_CONFIGURED=done _CONTAINERS_ROOTLESS_UID=$(id -u)
exec "$@"
SH
chmod 0755 "$T/podman-ns.sh"
# shellcheck disable=SC2034 # read by sb_start_helper
SB_HELPER_WRAP=(unshare --user --map-root-user --mount /bin/bash "$T/podman-ns.sh" "$run")

# start_podman_style ARGS... - start the helper with ARGS, then set
# TARGET_PID to the container process made by the wrapper.
start_podman_style()
{
    rm -f "$run/target.pid" "$run/netns/netns-sbtest" "$run/tmp/ctr.net"
    touch "$run/netns/netns-sbtest"
    chown "$user" "$run/netns/netns-sbtest"
    sb_exit_pipe 3
    sb_start_helper sb_as_user "$@"
    TARGET_PID=$(cat "$run/target.pid")
    sb_track "$TARGET_PID"
}

# check_container MTU - podman's -c result.
check_container()
{
    addr=$(sb_in_target ip -4 -o addr show dev tap0)
    sb_assert_contains "$addr" "inet 10.0.2.100/24" "tap0 address"
    sb_assert_contains "$(sb_in_target ip -o link show dev tap0)" "mtu $1 " "tap0 MTU"
    sb_assert_eq "default via 10.0.2.2 dev tap0 " "$(sb_in_target ip -4 route show default)" "default route"
}

# stop_podman_style - conmon exits: the exit pipe's writer closes.
stop_podman_style()
{
    sb_close_exit_pipe
    sb_wait_until 10 eval '! kill -0 "$HELPER_PID" 2>/dev/null || grep -q "^State:.*Z" "/proc/$HELPER_PID/status"' ||
        sb_fail "helper did not exit after the exit pipe closed"
    sb_stop_helper
    sb_assert_eq 0 "$HELPER_STATUS" "exit status after the exit pipe closed"
}

sb_peer_server 18080
mkdir -p "$T/ctr-www" && echo hello-from-container >"$T/ctr-www/index.html"
ns="$run/netns/netns-sbtest"

sb_log "podman default argv"
start_podman_style --disable-host-loopback --mtu=65520 --enable-sandbox --enable-seccomp --enable-ipv6 \
    -c -e 3 -r 4 --netns-type=path "$ns" tap0
check_container 65520
if sb_in_target timeout 10 socat -t 3 - TCP4:10.0.2.2:18080,connect-timeout=5 </dev/null >/dev/null 2>&1; then
    sb_fail "host loopback reachable despite --disable-host-loopback"
fi
stop_podman_style

sb_log "podman allow_host_loopback=true"
start_podman_style --mtu=65520 --enable-sandbox --enable-seccomp --enable-ipv6 \
    -c -e 3 -r 4 --netns-type=path "$ns" tap0
check_container 65520
out=$(sb_in_target timeout 10 socat -t 5 - TCP4:10.0.2.2:18080 </dev/null)
sb_assert_contains "$out" "127.0.0.1:" "TCP via 10.0.2.2"
stop_podman_style

sb_log "podman port_handler=slirp4netns with -p 127.0.0.1:18092:80"
api="$run/tmp/ctr.net"
start_podman_style --disable-host-loopback --mtu=65520 --enable-sandbox --enable-seccomp --enable-ipv6 \
    -c -e 3 -r 4 --api-socket "$api" --netns-type=path "$ns" tap0
check_container 65520
sb_bg sb_in_target busybox httpd -f -p 80 -h "$T/ctr-www"
sb_wait_until 10 sb_in_target sh -c 'ss -ltnH "sport = :80" | grep -q .' ||
    sb_fail "httpd in the container did not start"
out=$(sb_api '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":18092,"guest_addr":"","guest_port":80}}' "$api")
sb_assert_contains "$out" '{"return":{"id":' "add_hostfwd reply"
out=$(timeout 10 curl -sS -m 5 http://127.0.0.1:18092/)
sb_assert_eq hello-from-container "$out" "page from the container through the forward"
stop_podman_style
# slirp4netns cannot unlink it from inside its sandbox; slirpbypass must.
if ! sb_is_slirp4netns; then
    [ ! -e "$api" ] || sb_fail "API socket not unlinked at exit"
fi

sb_log "podman mtu=1500,cidr=10.0.3.0/24,enable_ipv6=false"
start_podman_style --disable-host-loopback --mtu=1500 --enable-sandbox --enable-seccomp --cidr=10.0.3.0/24 \
    -c -e 3 -r 4 --api-socket "$api" --netns-type=path "$ns" tap0
sb_assert_contains "$(sb_in_target ip -4 -o addr show dev tap0)" "inet 10.0.3.100/24" "tap0 address"
sb_assert_contains "$(sb_in_target ip -o link show dev tap0)" "mtu 1500 " "tap0 MTU"
sb_in_target timeout 10 busybox ping -c 1 -W 5 10.0.3.2 >/dev/null ||
    sb_fail "gateway 10.0.3.2 does not answer ping"
stop_podman_style
sb_log "ok"
