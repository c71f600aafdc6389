#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-rootlesskit-handoff.sh - the bypass behind rootlesskit 1.1,
# unprivileged, turned on only by the user's config file
# (~/.config/slirpbypass/slirpbypass.conf: bypass=true), with rootlesskit's
# own argv: rootlesskit --net=slirp4netns --slirp4netns-binary=slirpbypass
# --port-driver=slirp4netns -p 127.0.0.1:18093:80/tcp, its child under
# `slirpbypass exec` (default socket path on both sides).  The child's
# outbound TCP must be bypassed (its socket's local address is the private
# host's, not 10.0.2.100), and its server must be served by a host socket:
# it reports the host address and port as its own (listening=
# 127.0.0.1:18093), sees the host client's real address (not 10.0.2.2),
# list_hostfwd_ex says "bypass"; after remove_hostfwd on rootlesskit's API
# socket the port is no longer served.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict
sb_need rootlesskit rootlessctl socat newuidmap python3
. "$(dirname "$0")/bypass-lib.sh"

user=$(sb_ensure_test_user)
# the user must be able to run the binaries (the build tree may be private)
mkdir -p "$T/u"
cp "$SLIRPBYPASS" "$T/u/slirpbypass"
cp "$SBCLIENT" "$T/u/sbclient"
mkdir -p "$T/u/cfg/slirpbypass" "$T/u/run"
printf '[slirpbypass]\nbypass=true\n' >"$T/u/cfg/slirpbypass/slirpbypass.conf"
chmod 0755 "$T/u/slirpbypass" "$T/u/sbclient"
chown -R "$user" "$T/u"
chmod 0700 "$T/u/run"
state="$T/u/rk"
api="$state/.s4nn.sock"
pb_serve HOSTLO 127.0.0.1 18094
# the child waits (bounded) until the forward exists, so that its bind is
# of a published port; one bypassed outbound connect, then the server,
# then it stays a while: the removal below shuts the server's socket down,
# and rootlesskit would otherwise end (killing the helper) before the
# helper's reply to remove_hostfwd is out
child="i=0; while [ \$i -lt 100 ] && ! printf '{\"execute\":\"list_hostfwd\"}' | socat -t 2 - UNIX-CONNECT:$api 2>/dev/null | grep -q 18093; do sleep 0.1; i=\$((i+1)); done; $T/u/slirpbypass exec -- $T/u/sbclient tcp-connect 10.0.2.2 18094 >$T/u/out.txt 2>&1; $T/u/slirpbypass exec -- $T/u/sbclient serve-tcp 0.0.0.0 80 --timeout 80 --tag RK; sleep 30"

sb_bg sb_as_user env XDG_CONFIG_HOME="$T/u/cfg" XDG_RUNTIME_DIR="$T/u/run" \
    timeout 90 rootlesskit --state-dir="$state" --net=slirp4netns \
    --mtu=65520 --slirp4netns-binary="$T/u/slirpbypass" --port-driver=slirp4netns \
    --pidns -p 127.0.0.1:18093:80/tcp sh -c "$child"
RK_PID=$BG_PID
RK_LOG=$BG_LOG
if ! sb_wait_until 30 grep -q '^listening=' "$RK_LOG"; then
    sed 's/^/    /' "$RK_LOG" >&2
    sb_fail "the child's server did not start"
fi
pb_expect "$RK_LOG" listening 127.0.0.1:18093 "the child's socket is the host socket of the entry"
[ -S "$T/u/run/slirpbypass/agent.sock" ] || sb_fail "no agent socket at the default path"
agent=$(pgrep -f "agent --socket $T/u/run/slirpbypass/agent.sock" | head -n 1)
[ -n "$agent" ] || sb_fail "the helper did not start the per-user agent"
sb_track "$agent"
[ "$(stat -c %U "/proc/$agent")" = "$user" ] || sb_fail "the agent does not run as $user"
pb_assert_bypassed "$T/u/out.txt" HOSTLO "the child's outbound connect"
O=$T/out
pb_host "$O" tcp-connect 127.0.0.1 18093 || true
[ "$(pb_reply_tag "$O")" = RK ] || sb_fail "host client: $(tr '\n' ' ' <"$O")"
[ "$(pb_reply_peer "$O")" = "$(pb_get "$O" local)" ] ||
    sb_fail "the child saw $(pb_reply_peer "$O"), the client is $(pb_get "$O" local)"
ex=$(sb_api '{"execute":"list_hostfwd_ex"}' "$api")
sb_assert_contains "$ex" '"host_port":18093,"guest_addr":"10.0.2.100","guest_port":80,"path":"bypass"' \
    "list_hostfwd_ex behind rootlesskit"

# removal through the API socket rootlesskit's port driver uses (rootlessctl
# itself answered empty now and then right after start-up: not tested here;
# tests/port-driver/test-rootlesskit.sh covers it)
rm_reply=$(sb_api '{"execute":"remove_hostfwd","arguments":{"id":1}}' "$api" || true)
sb_assert_contains "$rm_reply" '"return"' "remove_hostfwd behind rootlesskit (list: $ex)"
pb_host "$O" tcp-connect 127.0.0.1 18093 || true
[ "$(pb_reply_tag "$O")" = RK ] && sb_fail "18093 still served after the removal"

kill "$RK_PID" 2>/dev/null || true
sb_wait_until 10 sh -c "! kill -0 $RK_PID 2>/dev/null" || true
sb_log "PASS"
