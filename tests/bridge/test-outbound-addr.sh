#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# --outbound-addr: host-side sockets of the slirp path are bound to the given
# local address.  The private host gets two extra local addresses on an
# unattached tun device (192.0.2.1, 192.0.2.2); a server on 192.0.2.2
# reports its peer.  Without the option the kernel picks 192.0.2.2 itself
# (local route); with --outbound-addr=192.0.2.1, or the interface name
# (first address), the peer is 192.0.2.1.  Connections to the gateway
# (host loopback) are bound the same way.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict

ip tuntap add sbout mode tun
ip addr add 192.0.2.1/32 dev sbout
ip addr add 192.0.2.2/32 dev sbout
ip link set sbout up
sb_peer_server 18080 192.0.2.2
sb_peer_server 18081 127.0.0.1

# peer ADDR PORT - print the peer address the server at ADDR:PORT saw.
peer()
{
    local out
    out=$(sb_in_target timeout 10 socat -t 5 - "TCP4:$1:$2" </dev/null) ||
        sb_fail "connect to $1:$2 failed"
    printf '%s\n' "${out%:*}"
}

sb_log "control: no --outbound-addr"
sb_start_target
sb_start_helper -c "$TARGET_PID" tap0
sb_assert_eq 192.0.2.2 "$(peer 192.0.2.2 18080)" "peer without --outbound-addr"
sb_stop_helper

for opt in --outbound-addr=192.0.2.1 --outbound-addr=sbout; do
    sb_log "$opt"
    sb_start_target
    sb_start_helper -c "$opt" "$TARGET_PID" tap0
    sb_assert_eq 192.0.2.1 "$(peer 192.0.2.2 18080)" "peer with $opt"
    sb_assert_eq 192.0.2.1 "$(peer 10.0.2.2 18081)" "peer via the gateway with $opt"
    sb_stop_helper
done
sb_log "ok"
