# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# tests/plugin/bypass-lib.sh - shared helpers for the bypass integration
# tests (sourced after tests/lib/harness.sh and sb_enter_private_host).
#
# Theory of operation: every test runs in the harness's private host.  The
# "container" is the harness target (a user+network namespace); slirpbypass
# serves it with --configure (tap0 = 10.0.2.100, gateway 10.0.2.2) and the
# bypass agent on $BYPASS_SOCK.  Programs are put under the bypass with
# `slirpbypass exec`, run inside the target.  The client and the servers
# are tests/plugin/sbclient (static), whose servers reply "TAG PEER".
#
# How a test proves which path a connection took (each proof can fail):
#  - the server's view of the peer equals the client's own local address
#    (pb_assert_bypassed): only a bypassed socket lives in the private host
#    namespace; via slirp the client's local address is the tap address
#    10.0.2.100 while the server sees libslirp's host socket (which is why
#    "the server sees 127.0.0.1" alone proves nothing: slirp gives that too);
#  - the client's socket inode is listed in the private host's
#    /proc/net/tcp{,6} (pb_assert_inode_in_host);
#  - the reply's TAG names the server that was reached (container loopback
#    vs host loopback servers on the same port).
#
# Addresses in the private host: 192.0.2.1 and 2001:db8:1::1 (and the
# "ignored" 192.0.2.129) on a second unattached tun device sbt0, so they are
# local addresses that are not loopback.  Packets to 203.0.113.0/24 go into
# the harness's sbnull tun and vanish (a connect there never completes).

SBCLIENT=${SBCLIENT:-$SB_BUILD_ROOT/tests/plugin/sbclient}
TUN4=192.0.2.1
TUN4_IGNORED=192.0.2.129
TUN6=2001:db8:1::1
BLACKHOLE4=203.0.113.7

# pb_init - check the client exists; add the sbt0 addresses.
pb_init()
{
    [ -x "$SBCLIENT" ] || sb_fail "sbclient not built: $SBCLIENT"
    ip tuntap add sbt0 mode tun || sb_fail "cannot create sbt0"
    ip link set sbt0 up || sb_fail "cannot bring sbt0 up"
    ip addr add "$TUN4/32" dev sbt0 || sb_fail "cannot add $TUN4"
    ip addr add "$TUN4_IGNORED/32" dev sbt0 || sb_fail "cannot add $TUN4_IGNORED"
    ip addr add "$TUN6/128" dev sbt0 nodad || sb_fail "cannot add $TUN6"
}

# pb_start_bypass [HELPER ARGS...] - start a target and slirpbypass with the
# bypass on $T/bypass.sock (plus ARGS); sets BYPASS_SOCK.
pb_start_bypass()
{
    sb_start_target
    BYPASS_SOCK="$T/bypass.sock"
    sb_start_helper --configure --mtu=65520 --bypass-socket "$BYPASS_SOCK" \
        "$@" "$TARGET_PID" tap0
    [ -S "$BYPASS_SOCK" ] || sb_fail "no bypass socket at $BYPASS_SOCK after ready"
    # the bypass follows the container's routes: with IPv6, wait for the
    # router advertisement (default route, global address past DAD)
    case " $* " in
    *" --enable-ipv6 "*)
        sb_wait_until 20 _pb_ipv6_ready || sb_fail "no IPv6 default route in the target"
        ;;
    esac
}

# _pb_ipv6_ready - the target has an IPv6 default route and a usable
# global address on tap0.
_pb_ipv6_ready()
{
    sb_in_target ip -6 route show default | grep -q . &&
        sb_in_target ip -6 addr show dev tap0 scope global | grep -v tentative | grep -q inet6
}

# pb_serve TAG ADDR PORT [in_target] - start an sbclient TCP server that
# answers "TAG PEER"; with in_target it runs inside the target.  Sets
# SERVE_LOG (one "accepted=PEER" line per connection).
pb_serve()
{
    local tag=$1 addr=$2 port=$3 where=${4:-}
    if [ "$where" = in_target ]; then
        sb_bg sb_in_target "$SBCLIENT" serve-tcp "$addr" "$port" --tag "$tag" --timeout 300
    else
        sb_bg "$SBCLIENT" serve-tcp "$addr" "$port" --tag "$tag" --timeout 300
    fi
    SERVE_LOG=$BG_LOG
    sb_wait_until 10 grep -q '^listening=' "$SERVE_LOG" ||
        sb_fail "server $tag on $addr:$port did not start: $(cat "$SERVE_LOG")"
}

# pb_serve_udp TAG ADDR PORT - the UDP variant of pb_serve (host side).
pb_serve_udp()
{
    sb_bg "$SBCLIENT" serve-udp "$2" "$3" --tag "$1" --timeout 300
    SERVE_LOG=$BG_LOG
    sb_wait_until 10 grep -q '^listening=' "$SERVE_LOG" ||
        sb_fail "UDP server $1 on $2:$3 did not start: $(cat "$SERVE_LOG")"
}

# pb_bypassed OUT ARGS... - run `sbclient ARGS` under the bypass inside the
# target, output (stdout+stderr) to OUT; bounded by 60 s.  Returns its status.
pb_bypassed()
{
    local out=$1
    shift
    sb_in_target timeout 60 "$SLIRPBYPASS" exec --socket "$BYPASS_SOCK" -- \
        "$SBCLIENT" "$@" >"$out" 2>&1
}

# pb_plain OUT ARGS... - run `sbclient ARGS` inside the target WITHOUT the
# bypass (the slirp path).
pb_plain()
{
    local out=$1
    shift
    sb_in_target timeout 60 "$SBCLIENT" "$@" >"$out" 2>&1
}

# pb_host OUT ARGS... - run `sbclient ARGS` directly in the private host:
# the kernel's own answer, the reference for error reporting.
pb_host()
{
    local out=$1
    shift
    timeout 60 "$SBCLIENT" "$@" >"$out" 2>&1
}

# pb_get FILE KEY - print the first value of KEY= in FILE.
pb_get()
{
    sed -n "s/^$2=//p" "$1" | head -n 1
}

# pb_expect FILE KEY VALUE MSG - assert KEY=VALUE in FILE (shows the file).
pb_expect()
{
    local got
    got=$(pb_get "$1" "$2")
    [ "$got" = "$3" ] || sb_fail "$4: expected $2=$3, got '$got'; output: $(tr '\n' ' ' <"$1")"
}

# pb_reply_tag FILE / pb_reply_peer FILE - the server's tag / peer.
pb_reply_tag()
{
    pb_get "$1" reply | awk '{print $1}'
}
pb_reply_peer()
{
    pb_get "$1" reply | awk '{print $NF}'
}

# pb_assert_bypassed FILE TAG MSG - connect=ok, server TAG answered, and it
# saw exactly our local address (the socket lives in the private host).
pb_assert_bypassed()
{
    local local_addr
    pb_expect "$1" connect ok "$3"
    sb_assert_eq "$2" "$(pb_reply_tag "$1")" "$3: server reached"
    local_addr=$(pb_get "$1" local)
    case "$local_addr" in
    10.0.2.* | \[fd00::*) sb_fail "$3: local address $local_addr is on the slirp network (not bypassed)" ;;
    esac
    sb_assert_eq "$local_addr" "$(pb_reply_peer "$1")" "$3: server's peer = client's local address"
}

# pb_assert_slirp FILE MSG - connect=ok through the tap (local 10.0.2.x /
# fd00::), so the connection was NOT bypassed.
pb_assert_slirp()
{
    pb_expect "$1" connect ok "$2"
    case "$(pb_get "$1" local)" in
    10.0.2.* | \[fd00::*) ;;
    *) sb_fail "$2: local address $(pb_get "$1" local) is not on the slirp network (bypassed?)" ;;
    esac
}

# pb_assert_inode_in_host FILE - the client's socket (post.inode) is one of
# the private host's TCP sockets.
pb_assert_inode_in_host()
{
    local ino
    ino=$(pb_get "$1" post.inode)
    [ -n "$ino" ] || sb_fail "no post.inode in $1"
    awk -v i="$ino" 'FNR > 1 && $10 == i { found = 1 } END { exit !found }' \
        /proc/net/tcp /proc/net/tcp6 ||
        sb_fail "socket inode $ino is not in the private host's /proc/net/tcp*"
}

# pb_assert_inode_not_in_host FILE - the opposite (control for the above).
pb_assert_inode_not_in_host()
{
    local ino
    ino=$(pb_get "$1" post.inode)
    [ -n "$ino" ] || sb_fail "no post.inode in $1"
    if awk -v i="$ino" 'FNR > 1 && $10 == i { found = 1 } END { exit !found }' \
        /proc/net/tcp /proc/net/tcp6; then
        sb_fail "socket inode $ino unexpectedly in the private host's /proc/net/tcp*"
    fi
}

# pb_entry_path ID - "path" of list_hostfwd_ex entry ID on the API socket
# $API ("" if there is no such entry).
pb_entry_path()
{
    sb_api '{"execute":"list_hostfwd_ex"}' "$API" |
        python3 -c 'import json,sys
for e in json.load(sys.stdin)["return"]["entries"]:
    if e["id"] == int(sys.argv[1]): print(e["path"])' "$1"
}

# pb_held bypassed|plain ARGS... - run `sbclient ARGS --hold 5000` in the
# background (under the bypass or not) and wait until it has its reply, so
# the socket still exists while the caller inspects it.  Sets HELD_OUT.
pb_held()
{
    local mode=$1
    shift
    if [ "$mode" = bypassed ]; then
        sb_bg sb_in_target timeout 30 "$SLIRPBYPASS" exec --socket "$BYPASS_SOCK" -- \
            "$SBCLIENT" "$@" --hold 5000
    else
        sb_bg sb_in_target timeout 30 "$SBCLIENT" "$@" --hold 5000
    fi
    HELD_OUT=$BG_LOG
    sb_wait_until 15 grep -q '^reply=' "$HELD_OUT" ||
        sb_fail "held client got no reply: $(tr '\n' ' ' <"$HELD_OUT")"
}

# _pb_v6_ready - the target has a non-tentative global IPv6 address on
# tap0 and an IPv6 default route (SLAAC from libslirp's router adverts).
_pb_v6_ready()
{
    sb_in_target ip -6 route show default | grep -q . &&
        sb_in_target ip -6 addr show dev tap0 scope global -tentative | grep -q inet6
}

# pb_wait_ipv6 - wait (bounded) until the slirp path has IPv6 in the target
# (only needed for connections that are NOT bypassed: the agent does not
# depend on the container's routes).
pb_wait_ipv6()
{
    sb_wait_until 30 _pb_v6_ready ||
        sb_fail "no IPv6 via SLAAC in the target after 30 s: $(sb_in_target ip -6 addr 2>&1 | tr '\n' ' ')"
}
