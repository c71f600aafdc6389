#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# --exit-fd: only POLLHUP/POLLERR/POLLNVAL end the helper, always with exit
# status 0.  Bytes written to the exit pipe do not end it (and traffic keeps
# flowing); closing the last writer does, the API socket is unlinked and the
# tap disappears.  An fd number that is not open (-e 99) exits 0 right after
# start-up.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict

sb_peer_server 18080

# wait_exit - wait (bounded) for the helper to end; sets HELPER_STATUS.
wait_exit()
{
    sb_wait_until 10 eval '! kill -0 "$HELPER_PID" 2>/dev/null || grep -q "^State:.*Z" "/proc/$HELPER_PID/status"' ||
        sb_fail "helper still running: $(cat "$HELPER_LOG")"
    sb_stop_helper
}

for spelling in "-e 3" "--exit-fd=3" "--exit-fd 3"; do
    sb_log "exit fd spelled '$spelling'"
    sb_start_target
    sb_exit_pipe 3
    # shellcheck disable=SC2086 # split on purpose
    sb_start_helper -c $spelling --api-socket "$T/api.sock" "$TARGET_PID" tap0
    printf 'not-an-exit-request\n' >&"$EXIT_W"
    sleep 1
    kill -0 "$HELPER_PID" || sb_fail "bytes on the exit pipe ended the helper"
    out=$(sb_in_target timeout 10 socat -t 5 - TCP4:10.0.2.2:18080 </dev/null)
    sb_assert_contains "$out" "127.0.0.1:" "traffic after bytes on the exit pipe"
    sb_close_exit_pipe
    wait_exit
    sb_assert_eq 0 "$HELPER_STATUS" "exit status after exit-pipe HUP"
    [ ! -e "$T/api.sock" ] || sb_fail "API socket not unlinked after exit-fd HUP"
    sb_wait_until 10 eval '! sb_in_target ip link show tap0' ||
        sb_fail "tap0 still exists after the helper exited"
done

sb_log "-e 99 (not open): exit 0 right after start-up"
sb_start_target
sb_start_helper -c -e 99 "$TARGET_PID" tap0
wait_exit
sb_assert_eq 0 "$HELPER_STATUS" "exit status with a closed exit fd"
sb_log "ok"
