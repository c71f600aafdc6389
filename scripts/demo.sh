#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# demo.sh - show slirpbypass doing what podman asks of slirp4netns.
#
# Installs the dependencies, builds slirpbypass, then (inside a private
# network namespace that stands in for "the host", so no packet can leave
# the machine) creates a container network namespace bound to a file, starts
# slirpbypass with podman 4.3's exact argv and fds (exit pipe on fd 3, ready
# pipe on fd 4), shows the container's network configuration, publishes a
# port through the API socket and fetches a page served inside the container
# from the host, then shuts it down by closing the exit pipe the way conmon
# does.  A second run with podman's allow_host_loopback=true argv shows the
# container reaching a server on the host's loopback via 10.0.2.2.  A third
# run turns the bypass on the way a user does, with a config file
# (bypass=true) and no new option: the helper starts and registers with the
# per-user agent, and the same connect() made under `slirpbypass exec` is
# performed by slirpbypass in the host namespace, so the server sees the
# client's own socket instead of libslirp's.
#
# Usage: sudo ./scripts/demo.sh   (about 10 seconds after the build)
set -u -o pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build="$src/_build"

if [ -z "${SB_IN_PRIVATE_HOST:-}" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "demo.sh: must run as root (it creates namespaces): sudo $0" >&2
        exit 1
    fi
    echo "== installing dependencies"
    "$src/scripts/install-deps.sh" || exit 1
    echo "== building slirpbypass in $build"
    if [ ! -f "$build/build.ninja" ]; then
        meson setup "$build" "$src" >/dev/null || exit 1
    fi
    ninja -C "$build" slirpbypass tests/plugin/sbclient >/dev/null || exit 1
fi
SLIRPBYPASS="$build/slirpbypass"
. "$src/tests/lib/harness.sh"
SB_TEST_NAME=demo
sb_enter_private_host "$@"

step=0
bold="" plain=""
if [ -t 1 ]; then
    bold=$(printf '\033[1m') plain=$(printf '\033[0m')
fi
# say TEXT - narrate the next step.
say()
{
    step=$((step + 1))
    printf '\n%s[%d] %s%s\n' "$bold" "$step" "$*" "$plain"
}

# show CMD... - print a command as typed in the container, then run it there.
show()
{
    printf '  container$ %s\n' "$*"
    nsenter --net="$ns" "$@" 2>&1 | sed 's/^/    /'
}

# die MSG - the demo failed: say so and exit 1.
die()
{
    printf '\nDEMO FAILED: %s\n' "$*" >&2
    [ -n "${HELPER_LOG:-}" ] && sed 's/^/  helper: /' "$HELPER_LOG" >&2
    exit 1
}

say "A private host network namespace (lo up, default route into an unattached tun): nothing leaves this machine"
ip -brief addr | sed 's/^/  host$ /'

# The container netns, bound to a file like podman's netns-<uuid> (on a
# tmpfs private to this demo's mount namespace).
ns=/run/netns/demo-ctr
mkdir -p /run/netns
mount -t tmpfs tmpfs /run/netns
touch "$ns"
unshare --net="$ns" true || die "cannot create the container netns"
api="$T/ctr.net"
www="$T/ctr-www"
mkdir -p "$www" && echo "hello from a web server inside the container" >"$www/index.html"
sb_http_server 8000 127.0.0.1 "hello from a web server on the host's loopback"

argv=(--disable-host-loopback --mtu=65520 --enable-sandbox --enable-seccomp --enable-ipv6
    -c -e 3 -r 4 --api-socket "$api" --netns-type=path "$ns" tap0)
say "Start slirpbypass exactly like podman 4.3 (port_handler=slirp4netns), exit pipe on fd 3, ready pipe on fd 4"
printf '  %s %s\n' "$(basename "$SLIRPBYPASS")" "${argv[*]}"
sb_exit_pipe 3
sb_start_helper "${argv[@]}"
echo "  ready pipe delivered \"1\": tap0 configured, API socket listening (pid $HELPER_PID)"

say "Inside the container"
show ip -4 addr show dev tap0
show ip route

say "Publish container port 80 on host 127.0.0.1:8080 through the API socket (podman's own request)"
# sb_bg keeps the exit pipe's write end out of the server: a process
# holding it would keep slirpbypass from ever seeing the HUP.
sb_bg nsenter --net="$ns" busybox httpd -f -p 80 -h "$www"
sb_wait_until 10 nsenter --net="$ns" sh -c 'ss -ltnH "sport = :80" | grep -q .' ||
    die "httpd in the container did not start"
req='{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":8080,"guest_addr":"","guest_port":80}}'
echo "  -> $req"
echo "  <- $(sb_api "$req" "$api")"
echo "  -> {\"execute\":\"list_hostfwd\"}"
echo "  <- $(sb_api '{"execute":"list_hostfwd"}' "$api")"
echo "  host$ curl http://127.0.0.1:8080/"
page=$(timeout 10 curl -sS -m 5 http://127.0.0.1:8080/) || die "curl through the forward failed"
echo "    $page"

say "--disable-host-loopback: the host's loopback is not reachable as 10.0.2.2"
echo "  container$ wget http://10.0.2.2:8000/"
if out=$(nsenter --net="$ns" timeout 10 busybox wget -O- http://10.0.2.2:8000/ 2>&1); then
    die "host loopback was reachable: $out"
fi
echo "    refused as expected: $(printf '%s\n' "$out" | tail -n 1)"

say "Shut down like conmon does: close the exit pipe"
sb_close_exit_pipe
sb_wait_until 10 eval '! kill -0 "$HELPER_PID" 2>/dev/null || grep -q "^State:.*Z" "/proc/$HELPER_PID/status"' ||
    die "slirpbypass did not exit"
sb_stop_helper
echo "  slirpbypass exited with status $HELPER_STATUS; API socket $([ -e "$api" ] && echo "still present" || echo removed)"
[ "$HELPER_STATUS" = 0 ] || die "unexpected exit status"

argv=(--mtu=65520 --enable-sandbox --enable-seccomp --enable-ipv6
    -c -e 3 -r 4 --netns-type=path "$ns" tap0)
say "Second run with podman's allow_host_loopback=true argv"
printf '  %s %s\n' "$(basename "$SLIRPBYPASS")" "${argv[*]}"
sb_exit_pipe 3
sb_start_helper "${argv[@]}"
echo "  container$ wget -qO- http://10.0.2.2:8000/"
page=$(nsenter --net="$ns" timeout 10 busybox wget -qO- http://10.0.2.2:8000/) ||
    die "the container could not reach the host's loopback"
echo "    $page"
sb_close_exit_pipe
sb_wait_until 10 eval '! kill -0 "$HELPER_PID" 2>/dev/null || grep -q "^State:.*Z" "/proc/$HELPER_PID/status"' ||
    die "slirpbypass did not exit"
sb_stop_helper
echo "  exit pipe closed: slirpbypass exited with status $HELPER_STATUS"
[ "$HELPER_STATUS" = 0 ] || die "unexpected exit status"

say "The bypass, turned on by a config file: the helper registers with the per-user agent, a command runs under 'slirpbypass exec'"
# what a user puts in ~/.config/slirpbypass/slirpbypass.conf (here under $T)
mkdir -p "$T/run" && chmod 0700 "$T/run"
printf '[slirpbypass]\nbypass=true\nallow_host_loopback=true\n' >"$T/slirpbypass.conf"
sed 's/^/  slirpbypass.conf: /' "$T/slirpbypass.conf"
export SLIRPBYPASS_USER_CONFIG="$T/slirpbypass.conf" XDG_RUNTIME_DIR="$T/run"
argv=(--mtu=65520 -c -e 3 -r 4 --netns-type=path "$ns" tap0)
printf '  %s %s   (no bypass option in the argv)\n' "$(basename "$SLIRPBYPASS")" "${argv[*]}"
sbclient="$build/tests/plugin/sbclient"
sb_exit_pipe 3
sb_start_helper "${argv[@]}"
grep -q 'registered with the agent' "$HELPER_LOG" || die "the helper did not register with the agent"
echo "  helper: $(grep -m1 'registered with the agent' "$HELPER_LOG")"
sb_bg "$sbclient" serve-tcp 127.0.0.1 8001
sb_wait_port 8001 || die "the host's test server did not start"
# connect_line ARGS... - one connect from the container; prints the
# client's own address and the peer address the host's server saw.
connect_line()
{
    local out
    out=$(nsenter --net="$ns" timeout 10 "$@" tcp-connect 10.0.2.2 8001 2>&1) ||
        die "connect failed: $out"
    printf '    client socket %s, host server saw %s\n' \
        "$(printf '%s\n' "$out" | sed -n 's/^local=//p')" \
        "$(printf '%s\n' "$out" | sed -n 's/^reply=//p')"
}
echo "  container$ sbclient tcp-connect 10.0.2.2 8001                 (slirp path)"
connect_line "$sbclient"
echo "  container$ slirpbypass exec -- sbclient tcp-connect 10.0.2.2 8001   (bypass)"
connect_line "$SLIRPBYPASS" exec -- "$sbclient"
echo "  (bypassed: the container's socket is the host-namespace socket the server accepted)"
echo "  agent: $(grep -m1 'passed to the helper' "$T/run/slirpbypass/agent.log")"
sb_close_exit_pipe
sb_wait_until 10 eval '! kill -0 "$HELPER_PID" 2>/dev/null || grep -q "^State:.*Z" "/proc/$HELPER_PID/status"' ||
    die "slirpbypass did not exit"
sb_stop_helper
[ "$HELPER_STATUS" = 0 ] || die "unexpected exit status"

printf '\n%sDemo complete.%s\n' "$bold" "$plain"
