#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# run-fuzz.sh EXE SEED_DIR [SECONDS] - run one libFuzzer target for a
# bounded time (FUZZ_SECONDS, default 15; a script runs it for hours) from
# the committed seed corpus, inside a private network namespace (the API
# target binds ports).  New inputs go to a temporary directory, never into
# the source tree.  On a crash the input is printed (base64) so that it
# can become a regression seed, and the exit status is non-zero.
set -u
exe=$1 seeds=$2 secs=${3:-${FUZZ_SECONDS:-15}}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sb-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/corpus-new"
if [ "$(id -u)" = 0 ]; then ns="unshare -n"; else ns="unshare -rn"; fi
# shellcheck disable=SC2086 # $ns is a command and its option
$ns sh -c 'ip link set lo up 2>/dev/null; exec "$@"' sh \
    "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -error_exitcode=1 -timeout_exitcode=1 \
    -print_final_stats=1 -artifact_prefix="$tmp/" "$tmp/corpus-new" "$seeds" \
    2>"$tmp/log"
rc=$?
grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$tmp/log"
if [ "$rc" != 0 ]; then
    tail -n 60 "$tmp/log"
    for f in "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-* "$tmp"/oom-*; do
        [ -f "$f" ] || continue
        echo "=== $(basename "$f") (base64):"
        base64 "$f"
    done
fi
exit "$rc"
