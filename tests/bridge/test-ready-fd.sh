#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# --ready-fd: the helper writes exactly the byte "1" and closes the fd (the
# reader sees EOF) once the tap is configured and the API socket listens;
# it keeps running afterwards.  When start-up fails nothing is written and
# the reader sees EOF with the helper's exit status 1.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict

# start_and_read SPELLING... - start the helper with the ready pipe on fd 5
# (SPELLING gives the -r option words), read the pipe to EOF into $T/ready
# and record the state seen right at EOF in $T/state.
start_and_read()
{
    rm -f "$T/rfifo" "$T/ready" "$T/api.sock"
    mkfifo "$T/rfifo"
    HELPER_LOG="$T/helper.log"
    # Redirections on a background command are made in the child, so the
    # fifo open pairs with the reader below instead of blocking the test.
    "$SLIRPBYPASS" "$@" 5>"$T/rfifo" </dev/null >"$HELPER_LOG" 2>&1 &
    HELPER_PID=$!
    sb_track "$HELPER_PID"
    timeout 20 cat "$T/rfifo" >"$T/ready" || sb_fail "ready pipe: no EOF within 20 s"
    {
        [ -S "$T/api.sock" ] && echo api-socket
        sb_in_target ip -4 -o addr show dev tap0 2>/dev/null | grep -q 10.0.2.100/24 && echo configured
        kill -0 "$HELPER_PID" 2>/dev/null && echo alive
    } >"$T/state" || true
}

for spelling in "-r 5" "--ready-fd=5" "--ready-fd 5" "-r5"; do
    sb_log "ready fd spelled '$spelling'"
    sb_start_target
    # shellcheck disable=SC2086 # split on purpose
    start_and_read -c --api-socket "$T/api.sock" $spelling "$TARGET_PID" tap0
    sb_assert_eq "31" "$(od -An -tx1 "$T/ready" | tr -d ' \n')" "ready pipe bytes"
    sb_assert_eq "api-socket configured alive" "$(tr '\n' ' ' <"$T/state" | sed 's/ $//')" \
        "state when the ready byte arrived"
    sb_stop_helper
done

sb_log "start-up failure: nothing written, exit 1"
start_and_read -c -r 5 999999999 tap0
sb_assert_eq "" "$(cat "$T/ready")" "ready pipe on failure"
sb_stop_helper
sb_assert_eq 1 "$HELPER_STATUS" "exit status for a missing target PID"
sb_log "ok"
