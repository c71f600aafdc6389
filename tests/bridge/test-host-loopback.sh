#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The gateway 10.0.2.2 maps to the (private) host's loopback: a TCP server
# on 127.0.0.1 is reachable from the container and sees a loopback peer; a
# UDP echo server on 127.0.0.1 answers; a larger transfer arrives intact.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict

sb_start_target
sb_peer_server 18080
sb_udp_echo_server 18081
sb_start_helper -c --mtu=65520 "$TARGET_PID" tap0

sb_log "TCP to 10.0.2.2:18080"
out=$(sb_in_target timeout 10 socat -t 5 - TCP4:10.0.2.2:18080 </dev/null)
case "$out" in
127.0.0.1:[0-9]*) ;;
*) sb_fail "TCP via 10.0.2.2: unexpected peer line '$out'" ;;
esac

sb_log "UDP echo via 10.0.2.2:18081"
out=$(echo "udp-ping-$$" | sb_in_target timeout 10 socat -t 2 - UDP4:10.0.2.2:18081)
sb_assert_eq "udp-ping-$$" "$out" "UDP echo via 10.0.2.2"

sb_log "1 MiB over TCP, both directions checked by checksum"
head -c 1048576 /dev/urandom >"$T/blob"
sb_bg socat -u "TCP4-LISTEN:18082,bind=127.0.0.1,reuseaddr" "OPEN:$T/recv,creat,trunc"
sb_wait_port 18082 || sb_fail "sink did not start"
sb_in_target timeout 30 socat -u "OPEN:$T/blob" TCP4:10.0.2.2:18082
sb_wait_until 10 cmp -s "$T/blob" "$T/recv" || sb_fail "container->host 1 MiB differs"
sb_bg socat -u "OPEN:$T/blob" "TCP4-LISTEN:18083,bind=127.0.0.1,reuseaddr"
sb_wait_port 18083 || sb_fail "source did not start"
sb_in_target timeout 30 socat -u TCP4:10.0.2.2:18083 "CREATE:$T/recv2"
cmp -s "$T/blob" "$T/recv2" || sb_fail "host->container 1 MiB differs"
sb_stop_helper
sb_log "ok"
