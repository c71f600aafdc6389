#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench-fwd.sh - the port-forward path: host -> container through a
# published port, slirpbypass vs. slirp4netns.
#
# Theory of operation: inside one private host (tests/lib/harness.sh; no
# packet leaves the machine) each helper in turn serves a fresh
# "container" (unshare -Urn) configured with -c and MTU 65520.  Forwards are
# added through the API socket (the path podman's port_handler=slirp4netns
# and rootlesskit's slirp4netns port driver use): 127.0.0.1:15201 -> :5201
# (an iperf3 server in the container) and 127.0.0.1:18080 -> :80 (busybox
# httpd in the container).  Figures: iperf3 throughput host -> container
# and container -> host over the forwarded connection (-R), and the
# connection rate of many short HTTP/1.0 requests with ab at concurrency 1
# and 16.  Medians of BENCH_RUNS runs.  Prints figures only; never asserts.
# Not part of `meson test`.
#
# Usage: sudo SLIRPBYPASS=build/slirpbypass tests/bench/bench-fwd.sh
# Environment (defaults): BENCH_RUNS=3 BENCH_SECONDS=5 AB_REQUESTS=5000
#   BENCH_HELPERS="slirpbypass slirp4netns" SLIRP4NETNS=/usr/bin/slirp4netns
#   BENCH_MTU=65520
set -u -o pipefail
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_SECONDS=${BENCH_SECONDS:-5}
AB_REQUESTS=${AB_REQUESTS:-5000}
BENCH_HELPERS=${BENCH_HELPERS:-slirpbypass slirp4netns}
BENCH_MTU=${BENCH_MTU:-65520}
SLIRP4NETNS=${SLIRP4NETNS:-/usr/bin/slirp4netns}
if [ -z "${SLIRPBYPASS:-}" ]; then
    src=$(cd "$(dirname "$0")/../.." && pwd)
    SLIRPBYPASS="${SB_BUILD_ROOT:-$src/_build}/slirpbypass"
fi
export SLIRPBYPASS BENCH_RUNS BENCH_SECONDS AB_REQUESTS BENCH_HELPERS BENCH_MTU SLIRP4NETNS

. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_need iperf3 ab jq socat
TINYHTTPD=${TINYHTTPD:-$(dirname "$SLIRPBYPASS")/tests/bench/tinyhttpd}
[ -x "$TINYHTTPD" ] || sb_fail "build first: $TINYHTTPD not found"

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else print a[int((NR + 1) / 2)]}'; }

# iperf_run [-R] - one iperf3 run through the forward; prints bits/s.
iperf_run()
{
    timeout $((BENCH_SECONDS + 20)) iperf3 -c 127.0.0.1 -p 15201 -t "$BENCH_SECONDS" -J "$@" 2>/dev/null |
        jq -r '.end.sum_received.bits_per_second // empty'
}

# ab_run C - one ab run; prints requests per second.
ab_run()
{
    timeout 120 ab -q -n "$AB_REQUESTS" -c "$1" http://127.0.0.1:18080/index.html 2>/dev/null |
        awk '/^Requests per second/ {print $4}'
}

results=()
for h in $BENCH_HELPERS; do
    case "$h" in
    slirpbypass) bin=$SLIRPBYPASS ;;
    slirp4netns) bin=$SLIRP4NETNS ;;
    *) sb_fail "unknown helper $h" ;;
    esac
    [ -x "$bin" ] || { sb_log "skipping $h: $bin not found"; continue; }
    sb_start_target
    rm -f "$T/api.sock"
    SLIRPBYPASS=$bin sb_start_helper -c --mtu="$BENCH_MTU" --api-socket "$T/api.sock" "$TARGET_PID" tap0
    sb_bg sb_in_target iperf3 -s -p 5201
    # tinyhttpd, not busybox httpd: httpd forks per connection and would
    # measure fork() rather than the forward.
    sb_bg sb_in_target "$TINYHTTPD" 80
    for req in '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":15201,"guest_addr":"","guest_port":5201}}' \
        '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":18080,"guest_addr":"","guest_port":80}}'; do
        r=$(sb_api "$req")
        case "$r" in *'"return"'*) ;; *) sb_fail "$h: $req -> $r" ;; esac
    done
    up() { curl -sS -m 2 -o /dev/null http://127.0.0.1:18080/index.html; }
    sb_wait_until 15 up || sb_fail "$h: forward to httpd not working"
    s2c=() c2s=() ab1=() ab16=()
    for ((i = 0; i < BENCH_RUNS; i++)); do
        s2c+=("$(iperf_run)")
        c2s+=("$(iperf_run -R)")
        ab1+=("$(ab_run 1)")
        ab16+=("$(ab_run 16)")
    done
    m_s2c=$(printf '%s\n' "${s2c[@]}" | median)
    m_c2s=$(printf '%s\n' "${c2s[@]}" | median)
    m_ab1=$(printf '%s\n' "${ab1[@]}" | median)
    m_ab16=$(printf '%s\n' "${ab16[@]}" | median)
    results+=("$(printf '%-12s %14.2f %14.2f %12.1f %12.1f' "$h" \
        "$(awk -v b="$m_s2c" 'BEGIN {print b / 1e9}')" \
        "$(awk -v b="$m_c2s" 'BEGIN {print b / 1e9}')" "$m_ab1" "$m_ab16")")
    sb_stop_helper TERM
    kill "$TARGET_PID" 2>/dev/null || true
done

printf '\nport forward 127.0.0.1 -> container, MTU %s, median of %s runs (%ss iperf3, %s ab requests)\n' \
    "$BENCH_MTU" "$BENCH_RUNS" "$BENCH_SECONDS" "$AB_REQUESTS"
printf '%-12s %14s %14s %12s %12s\n' helper 'host->ctr Gb/s' 'ctr->host Gb/s' 'ab c=1 req/s' 'ab c=16 req/s'
printf '%s\n' "${results[@]}"
