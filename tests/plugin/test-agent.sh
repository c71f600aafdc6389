#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-agent.sh - `slirpbypass agent`, the per-user dispatcher, and helpers
# registering with it (--bypass-agent, bypass=true).
#
# Theory of operation: one agent socket ($A) is named by every `exec`, as
# one listenerPath is named by every container's profile.  A "driver" runs
# under `slirpbypass exec --socket $A` inside a target (a container) and
# runs sbclient each time a request file appears, so that calls are made
# by the same filtered process tree at chosen moments: before its helper
# exists, while it runs, after it was killed, after the agent restarted.
# Each answer is compared with what the path should be:
#  - no helper yet: the agent answers CONTINUE, the call runs in the
#    container as without the bypass (same errno as an unfiltered client:
#    never ENOSYS, never a hang);
#  - helper registered: bypassed (the server sees the client's own local
#    address, pb_assert_bypassed);
#  - helper SIGKILLed: CONTINUE again (the agent's copy keeps the filter's
#    listener alive: no ENOSYS);
#  - agent killed and restarted: the helper keeps serving, re-registers and
#    passes copies back; killing the helper afterwards still gives CONTINUE.
# Also: two containers at once, each served by its own helper; a second
# helper for one namespace is refused (hard with --bypass-agent, a warning
# with bypass=true); bypass=true with no agent running starts one
# (XDG_RUNTIME_DIR); hostile registrations (among them one claiming
# another container's namespace without an fd on it) are rejected and the
# agent keeps serving.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict; [ -n "${SB_XTRACE:-}" ] && set -x
sb_need python3
. "$(dirname "$0")/bypass-lib.sh"
pb_init

A=$T/run/slirpbypass/agent.sock
mkdir -p "$T/run/slirpbypass"
PORT=18300

# start_agent - `slirpbypass agent --socket $A` in the background.
start_agent()
{
    sb_bg "$SLIRPBYPASS" agent --socket "$A"
    AGENT_PID=$BG_PID
    AGENT_LOG=$BG_LOG
    sb_wait_until 10 test -S "$A" || sb_fail "agent did not start: $(cat "$AGENT_LOG")"
}

# start_driver NAME - the request-driven client runner, under the bypass
# filter (exec --socket $A) in the current target.  Sets D (its dir).
start_driver()
{
    D=$T/drv.$1
    mkdir -p "$D"
    chmod 0777 "$D"
    sb_bg sb_in_target timeout 300 "$SLIRPBYPASS" exec --socket "$A" -- \
        sh -c 'i=0; while [ $i -lt 100 ]; do
                 if [ -e "$1/req.$i" ]; then
                   $(cat "$1/req.$i") >"$1/out.$i.tmp" 2>&1
                   mv "$1/out.$i.tmp" "$1/out.$i"; i=$((i + 1))
                 else sleep 0.05; fi
               done' driver "$D"
    eval "DRIVER_$1=$D"
    eval "NEXT_$1=0"
}

# req NAME ARGS... - have driver NAME run `sbclient ARGS`; waits (bounded)
# for its output.  Sets OUT.
req()
{
    local name=$1 n d
    shift
    eval "d=\$DRIVER_$name; n=\$NEXT_$name"
    echo "$SBCLIENT $*" >"$d/req.$n.tmp"
    mv "$d/req.$n.tmp" "$d/req.$n"
    sb_wait_until 60 test -e "$d/out.$n" || sb_fail "driver $name: request $n ($*) got no answer (a hang?)"
    OUT=$d/out.$n
    eval "NEXT_$name=$((n + 1))"
}

# helper_for TARGET_PID ARGS... - start a helper for that target.
helper_for()
{
    local pid=$1
    shift
    sb_start_helper --configure --mtu=65520 "$@" "$pid" tap0
}

pb_serve host "$TUN4" "$PORT"

sb_log "the agent: --help, usage errors"
"$SLIRPBYPASS" agent --help >"$T/help" || sb_fail "agent --help failed"
sb_assert_contains "$(cat "$T/help")" "--socket" "agent --help"
rc=0
"$SLIRPBYPASS" agent --bogus 2>"$T/err" || rc=$?
sb_assert_eq 2 "$rc" "agent --bogus status"
sb_assert_contains "$(cat "$T/err")" "--bogus" "agent --bogus message"
rc=0
"$SLIRPBYPASS" agent --socket relative.sock 2>"$T/err" || rc=$?
sb_assert_eq 1 "$rc" "agent relative socket status"
sb_assert_contains "$(cat "$T/err")" "relative.sock" "agent relative socket message"

start_agent

sb_log "container 1 starts before its helper: calls take the slirp path, answered by the agent"
sb_start_target
T1=$TARGET_PID
start_driver c1
sb_wait_until 10 grep -q 'no helper serves' "$AGENT_LOG" ||
    sb_fail "the agent did not take the orphan fd: $(cat "$AGENT_LOG")"
req c1 tcp-connect "$TUN4" "$PORT"
early=$(pb_get "$OUT" connect)
pb_plain "$T/plain" tcp-connect "$TUN4" "$PORT" || true
sb_assert_eq "$(pb_get "$T/plain" connect)" "$early" "before the helper: same answer as without the bypass"
[ "$early" != ENOSYS ] || sb_fail "ENOSYS before the helper"

sb_log "its helper registers: the agent passes the fd, calls are bypassed"
helper_for "$T1" --bypass-agent "$A"
H1=$HELPER_PID
H1_LOG=$HELPER_LOG
sb_assert_contains "$(cat "$H1_LOG")" "registered with the agent" "helper 1 log"
sb_wait_until 10 grep -q 'notify fd registered' "$H1_LOG" || sb_fail "helper 1 did not get the fd: $(cat "$H1_LOG")"
req c1 tcp-connect "$TUN4" "$PORT"
pb_assert_bypassed "$OUT" host "container 1 with its helper"

sb_log "container 2 at the same time, its own helper (registered first)"
sb_start_target
T2=$TARGET_PID
helper_for "$T2" --bypass-agent "$A" --enable-sandbox --enable-seccomp
H2=$HELPER_PID
H2_LOG=$HELPER_LOG
start_driver c2
sb_wait_until 10 grep -q 'notify fd registered' "$H2_LOG" || sb_fail "helper 2 did not get the fd: $(cat "$H2_LOG")"
req c2 tcp-connect "$TUN4" "$PORT"
pb_assert_bypassed "$OUT" host "container 2 with its helper"
sb_assert_eq 1 "$(grep -c 'notify fd registered' "$H1_LOG")" "helper 1 got exactly its own fd"
req c1 tcp-connect "$TUN4" "$PORT"
pb_assert_bypassed "$OUT" host "container 1 still bypassed"

sb_log "a second helper for container 2's namespace is refused"
TARGET_PID=$T2
rc=0
timeout 30 "$SLIRPBYPASS" --configure --bypass-agent "$A" "$T2" tap1 >"$T/dup.log" 2>&1 || rc=$?
[ "$rc" != 0 ] || sb_fail "a second helper with --bypass-agent started: $(cat "$T/dup.log")"
sb_assert_contains "$(cat "$T/dup.log")" "refused" "second helper's error"
XDG_RUNTIME_DIR=$T/run sb_start_helper --configure -o bypass=true "$T2" tap2
sb_assert_contains "$(cat "$HELPER_LOG")" "refused" "second helper (bypass=true) error"
sb_stop_helper

sb_log "hostile registrations: rejected, the agent keeps serving"
c1ns=$(stat -L -c '%d %i' "/proc/$T1/ns/net")
python3 - "$A" $c1ns <<'PY' || sb_fail "hostile registration client failed"
import socket, sys, array, os
path, dev, ino = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def send(msg, fds=()):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
    s.sendmsg([msg], anc)
    s.settimeout(5)
    try:
        s.recv(16)
    except Exception:
        pass
    s.close()
def reg(version=1, dev=dev, ino=ino, names='["channel","netns"]'):
    return ('{"slirpbypass":"register","version":%d,"netnsDev":%d,"netnsIno":%d,"fds":%s}'
            % (version, dev, ino, names)).encode()
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
sa, sb = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
own = os.open("/proc/self/ns/net", os.O_RDONLY)
null = os.open("/dev/null", os.O_RDONLY)
send(reg(), [b.fileno(), own])                # a stream "channel"
send(reg(version=99), [sb.fileno(), own])     # a future version
send(reg(dev=-1), [sb.fileno(), own])         # a negative number
send(reg(names='["channel"]'), [sb.fileno()]) # no namespace proof
send(reg(), [sb.fileno(), null])              # a proof that is no namespace
send(reg(), [sb.fileno(), own])               # container 1's claimed, ours shown
send(b'{"slirpbypass":"nonsense"}')
PY
sb_assert_contains "$(cat "$AGENT_LOG")" "the channel is not a unix seqpacket socket" "stream channel rejected"
sb_assert_contains "$(cat "$AGENT_LOG")" "version 99" "wrong version rejected"
sb_assert_contains "$(cat "$AGENT_LOG")" '"netnsDev" non-negative' "negative dev rejected"
sb_assert_contains "$(cat "$AGENT_LOG")" 'is not ["channel","netns"]' "registration without a namespace fd rejected"
[ "$(grep -c 'is not the network namespace claimed' "$AGENT_LOG")" = 2 ] ||
    sb_fail "a forged namespace proof was not rejected twice: $(cat "$AGENT_LOG")"
[ "$(grep -c 'registered for network namespace' "$AGENT_LOG")" = 2 ] ||
    sb_fail "a hostile registration was accepted: $(cat "$AGENT_LOG")"
sb_alive "$AGENT_PID" || sb_fail "the agent died"
req c1 tcp-connect "$TUN4" "$PORT"
pb_assert_bypassed "$OUT" host "bypassed after the hostile registrations"

sb_log "1100 idle clients on the agent's socket (past its cap) do not keep an exec from being served"
python3 "$SB_SOURCE_ROOT/tests/lib/hold-clients.py" "$A" 1100 0 "$T/flood.ready" "$T/flood.done" &
FLOOD_PID=$!
sb_track "$FLOOD_PID"
sb_wait_until 20 test -e "$T/flood.ready" || sb_fail "the idle clients did not connect"
TARGET_PID=$T2
sb_in_target timeout 30 "$SLIRPBYPASS" exec --socket "$A" -- \
    "$SBCLIENT" tcp-connect "$TUN4" "$PORT" >"$T/flood.out" 2>&1 || true
pb_assert_bypassed "$T/flood.out" host "an exec while 1100 idle clients hold the agent's socket"
grep -q 'connections at once; closing the oldest idle one' "$AGENT_LOG" ||
    sb_fail "the agent never reached its connection cap (the test proves nothing): $(tail -3 "$AGENT_LOG")"
touch "$T/flood.done"
wait "$FLOOD_PID" 2>/dev/null || true
sb_alive "$AGENT_PID" || sb_fail "the agent died under the idle clients"

sb_log "helper 1 is killed: the agent answers again (no ENOSYS, no hang)"
# a bypassed socket that outlives its helper: calls on it are refused,
# never let through (it is a host socket, locked but in the host's namespace)
TARGET_PID=$T1
sb_bg sb_in_target timeout 120 "$SLIRPBYPASS" exec --socket "$A" -- \
    "$SBCLIENT" tcp-connect "$TUN4" "$PORT" --pause-file "$T/go" --then-unspec-bind 45678
ORPHAN_OUT=$BG_LOG
sb_wait_until 20 grep -q '^paused=1' "$ORPHAN_OUT" || sb_fail "the paused client: $(cat "$ORPHAN_OUT")"
pb_assert_bypassed "$ORPHAN_OUT" host "the client whose helper will die"
kill -KILL "$H1"
wait "$H1" 2>/dev/null || true
sb_wait_until 10 grep -q 'deregistered; 2 notify fds answered CONTINUE' "$AGENT_LOG" ||
    sb_fail "the agent did not take container 1's fd back: $(cat "$AGENT_LOG")"
req c1 tcp-connect "$TUN4" "$PORT"
after=$(pb_get "$OUT" connect)
[ "$after" != ENOSYS ] || sb_fail "ENOSYS after the helper died"
sb_assert_eq "$early" "$after" "after the helper died: same answer as without the bypass"
touch "$T/go"
sb_wait_until 20 grep -q '^then_bind=' "$ORPHAN_OUT" || sb_fail "the paused client did not go on: $(cat "$ORPHAN_OUT")"
sb_assert_eq ENETUNREACH "$(pb_get "$ORPHAN_OUT" then_unspec)" "connect(AF_UNSPEC) on an orphaned host socket"
sb_assert_eq EINVAL "$(pb_get "$ORPHAN_OUT" then_bind)" "bind of an orphaned host socket"
! ss -tanH | grep -q ':45678 ' || sb_fail "an orphaned host socket got a host port: $(ss -tan | grep 45678)"

sb_log "a new helper for container 1 gets the fd again"
helper_for "$T1" --bypass-agent "$A"
H1=$HELPER_PID
H1_LOG=$HELPER_LOG
sb_wait_until 10 grep -q 'notify fd registered' "$H1_LOG" || sb_fail "the new helper 1 did not get the fd: $(cat "$H1_LOG")"
req c1 tcp-connect "$TUN4" "$PORT"
pb_assert_bypassed "$OUT" host "container 1 with its new helper"

sb_log "the agent is restarted: helpers keep serving, re-register, pass copies back"
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true
req c2 tcp-connect "$TUN4" "$PORT"
pb_assert_bypassed "$OUT" host "container 2 while the agent is down"
start_agent
sb_wait_until 10 grep -q 'registered again' "$H2_LOG" || sb_fail "helper 2 did not re-register: $(cat "$H2_LOG")"
sb_wait_until 10 grep -q 'passed it copies of 1 notify fd' "$H2_LOG" || sb_fail "helper 2 passed no copy: $(cat "$H2_LOG")"
sb_wait_until 10 grep -q 'registered again' "$H1_LOG" || sb_fail "helper 1 did not re-register: $(cat "$H1_LOG")"
kill -KILL "$H2"
wait "$H2" 2>/dev/null || true
sb_wait_until 10 grep -q 'deregistered; 1 notify fd answered CONTINUE' "$AGENT_LOG" ||
    sb_fail "the restarted agent did not take container 2's fd: $(cat "$AGENT_LOG")"
TARGET_PID=$T2
req c2 tcp-connect "$TUN4" "$PORT"
[ "$(pb_get "$OUT" connect)" != ENOSYS ] || sb_fail "ENOSYS after the agent restart and the helper's death"
sb_assert_eq "$early" "$(pb_get "$OUT" connect)" "container 2 after both: the slirp path's answer"

sb_log "exec in a namespace nobody serves: the agent answers CONTINUE"

timeout 30 "$SLIRPBYPASS" exec --socket "$A" -- "$SBCLIENT" tcp-connect "$TUN4" "$PORT" >"$T/hostexec" 2>&1 ||
    sb_fail "exec on the host failed: $(cat "$T/hostexec")"
pb_expect "$T/hostexec" connect ok "exec on the host through the agent"

sb_log "bypass=true with no agent running starts one (XDG_RUNTIME_DIR)"
X=$T/xdg
mkdir -m 0700 "$X"
sb_start_target
T3=$TARGET_PID
XDG_RUNTIME_DIR=$X helper_for "$T3" -o bypass=true
H3_LOG=$HELPER_LOG
sb_assert_contains "$(cat "$H3_LOG")" "registered with the agent $X/slirpbypass/agent.sock" "helper 3 log"
[ -S "$X/slirpbypass/agent.sock" ] || sb_fail "no agent socket in XDG_RUNTIME_DIR"
[ -e "$X/slirpbypass/agent.log" ] || sb_fail "the started agent has no log"
spawned=$(pgrep -f "agent --socket $X/slirpbypass/agent.sock" | head -n 1)
[ -n "$spawned" ] || sb_fail "no started agent process"
sb_track "$spawned"
[ "$(ps -o sid= -p "$spawned" | tr -d ' ')" != "$(ps -o sid= -p "$HELPER_PID" | tr -d ' ')" ] ||
    sb_fail "the started agent is in the helper's session"
sb_in_target timeout 60 env XDG_RUNTIME_DIR="$X" "$SLIRPBYPASS" exec -- \
    "$SBCLIENT" tcp-connect "$TUN4" "$PORT" >"$OUT" 2>&1 || true
pb_assert_bypassed "$OUT" host "exec with the default socket, served through the started agent"
kill -TERM "$spawned"

sb_log "ok"
