#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# --netns-type=tapfd: the first argument is an already open tap fd (the
# caller opened it inside the container's namespace), no child is forked
# and no namespace is entered.  A small launcher opens tap0 in the target,
# passes the fd on and execs the helper; the container then configures the
# interface itself and reaches a server on the host's loopback via
# 10.0.2.2, which proves the fd is the one libslirp drives.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict
sb_need python3

sb_start_target
sb_peer_server 18090
cat >"$T/launch.py" <<'PY'
import ctypes, fcntl, os, socket, struct, sys

pid, helper, ready = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0002, 0x1000

parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
if os.fork() == 0:
    # enter the target (userns first, best effort), open tap0, send it back
    for ns, flag in (("user", CLONE_NEWUSER), ("net", CLONE_NEWNET)):
        fd = os.open("/proc/%d/ns/%s" % (pid, ns), os.O_RDONLY)
        if libc.setns(fd, flag) != 0 and flag == CLONE_NEWNET:
            sys.exit("setns net: %s" % os.strerror(ctypes.get_errno()))
        os.close(fd)
    tap = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(tap, TUNSETIFF, struct.pack("16sH", b"tap0", IFF_TAP | IFF_NO_PI))
    socket.send_fds(child, [b"x"], [tap])
    os._exit(0)
_, fds, _, _ = socket.recv_fds(parent, 1, 1)
os.wait()
tap = fds[0]
os.set_inheritable(tap, True)
os.execv(helper, [helper, "--netns-type=tapfd", "-r", str(ready), str(tap)])
PY
mkfifo "$T/rfifo"
python3 "$T/launch.py" "$TARGET_PID" "$SLIRPBYPASS" 5 5>"$T/rfifo" </dev/null >"$T/helper.log" 2>&1 &
HELPER_PID=$!
sb_track "$HELPER_PID"
ready=$(timeout 20 cat "$T/rfifo") || true
sb_assert_eq 1 "$ready" "ready byte in tapfd mode (log: $(tr '\n' ' ' <"$T/helper.log"))"
if grep -q "sent tapfd" "$T/helper.log"; then
    sb_fail "tapfd mode forked a tap child"
fi

sb_in_target ip link set lo up
sb_in_target ip link set tap0 up
sb_in_target ip addr add 10.0.2.100/24 dev tap0
sb_in_target ip route add default via 10.0.2.2
out=$(sb_in_target timeout 10 socat -t 5 - TCP4:10.0.2.2:18090 </dev/null) || true
case "$out" in
127.0.0.1:[0-9]*) ;;
*) sb_fail "TCP via 10.0.2.2 over the passed tap fd: '$out'; log: $(tr '\n' ' ' <"$T/helper.log")" ;;
esac
sb_log ok
