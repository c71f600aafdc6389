#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-compat.sh - the API replies of slirpbypass and of the real
# slirp4netns, byte for byte.
#
# Theory of operation: the same request script runs against
# /usr/bin/slirp4netns and then against $SLIRPBYPASS, each serving its own
# container in the private host; every reply is recorded and the two
# transcripts must be identical.  The script contains only requests on
# which slirp4netns neither crashes nor misbehaves (those are unit-tested:
# tests/port-driver/test_api.c, and listed in docs/api.md).  Skips if
# slirp4netns is not installed.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict
sb_need socat
S4=${SLIRP4NETNS:-/usr/bin/slirp4netns}
[ -x "$S4" ] || sb_skip "no slirp4netns to compare with"

requests=(
    '{"execute":"list_hostfwd"}'
    '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"0.0.0.0","host_port":18090,"guest_addr":"","guest_port":80}}'
    '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":18091,"guest_addr":"10.0.2.100","guest_port":80}}'
    '{"execute":"add_hostfwd","arguments":{"proto":"udp","host_port":18092,"guest_port":53}}'
    '{"execute":"add_hostfwd","arguments":{"proto":"udp","host_addr":"","host_port":18093,"guest_addr":"10.0.2.100","guest_port":53}}'
    '{"execute":"list_hostfwd"}'
    '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"0.0.0.0","host_port":18090,"guest_addr":"","guest_port":81}}'
    '{"execute":"add_hostfwd","arguments":{"proto":"tcp4","host_port":18094,"guest_port":80}}'
    '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"::1","host_port":18094,"guest_port":80}}'
    '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"nonsense","host_port":18094,"guest_port":80}}'
    '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":0,"guest_port":80}}'
    '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":"18094","guest_port":80}}'
    '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":18094}}'
    '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":18094,"guest_addr":"10.0.2","guest_port":80}}'
    '{"execute":"remove_hostfwd","arguments":{"id":2}}'
    '{"execute":"remove_hostfwd","arguments":{"id":2}}'
    '{"execute":"remove_hostfwd","arguments":{"id":"1"}}'
    '{"execute":"remove_hostfwd","arguments":{"id":99}}'
    '{"execute":"remove_hostfwd"}'
    '{"execute":"list_hostfwd"}'
    '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":18091,"guest_addr":"10.0.2.100","guest_port":80}}'
    '{"execute":"list_hostfwd"}'
    '{"execute":"nosuchcommand"}'
    '{"execute":42}'
    '{"arguments":{}}'
    '[1,2]'
    '42'
    'badjson'
    '{"execute":"list_hostfwd"}
{"execute":"list_hostfwd"}'
    '{"execute":"list_hostfwd","arguments":{"ignored":[1,{"a":"}"}]}}'
)

# run_script BINARY OUT - start BINARY for a fresh container, send every
# request (newline-terminated, SHUT_WR, as podman does), record the replies.
run_script()
{
    local bin=$1 out=$2 r
    sb_start_target
    SLIRPBYPASS=$bin sb_start_helper -c --api-socket "$T/api.sock" "$TARGET_PID" tap0
    : >"$out"
    for r in "${requests[@]}"; do
        printf '%s\n=> %s\n' "$r" "$(sb_api "$r")" >>"$out"
    done
    # and the largest request slirp4netns accepts: 4095 bytes
    r='{"execute":"list_hostfwd","pad":"'
    r+=$(head -c $((4095 - ${#r} - 2)) /dev/zero | tr '\0' x)'"}'
    printf '4095-byte request\n=> %s\n' "$(printf '%s' "$r" | timeout 10 socat -t 5 - "UNIX-CONNECT:$T/api.sock")" >>"$out"
    sb_stop_helper TERM
    kill "$TARGET_PID" 2>/dev/null || true
    rm -f "$T/api.sock"
}

run_script "$S4" "$T/slirp4netns.txt"
run_script "$SLIRPBYPASS" "$T/slirpbypass.txt"
if ! diff -u "$T/slirp4netns.txt" "$T/slirpbypass.txt" >&2; then
    sb_fail "API transcripts differ (- slirp4netns, + slirpbypass)"
fi
grep -c '^=> ' "$T/slirpbypass.txt" | grep -qx $((${#requests[@]} + 1)) ||
    sb_fail "missing replies"
grep -q '^=> {"return":{"id":5}}$' "$T/slirpbypass.txt" || sb_fail "transcript looks wrong"
sb_log "PASS: ${#requests[@]} requests, identical replies"
