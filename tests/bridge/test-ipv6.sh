#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# IPv6 with -6/--enable-ipv6: libslirp's router advertisements give the
# container an fd00::/64 SLAAC address and a default route via fe80::2; the
# gateway fd00::2 maps to the host's ::1 (TCP peer server there), and with
# --disable-host-loopback it does not.  Without -6 no fd00:: address appears.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict

# has_slaac - true once tap0 has a global fd00:: address that passed DAD.
has_slaac()
{
    local a
    a=$(sb_in_target ip -6 -o addr show dev tap0 scope global)
    case "$a" in
    *"inet6 fd00::"*/64*tentative*) return 1 ;;
    *"inet6 fd00::"*/64*) return 0 ;;
    esac
    return 1
}

sb_peer_server 18080 ::1

sb_log "-6: SLAAC address and route from the RA"
sb_start_target
sb_start_helper -c -6 "$TARGET_PID" tap0
sb_wait_until 20 has_slaac || {
    sb_in_target ip -6 addr >&2
    sb_fail "no fd00::/64 address on tap0 within 20 s"
}
route=$(sb_in_target ip -6 route show default)
sb_assert_contains "$route" "via fe80::2 dev tap0" "IPv6 default route"

sb_log "TCP to [fd00::2]:18080 reaches the host's ::1"
out=$(sb_in_target timeout 10 socat -t 5 - "TCP6:[fd00::2]:18080" </dev/null)
case "$out" in
"[0000:0000:0000:0000:0000:0000:0000:0001]:"[0-9]*) ;;
*) sb_fail "TCP via fd00::2: unexpected peer line '$out'" ;;
esac
sb_stop_helper

sb_log "-6 --disable-host-loopback: fd00::2 does not reach ::1"
sb_start_target
sb_start_helper -c --enable-ipv6 --disable-host-loopback "$TARGET_PID" tap0
sb_wait_until 20 has_slaac || sb_fail "no SLAAC address with --disable-host-loopback"
if out=$(sb_in_target timeout 10 socat -t 3 - "TCP6:[fd00::2]:18080,connect-timeout=5" </dev/null 2>&1); then
    sb_fail "TCP via fd00::2 succeeded with --disable-host-loopback: $out"
fi
sb_stop_helper

sb_log "without -6: no RA, no fd00:: address"
sb_start_target
sb_start_helper -c "$TARGET_PID" tap0
sleep 3
if has_slaac; then
    sb_fail "fd00:: address appeared without -6"
fi
sb_stop_helper
sb_log "ok"
