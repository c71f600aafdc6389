#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-bypass-hostsock.sh - a host-namespace socket that the agent injected
# must never run an unchecked call.  A bypassed non-blocking connect that
# fails later (refused here) leaves the container holding a closed TCP
# socket of the private host.  Reusing it must not reach what the policy
# denies:
#  - connect() through the raw syscall with an address length whose upper
#    32 bits are set (the kernel ignores them; an agent that checked the
#    full register used to answer CONTINUE) to 127.0.0.1, which from the
#    container means its own loopback: the private host's loopback-only
#    server must not be reached;
#  - the same through the i386 socketcall(2) (int 0x80, x86_64 only);
#  - bind() must not open a port in the private host;
#  - listen() (plain and through socketcall) after connect(AF_UNSPEC) made
#    it unconnected again must not listen on a free port of every host
#    address;
#  - io_uring's connect, which seccomp never sees, must not be available
#    (it reached the host's loopback-only server before the filter denied
#    io_uring_setup).
# The same calls on an ordinary container socket keep the kernel's own
# behaviour (they run in the container).
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
. "$(dirname "$0")/bypass-lib.sh"

pb_init
pb_start_bypass
pb_serve HOSTLO 127.0.0.1 18501
HOSTLO_LOG=$SERVE_LOG
O=$T/out

sb_log "a failed bypassed non-blocking connect, then a high-bits addrlen connect to 127.0.0.1"
pb_bypassed "$O" tcp-connect 10.0.2.2 18599 --nonblock \
    --then-connect-hilen 127.0.0.1 18501 || true
pb_expect "$O" connect_rc EINPROGRESS "the first connect was bypassed (non-blocking)"
pb_expect "$O" connect ECONNREFUSED "nothing listens on 18599"
case "$(pb_get "$O" local)" in
10.0.2.100:*) sb_fail "the first connect was not bypassed: $(tr '\n' ' ' <"$O")" ;;
esac
# first the kernel's own answer after a failed attempt whose error was
# read already (ECONNABORTED, as the reference on the host says); then the
# length is read as the kernel reads it (16), the policy denies the
# container's own loopback, and a host socket is refused, never CONTINUEd
R=$T/ref
pb_host "$R" tcp-connect 127.0.0.1 18599 --nonblock --then-connect-hilen 127.0.0.1 18598 || true
pb_expect "$R" then_connect ECONNABORTED "reference: the kernel after a failed attempt"
pb_expect "$O" then_connect ECONNABORTED "a failed host socket answers as the kernel does"
pb_expect "$O" then_connect2 ENETUNREACH "high-bits addrlen on a host socket"
grep -q '^reply=HOSTLO' "$O" &&
    sb_fail "the host's loopback-only server was reached: $(tr '\n' ' ' <"$O")"

sb_log "the same on a container socket: the kernel's own answer (it runs in the container)"
pb_plain "$O" tcp-connect 10.0.2.2 18599 --nonblock --then-connect-hilen 127.0.0.1 18501 || true
case "$(pb_get "$O" local)" in
10.0.2.100:*) ;;
*) sb_fail "control run was not on the slirp path: $(tr '\n' ' ' <"$O")" ;;
esac
pb_expect "$O" then_connect "$(pb_get "$R" then_connect)" "container socket: as the kernel answers"

sb_log "i386 socketcall(SYS_CONNECT) through int 0x80 on the host socket"
if [ "$(uname -m)" = x86_64 ]; then
    pb_bypassed "$O" tcp-connect 10.0.2.2 18599 --nonblock \
        --then-socketcall-connect 127.0.0.1 18501 || true
    pb_expect "$O" connect ECONNREFUSED "setup: a failed bypassed connect"
    pb_expect "$O" then_socketcall ENETUNREACH "socketcall connect on a host socket"
    grep -q '^reply=HOSTLO' "$O" &&
        sb_fail "the host's loopback-only server was reached: $(tr '\n' ' ' <"$O")"
fi

sb_log "bind() on the host socket is refused and opens nothing in the host"
pb_bypassed "$O" tcp-connect 10.0.2.2 18599 --nonblock --then-bind 18502 || true
pb_expect "$O" connect ECONNREFUSED "setup: a failed bypassed connect"
pb_expect "$O" then_bind EINVAL "bind on a host socket"
if ss -ltnH 'sport = :18502' | grep -q .; then
    sb_fail "a port was opened in the host namespace"
fi

sb_log "listen() on the host socket, unconnected again by connect(AF_UNSPEC), is refused"
pb_bypassed "$O" tcp-connect 10.0.2.2 18599 --nonblock --then-unspec \
    --then-socketcall-listen --then-listen || true
pb_expect "$O" connect ECONNREFUSED "setup: a failed bypassed connect"
pb_expect "$O" then_unspec ok "connect(AF_UNSPEC) on the host socket"
pb_expect "$O" then_listen EINVAL "listen on a host socket"
if [ "$(uname -m)" = x86_64 ]; then
    pb_expect "$O" then_socketcall_listen EINVAL "socketcall listen on a host socket"
fi

sb_log "the same on a container socket: the kernel's own answers (it listens in the container)"
pb_host "$R" tcp-connect 127.0.0.1 18598 --nonblock --then-unspec --then-socketcall-listen || true
pb_bypassed "$O" tcp-connect 127.0.0.1 18598 --nonblock --then-unspec --then-socketcall-listen || true
case "$(pb_get "$O" local)" in
127.0.0.1:*) ;;
*) sb_fail "control run was not a container socket: $(tr '\n' ' ' <"$O")" ;;
esac
sb_log "  container socket: unspec=$(pb_get "$O" then_unspec) socketcall listen=$(pb_get "$O" then_socketcall_listen) (kernel: $(pb_get "$R" then_socketcall_listen))"
for k in connect then_unspec then_socketcall_listen; do
    pb_expect "$O" "$k" "$(pb_get "$R" "$k")" "container socket: $k as the kernel answers"
done
sb_log "a server under the filter still listens and accepts in the container"
sb_bg sb_in_target timeout 60 "$SLIRPBYPASS" exec --socket "$BYPASS_SOCK" -- \
    "$SBCLIENT" serve-tcp 127.0.0.1 18503 --tag CTR --count 1 --timeout 30
sb_wait_until 10 grep -q '^listening=' "$BG_LOG" ||
    sb_fail "server under the filter did not listen: $(cat "$BG_LOG")"
pb_plain "$O" tcp-connect 127.0.0.1 18503 || sb_fail "cannot reach it: $(tr '\n' ' ' <"$O")"
[ "$(pb_reply_tag "$O")" = CTR ] || sb_fail "wrong server: $(tr '\n' ' ' <"$O")"

if [ "$(uname -m)" = x86_64 ]; then
    sb_log "the i386 ABI's direct connect (362) and listen (363), and socketcall with high bits in the call number"
    before=$(grep -c '^accepted=' "$HOSTLO_LOG" || true)
    pb_bypassed "$O" tcp-connect 10.0.2.2 18599 --nonblock \
        --then-i386-connect 127.0.0.1 18501 --then-unspec --then-i386-listen || true
    pb_expect "$O" connect ECONNREFUSED "setup: a failed bypassed connect"
    pb_expect "$O" then_i386_connect ECONNABORTED "i386 direct connect after the failure: the kernel's answer"
    pb_expect "$O" then_i386_connect2 ENETUNREACH "i386 direct connect on a host socket"
    pb_expect "$O" then_i386_listen EINVAL "i386 direct listen on a host socket"
    pb_bypassed "$O" tcp-connect 10.0.2.2 18599 --nonblock --socketcall-hibits \
        --then-socketcall-connect 127.0.0.1 18501 --then-unspec --then-socketcall-listen || true
    pb_expect "$O" then_socketcall ENETUNREACH "socketcall connect, call number with bit 32 set"
    pb_expect "$O" then_socketcall_listen EINVAL "socketcall listen, call number with bit 32 set"
    sleep 0.2
    [ "$(grep -c '^accepted=' "$HOSTLO_LOG" || true)" = "$before" ] ||
        sb_fail "the host's loopback-only server was reached through the i386 ABI"
    # the same calls on container sockets run in the container
    pb_host "$R" tcp-connect 127.0.0.1 18598 --nonblock --then-unspec --then-i386-listen || true
    pb_bypassed "$O" tcp-connect 127.0.0.1 18598 --nonblock --then-unspec --then-i386-listen || true
    pb_expect "$O" then_i386_listen "$(pb_get "$R" then_i386_listen)" "container socket: i386 listen as the kernel answers"
fi

sb_log "io_uring (IORING_OP_CONNECT is not seen by seccomp) is denied under the filter"
before=$(grep -c '^accepted=' "$HOSTLO_LOG" || true)
pb_bypassed "$O" tcp-connect 10.0.2.2 18599 --nonblock --then-uring-connect 127.0.0.1 18501 || true
pb_expect "$O" connect ECONNREFUSED "setup: a failed bypassed connect"
pb_expect "$O" then_uring_connect ENOSYS "io_uring_setup under the filter"
# control: without the filter io_uring works here (so ENOSYS above is ours)
pb_plain "$R" tcp-connect 127.0.0.1 18598 --nonblock --then-uring-connect 127.0.0.1 18598 || true
case "$(pb_get "$R" then_uring_connect)" in
ENOSYS | "") sb_fail "control: io_uring unavailable without the filter: $(tr '\n' ' ' <"$R")" ;;
esac
sleep 0.2
[ "$(grep -c '^accepted=' "$HOSTLO_LOG" || true)" = "$before" ] ||
    sb_fail "the host's loopback-only server was reached through io_uring"

sb_log "the agent still bypasses normally"
pb_bypassed "$O" tcp-connect 10.0.2.2 18501 || sb_fail "bypass after the refusals: $(tr '\n' ' ' <"$O")"
pb_assert_bypassed "$O" HOSTLO "bypass still works"
sb_log ok
