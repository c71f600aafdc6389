#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# --cidr: with 10.0.135.128/25 and -c the container gets network+100 =
# 10.0.135.228/25 and a default route via network+2 = 10.0.135.130, which
# reaches the host's loopback; the default 10.0.2.2 is then not the gateway.
# The `--cidr VALUE` spelling (rootlesskit) works as well.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict

sb_peer_server 18080

for spelling in "--cidr=10.0.135.128/25" "--cidr 10.0.135.128/25"; do
    sb_log "$spelling"
    sb_start_target
    # shellcheck disable=SC2086 # the space-separated spelling is split on purpose
    sb_start_helper -c $spelling "$TARGET_PID" tap0
    addr=$(sb_in_target ip -4 -o addr show dev tap0)
    sb_assert_contains "$addr" "inet 10.0.135.228/25 brd 10.0.135.255" "tap0 address"
    route=$(sb_in_target ip -4 route show default)
    sb_assert_eq "default via 10.0.135.130 dev tap0 " "$route" "default route"
    out=$(sb_in_target timeout 10 socat -t 5 - TCP4:10.0.135.130:18080 </dev/null)
    sb_assert_contains "$out" "127.0.0.1:" "TCP via 10.0.135.130"
    sb_stop_helper
done

sb_log "a /16 network"
sb_start_target
sb_start_helper -c --cidr=10.7.0.0/16 "$TARGET_PID" tap0
addr=$(sb_in_target ip -4 -o addr show dev tap0)
sb_assert_contains "$addr" "inet 10.7.0.100/16" "tap0 address (/16)"
out=$(sb_in_target timeout 10 socat -t 5 - TCP4:10.7.0.2:18080 </dev/null)
sb_assert_contains "$out" "127.0.0.1:" "TCP via 10.7.0.2"
sb_stop_helper
sb_log "ok"
