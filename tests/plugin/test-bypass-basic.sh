#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-bypass-basic.sh - connections the bypass must take, and the proof
# that it took them: gateway -> host loopback and a non-loopback local
# address of the private host, blocking and non-blocking, IPv4 and IPv6,
# connected UDP, socket options and close-on-exec preserved.  Each proof
# is paired with a control run on the slirp path that shows it can fail.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
. "$(dirname "$0")/bypass-lib.sh"

pb_init
pb_start_bypass --enable-ipv6

pb_serve HOSTLO 127.0.0.1 18001
pb_serve TUN4 "$TUN4" 18002
pb_serve HOSTLO6 ::1 18003
pb_serve TUN6 "$TUN6" 18004
pb_serve_udp UDPLO 127.0.0.1 18005
pb_serve_udp UDPTUN "$TUN4" 18006
O=$T/out

sb_log "control: the slirp path, no bypass"
pb_plain "$O" tcp-connect 10.0.2.2 18001
pb_assert_slirp "$O" "plain gateway connect"
sb_assert_eq HOSTLO "$(pb_reply_tag "$O")" "plain gateway connect reached"
[ "$(pb_get "$O" local)" != "$(pb_reply_peer "$O")" ] ||
    sb_fail "control: slirp path must not show local = server's peer"
pb_held plain tcp-connect 10.0.2.2 18001
pb_assert_inode_not_in_host "$HELD_OUT"

sb_log "gateway 10.0.2.2 -> host loopback, blocking"
pb_bypassed "$O" tcp-connect 10.0.2.2 18001 || true
pb_assert_bypassed "$O" HOSTLO "bypassed gateway connect"
pb_expect "$O" connect_rc 0 "blocking connect return"
pb_expect "$O" peer 127.0.0.1:18001 "getpeername of the bypassed socket"
pb_held bypassed tcp-connect 10.0.2.2 18001
pb_assert_bypassed "$HELD_OUT" HOSTLO "held bypassed connect"
pb_assert_inode_in_host "$HELD_OUT"

sb_log "non-loopback address of the private host ($TUN4)"
pb_bypassed "$O" tcp-connect "$TUN4" 18002 || true
pb_assert_bypassed "$O" TUN4 "bypassed connect to $TUN4"
pb_plain "$O" tcp-connect "$TUN4" 18002
pb_assert_slirp "$O" "plain connect to $TUN4"

sb_log "non-blocking connects: same return values as the kernel gives"
pb_host "$T/ref" tcp-connect 127.0.0.1 18001 --nonblock
pb_bypassed "$O" tcp-connect 10.0.2.2 18001 --nonblock || true
pb_assert_bypassed "$O" HOSTLO "non-blocking gateway connect"
pb_expect "$O" connect_rc "$(pb_get "$T/ref" connect_rc)" "non-blocking connect return"
pb_expect "$O" post.O_NONBLOCK 1 "O_NONBLOCK kept"
pb_bypassed "$O" tcp-connect "$TUN4" 18002 --nonblock || true
pb_assert_bypassed "$O" TUN4 "non-blocking connect to $TUN4"
# connect() again while connecting and once connected (how APR, and so ab,
# learns the outcome): the agent lets the kernel answer for the host socket
pb_host "$T/ref" tcp-connect 127.0.0.1 18001 --nonblock --reconnect
pb_bypassed "$O" tcp-connect 10.0.2.2 18001 --nonblock --reconnect || true
pb_assert_bypassed "$O" HOSTLO "non-blocking connect asked twice"
pb_expect "$O" reconnect_early "$(pb_get "$T/ref" reconnect_early)" "connect() again while connecting"
pb_expect "$O" reconnect "$(pb_get "$T/ref" reconnect)" "connect() again once connected"
pb_expect "$O" reconnect EISCONN "connect() again once connected"
sb_log "  connect() again: $(pb_get "$O" reconnect_early) while connecting, $(pb_get "$O" reconnect) once connected (kernel: $(pb_get "$T/ref" reconnect_early), $(pb_get "$T/ref" reconnect))"

sb_log "socket options set before connect are preserved"
pb_bypassed "$O" tcp-connect 10.0.2.2 18001 --nodelay --rcvbuf 65536 \
    --keepalive --keepidle 77 --sndtimeo 1500 || true
pb_assert_bypassed "$O" HOSTLO "connect with options"
pb_expect "$O" post.TCP_NODELAY 1 "TCP_NODELAY"
pb_expect "$O" post.SO_KEEPALIVE 1 "SO_KEEPALIVE"
pb_expect "$O" post.TCP_KEEPIDLE 77 "TCP_KEEPIDLE"
pb_expect "$O" post.SO_SNDTIMEO_MS 1500 "SO_SNDTIMEO"
pb_expect "$O" post.SO_RCVBUF "$(pb_get "$O" pre.SO_RCVBUF)" "SO_RCVBUF"
for k in SO_TYPE SO_RCVBUF SO_KEEPALIVE TCP_NODELAY TCP_KEEPIDLE SO_SNDTIMEO_MS FD_CLOEXEC O_NONBLOCK; do
    pb_expect "$O" "post.$k" "$(pb_get "$O" "pre.$k")" "option $k before vs after connect"
done

sb_log "IPv6: fd00::2 -> host ::1, and $TUN6; IPV6_V6ONLY both ways"
pb_bypassed "$O" tcp-connect fd00::2 18003 --v6only || true
pb_assert_bypassed "$O" HOSTLO6 "bypassed IPv6 gateway connect"
pb_expect "$O" post.IPV6_V6ONLY 1 "IPV6_V6ONLY=1 kept"
pb_bypassed "$O" tcp-connect fd00::2 18003 --no-v6only || true
pb_assert_bypassed "$O" HOSTLO6 "bypassed IPv6 gateway connect (dual-stack socket)"
pb_expect "$O" post.IPV6_V6ONLY 0 "IPV6_V6ONLY=0 kept"
pb_bypassed "$O" tcp-connect "$TUN6" 18004 --nonblock || true
pb_assert_bypassed "$O" TUN6 "bypassed connect to $TUN6"
pb_held bypassed tcp-connect "$TUN6" 18004
pb_assert_inode_in_host "$HELD_OUT"

sb_log "close-on-exec as set by the program"
pb_bypassed "$O" tcp-connect 10.0.2.2 18001 --cloexec || true
pb_assert_bypassed "$O" HOSTLO "SOCK_CLOEXEC connect"
pb_expect "$O" post.FD_CLOEXEC 1 "SOCK_CLOEXEC kept"
pb_bypassed "$O" tcp-connect 10.0.2.2 18001 --no-cloexec || true
pb_expect "$O" post.FD_CLOEXEC 0 "no close-on-exec kept"
pb_bypassed "$O" tcp-connect 10.0.2.2 18001 --fd-cloexec || true
pb_expect "$O" post.FD_CLOEXEC 1 "F_SETFD FD_CLOEXEC kept"
pb_bypassed "$O" exec-check 10.0.2.2 18001 || sb_fail "exec-check failed: $(tr '\n' ' ' <"$O")"
for s in A B C D; do
    pb_expect "$O" "$s.connect" ok "exec-check $s connect"
    peer=$(pb_get "$O" "$s.reply" | awk '{print $NF}')
    sb_assert_eq "$(pb_get "$O" "$s.local")" "$peer" "exec-check $s bypassed"
done
pb_expect "$O" A.open 0 "SOCK_CLOEXEC socket closed by execve"
pb_expect "$O" B.open 1 "inheritable socket survives execve"
pb_expect "$O" B.same 1 "inherited socket is the same connection"
pb_expect "$O" C.open 0 "F_SETFD(FD_CLOEXEC) socket closed by execve"
pb_expect "$O" D.open 1 "F_SETFD(0) socket survives execve"
pb_expect "$O" D.same 1 "inherited socket D is the same connection"

sb_log "connected UDP"
pb_plain "$O" udp-connect 10.0.2.2 18005
pb_assert_slirp "$O" "plain UDP to the gateway"
sb_assert_eq UDPLO "$(pb_reply_tag "$O")" "plain UDP reply"
pb_bypassed "$O" udp-connect 10.0.2.2 18005 || true
pb_assert_bypassed "$O" UDPLO "bypassed connected UDP to the gateway"
pb_bypassed "$O" udp-connect "$TUN4" 18006 || true
pb_assert_bypassed "$O" UDPTUN "bypassed connected UDP to $TUN4"

sb_log "the agent is still alive"
kill -0 "$HELPER_PID" || sb_fail "slirpbypass died: $(cat "$HELPER_LOG")"
sb_log "PASS"
