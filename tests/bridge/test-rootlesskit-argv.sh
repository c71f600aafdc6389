#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Rootless, rootlesskit 1.1 style: the helper runs as the unprivileged user
# in the initial user namespace, with rootlesskit's exact argv (values as
# separate words, no -c, no exit fd, fd 3 the ready pipe, fd 4 an extra
# pipe, the target a PID whose tap0 already exists).  It must join the
# target's user namespace, then its network namespace, attach to the
# existing tap, serve traffic once the caller configured the tap, and
# accept rootlesskit's API requests (add_hostfwd with guest_addr 10.0.2.100,
# remove_hostfwd).  Argv as recorded in reference/clients.md §4.1:
#   --mtu 65520 -r 3 --disable-host-loopback --api-socket STATE/.s4nn.sock PID tap0
#   --mtu 65520 -r 3 --disable-host-loopback --cidr 10.0.5.0/24 \
#       --enable-sandbox --enable-seccomp --enable-ipv6 PID tap0
#   --mtu 65520 -r 3 --api-socket STATE/.s4nn.sock PID tap0  (host loopback allowed)
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict

user=$(sb_ensure_test_user)
state="$T/state"
install -d -o "$user" -m 0700 "$state"
mkfifo "$T/extra"
exec 4<>"$T/extra" # rootlesskit leaves an extra pipe on fd 4

sb_peer_server 18080
sb_http_server 18081 127.0.0.1 hello-from-host

# prepare_target - start the user's "child" and create its tap like
# rootlesskit's PrepareTap does.
prepare_target()
{
    sb_start_target --user "$user"
    sb_in_target ip tuntap add name tap0 mode tap
    sb_in_target ip link set tap0 up
}

# configure_child NET - what rootlesskit's child does once the helper is up.
configure_child()
{
    sb_in_target ip link set lo up
    sb_in_target ip link set tap0 mtu 65520
    sb_in_target ip addr add "$1.100/24" dev tap0
    sb_in_target ip route add default via "$1.2" dev tap0
}

sb_log "rootlesskit argv with --api-socket and --disable-host-loopback"
prepare_target
sb_start_helper sb_as_user --mtu 65520 -r 3 --disable-host-loopback \
    --api-socket "$state/.s4nn.sock" "$TARGET_PID" tap0
sb_assert_eq "$user" "$(ps -o user= -p "$HELPER_PID")" "helper's user"
configure_child 10.0.2
sb_in_target timeout 10 busybox ping -c 1 -W 5 10.0.2.2 >/dev/null ||
    sb_fail "gateway does not answer ping"
if sb_in_target timeout 10 socat -t 3 - TCP4:10.0.2.2:18080,connect-timeout=5 </dev/null >/dev/null 2>&1; then
    sb_fail "host loopback reachable despite --disable-host-loopback"
fi
mkdir -p "$T/child-www" && echo hello-from-child >"$T/child-www/index.html"
sb_bg sb_in_target busybox httpd -f -p 80 -h "$T/child-www"
sb_wait_until 10 sb_in_target sh -c 'ss -ltnH "sport = :80" | grep -q .' ||
    sb_fail "httpd in the child did not start"
# rootlesskit's json.Encoder output: JSON + newline, then CloseWrite.
out=$(sb_api '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":18083,"guest_addr":"10.0.2.100","guest_port":80}}' "$state/.s4nn.sock")
sb_assert_eq '{"return":{"id":1}}' "$out" "add_hostfwd reply"
out=$(timeout 10 curl -sS -m 5 http://127.0.0.1:18083/)
sb_assert_eq hello-from-child "$out" "page from the child through the forward"
out=$(sb_api '{"execute":"remove_hostfwd","arguments":{"id":1}}' "$state/.s4nn.sock")
sb_assert_eq '{"return":{}}' "$out" "remove_hostfwd reply"
if timeout 10 curl -sS -m 5 http://127.0.0.1:18083/ >/dev/null 2>&1; then
    sb_fail "forward still served after remove_hostfwd"
fi
sb_stop_helper
case "$HELPER_STATUS" in
0 | 143) ;; # slirpbypass exits 0 on SIGTERM, slirp4netns dies of it
*) sb_fail "status $HELPER_STATUS after SIGTERM" ;;
esac

sb_log "rootlesskit argv with --cidr, sandbox, seccomp and IPv6"
prepare_target
sb_start_helper sb_as_user --mtu 65520 -r 3 --disable-host-loopback --cidr 10.0.5.0/24 \
    --enable-sandbox --enable-seccomp --enable-ipv6 "$TARGET_PID" tap0
configure_child 10.0.5
sb_in_target timeout 10 busybox ping -c 1 -W 5 10.0.5.2 >/dev/null ||
    sb_fail "gateway 10.0.5.2 does not answer ping"
sb_stop_helper

sb_log "rootlesskit argv, host loopback allowed"
prepare_target
sb_start_helper sb_as_user --mtu 65520 -r 3 --api-socket "$state/.s4nn.sock" "$TARGET_PID" tap0
configure_child 10.0.2
out=$(sb_in_target timeout 10 socat -t 5 - TCP4:10.0.2.2:18080 </dev/null)
sb_assert_contains "$out" "127.0.0.1:" "TCP via 10.0.2.2"
out=$(sb_in_target timeout 10 busybox wget -qO- http://10.0.2.2:18081/)
sb_assert_eq hello-from-host "$out" "page from the host via 10.0.2.2"
sb_stop_helper
sb_log "ok"
