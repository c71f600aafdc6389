#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-soak-exec.sh - the short soak of the bypass agent: SOAK_EXECS
# (default 200) `slirpbypass exec`s, each bringing a notify fd and making one
# bypassed connect, then SOAK_CONNECTS (default 5000) bypassed connects from
# 10 threads of one process.  Afterwards the helper's fd count, its notify
# fds (anon_inode:seccomp notify) and its RSS must be back at their
# baseline (fds exactly, RSS within 2 MiB).  The long form is the same
# script with SOAK_EXECS=10000 SOAK_CONNECTS=100000.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
. "$(dirname "$0")/bypass-lib.sh"

EXECS=${SOAK_EXECS:-200}
CONNECTS=${SOAK_CONNECTS:-5000}
pb_init
pb_start_bypass
pb_serve SOAK 127.0.0.1 18601
O=$T/out

fds() { ls "/proc/$HELPER_PID/fd" | wc -l; }
notifies() {
    local n=0 f
    for f in /proc/"$HELPER_PID"/fd/*; do
        case "$(readlink "$f")" in *seccomp*) n=$((n + 1)) ;; esac
    done
    echo "$n"
}
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$HELPER_PID/status"; }
settle() {
    local k
    for k in $(seq 1 50); do
        [ "$(notifies)" = 0 ] && [ "$(fds)" -le "$1" ] && return 0
        sleep 0.1
    done
}

# the count is real: a running bypassed process holds one notify fd
sb_bg sb_in_target timeout 30 "$SLIRPBYPASS" exec --socket "$BYPASS_SOCK" -- \
    "$SBCLIENT" serve-tcp 0.0.0.0 18602 --timeout 20 --tag HOLD
sb_wait_until 10 grep -q '^listening=' "$BG_LOG" || sb_fail "holder: $(cat "$BG_LOG")"
[ "$(notifies)" = 1 ] || sb_fail "a running bypassed process shows $(notifies) notify fds, not 1"
pkill -f -- "--tag HOLD$" || true

# warm-up: one exec and a few connects, so caches are in the baseline
pb_bypassed "$O" tcp-connect 10.0.2.2 18601 || sb_fail "warm-up: $(cat "$O")"
settle 1000
base_fds=$(fds)
base_rss=$(rss)
sb_log "baseline: $base_fds fds, $(notifies) notify fds, $base_rss KiB"

for i in $(seq 1 "$EXECS"); do
    pb_bypassed "$O" tcp-connect 10.0.2.2 18601 || sb_fail "exec $i: $(cat "$O")"
    [ "$(pb_reply_tag "$O")" = SOAK ] || sb_fail "exec $i: $(cat "$O")"
done
threads=10
per=$((CONNECTS / threads))
pb_bypassed "$O" storm "$threads" "$per" 10.0.2.2 18601
pb_expect "$O" storm.ok "$((threads * per))" "all $((threads * per)) connects succeed"
pb_expect "$O" storm.bypassed "$((threads * per))" "all connects bypassed"

settle "$base_fds"
now_fds=$(fds)
now_rss=$(rss)
sb_log "after $EXECS execs and $((threads * per)) connects: $now_fds fds, $(notifies) notify fds, $now_rss KiB"
[ "$(notifies)" = 0 ] || sb_fail "notify fds left: $(notifies)"
[ "$now_fds" -le "$base_fds" ] || { ls -l "/proc/$HELPER_PID/fd" >&2; sb_fail "fd leak: $base_fds -> $now_fds"; }
# under AddressSanitizer freed memory sits in its quarantine, so RSS says
# nothing there (LeakSanitizer checks leaks at exit instead)
if ldd "$SLIRPBYPASS" 2>/dev/null | grep -q libasan; then
    sb_log "RSS not judged: AddressSanitizer build"
else
    [ "$now_rss" -le $((base_rss + 2048)) ] || sb_fail "RSS grew: $base_rss -> $now_rss KiB"
fi
sb_log "PASS"
