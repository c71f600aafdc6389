#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-bypass-handoff.sh - the port hand-off: a published port whose guest
# port a bypassed server binds is served by a host socket in the container,
# and by libslirp again once that socket is gone.  Proofs of the path:
#  - the server's listening= address is the entry's host address and port
#    (a host socket) instead of the guest's;
#  - the server sees the client's real address (a host client's own local
#    address) where the slirp path shows the gateway 10.0.2.2;
#  - after the hand-back the server started without the bypass is reached
#    through libslirp (peer 10.0.2.2).
# Also: restart, SO_REUSEPORT workers, a second bind without SO_REUSEPORT
# (EADDRINUSE as the kernel says), an unpublished port (stays inside), the
# container's own published port from inside (127.0.0.1, ::1, its address),
# UDP, IPv6, a specific host address, removal while bypassed, a host bind
# failure (the entry's address gone from the host) falling back to slirp
# with the forward intact, and another user never getting the port.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
. "$(dirname "$0")/bypass-lib.sh"

pb_init
API="$T/api.sock"
pb_start_bypass -6 --api-socket "$API" -p 18080:80 -p 18053:53/udp \
    -p "[::]:18086:86" -p "$TUN4:18081:81"
O=$T/out

# serve_bypassed TAG ADDR PORT [ARGS] - a bypassed server in the container
serve_bypassed()
{
    local tag=$1 addr=$2 port=$3
    shift 3
    sb_bg sb_in_target timeout 120 "$SLIRPBYPASS" exec --socket "$BYPASS_SOCK" -- \
        "$SBCLIENT" serve-tcp "$addr" "$port" --timeout 100 "$@" --tag "$tag"
    SERVE_LOG=$BG_LOG
    SERVE_PID=$BG_PID
    sb_wait_until 10 grep -q '^\(listening\|bind\)=' "$SERVE_LOG" ||
        sb_fail "bypassed server $tag did not start: $(cat "$SERVE_LOG")"
}

# stop TAG... - end the servers with these tags (the process inside the
# target, not only the wrapper that started it)
stop()
{
    local tag
    for tag in "$@"; do
        pkill -f -- "--tag $tag( |\$)" 2>/dev/null
        sb_wait_until 5 sh -c "! pgrep -f -- '--tag $tag( |\$)' >/dev/null" ||
            sb_fail "server $tag did not stop"
    done
}

# reach OUT ADDR PORT - a client in the private host
reach()
{
    pb_host "$1" tcp-connect "$2" "$3" || true
}

# wait_path ID PATH SECONDS - until list_hostfwd_ex shows PATH for entry ID
wait_path()
{
    local i
    for i in $(seq 1 $(($3 * 10))); do
        [ "$(pb_entry_path "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    tail -5 "$HELPER_LOG" >&2
    sb_fail "entry $1 not on the $2 path after $3 s: $(pb_entry_path "$1")"
}

sb_log "slirp path before any server: the table says slirp"
[ "$(pb_entry_path 1)" = slirp ] || sb_fail "entry 1 is not on the slirp path"

sb_log "a bypassed dual-stack TCP server on published guest port 80 gets a host socket"
serve_bypassed WEB :: 80
pb_expect "$SERVE_LOG" listening "[::ffff:0.0.0.0]:18080" "the server's socket is bound to the host port"
reach "$O" 127.0.0.1 18080
[ "$(pb_reply_tag "$O")" = WEB ] || sb_fail "host client did not reach the server: $(cat "$O")"
[ "$(pb_reply_peer "$O")" = "[::ffff:$(pb_get "$O" local | sed 's/:\([0-9]*\)$/]:\1/')" ] ||
    sb_fail "client address not preserved: server saw $(pb_reply_peer "$O"), client is $(pb_get "$O" local)"
reach "$O" "$TUN4" 18080
[ "$(pb_reply_tag "$O")" = WEB ] || sb_fail "via $TUN4: $(cat "$O")"
case "$(pb_reply_peer "$O")" in 10.0.2.2*|*10.0.2.2*) sb_fail "via $TUN4 went the slirp path: $(cat "$O")" ;; esac
[ "$(pb_entry_path 1)" = bypass ] || sb_fail "list_hostfwd_ex does not show the bypass"
sb_api '{"execute":"list_hostfwd"}' "$API" | grep -q '"path"' &&
    sb_fail "list_hostfwd grew a field (must stay byte-compatible)"

sb_log "a second host port for the handed-off guest port is refused, with the reason"
second=$(sb_api '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":18089,"guest_port":80}}' "$API")
sb_assert_contains "$second" '"error"' "add_hostfwd of a handed-off guest port"
# (the reply keeps slirp4netns's fixed text; the reason is in the log)
sb_wait_until 5 grep -q "guest port 80 is served by its program" "$HELPER_LOG" ||
    sb_fail "the reason is not logged: $(tail -3 "$HELPER_LOG")"
ss -tlnH | grep -q ':18089 ' && sb_fail "18089 listens although the forward was refused"

sb_log "another user can never take the port"
sb_ensure_test_user
for opt in "" --reuseport; do
    su -s /bin/sh "$SB_TEST_USER" -c "timeout 10 $SBCLIENT serve-tcp 0.0.0.0 18080 --timeout 1 $opt" \
        >"$O" 2>&1 || true
    pb_expect "$O" bind EADDRINUSE "another user's bind ($opt) while bypassed"
done

sb_log "a second bind without SO_REUSEPORT: EADDRINUSE, as the kernel says"
sb_in_target timeout 20 "$SLIRPBYPASS" exec --socket "$BYPASS_SOCK" -- \
    "$SBCLIENT" serve-tcp 0.0.0.0 80 --timeout 1 >"$O" 2>&1 || true
pb_expect "$O" bind EADDRINUSE "second bind of the same published port"

sb_log "from inside the container: its own published port via 127.0.0.1, ::1, 10.0.2.100"
for a in 127.0.0.1 ::1 10.0.2.100; do
    pb_bypassed "$O" tcp-connect "$a" 80 || true
    [ "$(pb_reply_tag "$O")" = WEB ] || sb_fail "in-container connect to $a:80: $(tr '\n' ' ' <"$O")"
done

sb_log "server exit: the port goes back to libslirp within a second"
stop WEB
wait_path 1 slirp 1
pb_serve PLAIN 0.0.0.0 80 in_target
reach "$O" 127.0.0.1 18080
[ "$(pb_reply_tag "$O")" = PLAIN ] || sb_fail "slirp path after hand-back: $(cat "$O")"
[ "$(pb_reply_peer "$O")" = 10.0.2.2 ] || case "$(pb_reply_peer "$O")" in
    10.0.2.2:*) ;; *) sb_fail "server without bypass did not go the slirp path: $(cat "$O")" ;; esac
stop PLAIN

sb_log "restart: bypassed again"
serve_bypassed WEB2 0.0.0.0 80
reach "$O" 127.0.0.1 18080
[ "$(pb_reply_tag "$O")" = WEB2 ] || sb_fail "restarted server: $(cat "$O")"
[ "$(pb_reply_peer "$O")" = "$(pb_get "$O" local)" ] || sb_fail "restart not bypassed: $(cat "$O")"
stop WEB2

sb_log "another user trying bind+listen (SO_REUSEADDR) through 6 hand-offs and hand-backs"
sb_bg su -s /bin/sh "$SB_TEST_USER" -c "exec $SBCLIENT grab 0.0.0.0 18080 8"
GRAB_LOG=$BG_LOG
for i in 1 2 3 4 5 6; do
    serve_bypassed "CYC$i" 0.0.0.0 80
    stop "CYC$i"
    wait_path 1 slirp 1
done
sb_wait_until 15 grep -q '^grabbed=' "$GRAB_LOG" || sb_fail "grab did not finish"
pb_expect "$GRAB_LOG" grabbed no "another user took the published port: $(cat "$GRAB_LOG")"
sb_log "  $(grep '^tries=' "$GRAB_LOG") attempts, none got the port"

sb_log "another user's listener on [::1]:18080 (no overlap with the IPv4 entry) does not stop the hand-back"
sb_bg su -s /bin/sh "$SB_TEST_USER" -c "exec $SBCLIENT serve-tcp ::1 18080 --timeout 30 --tag OTHER6"
sb_wait_until 10 grep -q '^listening=' "$BG_LOG" || sb_fail "other user's IPv6 listener: $(cat "$BG_LOG")"
serve_bypassed NOOVL 0.0.0.0 80
stop NOOVL
wait_path 1 slirp 1
stop OTHER6

sb_log "an IPv4 server, then a dual-stack one: the second is tracked too"
serve_bypassed FAM4 0.0.0.0 80
stop FAM4
wait_path 1 slirp 1
serve_bypassed FAM6 :: 80
sleep 0.6
[ "$(pb_entry_path 1)" = bypass ] || sb_fail "handed back while the dual-stack server listens"
reach "$O" 127.0.0.1 18080
[ "$(pb_reply_tag "$O")" = FAM6 ] || sb_fail "dual-stack server after an IPv4 one: $(cat "$O")"
stop FAM6
wait_path 1 slirp 1

sb_log "remove_hostfwd while bypassed stops the host side at once, also when the fd moved"
serve_bypassed WEB3 0.0.0.0 80 --dup-to 100 --relisten
pb_expect "$SERVE_LOG" moved 100 "the server moved its listener"
reach "$O" 127.0.0.1 18080
[ "$(pb_reply_tag "$O")" = WEB3 ] || sb_fail "server with a moved fd: $(cat "$O")"
sb_api '{"execute":"remove_hostfwd","arguments":{"id":1}}' "$API" | grep -q '"return"' ||
    sb_fail "remove_hostfwd failed"
reach "$O" 127.0.0.1 18080
[ "$(pb_reply_tag "$O")" = WEB3 ] && sb_fail "removed forward still served"
sb_wait_until 5 grep -q '^relisten=' "$SERVE_LOG" || sb_fail "the server did not notice: $(cat "$SERVE_LOG")"
pb_expect "$SERVE_LOG" relisten EADDRINUSE "listen() again after the removal"
stop WEB3

sb_log "SO_REUSEPORT workers share the port"
sb_api '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":18090,"guest_port":90}}' "$API" |
    grep -q '"id"' || sb_fail "add_hostfwd 18090"
serve_bypassed W1 0.0.0.0 90 --reuseport
P1=$SERVE_PID
serve_bypassed W2 0.0.0.0 90 --reuseport
P2=$SERVE_PID
pb_expect "$SERVE_LOG" listening "0.0.0.0:18090" "second worker bound"
tags=""
for i in $(seq 1 40); do
    reach "$O" 127.0.0.1 18090
    tags="$tags $(pb_reply_tag "$O")"
done
case "$tags" in *W1*) ;; *) sb_fail "worker 1 never served: $tags" ;; esac
case "$tags" in *W2*) ;; *) sb_fail "worker 2 never served: $tags" ;; esac
stop W1 W2

sb_log "an unpublished port stays inside the container"
serve_bypassed INSIDE 0.0.0.0 99
pb_expect "$SERVE_LOG" listening "0.0.0.0:99" "unpublished port bound in the container"
stop INSIDE

sb_log "IPv6 entry [::]:18086 -> 86 with an IPv6 server"
pb_wait_ipv6
serve_bypassed V6 :: 86
pb_expect "$SERVE_LOG" listening "[::]:18086" "IPv6 server on the host port"
reach "$O" ::1 18086
[ "$(pb_reply_peer "$O")" = "$(pb_get "$O" local)" ] || sb_fail "IPv6 hand-off: $(cat "$O")"
stop V6

sb_log "a specific host address ($TUN4:18081) is honoured"
serve_bypassed SPEC 0.0.0.0 81
pb_expect "$SERVE_LOG" listening "$TUN4:18081" "bound to the entry's host address"
reach "$O" "$TUN4" 18081
[ "$(pb_reply_peer "$O")" = "$(pb_get "$O" local)" ] || sb_fail "specific address: $(cat "$O")"
reach "$O" 127.0.0.1 18081
[ "$(pb_reply_tag "$O")" = SPEC ] && sb_fail "reached on 127.0.0.1 though published on $TUN4 only"
stop SPEC

sb_log "UDP: a bypassed server on published 53/udp sees the real client"
sb_bg sb_in_target timeout 60 "$SLIRPBYPASS" exec --socket "$BYPASS_SOCK" -- \
    "$SBCLIENT" serve-udp 0.0.0.0 53 --timeout 50 --tag DNS
UPID=$BG_PID
sb_wait_until 10 grep -q '^listening=' "$BG_LOG" || sb_fail "UDP server: $(cat "$BG_LOG")"
pb_expect "$BG_LOG" listening "0.0.0.0:18053" "UDP server on the host port"
pb_host "$O" udp-connect 127.0.0.1 18053 --send ping || true
case "$(pb_get "$O" reply)" in
"DNS $(pb_get "$O" local)") ;;
*) sb_fail "UDP hand-off: $(tr '\n' ' ' <"$O")" ;;
esac
stop DNS
wait_path 2 slirp 1

sb_log "a bind the host side cannot take (IPv4 socket, IPv6-only entry) stays in the container"
serve_bypassed V4ON6 0.0.0.0 86
pb_expect "$SERVE_LOG" listening "0.0.0.0:86" "IPv4 socket for an IPv6-only entry stays in the container"
stop V4ON6

sb_log "the host bind fails ($TUN4 no longer local): the slirp path serves, nothing is lost"
ip addr del "$TUN4/32" dev sbt0 || sb_fail "cannot remove $TUN4"
serve_bypassed FALLBACK 0.0.0.0 81
pb_expect "$SERVE_LOG" listening "0.0.0.0:81" "the bind went the slirp path"
[ "$(pb_entry_path 4)" = slirp ] || sb_fail "entry 4 left the slirp path: $(pb_entry_path 4)"
ip addr add "$TUN4/32" dev sbt0 || sb_fail "cannot re-add $TUN4"
reach "$O" "$TUN4" 18081
# the server's socket is in the container (listening=0.0.0.0:81): only
# libslirp's forward can have brought this connection
[ "$(pb_reply_tag "$O")" = FALLBACK ] || sb_fail "slirp forward lost after a failed hand-off: $(cat "$O")"
stop FALLBACK

sb_log "ok"
