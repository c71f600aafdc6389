#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""hold-clients.py: hold many clients on a unix stream socket, for tests.

Usage: hold-clients.py SOCKET N HALF READY DONE

Theory of operation: connect N clients to SOCKET (blocking connects: each
waits while the listener's backlog is full), the first HALF of them having
sent the start of a request and nothing more, the others nothing; then
create the file READY and hold every connection until the file DONE
exists.  Bounded: at most 60 s of holding, and an alarm ends the process
after 90 s whatever happens.
"""
import os
import signal
import socket
import sys
import time


def main():
    path, n, half, ready, done = sys.argv[1:6]
    signal.alarm(90)
    held = []
    for i in range(int(n)):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        if i < int(half):
            s.send(b'{"execute":"add')
        held.append(s)
    open(ready, "w").close()
    for _ in range(600):
        if os.path.exists(done):
            break
        time.sleep(0.1)


if __name__ == "__main__":
    main()
