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

# The responder: one datagram on stdin, one reply on stdout.  A queries get
# one A record (TTL 60) for the asked name, other types an empty NOERROR.
cat >"$T/dns.sh" <<'DNS'
#!/bin/bash
ip_hex="c0 00 02 35" # 192.0.2.53
b=($(dd bs=4096 count=1 2>/dev/null | od -An -v -tx1))
n=${#b[@]}
[ "$n" -ge 17 ] || exit 0
i=12
while [ "$i" -lt "$n" ] && [ "${b[i]}" != 00 ]; do
    i=$((i + 1 + 0x${b[i]}))
done
[ $((i + 4)) -lt "$n" ] || exit 0
qtype="${b[i + 1]}${b[i + 2]}"
question=("${b[@]:12:i + 5 - 12}")
an=00
answer=()
if [ "$qtype" = 0001 ]; then
    an=01
    answer=(c0 0c 00 01 00 01 00 00 00 3c 00 04 $ip_hex)
fi
out=("${b[0]}" "${b[1]}" 81 80 00 01 00 "$an" 00 00 00 00 "${question[@]}" "${answer[@]}")
fmt=""
for x in "${out[@]}"; do fmt="$fmt\\x$x"; done
printf "$fmt"
DNS
chmod 0755 "$T/dns.sh"
sb_bg socat -T 5 UDP4-RECVFROM:53,bind=127.0.0.1,fork "EXEC:$T/dns.sh"
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
