#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-docker-rootless.sh - rootless Docker (Debian's docker.io 20.10) with
# slirpbypass as its slirp4netns, started by Docker's own
# dockerd-rootless.sh, unprivileged, with the bypass turned on by the
# user's config file (bypass=true).  docs/docker-rootless.md is the guide.
#
# Theory of operation: as the unprivileged test user, with everything
# (HOME, XDG_RUNTIME_DIR, XDG_CONFIG_HOME, data-root, exec-root, pidfile,
# daemon socket, rootlesskit's state dir) under $T, run
#   dockerd-rootless.sh   with PATH=$U/bin:...  ($U/bin/slirp4netns is a
#                         symlink to a copy of slirpbypass)
#   DOCKERD_ROOTLESS_ROOTLESSKIT_NET=slirp4netns, _MTU=65520,
#   DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER=slirp4netns,
#   DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS=--state-dir=$U/rk
# The script execs rootlesskit, which runs `slirp4netns` from PATH with
# its own argv (--mtu 65520 -r 3 --disable-host-loopback --api-socket
# $U/rk/.s4nn.sock --enable-sandbox --enable-seccomp PID tap0); with
# bypass=true that helper registers with the per-user agent (which it
# starts).  Checks:
#  1. the helper is slirpbypass (its exe), runs as the user with
#     rootlesskit's argv, and registered with the agent (which it started
#     after joining rootlesskit's user namespace for --enable-sandbox, so
#     the agent runs there: logged, see docs/docker-rootless.md, Limits);
#  2. `docker run -p 127.0.0.1:18095:80` of an image imported from a local
#     busybox tar serves its page on the private host; the port went
#     through slirpbypass's API (rootlesskit's slirp4netns port driver,
#     called by rootlesskit-docker-proxy): list_hostfwd_ex has the entry,
#     path "slirp", and the host listener is the helper's own socket;
#  3. which traffic is bypassed (each against the server 192.0.2.1, a
#     non-loopback address of the private host; a bypassed client's local
#     address is the one the server sees, a slirp one's is not):
#     - a container on Docker's bridge: slirp path; the server's peer
#       socket belongs to the helper (libslirp's host socket);
#     - the same under `slirpbypass exec` inside the container: still the
#       slirp path (the agent logs that no helper serves that namespace);
#     - a --network=host container: slirp path (no filter)... and
#       bypassed when run under `slirpbypass exec` inside the container;
#     - a process in rootlesskit's namespace (nsenter) under `slirpbypass
#       exec`: bypassed;
#     - a profile from `slirpbypass seccomp-profile` (listenerPath):
#       docker 20.10 drops listenerPath, runc refuses the container;
#  4. after the containers are removed and the daemon stopped, no helper
#     is left, its API socket is gone; after the agent is stopped, no
#     slirpbypass process and no socket file remains.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict
sb_need dockerd rootlesskit rootlesskit-docker-proxy newuidmap socat curl busybox ss nsenter
. "$(dirname "$0")/../plugin/bypass-lib.sh"
pb_init
cd "$T" || sb_fail "cd $T"

DRS=""
for f in /usr/share/docker.io/contrib/dockerd-rootless.sh /usr/bin/dockerd-rootless.sh \
    "$(command -v dockerd-rootless.sh 2>/dev/null || true)"; do
    if [ -n "$f" ] && [ -x "$f" ]; then
        DRS=$f
        break
    fi
done
[ -n "$DRS" ] || sb_skip "dockerd-rootless.sh not found (Debian: docker.io)"
# the docker.io client next to dockerd, not another one earlier in PATH
DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || DOCKER=$(command -v docker || true)
[ -n "$DOCKER" ] || sb_skip "missing command: docker"

user=$(sb_ensure_test_user)
uid=$(id -u "$user")
U=$T/u
mkdir -p "$U/bin" "$U/run" "$U/home" "$U/cfg/slirpbypass" "$U/rootfs"
# the user must be able to run the binaries (the build tree may be private)
cp "$SLIRPBYPASS" "$U/slirpbypass"
cp "$SBCLIENT" "$U/sbclient"
chmod 0755 "$U/slirpbypass" "$U/sbclient"
# rootlesskit runs `slirp4netns` (its --slirp4netns-binary default) from PATH
ln -s ../slirpbypass "$U/bin/slirp4netns"
printf '[slirpbypass]\nbypass=true\n' >"$U/cfg/slirpbypass/slirpbypass.conf"

# A busybox rootfs: /bin/busybox, one symlink per applet, a web page; lib
# links so that the host's /usr, mounted read-only, runs slirpbypass.
R=$U/rootfs
mkdir -p "$R/bin" "$R/etc" "$R/var/www" "$R/tmp"
cp "$(command -v busybox)" "$R/bin/busybox"
for a in $(busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"; done
echo 'root:x:0:0:root:/:/bin/sh' >"$R/etc/passwd"
echo 'root:x:0:' >"$R/etc/group"
echo "hello-from-docker" >"$R/var/www/index.html"
ln -s usr/lib "$R/lib"
ln -s usr/lib64 "$R/lib64"
tar -C "$R" -cf "$U/rootfs.tar" .
chown -R "$user" "$U"
chmod 0700 "$U/run"

RUN=$U/run
SOCK=$RUN/docker.sock
AGENT_SOCK=$RUN/slirpbypass/agent.sock
AGENT_LOG=$RUN/slirpbypass/agent.log
API=$U/rk/.s4nn.sock
PORT=18095
SRV_PORT=18096
USERNS=""

# dk ARGS... - the docker client as the user (each call bounded by $DK_T s)
DK_T=60
dk() {
    sb_as_user env "HOME=$U/home" "DOCKER_HOST=unix://$SOCK" timeout "$DK_T" "$DOCKER" "$@"
}

# Remove every container, stop the daemon (TERM to rootlesskit, bounded),
# then KILL whatever is left in rootlesskit's user namespace (shims,
# containers) and the agent; then the harness's own cleanup.
cleanup_docker() {
    local ids p i
    if [ -S "$SOCK" ]; then
        ids=$(DK_T=20 dk ps -aq 2>/dev/null || true)
        # shellcheck disable=SC2086 # one word per container id
        [ -z "$ids" ] || DK_T=30 dk rm -f $ids >/dev/null 2>&1 || true
    fi
    [ -z "${RK_PID:-}" ] || kill -TERM "$RK_PID" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        if [ -z "${RK_PID:-}" ] || ! sb_alive "$RK_PID"; then break; fi
        sleep 0.1
    done
    if [ -n "$USERNS" ]; then
        for p in $(pgrep -u "$uid" || true); do
            [ "$(readlink "/proc/$p/ns/user" 2>/dev/null || true)" != "$USERNS" ] ||
                kill -KILL "$p" 2>/dev/null || true
        done
    fi
    for p in $(pgrep -u "$uid" -f "agent --socket $AGENT_SOCK" || true); do
        kill -TERM "$p" 2>/dev/null || true
    done
}
trap 'rc=$?; trap - ERR; set +e; cleanup_docker; (exit $rc); _sb_cleanup' EXIT

# --- 1. the daemon, with slirpbypass as rootlesskit's slirp4netns ---------
sb_bg sb_as_user env "HOME=$U/home" "XDG_RUNTIME_DIR=$RUN" "XDG_CONFIG_HOME=$U/cfg" \
    "PATH=$U/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    DOCKERD_ROOTLESS_ROOTLESSKIT_NET=slirp4netns DOCKERD_ROOTLESS_ROOTLESSKIT_MTU=65520 \
    DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER=slirp4netns \
    "DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS=--state-dir=$U/rk" \
    timeout 200 "$DRS" --data-root "$U/data" --exec-root "$RUN/docker" \
    --pidfile "$RUN/docker.pid" -H "unix://$SOCK"
DAEMON_LOG=$BG_LOG
TIMEOUT_PID=$BG_PID
daemon_up() { sb_alive "$TIMEOUT_PID" && DK_T=5 dk info >/dev/null 2>&1; }
if ! sb_wait_until 60 daemon_up; then
    grep -v '^+' "$DAEMON_LOG" | tail -n 40 | sed 's/^/    /' >&2
    sb_fail "dockerd-rootless.sh did not bring the daemon up"
fi
RK_PID=$(pgrep -P "$TIMEOUT_PID" -x rootlesskit)
sb_track "$RK_PID"
CHILD=$(cat "$U/rk/child_pid")
USERNS=$(readlink "/proc/$CHILD/ns/user")
sb_log "daemon up: storage driver $(dk info --format '{{.Driver}}'), rootlesskit $RK_PID, child $CHILD"

HELPER=$(pgrep -u "$uid" -P "$RK_PID" -x slirp4netns)
[ -n "$HELPER" ] || sb_fail "rootlesskit has no slirp4netns child"
sb_assert_eq "$U/slirpbypass" "$(readlink "/proc/$HELPER/exe")" "rootlesskit's slirp4netns is slirpbypass"
sb_assert_eq "$user" "$(stat -c %U "/proc/$HELPER")" "the helper's user"
args=$(tr '\0' ' ' <"/proc/$HELPER/cmdline")
sb_log "rootlesskit ran: $args"
sb_assert_contains "$args" "slirp4netns --mtu 65520 -r 3 --disable-host-loopback --api-socket $API" \
    "rootlesskit's argv"
sb_assert_contains "$args" " $CHILD tap0 " "the target is rootlesskit's child"
AGENT=$(pgrep -u "$uid" -f "agent --socket $AGENT_SOCK" | head -n 1 || true)
[ -n "$AGENT" ] || sb_fail "bypass=true: the helper did not start the per-user agent"
sb_track "$AGENT"
# the helper started it before joining rootlesskit's user namespace, and
# it keeps no capability there or anywhere
[ "$(readlink "/proc/$AGENT/ns/user")" != "$USERNS" ] ||
    sb_fail "the agent runs in rootlesskit's user namespace"
[ "$(readlink "/proc/$AGENT/ns/user")" = "$(readlink /proc/self/ns/user)" ] ||
    sb_fail "the agent is not in the user's own user namespace"
sb_assert_eq "CapEff:	0000000000000000" "$(grep CapEff "/proc/$AGENT/status")" "the agent's capabilities"
sb_wait_until 10 grep -q "helper (pid $HELPER) registered" "$AGENT_LOG" ||
    sb_fail "the helper did not register with the agent: $(cat "$AGENT_LOG")"

# --- 2. a container's page through the published port ---------------------
dk import "$U/rootfs.tar" sbbb:latest >/dev/null
dk run -d --name web -p "127.0.0.1:$PORT:80" sbbb:latest httpd -f -v -p 80 -h /var/www >/dev/null
page() { curl -sS -m 3 "http://127.0.0.1:$PORT/index.html"; }
if ! sb_wait_until 30 page; then
    dk logs web >&2 || true
    sb_fail "published port $PORT does not serve the container's page"
fi
sb_assert_eq hello-from-docker "$(page)" "page via -p 127.0.0.1:$PORT:80"
ex=$(sb_api '{"execute":"list_hostfwd_ex"}' "$API")
sb_assert_contains "$ex" "\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":$PORT,\"guest_addr\":\"10.0.2.100\",\"guest_port\":$PORT,\"path\":\"slirp\"" \
    "the port driver's add_hostfwd (docker-proxy listens on 10.0.2.100:$PORT)"
ss -ltnpH "sport = :$PORT" | grep -q "pid=$HELPER," ||
    sb_fail "127.0.0.1:$PORT is not the helper's socket: $(ss -ltnpH "sport = :$PORT")"

# --- 3. what is bypassed ---------------------------------------------------
pb_serve HOST "$TUN4" "$SRV_PORT"
SB_MOUNTS=(-v /usr:/usr:ro -v "$U/slirpbypass:/sb:ro" -v "$U/sbclient:/sbclient:ro"
    -v "$RUN/slirpbypass:/run/slirpbypass")
IN_EXEC=(/sb exec --socket /run/slirpbypass/agent.sock --)
# ctr_connect OUT RUNARGS... -- CMD... : run a container, its output to OUT
ctr_connect() {
    local out=$1
    shift
    dk run --rm "$@" >"$out" 2>&1 || true
}

# (a) a container on Docker's bridge: the slirp path.  The connection is
# held open so that the server's peer socket can be looked up: it belongs
# to the helper (libslirp's host socket).
dk run -d --name out1 -v "$U/sbclient:/sbclient:ro" sbbb:latest \
    /sbclient tcp-connect "$TUN4" "$SRV_PORT" --hold 20000 >/dev/null
O=$T/bridge.out
got_reply() { dk logs out1 >"$O" 2>&1 && grep -q '^reply=' "$O"; }
sb_wait_until 30 got_reply || sb_fail "bridge container: no reply: $(tr '\n' ' ' <"$O")"
pb_expect "$O" connect ok "bridge container"
case "$(pb_get "$O" local)" in
10.0.2.* | "$TUN4":*) sb_fail "bridge container: local address $(pb_get "$O" local) is not on Docker's bridge" ;;
esac
peer=$(pb_reply_peer "$O")
[ "${peer%:*}" = "$TUN4" ] || sb_fail "bridge container: the server saw $peer"
owner() { ss -tanpH "sport = :${peer##*:} and dport = :$SRV_PORT" | grep -q "pid=$HELPER,"; }
sb_wait_until 5 owner ||
    sb_fail "bridge container: the server's peer $peer is not the helper's socket: $(ss -tanpH "dport = :$SRV_PORT")"
dk rm -f out1 >/dev/null
sb_log "bridge container: local $(pb_get "$O" local), the server saw $peer (the helper's socket): slirp path"

# (b) the same under `slirpbypass exec` inside the container: the agent
# gets the notify fd, no helper serves that namespace: CONTINUE (slirp).
O=$T/bridge-exec.out
ctr_connect "$O" "${SB_MOUNTS[@]}" sbbb:latest "${IN_EXEC[@]}" /sbclient tcp-connect "$TUN4" "$SRV_PORT"
pb_expect "$O" connect ok "bridge container under slirpbypass exec"
[ "$(pb_get "$O" local)" != "$(pb_reply_peer "$O")" ] ||
    sb_fail "bridge container under exec was bypassed: $(tr '\n' ' ' <"$O")"
grep -q "no helper serves its network namespace yet; answering CONTINUE" "$AGENT_LOG" ||
    sb_fail "the agent did not see the bridge container's fd: $(cat "$AGENT_LOG")"

# (c) --network=host (rootlesskit's namespace) without a filter: slirp.
O=$T/host.out
ctr_connect "$O" --network host -v "$U/sbclient:/sbclient:ro" sbbb:latest \
    /sbclient tcp-connect "$TUN4" "$SRV_PORT"
pb_expect "$O" connect ok "host-network container"
case "$(pb_get "$O" local)" in
10.0.2.100:*) ;;
*) sb_fail "host-network container: local $(pb_get "$O" local), expected 10.0.2.100 (slirp)" ;;
esac

# (d) --network=host under `slirpbypass exec` inside the container: bypassed
O=$T/host-exec.out
ctr_connect "$O" --network host "${SB_MOUNTS[@]}" sbbb:latest "${IN_EXEC[@]}" \
    /sbclient tcp-connect "$TUN4" "$SRV_PORT"
pb_assert_bypassed "$O" HOST "host-network container under slirpbypass exec"
grep -q "passed to the helper (pid $HELPER)" "$AGENT_LOG" ||
    sb_fail "the agent did not pass the fd to the helper: $(cat "$AGENT_LOG")"

# (e) a process in rootlesskit's namespace (nsenter) under exec: bypassed;
# the same without exec: slirp.
O=$T/nsenter-exec.out
sb_as_user env "XDG_RUNTIME_DIR=$RUN" nsenter -t "$CHILD" -U -n --preserve-credentials -- \
    timeout 30 "$U/slirpbypass" exec -- "$U/sbclient" tcp-connect "$TUN4" "$SRV_PORT" >"$O" 2>&1 || true
pb_assert_bypassed "$O" HOST "rootlesskit's namespace under slirpbypass exec"
O=$T/nsenter.out
sb_as_user nsenter -t "$CHILD" -U -n --preserve-credentials -- \
    timeout 30 "$U/sbclient" tcp-connect "$TUN4" "$SRV_PORT" >"$O" 2>&1 || true
pb_assert_slirp "$O" "rootlesskit's namespace without exec"

# (f) a listenerPath profile: docker 20.10 drops listenerPath (its
# profiles/seccomp copies defaultAction, architectures and syscalls only),
# so runc refuses the NOTIFY rules.  If this changes, update the guide.
sb_as_user env "XDG_RUNTIME_DIR=$RUN" "$U/slirpbypass" seccomp-profile -o "$U/bypass.json"
O=$T/profile.out
ctr_connect "$O" --network host --security-opt "seccomp=$U/bypass.json" \
    -v "$U/sbclient:/sbclient:ro" sbbb:latest /sbclient tcp-connect "$TUN4" "$SRV_PORT"
case "$(dockerd --version)" in
*" 20.10."*)
    grep -q "listenerPath is not set" "$O" ||
        sb_fail "docker 20.10 with a listenerPath profile: $(tr '\n' ' ' <"$O")"
    ;;
*) sb_log "$(dockerd --version) with a listenerPath profile: $(tr '\n' ' ' <"$O")" ;;
esac

# --- 4. stop everything ------------------------------------------------------
dk rm -f web >/dev/null
kill -TERM "$RK_PID"
sb_wait_until 30 sh -c "! kill -0 $RK_PID 2>/dev/null" || sb_fail "rootlesskit did not stop"
sb_wait_until 10 sh -c "! kill -0 $HELPER 2>/dev/null" || sb_fail "the helper outlived rootlesskit"
[ ! -e "$API" ] || sb_fail "the API socket $API was left behind"
# userns_procs - the user's processes in rootlesskit's user namespace,
# but the agent: rootlesskit passes --enable-sandbox, so the helper joins
# that namespace before it starts the agent, which therefore runs there
# (logged above; checked separately below).
userns_procs() {
    local p
    for p in $(pgrep -u "$uid" || true); do
        [ "$p" != "$AGENT" ] || continue
        [ "$(readlink "/proc/$p/ns/user" 2>/dev/null || true)" != "$USERNS" ] || echo "$p"
    done
}
no_userns_procs() { [ -z "$(userns_procs)" ]; }
sb_wait_until 10 no_userns_procs ||
    sb_fail "processes left in rootlesskit's namespace: $(ps -o pid,args -p "$(userns_procs | paste -sd,)")"
grep -q "helper (pid $HELPER) deregistered" "$AGENT_LOG" ||
    sb_fail "the agent did not see the helper go: $(cat "$AGENT_LOG")"
# the agent is per user and outlives helpers by design: stop it (the test's)
kill -TERM "$AGENT"
sb_wait_until 10 sh -c "! kill -0 $AGENT 2>/dev/null" || sb_fail "the agent did not stop on SIGTERM"
[ ! -e "$AGENT_SOCK" ] || sb_fail "the agent socket $AGENT_SOCK was left behind"
for p in /proc/[0-9]*; do
    [ "$(readlink "$p/exe" 2>/dev/null || true)" != "$U/slirpbypass" ] ||
        sb_fail "a slirpbypass process remains: $(tr '\0' ' ' <"$p/cmdline")"
done
socks=$(find "$RUN/slirpbypass" -type s 2>/dev/null || true)
[ -z "$socks" ] || sb_fail "slirpbypass socket files left: $socks"
sb_log "PASS"
