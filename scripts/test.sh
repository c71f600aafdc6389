#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test.sh - the whole test suite: install the dependencies, build slirpbypass
# in fresh directories (a normal build, an ASan+UBSan build, and a clang
# libFuzzer build), run `meson test` in each (unit and integration suites;
# in the fuzz build the fuzz suite: every target for FUZZ_SECONDS, default
# 15, from its seed corpus), print the logs of the failures and a final
# line "N passed, N failed, N skipped" summed over the builds.  Exit status
# 0 only when nothing failed.
#
# Run as root from anywhere: sudo ./scripts/test.sh
# Environment: SB_TEST_BUILDS ("normal asan fuzz" by default; a subset may be
# given), SB_SKIP_DEPS=1 to skip install-deps.sh, MESON_TEST_ARGS for extra
# `meson test` arguments (e.g. "--suite unit").
set -u -o pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src" || exit 1

if [ "$(id -u)" != 0 ]; then
    echo "test.sh: must run as root (the integration tests create namespaces): sudo $0" >&2
    exit 1
fi

if [ "${SB_SKIP_DEPS:-0}" != 1 ]; then
    "$src/scripts/install-deps.sh" || { echo "test.sh: install-deps.sh failed" >&2; exit 1; }
fi

# The rootless tests run the built binaries and the test scripts as an
# unprivileged user.  A checkout below a private directory (/root, a
# `mktemp -d` directory, ...) is out of that user's reach, so test a
# world-readable copy instead of loosening the caller's directories.
if ! setpriv --reuid=65534 --regid=65534 --clear-groups \
    test -r "$src/meson.build" 2>/dev/null; then
    copy=$(mktemp -d /var/tmp/slirpbypass-test.XXXXXX) || exit 1
    tar -C "$src" --exclude='./_build*' -cf - . | tar -C "$copy" -xf - || exit 1
    # after the copy: the archive's "." entry carries $src's own mode
    # (0700 for a `mktemp -d` checkout) onto $copy
    chmod 0755 "$copy"
    echo "test.sh: $src is not readable by unprivileged users; testing a copy in $copy"
    src=$copy
    cd "$src" || exit 1
fi

# A fresh machine (or container) may lack the tun device node.
if [ ! -c /dev/net/tun ]; then
    modprobe tun 2>/dev/null || true
    mkdir -p /dev/net && mknod -m 0600 /dev/net/tun c 10 200 2>/dev/null || true
fi

passed=0
failed=0
skipped=0
failed_names=()

# count_results BUILD_DIR NAME - add the results of testlog.json to the
# totals and remember the failed tests' names.
count_results()
{
    local log="$1/meson-logs/testlog.json" line name result
    if [ ! -s "$log" ]; then
        failed=$((failed + 1))
        failed_names+=("$2: no test log (meson test did not run)")
        return
    fi
    while IFS= read -r line; do
        name=$(printf '%s' "$line" | jq -r .name)
        result=$(printf '%s' "$line" | jq -r .result)
        case "$result" in
        OK | EXPECTEDFAIL) passed=$((passed + 1)) ;;
        SKIP) skipped=$((skipped + 1)) ;;
        *)
            failed=$((failed + 1))
            failed_names+=("$2: $name ($result)")
            ;;
        esac
    done <"$log"
}

# run_build NAME MESON_SETUP_ARGS... - fresh build dir _build-NAME, build,
# run meson test; results go into the totals.
run_build()
{
    local name=$1 dir="$src/_build-$1" logs="$src/_build-logs" extra=()
    shift
    echo "=== build '$name': meson setup $*"
    rm -rf "$dir"
    mkdir -p "$logs"
    if ! meson setup "$dir" "$@" >"$logs/$name.setup.log" 2>&1; then
        cat "$logs/$name.setup.log"
        failed=$((failed + 1))
        failed_names+=("$name: meson setup failed")
        return
    fi
    if ! ninja -C "$dir" >"$logs/$name.ninja.log" 2>&1; then
        grep -v '^\[' "$logs/$name.ninja.log" | tail -n 60
        failed=$((failed + 1))
        failed_names+=("$name: build failed")
        return
    fi
    [ "$name" = asan ] && extra=(--timeout-multiplier 3)
    [ "$name" = fuzz ] && extra=(--suite fuzz)
    echo "=== build '$name': meson test"
    # shellcheck disable=SC2086 # MESON_TEST_ARGS is a word list
    (cd "$dir" && meson test --print-errorlogs "${extra[@]}" ${MESON_TEST_ARGS:-} </dev/null)
    count_results "$dir" "$name"
}

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for b in ${SB_TEST_BUILDS:-normal asan fuzz}; do
    case "$b" in
    normal) run_build normal ;;
    asan) run_build asan -Db_sanitize=address,undefined -Db_lundef=false ;;
    # the libFuzzer targets, FUZZ_SECONDS (15) each from the seed corpus
    fuzz) CC=clang run_build fuzz -Dfuzz=true -Dwerror=false \
        -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args=-fsanitize=fuzzer-no-link \
        -Dc_link_args=-fsanitize=fuzzer-no-link ;;
    *) echo "test.sh: unknown build '$b'" >&2; exit 1 ;;
    esac
done

if [ "${#failed_names[@]}" -gt 0 ]; then
    echo "=== failures:"
    printf '  %s\n' "${failed_names[@]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
