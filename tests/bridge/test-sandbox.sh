#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-sandbox.sh - --enable-sandbox (slirp-bridge/sandbox.c).
#
# Theory of operation: part 1 drives the sandbox code through
# tests/bridge/sandbox_probe (no networking needed): as root and as the
# unprivileged test user (joining the target's user namespace in pid mode,
# a private user namespace in path mode, an explicit --userns-path, and as
# root of a user namespace like podman), it checks what the sandboxed
# process sees: capabilities reduced to CAP_NET_BIND_SERVICE (0x400), a
# root holding only etc and run, everything read-only; that a /run submount
# the caller makes *after* the sandbox is up propagates in (slirp4netns#153)
# and that nothing propagates back out.  Part 2 checks the same on the real
# slirpbypass process (/proc/PID/status, /proc/PID/root) when the binary
# can start a helper.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"

. "$(dirname "$0")/probe-lib.sh"
CAP_NBS=0000000000000400

# check_sandboxed OUT CAPS WHAT [ROOT] - the common assertions on a
# report; ROOT: the expected entries of / (default etc,run).
check_sandboxed()
{
    local out=$1 caps=$2 what=$3 root=${4:-etc,run}
    sb_assert_eq 0 "$(kv "$out" euid)" "$what: euid"
    sb_assert_eq "$caps" "$(kv "$out" cap_eff)" "$what: CapEff"
    sb_assert_eq "$caps" "$(kv "$out" cap_prm)" "$what: CapPrm"
    sb_assert_eq "$caps" "$(kv "$out" cap_bnd)" "$what: CapBnd"
    sb_assert_eq 0000000000000000 "$(kv "$out" cap_amb)" "$what: CapAmb"
    sb_assert_eq 1 "$(kv "$out" no_new_privs)" "$what: NoNewPrivs"
    sb_assert_eq "$root" "$(kv "$out" root)" "$what: entries of /"
    sb_assert_eq 0 "$(kv "$out" home_exists)" "$what: /home visible"
    sb_assert_eq 1 "$(kv "$out" resolv_readable)" "$what: /etc/resolv.conf"
    sb_assert_eq EROFS "$(kv "$out" mkdir_root)" "$what: mkdir in /"
    sb_assert_eq 1 "$(kv "$out" ro_root)" "$what: / read-only"
    sb_assert_eq 1 "$(kv "$out" ro_etc)" "$what: /etc read-only"
    sb_assert_eq 1 "$(kv "$out" ro_run)" "$what: /run read-only"
    # EACCES when /etc belongs to an unmapped uid (rootless): either way
    # nothing can be created.
    case "$(kv "$out" create_etc)" in
    EROFS | EACCES) ;;
    *) sb_fail "$what: create in /etc: $(kv "$out" create_etc)" ;;
    esac
    sb_assert_eq ok "$(kv "$out" sys_socket)" "$what: socket()"
}

# hold_probe ARGS... - start the probe with --hold; wait for "ready".
# Sets HOLD_PID (the probe itself) and HOLD_OUT; the probe ends when the
# test exits (the harness kills it).
hold_probe()
{
    sb_bg "$@" --hold
    HOLD_PID=$BG_PID
    HOLD_OUT=$BG_LOG
    sb_wait_until 20 grep -qx ready "$HOLD_OUT" ||
        sb_fail "held probe not ready: $(cat "$HOLD_OUT")"
}

# check_root_view PID WHAT - what /proc/PID/root shows from outside, and
# that the pre-existing /run submount is read-only in there.
check_root_view()
{
    local pid=$1 what=$2 opts
    [ -d "/proc/$pid/root/etc" ] || sb_fail "$what: no /etc in its root"
    [ -d "/proc/$pid/root/run" ] || sb_fail "$what: no /run in its root"
    # (tmp may exist: the resolv.conf bind below adds it.)
    for d in home root var usr; do
        [ ! -e "/proc/$pid/root/$d" ] || sb_fail "$what: /$d visible in its root"
    done
    opts=$(awk -v m="$PRE_DIR" '$5 == m { print $6 }' "/proc/$pid/mountinfo")
    case "$opts" in
    ro | ro,*) ;;
    *) sb_fail "$what: $PRE_DIR in the sandbox has options '$opts', not ro" ;;
    esac
}

# A shared /run in this (private) mount namespace, as on a systemd host,
# so that propagation into the sandbox can be observed.
mount --bind /run /run && mount --make-shared /run ||
    sb_fail "cannot make /run a shared mount in the private host"
# A /run submount that exists before the sandbox starts (like
# /run/user/UID): the sandbox's copy must be read-only too (recursive).
PRE_DIR=/run/sb-sandbox-pre.$$
mkdir -p "$PRE_DIR" && mount -t tmpfs -o size=64k sbpre "$PRE_DIR" ||
    sb_fail "cannot mount a tmpfs on $PRE_DIR"
MOUNTS_BEFORE=$(wc -l </proc/self/mountinfo)
SUBMOUNT_N=0

# check_propagation PID WHAT - a /run submount made now must show up in
# the sandbox of PID (rslave), read through /proc/PID/root.
check_propagation()
{
    local pid=$1 what=$2 dir
    SUBMOUNT_N=$((SUBMOUNT_N + 1))
    dir=/run/sb-sandbox-test.$$.$SUBMOUNT_N
    mkdir -p "$dir" && mount -t tmpfs -o size=64k sbtest "$dir" &&
        echo "$what" >"$dir/marker" || sb_fail "cannot mount a tmpfs on $dir"
    sb_wait_until 5 test -f "/proc/$pid/root$dir/marker" ||
        sb_fail "$what: /run submount made after start not visible (propagation)"
    sb_assert_eq "$what" "$(cat "/proc/$pid/root$dir/marker")" "$what: marker"
}

# ---- part 1: the probe ----------------------------------------------------

sb_log "probe as root"
probe "$T/root.out" "$PROBE" --join --sandbox
check_sandboxed "$T/root.out" "$CAP_NBS" "root"

sb_log "probe as root, keep_caps=CAP_SYS_PTRACE"
probe "$T/keep.out" "$PROBE" --join --sandbox --keep-caps 80000
check_sandboxed "$T/keep.out" 0000000000080400 "root+keep_caps"

sb_log "probe refuses a multi-threaded process"
"$PROBE" --join --sandbox --thread-first >"$T/threads.out" 2>&1 </dev/null &&
    sb_fail "sandbox entered with two threads"
sb_assert_contains "$(cat "$T/threads.out")" "error=sandbox: /proc/self/task: 2 threads" "threads"

sb_log "held probe as root: root view, /run propagation"
hold_probe "$PROBE" --join --sandbox
check_root_view "$HOLD_PID" "root probe"
[ ! -e "/proc/$HOLD_PID/root/tmp" ] || sb_fail "root probe: /tmp visible in its root"
check_propagation "$HOLD_PID" "root probe"

sb_start_target --user "$USER_NAME"
USER_TARGET=$TARGET_PID

sb_log "probe as $USER_NAME joining the target's user namespace (pid mode)"
probe "$T/user-pid.out" sb_as_user "$PROBE" --join --pid "$USER_TARGET" --sandbox
check_sandboxed "$T/user-pid.out" "$CAP_NBS" "user, pid mode"

sb_log "probe as $USER_NAME, path mode without --userns-path (private userns)"
probe "$T/user-path.out" sb_as_user "$PROBE" --join --path-mode --sandbox
check_sandboxed "$T/user-path.out" "$CAP_NBS" "user, path mode"

sb_log "probe as $USER_NAME, path mode with --userns-path"
probe "$T/user-usernspath.out" sb_as_user "$PROBE" --join --path-mode \
    --userns-path "/proc/$USER_TARGET/ns/user" --sandbox
check_sandboxed "$T/user-usernspath.out" "$CAP_NBS" "user, --userns-path"

sb_log "probe as root of a user namespace (as podman runs it)"
probe "$T/user-nsroot.out" sb_as_user unshare -Ur "$PROBE" --join --sandbox
check_sandboxed "$T/user-nsroot.out" "$CAP_NBS" "userns root"

sb_log "probe as $USER_NAME without a user namespace must fail cleanly"
rc=0
sb_as_user "$PROBE" --sandbox >"$T/user-nojoin.out" 2>&1 </dev/null || rc=$?
sb_assert_eq 2 "$rc" "unprivileged sandbox without userns: exit status"
sb_assert_eq "sandbox: unshare CLONE_NEWNS: Operation not permitted" \
    "$(kv "$T/user-nojoin.out" error)" "unprivileged sandbox without userns"

sb_log "probe as $USER_NAME with a bad --userns-path"
rc=0
sb_as_user "$PROBE" --join --userns-path /nonexistent/userns --sandbox \
    >"$T/user-bad.out" 2>&1 </dev/null || rc=$?
sb_assert_eq 2 "$rc" "bad --userns-path: exit status"
sb_assert_eq "sandbox: open /nonexistent/userns: No such file or directory" \
    "$(kv "$T/user-bad.out" error)" "bad --userns-path"

sb_log "held probe as $USER_NAME: root view, /run propagation"
hold_probe sb_as_user "$PROBE" --join --pid "$USER_TARGET" --sandbox
check_root_view "$HOLD_PID" "user probe"
check_propagation "$HOLD_PID" "user probe"

# Nothing the sandboxes mounted (tmpfs on /tmp, binds) leaked back here.
if findmnt -n /tmp >/dev/null 2>&1; then
    sb_fail "a sandbox's tmpfs on /tmp propagated to the caller"
fi
sb_assert_eq $((MOUNTS_BEFORE + SUBMOUNT_N)) "$(wc -l </proc/self/mountinfo)" \
    "mount count of the caller (only the test's own /run submounts)"

# /etc/resolv.conf whose symlink chain ends outside /etc and /run (NixOS:
# /etc/resolv.conf -> /etc/static/resolv.conf -> /nix/store/...): the
# sandbox must bind the real file.  Here it ends under /tmp, which the
# sandbox's own tmpfs covers: the hardest case.  /etc is replaced by an
# overlay in this private mount namespace only; part 2 runs with it too.
sb_log "resolv.conf outside /etc and /run"
RESOLV_MARK="# sb-sandbox-resolv-marker $$"
mkdir -p "$T/ov/upper" "$T/ov/work" "$T/nix/store" &&
    printf '%s\nnameserver 127.0.0.53\n' "$RESOLV_MARK" >"$T/nix/store/resolv.conf" &&
    chmod 0755 "$T/nix" "$T/nix/store" && chmod 0644 "$T/nix/store/resolv.conf" &&
    mount -t overlay sbetc -o "lowerdir=/etc,upperdir=$T/ov/upper,workdir=$T/ov/work" /etc &&
    mkdir -p /etc/sbstatic && rm -f /etc/resolv.conf &&
    ln -s "$T/nix/store/resolv.conf" /etc/sbstatic/resolv.conf &&
    ln -s /etc/sbstatic/resolv.conf /etc/resolv.conf ||
    sb_fail "cannot set up the resolv.conf symlink chain"
sb_assert_eq "$T/nix/store/resolv.conf" "$(realpath /etc/resolv.conf)" "resolv.conf chain"

probe "$T/resolv-root.out" "$PROBE" --join --sandbox
check_sandboxed "$T/resolv-root.out" "$CAP_NBS" "root, resolv.conf outside" etc,run,tmp
sb_assert_eq "$RESOLV_MARK" "$(kv "$T/resolv-root.out" resolv_first)" \
    "root: resolv.conf content through the chain"

probe "$T/resolv-user.out" sb_as_user "$PROBE" --join --pid "$USER_TARGET" --sandbox
check_sandboxed "$T/resolv-user.out" "$CAP_NBS" "user, resolv.conf outside" etc,run,tmp
sb_assert_eq "$RESOLV_MARK" "$(kv "$T/resolv-user.out" resolv_first)" \
    "user: resolv.conf content through the chain"

# ---- part 2: the real slirpbypass ----------------------------------------

if ! "$SLIRPBYPASS" --help 2>/dev/null | grep -q -- --enable-sandbox; then
    sb_log "SKIP part 2: $SLIRPBYPASS --help does not work yet"
    exit 0
fi

# check_helper WHAT - the sandboxed helper's credentials and root view.
check_helper()
{
    local what=$1 caps
    caps=$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$HELPER_PID/status")
    sb_assert_eq "$CAP_NBS" "$caps" "$what: helper CapEff"
    caps=$(sed -n 's/^CapBnd:[[:space:]]*//p' "/proc/$HELPER_PID/status")
    sb_assert_eq "$CAP_NBS" "$caps" "$what: helper CapBnd"
    if command -v getpcaps >/dev/null; then
        sb_assert_contains "$(getpcaps "$HELPER_PID" 2>&1)" cap_net_bind_service \
            "$what: getpcaps"
        case "$(getpcaps "$HELPER_PID" 2>&1)" in
        *cap_sys_admin*) sb_fail "$what: helper kept cap_sys_admin" ;;
        esac
    fi
    check_root_view "$HELPER_PID" "$what"
    awk -v m="$T/nix/store/resolv.conf" '$5 == m { f = 1 } END { exit !f }' \
        "/proc/$HELPER_PID/mountinfo" ||
        sb_fail "$what: resolv.conf's real file is not bound in the sandbox"
    check_propagation "$HELPER_PID" "$what"
}

sb_log "slirpbypass --enable-sandbox as root"
sb_start_target
sb_start_helper --enable-sandbox -c "$TARGET_PID" tap0
check_helper "root helper"
sb_stop_helper

sb_log "slirpbypass --enable-sandbox as $USER_NAME"
TARGET_PID=$USER_TARGET
sb_start_helper sb_as_user --enable-sandbox -c "$TARGET_PID" tap0
check_helper "user helper"
sb_stop_helper

exit 0
