#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# DNS forwarding: a query to 10.0.2.3:53 from the container is forwarded to
# the first nameserver of the host's /etc/resolv.conf.  In the private mount
# namespace resolv.conf says 127.0.0.1, where a tiny DNS responder (bash +
# od under socat) answers every A query with 192.0.2.53.  With
# --disable-dns the query is not forwarded.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict

# The responder (tests/lib/dns-responder.sh): A queries get 192.0.2.53.
sb_bg socat -T 5 UDP4-RECVFROM:53,bind=127.0.0.1,fork "EXEC:$SB_SOURCE_ROOT/tests/lib/dns-responder.sh"
sb_wait_port 53 udp || sb_fail "DNS responder did not start"

printf 'nameserver 127.0.0.1\n' >"$T/resolv.conf"
mount --bind "$T/resolv.conf" "$(realpath /etc/resolv.conf)" ||
    sb_skip "cannot bind-mount a private /etc/resolv.conf"

sb_log "sanity: the responder answers on the host's loopback"
out=$(timeout 10 busybox nslookup sbtest.example 127.0.0.1 2>&1 || true)
sb_assert_contains "$out" "192.0.2.53" "direct query to the responder"

sb_log "query 10.0.2.3 from the container"
sb_start_target
sb_start_helper -c "$TARGET_PID" tap0
out=$(sb_in_target timeout 15 busybox nslookup -type=a sbtest.example 10.0.2.3 2>&1 || true)
sb_assert_contains "$out" "Address: 192.0.2.53" "answer via 10.0.2.3"
sb_stop_helper

sb_log "--disable-dns: 10.0.2.3 is not forwarded"
sb_start_target
sb_start_helper -c --disable-dns "$TARGET_PID" tap0
out=$(sb_in_target timeout 15 busybox nslookup -type=a -timeout=2 -retry=1 sbtest.example 10.0.2.3 2>&1 || true)
case "$out" in
*192.0.2.53*) sb_fail "--disable-dns: the query was still answered: $out" ;;
esac
sb_stop_helper
sb_log "ok"
