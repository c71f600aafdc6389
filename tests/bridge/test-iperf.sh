#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Sustained bulk traffic: iperf3 between the container and a server on the
# host's loopback (via 10.0.2.2), both directions (-R), MTU 1500 and 65520,
# several short runs on one helper.  Asserts only that every run completes
# with data received and that the helper survives; no timing assertion.
# (This is the traffic pattern that exposed a use-after-free in the poll
# bookkeeping: connections closing while a batch of tap frames is read.)
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict
sb_need iperf3 jq

RUNS=${SB_IPERF_RUNS:-3}
SECS=${SB_IPERF_SECONDS:-2}
sb_bg iperf3 -s -B 127.0.0.1 -p 5201
sb_wait_port 5201 || sb_fail "iperf3 server did not start"

for mtu in 1500 65520; do
    sb_start_target
    sb_start_helper -c "--mtu=$mtu" "$TARGET_PID" tap0
    for dir in c2s s2c; do
        rev=()
        [ "$dir" = s2c ] && rev=(-R)
        for ((i = 1; i <= RUNS; i++)); do
            rc=0
            sb_in_target timeout $((SECS + 20)) iperf3 -c 10.0.2.2 -p 5201 -t "$SECS" -J "${rev[@]}" \
                >"$T/iperf.json" 2>&1 || rc=$?
            sb_alive "$HELPER_PID" || {
                tail -n 40 "$HELPER_LOG" | sed 's/^/    /' >&2
                sb_fail "helper died during iperf3 mtu $mtu $dir run $i"
            }
            [ "$rc" = 0 ] || sb_fail "iperf3 mtu $mtu $dir run $i: status $rc: $(head -c 400 "$T/iperf.json")"
            bytes=$(jq -r '.end.sum_received.bytes // 0' "$T/iperf.json")
            [ "${bytes%.*}" -gt 0 ] || sb_fail "iperf3 mtu $mtu $dir run $i: nothing received"
            sb_log "mtu $mtu $dir run $i: $((${bytes%.*} / 1048576)) MiB"
        done
    done
    sb_stop_helper
done
sb_log "ok"
