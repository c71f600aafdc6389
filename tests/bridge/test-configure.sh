#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# -c/--configure: the tap is up with 10.0.2.100/24, lo is up, the default
# route goes via 10.0.2.2, the MTU is the default 1500 or the --mtu value,
# and --macaddress sets the MAC.  When the helper exits, the (non-persistent)
# tap disappears with it.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict

# check_configured MTU - assert the -c result in the current target.
check_configured()
{
    local mtu=$1 addr link route lo
    addr=$(sb_in_target ip -4 -o addr show dev tap0)
    sb_assert_contains "$addr" "inet 10.0.2.100/24 brd 10.0.2.255" "tap0 address"
    link=$(sb_in_target ip -o link show dev tap0)
    sb_assert_contains "$link" "mtu $mtu " "tap0 MTU"
    sb_assert_contains "$link" ",UP" "tap0 flags"
    lo=$(sb_in_target ip -o link show dev lo)
    sb_assert_contains "$lo" ",UP" "lo flags"
    route=$(sb_in_target ip -4 route show default)
    sb_assert_eq "default via 10.0.2.2 dev tap0 " "$route" "default route"
    # The gateway answers ARP+ICMP: the data path is alive.
    sb_in_target timeout 10 busybox ping -c 1 -W 5 10.0.2.2 >/dev/null ||
        sb_fail "ping 10.0.2.2 failed (mtu $mtu)"
}

sb_log "default MTU"
sb_start_target
sb_start_helper -c "$TARGET_PID" tap0
check_configured 1500
sb_stop_helper
sb_wait_until 10 eval '! sb_in_target ip link show tap0' ||
    sb_fail "tap0 still exists after the helper exited"

sb_log "--mtu=65520 --macaddress"
sb_start_target
sb_start_helper --configure --mtu=65520 --macaddress=0e:d4:18:d9:38:fb "$TARGET_PID" tap0
check_configured 65520
link=$(sb_in_target ip -o link show dev tap0)
sb_assert_contains "$link" "link/ether 0e:d4:18:d9:38:fb " "tap0 MAC"
sb_stop_helper

sb_log "separate option values, options after positionals, other tap name"
sb_start_target
sb_start_helper "$TARGET_PID" eth7 --mtu 9000 -c
addr=$(sb_in_target ip -4 -o addr show dev eth7)
sb_assert_contains "$addr" "inet 10.0.2.100/24" "eth7 address"
sb_assert_contains "$(sb_in_target ip -o link show dev eth7)" "mtu 9000 " "eth7 MTU"
sb_stop_helper
sb_log "ok"
