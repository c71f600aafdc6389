#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-bypass-hostile.sh - odd and hostile calls from a container under the
# bypass get the kernel's own answer, and the helper survives them all.
#
# Theory of operation: tests/plugin/clients/hostile makes one trapped call
# per case with arguments no ordinary program passes (a sockaddr in
# unmapped memory, absurd and zero lengths, fds that are no sockets or not
# open, unix/netlink/packet/raw sockets, a nested user+network namespace,
# short and mismatched sockaddrs, listen() on an unbound socket).  Every
# case runs in the container twice: plain (the kernel's answer, the
# reference) and under `slirpbypass exec`.  The answers must be equal, the
# helper must stay alive, nothing may be bypassed that the case forbids
# (the host server on $TUN4 logs every connection it accepts: none of
# these cases may reach it), and a normal bypassed connect must still
# work afterwards.  Each run is bounded by `timeout`.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict
. "$(dirname "$0")/bypass-lib.sh"
HOSTILE=$SB_BUILD_ROOT/tests/plugin/hostile
[ -x "$HOSTILE" ] || sb_fail "hostile not built: $HOSTILE"
pb_init
pb_start_bypass
PORT=18320
pb_serve HOST "$TUN4" "$PORT"
HOST_LOG=$SERVE_LOG

# run_case CASE - the case plain and under the bypass; same answers.
run_case()
{
    local c=$1 plain bypassed
    plain=$(sb_in_target timeout 20 "$HOSTILE" "$c" "$TUN4" "$PORT" 2>&1 || true)
    bypassed=$(sb_in_target timeout 20 "$SLIRPBYPASS" exec --socket "$BYPASS_SOCK" -- \
        "$HOSTILE" "$c" "$TUN4" "$PORT" 2>&1 || true)
    [ -n "$plain" ] || sb_fail "$c: no answer without the bypass"
    sb_assert_eq "$plain" "$bypassed" "$c: the answer under the bypass (the kernel's: $plain)"
    kill -0 "$HELPER_PID" 2>/dev/null || sb_fail "$c: the helper died: $(tail -5 "$HELPER_LOG")"
    sb_log "  $c: $(echo "$plain" | tr '\n' ' ')"
}

sb_log "each case: the kernel's answer, plain and under the bypass"
for c in unmapped hugelen zerolen negfd badfd pipe file unix netlink packet raw \
    nested shortsin mixfamily listen-tcp; do
    run_case "$c"
done
! grep -q '^accepted=' "$HOST_LOG" || sb_fail "a hostile case reached the host server: $(cat "$HOST_LOG")"

sb_log "the bypass still works afterwards"
pb_bypassed "$T/o" tcp-connect "$TUN4" "$PORT"
pb_assert_bypassed "$T/o" HOST "a normal connect after the hostile ones"
sb_log "PASS"
