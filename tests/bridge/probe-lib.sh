# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# probe-lib.sh - shared set-up of test-sandbox.sh and test-seccomp.sh:
# a copy of tests/bridge/sandbox_probe that the unprivileged test user can
# run, the test user itself, and the helpers kv/probe.  Sourced after
# sb_enter_private_host (it needs $T).
PROBE_SRC=${SB_SANDBOX_PROBE:-${SB_BUILD_ROOT:-}/tests/bridge/sandbox_probe}
[ -x "$PROBE_SRC" ] || sb_fail "sandbox_probe not found at $PROBE_SRC"
# A copy in $T so the unprivileged user can run it whatever the build
# tree's permissions are.
cp "$PROBE_SRC" "$T/sandbox_probe.bin" && chmod 0755 "$T/sandbox_probe.bin" ||
    sb_fail "cannot copy the probe"
# LeakSanitizer needs /proc and ptrace at exit, which the sandbox and the
# filter take away on purpose: no leak check in sandboxed processes of an
# ASan build (the wrapper execs, so PIDs stay the probe's; it also survives
# the `env -i` of sb_as_user).  The same for the real helper in part 2.
SB_NO_LEAKS="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
PROBE=$T/sandbox_probe
printf '#!/bin/sh\nexec env "%s" "%s" "$@"\n' "$SB_NO_LEAKS" "$T/sandbox_probe.bin" >"$PROBE" &&
    chmod 0755 "$PROBE" || sb_fail "cannot write the probe wrapper"
SB_HELPER_WRAP=(env "$SB_NO_LEAKS")

USER_NAME=$(sb_ensure_test_user)

# kv FILE KEY - the value of KEY=... in a probe report.
kv()
{
    sed -n "s/^$2=//p" "$1" | head -n 1
}

# probe OUT ARGS... - run the probe (prefix `sb_as_user` for the test
# user) with a bound, output in OUT; fails the test unless it exits 0.
probe()
{
    local out=$1 rc=0
    shift
    if [ "$1" = sb_as_user ]; then
        shift
        sb_user_argv
        set -- "${SB_USER_ARGV[@]}" "$@"
    fi
    timeout 30 "$@" </dev/null >"$out" 2>&1 || rc=$?
    [ "$rc" = 0 ] || sb_fail "probe $* exited $rc: $(cat "$out")"
}
