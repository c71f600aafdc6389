#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# --target-type=bess: instead of a tap, the helper listens on a
# SOCK_SEQPACKET socket, takes one connection (User Mode Linux / BESS style)
# and exchanges one Ethernet frame per message.  The ready fd is written
# only once the peer is attached.  The peer here asks for the gateway's MAC
# with an ARP request; libslirp must answer with 52:55:0a:00:02:02 for
# 10.0.2.2.  When the peer goes away the helper ends with status 1.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict
sb_need python3
sb_tmpdir

mkfifo "$T/rfifo"
"$SLIRPBYPASS" --target-type=bess -r 5 "$T/bess.sock" 5>"$T/rfifo" </dev/null >"$T/helper.log" 2>&1 &
HELPER_PID=$!
sb_track "$HELPER_PID"
timeout 20 cat "$T/rfifo" >"$T/ready" &
reader=$!
sb_wait_until 10 test -S "$T/bess.sock" || sb_fail "no BESS socket: $(cat "$T/helper.log")"
# Nothing may be ready before the peer attaches.
sleep 0.3
[ ! -s "$T/ready" ] || sb_fail "ready fd written before the peer attached"

reply=$(timeout 20 python3 - "$T/bess.sock" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
mac = bytes.fromhex("020000000001")
eth = b"\xff" * 6 + mac + b"\x08\x06"
arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac,
                  socket.inet_aton("10.0.2.100"), b"\0" * 6,
                  socket.inet_aton("10.0.2.2"))
s.send(eth + arp)
s.settimeout(10)
while True:
    r = s.recv(65536)
    if r[12:14] == b"\x08\x06" and r[20:22] == b"\x00\x02":
        break
print(r[22:28].hex(), socket.inet_ntoa(r[28:32]))
PY
) || sb_fail "no ARP reply over the BESS socket: $(cat "$T/helper.log")"
sb_assert_eq "52550a000202 10.0.2.2" "$reply" "ARP reply for the gateway"
wait "$reader" || true
sb_assert_eq "1" "$(cat "$T/ready")" "ready fd after the peer attached"

# the peer closed its end: the helper must notice and exit 1
for _ in $(seq 50); do kill -0 "$HELPER_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$HELPER_PID" 2>/dev/null; then sb_fail "helper still running after the peer left"; fi
rc=0
wait "$HELPER_PID" || rc=$?
sb_assert_eq 1 "$rc" "exit status after the BESS peer left"
sb_assert_contains "$(cat "$T/helper.log")" "tap: end of file" "log names the cause"
sb_log ok
