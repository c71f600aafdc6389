#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench.sh - throughput benchmark: slirpbypass vs. slirp4netns vs. loopback.
#
# Theory of operation: everything runs inside one private host network
# namespace (tests/lib/harness.sh: lo up, default route into an unattached
# tun), so no packet leaves the machine.  An iperf3 server listens on the
# private host's 127.0.0.1; a "container" (unshare -Urn) reaches it through
# the gateway 10.0.2.2 of the helper under test.  For every case, MTU and
# direction (c2s = container -> host, s2c = host -> container, iperf3 -R)
# it runs BENCH_RUNS runs of BENCH_SECONDS seconds and prints the median
# receiver throughput, then the ratio slirpbypass/slirp4netns.  It prints
# figures only; it never asserts timings.  Not part of `meson test`.
#
# Cases are functions: bench_setup_NAME MTU (start what the case needs),
# bench_run_NAME DIR (print one result in bits/s), bench_teardown_NAME.
# To add a case (forward path, pasta, bypass, connection rate with ab),
# write those three functions and add NAME to BENCH_CASES.
#
# Usage: sudo tests/bench/bench.sh
# Environment (defaults): BENCH_RUNS=3 BENCH_SECONDS=5 BENCH_MTUS="1500 65520"
#   BENCH_CASES="loopback slirpbypass slirp4netns" BENCH_DIRS="c2s s2c"
#   SLIRPBYPASS (built binary; default: $SB_BUILD_ROOT or _build, built if
#   missing) SLIRP4NETNS=/usr/bin/slirp4netns
#   BENCH_OUT (directory for raw iperf3 JSON; default tests/bench/results/DATE)
set -u -o pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_SECONDS=${BENCH_SECONDS:-5}
BENCH_MTUS=${BENCH_MTUS:-1500 65520}
BENCH_CASES=${BENCH_CASES:-loopback slirpbypass slirp4netns}
BENCH_DIRS=${BENCH_DIRS:-c2s s2c}
SLIRP4NETNS=${SLIRP4NETNS:-/usr/bin/slirp4netns}
BENCH_PORT=5201

if [ -z "${SB_IN_PRIVATE_HOST:-}" ] && [ -z "${SLIRPBYPASS:-}" ]; then
    build="${SB_BUILD_ROOT:-$src/_build}"
    if [ ! -x "$build/slirpbypass" ]; then
        echo "bench: building slirpbypass in $build" >&2
        [ -f "$build/build.ninja" ] || meson setup "$build" "$src" >/dev/null || exit 1
        ninja -C "$build" slirpbypass >/dev/null || exit 1
    fi
    SLIRPBYPASS="$build/slirpbypass"
fi
export SLIRPBYPASS
BENCH_OUT=${BENCH_OUT:-$src/tests/bench/results/$(date +%Y%m%d-%H%M%S)}
export BENCH_OUT
. "$src/tests/lib/harness.sh"
SB_TEST_NAME=bench
sb_enter_private_host "$@"
sb_need iperf3 jq
mkdir -p "$BENCH_OUT"

# iperf_json FILE - print the receiver's bits/s from iperf3 JSON (or "").
iperf_json()
{
    jq -r '.end.sum_received.bits_per_second // empty' "$1" 2>/dev/null
}

# iperf_client FILE DIR CMD_PREFIX... - run one iperf3 client against
# $BENCH_HOST and store its JSON in FILE; prints bits/s.
iperf_client()
{
    local file=$1 dir=$2 rev=()
    shift 2
    [ "$dir" = s2c ] && rev=(-R)
    timeout $((BENCH_SECONDS + 30)) "$@" iperf3 -c "$BENCH_HOST" -p "$BENCH_PORT" \
        -t "$BENCH_SECONDS" -J "${rev[@]}" >"$file" 2>&1 || true
    iperf_json "$file"
}

# --- case: loopback (the host's own loopback, the ceiling) ---------------
bench_setup_loopback() { BENCH_HOST=127.0.0.1; }
bench_run_loopback() { iperf_client "$BENCH_FILE" "$1"; }
bench_teardown_loopback() { :; }

# --- cases: slirp path of a slirp4netns-compatible helper ----------------
# slirp_setup BINARY MTU - a fresh container with BINARY -c --mtu=MTU.
slirp_setup()
{
    local save=$SLIRPBYPASS
    sb_start_target
    SLIRPBYPASS=$1
    sb_start_helper -c "--mtu=$2" "$TARGET_PID" tap0
    SLIRPBYPASS=$save
    BENCH_HOST=10.0.2.2
}
slirp_run()
{
    sb_target_argv
    iperf_client "$BENCH_FILE" "$1" "${SB_TARGET_ARGV[@]}"
    if ! sb_alive "$HELPER_PID"; then
        # A crash is a finding: show it instead of a silent "n/a".
        {
            echo "bench: the helper died during $BENCH_FILE; its log:"
            tail -n 20 "$HELPER_LOG" | sed 's/^/    /'
            cp "$HELPER_LOG" "$BENCH_FILE.helper.log"
        } >&2
    fi
}
slirp_teardown() { sb_stop_helper; }

bench_setup_slirpbypass() { slirp_setup "$SLIRPBYPASS" "$1"; }
bench_run_slirpbypass() { slirp_run "$1"; }
bench_teardown_slirpbypass() { slirp_teardown; }

bench_setup_slirp4netns() { slirp_setup "$SLIRP4NETNS" "$1"; }
bench_run_slirp4netns() { slirp_run "$1"; }
bench_teardown_slirp4netns() { slirp_teardown; }

# median N... - print the median of the numbers (empty input: "").
median()
{
    printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | awk '
        { v[NR] = $1 }
        END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# gbit BPS - format bits/s as Gbit/s ("n/a" when empty).
gbit()
{
    if [ -z "$1" ]; then echo n/a; else awk -v b="$1" 'BEGIN { printf "%.2f", b / 1e9 }'; fi
}

sb_bg iperf3 -s -B 127.0.0.1 -p "$BENCH_PORT"
sb_wait_port "$BENCH_PORT" || sb_fail "iperf3 server did not start"

declare -A RESULT
echo "slirpbypass bench: $BENCH_RUNS x ${BENCH_SECONDS}s per point; $(nproc) CPUs; $(uname -r)"
echo "slirpbypass: $SLIRPBYPASS ($("$SLIRPBYPASS" --version 2>/dev/null | head -n 1))"
echo "slirp4netns: $SLIRP4NETNS ($("$SLIRP4NETNS" --version 2>/dev/null | head -n 1))"
echo "raw iperf3 JSON: $BENCH_OUT"
printf '\n%-12s %6s %4s %10s   %s\n' case mtu dir "Gbit/s" "runs (Gbit/s)"
for mtu in $BENCH_MTUS; do
    for c in $BENCH_CASES; do
        # The host loopback does not depend on the slirp MTU: measure once.
        if [ "$c" = loopback ] && [ "$mtu" != "${BENCH_MTUS%% *}" ]; then
            continue
        fi
        declare -F "bench_run_$c" >/dev/null || sb_fail "unknown case '$c'"
        "bench_setup_$c" "$mtu"
        for dir in $BENCH_DIRS; do
            runs=()
            for ((i = 1; i <= BENCH_RUNS; i++)); do
                BENCH_FILE="$BENCH_OUT/$c-$mtu-$dir-$i.json"
                runs+=("$("bench_run_$c" "$dir")")
            done
            m=$(median "${runs[@]}")
            RESULT["$c/$mtu/$dir"]=$m
            shown=()
            for r in "${runs[@]}"; do shown+=("$(gbit "$r")"); done
            label=$mtu
            [ "$c" = loopback ] && label=lo
            printf '%-12s %6s %4s %10s   %s\n' "$c" "$label" "$dir" "$(gbit "$m")" "${shown[*]}"
        done
        "bench_teardown_$c"
    done
done

echo
echo "ratio slirpbypass / slirp4netns (median throughput):"
for mtu in $BENCH_MTUS; do
    for dir in $BENCH_DIRS; do
        a=${RESULT["slirpbypass/$mtu/$dir"]:-}
        b=${RESULT["slirp4netns/$mtu/$dir"]:-}
        if [ -n "$a" ] && [ -n "$b" ]; then
            r=$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
        else
            r=n/a
        fi
        printf '  mtu %-6s %4s  %s\n' "$mtu" "$dir" "$r"
    done
done
