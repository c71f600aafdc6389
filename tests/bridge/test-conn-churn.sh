#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Connection churn: many short TCP connections and UDP exchanges from the
# container to the host's loopback, each checked, while a bulk transfer
# runs the other way.  libslirp opens and closes a host socket per
# connection and fd numbers get reused; the helper must keep its poll
# bookkeeping straight (every reply arrives, the helper is still alive at
# the end, and an ASan build reports nothing).
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict

N=${SB_CHURN_CONNECTIONS:-300}
sb_peer_server 18080
sb_udp_echo_server 18081
head -c 8388608 /dev/urandom >"$T/blob"
sb_start_target
sb_start_helper -c --mtu=1500 "$TARGET_PID" tap0

# Bulk host -> container in the background (reused per run of the loop).
sb_bg socat -u "OPEN:$T/blob" "TCP4-LISTEN:18082,bind=127.0.0.1,reuseaddr,fork"
sb_wait_port 18082 || sb_fail "bulk source did not start"
sb_bg sb_in_target sh -c 'while :; do socat -u TCP4:10.0.2.2:18082 OPEN:/dev/null; done'

sb_log "$N TCP connections + $((N / 10)) UDP exchanges"
cat >"$T/churn.sh" <<'SH'
#!/bin/sh
# Runs in the container: N connections, one line of output per failure.
i=0
while [ "$i" -lt "$1" ]; do
    out=$(socat -t 2 - TCP4:10.0.2.2:18080 </dev/null 2>&1)
    case "$out" in 127.0.0.1:*) ;; *) echo "tcp $i: $out" ;; esac
    if [ $((i % 10)) = 0 ]; then
        out=$(echo "u$i" | socat -t 1 - UDP4:10.0.2.2:18081 2>&1)
        [ "$out" = "u$i" ] || echo "udp $i: $out"
    fi
    i=$((i + 1))
done
SH
chmod 0755 "$T/churn.sh"
# Four clients at once, so that closes and opens land in the same batch of
# frames from the tap.
failures=$(sb_in_target timeout 240 sh -c '
    for j in 1 2 3 4; do "$0" "$1" & done; wait' "$T/churn.sh" "$((N / 4))" 2>&1 | head -n 20 || true)
sb_alive "$HELPER_PID" || {
    sed 's/^/    /' "$HELPER_LOG" | tail -n 40 >&2
    sb_fail "the helper died during the churn"
}
[ -z "$failures" ] || sb_fail "failed exchanges: $failures"
sb_stop_helper
sb_log "ok"
