#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Logging into a file (as podman does: stdout and stderr go to an unlinked
# log file): no line is printed twice across the tap child's fork, and the
# "Starting slirp" banner is in the file while the helper runs, not only at
# exit.  slirp4netns's fully buffered stdout duplicates the WARNING lines
# and delays the banner (a documented deviation, so this test is skipped
# for it).
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict

if sb_is_slirp4netns; then
    sb_skip "slirp4netns duplicates its WARNING lines (fully buffered stdout)"
fi

# count PATTERN - how many lines of the helper log match (fixed string).
count()
{
    grep -cF -- "$1" "$HELPER_LOG" || true
}

sb_start_target
sb_start_helper -c -6 --enable-seccomp --outbound-addr=127.0.0.1 "$TARGET_PID" tap0
sb_assert_eq 1 "$(count 'Starting slirp')" "banner present once while running"
sb_stop_helper TERM
sb_assert_eq 0 "$HELPER_STATUS" "exit status"
for line in 'WARNING: Support for IPv6 is experimental' \
    'WARNING: Support for seccomp is experimental' \
    'WARNING: Support for --outbound-addr is experimental' \
    'Starting slirp' 'sent tapfd=' 'received tapfd=' \
    'seccomp: The following syscalls are blocked:'; do
    sb_assert_eq 1 "$(count "$line")" "'$line' exactly once"
done
sb_log ok
