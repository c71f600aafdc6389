#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-faults.sh - injected faults: the helper survives them, cleans up
# after them, and serves again (docs/security.md P4, P9, P10, P12; the
# "fault injection" item of its to-do list).
#
# Theory of operation: four parts, each with its own target and helper, in
# the harness's private host (bypass-lib.sh's topology).
#
#  1. SIGKILL during a port hand-off (-p 18080:80).  A bypassed server
#     (python under `slirpbypass exec`) binds the published guest port and
#     gets the host socket (getsockname() shows 0.0.0.0:18080); it is then
#     killed (a) by the test between bind() and listen(), (b) by itself
#     right after listen() returns, (c) by the test while it serves (the
#     table says "bypass" and a host client reached it), (d) by its own
#     second thread racing listen() (RACE_ROUNDS times).  After each kill,
#     within 1 s: list_hostfwd_ex says "path":"slirp" and the only listener
#     on the host port is libslirp's (the helper's); a host client then
#     reaches a plain server in the container on guest port 80 through
#     the published port, by the slirp path (the server sees the gateway
#     10.0.2.2); and the helper's fd count is back to its baseline (taken
#     after a warm-up hand-off, so that caches are in it).
#  2. SIGTERM under load, and
#  3. the exit pipe closed under the same load.  The load: bypassed
#     connections held open (proved bypassed: the server saw the client's
#     own local address), a bypassed blocking connect to the blackholed
#     203.0.113.7 waiting in the helper (a SYN-SENT socket in the private
#     host, none in the container), idle clients on the API socket and the
#     bypass socket, and a bulk stream over the slirp path (its byte count
#     grows).  Then: exit status 0 within 5 s, both socket files gone, the
#     waiting connect returns (any error; docs say ECONNREFUSED), and no
#     child of the helper and no slirpbypass process of this test's
#     namespaces is left.
#  4. EMFILE on the libslirp and bypass paths.  The helper runs with
#     RLIMIT_NOFILE 64.  The container opens 100 slirp-path connections to
#     a host server that holds them (libslirp's socket() fails once the
#     helper is out of fds: the guest gets an ICMP error), then a bypassed
#     storm of 80 connects runs (already registered, so the notify fd
#     exists).  While out of fds: at most 1/5 s of CPU in 2 s (a busy loop
#     would burn all of it), at most 4 log lines about it, no crash.  Then
#     a host client queues on a published port while the helper is still
#     out of fds (libslirp's accept() fails): the listener is paused, not
#     spun on, and that is logged once; so is the bypass's fd exhaustion.
#     Once the connections are closed the fd count comes back, no busy
#     loop is left, and a new slirp-path connect, a new bypassed connect
#     and a published port (host -> plain server in the container) work.
#
#  5. A container process killed (SIGKILL) while 200 of its blocking
#     connects wait in the helper: within 5 s the waits are dropped (fds
#     back to baseline, no host socket left connecting) and the bypass
#     serves the next connect.
#
# RACE_ROUNDS (default 5) sets the rounds of 1(d).
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
. "$(dirname "$0")/bypass-lib.sh"
sb_strict
sb_need python3 socat ss

pb_init
RACE_ROUNDS=${RACE_ROUNDS:-5}
O=$T/out
# the interpreter itself (a pyenv shim would run a shell under the filter)
PY=$(python3 -c 'import sys; print(sys.executable)')
SB_EXE=$(readlink -f "$SLIRPBYPASS")
HZ=$(getconf CLK_TCK)

now_ms() { echo $(($(date +%s%N) / 1000000)); }
fds() { find "/proc/$HELPER_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
ticks() { awk '{print $14 + $15}' "/proc/$HELPER_PID/stat"; }

# slirp_serves PORT - the entry is on the slirp path and the only listener
# on host port PORT is the helper's (libslirp's socket)
slirp_serves()
{
    local l
    [ "$(pb_entry_path 1)" = slirp ] || return 1
    l=$(ss -Htlnp "sport = :$1")
    [ "$(printf '%s\n' "$l" | grep -c .)" = 1 ] || return 1
    case "$l" in *"pid=$HELPER_PID,"*) return 0 ;; esac
    return 1
}

# wait_fds BASE SECONDS - until the helper has at most BASE fds
wait_fds()
{
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        [ "$(fds)" -le "$1" ] && return 0
        sleep 0.1
    done
    ls -l "/proc/$HELPER_PID/fd" >&2
    return 1
}

# ---------------------------------------------------------------------------
# 1. SIGKILL during a port hand-off
# ---------------------------------------------------------------------------
# The bypassed server: binds 0.0.0.0:80, prints its pid and bound address,
# then, by MODE: "bound" waits (the test kills it); "listen-kill" kills
# itself right after listen(); "listen" listens and serves one "BYP" line
# per client (the test kills it); "race" starts a thread that kills the
# process and calls listen() at the same time.  Bounded by 60 s.
HANDOFF_SERVER='
import os, signal, socket, sys, threading, time
mode = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 80))
print("pid=%d" % os.getpid(), flush=True)
print("bound=%s:%d" % s.getsockname(), flush=True)
if mode == "listen-kill":
    s.listen(16)
    os.kill(os.getpid(), signal.SIGKILL)
elif mode == "race":
    t = threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGKILL))
    t.start()
    s.listen(16)
elif mode == "listen":
    s.listen(16)
    print("listening=1", flush=True)
    s.settimeout(1)
    end = time.time() + 60
    while time.time() < end:
        try:
            c, a = s.accept()
        except socket.timeout:
            continue
        c.sendall(("BYP %s:%d\n" % a).encode())
        c.close()
time.sleep(60)
'

# handoff_round MODE - one bypassed server killed as MODE says, then the
# checks of part 1
handoff_round()
{
    local mode=$1 pid t0 ms
    sb_bg sb_in_target timeout 90 "$SLIRPBYPASS" exec --socket "$BYPASS_SOCK" -- \
        "$PY" -c "$HANDOFF_SERVER" "$mode"
    local log=$BG_LOG wrapper=$BG_PID
    sb_wait_until 15 grep -q '^bound=' "$log" ||
        sb_fail "$mode: the bypassed server did not bind: $(cat "$log")"
    pid=$(pb_get "$log" pid)
    pb_expect "$log" bound 0.0.0.0:18080 "$mode: the bypassed bind got the host socket"
    case "$mode" in
    bound)
        # libslirp keeps serving while the socket is only bound
        [ "$(pb_entry_path 1)" = slirp ] || sb_fail "$mode: bound only, but the table says $(pb_entry_path 1)"
        kill -KILL "$pid"
        ;;
    listen)
        sb_wait_until 10 grep -q '^listening=' "$log" || sb_fail "$mode: no listen: $(cat "$log")"
        [ "$(pb_entry_path 1)" = bypass ] || sb_fail "$mode: listening, but the table says $(pb_entry_path 1)"
        pb_host "$O" tcp-connect 127.0.0.1 18080 || true
        [ "$(pb_reply_tag "$O")" = BYP ] || sb_fail "$mode: host client did not reach the bypassed server: $(tr '\n' ' ' <"$O")"
        kill -KILL "$pid"
        ;;
    esac
    # (listen-kill, race: the process kills itself)
    t0=$(now_ms)
    sb_wait_until 10 eval '! sb_alive "$pid"' || sb_fail "$mode: server $pid still alive"
    wait "$wrapper" 2>/dev/null || true
    while ! slirp_serves 18080; do
        ms=$(($(now_ms) - t0))
        if [ "$ms" -gt 1000 ]; then
            tail -5 "$HELPER_LOG" >&2
            sb_fail "$mode: not back on the slirp path 1 s after the kill: path '$(pb_entry_path 1)', listeners: $(ss -Htlnp 'sport = :18080' | tr '\n' ' ')"
        fi
        sleep 0.05
    done
    ms=$(($(now_ms) - t0))
    # a plain server in the container is reached through the published port
    pb_serve "PLAIN" 0.0.0.0 80 in_target
    local plain=$BG_PID
    pb_host "$O" tcp-connect 127.0.0.1 18080 || true
    [ "$(pb_reply_tag "$O")" = PLAIN ] ||
        sb_fail "$mode: plain server not reached through 18080 after the kill: $(tr '\n' ' ' <"$O")"
    case "$(pb_reply_peer "$O")" in
    10.0.2.2:*) ;;
    *) sb_fail "$mode: not the slirp path (server saw $(pb_reply_peer "$O"))" ;;
    esac
    kill "$plain"
    wait "$plain" 2>/dev/null || true
    wait_fds "$BASE_FDS" 3 || sb_fail "$mode: helper fds $BASE_FDS -> $(fds) after the kill"
    sb_log "  $mode: back on slirp after ${ms} ms, plain server reached, $(fds) fds (baseline $BASE_FDS)"
}

sb_log "1. SIGKILL during a port hand-off"
API="$T/api1.sock"
pb_start_bypass --api-socket "$API" -p 18080:80
[ "$(pb_entry_path 1)" = slirp ] || sb_fail "entry 1 not on the slirp path at start"
# warm-up: a whole hand-off and hand-back, so caches are in the baseline
sb_bg sb_in_target timeout 60 "$SLIRPBYPASS" exec --socket "$BYPASS_SOCK" -- \
    "$SBCLIENT" serve-tcp 0.0.0.0 80 --timeout 50 --tag WARM
WARM=$BG_PID
sb_wait_until 10 grep -q '^listening=0.0.0.0:18080' "$BG_LOG" || sb_fail "warm-up not handed off: $(cat "$BG_LOG")"
pb_host "$O" tcp-connect 127.0.0.1 18080 || true
[ "$(pb_reply_tag "$O")" = WARM ] || sb_fail "warm-up server not reached: $(tr '\n' ' ' <"$O")"
kill "$WARM"
wait "$WARM" 2>/dev/null || true
sb_wait_until 5 slirp_serves 18080 || sb_fail "warm-up: not handed back"
sleep 0.6
BASE_FDS=$(fds)
sb_log "  baseline: $BASE_FDS fds"
handoff_round bound
handoff_round listen-kill
handoff_round listen
for ((r = 1; r <= RACE_ROUNDS; r++)); do
    handoff_round race
done
sb_alive "$HELPER_PID" || sb_fail "the helper died in part 1"
sb_stop_helper
sb_assert_eq 0 "$HELPER_STATUS" "part 1 helper's exit status"

# ---------------------------------------------------------------------------
# 2./3. SIGTERM or the exit pipe, under load
# ---------------------------------------------------------------------------
# descendants PID - the pids of PID's children, grandchildren, ...
descendants()
{
    local c
    for c in $(pgrep -P "$1" || true); do
        echo "$c"
        descendants "$c"
    done
}

# our_helpers - pids running the slirpbypass binary in the private host's
# or the target's network namespace (other tests' helpers are elsewhere)
our_helpers()
{
    local p exe ns
    for p in /proc/[0-9]*; do
        exe=$(readlink "$p/exe" 2>/dev/null) || continue
        [ "$exe" = "$SB_EXE" ] || continue
        ns=$(readlink "$p/ns/net" 2>/dev/null) || continue
        if [ "$ns" = "$HOST_NS" ] || [ "$ns" = "$TARGET_NS" ]; then
            echo "${p#/proc/}"
        fi
    done
}

# pending_syn [sb_in_target] - how many SYN-SENT sockets to the blackhole
# `ss` sees in the private host (or, with sb_in_target, in the container)
pending_syn()
{
    "$@" ss -Htn state syn-sent "dst $BLACKHOLE4" | grep -c . || true
}

HOST_NS=$(readlink /proc/self/ns/net)
pb_serve ECHO 127.0.0.1 19001

sb_bg socat -u OPEN:/dev/zero TCP4-LISTEN:19002,bind=127.0.0.1,reuseaddr,fork
sb_wait_port 19002 || sb_fail "stream server did not start"

# the stream reader (plain, so over the slirp path): prints bytes= every
# 0.2 s, ends after 40 s
STREAM_READER='
import socket, time
s = socket.create_connection(("10.0.2.2", 19002), timeout=5)
total, last, end = 0, 0.0, time.time() + 40
while time.time() < end:
    try:
        d = s.recv(65536)
    except socket.timeout:
        continue
    if not d:
        break
    total += len(d)
    if time.time() - last > 0.2:
        print("bytes=%d" % total, flush=True)
        last = time.time()
print("end=%d" % total, flush=True)
'
# idle clients of the helper's unix sockets, held for 40 s
IDLE_CLIENTS='
import socket, sys, time
held = []
for path in sys.argv[1:]:
    for i in range(8):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        held.append(s)
print("held=%d" % len(held), flush=True)
time.sleep(40)
'

# stop_under_load HOW - start a helper, put the load on it, stop it by HOW
# (term: SIGTERM; pipe: close its exit pipe), check the aftermath
stop_under_load()
{
    local how=$1 i held pend pend_pid idle stream b1 b2 kids t0 ms st
    sb_log "$([ "$how" = term ] && echo 2. SIGTERM || echo 3. exit pipe closed) under load"
    API="$T/api-$how.sock"
    if [ "$how" = pipe ]; then
        sb_exit_pipe 3
        pb_start_bypass --api-socket "$API" -p 18081:81 -e 3
    else
        pb_start_bypass --api-socket "$API" -p 18081:81
    fi
    TARGET_NS=$(readlink "/proc/$TARGET_PID/ns/net")
    [ -S "$API" ] || sb_fail "$how: no API socket"

    # bypassed connections, held open
    held=()
    for i in 1 2 3 4; do
        sb_bg sb_in_target timeout 60 "$SLIRPBYPASS" exec --socket "$BYPASS_SOCK" -- \
            "$SBCLIENT" tcp-connect 10.0.2.2 19001 --hold 30000
        held+=("$BG_LOG")
    done
    for i in "${held[@]}"; do
        sb_wait_until 15 grep -q '^reply=' "$i" || sb_fail "$how: held client: $(tr '\n' ' ' <"$i")"
        pb_assert_bypassed "$i" ECHO "$how: held connection"
    done

    # a bypassed blocking connect to the blackhole, waiting in the helper
    sb_bg sb_in_target timeout 60 "$SLIRPBYPASS" exec --socket "$BYPASS_SOCK" -- \
        "$SBCLIENT" tcp-connect "$BLACKHOLE4" 80
    pend=$BG_LOG
    pend_pid=$BG_PID
    sb_wait_until 10 grep -q '^pre.inode=' "$pend" || sb_fail "$how: pending client did not start: $(cat "$pend")"
    sb_wait_until 5 eval '[ "$(pending_syn)" = 1 ]' ||
        sb_fail "$how: no SYN-SENT to $BLACKHOLE4 in the private host: $(ss -tn state syn-sent | tr '\n' ' ')"
    [ "$(pending_syn sb_in_target)" = 0 ] ||
        sb_fail "$how: the blackholed connect went the slirp path (SYN-SENT in the container)"
    if grep -q '^connect=' "$pend"; then
        sb_fail "$how: the blackholed connect returned early: $(tr '\n' ' ' <"$pend")"
    fi

    # idle clients of both unix sockets
    sb_bg "$PY" -c "$IDLE_CLIENTS" "$API" "$BYPASS_SOCK"
    idle=$BG_LOG
    sb_wait_until 10 grep -q '^held=16' "$idle" || sb_fail "$how: idle clients: $(cat "$idle")"

    # traffic over the slirp path
    sb_bg sb_in_target "$PY" -c "$STREAM_READER"
    stream=$BG_LOG
    sb_wait_until 10 grep -q '^bytes=' "$stream" || sb_fail "$how: no stream: $(cat "$stream")"
    b1=$(tail -n 1 "$stream" | sed -n 's/^bytes=//p')
    sleep 0.5
    b2=$(tail -n 1 "$stream" | sed -n 's/^bytes=//p')
    [ -n "$b1" ] && [ -n "$b2" ] && [ "$b2" -gt "$b1" ] ||
        sb_fail "$how: the slirp stream does not flow ($b1 -> $b2)"

    kids=$(descendants "$HELPER_PID" | tr '\n' ' ')
    sb_log "  load: 4 bypassed held, 1 bypassed connect waiting, 16 idle clients, stream at $b2 bytes; helper children: [${kids}]"

    t0=$(now_ms)
    if [ "$how" = pipe ]; then
        sb_close_exit_pipe
    else
        kill -TERM "$HELPER_PID"
    fi
    while sb_alive "$HELPER_PID"; do
        [ $(($(now_ms) - t0)) -le 5000 ] || sb_fail "$how: the helper still runs 5 s later: $(tail -5 "$HELPER_LOG")"
        sleep 0.05
    done
    ms=$(($(now_ms) - t0))
    st=0
    wait "$HELPER_PID" 2>/dev/null || st=$?
    sb_assert_eq 0 "$st" "$how: exit status"
    [ ! -e "$API" ] || sb_fail "$how: API socket file left"
    [ ! -e "$BYPASS_SOCK" ] || sb_fail "$how: bypass socket file left"
    sb_wait_until 5 grep -q '^connect=' "$pend" ||
        sb_fail "$how: the waiting connect did not return: $(tr '\n' ' ' <"$pend")"
    ! grep -q '^connect=ok' "$pend" || sb_fail "$how: the blackholed connect succeeded?"
    wait "$pend_pid" 2>/dev/null || true
    for i in $kids; do
        if sb_alive "$i"; then
            sb_fail "$how: child $i of the helper left: $(tr '\0' ' ' <"/proc/$i/cmdline")"
        fi
    done
    [ -z "$(descendants "$HELPER_PID")" ] || sb_fail "$how: children left"
    i=$(our_helpers | tr '\n' ' ')
    [ -z "$i" ] || sb_fail "$how: slirpbypass processes left: $i"
    sb_log "  exit 0 after ${ms} ms, sockets unlinked, waiting connect: $(pb_get "$pend" connect), nothing left"
    HELPER_PID=""
}

stop_under_load term
stop_under_load pipe

# ---------------------------------------------------------------------------
# 4. EMFILE on the libslirp and bypass paths
# ---------------------------------------------------------------------------
sb_log "4. out of fds (RLIMIT_NOFILE 64) on the libslirp and bypass paths"
API="$T/api4.sock"
SB_HELPER_WRAP=(prlimit --nofile=64:64 --)
pb_start_bypass --api-socket "$API" -p 18082:80
SB_HELPER_WRAP=()
LIMIT=$(awk '/^Max open files/ {print $4}' "/proc/$HELPER_PID/limits")
sb_assert_eq 64 "$LIMIT" "the helper's RLIMIT_NOFILE"
BASE_FDS=$(fds)

# a host server that holds every connection (the slirp path's host sockets
# stay open in the helper), 60 s at most
sb_bg "$PY" -c '
import resource, select, socket, time
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", 19003))
l.listen(1024)
print("listening=1", flush=True)
held, end = [], time.time() + 60
while time.time() < end:
    if select.select([l], [], [], 0.5)[0]:
        c = l.accept()[0]
        c.sendall(b"HOLD\n")
        held.append(c)
'
HOLD_SERVER=$BG_PID
sb_wait_until 10 grep -q '^listening=' "$BG_LOG" || sb_fail "holding server: $(cat "$BG_LOG")"

# the bypassed client registers now (its notify fd needs a helper fd),
# runs its storm on $T/go, and keeps its registration until $T/done
sb_bg sb_in_target timeout 120 "$SLIRPBYPASS" exec --socket "$BYPASS_SOCK" -- sh -c '
i=0; while [ ! -e "$1/go" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
"$2" storm 8 10 10.0.2.2 19001
i=0; while [ ! -e "$1/done" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done' sh "$T" "$SBCLIENT"
STORM=$BG_LOG
sb_wait_until 10 grep -q 'notify fd registered' "$HELPER_LOG" || sb_fail "storm client not registered"

# 100 slirp-path connections from the container, held until $T/release
sb_bg sb_in_target "$PY" -c '
import collections, errno, os, socket, sys, time
res, held = collections.Counter(), []
for i in range(100):
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect(("10.0.2.2", 19003))
        held.append(s)
        res["ok"] += 1
    except OSError as e:
        res[errno.errorcode.get(e.errno, str(e))] += 1
        s.close()
print("result=" + ",".join("%s:%d" % kv for kv in sorted(res.items())), flush=True)
print("ok=%d" % res["ok"], flush=True)
end = time.time() + 60
while time.time() < end and not os.path.exists(sys.argv[1] + "/release"):
    time.sleep(0.1)
' "$T"
HOLDER=$BG_PID
HOLDER_LOG=$BG_LOG
sb_wait_until 60 grep -q '^ok=' "$HOLDER_LOG" || sb_fail "slirp-path holder: $(cat "$HOLDER_LOG")"
sb_log "  slirp-path connects: $(pb_get "$HOLDER_LOG" result); helper fds: $(fds) of $LIMIT"
[ "$(pb_get "$HOLDER_LOG" ok)" -lt 100 ] || sb_fail "all 100 slirp connections succeeded: never out of fds?"
[ "$(fds)" -ge $((LIMIT - 2)) ] || sb_fail "the helper is not out of fds: $(fds) of $LIMIT"
LOG_LINES0=$(wc -l <"$HELPER_LOG")

touch "$T/go"
sb_wait_until 60 grep -q '^errors=' "$STORM" || sb_fail "the bypassed storm did not finish: $(cat "$STORM")"
sb_log "  bypassed storm while out of fds: ok=$(pb_get "$STORM" storm.ok) failed=$(pb_get "$STORM" storm.failed) errors=$(pb_get "$STORM" errors)"
sb_alive "$HELPER_PID" || sb_fail "the helper died: $(tail -5 "$HELPER_LOG")"

t0=$(ticks)
sleep 2
t1=$(ticks)
sb_log "  out of fds for 2 s: $((t1 - t0)) CPU ticks (of $((2 * HZ)))"
[ $((t1 - t0)) -le $((HZ / 5)) ] || sb_fail "busy loop while out of fds: $((t1 - t0)) ticks in 2 s"
n=$(tail -n +$((LOG_LINES0 + 1)) "$HELPER_LOG" | grep -ciE 'too many open files|EMFILE|out of (fds|file)' || true)
sb_log "  fd exhaustion logged: $n line(s)"
[ "$n" -le 4 ] || sb_fail "fd exhaustion logged $n times: $(grep -iE 'too many open files|EMFILE' "$HELPER_LOG" | head -3)"
# the agent's failing pidfd_getfd() says so, once (libslirp's failing
# socket() has no hook; its connects only get an ICMP error)
[ "$n" -ge 1 ] || sb_fail "fd exhaustion on the bypass path is not logged"

# a host client on a published port while the helper is out of fds:
# libslirp's accept() fails with EMFILE and leaves the connection queued;
# the listener is paused, not spun on (slirp4netns's #227), and logged once
pb_host "$O.in" tcp-connect 127.0.0.1 18082 --read-timeout 500 || true
t0=$(ticks)
sleep 2
t1=$(ticks)
sb_log "  out of fds, a client queued on published 18082: $((t1 - t0)) CPU ticks in 2 s"
[ $((t1 - t0)) -le $((HZ / 5)) ] ||
    sb_fail "busy loop on a published port's listener while out of fds: $((t1 - t0)) of $((2 * HZ)) ticks in 2 s"
[ "$(grep -c 'accept on a forwarded port: out of file descriptors' "$HELPER_LOG")" = 1 ] ||
    sb_fail "the paused listener is not logged exactly once: $(grep -c 'accept on a forwarded port' "$HELPER_LOG")"
sb_alive "$HELPER_PID" || sb_fail "the helper died: $(tail -5 "$HELPER_LOG")"

# release: the held connections close, fds come back
touch "$T/release" "$T/done"
wait "$HOLDER" 2>/dev/null || true
kill "$HOLD_SERVER" 2>/dev/null || true
wait "$HOLD_SERVER" 2>/dev/null || true
wait_fds "$BASE_FDS" 10 || sb_fail "fds did not come back: $BASE_FDS -> $(fds)"
t0=$(ticks)
sleep 1
t1=$(ticks)
[ $((t1 - t0)) -le $((HZ / 10)) ] || sb_fail "still busy after the fds came back: $((t1 - t0)) ticks in 1 s"

pb_plain "$O" tcp-connect 10.0.2.2 19001 || true
pb_assert_slirp "$O" "slirp-path connect after the fds came back"
sb_assert_eq ECHO "$(pb_reply_tag "$O")" "slirp-path connect after the fds came back: server"
pb_bypassed "$O" tcp-connect 10.0.2.2 19001 || true
pb_assert_bypassed "$O" ECHO "bypassed connect after the fds came back"
pb_serve PLAIN4 0.0.0.0 80 in_target
pb_host "$O" tcp-connect 127.0.0.1 18082 || true
sb_assert_eq PLAIN4 "$(pb_reply_tag "$O")" "published port after the fds came back"
sb_alive "$HELPER_PID" || sb_fail "slirpbypass died"
sb_log "  fds back to $(fds), slirp, bypassed and published-port connects served"
sb_stop_helper

sb_log "5. a container process killed (SIGKILL) during 200 pending blocking connects"
pb_start_bypass
pb_serve ECHO5 "$TUN4" 19005
pb_bypassed "$O" tcp-connect "$TUN4" 19005
pb_assert_bypassed "$O" ECHO5 "warm-up connect"
sleep 0.5
BASE5=$(fds)
# 200 threads, each a blocking connect into the blackhole: each waits in
# the helper with a host socket of its own
sb_bg sb_in_target timeout 120 "$SLIRPBYPASS" exec --socket "$BYPASS_SOCK" -- \
    "$SBCLIENT" storm 200 1 "$BLACKHOLE4" 9
STORM_PID=$BG_PID
waiting() { [ "$(fds)" -ge $((BASE5 + 150)) ]; }
sb_wait_until 20 waiting || sb_fail "the connects are not waiting in the helper: $(fds) fds, baseline $BASE5"
sb_log "  $(($(fds) - BASE5)) more fds in the helper while the connects wait"
kill -KILL "$STORM_PID"
wait "$STORM_PID" 2>/dev/null || true
back() { [ "$(fds)" -le "$BASE5" ]; }
sb_wait_until 5 back || sb_fail "the waits of a killed process were not dropped: $(fds) fds, baseline $BASE5"
! ss -tanH state syn-sent | grep -q "$BLACKHOLE4" ||
    sb_fail "host sockets of the killed process still connecting: $(ss -tanH state syn-sent | head -3)"
pb_bypassed "$O" tcp-connect "$TUN4" 19005
pb_assert_bypassed "$O" ECHO5 "a connect after the kill"
sb_log "  fds back to $(fds) (baseline $BASE5)"

sb_log "ok"
