#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-install.sh - `meson install` into a DESTDIR puts every shipped file
# where it belongs, and the installed pieces work together.
#
# Theory of operation: install the build tree under $T/dest (DESTDIR, the
# configured prefix kept), then check: the binary (runs, --version), the man
# page (names the agent), the systemd user units (ExecStart names the
# installed binary; `systemd-analyze verify` accepts them), the example
# configuration (accepted as a user config file by the installed binary,
# with its bypass=true line uncommented: the helper then registers with an
# agent it starts), and the crun plugin if it is built.  The installed
# socket unit's contract (a listening socket on fd 3) is exercised with
# systemd-socket-activate: the installed agent serves a socket it did not
# create and leaves it in place at exit.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict
sb_need meson

D=$T/dest
DESTDIR=$D meson install -C "$SB_BUILD_ROOT" --no-rebuild --quiet >"$T/install.log" 2>&1 ||
    sb_fail "meson install failed: $(cat "$T/install.log")"
prefix=$(meson introspect --buildoptions "$SB_BUILD_ROOT" |
    python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"][0])')
P=$D$prefix
sb_log "installed under $P"

bin=$P/bin/slirpbypass
[ -x "$bin" ] || sb_fail "no executable $bin"
"$bin" --version | grep -q '^slirpbypass version' || sb_fail "installed binary: --version"

man=$P/share/man/man1/slirpbypass.1
[ -f "$man" ] || sb_fail "no man page at $man"
grep -q 'slirpbypass agent' "$man" || sb_fail "the man page does not document 'slirpbypass agent'"

units=$(find "$D" -path '*/systemd/user/slirpbypass-agent.*' -type f | sort)
[ "$(echo "$units" | wc -l)" = 2 ] || sb_fail "expected the .socket and .service user units, got: $units"
svc=$(echo "$units" | grep '\.service$')
sock=$(echo "$units" | grep '\.socket$')
sb_assert_contains "$(cat "$svc")" "ExecStart=$prefix/bin/slirpbypass agent" "the service runs the installed binary"
sb_assert_contains "$(cat "$sock")" 'ListenStream=%t/slirpbypass/agent.sock' "the socket unit's path is the default agent socket"
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$T/units"
    cp "$sock" "$T/units/"
    sed "s|^ExecStart=$prefix|ExecStart=$P|" "$svc" >"$T/units/slirpbypass-agent.service"
    SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$T/units/slirpbypass-agent.socket" \
        "$T/units/slirpbypass-agent.service" >"$T/verify.log" 2>&1 ||
        sb_fail "systemd-analyze verify: $(cat "$T/verify.log")"
fi

conf=$P/share/doc/slirpbypass/examples/slirpbypass.conf
[ -f "$conf" ] || sb_fail "no example configuration at $conf"
sed 's/^#bypass=true$/bypass=true/; s/^#allow_host_loopback=true$/allow_host_loopback=true/' \
    "$conf" >"$T/user.conf"
grep -q '^bypass=true$' "$T/user.conf" || sb_fail "the example has no '#bypass=true' line to uncomment"
mkdir -m 0700 "$T/xdg"
sb_start_target
SLIRPBYPASS=$bin SLIRPBYPASS_USER_CONFIG=$T/user.conf SLIRPBYPASS_SYSTEM_CONFIG=/nonexistent \
    XDG_RUNTIME_DIR=$T/xdg sb_start_helper --configure "$TARGET_PID" tap0
sb_assert_contains "$(cat "$HELPER_LOG")" "registered with the agent $T/xdg/slirpbypass/agent.sock" \
    "the example's bypass=true, installed binary"
spawned=$(pgrep -f "agent --socket $T/xdg/slirpbypass/agent.sock" | head -n 1)
[ -n "$spawned" ] || sb_fail "no agent was started"
sb_track "$spawned"
[ "$(readlink "/proc/$spawned/exe")" = "$bin" ] || sb_fail "the agent started is not the installed binary"
sb_stop_helper
kill "$spawned"

if command -v systemd-socket-activate >/dev/null; then
    sb_log "socket activation: the installed agent serves systemd's socket"
    S=$T/act/agent.sock
    mkdir -m 0700 "$T/act"
    sb_bg systemd-socket-activate -l "$S" "$bin" agent
    ACT=$BG_PID
    sb_wait_until 10 test -S "$S" || sb_fail "systemd-socket-activate did not listen: $(cat "$BG_LOG")"
    timeout 30 "$bin" exec --socket "$S" -- true >"$T/exec.log" 2>&1 ||
        sb_fail "exec through the activated agent: $(cat "$T/exec.log")"
    sb_wait_until 10 grep -q 'serving the socket from systemd' "$BG_LOG" ||
        sb_fail "the agent did not take the socket from systemd: $(cat "$BG_LOG")"
    kill "$ACT"
    sb_wait_until 10 sh -c "! kill -0 $ACT 2>/dev/null" || sb_fail "the activated agent did not exit"
    [ -S "$S" ] || sb_fail "the agent removed systemd's socket file"
fi

plugin=$(find "$D" -name 'libslirpbypass-crun.so' | head -n 1)
if [ -f "$SB_BUILD_ROOT/plugin/crun-plugin/libslirpbypass-crun.so" ]; then
    [ -n "$plugin" ] || sb_fail "the crun plugin is built but not installed"
fi
sb_log "ok"
