#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-podman-bypass.sh - rootless podman 4.3 with the bypass turned on the
# way a user does it: network_cmd_path = slirpbypass in containers.conf,
# bypass=true in ~/.config/slirpbypass/slirpbypass.conf, and the profile
# from `slirpbypass seccomp-profile --merge` of podman's default profile
# passed with --security-opt seccomp=.  Nothing else: no extra argv.
#
# Theory of operation: as the unprivileged test user (config and storage
# under $T), import a busybox rootfs that also holds the static sbclient,
# and run containers.  The path a connection took is read from sbclient's
# output: a bypassed socket lives in the private host, so the host server's
# view of the peer equals the client's own local address
# (pb_assert_bypassed); on the slirp path the client's local address is
# 10.0.2.100 (pb_assert_slirp).  Checks:
#  - outbound TCP of a container with the profile: bypassed; `podman exec`
#    processes too; the same image without the profile: slirp path;
#  - DNS through 10.0.2.3 works (a responder on the private host's
#    loopback, through a private /etc/resolv.conf);
#  - host loopback through the gateway 10.0.2.2: refused on both paths by
#    podman's default (--disable-host-loopback), reached and bypassed with
#    allow_host_loopback=true;
#  - --userns=keep-id (podman starts the helper after the container):
#    bypassed once the helper is up;
#  - port_handler=slirp4netns -p: the container's server is handed the
#    host socket (it reports the host port as its own, and sees the host
#    client's real address);
#  - two containers at once, each served by its own helper (the agent's
#    log: two registrations, each fd passed to a different helper);
#  - the profile set once in containers.conf (seccomp_profile) works too;
#  - `podman stop`: the helper ends, its API socket is gone, the agent saw
#    the deregistration.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict
sb_need podman runc busybox socat newuidmap jq
. "$SB_SOURCE_ROOT/tests/plugin/bypass-lib.sh"
pb_init

user=$(sb_ensure_test_user)
uid=$(id -u "$user")
U="$T/u"
run=/run/user/$uid
mkdir -p "$U/config/containers" "$U/config/slirpbypass" "$U/rootfs"
. "$SB_SOURCE_ROOT/tests/lib/podman-lib.sh"
sb_podman_setup "$U"
printf '[slirpbypass]\nbypass=true\n' >"$U/config/slirpbypass/slirpbypass.conf"

# DNS: a responder on the private host's loopback, named by a private
# resolv.conf (the helper forwards 10.0.2.3 to its first nameserver).
sb_bg socat -T 5 UDP4-RECVFROM:53,bind=127.0.0.1,fork "EXEC:$SB_SOURCE_ROOT/tests/lib/dns-responder.sh"
sb_wait_port 53 udp || sb_fail "DNS responder did not start"
printf 'nameserver 127.0.0.1\n' >"$T/resolv.conf"
mount --bind "$T/resolv.conf" "$(realpath /etc/resolv.conf)" ||
    sb_skip "cannot bind-mount a private /etc/resolv.conf"

# A busybox rootfs with sbclient.
R="$U/rootfs"
mkdir -p "$R/bin" "$R/etc" "$R/tmp"
cp "$(command -v busybox)" "$R/bin/busybox"
for a in $(busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"; done
cp "$SBCLIENT" "$R/bin/sbclient"
echo 'root:x:0:0:root:/:/bin/sh' >"$R/etc/passwd"
echo 'root:x:0:' >"$R/etc/group"
tar -C "$R" -cf "$U/rootfs.tar" .
chown -R "$user" "$U"

pm() {
    sb_as_user env "XDG_CONFIG_HOME=$U/config" timeout 120 podman "$@"
}
cleanup_podman() {
    local pause a
    pm rm -a -f -t 0 >/dev/null 2>&1 || true
    pause=$(cat "$run/libpod/tmp/pause.pid" 2>/dev/null || true)
    [ -z "$pause" ] || kill "$pause" 2>/dev/null || true
    for a in $(pgrep -u "$uid" -f "agent --socket $run/slirpbypass/agent.sock" || true); do
        kill "$a" 2>/dev/null || true
    done
}
trap 'rc=$?; trap - ERR; set +e; cleanup_podman; (exit $rc); _sb_cleanup' EXIT

# the agent appends to its log: start from an empty one (no agent runs:
# the harness ends the ones it started)
rm -f "$run/slirpbypass/agent.log"

sb_log "the profile: podman's default, merged"
sb_as_user env "XDG_CONFIG_HOME=$U/config" "$bin" seccomp-profile \
    --merge /usr/share/containers/seccomp.json -o "$U/seccomp.json"
sb_assert_eq "$run/slirpbypass/agent.sock" "$(jq -r .listenerPath "$U/seccomp.json")" "profile listenerPath"
PROFILE=(--security-opt "seccomp=$U/seccomp.json")

pm import "$U/rootfs.tar" localhost/sbbb:latest >/dev/null
PORT=18310
pb_serve host "$TUN4" "$PORT"
sb_bg "$SBCLIENT" serve-tcp 127.0.0.1 "$PORT" --tag hostlo --timeout 300
sb_wait_until 10 grep -q '^listening=' "$BG_LOG" || sb_fail "loopback server did not start"

# cx CTR ARGS... - run sbclient ARGS in container CTR (podman exec); the
# output goes to $OUT.
OUT=$T/out
cx() {
    local c=$1
    shift
    pm exec "$c" sbclient "$@" >"$OUT" 2>&1 || true
}
# helper_pids - the running slirpbypass helpers of the test user.
helper_pids() {
    pgrep -u "$uid" -f "^$bin " || true
}

sb_log "c1: the profile, podman's default network options"
pm run -d --name c1 --pull=never "${PROFILE[@]}" localhost/sbbb:latest sleep 600 >/dev/null
[ -S "$run/slirpbypass/agent.sock" ] || sb_fail "no agent socket: the helper did not start the agent"
AGENT_LOG=$run/slirpbypass/agent.log
sb_wait_until 10 grep -q 'registered for network namespace' "$AGENT_LOG" ||
    sb_fail "no helper registered: $(cat "$AGENT_LOG")"
cx c1 tcp-connect "$TUN4" "$PORT"
pb_assert_bypassed "$OUT" host "c1 outbound (podman exec, the profile)"
out=$(pm exec c1 nslookup -type=a sbtest.example 10.0.2.3 2>&1 || true)
sb_assert_contains "$out" "192.0.2.53" "c1 DNS through 10.0.2.3"
cx c1 tcp-connect 10.0.2.2 "$PORT"
[ "$(pb_get "$OUT" connect)" != ok ] ||
    sb_fail "c1 reached host loopback through 10.0.2.2 with podman's --disable-host-loopback"

sb_log "c0: the same image without the profile takes the slirp path"
pm run -d --name c0 --pull=never localhost/sbbb:latest sleep 600 >/dev/null
cx c0 tcp-connect "$TUN4" "$PORT"
pb_assert_slirp "$OUT" "c0 outbound without the profile"
cx c0 tcp-connect 10.0.2.2 "$PORT"
[ "$(pb_get "$OUT" connect)" != ok ] || sb_fail "c0 reached host loopback with --disable-host-loopback"

sb_log "c2: allow_host_loopback=true and a published port (port_handler=slirp4netns)"
pm run -d --name c2 --pull=never "${PROFILE[@]}" \
    --network=slirp4netns:allow_host_loopback=true,port_handler=slirp4netns \
    -p 127.0.0.1:18311:80 localhost/sbbb:latest sbclient serve-tcp 0.0.0.0 80 --tag PM --timeout 300 >/dev/null
cx c2 tcp-connect 10.0.2.2 "$PORT"
pb_expect "$OUT" connect ok "c2 reaches host loopback through the gateway"
sb_assert_eq hostlo "$(pb_reply_tag "$OUT")" "c2: the host loopback server answered"
case "$(pb_get "$OUT" local)" in
127.0.0.1:*) ;;
*) sb_fail "c2's connection to 10.0.2.2 was not bypassed (local $(pb_get "$OUT" local))" ;;
esac
logs() { pm logs c2 2>&1; }
ok=""
for ((i = 0; i < 60; i++)); do
    if logs | grep -q '^listening='; then
        ok=1
        break
    fi
    sleep 0.5
done
[ -n "$ok" ] || sb_fail "c2's server did not start: $(logs)"
sb_assert_eq "listening=127.0.0.1:18311" "$(logs | grep '^listening=' | head -n 1)" \
    "c2's server holds the host socket of the published port"
pb_host "$OUT" tcp-connect 127.0.0.1 18311 || true
sb_assert_eq PM "$(pb_reply_tag "$OUT")" "the published port reaches c2's server"
sb_assert_eq "$(pb_get "$OUT" local)" "$(pb_reply_peer "$OUT")" "c2 sees the host client's real address"

sb_log "two containers at once: each fd went to its own helper"
sb_assert_eq 3 "$(grep -c 'registered for network namespace' "$AGENT_LOG")" \
    "three helpers registered (c0's too: bypass=true is the user's setting)"
passed=$(sed -n 's/.*passed to the helper (pid \([0-9]*\)).*/\1/p' "$AGENT_LOG" | sort -u | wc -l)
sb_assert_eq 2 "$passed" "fds passed to two different helpers"
cx c1 tcp-connect "$TUN4" "$PORT"
pb_assert_bypassed "$OUT" host "c1 again, with c0 and c2 running"

sb_log "c3: --userns=keep-id (the helper starts after the container)"
pm run -d --name c3 --pull=never --userns=keep-id "${PROFILE[@]}" localhost/sbbb:latest sleep 600 >/dev/null
c3args=$(tr '\0' ' ' </proc/"$(pgrep -u "$uid" -f -n "^$bin ")"/cmdline)
case "$c3args" in
*--netns-type*) sb_fail "c3's helper got a netns path: not the after-the-container form ($c3args)" ;;
esac
cx c3 tcp-connect "$TUN4" "$PORT"
pb_assert_bypassed "$OUT" host "c3 (keep-id) outbound"

sb_log "c4: the profile from containers.conf (seccomp_profile), no --security-opt"
cp -a "$U/config" "$U/config2"
printf '\n[containers]\nseccomp_profile = "%s"\n' "$U/seccomp.json" >>"$U/config2/containers/containers.conf"
chown -R "$user" "$U/config2"
sb_as_user env "XDG_CONFIG_HOME=$U/config2" timeout 120 podman run -d --name c4 --pull=never \
    localhost/sbbb:latest sleep 600 >/dev/null
cx c4 tcp-connect "$TUN4" "$PORT"
pb_assert_bypassed "$OUT" host "c4 (seccomp_profile in containers.conf) outbound"

sb_log "podman stop: the helper ends, no socket file left"
before=$(helper_pids | wc -l)
api=$(tr '\0' ' ' </proc/"$(pgrep -u "$uid" -f -n "^$bin ")"/cmdline | sed -n 's/.*--api-socket \([^ ]*\).*/\1/p')
pm stop -t 0 c3 >/dev/null
pm rm c3 >/dev/null
sb_wait_until 15 sh -c "[ \$(pgrep -u $uid -f '^$bin ' | wc -l) -lt $before ]" ||
    sb_fail "c3's helper still runs after podman stop"
[ -z "$api" ] || [ ! -e "$api" ] || sb_fail "API socket $api left behind"
sb_wait_until 10 grep -q 'deregistered' "$AGENT_LOG" || sb_fail "the agent saw no deregistration"
cx c1 tcp-connect "$TUN4" "$PORT"
pb_assert_bypassed "$OUT" host "c1 unaffected by c3's end"
pm rm -a -f -t 0 >/dev/null
gone() { ! pgrep -u "$uid" -f "^$bin " >/dev/null; }
sb_wait_until 15 gone || sb_fail "helpers still running after podman rm"
left=$(find "$run" -name '*.net' 2>/dev/null || true)
[ -z "$left" ] || sb_fail "socket files left: $left"
sb_log "ok"
