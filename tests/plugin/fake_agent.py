#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""fake_agent.py: a minimal OCI seccomp agent for testing `slirpbypass exec`
independently of the real agent (plugin/agent.c).

Theory of operation: it listens on SOCKET, accepts ONE connection, receives
the container process state and its fds (SCM_RIGHTS), writes what it got to
OUTDIR (state.json, fds.txt: one readlink per fd, peer.txt: SO_PEERCRED
pid), and then, by MODE:
  continue  read one complete JSON document, close the connection, answer every notification
            with SECCOMP_USER_NOTIF_FLAG_CONTINUE, logging "NR PID" lines to
            OUTDIR/notifs.txt, until the filter's last user is gone;
  reset     close the connection without reading (the sender sees
            ECONNRESET);
  hold      keep the connection open and never answer (until killed).
Every wait is bounded (30 s).  x86_64/aarch64 ioctl numbers only.
"""
import array
import fcntl
import json
import os
import select
import socket
import struct
import sys
import time

NOTIF_RECV = 0xC0502100
NOTIF_SEND = 0xC0182101
FLAG_CONTINUE = 1
DEADLINE = time.monotonic() + 30


def main():
    sock_path, outdir, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    srv.bind(sock_path)
    os.chmod(sock_path, 0o777)
    srv.listen(4)
    with open(os.path.join(outdir, "ready"), "w") as f:
        f.write("1\n")
    srv.settimeout(30)
    conn, _ = srv.accept()
    if mode == "reset":
        # unread data in our queue at close() -> the peer gets ECONNRESET
        time.sleep(0.5)
        conn.close()
        return
    if mode == "hold":
        time.sleep(30)
        return
    fds = array.array("i")
    msg, anc, _flags, _addr = conn.recvmsg(
        4096, socket.CMSG_SPACE(16 * fds.itemsize))
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - (len(data) % fds.itemsize)])
    # the JSON may arrive in chunks; runc keeps the connection open, so
    # stop at the first complete document instead of waiting for EOF
    conn.settimeout(10)
    while True:
        try:
            json.loads(msg)
            break
        except ValueError:
            pass
        more = conn.recv(4096)
        if not more:
            break
        msg += more
    cred = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                           struct.calcsize("3i"))
    peer_pid = struct.unpack("3i", cred)[0]
    conn.close()
    with open(os.path.join(outdir, "state.json"), "wb") as f:
        f.write(msg)
    with open(os.path.join(outdir, "peer.txt"), "w") as f:
        f.write("%d\n" % peer_pid)
    with open(os.path.join(outdir, "fds.txt"), "w") as f:
        for fd in fds:
            f.write(os.readlink("/proc/self/fd/%d" % fd) + "\n")
    state = json.loads(msg)
    nfd = fds[state["fds"].index("seccompFd")]
    log = open(os.path.join(outdir, "notifs.txt"), "w", buffering=1)
    poller = select.poll()
    poller.register(nfd, select.POLLIN)
    while time.monotonic() < DEADLINE:
        ev = poller.poll(1000)
        if not ev:
            continue
        if not ev[0][1] & select.POLLIN:
            break  # POLLHUP: the filter's last user is gone
        buf = bytearray(80)
        try:
            fcntl.ioctl(nfd, NOTIF_RECV, buf)
        except OSError as e:
            # ENOENT: the target died between poll and recv; EBADF/ENOTTY
            # never expected.  POLLHUP (no users left) also lands here.
            if e.errno == 2:
                continue
            break
        nid, pid, _fl, nr = struct.unpack_from("=QIIi", buf, 0)
        log.write("%d %d\n" % (nr, pid))
        resp = struct.pack("=QqiI", nid, 0, 0, FLAG_CONTINUE)
        try:
            fcntl.ioctl(nfd, NOTIF_SEND, bytearray(resp))
        except OSError:
            pass


if __name__ == "__main__":
    main()
