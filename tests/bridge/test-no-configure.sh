#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Without -c the helper creates the tap but leaves it DOWN with no address
# (and leaves lo alone).  With an already existing persistent tap (what
# rootlesskit creates with `ip tuntap add tap0 mode tap` before starting the
# helper) TUNSETIFF attaches to it; the caller configures it and traffic
# flows.  The persistent tap survives the helper.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict

sb_log "no -c: tap exists, DOWN, no address"
sb_start_target
sb_start_helper "$TARGET_PID" tap0
link=$(sb_in_target ip -o link show dev tap0)
case "$link" in
*"<"*UP*">"*) sb_fail "tap0 is up without -c: $link" ;;
esac
sb_assert_contains "$link" "state DOWN" "tap0 state"
addr=$(sb_in_target ip -o addr show dev tap0)
sb_assert_eq "" "$addr" "tap0 addresses without -c"
case "$(sb_in_target ip -o link show dev lo)" in
*",UP"*) sb_fail "lo was brought up without -c" ;;
esac
sb_stop_helper

sb_log "existing persistent tap (rootlesskit style)"
sb_start_target
sb_in_target ip tuntap add tap0 mode tap
sb_peer_server 18080
sb_start_helper --mtu 65520 "$TARGET_PID" tap0
# The caller configures the tap itself, like rootlesskit's child does.
sb_in_target ip link set lo up
sb_in_target ip link set tap0 mtu 65520 up
sb_in_target ip addr add 10.0.2.100/24 dev tap0
sb_in_target ip route add default via 10.0.2.2
out=$(sb_in_target timeout 10 socat -t 5 - TCP:10.0.2.2:18080 </dev/null)
sb_assert_contains "$out" "127.0.0.1:" "peer seen through the attached tap"
sb_stop_helper
sb_in_target ip link show tap0 >/dev/null || sb_fail "persistent tap0 vanished with the helper"
sb_log "ok"
