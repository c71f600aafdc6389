#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench-fwd.sh - the port-forward path: host -> container through a
# published port, for every way of publishing one, against the same
# servers on host loopback, in one run.
#
# Theory of operation: everything happens inside one private host
# (tests/lib/harness.sh; no packet leaves the machine).  The client (iperf3
# -c, ab) always runs in the private host and connects to 127.0.0.1; each
# contender publishes its own pair of host ports:
#   host        iperf3 -s and tinyhttpd on the private host's 127.0.0.1
#               (5201, 8080): no forward at all, the ceiling
#   bypass      slirpbypass -c --bypass-socket; forwards added through the
#               API socket, THEN the servers started in the container under
#               `slirpbypass exec`: their bind() of the published guest port
#               is handed a host socket on the entry's host port (the port
#               hand-off, docs/bypass.md), so connections never cross the
#               virtual network.  15201 -> :5201, 18080 -> :80
#   sb-slirp    slirpbypass -c (no bypass socket), servers not under exec:
#               libslirp's hostfwd.  25201 -> :5201, 28080 -> :80
#   slirp4netns slirp4netns -c, same forwards through its API socket.
#               35201 -> :5201, 38080 -> :80
#   pasta       pasta --config-net -t 127.0.0.1/45201:5201 -t ...:80
#               (loopback connections are spliced into the namespace).
#               45201 -> :5201, 48080 -> :80
# Every container is a fresh `unshare -Urn` with its own iperf3 -s and
# tinyhttpd (one epoll loop; busybox httpd forks per connection and would
# measure fork()).  The slirp helpers run with --mtu=$BENCH_MTU.
#
# The bypass contender proves its path, or the set-up fails: after its
# servers start, list_hostfwd_ex must show "path":"bypass" for both
# entries, and the host ports' listeners must belong to iperf3 and
# tinyhttpd (not to slirpbypass).  The path is checked again (logged) before
# every round and once at the end, and the iperf3 servers' own logs say
# which peer address each control connection came from (127.0.0.1 = the
# real client = a host socket; 10.0.2.2 = libslirp).  The helpers' CPU time
# spent during each contender's measurements is logged too (a handed-off
# port should cost the helper nothing per connection).
#
# Figures: iperf3 throughput host -> container (the client sends) and
# container -> host (-R), $BENCH_SECONDS s each; connection rate of
# $AB_REQUESTS short HTTP/1.0 requests with ab (keep-alive off) at
# concurrency 1 and 16.  Rounds are interleaved (every contender once per
# round) so that a slow spell of a shared machine hits all alike; medians
# of BENCH_RUNS rounds, ratios to "host".  A run that gives no figure is
# logged as "x" (with ab's last error line).  Prints figures only; never
# asserts on them; exits 0 unless a set-up fails.  Not part of `meson test`.
#
# Usage: sudo SLIRPBYPASS=build/slirpbypass SB_BUILD_ROOT=build tests/bench/bench-fwd.sh
# Environment (defaults): BENCH_RUNS=3 BENCH_SECONDS=5 AB_REQUESTS=5000
#   BENCH_SETUPS="host bypass sb-slirp slirp4netns pasta" BENCH_MTU=65520
#   SLIRP4NETNS=/usr/bin/slirp4netns PASTA=pasta
#   (BENCH_HELPERS="slirpbypass slirp4netns", the old name, still selects
#   "host sb-slirp slirp4netns" style subsets: slirpbypass = sb-slirp.)
# A contender whose program is missing is skipped with a log line.
set -u -o pipefail
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_SECONDS=${BENCH_SECONDS:-5}
AB_REQUESTS=${AB_REQUESTS:-5000}
BENCH_MTU=${BENCH_MTU:-65520}
SLIRP4NETNS=${SLIRP4NETNS:-/usr/bin/slirp4netns}
PASTA=${PASTA:-pasta}
if [ -z "${BENCH_SETUPS:-}" ] && [ -n "${BENCH_HELPERS:-}" ]; then
    BENCH_SETUPS="host $(echo " $BENCH_HELPERS " | sed 's/ slirpbypass / sb-slirp /')"
fi
BENCH_SETUPS=${BENCH_SETUPS:-host bypass sb-slirp slirp4netns pasta}
if [ -z "${SLIRPBYPASS:-}" ]; then
    src=$(cd "$(dirname "$0")/../.." && pwd)
    SLIRPBYPASS="${SB_BUILD_ROOT:-$src/_build}/slirpbypass"
fi
export SLIRPBYPASS BENCH_RUNS BENCH_SECONDS AB_REQUESTS BENCH_SETUPS BENCH_MTU SLIRP4NETNS PASTA

. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_need iperf3 ab jq socat curl ss
TINYHTTPD=${TINYHTTPD:-$(dirname "$SLIRPBYPASS")/tests/bench/tinyhttpd}
[ -x "$TINYHTTPD" ] || sb_fail "build first: $TINYHTTPD not found"
CLK_TCK=$(getconf CLK_TCK)

declare -A IPORT HPORT CPID HPID HLOG API ILOG
IPORT=([host]=5201 [bypass]=15201 [sb-slirp]=25201 [slirp4netns]=35201 [pasta]=45201)
HPORT=([host]=8080 [bypass]=18080 [sb-slirp]=28080 [slirp4netns]=38080 [pasta]=48080)

SETUPS=""
for s in $BENCH_SETUPS; do
    case "$s" in
    host) ;;
    bypass | sb-slirp) [ -x "$SLIRPBYPASS" ] || { sb_log "skipping $s: $SLIRPBYPASS not found"; continue; } ;;
    slirp4netns) [ -x "$SLIRP4NETNS" ] || { sb_log "skipping $s: $SLIRP4NETNS not found"; continue; } ;;
    pasta) command -v "$PASTA" >/dev/null || { sb_log "skipping $s: $PASTA not found"; continue; } ;;
    *) sb_fail "unknown setup $s (host bypass sb-slirp slirp4netns pasta)" ;;
    esac
    SETUPS="$SETUPS $s"
done

# add_fwds SETUP - the two forwards of SETUP through its API socket.
add_fwds()
{
    local s=$1 req r
    for req in "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":${IPORT[$s]},\"guest_addr\":\"\",\"guest_port\":5201}}" \
        "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":${HPORT[$s]},\"guest_addr\":\"\",\"guest_port\":80}}"; do
        r=$(sb_api "$req" "${API[$s]}")
        case "$r" in *'"return"'*) ;; *) sb_fail "$s: $req -> $r" ;; esac
    done
}

# start_servers SETUP [exec] - iperf3 -s and tinyhttpd in SETUP's container
# (TARGET_PID), under `slirpbypass exec` with "exec".
start_servers()
{
    local s=$1 pre=()
    [ "${2:-}" = exec ] && pre=("$SLIRPBYPASS" exec --socket "$T/bypass.sock" --)
    sb_bg sb_in_target "${pre[@]}" iperf3 -s -p 5201 --forceflush
    ILOG[$s]=$BG_LOG
    sb_bg sb_in_target "${pre[@]}" "$TINYHTTPD" 80
}

# paths - "IPERF_PATH HTTP_PATH" of the bypass helper's two entries.
paths()
{
    sb_api '{"execute":"list_hostfwd_ex"}' "${API[bypass]}" |
        jq -r --argjson i "${IPORT[bypass]}" --argjson h "${HPORT[bypass]}" \
            '[(.return.entries[] | select(.host_port == $i) | .path), (.return.entries[] | select(.host_port == $h) | .path)] | join(" ")' 2>/dev/null
}
both_bypass() { [ "$(paths)" = "bypass bypass" ]; }

# listeners PORT - "process" names of the private host's TCP listeners on PORT.
listeners()
{
    ss -ltnpH "sport = :$1" | sed -n 's/.*users:((\("[^"]*"\).*/\1/p' | tr -d '"' | sort -u | tr '\n' ' '
}

# cpu PID - user+system clock ticks of PID so far (0 if gone).
cpu()
{
    awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}

# ---- set-up --------------------------------------------------------------
for s in $SETUPS; do
    case "$s" in
    host)
        sb_bg iperf3 -s -B 127.0.0.1 -p "${IPORT[host]}" --forceflush
        ILOG[host]=$BG_LOG
        sb_bg "$TINYHTTPD" 127.0.0.1 "${HPORT[host]}"
        ;;
    bypass)
        sb_start_target
        CPID[$s]=$TARGET_PID API[$s]=$T/api-bypass.sock
        sb_start_helper -c --mtu="$BENCH_MTU" --api-socket "${API[$s]}" \
            --bypass-socket "$T/bypass.sock" "$TARGET_PID" tap0
        HPID[$s]=$HELPER_PID HLOG[$s]=$HELPER_LOG
        # the forwards first: a bind is handed off only if the entry exists
        add_fwds "$s"
        [ "$(paths)" = "slirp slirp" ] || sb_fail "bypass: entries not on the slirp path before the servers: $(paths)"
        start_servers "$s" exec
        if ! sb_wait_until 10 both_bypass; then
            sb_log "list_hostfwd_ex: $(sb_api '{"execute":"list_hostfwd_ex"}' "${API[$s]}")"
            sb_log "helper log:" && sed 's/^/    /' "${HLOG[$s]}" >&2
            sb_fail "bypass: the servers did not get the port hand-off (paths: $(paths))"
        fi
        ;;
    sb-slirp | slirp4netns)
        sb_start_target
        CPID[$s]=$TARGET_PID API[$s]=$T/api-$s.sock
        bin=$SLIRPBYPASS
        [ "$s" = slirp4netns ] && bin=$SLIRP4NETNS
        SLIRPBYPASS=$bin sb_start_helper -c --mtu="$BENCH_MTU" --api-socket "${API[$s]}" "$TARGET_PID" tap0
        HPID[$s]=$HELPER_PID HLOG[$s]=$HELPER_LOG
        add_fwds "$s"
        start_servers "$s"
        ;;
    pasta)
        # pasta --config-net needs an interface with carrier to copy: a
        # veth pair whose far end nobody answers on (as in bench-bypass.sh).
        ip link add pb0 type veth peer name pb1 || sb_fail "cannot create veth"
        ip link set pb0 up && ip link set pb1 up
        ip addr add 192.0.2.1/24 dev pb0
        ip route replace default via 192.0.2.254 dev pb0 || sb_fail "cannot set default route"
        sb_start_target
        CPID[$s]=$TARGET_PID
        "$PASTA" --runas 0 --config-net -t "127.0.0.1/${IPORT[$s]}:5201" -t "127.0.0.1/${HPORT[$s]}:80" \
            -u none -T none -U none --quiet -P "$T/pasta.pid" \
            --userns "/proc/$TARGET_PID/ns/user" --netns "/proc/$TARGET_PID/ns/net" >"$T/pasta.log" 2>&1 ||
            sb_fail "pasta failed: $(cat "$T/pasta.log")"
        # pasta daemonizes and outlives the namespace: tracked by pid file
        HPID[$s]=$(cat "$T/pasta.pid")
        sb_track "${HPID[$s]}"
        start_servers "$s"
        ;;
    esac
done
for s in $SETUPS; do
    up() { curl -sS -m 2 -o /dev/null "http://127.0.0.1:${HPORT[$s]}/index.html" && sb_wait_port "${IPORT[$s]}" tcp 1; }
    sb_wait_until 15 up || sb_fail "$s: http://127.0.0.1:${HPORT[$s]}/ not answering"
    # iperf3's server must listen before the first run: in the container,
    # or for the bypass on the host port (checked below)
    case "$s" in
    host | bypass) ;;
    *)
        ctr_listens() { nsenter -t "${CPID[$s]}" -U -n -- ss -ltnH "sport = :5201" | grep -q .; }
        sb_wait_until 15 ctr_listens || sb_fail "$s: iperf3 server not listening in the container"
        ;;
    esac
done
if [[ " $SETUPS " == *" bypass "* ]]; then
    iperf_on_host() { listeners "${IPORT[bypass]}" | grep -q iperf3; }
    sb_wait_until 15 iperf_on_host || true
    li=$(listeners "${IPORT[bypass]}") lh=$(listeners "${HPORT[bypass]}")
    sb_log "bypass: list_hostfwd_ex paths: $(paths); host listeners on ${IPORT[bypass]}: $li; on ${HPORT[bypass]}: $lh"
    case "$li" in *iperf3*) ;; *) sb_fail "bypass: no iperf3 listener on host port ${IPORT[bypass]}: $(ss -ltnpH "sport = :${IPORT[bypass]}")" ;; esac
    case "$lh" in *tinyhttpd*) ;; *) sb_fail "bypass: no tinyhttpd listener on host port ${HPORT[bypass]}: $(ss -ltnpH "sport = :${HPORT[bypass]}")" ;; esac
fi

# ---- measurements --------------------------------------------------------
# iperf_run SETUP [-R] - Gbit/s at the receiver, one run; when iperf3
# gives no figure its error is logged.
iperf_run()
{
    local s=$1 json v e
    shift
    json=$(timeout $((BENCH_SECONDS + 20)) iperf3 -c 127.0.0.1 -p "${IPORT[$s]}" -t "$BENCH_SECONDS" -J "$@" 2>&1)
    v=$(jq -r '.end.sum_received.bits_per_second // empty | . / 1e9 | . * 100 | round / 100' <<<"$json" 2>/dev/null)
    if [ -z "$v" ]; then
        e=$(jq -r '.error // empty' <<<"$json" 2>/dev/null)
        sb_log "$s iperf3 $* gave no figure: ${e:-$(tail -c 200 <<<"$json" | tr '\n' ' ')}"
    fi
    echo "$v"
}

# ab_run SETUP C - requests per second, one run (keep-alive off); when ab
# gives no figure its last stderr line is logged.
ab_run()
{
    local out
    out=$(timeout 120 ab -q -s 10 -n "$AB_REQUESTS" -c "$2" "http://127.0.0.1:${HPORT[$1]}/index.html" 2>"$T/ab.err" |
        awk '/^Requests per second/ {print $4}')
    [ -n "$out" ] || sb_log "$1 ab c=$2 gave no figure: $(tail -n 1 "$T/ab.err")"
    echo "$out"
}

declare -A V R TICKS
# sample KEY FUNC ARGS... - one run, appended to V[KEY] ("x" if no figure)
sample()
{
    local key=$1 v
    shift
    v=$("$@")
    V[$key]="${V[$key]:-} ${v:-x}"
}

for ((round = 0; round < BENCH_RUNS; round++)); do
    if [[ " $SETUPS " == *" bypass "* ]]; then
        # iperf3 -s closes and re-binds its listener after every test
        sb_wait_until 3 both_bypass ||
            sb_fail "bypass: round $((round + 1)): the port hand-off is gone (paths: $(paths)); helper log: $(tail -n 5 "${HLOG[bypass]}")"
        sb_log "round $((round + 1)): bypass paths: $(paths)"
    fi
    for s in $SETUPS; do
        t0=$([ -n "${HPID[$s]:-}" ] && cpu "${HPID[$s]}")
        sample "up:$s" iperf_run "$s"
        sample "down:$s" iperf_run "$s" -R
        sample "ab1:$s" ab_run "$s" 1
        sample "ab16:$s" ab_run "$s" 16
        [ -n "${HPID[$s]:-}" ] && TICKS[$s]=$((${TICKS[$s]:-0} + $(cpu "${HPID[$s]}") - t0))
    done
done
if [[ " $SETUPS " == *" bypass "* ]]; then
    sb_wait_until 3 both_bypass || sb_log "bypass: after the last round the paths are: $(paths)"
    sb_log "after the runs: bypass paths: $(paths)"
fi

# ---- report --------------------------------------------------------------
# median V... - the median of the numbers among V (empty if none).
median()
{
    printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}
# ratio A B - A/B with 2 decimals, "-" if either is missing.
ratio()
{
    if [ -n "$1" ] && [ -n "$2" ]; then
        awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
    else
        echo -
    fi
}
for key in "${!V[@]}"; do
    # shellcheck disable=SC2086 # the runs are a word list
    R[$key]=$(median ${V[$key]})
done
for key in $(printf '%s\n' "${!V[@]}" | sort); do
    sb_log "$key: ${R[$key]:-n/a} (runs:${V[$key]})"
done
for s in $SETUPS; do
    # the iperf3 server's view of its clients (control + data connections)
    [ -n "${ILOG[$s]:-}" ] && sb_log "$s: iperf3 server accepted connections from:" \
        "$(sed -n 's/^Accepted connection from \([^,]*\),.*/\1/p' "${ILOG[$s]}" | sort | uniq -c | tr -s ' \n' ' ')"
    [ -n "${HPID[$s]:-}" ] && sb_log "$s: helper CPU during its measurements:" \
        "$(awk -v t="${TICKS[$s]:-0}" -v h="$CLK_TCK" 'BEGIN { printf "%.2f", t / h }') s"
done
for s in bypass sb-slirp slirp4netns; do
    [ -n "${HPID[$s]:-}" ] || continue
    sb_alive "${HPID[$s]}" || sb_log "$s: the helper died: $(tail -n 5 "${HLOG[$s]}")"
    [ -s "${HLOG[$s]}" ] && sb_log "$s: helper log ($(wc -l <"${HLOG[$s]}") lines), last lines:" &&
        tail -n 5 "${HLOG[$s]}" | sed 's/^/    /' >&2
done

echo
echo "bench-fwd: port forward 127.0.0.1 -> container, MTU $BENCH_MTU, medians of $BENCH_RUNS rounds" \
    "(iperf3 ${BENCH_SECONDS}s, ab -n $AB_REQUESTS keep-alive off); x = ratio to host"
printf '%-12s %14s %6s %14s %6s %12s %6s %12s %6s\n' setup \
    'host->ctr Gb/s' x 'ctr->host Gb/s' x 'ab c=1 r/s' x 'ab c=16 r/s' x
for s in $SETUPS; do
    printf '%-12s %14s %6s %14s %6s %12s %6s %12s %6s\n' "$s" \
        "${R[up:$s]:--}" "$(ratio "${R[up:$s]}" "${R[up:host]:-}")" \
        "${R[down:$s]:--}" "$(ratio "${R[down:$s]}" "${R[down:host]:-}")" \
        "${R[ab1:$s]:--}" "$(ratio "${R[ab1:$s]}" "${R[ab1:host]:-}")" \
        "${R[ab16:$s]:--}" "$(ratio "${R[ab16:$s]}" "${R[ab16:host]:-}")"
done
