#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench-bypass.sh - throughput, connection rate and per-connect cost of the
# bypass, against host loopback, the slirp path of slirpbypass, slirp4netns
# and pasta, in one run inside a private network namespace.
#
# Theory of operation: everything happens in the harness's private host
# (tests/lib/harness.sh: no packet can leave).  Each contender gets its own
# "container" (a user+network namespace) and reaches the SAME servers on
# the private host's 127.0.0.1 through its own host-loopback mapping:
#   host       the private host itself, to 127.0.0.1 (the ceiling)
#   bypass     slirpbypass --bypass-socket, client under `slirpbypass exec`,
#              to 10.0.2.2
#   sb-slirp   the same slirpbypass instance, client not under exec (its
#              libslirp path), to 10.0.2.2
#   slirp4netns  slirp4netns --configure --mtu=65520, to 10.0.2.2
#   pasta      pasta --config-net (copies the veth template pb0; its gateway
#              192.0.2.254 maps to host loopback), to 192.0.2.254
#   floor      tests/bench/floor_agent: the least a connect-swapping seccomp
#              agent can do (trap, pidfd_getfd, read the sockaddr, socket,
#              connect, ADDFD, reply; no checks), client in the private
#              host, to 127.0.0.1.  It is the kernel's price of the trap,
#              so "bypass" vs "floor" is the price of slirpbypass's checks.
#              Measured for the connection figures only (its data path is
#              host loopback).
# Measurements (each repeated $BENCH_REPS times in interleaved rounds,
# median printed; a run that gives no figure is logged as "x"):
#   iperf3 ns->host (client sends) and host->ns (-R), $BENCH_TIME s each;
#   ab -n $BENCH_REQS, keep-alive off, c=1 and c=16, requests/s;
#   connect_bench: socket+connect+close per-iteration microseconds, and
#   the same to the container's own loopback with and without the filter
#   (the cost of a trapped connect that is answered CONTINUE).
# Ratios are against "host".  No assertion: exit 0 unless a setup fails.
#
# Usage: SLIRPBYPASS=... SB_BUILD_ROOT=... tests/bench/bench-bypass.sh
#   (env: BENCH_TIME=3 BENCH_REPS=3 BENCH_REQS=3000 BENCH_CONNECTS=2000)
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_need iperf3 ab slirp4netns pasta
BENCH_TIME=${BENCH_TIME:-3}
BENCH_REPS=${BENCH_REPS:-3}
BENCH_REQS=${BENCH_REQS:-3000}
BENCH_CONNECTS=${BENCH_CONNECTS:-2000}
CB=${CONNECT_BENCH:-$SB_BUILD_ROOT/tests/plugin/connect_bench}
[ -x "$CB" ] || sb_fail "connect_bench not built: $CB"
FLOOR=${FLOOR_AGENT:-$SB_BUILD_ROOT/tests/bench/floor_agent}
[ -x "$FLOOR" ] || sb_fail "floor_agent not built: $FLOOR"
TINYHTTPD=${TINYHTTPD:-$SB_BUILD_ROOT/tests/bench/tinyhttpd}
[ -x "$TINYHTTPD" ] || sb_fail "tinyhttpd not built: $TINYHTTPD"
IPERF_PORT=15201
HTTP_PORT=18080
CONN_PORT=18081
SETUPS="host bypass floor sb-slirp slirp4netns pasta"
# BENCH_BASELINE=/path/to/another/slirpbypass adds the setup "bypass-base":
# the same bypass measurement with that binary (an earlier build), in the
# same interleaved rounds, for before/after figures of a change.
BASELINE=${BENCH_BASELINE:-}
[ -z "$BASELINE" ] || SETUPS="host bypass bypass-base floor sb-slirp slirp4netns pasta"
# BENCH_SETUPS="host bypass ..." limits the run to those setups.
SETUPS=${BENCH_SETUPS:-$SETUPS}

# pasta needs an interface with carrier to copy: a veth pair whose far end
# nobody answers on (traffic to it dies in the private host).
ip link add pb0 type veth peer name pb1 || sb_fail "cannot create veth"
ip link set pb0 up && ip link set pb1 up
ip addr add 192.0.2.1/24 dev pb0
ip route replace default via 192.0.2.254 dev pb0 || sb_fail "cannot set default route"

# servers on the private host's loopback
sb_bg iperf3 -s -B 127.0.0.1 -p "$IPERF_PORT"
# tinyhttpd (one epoll loop), not connect_bench's thread-per-connection
# http server: through libslirp the host side of a connection is accepted
# long before its request arrives, and with 16 clients its 4 threads sat on
# such connections until ab gave up (the "no figure" runs of sb-slirp and
# slirp4netns in earlier runs).
sb_bg "$TINYHTTPD" 127.0.0.1 "$HTTP_PORT"
sb_bg "$CB" serve 127.0.0.1 "$CONN_PORT" 1800
sb_wait_port "$IPERF_PORT" && sb_wait_port "$HTTP_PORT" && sb_wait_port "$CONN_PORT" ||
    sb_fail "servers did not start"

# targets
sb_start_target
SB_PID=$TARGET_PID
sb_start_helper --configure --mtu=65520 --bypass-socket "$T/bypass.sock" "$SB_PID" tap0
MAIN_HELPER_PID=$HELPER_PID MAIN_HELPER_LOG=$HELPER_LOG
if [ -n "$BASELINE" ]; then
    [ -x "$BASELINE" ] || sb_fail "BENCH_BASELINE is not executable: $BASELINE"
    sb_start_target
    BASE_PID=$TARGET_PID
    SLIRPBYPASS=$BASELINE sb_start_helper --configure --mtu=65520 \
        --bypass-socket "$T/base.sock" "$BASE_PID" tap0
    HELPER_PID=$MAIN_HELPER_PID HELPER_LOG=$MAIN_HELPER_LOG
fi
sb_start_target
S4_PID=$TARGET_PID
sb_bg slirp4netns --configure --mtu=65520 --ready-fd=3 "$S4_PID" tap0 3>"$T/s4.ready"
sb_wait_until 20 test -s "$T/s4.ready" || sb_fail "slirp4netns not ready: $(cat "$BG_LOG")"
sb_start_target
PA_PID=$TARGET_PID
pasta --runas 0 --config-net -t none -u none -T none -U none --quiet -P "$T/pasta.pid" \
    --userns "/proc/$PA_PID/ns/user" --netns "/proc/$PA_PID/ns/net" >"$T/pasta.log" 2>&1 ||
    sb_fail "pasta failed: $(cat "$T/pasta.log")"
# pasta daemonizes, so the harness cannot track it; it does not exit on its
# own when the namespace goes away, so it is tracked through its pid file.
sb_track "$(cat "$T/pasta.pid")"
# the container's own loopback server for the CONTINUE cost
sb_bg nsenter -t "$SB_PID" -U -n -- "$CB" serve 127.0.0.1 "$CONN_PORT" 1800
sb_wait_until 10 grep -q listening "$BG_LOG" || sb_fail "in-container server did not start"

# run SETUP CMD... - CMD as a client of SETUP; prints its stdout.
run()
{
    local s=$1
    shift
    case "$s" in
    host) timeout 120 "$@" ;;
    floor) timeout 120 "$FLOOR" "$@" ;;
    bypass) nsenter -t "$SB_PID" -U -n -- timeout 120 "$SLIRPBYPASS" exec --socket "$T/bypass.sock" -- "$@" ;;
    bypass-base) nsenter -t "$BASE_PID" -U -n -- timeout 120 "$BASELINE" exec --socket "$T/base.sock" -- "$@" ;;
    sb-slirp) nsenter -t "$SB_PID" -U -n -- timeout 120 "$@" ;;
    slirp4netns) nsenter -t "$S4_PID" -U -n -- timeout 120 "$@" ;;
    pasta) nsenter -t "$PA_PID" -U -n -- timeout 120 "$@" ;;
    esac
}

# gw SETUP - the address under which SETUP reaches host loopback.
gw()
{
    case "$1" in
    host | floor) echo 127.0.0.1 ;;
    pasta) echo 192.0.2.254 ;;
    *) echo 10.0.2.2 ;;
    esac
}

# median V... - the median of numbers (empty if none).
median()
{
    printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

# iperf SETUP [-R] - Gbit/s of the receiver, one run.
iperf()
{
    local s=$1
    shift
    run "$s" iperf3 -c "$(gw "$s")" -p "$IPERF_PORT" -t "$BENCH_TIME" -J "$@" 2>/dev/null |
        jq -r '.end.sum_received.bits_per_second / 1e9 | . * 100 | round / 100' 2>/dev/null
}

# abrate SETUP C - requests/s, one run.
abrate()
{
    run "$1" ab -q -s 10 -n "$BENCH_REQS" -c "$2" "http://$(gw "$1"):$HTTP_PORT/" 2>/dev/null |
        awk '/^Requests per second/ { print $4 }'
}

# conncost SETUP - microseconds per socket+connect+close, one run.
conncost()
{
    run "$1" "$CB" run "$(gw "$1")" "$CONN_PORT" "$((BENCH_CONNECTS / 5))" 5 |
        sed -n 's/^per_op_us=//p'
}

declare -A R V
# sample KEY FUNC ARGS... - one run, appended to V[KEY].
sample()
{
    local key=$1 v
    shift
    v=$("$@")
    V[$key]="${V[$key]:-} ${v:-x}"
}

# Rounds are interleaved (every setup once per round, in turn) so that a
# slow spell of this shared VM hits all setups alike instead of all runs
# of one of them.
for ((round = 0; round < BENCH_REPS; round++)); do
    for s in $SETUPS; do
        if [ "$s" != floor ]; then
            sample "iperf-up:$s" iperf "$s"
            sample "iperf-down:$s" iperf "$s" -R
        fi
        sample "ab1:$s" abrate "$s" 1
        sample "ab16:$s" abrate "$s" 16
        sample "conn:$s" conncost "$s"
    done
    # the trapped-but-not-bypassed connect: container loopback, filter vs none
    sample lo-plain sh -c "nsenter -t $SB_PID -U -n -- $CB run 127.0.0.1 $CONN_PORT $((BENCH_CONNECTS / 5)) 5 | sed -n 's/^per_op_us=//p'"
    sample lo-filtered sh -c "nsenter -t $SB_PID -U -n -- $SLIRPBYPASS exec --socket $T/bypass.sock -- $CB run 127.0.0.1 $CONN_PORT $((BENCH_CONNECTS / 5)) 5 | sed -n 's/^per_op_us=//p'"
done
# medians; "x" in the runs list marks a run that gave no figure
for key in "${!V[@]}"; do
    # shellcheck disable=SC2086 # the runs are a word list
    R[$key]=$(median ${V[$key]})
done
for key in $(printf '%s\n' "${!V[@]}" | sort); do
    sb_log "$key: ${R[$key]:-n/a} (runs:${V[$key]})"
done

# ratio A B - A/B with 2 decimals, "-" if either is missing.
ratio()
{
    if [ -n "$1" ] && [ -n "$2" ]; then
        awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
    else
        echo -
    fi
}

echo
echo "bench-bypass: medians of $BENCH_REPS runs (iperf3 ${BENCH_TIME}s, ab -n $BENCH_REQS, $BENCH_CONNECTS connects); x = ratio to host"
printf '%-12s %14s %7s %14s %7s %10s %7s %10s %7s %14s %7s\n' setup \
    'ns->host Gb/s' x 'host->ns Gb/s' x 'ab c=1 r/s' x 'ab c=16' x 'connect us' x
for s in $SETUPS; do
    printf '%-12s %14s %7s %14s %7s %10s %7s %10s %7s %14s %7s\n' "$s" \
        "${R[iperf-up:$s]:--}" "$(ratio "${R[iperf-up:$s]}" "${R[iperf-up:host]}")" \
        "${R[iperf-down:$s]:--}" "$(ratio "${R[iperf-down:$s]}" "${R[iperf-down:host]}")" \
        "${R[ab1:$s]:--}" "$(ratio "${R[ab1:$s]}" "${R[ab1:host]}")" \
        "${R[ab16:$s]:--}" "$(ratio "${R[ab16:$s]}" "${R[ab16:host]}")" \
        "${R[conn:$s]:--}" "$(ratio "${R[conn:$s]}" "${R[conn:host]}")"
done
echo
lp=${R[lo-plain]}
lf=${R[lo-filtered]}
echo "connect+close to the host through the bypass: ${R[conn:bypass]:--} us vs ${R[conn:host]:--} us natively:" \
    "$(awk -v a="${R[conn:bypass]:-0}" -v b="${R[conn:host]:-0}" 'BEGIN { printf "%+.2f", a - b }') us per bypassed connect"
echo "connect+close to the container's own loopback: ${lp:--} us without the filter, ${lf:--} us trapped and answered CONTINUE:" \
    "$(awk -v a="${lf:-0}" -v b="${lp:-0}" 'BEGIN { printf "%+.2f", a - b }') us per trapped connect"
if [ -n "$BASELINE" ]; then
    echo "the bypass against the baseline build ($BASELINE):" \
        "ab c=1 $(ratio "${R[ab1:bypass]}" "${R[ab1:bypass-base]}"), ab c=16 $(ratio "${R[ab16:bypass]}" "${R[ab16:bypass-base]}") of its rate;" \
        "connect+close $(awk -v a="${R[conn:bypass]:-0}" -v b="${R[conn:bypass-base]:-0}" 'BEGIN { printf "%+.2f", a - b }') us"
fi
echo "the bypass against the floor agent (the trap's own price):" \
    "ab c=1 $(ratio "${R[ab1:bypass]}" "${R[ab1:floor]}"), ab c=16 $(ratio "${R[ab16:bypass]}" "${R[ab16:floor]}") of its rate;" \
    "connect+close $(awk -v a="${R[conn:bypass]:-0}" -v b="${R[conn:floor]:-0}" 'BEGIN { printf "%+.2f", a - b }') us"
kill -0 "$HELPER_PID" || sb_fail "slirpbypass died: $(cat "$HELPER_LOG")"
