#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-soak-handoff.sh - the short soak of the port hand-off: SOAK_CYCLES
# (default 40) cycles of add_hostfwd, a bypassed server binding it (hand-off),
# a connection through it, and then either the server's exit (hand-back)
# or remove_hostfwd while it serves (libslirp's socket held until the
# server is gone).  After all of them the helper's fd count and RSS must be
# back near their baseline (fds: exactly; RSS: within 2 MiB), no entry left,
# and no bypass socket left in the host namespace.  The long form is the
# same script with SOAK_CYCLES=5000.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
. "$(dirname "$0")/bypass-lib.sh"

CYCLES=${SOAK_CYCLES:-40}
pb_init
API="$T/api.sock"
pb_start_bypass --api-socket "$API"
O=$T/out

fds() { ls "/proc/$HELPER_PID/fd" | wc -l; }
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$HELPER_PID/status"; }
entries() {
    sb_api '{"execute":"list_hostfwd"}' "$API" |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin)["entries"]))'
}
path_of() {
    sb_api '{"execute":"list_hostfwd_ex"}' "$API" |
        python3 -c 'import json,sys
e=json.load(sys.stdin)["return"]["entries"]
print(e[0]["path"] if e else "none")'
}

# one warm-up cycle, so that caches (pidfds, route cache) are in the baseline
cycle()
{
    local i=$1 how=$2 id pid
    id=$(sb_api '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":18500,"guest_port":80}}' "$API" |
        sed -n 's/.*"id":\([0-9]*\).*/\1/p')
    [ -n "$id" ] || sb_fail "cycle $i: add_hostfwd failed"
    sb_bg sb_in_target timeout 60 "$SLIRPBYPASS" exec --socket "$BYPASS_SOCK" -- \
        "$SBCLIENT" serve-tcp 0.0.0.0 80 --timeout 50 --tag "SOAK$i"
    pid=$BG_PID
    sb_wait_until 10 grep -q '^listening=0.0.0.0:18500' "$BG_LOG" ||
        sb_fail "cycle $i: not handed off: $(cat "$BG_LOG")"
    pb_host "$O" tcp-connect 127.0.0.1 18500 || true
    [ "$(pb_reply_tag "$O")" = "SOAK$i" ] || sb_fail "cycle $i: $(cat "$O")"
    if [ "$how" = remove ]; then
        sb_api "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":$id}}" "$API" >/dev/null
    fi
    pkill -f -- "--tag SOAK$i\$"
    wait "$pid" 2>/dev/null
    if [ "$how" = exit ]; then
        local k
        for k in $(seq 1 20); do
            [ "$(path_of)" = slirp ] && break
            sleep 0.1
        done
        [ "$(path_of)" = slirp ] || sb_fail "cycle $i: not handed back"
        sb_api "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":$id}}" "$API" >/dev/null
    fi
}

cycle 0 exit
cycle 0 remove
sleep 0.6
base_fds=$(fds)
base_rss=$(rss)
sb_log "baseline: $base_fds fds, $base_rss KiB RSS; $CYCLES cycles"
for i in $(seq 1 "$CYCLES"); do
    if [ $((i % 2)) = 0 ]; then cycle "$i" remove; else cycle "$i" exit; fi
done
# the held sockets of removed entries go with their last bypass socket
for k in $(seq 1 30); do
    [ "$(fds)" -le "$base_fds" ] && break
    sleep 0.1
done
now_fds=$(fds)
now_rss=$(rss)
sb_log "after: $now_fds fds, $now_rss KiB RSS, $(entries) entries"
[ "$now_fds" -le "$base_fds" ] || { ls -l "/proc/$HELPER_PID/fd" >&2; sb_fail "fd leak: $base_fds -> $now_fds"; }
# under AddressSanitizer freed memory sits in its quarantine, so RSS says
# nothing there (LeakSanitizer checks leaks at exit instead)
if ldd "$SLIRPBYPASS" 2>/dev/null | grep -q libasan; then
    sb_log "RSS not judged: AddressSanitizer build"
else
    [ "$now_rss" -le $((base_rss + 2048)) ] || sb_fail "RSS grew: $base_rss -> $now_rss KiB"
fi
[ "$(entries)" = 0 ] || sb_fail "entries left"
ss -Htln "sport = :18500" | grep -q . && sb_fail "listeners left on the port: $(ss -tln "sport = :18500")"
kill -0 "$HELPER_PID" || sb_fail "slirpbypass died"
sb_log "PASS"
