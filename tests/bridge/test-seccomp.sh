#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-seccomp.sh - --enable-seccomp (slirp-bridge/seccomp.c).
#
# Theory of operation: part 1 loads the filter in tests/bridge/sandbox_probe
# (alone, with the bypass's syscalls kept, after the sandbox, and as the
# unprivileged test user) and checks, through forked children, that each
# listed syscall kills with SIGSYS, that the bypass's pidfd_open/pidfd_getfd/
# process_vm_readv work only when kept, and that what this process still
# needs (sockets, GLib threads, which name themselves with prctl) works.
# Part 2 checks the real slirpbypass: Seccomp mode 2 in /proc/PID/status and
# the "seccomp: The following syscalls are blocked: ..." line on stdout.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"

. "$(dirname "$0")/probe-lib.sh"

# check_filtered OUT KEEP WHAT - the syscall results under the filter;
# KEEP=1 when the bypass's syscalls were kept.
check_filtered()
{
    local out=$1 keep=$2 what=$3 s want
    sb_assert_eq 2 "$(kv "$out" seccomp)" "$what: Seccomp mode"
    sb_assert_eq 1 "$(kv "$out" no_new_privs)" "$what: NoNewPrivs"
    for s in unshare mount execve ptrace prctl_get_dumpable; do
        sb_assert_eq killed:SYS "$(kv "$out" "sys_$s")" "$what: $s"
    done
    want=killed:SYS
    [ "$keep" = 1 ] && want=ok
    for s in pidfd_open pidfd_getfd process_vm_readv; do
        sb_assert_eq "$want" "$(kv "$out" "sys_$s")" "$what: $s"
    done
    for s in socket prctl_set_name glib_thread; do
        sb_assert_eq ok "$(kv "$out" "sys_$s")" "$what: $s"
    done
}

# ---- part 1: the probe ----------------------------------------------------

# Without the filter the same calls are not killed (so the checks below
# can tell a filter from a broken probe).
sb_log "probe without a filter"
probe "$T/none.out" "$PROBE"
sb_assert_eq 0 "$(kv "$T/none.out" seccomp)" "no filter: Seccomp mode"
for s in pidfd_open prctl_get_dumpable glib_thread; do
    sb_assert_eq ok "$(kv "$T/none.out" "sys_$s")" "no filter: $s"
done

sb_log "probe as root, filter only"
probe "$T/root.out" "$PROBE" --seccomp
check_filtered "$T/root.out" 0 "root"

sb_log "probe as root, bypass syscalls kept"
probe "$T/keep.out" "$PROBE" --seccomp-keep
check_filtered "$T/keep.out" 1 "root keep"

sb_log "probe as root, sandbox then filter"
probe "$T/sandbox.out" "$PROBE" --join --sandbox --seccomp
check_filtered "$T/sandbox.out" 0 "root sandbox"

sb_log "probe as $USER_NAME, filter only (no capabilities at all)"
probe "$T/user.out" sb_as_user "$PROBE" --seccomp
check_filtered "$T/user.out" 0 "user"

sb_start_target --user "$USER_NAME"
sb_log "probe as $USER_NAME, sandbox in the target's userns, then filter (kept)"
probe "$T/user-sandbox.out" sb_as_user "$PROBE" --join --pid "$TARGET_PID" \
    --sandbox --seccomp-keep
check_filtered "$T/user-sandbox.out" 1 "user sandbox keep"

sb_log "blocked-name lists"
probe "$T/names.out" "$PROBE" --names
FULL=$(kv "$T/names.out" blocked)
KEEP=$(kv "$T/names.out" blocked_keep)
S4N="execve lookup_dcookie pidfd_getfd ptrace process_vm_readv process_vm_writev delete_module finit_module init_module chroot fsconfig fsmount fsopen fspick mount move_mount open_tree pivot_root umount umount2 open_by_handle_at execveat pidfd_open pidfd_send_signal prctl setns unshare kexec_file_load kexec_load reboot name_to_handle_at"
case "$FULL" in
"$S4N" | "$S4N "*) ;;
*) sb_fail "blocked list does not start with slirp4netns's: $FULL" ;;
esac
for s in pidfd_open pidfd_getfd process_vm_readv; do
    case " $KEEP " in *" $s "*) sb_fail "kept list still blocks $s" ;; esac
done
sb_assert_eq "$(printf '%s\n' $FULL | grep -vxE 'pidfd_open|pidfd_getfd|process_vm_readv' | tr '\n' ' ' | sed 's/ $//')" \
    "$KEEP" "kept list = full list minus the bypass syscalls"

# ---- part 2: the real slirpbypass ----------------------------------------

if ! "$SLIRPBYPASS" --help 2>/dev/null | grep -q -- --enable-seccomp; then
    sb_log "SKIP part 2: $SLIRPBYPASS --help does not work yet"
    exit 0
fi

# check_helper WHAT - filter mode and the stdout line of a running helper.
check_helper()
{
    local what=$1
    sb_assert_eq 2 "$(sed -n 's/^Seccomp:[[:space:]]*//p' "/proc/$HELPER_PID/status")" \
        "$what: Seccomp mode"
    grep -qxF "seccomp: The following syscalls are blocked: $FULL" "$HELPER_LOG" ||
        sb_fail "$what: no exact 'seccomp: The following syscalls are blocked' line in: $(cat "$HELPER_LOG")"
}

sb_log "slirpbypass --enable-seccomp as root"
sb_start_target
ROOT_TARGET=$TARGET_PID
sb_start_helper --enable-seccomp -c "$ROOT_TARGET" tap0
check_helper "root helper"
sb_stop_helper

sb_log "slirpbypass --enable-sandbox --enable-seccomp as root"
sb_start_helper --enable-sandbox --enable-seccomp -c "$ROOT_TARGET" tap0
check_helper "root helper, sandbox"
sb_stop_helper

sb_log "slirpbypass --enable-sandbox --enable-seccomp as $USER_NAME"
sb_start_target --user "$USER_NAME"
sb_start_helper sb_as_user --enable-sandbox --enable-seccomp -c "$TARGET_PID" tap0
check_helper "user helper, sandbox"
sb_stop_helper

exit 0
