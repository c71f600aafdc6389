#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-bypass-policy.sh - what must NOT be bypassed, and that it still
# works the slirp way: the container's own loopback in every spelling
# (127.0.0.1, 0.0.0.0, ::ffff:127.0.0.1, ::1, ::) never reaches the host's
# loopback; the virtual DNS 10.0.2.3 stays on libslirp (its reply comes
# from libslirp's forwarder); --bypass-ignore CIDRs go the slirp path;
# --disable-host-loopback is honoured on both paths; a process in a nested
# network namespace inside the container is not bypassed.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
. "$(dirname "$0")/bypass-lib.sh"

pb_init
# libslirp forwards 10.0.2.3 to the nameserver in /etc/resolv.conf: point it
# at a server of ours on the private host's loopback (private mount ns).
printf 'nameserver 127.0.0.1\n' >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf || sb_fail "cannot mount resolv.conf"
pb_serve_udp DNSLO 127.0.0.1 53
pb_serve DNSTCP 127.0.0.1 53

pb_start_bypass --enable-ipv6 --bypass-ignore "$TUN4_IGNORED/32"
O=$T/out

sb_log "container loopback, every spelling: the container's server answers"
pb_serve HOSTLO 127.0.0.1 18101
pb_serve HOSTLO6 ::1 18101
pb_serve CTRLO 127.0.0.1 18101 in_target
pb_serve CTRLO6 ::1 18101 in_target
for a in 127.0.0.1 0.0.0.0 ::ffff:127.0.0.1 ::ffff:0.0.0.0; do
    pb_bypassed "$O" tcp-connect "$a" 18101
    pb_expect "$O" connect ok "connect to $a"
    sb_assert_eq CTRLO "$(pb_reply_tag "$O")" "connect to $a reached"
done
for a in ::1 ::; do
    pb_bypassed "$O" tcp-connect "$a" 18101
    pb_expect "$O" connect ok "connect to $a"
    sb_assert_eq CTRLO6 "$(pb_reply_tag "$O")" "connect to $a reached"
done
pb_bypassed "$O" udp-connect 127.0.0.1 18101
case "$(pb_get "$O" local)" in 127.0.0.1:*) ;; *) sb_fail "UDP to container loopback: local $(pb_get "$O" local)" ;; esac

sb_log "virtual DNS 10.0.2.3 stays on libslirp"
pb_bypassed "$O" udp-connect 10.0.2.3 53
pb_expect "$O" connect ok "UDP connect to 10.0.2.3"
case "$(pb_get "$O" local)" in 10.0.2.100:*) ;; *) sb_fail "UDP to 10.0.2.3 bypassed? local $(pb_get "$O" local)" ;; esac
sb_assert_eq DNSLO "$(pb_reply_tag "$O")" "DNS forwarded by libslirp"
pb_bypassed "$O" tcp-connect 10.0.2.3 53
pb_assert_slirp "$O" "TCP to 10.0.2.3"
sb_assert_eq DNSTCP "$(pb_reply_tag "$O")" "TCP DNS forwarded by libslirp"
# fd00::3: not bypassed (the socket keeps its fd00:: address).  libslirp
# 4.7 itself answers TCP to fd00::3 with "network unreachable" when the
# host has no IPv6 nameserver, exactly as slirp4netns does, so only the
# path is checked here, with connected UDP.
pb_wait_ipv6
pb_bypassed "$O" udp-connect fd00::3 53 --read-timeout 500
pb_expect "$O" connect ok "UDP connect to fd00::3"
case "$(pb_get "$O" local)" in \[fd00::*) ;; *) sb_fail "UDP to fd00::3 bypassed? local $(pb_get "$O" local)" ;; esac

sb_log "--bypass-ignore $TUN4_IGNORED/32 goes the slirp path, $TUN4 does not"
pb_serve IGN "$TUN4_IGNORED" 18102
pb_serve TUN4 "$TUN4" 18102
pb_bypassed "$O" tcp-connect "$TUN4_IGNORED" 18102
pb_assert_slirp "$O" "ignored destination"
sb_assert_eq IGN "$(pb_reply_tag "$O")" "ignored destination reached via slirp"
pb_bypassed "$O" tcp-connect "$TUN4" 18102
pb_assert_bypassed "$O" TUN4 "not-ignored destination"

sb_log "nested network namespace inside the container: not bypassed"
pb_serve HOSTLO2 127.0.0.1 18103
sb_in_target timeout 60 "$SLIRPBYPASS" exec --socket "$BYPASS_SOCK" -- \
    unshare -n "$SBCLIENT" tcp-connect 10.0.2.2 18103 >"$O" 2>&1
pb_expect "$O" connect ENETUNREACH "nested netns has no route: must not be bypassed"
sb_in_target timeout 60 "$SLIRPBYPASS" exec --socket "$BYPASS_SOCK" -- \
    unshare -n "$SBCLIENT" tcp-connect "$TUN4" 18102 >"$O" 2>&1
pb_expect "$O" connect ENETUNREACH "nested netns, $TUN4: must not be bypassed"
sb_in_target timeout 60 "$SLIRPBYPASS" exec --socket "$BYPASS_SOCK" -- \
    unshare -n sh -c "ip link set lo up && exec $SBCLIENT tcp-connect 127.0.0.1 18103" >"$O" 2>&1
pb_expect "$O" connect ECONNREFUSED "nested netns loopback is its own"
[ ! -s "$SERVE_LOG" ] || ! grep -q '^accepted=' "$SERVE_LOG" ||
    sb_fail "a nested-namespace connect reached the host: $(cat "$SERVE_LOG")"
# and the outer namespace still is bypassed
pb_bypassed "$O" tcp-connect 10.0.2.2 18103
pb_assert_bypassed "$O" HOSTLO2 "outer namespace after the nested ones"
sb_stop_helper

sb_log "--disable-host-loopback: neither path reaches the host's loopback"
pb_start_bypass --enable-ipv6 --disable-host-loopback
pb_serve NOLO 127.0.0.1 18104
NOLO_LOG=$SERVE_LOG
pb_serve NOLO6 ::1 18104
NOLO6_LOG=$SERVE_LOG
pb_serve_udp NOLOU 127.0.0.1 18104
NOLOU_LOG=$SERVE_LOG
pb_wait_ipv6
for a in 10.0.2.2 fd00::2; do
    pb_bypassed "$O" tcp-connect "$a" 18104 --sndtimeo 1500
    [ "$(pb_get "$O" connect)" != ok ] || sb_fail "bypassed connect to $a reached host loopback: $(tr '\n' ' ' <"$O")"
    pb_plain "$O" tcp-connect "$a" 18104 --sndtimeo 1500
    [ "$(pb_get "$O" connect)" != ok ] || sb_fail "plain connect to $a reached host loopback: $(tr '\n' ' ' <"$O")"
done
pb_bypassed "$O" udp-connect 10.0.2.2 18104 --read-timeout 1000
[ -z "$(pb_get "$O" reply)" ] || sb_fail "UDP reached host loopback: $(tr '\n' ' ' <"$O")"
for f in "$NOLO_LOG" "$NOLO6_LOG" "$NOLOU_LOG"; do
    ! grep -qE '^(accepted|received)=' "$f" || sb_fail "host loopback server was reached: $(cat "$f")"
done
# the bypass itself is on: a non-loopback host address is still bypassed
pb_bypassed "$O" tcp-connect "$TUN4" 18102
pb_assert_bypassed "$O" TUN4 "bypass active with --disable-host-loopback"

sb_log "a bypassed socket made unconnected again (connect(AF_UNSPEC)) cannot reach host loopback by sendto(MSG_FASTOPEN)"
# control: from a plain socket of the private host Fast Open does connect
pb_serve CTRL 127.0.0.1 18105
CTRL_LOG=$SERVE_LOG
pb_host "$O" tcp-connect "$TUN4" 18102 --then-unspec --then-fastopen 127.0.0.1 18105 || true
sleep 0.2
if ! grep -q '^accepted=' "$CTRL_LOG"; then
    sb_log "  (Fast Open client disabled here: $(pb_get "$O" then_fastopen); nothing to check)"
elif grep -q 'cannot tie bypassed sockets' "$HELPER_LOG"; then
    sb_log "  (socket filters refused to the agent here; not checked)"
else
    pb_bypassed "$O" tcp-connect "$TUN4" 18102 --then-unspec --then-fastopen 127.0.0.1 18104 || true
    pb_assert_bypassed "$O" TUN4 "setup: a bypassed connect"
    pb_expect "$O" then_unspec ok "connect(AF_UNSPEC) on the host socket"
    sleep 0.2
    ! grep -q '^accepted=' "$NOLO_LOG" ||
        sb_fail "host loopback reached by Fast Open on a bypassed socket: $(tr '\n' ' ' <"$O")"
    case "$(pb_get "$O" then_fastopen_read)" in
    NOLO*) sb_fail "data came back from host loopback: $(tr '\n' ' ' <"$O")" ;;
    esac
fi
kill -0 "$HELPER_PID" || sb_fail "slirpbypass died: $(cat "$HELPER_LOG")"

sb_log "destinations the container routes past its tap stay in the container"
# an address the container owns (on its lo): the server there answers
sb_in_target ip addr add 198.51.100.9/32 dev lo
pb_serve CTROWN 198.51.100.9 18106 in_target
pb_bypassed "$O" tcp-connect 198.51.100.9 18106 || true
pb_expect "$O" connect ok "connect to the container's own address"
sb_assert_eq CTROWN "$(pb_reply_tag "$O")" "the container's own server answered"
sb_assert_eq 198.51.100.9 "$(pb_get "$O" local | cut -d: -f1)" "its socket stayed in the container"
# a host address the container routes into an interface of its own (an
# unattached tun): the SYN goes there and nowhere else, as without the bypass
pb_serve ROUTED "$TUN4" 18107
ROUTED_LOG=$SERVE_LOG
sb_in_target ip tuntap add ctun0 mode tun
sb_in_target ip link set ctun0 up
sb_in_target ip route add "$TUN4/32" dev ctun0
pb_bypassed "$O" tcp-connect "$TUN4" 18107 --nonblock --wait 500 || true
[ "$(pb_get "$O" connect)" != ok ] ||
    sb_fail "a destination routed into the container's ctun0 was bypassed: $(tr '\n' ' ' <"$O")"
! grep -q '^accepted=' "$ROUTED_LOG" || sb_fail "the host server was reached past the container's route"
sb_in_target ip route del "$TUN4/32" dev ctun0
pb_bypassed "$O" tcp-connect "$TUN4" 18107
pb_assert_bypassed "$O" ROUTED "the same destination once the route is gone (the cache follows)"
kill -0 "$HELPER_PID" || sb_fail "slirpbypass died: $(cat "$HELPER_LOG")"
sb_log "PASS"
