#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-emfile.sh - out of fds, the helper neither spins nor floods its log,
# and recovers when fds free up (docs/security.md, P10).
#
# Theory of operation: slirpbypass runs with RLIMIT_NOFILE 64 and the bypass
# on.  Clients hold idle connections to the API socket and to the bypass
# socket until accept() fails with EMFILE (the caps, 128 and 1024, are above
# what 64 fds allow).  Then, for 2 s: the helper's CPU time must stay small
# (a busy loop would burn the whole 2 s), and each socket must have logged
# its accept failure once, not every 100 ms.  When the clients go, a real
# API request and a real bypassed exec succeed.  slirp4netns spins at 100 %
# CPU here (its issue #227).
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict
sb_need python3 socat

sb_start_target
SB_HELPER_WRAP=(prlimit --nofile=64:64 --)
sb_start_helper -c --api-socket "$T/api.sock" --bypass-socket "$T/bypass.sock" \
    "$TARGET_PID" tap0
SB_HELPER_WRAP=()

# hold 200 connections to each socket (they fill the helper's fds)
sb_bg python3 -c '
import resource, socket, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
held = []
for path in sys.argv[1:]:
    for i in range(200):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(path)
        except BlockingIOError:
            pass
        except OSError as e:
            print("connect=%s" % e, flush=True)
            break
        held.append(s)
print("held=%d" % len(held), flush=True)
time.sleep(20)
' "$T/api.sock" "$T/bypass.sock"
HOLD_PID=$BG_PID
sb_wait_until 20 grep -q '^held=' "$BG_LOG" || sb_fail "holder: $(cat "$BG_LOG")"
sb_wait_until 10 grep -q 'Too many open files' "$HELPER_LOG" ||
    sb_fail "the helper never ran out of fds: $(tail -5 "$HELPER_LOG")"

ticks() { awk '{print $14 + $15}' "/proc/$HELPER_PID/stat"; }
t0=$(ticks)
sleep 2
t1=$(ticks)
hz=$(getconf CLK_TCK)
sb_log "out of fds for 2 s: $((t1 - t0)) CPU ticks (of $((2 * hz)))"
[ $((t1 - t0)) -le $((hz / 5)) ] || sb_fail "busy loop while out of fds: $((t1 - t0)) ticks in 2 s"
n=$(grep -c 'Too many open files' "$HELPER_LOG")
sb_log "accept failures logged: $n line(s)"
[ "$n" -le 4 ] || sb_fail "accept failure logged $n times: $(grep 'Too many' "$HELPER_LOG" | head -3)"

kill "$HOLD_PID" 2>/dev/null || true
wait "$HOLD_PID" 2>/dev/null || true
# recovery: the held connections are closed by their peer going away
ok=""
for i in $(seq 1 50); do
    r=$(sb_api '{"execute":"list_hostfwd"}' 2>/dev/null || true)
    if [ "$r" = '{"entries":[]}' ]; then ok=1; break; fi
    sleep 0.2
done
[ -n "$ok" ] || sb_fail "API not served after the fds came back: '$r'"
sb_in_target timeout 20 "$SLIRPBYPASS" exec --socket "$T/bypass.sock" -- true ||
    sb_fail "exec failed after the fds came back: $(tail -5 "$HELPER_LOG")"
kill -0 "$HELPER_PID" || sb_fail "slirpbypass died"
sb_log "PASS"
