#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# dns-responder.sh - a tiny DNS responder for tests, run per datagram by
# `socat UDP4-RECVFROM:53,fork EXEC:dns-responder.sh`: one query on stdin,
# one reply on stdout.  A queries get one A record (TTL 60) for the asked
# name, 192.0.2.53; other types an empty NOERROR.
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
