#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-rootlesskit.sh - rootlesskit 1.1 with slirpbypass as its slirp4netns
# binary and its slirp4netns port driver (the API socket).
#
# Theory of operation: as the unprivileged test user, inside the private
# host, run
#   rootlesskit --net=slirp4netns --slirp4netns-binary=$SLIRPBYPASS
#               --port-driver=slirp4netns -p 127.0.0.1:18083:80/tcp ...
# with a busybox httpd as the child.  rootlesskit creates tap0 itself,
# starts slirpbypass without -c, and talks to the API socket
# (STATE/.s4nn.sock) for -p and for rootlessctl add-ports/list-ports/
# remove-ports (--pidns: everything in the child dies with it).  Checks: the page through the -p port and through an
# added port, the port list, removal closing the port, and the child's
# view of the client address (10.0.2.2 for loopback clients).
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_strict
sb_need rootlesskit rootlessctl busybox curl socat newuidmap

user=$(sb_ensure_test_user)
uid=$(id -u "$user")
# the user must be able to run the binary (the build tree may be private)
bin="$T/slirpbypass"
cp "$SLIRPBYPASS" "$bin"
chmod 0755 "$bin"
mkdir -p "$T/u" "$T/www"
chown "$user" "$T/u"
state="$T/u/rk" # rootlesskit creates it
echo "hello-from-rootlesskit-child" >"$T/www/index.html"
# a peer reporter on port 81 in the child: prints the client's address
printf '#!/bin/sh\nprintf "%%s\\n" "$SOCAT_PEERADDR"\n' >"$T/peer.sh"
chmod -R a+rX "$T/www"
chmod 0755 "$T/peer.sh"

sb_bg sb_as_user timeout 90 rootlesskit --state-dir="$state" --net=slirp4netns \
    --mtu=65520 --slirp4netns-binary="$bin" --port-driver=slirp4netns \
    --disable-host-loopback --pidns -p 127.0.0.1:18083:80/tcp \
    sh -c "busybox httpd -f -p 80 -h $T/www & exec socat TCP4-LISTEN:81,reuseaddr,fork EXEC:$T/peer.sh"
RK_PID=$BG_PID
RK_LOG=$BG_LOG
page() { curl -sS -m 3 "http://127.0.0.1:$1/index.html"; }
if ! sb_wait_until 30 page 18083; then
    sed 's/^/    /' "$RK_LOG" >&2
    sb_fail "-p 127.0.0.1:18083:80 did not serve the child's page"
fi
sb_assert_eq hello-from-rootlesskit-child "$(page 18083)" "page via -p"
pgrep -u "$uid" -f "$bin" >/dev/null || sb_fail "rootlesskit did not run slirpbypass"

ctl() { sb_as_user timeout 20 rootlessctl --socket "$state/api.sock" "$@"; }
ctl add-ports 127.0.0.1:18084:80/tcp 127.0.0.1:18085:81/tcp >/dev/null
sb_assert_eq hello-from-rootlesskit-child "$(page 18084)" "page via add-ports"
r=$(timeout 5 socat -T 3 - TCP4:127.0.0.1:18085 </dev/null)
sb_assert_eq 10.0.2.2 "$r" "client address seen by the child (slirp4netns port driver keeps it)"
list=$(ctl list-ports --json)
sb_log "list-ports: $list"
for p in 18083 18084 18085; do
    sb_assert_contains "$list" "\"parentPort\":$p" "list-ports has $p"
done
# the same forwards as seen through our API socket
api=$(sb_api '{"execute":"list_hostfwd"}' "$state/.s4nn.sock")
sb_assert_eq '{"entries":[{"id":1,"proto":"tcp","host_addr":"127.0.0.1","host_port":18083,"guest_addr":"10.0.2.100","guest_port":80},{"id":2,"proto":"tcp","host_addr":"127.0.0.1","host_port":18084,"guest_addr":"10.0.2.100","guest_port":80},{"id":3,"proto":"tcp","host_addr":"127.0.0.1","host_port":18085,"guest_addr":"10.0.2.100","guest_port":81}]}' "$api" "list_hostfwd behind rootlesskit"

id=$(printf '%s\n' "$list" | sed -n 's/.*"id":\([0-9]*\),"spec":{[^}]*"parentPort":18084.*/\1/p' | head -n1)
[ -n "$id" ] || sb_fail "no id for 18084 in list-ports"
ctl remove-ports "$id" >/dev/null
if page 18084 >/dev/null 2>&1; then sb_fail "18084 still served after remove-ports"; fi
sb_assert_eq hello-from-rootlesskit-child "$(page 18083)" "18083 unaffected by the removal"

kill "$RK_PID" 2>/dev/null || true
sb_wait_until 10 sh -c "! kill -0 $RK_PID 2>/dev/null" || true
sb_log "PASS"
