#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-bypass-fastopen.sh - no injected host socket can ever be aimed at a
# destination the agent did not approve (docs/bypass.md, "The guarantee").
#
# A hostile container program (tests/plugin/reaim) gets host sockets from
# bypassed connects and tries every known way to re-aim them: TCP Fast Open
# sendto/sendmsg/sendmmsg after connect(AF_UNSPEC), after a failed attempt
# and after shutdown() while connecting; TCP_FASTOPEN_CONNECT; a dup2()
# race against a connect() the agent answers CONTINUE; i386
# socketcall(SYS_SENDTO).  Its targets are Fast Open servers (reaim server)
# that accept data from the SYN alone:
#   - with --disable-host-loopback: the private host's 127.0.0.1 and ::1
#     (also as ::ffff:127.0.0.1), the host socket approved for a local,
#     non-loopback address (192.0.2.1 / 2001:db8:1::1 on sbt0) or for a
#     route into sbnull;
#   - with --bypass-ignore: an ignored network (198.18.0.0/24,
#     2001:db8:2::/64) behind a veth pair in a namespace of its own, the
#     host socket approved for 10.0.2.2 (host loopback) or 192.0.2.1.
# Each round runs with net.ipv4.tcp_fastopen=3 and a cookie cached by a
# client of the private host (the control, which must get its data
# accepted from the SYN, so Fast Open demonstrably works here), and with
# 0x203 (no cookie needed) and TCP_FASTOPEN_NO_COOKIE.  Nothing may ever be
# accepted by those servers; the race additionally counts how often the
# kernel connected a swapped-in host socket (race_won) and asserts that
# none of those reached anything (race_reached=0).  Finally the kernel's
# answers for connect() after a failed non-blocking bypassed connect are
# compared with the kernel's own.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
. "$(dirname "$0")/bypass-lib.sh"

REAIM=${REAIM:-$SB_BUILD_ROOT/tests/plugin/reaim}
[ -x "$REAIM" ] || sb_fail "reaim not built: $REAIM"
BLACKHOLE6=2001:db8:dead::7
LAN4=198.18.0.2
LAN6=2001:db8:2::2
TPORT=18601 # the Fast Open servers
APORT=18600 # the allowed plain servers
CLOSED=18609
O=$T/out

pb_init
# the ignored "lan": a namespace behind a veth pair, with its own servers
sb_bg unshare -n sleep 3600
LAN_PID=$BG_PID
lan_ready() { [ "$(readlink "/proc/$LAN_PID/ns/net")" != "$(readlink /proc/self/ns/net)" ]; }
sb_wait_until 10 lan_ready || sb_fail "lan namespace not ready"
inlan() { nsenter -t "$LAN_PID" -n "$@"; }
ip link add sbl0 type veth peer name sbl1 netns "$LAN_PID" || sb_fail "cannot create the veth pair"
ip addr add 198.18.0.1/24 dev sbl0
ip addr add 2001:db8:2::1/64 dev sbl0 nodad
ip link set sbl0 up
inlan ip link set lo up
inlan ip addr add "$LAN4/24" dev sbl1
inlan ip addr add "$LAN6/64" dev sbl1 nodad
inlan ip link set sbl1 up

# the Fast Open servers (targets) and their logs
declare -A SRV
fo_server() # NAME ADDR [lan]
{
    if [ "${3:-}" = lan ]; then
        sb_bg nsenter -t "$LAN_PID" -n "$REAIM" server "$2" "$TPORT" --timeout 280
    else
        sb_bg "$REAIM" server "$2" "$TPORT" --timeout 280
    fi
    SRV[$1]=$BG_LOG
    sb_wait_until 10 grep -q '^listening=' "$BG_LOG" ||
        sb_fail "Fast Open server $1 did not start: $(cat "$BG_LOG")"
}
fo_server lo4 127.0.0.1
fo_server lo6 ::1
fo_server lan4 "$LAN4" lan
fo_server lan6 "$LAN6" lan
# the allowed destinations: plain servers
pb_serve OK4 "$TUN4" "$APORT"
pb_serve OK6 "$TUN6" "$APORT"
pb_serve OKLO 127.0.0.1 "$APORT"

accepted() { grep -c '^accepted=' "${SRV[$1]}" || true; }

# set_fastopen VALUE: net.ipv4.tcp_fastopen (also governs IPv6) in the
# private host and the lan; with 3, a client of each namespace caches a
# cookie and must then get its data accepted from the SYN.
set_fastopen()
{
    sysctl -qw net.ipv4.tcp_fastopen="$1" || sb_fail "cannot set tcp_fastopen"
    inlan sysctl -qw net.ipv4.tcp_fastopen="$1" || sb_fail "cannot set tcp_fastopen in the lan"
    local s a run=() nc=()
    [ "$1" = 3 ] || nc=(--no-cookie)
    for s in lo4 lo6 lan4 lan6; do
        case $s in lo4) a=127.0.0.1 ;; lo6) a=::1 ;; lan4) a=$LAN4 ;; lan6) a=$LAN6 ;; esac
        run=("$REAIM" client "$a" "$TPORT" "${nc[@]}" --data CTRL)
        # a cookie for lo* is cached by a private-host client; for the lan,
        # by one of the private host too (it is the host the bypass uses)
        "${run[@]}" >"$O.ctl" 2>&1
        "${run[@]}" >"$O.ctl" 2>&1
        sb_wait_until 5 grep -q 'syn_data=1 data=CTRL' "${SRV[$s]}" ||
            sb_fail "control: Fast Open data from the SYN was not accepted by $s (tcp_fastopen=$1): $(cat "$O.ctl") / $(tail -n 3 "${SRV[$s]}")"
    done
}

# run_attack MODE ALLOWED_ADDR ALLOWED_PORT TARGET_ADDR [ARGS...]: under
# the bypass, output in $O.
run_attack()
{
    local mode=$1 aa=$2 ap=$3 ta=$4
    shift 4
    # the case, so that a failure below names it
    sb_log "  case $mode: host socket for $aa:$ap, target $ta:$TPORT ${*}"
    sb_in_target timeout 90 "$SLIRPBYPASS" exec --socket "$BYPASS_SOCK" -- \
        "$REAIM" attack "$mode" "$aa" "$ap" "$ta" "$TPORT" "$@" >"$O" 2>&1 || true
}

# must_be_host KEY: the socket was bypassed (its local address is not the
# container's tap address 10.0.2.100 / fd00::...)
must_be_host()
{
    case "$(pb_get "$O" "$1")" in
    10.0.2.100:* | fd00:*) sb_fail "setup was not bypassed ($1): $(tr '\n' ' ' <"$O")" ;;
    "" | E*) sb_fail "setup failed ($1): $(tr '\n' ' ' <"$O")" ;;
    esac
}

# attack_all ALLOWED ALLOWED6 BLACKHOLE TARGET4 TARGET6 [MAPPED] -- NC...
# every deterministic path, each target; nothing reached.
attack_all()
{
    local a4=$1 a6=$2 bh4=$3 t4=$4 t6=$5 mapped=$6
    shift 6
    local nc=("$@") fam allowed target bh m
    for fam in 4 6 m; do
        case $fam in
        4) allowed=$a4 target=$t4 bh=$bh4 ;;
        6) allowed=$a6 target=$t6 bh=$BLACKHOLE6 ;;
        m) [ -n "$mapped" ] || continue
           allowed=$a6 target=$mapped bh=$BLACKHOLE6 ;;
        esac
        for m in sendto sendmsg sendmmsg; do
            run_attack "unspec-$m" "$allowed" "$APORT" "$target" "${nc[@]}"
            must_be_host setup_local
            pb_expect "$O" unspec ok "connect(AF_UNSPEC) on the host socket"
            [ "$(grep -c "^$m=EOPNOTSUPP" "$O")" = 2 ] ||
                sb_fail "$m(MSG_FASTOPEN) to $target not refused: $(tr '\n' ' ' <"$O")"
        done
        run_attack failed-sendto "$allowed" "$CLOSED" "$target" "${nc[@]}"
        must_be_host setup_local
        pb_expect "$O" setup_result ECONNREFUSED "setup: the bypassed attempt failed"
        [ "$(grep -c '^sendto=EOPNOTSUPP' "$O")" = 2 ] ||
            sb_fail "Fast Open after a failed attempt not refused: $(tr '\n' ' ' <"$O")"
        run_attack shutdown-sendto "$bh" 80 "$target" "${nc[@]}"
        must_be_host setup_local
        pb_expect "$O" shutdown ok "shutdown() while connecting"
        pb_expect "$O" sendto EOPNOTSUPP "Fast Open after shutdown() while connecting"
        pb_expect "$O" then_connect ENETUNREACH "connect() after shutdown(): the policy's answer"
        run_attack fastopen-connect "$allowed" "$APORT" "$target" "${nc[@]}"
        must_be_host setup_local
        pb_expect "$O" fastopen_connect EOPNOTSUPP "TCP_FASTOPEN_CONNECT on a host socket"
        pb_expect "$O" fresh_fastopen_connect EOPNOTSUPP "TCP_FASTOPEN_CONNECT on a container socket"
        pb_expect "$O" then_connect ENETUNREACH "connect() of the host socket to $target"
        if [ "$fam" = 4 ] && [ "$(uname -m)" = x86_64 ]; then
            # seen by the agent or not (libseccomp's socketcall rule looks
            # at an unrelated register), it must not get anywhere
            run_attack i386-sendto "$allowed" "$APORT" "$target" "${nc[@]}"
            must_be_host setup_local
            sb_log "    i386 socketcall(SYS_SENDTO, MSG_FASTOPEN) answered $(pb_get "$O" i386_sendto) (refused only if trapped by chance; the interface lock bounds it)"
        fi
    done
}

# nothing_reached NAME...: no server accepted anything since snapshot()
declare -A BASE
snapshot() { local s; for s in lo4 lo6 lan4 lan6; do BASE[$s]=$(accepted "$s"); done; }
nothing_reached()
{
    local s
    sleep 0.5 # a SYN in flight
    for s in "$@"; do
        [ "$(accepted "$s")" = "${BASE[$s]}" ] ||
            sb_fail "$s accepted a connection from a re-aimed host socket: $(tail -n 3 "${SRV[$s]}")"
    done
}

# race TARGET ALLOWED: the dup2 race, bounded; no won race may reach
race()
{
    run_attack race "$2" "$APORT" "$1" --tries 3000 --seconds 8
    must_be_host race_setup_local
    pb_expect "$O" race_reached 0 "a swapped-in host socket reached $1"
    # (race_won counts kernel connects that left the socket connecting; one
    # the interface lock fails at once, as for ::1, leaves no trace)
    sb_log "  race to $1: $(pb_get "$O" race_tries) tries, $(pb_get "$O" race_won) seen won by the kernel, none reached"
}

# begin_round VALUE: one round at net.ipv4.tcp_fastopen=VALUE; sets nc (the
# attacks' cookie option) and the servers' baseline
begin_round()
{
    nc=()
    [ "$1" = 3 ] || nc=(--no-cookie)
    sb_log "tcp_fastopen=$1"
    set_fastopen "$1"
    snapshot
}

sb_log "=== --disable-host-loopback: host loopback (127.0.0.1, ::1, ::ffff:127.0.0.1)"
pb_start_bypass --enable-ipv6 --disable-host-loopback
for fo in 3 0x203; do
    begin_round "$fo"
    attack_all "$TUN4" "$TUN6" "$BLACKHOLE4" 127.0.0.1 ::1 ::ffff:127.0.0.1 "${nc[@]}"
    race 127.0.0.1 "$TUN4"
    race ::1 "$TUN6"
    nothing_reached lo4 lo6
done
kill -0 "$HELPER_PID" || sb_fail "slirpbypass died: $(cat "$HELPER_LOG")"
sb_stop_helper

sb_log "=== --bypass-ignore: an ignored network behind its own interface"
pb_start_bypass --enable-ipv6 --bypass-ignore "198.18.0.0/24,2001:db8:2::/64"
for fo in 3 0x203; do
    begin_round "$fo"
    attack_all "$TUN4" "$TUN6" "$BLACKHOLE4" "$LAN4" "$LAN6" "" "${nc[@]}"
    # approved for host loopback (the gateway): a socket bound to lo
    attack_all 10.0.2.2 "$TUN6" "$BLACKHOLE4" "$LAN4" "$LAN6" "" "${nc[@]}"
    nothing_reached lan4 lan6
    # a CONTINUEd connect to the ignored network goes the slirp path, which
    # reaches it legitimately, so here the race is judged by its own count
    race "$LAN4" 10.0.2.2
    race "$LAN6" "$TUN6"
done
kill -0 "$HELPER_PID" || sb_fail "slirpbypass died: $(cat "$HELPER_LOG")"

sb_log "UDP is not bypassed with --bypass-ignore (IP_PKTINFO would pick another interface)"
pb_serve_udp UDPTUN "$TUN4" 18602
pb_bypassed "$O" udp-connect "$TUN4" 18602 || true
pb_assert_slirp "$O" "connected UDP with --bypass-ignore"
sb_assert_eq UDPTUN "$(pb_reply_tag "$O")" "UDP reply through the slirp path"

sb_log "socket options that could move a host socket elsewhere"
snapshot
for fam in 4 6; do
    if [ $fam = 4 ]; then allowed=$TUN4 target=$LAN4; else allowed=$TUN6 target=$LAN6; fi
    run_attack options "$allowed" "$APORT" "$target" --no-cookie
    must_be_host setup_local
    # each needs CAP_NET_ADMIN / CAP_NET_RAW in the host's user namespace;
    # changing the interface lock in particular
    for k in TCP_REPAIR SO_MARK SO_BINDTOIFINDEX SO_BINDTODEVICE IP_TRANSPARENT; do
        pb_expect "$O" "opt_$k" EPERM "$k on a host socket"
    done
    # the kernel refuses a unicast interface on a socket bound to one
    case "$(pb_get "$O" opt_IP_UNICAST_IF)" in
    EINVAL | EADDRNOTAVAIL) ;;
    *) sb_fail "IP_UNICAST_IF=lo on a locked host socket: $(tr '\n' ' ' <"$O")" ;;
    esac
    sb_log "  IPv$fam: SO_DONTROUTE $(pb_get "$O" opt_SO_DONTROUTE), then i386 Fast Open: $(pb_get "$O" i386_sendto)"
    run_attack mptcp "$allowed" "$APORT" "$target"
    case "$(pb_get "$O" mptcp_local)" in
    "" | 10.0.2.100:* | fd00:*) ;;
    *) sb_fail "an MPTCP socket was bypassed: $(tr '\n' ' ' <"$O")" ;;
    esac
done
nothing_reached lan4 lan6

sb_log "the agent never waits on a socket the program shares (a connection started behind its back)"
if [ "$(uname -m)" = x86_64 ]; then
    # bounded: 8 s of racing; a stalled agent would leave a trapped connect
    # unanswered for 2 s (and the next check would hang too)
    run_attack stall "$TUN4" "$APORT" "$BLACKHOLE4" --tries 200000 --seconds 8
    must_be_host setup_local
    pb_expect "$O" agent_stalled 0 "the agent kept answering"
    pb_bypassed "$O" tcp-connect "$TUN4" "$APORT" --sndtimeo 3000 || true
    pb_assert_bypassed "$O" OK4 "a new bypassed connect after the race"
fi

sb_log "connect() after a failed non-blocking bypassed connect: the kernel's answers"
R=$T/ref
"$REAIM" attack failed-reconnect "$TUN4" "$CLOSED" 127.0.0.1 1 >"$R" 2>&1 || true
run_attack failed-reconnect "$TUN4" "$CLOSED" 127.0.0.1
must_be_host local
for k in first second third; do
    pb_expect "$O" "$k" "$(pb_get "$R" "$k")" "$k connect() as the kernel answers"
done
pb_expect "$O" second ECONNREFUSED "the pending error first"
sb_log "PASS"
