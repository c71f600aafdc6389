# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Variables set here are read by the sourcing test or via eval:
# shellcheck disable=SC2034
#
# tests/lib/harness.sh - shared library for slirpbypass integration tests.
#
# Theory of operation
# -------------------
# Every integration test is a bash script that sources this file and then
# calls `sb_enter_private_host "$@"`.  That re-executes the script inside a
# fresh network namespace and a private mount namespace (`unshare -n -m`):
# loopback is up and the only other link is an unattached tun device carrying
# the IPv4 and IPv6 default routes, so no packet can leave the machine (a tun
# with no reader has no carrier; everything sent to it is dropped).  Inside
# this "private host" the test starts servers on loopback, a "container"
# (a process in its own user+network namespace) and the helper under test
# ($SLIRPBYPASS), which is exactly the topology a real engine creates.
#
# Every process started through the helpers below is remembered and killed
# by an EXIT trap, and the per-test directory $T is removed, so a failing
# test leaves nothing behind.  Nothing here waits without a bound: every
# wait has a timeout.
#
# Exit codes follow meson/automake: 0 pass, 1 fail, 77 skip.
# Debugging: SB_TRACE=1 runs the test under `bash -x`; SB_KEEP_TMP=1 keeps $T.
#
# The library does not change the caller's shell options (set -e etc.); all
# functions work with and without `set -euo pipefail` (see sb_strict).
#
# Pitfalls: call the sb_start_* / sb_bg functions in the test's own shell,
# never inside $(...) (a subshell's PIDs are not tracked, so nothing would
# clean them up); and redirections written on a function call (`sb_bg cmd
# 5>fifo`) are made by the test shell itself, not the background child.
#
# Public API (each function is documented where it is defined):
#   sb_enter_private_host "$@"   sb_fail MSG   sb_skip MSG   sb_log MSG
#   sb_tmpdir                    sb_start_target [--user NAME]
#   sb_in_target CMD...          sb_start_helper ARGS...   sb_stop_helper
#   sb_wait_until TIMEOUT CMD... sb_peer_server PORT [ADDR]
#   sb_http_server PORT [ADDR] [BODY]   sb_ensure_test_user   sb_as_user CMD...
#   sb_assert_eq EXPECTED ACTUAL MSG    sb_assert_contains HAYSTACK NEEDLE MSG
# Extras:
#   sb_bg CMD...                 (background process, tracked; sets BG_PID)
#   sb_udp_echo_server PORT [ADDR]
#   sb_wait_port PORT [tcp|udp] (wait for a listener in the current netns)
#   sb_target_argv               (array SB_TARGET_ARGV: the nsenter prefix)
#   sb_user_argv                 (array SB_USER_ARGV: the setpriv prefix)
#   sb_need CMD...               (skip unless every command exists)
#   sb_is_slirp4netns            (true when $SLIRPBYPASS is slirp4netns:
#                                 for documented deviations only)
#   sb_strict                    (set -eEuo pipefail; a failing command
#                                 fails the test naming its line)
#   sb_api JSON [SOCKET]         (one API request, prints the reply)
#   sb_alive PID                 (PID exists and is not a zombie)
#   sb_track PID                 (kill PID at exit, like sb_bg's processes)
#   sb_exit_pipe FD / sb_close_exit_pipe  (an exit pipe for the next helper)
#   SB_HELPER_WRAP=(cmd args)    (array: extra wrapper between the user
#                                 prefix and $SLIRPBYPASS; must exec it)

# Name of the unprivileged account used by rootless tests.
SB_TEST_USER=${SB_TEST_USER:-sbtest}
# Default bound for helper start-up and other waits, in seconds.
SB_TIMEOUT=${SB_TIMEOUT:-20}
# fd number on which sb_start_helper passes the ready pipe when the caller's
# argv has no -r/--ready-fd of its own.
SB_READY_FD=${SB_READY_FD:-9}

SB_PIDS=()
SB_COUNTER=0
SB_HELPER_WRAP=()
# fds of the test shell that no child may inherit (the exit pipe's write
# end: a child holding it would keep the helper's exit fd from ever HUPing).
SB_PRIVATE_FDS=()
SB_TEST_NAME=$(basename "${0%.sh}")

# sb_log MSG... - print a progress line on stderr (meson keeps it in the log).
sb_log()
{
    printf '[%s] %s\n' "$SB_TEST_NAME" "$*" >&2
}

# sb_fail MSG... - report a failure and exit 1 (the EXIT trap cleans up).
sb_fail()
{
    printf '[%s] FAIL: %s\n' "$SB_TEST_NAME" "$*" >&2
    exit 1
}

# sb_skip MSG... - report why the test cannot run here and exit 77.
sb_skip()
{
    printf '[%s] SKIP: %s\n' "$SB_TEST_NAME" "$*" >&2
    exit 77
}

# sb_strict - opt-in strict mode for test scripts: any unchecked failing
# command fails the test with its line number and text.
sb_strict()
{
    set -eEuo pipefail
    trap 'sb_fail "${BASH_SOURCE[0]##*/}:$LINENO (called from line ${BASH_LINENO[0]}): command failed (status $?): $BASH_COMMAND"' ERR
}

# sb_is_slirp4netns - true when $SLIRPBYPASS is Debian's slirp4netns (the
# tests are developed against it); use only around documented deviations.
sb_is_slirp4netns()
{
    case "$("$SLIRPBYPASS" --version 2>/dev/null | head -n 1 || true)" in
    slirp4netns*) return 0 ;;
    esac
    return 1
}

# sb_need CMD... - skip the test unless every named command is available.
sb_need()
{
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || sb_skip "missing command: $c"
    done
}

# sb_alive PID - true while PID exists and is not a zombie.
sb_alive()
{
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)
    [ "$state" != Z ] && [ -n "$state" ]
}

# _sb_cleanup - EXIT trap: stop every tracked process (TERM, then KILL after
# a short grace period), close nothing else, and remove $T.
_sb_cleanup()
{
    local rc=$? pid i alive
    trap - EXIT ERR
    set +e
    for pid in "${SB_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    # per-user agents a helper started on a socket under $T (detached, so
    # not tracked when the test ended before it found them)
    if [ -n "${T:-}" ]; then
        for pid in $(pgrep -f -- "slirpbypass agent --socket $T/" 2>/dev/null); do
            SB_PIDS+=("$pid")
            kill -TERM "$pid" 2>/dev/null
        done
    fi
    for ((i = 0; i < 30; i++)); do
        alive=0
        for pid in "${SB_PIDS[@]}"; do
            sb_alive "$pid" && alive=1
        done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${SB_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null
    done
    if [ -n "${T:-}" ] && [ -d "$T" ] && [ "${SB_KEEP_TMP:-0}" = 0 ]; then
        rm -rf "$T"
    fi
    exit "$rc"
}

# sb_track PID - remember PID so that the EXIT trap kills it.
sb_track()
{
    SB_PIDS+=("$1")
}

# sb_enter_private_host "$@" - make sure the test runs in a private host.
# First call (in the initial namespaces): re-exec "$0" "$@" under
# `unshare --net --mount`; the exit status is the test's.  Second call (in
# the new namespaces): bring lo up, create the unattached tun device `sbnull`
# with the IPv4/IPv6 default routes and a blackhole for the slirp range,
# install the EXIT trap and create $T.  Skips (77) when not root or when
# namespaces are unavailable.
sb_enter_private_host()
{
    local self_ns init_ns
    if [ "$(id -u)" != 0 ]; then
        sb_skip "integration tests must run as root (they create namespaces)"
    fi
    if [ -z "${SLIRPBYPASS:-}" ]; then
        # Running by hand from the source tree: use a build dir if obvious.
        SLIRPBYPASS=$(command -v slirpbypass 2>/dev/null || true)
        [ -n "$SLIRPBYPASS" ] || sb_fail "SLIRPBYPASS is not set"
    fi
    export SLIRPBYPASS
    self_ns=$(readlink /proc/self/ns/net)
    # /proc/1 may be unreadable (nested containers): fall back to "unknown".
    init_ns=$(readlink /proc/1/ns/net 2>/dev/null || echo unknown)
    if [ "${SB_IN_PRIVATE_HOST:-}" != "$$" ] || [ "$self_ns" = "$init_ns" ] ||
        [ "$self_ns" = "${SB_OUTER_NETNS:-}" ]; then
        unshare --net --mount --propagation private true 2>/dev/null ||
            sb_skip "cannot create network/mount namespaces"
        # exec keeps the PID, which is how the child recognises itself.
        SB_IN_PRIVATE_HOST=$$ SB_OUTER_NETNS=$self_ns exec unshare --net --mount \
            --propagation private -- "$BASH" ${SB_TRACE:+-x} "$0" "$@"
    fi
    [ "$self_ns" != "$init_ns" ] && [ "$self_ns" != "${SB_OUTER_NETNS:-}" ] ||
        sb_fail "not in a private network namespace"
    trap _sb_cleanup EXIT
    trap 'exit 143' TERM
    trap 'exit 130' INT
    ip link set lo up || sb_fail "cannot bring lo up"
    ip tuntap add sbnull mode tun || sb_fail "cannot create tun device sbnull"
    ip link set sbnull up || sb_fail "cannot bring sbnull up"
    ip route add default dev sbnull || sb_fail "cannot add IPv4 default route"
    ip -6 route add default dev sbnull 2>/dev/null || true
    # Belt and braces: the virtual slirp range is never routed on the host.
    ip route add blackhole 10.0.2.0/24 2>/dev/null || true
    sb_tmpdir
}

# sb_tmpdir - create the per-test directory $T (once) and export it.  It is
# world-searchable so that the unprivileged test user can reach files the
# test puts there; it is removed by the EXIT trap (unless SB_KEEP_TMP=1).
sb_tmpdir()
{
    if [ -z "${T:-}" ] || [ ! -d "$T" ]; then
        T=$(mktemp -d "/tmp/sb-${SB_TEST_NAME}.XXXXXX") || sb_fail "mktemp failed"
        chmod 0755 "$T"
        export T
    fi
}

# _sb_next - print a fresh sequence number for file names in $T.
_sb_next()
{
    SB_COUNTER=$((SB_COUNTER + 1))
}

# sb_wait_until TIMEOUT CMD... - run CMD every 0.1 s until it succeeds.
# Returns 0 on success and 1 when TIMEOUT seconds passed (it does not fail
# the test by itself: write `sb_wait_until 5 cmd || sb_fail ...`).
sb_wait_until()
{
    local timeout=$1 deadline
    shift
    deadline=$(($(date +%s%N) / 1000000 + timeout * 1000))
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        [ $(($(date +%s%N) / 1000000)) -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

# sb_wait_port PORT [tcp|udp] [TIMEOUT] - wait until something listens on
# PORT in the current network namespace.  Returns 1 on timeout.
sb_wait_port()
{
    local port=$1 proto=${2:-tcp} timeout=${3:-$SB_TIMEOUT} flag=-ltnH
    [ "$proto" = udp ] && flag=-lunH
    sb_wait_until "$timeout" _sb_port_listening "$flag" "$port"
}

# _sb_port_listening FLAGS PORT - true if `ss FLAGS` shows a socket on PORT.
_sb_port_listening()
{
    ss "$1" "sport = :$2" | grep -q .
}

# sb_target_argv - set the array SB_TARGET_ARGV to the command prefix that
# runs a program inside the target's user and network namespaces.
sb_target_argv()
{
    [ -n "${TARGET_PID:-}" ] || sb_fail "sb_in_target: no target (call sb_start_target)"
    SB_TARGET_ARGV=(nsenter -t "$TARGET_PID" -U -n --)
    if [ "$(readlink "/proc/$TARGET_PID/ns/user" 2>/dev/null || true)" = "$(readlink /proc/self/ns/user)" ]; then
        # Target shares our user namespace (e.g. `ip netns`-style): net only.
        SB_TARGET_ARGV=(nsenter -t "$TARGET_PID" -n --)
    fi
}

# sb_in_target CMD... - run CMD in the target's user+network namespace
# (as root of that user namespace), in the foreground; returns its status.
sb_in_target()
{
    sb_target_argv
    "${SB_TARGET_ARGV[@]}" "$@"
}

# sb_user_argv - set the array SB_USER_ARGV to the command prefix that runs
# a program as $SB_TEST_USER with a clean login-like environment, without
# forking (so that $! is the program itself).
sb_user_argv()
{
    local uid
    uid=$(id -u "$SB_TEST_USER" 2>/dev/null) || sb_fail "user $SB_TEST_USER does not exist (call sb_ensure_test_user)"
    SB_USER_ARGV=(setpriv "--reuid=$uid" "--regid=$(id -g "$SB_TEST_USER")" --init-groups
        env -i "HOME=$(getent passwd "$SB_TEST_USER" | cut -d: -f6)" "USER=$SB_TEST_USER"
        "LOGNAME=$SB_TEST_USER" "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        "XDG_RUNTIME_DIR=/run/user/$uid" "SLIRPBYPASS=$SLIRPBYPASS")
}

# sb_as_user CMD... - run CMD as the unprivileged test user (foreground).
sb_as_user()
{
    sb_user_argv
    "${SB_USER_ARGV[@]}" "$@"
}

# _sb_expand_argv CMD... - set SB_ARGV to CMD with a leading sb_in_target or
# sb_as_user replaced by the equivalent exec-style prefix, so that a
# background process's PID is the program itself, not a subshell.
_sb_expand_argv()
{
    case "${1:-}" in
    sb_in_target)
        shift
        sb_target_argv
        SB_ARGV=("${SB_TARGET_ARGV[@]}" "$@")
        ;;
    sb_as_user)
        shift
        sb_user_argv
        SB_ARGV=("${SB_USER_ARGV[@]}" "$@")
        ;;
    *) SB_ARGV=("$@") ;;
    esac
}

# _sb_close_redirs - print redirections ("N>&- ...") closing SB_PRIVATE_FDS,
# for use in an eval'ed command line.
_sb_close_redirs()
{
    local fd
    for fd in "${SB_PRIVATE_FDS[@]}"; do
        printf '%s>&- ' "$fd"
    done
}

# sb_exit_pipe FD - prepare an exit pipe for the next sb_start_helper: the
# helper gets the read end as its fd FD (pass `-e FD` yourself), the test
# shell keeps the write end in $EXIT_W (never inherited by children started
# through this library).  sb_close_exit_pipe closes it (the helper then sees
# POLLHUP); `printf x >&$EXIT_W` writes to it.
sb_exit_pipe()
{
    sb_tmpdir
    _sb_next
    SB_EXIT_FD=$1
    SB_EXIT_FIFO="$T/exit.$SB_COUNTER"
    mkfifo "$SB_EXIT_FIFO" || sb_fail "mkfifo $SB_EXIT_FIFO"
    # O_RDWR does not block; the helper's O_RDONLY open then succeeds at
    # once because a writer exists.
    exec {EXIT_W}<>"$SB_EXIT_FIFO"
    SB_PRIVATE_FDS+=("$EXIT_W")
}

# sb_close_exit_pipe - close the write end made by sb_exit_pipe.
sb_close_exit_pipe()
{
    [ -n "${EXIT_W:-}" ] || return 0
    exec {EXIT_W}>&-
    SB_PRIVATE_FDS=()
    EXIT_W=""
}

# sb_bg CMD... - start CMD in the background with stdin from /dev/null and
# output to $T/bg.N.log; tracked for cleanup.  CMD may start with
# sb_in_target or sb_as_user.  Sets BG_PID and BG_LOG.
sb_bg()
{
    sb_tmpdir
    _sb_next
    BG_LOG="$T/bg.$SB_COUNTER.log"
    _sb_expand_argv "$@"
    eval '"${SB_ARGV[@]}" </dev/null >"$BG_LOG" 2>&1 '"$(_sb_close_redirs)"' &'
    BG_PID=$!
    sb_track "$BG_PID"
}

# sb_start_target [--user NAME] - start a "container": a `sleep` in a new
# user+network namespace (`unshare -Urn`), as root or as user NAME.  Waits
# until the namespaces exist.  Sets TARGET_PID.
sb_start_target()
{
    local user=""
    if [ "${1:-}" = --user ]; then
        user=$2
    fi
    sb_tmpdir
    if [ -n "$user" ]; then
        SB_TEST_USER=$user sb_user_argv
        sb_bg "${SB_USER_ARGV[@]}" unshare -Urn sleep 3600
    else
        sb_bg unshare -Urn sleep 3600
    fi
    TARGET_PID=$BG_PID
    sb_wait_until "$SB_TIMEOUT" _sb_target_ready "$TARGET_PID" ||
        sb_fail "target $TARGET_PID did not enter its namespaces"
    export TARGET_PID
}

# _sb_target_ready PID - true once PID runs `sleep` in a netns not ours.
_sb_target_ready()
{
    [ "$(readlink "/proc/$1/ns/net" 2>/dev/null || true)" != "$(readlink /proc/self/ns/net)" ] &&
        grep -q '^sleep' "/proc/$1/comm"
}

# sb_start_helper ARGS... - start "$SLIRPBYPASS" ARGS in the background with
# a ready pipe and wait (bounded by $SB_TIMEOUT) for its byte "1".
# Unless ARGS already contain -r N / --ready-fd[=]N, `-r $SB_READY_FD` is
# appended (options after positional arguments are valid, as with glibc
# getopt_long).  stdout+stderr go to $HELPER_LOG, stdin is /dev/null.
# A leading `sb_as_user` or `sb_in_target` word runs the helper that way.
# If sb_exit_pipe FD was called, the helper also gets the exit pipe on FD.
# SB_HELPER_WRAP (array) is inserted before $SLIRPBYPASS (it must exec it,
# so that HELPER_PID stays the helper's PID).
# Sets HELPER_PID, HELPER_LOG.  Fails the test (printing the log) when the
# helper exits or times out before it is ready or writes anything but "1".
sb_start_helper()
{
    local prefix=() args=() fd="" prev="" a fifo rfd byte="" redir=""
    sb_tmpdir
    case "${1:-}" in
    sb_as_user)
        shift
        sb_user_argv
        prefix=("${SB_USER_ARGV[@]}")
        ;;
    sb_in_target)
        shift
        sb_target_argv
        prefix=("${SB_TARGET_ARGV[@]}")
        ;;
    esac
    for a in "$@"; do
        case "$prev" in -r | --ready-fd) fd=$a ;; esac
        case "$a" in
        --ready-fd=*) fd=${a#--ready-fd=} ;;
        -r?*) fd=${a#-r} ;;
        esac
        prev=$a
    done
    args=("$@")
    if [ -z "$fd" ]; then
        fd=$SB_READY_FD
        args+=(-r "$fd")
    fi
    _sb_next
    HELPER_LOG="$T/helper.$SB_COUNTER.log"
    fifo="$T/ready.$SB_COUNTER"
    mkfifo -m 0666 "$fifo" || sb_fail "mkfifo $fifo"
    # The child opens the write end on fd $fd before exec; opening the read
    # end below pairs with it, so neither side can block for long.
    redir="$fd>\"\$fifo\" $(_sb_close_redirs)"
    if [ -n "${SB_EXIT_FIFO:-}" ]; then
        # The exit pipe's read end, opened in the child only.
        redir="$redir $SB_EXIT_FD<\"\$SB_EXIT_FIFO\""
    fi
    eval '"${prefix[@]}" "${SB_HELPER_WRAP[@]}" "$SLIRPBYPASS" "${args[@]}" </dev/null >"$HELPER_LOG" 2>&1 '"$redir"' &'
    SB_EXIT_FIFO=""
    HELPER_PID=$!
    sb_track "$HELPER_PID"
    export HELPER_PID HELPER_LOG
    exec {rfd}<"$fifo"
    IFS= read -r -t "$SB_TIMEOUT" -n 1 -u "$rfd" byte || true
    exec {rfd}<&-
    rm -f "$fifo"
    if [ "$byte" != 1 ]; then
        sb_log "helper argv: ${prefix[*]} $SLIRPBYPASS ${args[*]}"
        sb_log "helper log ($HELPER_LOG):"
        sed 's/^/    /' "$HELPER_LOG" >&2
        if kill -0 "$HELPER_PID" 2>/dev/null; then
            sb_fail "helper not ready within ${SB_TIMEOUT}s (got '${byte}')"
        fi
        HELPER_STATUS=0
        wait "$HELPER_PID" 2>/dev/null || HELPER_STATUS=$?
        sb_fail "helper exited with status $HELPER_STATUS before it was ready"
    fi
}

# sb_stop_helper [SIGNAL] - send SIGNAL (default TERM) to $HELPER_PID and
# wait up to 10 s for it to end (then KILL).  Sets HELPER_STATUS to its exit
# status (128+N when killed by signal N).  Returns 0.
sb_stop_helper()
{
    local sig=${1:-TERM} i
    [ -n "${HELPER_PID:-}" ] || return 0
    kill "-$sig" "$HELPER_PID" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        # (a zombie still answers kill -0; wait reaps it below)
        sb_alive "$HELPER_PID" || break
        sleep 0.1
    done
    kill -KILL "$HELPER_PID" 2>/dev/null || true
    HELPER_STATUS=0
    wait "$HELPER_PID" 2>/dev/null || HELPER_STATUS=$?
    export HELPER_STATUS
    return 0
}

# sb_peer_server PORT [ADDR] - TCP server (default ADDR 127.0.0.1; IPv6
# literals such as ::1 work too) that answers every connection with the
# peer address it saw, "IP:PORT\n", and closes.  For IPv6 peers IP is in
# socat's bracketed full form, e.g. "[0000:...:0001]".  Waits until the
# port listens.  Sets BG_PID.
sb_peer_server()
{
    local port=$1 addr=${2:-127.0.0.1} script
    sb_tmpdir
    script="$T/peer.sh"
    printf '#!/bin/sh\nprintf "%%s:%%s\\n" "$SOCAT_PEERADDR" "$SOCAT_PEERPORT"\n' >"$script"
    chmod 0755 "$script"
    case "$addr" in
    *:*) sb_bg socat "TCP6-LISTEN:$port,bind=[$addr],reuseaddr,fork" "EXEC:$script" ;;
    *) sb_bg socat "TCP4-LISTEN:$port,bind=$addr,reuseaddr,fork" "EXEC:$script" ;;
    esac
    sb_wait_port "$port" tcp || sb_fail "peer server on $addr:$port did not start"
}

# sb_udp_echo_server PORT [ADDR] - UDP server echoing each datagram back to
# its sender.  Sets BG_PID.
sb_udp_echo_server()
{
    local port=$1 addr=${2:-127.0.0.1}
    case "$addr" in
    *:*) sb_bg socat -T 5 "UDP6-RECVFROM:$port,bind=[$addr],fork" PIPE ;;
    *) sb_bg socat -T 5 "UDP4-RECVFROM:$port,bind=$addr,fork" PIPE ;;
    esac
    sb_wait_port "$port" udp || sb_fail "UDP echo server on $addr:$port did not start"
}

# sb_http_server PORT [ADDR] [BODY] - busybox httpd serving BODY (default
# "hello from $ADDR:$PORT") as /index.html on ADDR:PORT (default
# 127.0.0.1) in the current network namespace.  Sets BG_PID.
sb_http_server()
{
    local port=$1 addr=${2:-127.0.0.1} body=${3:-} dir bind
    sb_tmpdir
    [ -n "$body" ] || body="hello from $addr:$port"
    _sb_next
    dir="$T/www.$SB_COUNTER"
    mkdir -p "$dir" && printf '%s\n' "$body" >"$dir/index.html"
    chmod -R a+rX "$dir"
    bind="$addr:$port"
    case "$addr" in *:*) bind="[$addr]:$port" ;; esac
    sb_bg busybox httpd -f -p "$bind" -h "$dir"
    sb_wait_port "$port" tcp || sb_fail "http server on $bind did not start"
}

# sb_ensure_test_user - make sure $SB_TEST_USER exists with subordinate id
# ranges, /run/user/UID (0700, owned by the user), and that /dev/net/tun is
# usable by it (0666; inside the private mount namespace this is a private
# node bind-mounted over /dev/net/tun, so the host's node is unchanged).
# Prints the user name.
sb_ensure_test_user()
{
    local u=$SB_TEST_USER uid node
    if ! id "$u" >/dev/null 2>&1; then
        useradd -m -s /bin/bash "$u" >/dev/null 2>&1 || sb_fail "useradd $u failed"
    fi
    grep -q "^$u:" /etc/subuid 2>/dev/null ||
        usermod --add-subuids 300000-365535 "$u" || sb_fail "cannot add subuids for $u"
    grep -q "^$u:" /etc/subgid 2>/dev/null ||
        usermod --add-subgids 300000-365535 "$u" || sb_fail "cannot add subgids for $u"
    uid=$(id -u "$u")
    install -d -o "$u" -g "$(id -g "$u")" -m 0700 "/run/user/$uid" ||
        sb_fail "cannot create /run/user/$uid"
    if [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
        if [ -n "${SB_IN_PRIVATE_HOST:-}" ]; then
            sb_tmpdir
            node="$T/tun"
            mknod -m 0666 "$node" c 10 200 && chmod 0666 "$node" &&
                mount --bind "$node" /dev/net/tun ||
                sb_fail "cannot provide a 0666 /dev/net/tun"
        else
            chmod 0666 /dev/net/tun || sb_fail "cannot chmod /dev/net/tun"
        fi
    fi
    printf '%s\n' "$u"
}

# sb_api JSON [SOCKET] - send one request to the API socket (default
# $T/api.sock), half-close like podman does, print the reply (no newline is
# added).  Returns socat's status.
sb_api()
{
    local sock=${2:-$T/api.sock}
    printf '%s\n' "$1" | timeout 10 socat -t 5 - "UNIX-CONNECT:$sock"
}

# sb_assert_eq EXPECTED ACTUAL MSG - fail unless the two strings are equal.
sb_assert_eq()
{
    [ "$1" = "$2" ] || sb_fail "$3: expected '$1', got '$2'"
}

# sb_assert_contains HAYSTACK NEEDLE MSG - fail unless NEEDLE is a
# substring of HAYSTACK.
sb_assert_contains()
{
    case "$1" in
    *"$2"*) return 0 ;;
    esac
    sb_fail "$3: '$2' not found in: $1"
}
