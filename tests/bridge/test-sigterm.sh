#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# SIGTERM and SIGINT end slirpbypass cleanly: exit status 0 and the API
# socket file is unlinked.  (A documented deviation from slirp4netns, which
# has no handler: it dies with 143 and leaves the socket file behind; so
# this test is skipped when $SLIRPBYPASS is slirp4netns.)
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict

if sb_is_slirp4netns; then
    sb_skip "clean exit on SIGTERM is a slirpbypass extension"
fi

for sig in TERM INT; do
    sb_log "SIG$sig"
    sb_start_target
    sb_start_helper -c --api-socket "$T/api.sock" "$TARGET_PID" tap0
    [ -S "$T/api.sock" ] || sb_fail "API socket missing while running"
    sb_stop_helper "$sig"
    sb_assert_eq 0 "$HELPER_STATUS" "exit status after SIG$sig"
    [ ! -e "$T/api.sock" ] || sb_fail "API socket not unlinked after SIG$sig"
done
sb_log "ok"
