#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-crun-plugin.sh - libslirpbypass-crun.so, the crun seccomp notify
# plugin (docs/crun-plugin.md), end to end with a rootless foreground
# `crun run`.
#
# Theory of operation: as in oci-lib.sh, crun runs as the test user inside
# a target's user and network namespaces (uid 0 there) and the container
# shares that network namespace.  Its profile is `slirpbypass
# seccomp-profile` without listenerPath (crun then keeps the notify fd and
# runs the plugins itself), and the annotation run.oci.seccomp.plugins
# names the built plugin.  `slirpbypass agent` runs as the user; crun finds
# it through SLIRPBYPASS_AGENT_SOCKET or, in one run, through
# XDG_RUNTIME_DIR (the default rule).  Each notification crun receives goes
# plugin -> agent -> the helper registered for the namespace.  Phases:
#  (A) a helper without the bypass serves the namespace, the agent runs:
#      the agent answers every forwarded notification CONTINUE, calls take
#      the slirp path (the local address is 10.0.2.x: never ENOSYS, no hang);
#  (B) a helper registered with the agent (--bypass-agent): outbound TCP is
#      bypassed (the server sees the client's own local address), also for
#      20 connects in a row in one container, and with the socket found by
#      the XDG_RUNTIME_DIR rule;
#  (D) the helper is SIGKILLed while it holds a forwarded blocking connect
#      (to a destination that never answers, SO_SNDTIMEO 3 s): the agent
#      answers it CONTINUE (its log counts only notifications that were
#      still pending), the call then times out in the container (the
#      kernel's EINPROGRESS, never ENOSYS) instead of hanging, and crun
#      exits;
#  (C) no agent at all: the plugin answers CONTINUE, the container runs and
#      takes the slirp path, and the plugin says so once on stderr.
# Every container run is bounded (timeout 60 s via oci_as_user).
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
. "$(dirname "$0")/bypass-lib.sh"
. "$(dirname "$0")/oci-lib.sh"
sb_need crun jq busybox
# crun 1.8.1 and the hybrid cgroup host: see test-crun.sh
if [ -e /sys/fs/cgroup/unified/cgroup.controllers ] &&
    ! grep -q ' - cgroup cgroup [^ ]*hugetlb' /proc/self/mountinfo; then
    mkdir -p /sys/fs/cgroup/hugetlb &&
        mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb ||
        sb_skip "crun needs the hugetlb v1 hierarchy on this hybrid-cgroup host and it cannot be mounted"
fi
RT=crun
BUSYBOX=$(command -v busybox)
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
    sb_skip "busybox is not statically linked (need busybox-static)"
PLUGIN=$SB_BUILD_ROOT/plugin/crun-plugin/libslirpbypass-crun.so
[ -f "$PLUGIN" ] || sb_fail "plugin not built: $PLUGIN"
sb_ensure_test_user >/dev/null
pb_init

U=$T/u
install -d -o "$SB_TEST_USER" -g "$(id -g "$SB_TEST_USER")" -m 0755 "$U"
X=$U/xdg
install -d -o "$SB_TEST_USER" -g "$(id -g "$SB_TEST_USER")" -m 0700 "$X" "$X/slirpbypass"
A=$X/slirpbypass/agent.sock
# any absolute path: seccomp-profile needs one, and it is deleted below
BYPASS_SOCK=$A

pb_serve HOSTLO 127.0.0.1 18601
pb_serve TUN4 "$TUN4" 18602

# start_agent - `slirpbypass agent --socket $A` as the test user.
start_agent()
{
    sb_bg sb_as_user "$SLIRPBYPASS" agent --socket "$A"
    AGENT_PID=$BG_PID
    AGENT_LOG=$BG_LOG
    sb_wait_until 10 test -S "$A" || sb_fail "agent did not start: $(cat "$AGENT_LOG")"
}

# plugin_bundle DIR - oci_bundle with our profile minus listenerPath (and
# its metadata), plus the plugin annotation.
plugin_bundle()
{
    oci_bundle "$1" profile
    jq --arg p "$PLUGIN" '
        del(.linux.seccomp.listenerPath) | del(.linux.seccomp.listenerMetadata)
        | .annotations["run.oci.seccomp.plugins"] = $p' \
        "$1/config.json" >"$1/c.json" || sb_fail "jq failed"
    oci_install "$1/c.json" "$1/config.json"
    [ "$(jq -r '.linux.seccomp.listenerPath // "none"' "$1/config.json")" = none ] ||
        sb_fail "listenerPath still in the profile"
}

# crp_run NAME BUNDLE ENV ARGS... - foreground `crun run` of ARGS with the
# environment words ENV (space separated, may be empty); sets OCI_RC and
# OCI_OUT like oci_run.
crp_run()
{
    local name=$1 bundle=$2 envs=$3 a args='[]'
    shift 3
    for a in "$@"; do
        args=$(jq -c --arg x "$a" '. + [$x]' <<<"$args")
    done
    jq --argjson a "$args" '.process.args = $a' "$bundle/config.json" >"$bundle/c.json"
    oci_install "$bundle/c.json" "$bundle/config.json"
    OCI_OUT=$T/oci.$name.out
    OCI_RC=0
    # shellcheck disable=SC2086 # ENV is a list of words
    oci_as_user env $envs crun --root "$U/rtroot" run --bundle "$bundle" "ctr-$name-$$" \
        </dev/null >"$OCI_OUT" 2>&1 || OCI_RC=$?
    oci_as_user crun --root "$U/rtroot" delete -f "ctr-$name-$$" >/dev/null 2>&1
}

# crp_run_bg NAME BUNDLE ENV ARGS... - crp_run in the background; its
# status goes to $T/oci.NAME.rc.
crp_run_bg()
{
    local name=$1
    (
        crp_run "$@"
        echo "$OCI_RC" >"$T/oci.$name.rc"
    ) &
    sb_track $!
}

plugin_bundle "$U/bundle"
start_agent

sb_log "(A) agent, but no helper registered: CONTINUE, the slirp path"
sb_start_target --user "$SB_TEST_USER"
sb_start_helper sb_as_user --configure --mtu=65520 "$TARGET_PID" tap0
crp_run A "$U/bundle" "SLIRPBYPASS_AGENT_SOCKET=$A" /bin/sbclient tcp-connect 10.0.2.2 18601
sb_assert_eq 0 "$OCI_RC" "crun run (A) status; output: $(tr '\n' ' ' <"$OCI_OUT")"
pb_assert_slirp "$OCI_OUT" "no helper registered"
sb_assert_eq HOSTLO "$(pb_reply_tag "$OCI_OUT")" "no helper registered: server reached"
sb_wait_until 10 grep -q 'forwarded notifications.*no helper serves' "$AGENT_LOG" ||
    sb_fail "the agent did not answer the forwarded notification: $(cat "$AGENT_LOG")"
sb_stop_helper

sb_log "(B) a helper registered with the agent: bypassed"
sb_start_target --user "$SB_TEST_USER"
sb_start_helper sb_as_user --configure --mtu=65520 --bypass-agent "$A" "$TARGET_PID" tap0
sb_assert_contains "$(cat "$HELPER_LOG")" "registered with the agent" "helper log"
crp_run B "$U/bundle" "SLIRPBYPASS_AGENT_SOCKET=$A" /bin/busybox sh -c '
    echo "== gw"; /bin/sbclient tcp-connect 10.0.2.2 18601
    echo "== tun"; /bin/sbclient tcp-connect 192.0.2.1 18602 --nonblock --nodelay
    echo "== end"'
sb_assert_eq 0 "$OCI_RC" "crun run (B) status; output: $(tr '\n' ' ' <"$OCI_OUT")"
section gw && pb_assert_bypassed "$SEC" HOSTLO "plugin: gateway connect"
section tun && pb_assert_bypassed "$SEC" TUN4 "plugin: connect to $TUN4"
pb_expect "$SEC" post.TCP_NODELAY 1 "plugin: TCP_NODELAY kept"
sb_assert_contains "$(cat "$HELPER_LOG")" "forwarded notifications" "the helper got the fd from the plugin"
sb_assert_contains "$(cat "$AGENT_LOG")" "served by the helper" "the agent passed the notifications on"

sb_log "(B) 20 connects in one container, the socket found by XDG_RUNTIME_DIR"
crp_run B20 "$U/bundle" "XDG_RUNTIME_DIR=$X" /bin/busybox sh -c '
    i=0; while [ $i -lt 20 ]; do
        echo "== c$i"; /bin/sbclient tcp-connect 192.0.2.1 18602; i=$((i + 1))
    done; echo "== end"'
sb_assert_eq 0 "$OCI_RC" "crun run (B20) status; output: $(tr '\n' ' ' <"$OCI_OUT")"
for i in 0 7 19; do
    section "c$i" && pb_assert_bypassed "$SEC" TUN4 "plugin: connect #$i of 20"
done
sb_assert_eq 20 "$(grep -c '^connect=ok' "$OCI_OUT")" "20 connects ok"
sb_alive "$HELPER_PID" || sb_fail "the helper died: $(cat "$HELPER_LOG")"
sb_alive "$AGENT_PID" || sb_fail "the agent died: $(cat "$AGENT_LOG")"

sb_log "(D) the helper dies holding a forwarded connect: CONTINUE, no hang"
B_TARGET=$TARGET_PID
B_HELPER=$HELPER_PID
B_HELPER_LOG=$HELPER_LOG
sb_start_target --user "$SB_TEST_USER"
sb_start_helper sb_as_user --configure --mtu=65520 --bypass-agent "$A" "$TARGET_PID" tap0
D_HELPER=$HELPER_PID
plugin_bundle "$U/bundleD"
crp_run_bg D "$U/bundleD" "SLIRPBYPASS_AGENT_SOCKET=$A" /bin/busybox sh -c \
    "/bin/sbclient tcp-connect $BLACKHOLE4 18603 --sndtimeo 3000; echo status=\$?"
sb_wait_until 30 grep -q "served by the helper (pid $D_HELPER)" "$AGENT_LOG" ||
    sb_fail "the agent did not pass the connect on: $(cat "$AGENT_LOG")"
sleep 0.3
kill -KILL "$D_HELPER"
wait "$D_HELPER" 2>/dev/null || true
sb_wait_until 30 test -e "$T/oci.D.rc" || sb_fail "crun run (D) hangs after the helper died"
sb_assert_eq 0 "$(cat "$T/oci.D.rc")" "crun run (D) status; output: $(tr '\n' ' ' <"$T/oci.D.out")"
got=$(pb_get "$T/oci.D.out" connect)
[ -n "$got" ] && [ "$got" != ok ] && [ "$got" != ENOSYS ] ||
    sb_fail "(D) expected the container's own connect error, got '$got': $(tr '\n' ' ' <"$T/oci.D.out")"
sb_assert_contains "$(cat "$AGENT_LOG")" "answered CONTINUE 1 notification its helper left unanswered" \
    "the agent answered the helper's pending notification"
TARGET_PID=$B_TARGET
HELPER_PID=$B_HELPER
HELPER_LOG=$B_HELPER_LOG

sb_log "(C) no agent at all: CONTINUE, the container runs, the slirp path"
kill -TERM "$AGENT_PID"
sb_wait_until 10 oci_gone "$AGENT_PID" || sb_fail "the agent did not stop"
[ ! -e "$A" ] || sb_fail "the agent left its socket behind"
crp_run C "$U/bundle" "SLIRPBYPASS_AGENT_SOCKET=$A" /bin/sbclient tcp-connect 10.0.2.2 18601
sb_assert_eq 0 "$OCI_RC" "crun run (C) status; output: $(tr '\n' ' ' <"$OCI_OUT")"
pb_assert_slirp "$OCI_OUT" "no agent"
sb_assert_contains "$(cat "$OCI_OUT")" "slirpbypass-crun: agent $A" "the plugin's one log line"
sb_assert_eq 1 "$(grep -c 'slirpbypass-crun:' "$OCI_OUT")" "the plugin logs once"

sb_alive "$HELPER_PID" || sb_fail "the helper died: $(cat "$HELPER_LOG")"
sb_log "PASS"
