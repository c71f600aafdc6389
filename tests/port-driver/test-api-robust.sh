#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-api-robust.sh - the API socket never stalls the process, and its
# lifecycle is exact.
#
# Theory of operation: slirp4netns serves the API with a blocking accept()
# and read() inside its packet loop, so one silent client freezes all
# networking.  Here silent clients hold connections (for longer than the
# bounds used below, but shorter than the 10 s idle timeout would matter)
# while the test moves data through a forward, adds a forward and serves a
# burst of 200 concurrent API clients, each within a few seconds, and
# again while 1000 idle clients and 20 half-sent requests hold the socket
# past its cap.  Then:
# the socket file is unlinked on SIGTERM even under --enable-sandbox
# (pivot_root) and on exit-fd HUP; startup errors (-p, path length) exit 1
# with a message naming the bad input.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict
sb_need socat busybox

sb_start_target
sb_start_helper -c --enable-sandbox --enable-seccomp --api-socket "$T/api.sock" \
    -p 127.0.0.1:18095:80 "$TARGET_PID" tap0
www="$T/www"
mkdir -p "$www" && echo "hello-from-container" >"$www/index.html" && chmod -R a+rX "$www"
sb_bg sb_in_target busybox httpd -f -p 80 -h "$www"
in_target_port() { sb_in_target ss -ltnH "sport = :$1" | grep -q .; }
sb_wait_until 10 in_target_port 80 || sb_fail "httpd in the container did not start"
get() { timeout 5 socat -T 4 - "TCP4:127.0.0.1:$1" <<<$'GET /index.html HTTP/1.0\r\n\r\n' | tail -n1; }
sb_assert_eq hello-from-container "$(get 18095)" "forward before the silent clients"

# Silent clients: connected, sending nothing, for 8 s.
for i in 1 2 3 4 5; do
    sb_bg socat -T 8 "UNIX-CONNECT:$T/api.sock" "EXEC:sleep 8"
done
# Half-sent request, no EOF.
sb_bg socat -T 8 "UNIX-CONNECT:$T/api.sock" "SYSTEM:printf '{\"execute\":\"add'; sleep 8"
sleep 0.5

# Everything else keeps working, each step bounded well below 8 s.
sb_assert_eq hello-from-container "$(get 18095)" "forward while silent clients wait"
r=$(sb_api '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":18096,"guest_addr":"","guest_port":80}}')
sb_assert_eq '{"return":{"id":2}}' "$r" "add_hostfwd while silent clients wait"
sb_assert_eq hello-from-container "$(get 18096)" "new forward while silent clients wait"

# A burst of 200 concurrent clients.
pids=()
for i in $(seq 1 200); do
    (sb_api '{"execute":"list_hostfwd"}' >"$T/burst.$i") &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || sb_fail "burst client failed"; done
want='{"entries":[{"id":1,"proto":"tcp","host_addr":"127.0.0.1","host_port":18095,"guest_addr":"10.0.2.100","guest_port":80},{"id":2,"proto":"tcp","host_addr":"127.0.0.1","host_port":18096,"guest_addr":"10.0.2.100","guest_port":80}]}'
for i in $(seq 1 200); do
    sb_assert_eq "$want" "$(cat "$T/burst.$i")" "burst reply $i"
done

# 1000 idle clients and 20 half-sent requests at once, past the client
# cap: the oldest idle ones are closed, a real client is served, and the
# forward keeps moving data meanwhile.
python3 "$SB_SOURCE_ROOT/tests/lib/hold-clients.py" "$T/api.sock" 1020 20 "$T/idle.ready" "$T/idle.done" &
IDLE_PID=$!
sb_track "$IDLE_PID"
sb_wait_until 30 test -e "$T/idle.ready" || sb_fail "the idle clients did not connect"
sb_assert_eq hello-from-container "$(get 18095)" "forward while 1020 clients hold the API socket"
r=$(sb_api '{"execute":"list_hostfwd"}')
sb_assert_eq "$want" "$r" "a real client while 1020 clients hold the API socket"
grep -q 'clients at once; closing the oldest' "$HELPER_LOG" ||
    sb_fail "the API never reached its client cap (the test proves nothing)"
touch "$T/idle.done"
wait "$IDLE_PID" 2>/dev/null || true

# The sandbox pivoted the helper's root away; the socket file still goes.
[ -d "/proc/$HELPER_PID/root/etc" ] && [ ! -e "/proc/$HELPER_PID/root/home" ] ||
    sb_fail "the helper is not in its sandbox"
sb_stop_helper TERM
sb_assert_eq 0 "$HELPER_STATUS" "exit status after SIGTERM (sandbox)"
[ ! -e "$T/api.sock" ] || sb_fail "API socket left behind after SIGTERM under --enable-sandbox"

# exit-fd HUP: exit 0, socket gone.
sb_exit_pipe 7
sb_start_helper -c -e 7 --api-socket "$T/api2.sock" "$TARGET_PID" tap1
test -S "$T/api2.sock" || sb_fail "api2.sock missing"
sb_close_exit_pipe
exited() { ! kill -0 "$HELPER_PID" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$HELPER_PID/stat")" = Z ]; }
sb_wait_until 10 exited || sb_fail "helper did not exit on exit-fd HUP"
sb_stop_helper
sb_assert_eq 0 "$HELPER_STATUS" "exit status after exit-fd HUP"
[ ! -e "$T/api2.sock" ] || sb_fail "API socket left behind after exit-fd HUP"

# Startup errors: exit 1, one line naming the input.
long="$T/$(head -c 120 /dev/zero | tr '\0' a)"
rc=0
out=$(timeout 20 "$SLIRPBYPASS" -c --api-socket "$long" "$TARGET_PID" tap2 2>&1 </dev/null) || rc=$?
sb_assert_eq 1 "$rc" "exit status for a long API path"
sb_assert_contains "$out" "the specified API socket path is too long (>= 108)" "long path message"
rc=0
out=$(timeout 20 "$SLIRPBYPASS" -c -p 127.0.0.1:18097:99999 "$TARGET_PID" tap2 2>&1 </dev/null) || rc=$?
sb_assert_eq 1 "$rc" "exit status for a bad -p"
sb_assert_contains "$out" '127.0.0.1:18097:99999' "bad -p message names the spec"
rc=0
out=$(timeout 20 "$SLIRPBYPASS" -c -p 18098:80 -p 18098:81 "$TARGET_PID" tap2 2>&1 </dev/null) || rc=$?
sb_assert_eq 1 "$rc" "exit status for a duplicate -p"
sb_assert_contains "$out" 'overlaps' "duplicate -p message"
sb_log "PASS"
