#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# --disable-host-loopback: connections from the container to 10.0.2.2 (the
# host's loopback) are refused, TCP and UDP, while the gateway itself still
# answers ping.  The deprecated alias --no-host-loopback does the same.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict

sb_peer_server 18080
sb_udp_echo_server 18081

for opt in --disable-host-loopback --no-host-loopback; do
    sb_log "$opt"
    sb_start_target
    sb_start_helper -c "$opt" "$TARGET_PID" tap0
    sb_in_target timeout 10 busybox ping -c 1 -W 5 10.0.2.2 >/dev/null ||
        sb_fail "$opt: gateway does not answer ping"
    if out=$(sb_in_target timeout 10 socat -t 3 - TCP4:10.0.2.2:18080,connect-timeout=5 </dev/null 2>&1); then
        sb_fail "$opt: TCP to 10.0.2.2 succeeded: $out"
    fi
    out=$(echo "udp-ping" | sb_in_target timeout 10 socat -T 2 -t 2 - UDP4:10.0.2.2:18081 2>&1 || true)
    case "$out" in
    *udp-ping*) sb_fail "$opt: UDP to 10.0.2.2 was echoed" ;;
    esac
    sb_stop_helper
done

sb_log "control: without the option the same server is reachable"
sb_start_target
sb_start_helper -c "$TARGET_PID" tap0
out=$(sb_in_target timeout 10 socat -t 5 - TCP4:10.0.2.2:18080 </dev/null)
sb_assert_contains "$out" "127.0.0.1:" "TCP via 10.0.2.2 without the option"
sb_stop_helper
sb_log "ok"
