#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-bypass-errors.sh - failed and interrupted connects under the bypass
# are reported exactly as the kernel reports them: each case runs the same
# client once directly in the private host (the reference: the kernel's own
# answer for that destination) and once under the bypass from the
# container, and the return values must match.  Cases: refused (blocking,
# non-blocking), SO_SNDTIMEO expiry, a connect that never completes
# (non-blocking poll timeout), unreachable and prohibited routes, SIGALRM
# during a blocking connect (with and without SA_RESTART).  Afterwards the
# agent must still bypass normally.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
. "$(dirname "$0")/bypass-lib.sh"

pb_init
ip route add unreachable 198.51.100.0/24 || sb_fail "cannot add unreachable route"
ip route add prohibit 198.18.0.0/24 || sb_fail "cannot add prohibit route"
pb_start_bypass
pb_serve HOSTLO 127.0.0.1 18301
R=$T/ref
O=$T/out

# same HOST_ADDR CONTAINER_ADDR PORT [ARGS...] - compare connect_rc,
# connect and alarms between the reference and the bypassed run.
same()
{
    local haddr=$1 caddr=$2 port=$3 k
    shift 3
    pb_host "$R" tcp-connect "$haddr" "$port" "$@"
    pb_bypassed "$O" tcp-connect "$caddr" "$port" "$@"
    sb_log "  $caddr:$port $*: connect_rc=$(pb_get "$O" connect_rc) connect=$(pb_get "$O" connect) (kernel: $(pb_get "$R" connect_rc)/$(pb_get "$R" connect))"
    grep -q '^connect=' "$R" || sb_fail "reference run failed: $(tr '\n' ' ' <"$R")"
    for k in connect_rc connect alarms; do
        pb_expect "$O" "$k" "$(pb_get "$R" "$k")" "$caddr:$port $*: $k as the kernel"
    done
}

sb_log "refused (nothing listens on host 127.0.0.1:18399)"
same 127.0.0.1 10.0.2.2 18399
pb_expect "$O" connect ECONNREFUSED "refused"
same 127.0.0.1 10.0.2.2 18399 --nonblock
same "$TUN4" "$TUN4" 18399

sb_log "never answered: SO_SNDTIMEO expiry and non-blocking timeout"
# The socket is still connecting afterwards: a bypassed one has a local
# address of the private host, not the tap's 10.0.2.100.
not_tap()
{
    case "$(pb_get "$O" local)" in
    10.0.2.* | 0.0.0.0:0 | "") sb_fail "$1: local address '$(pb_get "$O" local)': not bypassed" ;;
    esac
}
same "$BLACKHOLE4" "$BLACKHOLE4" 80 --sndtimeo 700
pb_expect "$O" connect EINPROGRESS "SO_SNDTIMEO expiry"
not_tap "SO_SNDTIMEO expiry"
same "$BLACKHOLE4" "$BLACKHOLE4" 80 --nonblock --wait 500
pb_expect "$O" connect timeout "non-blocking connect still pending"
not_tap "non-blocking connect still pending"
# the same with a blocking socket: the agent waits (without blocking its
# loop) until SO_SNDTIMEO runs out again, then EALREADY like the kernel
same "$BLACKHOLE4" "$BLACKHOLE4" 80 --sndtimeo 400 --reconnect
pb_expect "$O" reconnect_blocking "$(pb_get "$R" reconnect_blocking)" "blocking connect() again while connecting"
pb_expect "$O" reconnect_blocking EALREADY "blocking connect() again while connecting"
# connect() again while the host socket is still in SYN_SENT: EALREADY
same "$BLACKHOLE4" "$BLACKHOLE4" 80 --nonblock --wait 300 --reconnect
pb_expect "$O" reconnect_early "$(pb_get "$R" reconnect_early)" "connect() again while connecting"
pb_expect "$O" reconnect_early EALREADY "connect() again while connecting"
not_tap "non-blocking connect asked twice"

sb_log "unreachable / prohibited routes in the private host"
same 198.51.100.9 198.51.100.9 80
pb_expect "$O" connect EHOSTUNREACH "unreachable route"
same 198.51.100.9 198.51.100.9 80 --nonblock
same 198.18.0.9 198.18.0.9 80
pb_expect "$O" connect EACCES "prohibit route"

sb_log "SIGALRM during a blocking connect"
same "$BLACKHOLE4" "$BLACKHOLE4" 80 --alarm 300
pb_expect "$O" connect EINTR "interrupted connect"
pb_expect "$O" alarms 1 "one SIGALRM"
same "$BLACKHOLE4" "$BLACKHOLE4" 80 --alarm 300 --sa-restart --sndtimeo 1500
same "$BLACKHOLE4" "$BLACKHOLE4" 80 --alarm 200 --sndtimeo 5000

sb_log "the agent still bypasses after all that"
pb_bypassed "$O" tcp-connect 10.0.2.2 18301
pb_assert_bypassed "$O" HOSTLO "bypassed connect after the error cases"
kill -0 "$HELPER_PID" || sb_fail "slirpbypass died: $(cat "$HELPER_LOG")"

sb_log "1100 idle clients held on the bypass socket (past its cap) do not keep exec out"
sb_bg python3 -c '
import resource, socket, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
held = []
for i in range(1100):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    held.append(s)
print("held=%d" % len(held), flush=True)
time.sleep(30)
' "$BYPASS_SOCK"
IDLE_PID=$BG_PID
sb_wait_until 20 grep -q '^held=1100' "$BG_LOG" || sb_fail "idle clients: $(cat "$BG_LOG")"
start=$(date +%s%N)
pb_bypassed "$O" tcp-connect 10.0.2.2 18301 || sb_fail "exec failed with idle clients held: $(cat "$O")"
pb_assert_bypassed "$O" HOSTLO "bypassed connect with 1100 idle clients on the socket"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
sb_log "  exec served in $ms ms"
grep -q 'closing the oldest idle one' "$HELPER_LOG" ||
    sb_fail "the cap was not reached: $(tail -3 "$HELPER_LOG")"
[ "$(grep -c 'connections at once' "$HELPER_LOG")" -le 5 ] ||
    sb_fail "eviction log lines are not rate-limited: $(grep -c 'connections at once' "$HELPER_LOG")"
kill "$IDLE_PID" 2>/dev/null
wait "$IDLE_PID" 2>/dev/null
sb_log "PASS"
