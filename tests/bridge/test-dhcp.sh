#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# DHCP: libslirp's built-in server leases network+15 with router network+2
# and DNS network+3, for the default network and for a custom --cidr.
# The client is `busybox udhcpc` in the container; its script records the
# lease.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict

cat >"$T/udhcpc.sh" <<'EOF2'
#!/bin/sh
[ "$1" = bound ] || exit 0
printf 'ip=%s subnet=%s router=%s dns=%s\n' "$ip" "$subnet" "$router" "$dns" >"$LEASE_FILE"
EOF2
chmod 0755 "$T/udhcpc.sh"

# lease ARGS... - run udhcpc in a fresh target; the lease goes to $T/lease.
lease()
{
    sb_start_target
    sb_start_helper "$@" "$TARGET_PID" tap0
    sb_in_target ip link set tap0 up
    rm -f "$T/lease"
    sb_in_target env LEASE_FILE="$T/lease" timeout 30 \
        busybox udhcpc -i tap0 -n -q -f -t 5 -T 2 -s "$T/udhcpc.sh" >"$T/udhcpc.log" 2>&1 ||
        { cat "$T/udhcpc.log" >&2; sb_fail "udhcpc got no lease ($*)"; }
    sb_stop_helper
}

sb_log "default network"
lease
out=$(cat "$T/lease")
sb_assert_eq "ip=10.0.2.15 subnet=255.255.255.0 router=10.0.2.2 dns=10.0.2.3" "$out" "DHCP lease"

sb_log "--cidr=10.0.135.128/25"
lease --cidr=10.0.135.128/25
out=$(cat "$T/lease")
sb_assert_eq "ip=10.0.135.143 subnet=255.255.255.128 router=10.0.135.130 dns=10.0.135.131" "$out" "DHCP lease (custom cidr)"
sb_log "ok"
