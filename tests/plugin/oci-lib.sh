# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# tests/plugin/oci-lib.sh - the runc/crun end-to-end test, parameterised by
# the runtime (sourced by test-runc.sh and test-crun.sh after harness.sh,
# sb_enter_private_host and bypass-lib.sh).
#
# Theory of operation (the way rootless podman arranges it, testbed R3): the
# unprivileged test user owns a user+network namespace (the harness target);
# slirpbypass runs as that user against the target's PID with the bypass
# socket; the OCI runtime runs as the same user inside the target's user
# and network namespaces (`nsenter --preserve-credentials`, i.e. uid 0 of
# that namespace, like podman's runtime inside its pause namespace), and the
# bundle's config.json has no user/network namespace of its own, so the
# container shares the served network namespace.  Its linux.seccomp is the
# output of `slirpbypass seccomp-profile`, so the runtime itself hands the
# seccomp fd to slirpbypass via listenerPath.  The container's rootfs holds
# only the static sbclient and busybox.
#
# Phases: (A) a foreground `run` whose programs must be bypassed; (B) `exec`
# into a running container (each exec is a new listener connection with a
# new fd); (C) control: the same run without the profile takes the slirp
# path (shows the proofs can fail).

# oci_main RUNTIME - the whole test.
oci_main()
{
    RT=$1
    sb_need "$RT" jq busybox
    BUSYBOX=$(command -v busybox)
    file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
        sb_skip "busybox is not statically linked (need busybox-static)"
    sb_ensure_test_user >/dev/null
    pb_init

    U=$T/u
    install -d -o "$SB_TEST_USER" -g "$(id -g "$SB_TEST_USER")" -m 0755 "$U"
    BYPASS_SOCK=$U/bypass.sock

    sb_start_target --user "$SB_TEST_USER"
    sb_start_helper sb_as_user --configure --mtu=65520 --bypass-socket "$BYPASS_SOCK" \
        "$TARGET_PID" tap0
    [ -S "$BYPASS_SOCK" ] || sb_fail "no bypass socket after ready"

    pb_serve HOSTLO 127.0.0.1 18501
    pb_serve TUN4 "$TUN4" 18502
    pb_serve_udp UDPLO 127.0.0.1 18503
    sb_http_server 18504 127.0.0.1 hello-from-host-loopback

    oci_bundle "$U/bundle" profile
    oci_run A "$U/bundle" /bin/busybox sh -c '
        echo "== gw"; /bin/sbclient tcp-connect 10.0.2.2 18501
        echo "== tun"; /bin/sbclient tcp-connect 192.0.2.1 18502 --nonblock --nodelay
        echo "== udp"; /bin/sbclient udp-connect 10.0.2.2 18503
        echo "== wget"; echo "reply=$(/bin/busybox wget -qO- http://10.0.2.2:18504/)"
        echo "== end"'
    sb_assert_eq 0 "$OCI_RC" "$RT run (A) status; output: $(tr '\n' ' ' <"$OCI_OUT")"
    section gw && pb_assert_bypassed "$SEC" HOSTLO "$RT: gateway connect"
    section tun && pb_assert_bypassed "$SEC" TUN4 "$RT: connect to $TUN4"
    pb_expect "$SEC" post.TCP_NODELAY 1 "$RT: TCP_NODELAY kept"
    section udp && pb_assert_bypassed "$SEC" UDPLO "$RT: connected UDP"
    section wget && pb_expect "$SEC" reply hello-from-host-loopback "$RT: busybox wget"

    sb_log "$RT exec into a running container"
    oci_bundle "$U/bundle2" profile
    jq '.process.args = ["/bin/busybox", "sleep", "60"]' "$U/bundle2/config.json" >"$U/c.json"
    oci_install "$U/c.json" "$U/bundle2/config.json"
    sb_bg sb_as_user nsenter -t "$TARGET_PID" -U -n --preserve-credentials -- \
        timeout 90 "$RT" --root "$U/rtroot" run --bundle "$U/bundle2" ctr-exec
    sb_wait_until 30 oci_running ctr-exec || sb_fail "$RT: container ctr-exec not running: $(cat "$BG_LOG")"
    for i in 1 2; do
        oci_as_user "$RT" --root "$U/rtroot" exec ctr-exec /bin/sbclient tcp-connect 10.0.2.2 18501 >"$T/exec.$i" 2>&1
        pb_assert_bypassed "$T/exec.$i" HOSTLO "$RT exec #$i"
    done
    oci_as_user "$RT" --root "$U/rtroot" kill ctr-exec KILL >/dev/null 2>&1
    sb_wait_until 20 oci_gone "$BG_PID" || sb_log "container did not stop in time"
    oci_as_user "$RT" --root "$U/rtroot" delete -f ctr-exec >/dev/null 2>&1

    sb_log "$RT control: no profile, the slirp path"
    oci_bundle "$U/bundle3" none
    oci_run C "$U/bundle3" /bin/sbclient tcp-connect 10.0.2.2 18501
    sb_assert_eq 0 "$OCI_RC" "$RT run (C) status"
    pb_assert_slirp "$OCI_OUT" "$RT without the profile"

    kill -0 "$HELPER_PID" || sb_fail "slirpbypass died: $(cat "$HELPER_LOG")"
    sb_log "PASS"
}

# oci_as_user ARGS... - run ARGS as the test user inside the target's
# user+network namespaces (uid 0 there).
oci_as_user()
{
    sb_as_user nsenter -t "$TARGET_PID" -U -n --preserve-credentials -- timeout 60 "$@"
}

# oci_gone PID - true once PID has exited.
oci_gone()
{
    ! kill -0 "$1" 2>/dev/null
}

# oci_running ID - true if the runtime reports container ID running.
oci_running()
{
    # (not jq -e: jq 1.6 exits 0 on empty input)
    [ "$(oci_as_user "$RT" --root "$U/rtroot" state "$1" 2>/dev/null | jq -r .status)" = running ]
}

# oci_install SRC DST - move a file into the user's tree, owned by the user.
oci_install()
{
    mv "$1" "$2" && chown "$SB_TEST_USER:" "$2"
}

# oci_bundle DIR profile|none - a rootless bundle in DIR with sbclient and
# busybox, no user/network namespace, seccomp = our profile (or none).
oci_bundle()
{
    local dir=$1 mode=$2
    mkdir -p "$dir/rootfs/bin" "$dir/rootfs/proc" "$dir/rootfs/dev" \
        "$dir/rootfs/sys" "$dir/rootfs/tmp" "$dir/rootfs/etc"
    cp "$SBCLIENT" "$BUSYBOX" "$dir/rootfs/bin/"
    chown -R "$SB_TEST_USER:" "$dir"
    (cd "$dir" && sb_as_user runc spec --rootless) || sb_fail "runc spec failed"
    if [ "$mode" = profile ]; then
        sb_as_user "$SLIRPBYPASS" seccomp-profile -l "$BYPASS_SOCK" \
            --metadata "oci-e2e" >"$dir/../profile.json" || sb_fail "seccomp-profile failed"
    else
        echo null >"$dir/../profile.json"
    fi
    jq --slurpfile sec "$dir/../profile.json" '
        .process.terminal = false
        | .linux.namespaces = [.linux.namespaces[] | select(.type != "user" and .type != "network")]
        | del(.linux.uidMappings) | del(.linux.gidMappings)
        | if $sec[0] == null then del(.linux.seccomp) else .linux.seccomp = $sec[0] end' \
        "$dir/config.json" >"$dir/c.json" || sb_fail "jq failed"
    oci_install "$dir/c.json" "$dir/config.json"
}

# oci_run NAME BUNDLE ARGS... - foreground `run` of ARGS in BUNDLE; sets
# OCI_RC and OCI_OUT (stdout+stderr).
oci_run()
{
    local name=$1 bundle=$2
    shift 2
    local args='[]' a
    # one --arg per word (jq --args would take a "-c" among ARGS as its
    # own option)
    for a in "$@"; do
        args=$(jq -c --arg x "$a" '. + [$x]' <<<"$args")
    done
    jq --argjson a "$args" '.process.args = $a' "$bundle/config.json" >"$bundle/c.json"
    oci_install "$bundle/c.json" "$bundle/config.json"
    OCI_OUT=$T/oci.$name.out
    OCI_RC=0
    oci_as_user "$RT" --root "$U/rtroot" run --bundle "$bundle" "ctr-$name-$$" \
        </dev/null >"$OCI_OUT" 2>&1 || OCI_RC=$?
    oci_as_user "$RT" --root "$U/rtroot" delete -f "ctr-$name-$$" >/dev/null 2>&1
}

# section NAME - extract the lines after "== NAME" up to the next "== " of
# $OCI_OUT into $SEC.
section()
{
    SEC=$T/sec.$1
    awk -v s="== $1" '$0 == s { on = 1; next } /^== / { on = 0 } on' "$OCI_OUT" >"$SEC"
    [ -s "$SEC" ] || sb_fail "$RT: no output for '$1': $(tr '\n' ' ' <"$OCI_OUT")"
}
