#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-podman.sh - rootless podman 4.3 with network_cmd_path=slirpbypass and
# port_handler=slirp4netns (ports published through the API socket).
#
# Theory of operation: as the unprivileged test user, with its podman
# config and storage under $T (nothing in the user's home), import a
# busybox rootfs and run
#   podman run -d --network=slirp4netns:port_handler=slirp4netns
#              -p 127.0.0.1:18092:80 -p 18094:53/udp ...
# podman runs `slirpbypass --help`, then slirpbypass with its argv
# (--enable-sandbox --enable-seccomp -c -e 3 -r 4 --api-socket ...), and
# sends one add_hostfwd per port to the API socket (guest_addr "", SHUT_WR,
# one read of 2048 bytes).  Checks: the page through the published port,
# the client address the container logs (10.0.2.2: no userspace proxy),
# no rootlessport process, UDP through the published port (source address
# kept), and cleanup on
# container removal (helper gone, API socket gone).
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict
sb_need podman runc busybox curl socat newuidmap

user=$(sb_ensure_test_user)
uid=$(id -u "$user")
U="$T/u"
mkdir -p "$U/config/containers" "$U/rootfs"
. "$SB_SOURCE_ROOT/tests/lib/podman-lib.sh"
sb_podman_setup "$U"

# A busybox rootfs: /bin/busybox, one symlink per applet, a web page.
R="$U/rootfs"
mkdir -p "$R/bin" "$R/etc" "$R/var/www" "$R/tmp"
cp "$(command -v busybox)" "$R/bin/busybox"
for a in $(busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"; done
echo 'root:x:0:0:root:/:/bin/sh' >"$R/etc/passwd"
echo 'root:x:0:' >"$R/etc/group"
echo "hello-from-podman" >"$R/var/www/index.html"
# busybox has no UDP server: the host's socat runs in the container with
# the host's /usr mounted read-only (merged-/usr layout).
ln -s usr/lib "$R/lib"
ln -s usr/lib64 "$R/lib64"
tar -C "$R" -cf "$U/rootfs.tar" .
chown -R "$user" "$U"

pm() {
    sb_as_user env "XDG_CONFIG_HOME=$U/config" timeout 90 podman "$@"
}
# Remove the container and podman's per-user pause process (catatonit, by
# its pid file), then run the harness's own cleanup with our exit status.
cleanup_podman() {
    local pause
    pm rm -f -t 0 c1 >/dev/null 2>&1 || true
    pause=$(cat "/run/user/$uid/libpod/tmp/pause.pid" 2>/dev/null || true)
    [ -z "$pause" ] || kill "$pause" 2>/dev/null || true
}
trap 'rc=$?; trap - ERR; set +e; cleanup_podman; (exit $rc); _sb_cleanup' EXIT

pm import "$U/rootfs.tar" localhost/sbbb:latest >/dev/null
pm run -d --name c1 --pull=never \
    --network=slirp4netns:port_handler=slirp4netns \
    -p 127.0.0.1:18092:80 -p 18094:53/udp -v /usr:/usr:ro \
    localhost/sbbb:latest sh -c '/usr/bin/socat UDP4-RECVFROM:53,fork "SYSTEM:echo \$SOCAT_PEERADDR" & exec httpd -f -v -p 80 -h /var/www' >/dev/null

page() { curl -sS -m 3 "http://127.0.0.1:$1/index.html"; }
if ! sb_wait_until 30 page 18092; then
    pm logs c1 >&2 || true
    sb_fail "published port 18092 does not serve the container's page"
fi
sb_assert_eq hello-from-podman "$(page 18092)" "page via -p"

# slirpbypass serves the container, with podman's API socket, and no
# userspace proxy is involved.
args=$(tr '\0' ' ' </proc/"$(pgrep -u "$uid" -f -n "^$bin ")"/cmdline)
sb_log "podman ran: $args"
sb_assert_contains "$args" "--api-socket" "podman passed --api-socket"
sb_assert_contains "$args" "--enable-sandbox" "podman passed --enable-sandbox"
if pgrep -u "$uid" -f rootlessport >/dev/null; then sb_fail "rootlessport is running"; fi
sock=$(printf '%s\n' "$args" | sed -n 's/.*--api-socket \([^ ]*\).*/\1/p')
api=$(sb_api '{"execute":"list_hostfwd"}' "$sock")
# (podman adds them in map order: either id may come first)
sb_assert_contains "$api" '"proto":"tcp","host_addr":"127.0.0.1","host_port":18092,"guest_addr":"10.0.2.100","guest_port":80}' "TCP forward listed"
sb_assert_contains "$api" '"proto":"udp","host_addr":"0.0.0.0","host_port":18094,"guest_addr":"10.0.2.100","guest_port":53}' "UDP forward listed"
[ "$(grep -o '"id":' <<<"$api" | wc -l)" = 2 ] || sb_fail "expected 2 entries: $api"

# The container sees the client as 10.0.2.2 (no proxy in between).
logs=$(pm logs c1 2>&1)
sb_assert_contains "$logs" "10.0.2.2" "httpd log shows the client address"

# UDP from a non-loopback address of the private host: podman passes
# --disable-host-loopback, and then libslirp drops UDP replies to loopback
# clients (they would go to 10.0.2.2 = host loopback), as with slirp4netns.
ip tuntap add sbsrc mode tun
ip link set sbsrc up
ip addr add 192.0.2.1/32 dev sbsrc
udp_ok() { [ "$(echo x | timeout 3 socat -T 2 - UDP4:192.0.2.1:18094,bind=192.0.2.1)" = 192.0.2.1 ]; }
if ! sb_wait_until 15 udp_ok; then
    pm logs c1 >&2 || true
    pm exec c1 ps >&2 || true
    sb_fail "UDP through the published port"
fi

pm rm -f -t 0 c1 >/dev/null
gone() { ! pgrep -u "$uid" -f "^$bin " >/dev/null; }
sb_wait_until 15 gone || sb_fail "slirpbypass still running after podman rm"
[ ! -e "$sock" ] || sb_fail "API socket $sock left behind"
sb_log "PASS"
