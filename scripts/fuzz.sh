#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fuzz.sh - the long form of the fuzz suite: build the libFuzzer targets
# (tests/fuzz) with clang, ASan and UBSan in _build-fuzz, and run each for
# FUZZ_SECONDS (default 3600) in turn, from its seed corpus, inside a
# private network namespace (tests/fuzz/run-fuzz.sh).  A crash prints the
# input in base64: add it to tests/fuzz/corpus/NAME as a regression seed.
#
# Usage: sudo ./scripts/fuzz.sh [TARGET...]   (api state policy profile cli)
set -u -o pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir="$src/_build-fuzz"
secs=${FUZZ_SECONDS:-3600}
targets=${*:-api state policy profile cli}

if [ ! -f "$dir/build.ninja" ]; then
    CC=clang meson setup "$dir" "$src" -Dfuzz=true -Dwerror=false \
        -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args=-fsanitize=fuzzer-no-link \
        -Dc_link_args=-fsanitize=fuzzer-no-link || exit 1
fi
ninja -C "$dir" || exit 1
status=0
for t in $targets; do
    echo "=== fuzz $t for $secs s"
    "$src/tests/fuzz/run-fuzz.sh" "$dir/tests/fuzz/fuzz_$t" \
        "$src/tests/fuzz/corpus/$t" "$secs" || status=1
done
exit "$status"
