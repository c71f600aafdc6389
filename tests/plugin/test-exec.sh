#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-exec.sh - `slirpbypass exec` against a fake OCI seccomp agent
# (fake_agent.py), independent of the real agent: the message it sends
# (runc's ContainerProcessState shape, pid = the command's pid, one
# "seccomp notify" fd), that the command's connect/bind are trapped and
# work when the agent answers CONTINUE, its exit statuses (125 / 126 / 127 /
# the command's), --fallback, the agent-handshake failures (reset, no
# answer), no fd leaked into the command, option parsing stopping at the
# command, and NO_NEW_PRIVS only when unprivileged.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_need python3
SBCLIENT=$SB_BUILD_ROOT/tests/plugin/sbclient
AGENT=$(dirname "$0")/fake_agent.py
[ -x "$SBCLIENT" ] || sb_fail "sbclient not built"
S=$T/agent.sock
OUT=$T/out
ERR=$T/err

# start_agent MODE - fake agent on $S writing into a fresh $T/agent.N.
start_agent()
{
    _sb_next
    A=$T/agent.$SB_COUNTER
    mkdir -p "$A" && chmod 0777 "$A"
    rm -f "$S"
    sb_bg python3 "$AGENT" "$S" "$A" "$1"
    AGENT_PID=$BG_PID
    sb_wait_until 10 test -e "$A/ready" || sb_fail "fake agent did not start: $(cat "$BG_LOG")"
}

# run_exec ARGS... - slirpbypass exec ARGS, stdout to $OUT, stderr to $ERR;
# sets RC.
run_exec()
{
    RC=0
    timeout 30 "$SLIRPBYPASS" exec "$@" >"$OUT" 2>"$ERR" || RC=$?
}

sb_log "--help"
run_exec --help
sb_assert_eq 0 "$RC" "exec --help status"
sb_assert_contains "$(cat "$OUT")" "--socket" "exec --help"
sb_assert_contains "$(cat "$OUT")" "--fallback" "exec --help"

sb_log "usage errors: 125"
run_exec
sb_assert_eq 125 "$RC" "no command"
run_exec --timeout 0 -- true
sb_assert_eq 125 "$RC" "bad --timeout"
sb_assert_contains "$(cat "$ERR")" "--timeout" "bad --timeout message"
run_exec --bogus -- true
sb_assert_eq 125 "$RC" "unknown option"

sb_log "command not found: 127, before the agent is even tried"
run_exec --socket "$T/none.sock" -- no-such-command-xyz
sb_assert_eq 127 "$RC" "command not found"
sb_assert_contains "$(cat "$ERR")" "no-such-command-xyz: command not found" "message"

sb_log "no agent: 125 naming the socket; --fallback runs the command anyway"
run_exec --socket "$T/none.sock" -- echo ran
sb_assert_eq 125 "$RC" "no agent"
sb_assert_contains "$(cat "$ERR")" "$T/none.sock" "no-agent message names the socket"
[ ! -s "$OUT" ] || sb_fail "command ran without the agent: $(cat "$OUT")"
[ "$(wc -l <"$ERR")" = 1 ] || sb_fail "error is not one line: $(cat "$ERR")"
run_exec --socket "$T/none.sock" --fallback -- echo ran
sb_assert_eq 0 "$RC" "--fallback status"
sb_assert_eq ran "$(cat "$OUT")" "--fallback ran the command"
sb_assert_contains "$(cat "$ERR")" "warning" "--fallback warns"
run_exec --socket "$T/none.sock" --fallback -- /etc/passwd
sb_assert_eq 126 "$RC" "not executable"

sb_log "default socket path follows XDG_RUNTIME_DIR (same as seccomp-profile)"
mkdir -p "$T/xdg/slirpbypass"
start_agent continue
ln -s "$S" "$T/xdg/slirpbypass/agent.sock"
RC=0
XDG_RUNTIME_DIR=$T/xdg timeout 30 "$SLIRPBYPASS" exec -- true >"$OUT" 2>"$ERR" || RC=$?
sb_assert_eq 0 "$RC" "exec with the default socket: $(cat "$ERR")"
grep -q '"seccompFd"' "$A/state.json" || sb_fail "agent got no state via the default path"
prof=$(XDG_RUNTIME_DIR=$T/xdg "$SLIRPBYPASS" seccomp-profile | jq -r .listenerPath)
sb_assert_eq "$T/xdg/slirpbypass/agent.sock" "$prof" "profile default listenerPath"

sb_log "the message, the fd, and trapped connect/bind answered CONTINUE"
start_agent continue
sb_bg "$SBCLIENT" serve-tcp 127.0.0.1 18401 --tag SRV --count 1 --timeout 60
sb_wait_until 10 grep -q '^listening=' "$BG_LOG" || sb_fail "server did not start"
run_exec --socket "$S" -- "$SBCLIENT" tcp-connect 127.0.0.1 18401
sb_assert_eq 0 "$RC" "client status under the fake agent: $(cat "$ERR")"
grep -q '^reply=SRV 127.0.0.1:' "$OUT" || sb_fail "no reply: $(cat "$OUT")"
sb_wait_until 10 test -s "$A/notifs.txt" || sb_fail "agent saw no notification"
st=$A/state.json
sb_assert_eq 1.0.2 "$(jq -r .ociVersion "$st")" "ociVersion"
sb_assert_eq '["seccompFd","slirpbypassNetns"]' "$(jq -c .fds "$st")" "fds"
sb_assert_eq slirpbypass-exec "$(jq -r .metadata "$st")" "metadata"
sb_assert_eq running "$(jq -r .state.status "$st")" "state.status"
pid=$(jq -r .pid "$st")
sb_assert_eq "$pid" "$(jq -r .state.pid "$st")" "state.pid = pid"
sb_assert_eq "exec-$pid" "$(jq -r .state.id "$st")" "state.id"
sb_assert_eq "" "$(jq -r .state.bundle "$st")" "state.bundle"
sb_assert_eq "$pid" "$(cat "$A/peer.txt")" "pid = the sender (SO_PEERCRED)"
sb_assert_eq "anon_inode:seccomp notify $(readlink /proc/self/ns/net)" "$(tr '\n' ' ' <"$A/fds.txt" | sed 's/ $//')" \
    "two fds: a seccomp notify fd and exec's network namespace"
[ "$(tr -d '\n' <"$st" | wc -c)" = "$(wc -c <"$st")" ] || sb_fail "state has a newline"
# x86_64: connect is 42, bind 49; the notifying pid is the command (exec
# keeps the pid)
case "$(uname -m)" in
x86_64)
    grep -qx "42 $pid" "$A/notifs.txt" || sb_fail "connect not trapped: $(cat "$A/notifs.txt")"
    ;;
esac

sb_log "bind is trapped too; --no-bind traps connect only; metadata option"
start_agent continue
run_exec --socket "$S" --metadata m1 -- "$SBCLIENT" serve-udp 127.0.0.1 18402 --count 0 --timeout 1
sb_wait_until 10 test -s "$A/notifs.txt" || sb_fail "agent saw no notification"
sb_assert_eq m1 "$(jq -r .metadata "$A/state.json")" "--metadata"
[ "$(uname -m)" != x86_64 ] || grep -q '^49 ' "$A/notifs.txt" || sb_fail "bind not trapped"
start_agent continue
run_exec --socket "$S" --no-bind -- sh -c "$SBCLIENT serve-udp 127.0.0.1 18403 --timeout 1; $SBCLIENT tcp-connect 127.0.0.1 18401 --read-timeout 100"
sb_wait_until 10 test -s "$A/notifs.txt" || sb_fail "agent saw no notification with --no-bind"
[ "$(uname -m)" != x86_64 ] || ! grep -q '^49 ' "$A/notifs.txt" || sb_fail "--no-bind still traps bind"

sb_log "exit status and output of the command pass through; no fd leaks"
start_agent continue
run_exec --socket "$S" -- sh -c 'for f in /proc/$$/fd/*; do readlink "$f"; done; exit 7'
sb_assert_eq 7 "$RC" "command's exit status"
! grep -qE 'seccomp|socket:' "$OUT" || sb_fail "fd leaked into the command: $(cat "$OUT")"

sb_log "options after COMMAND belong to COMMAND"
start_agent continue
run_exec --socket "$S" sh -c 'echo "$0 $1"' a --socket
sb_assert_eq "a --socket" "$(cat "$OUT")" "argv after COMMAND"

sb_log "agent closes without reading: 125, command not run"
start_agent reset
run_exec --socket "$S" -- echo ran
sb_assert_eq 125 "$RC" "agent reset"
[ ! -s "$OUT" ] || sb_fail "command ran after the agent dropped the fd"
sb_assert_contains "$(cat "$ERR")" "$S" "reset message names the socket"

sb_log "agent never answers: 125 after --timeout, command not run"
start_agent hold
run_exec --socket "$S" --timeout 1 -- echo ran
sb_assert_eq 125 "$RC" "agent silent"
[ ! -s "$OUT" ] || sb_fail "command ran without the agent taking the fd"
sb_assert_contains "$(cat "$ERR")" "within 1 s" "timeout message"
kill "$AGENT_PID" 2>/dev/null

sb_log "NO_NEW_PRIVS: off for root (CAP_SYS_ADMIN), on for an unprivileged user"
start_agent continue
run_exec --socket "$S" -- grep NoNewPrivs /proc/self/status
sb_assert_eq 0 "$RC" "root exec: $(cat "$ERR")"
sb_assert_eq "NoNewPrivs:	0" "$(cat "$OUT")" "root: no NO_NEW_PRIVS"
sb_ensure_test_user >/dev/null
start_agent continue
RC=0
sb_as_user timeout 30 "$SLIRPBYPASS" exec --socket "$S" -- grep NoNewPrivs /proc/self/status >"$OUT" 2>"$ERR" || RC=$?
sb_assert_eq 0 "$RC" "user exec: $(cat "$ERR")"
sb_assert_eq "NoNewPrivs:	1" "$(cat "$OUT")" "unprivileged: NO_NEW_PRIVS"
sb_wait_until 10 grep -q seccompFd "$A/state.json" || sb_fail "user exec sent nothing"
sb_log "PASS"
