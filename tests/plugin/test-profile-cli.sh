#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-profile-cli.sh - `slirpbypass seccomp-profile` from the command line:
# --help, the printed profile (checked with jq), --merge of podman's
# installed profile and from stdin, -o, and that every error is exit 1 with
# one line on stderr naming the input.  (The generator/merger logic itself
# is unit-tested in test_profile.c.)
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
sb_need jq
OUT=$T/out
ERR=$T/err

prof()
{
    RC=0
    "$SLIRPBYPASS" seccomp-profile "$@" >"$OUT" 2>"$ERR" || RC=$?
}

# fails NEEDLE ARGS... - exit 1, nothing on stdout, one stderr line with NEEDLE
fails()
{
    local needle=$1
    shift
    prof "$@"
    sb_assert_eq 1 "$RC" "seccomp-profile $* status"
    [ ! -s "$OUT" ] || sb_fail "seccomp-profile $*: output on failure: $(cat "$OUT")"
    [ "$(wc -l <"$ERR")" = 1 ] || sb_fail "seccomp-profile $*: not one line: $(cat "$ERR")"
    sb_assert_contains "$(cat "$ERR")" "$needle" "seccomp-profile $* message"
}

prof --help
sb_assert_eq 0 "$RC" "--help"
for o in --listener-path --merge --metadata --no-bind --output; do
    sb_assert_contains "$(cat "$OUT")" "$o" "--help lists $o"
done

prof --listener-path /run/x/bypass.sock --metadata hello
sb_assert_eq 0 "$RC" "build"
sb_assert_eq SCMP_ACT_ALLOW "$(jq -r .defaultAction "$OUT")" "defaultAction"
sb_assert_eq /run/x/bypass.sock "$(jq -r .listenerPath "$OUT")" "listenerPath"
sb_assert_eq hello "$(jq -r .listenerMetadata "$OUT")" "listenerMetadata"
FO='"args":[{"index":3,"value":536870912,"valueTwo":536870912,"op":"SCMP_CMP_MASKED_EQ"}]'
sb_assert_eq '[{"names":["connect","bind","listen"],"action":"SCMP_ACT_NOTIFY"},'\
'{"names":["sendto"],"action":"SCMP_ACT_NOTIFY",'"$FO"'},'\
'{"names":["sendmsg"],"action":"SCMP_ACT_NOTIFY",'"${FO/index\":3/index\":2}"'},'\
'{"names":["sendmmsg"],"action":"SCMP_ACT_NOTIFY",'"$FO"'},'\
'{"names":["setsockopt"],"action":"SCMP_ACT_NOTIFY","args":[{"index":1,"value":4294967295,"valueTwo":6,"op":"SCMP_CMP_MASKED_EQ"},{"index":2,"value":4294967295,"valueTwo":30,"op":"SCMP_CMP_MASKED_EQ"}]},'\
'{"names":["io_uring_setup","io_uring_enter","io_uring_register"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]' \
    "$(jq -c .syscalls "$OUT")" "syscalls"
[ "$(uname -m)" != x86_64 ] || sb_assert_eq '["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"]' \
    "$(jq -c .architectures "$OUT")" "architectures"

prof -l /run/x/bypass.sock --no-bind -o "$T/p.json"
sb_assert_eq 0 "$RC" "-o"
[ ! -s "$OUT" ] || sb_fail "-o also printed to stdout"
sb_assert_eq '["connect","listen"]' "$(jq -c '.syscalls[0].names' "$T/p.json")" "--no-bind"

XDG_RUNTIME_DIR=/run/user/4321 "$SLIRPBYPASS" seccomp-profile >"$OUT"
sb_assert_eq /run/user/4321/slirpbypass/agent.sock "$(jq -r .listenerPath "$OUT")" "default path"

if [ -r /usr/share/containers/seccomp.json ]; then
    P=/usr/share/containers/seccomp.json
    prof --merge "$P" -l /run/x/bypass.sock
    sb_assert_eq 0 "$RC" "merge podman profile: $(cat "$ERR")"
    # podman allows setsockopt and socketcall outright: both are said
    sb_assert_contains "$(cat "$ERR")" "TCP_FASTOPEN_CONNECT is not refused" "setsockopt warning"
    sb_assert_contains "$(cat "$ERR")" "socketcall is allowed outright" "socketcall warning"
    sb_assert_eq "$(jq -r .defaultAction "$P")" "$(jq -r .defaultAction "$OUT")" "defaultAction kept"
    sb_assert_eq SCMP_ACT_NOTIFY "$(jq -r '.syscalls[0].action' "$OUT")" "NOTIFY rule first"
    sb_assert_eq 1 "$(jq '[.syscalls[] | select(.names | index("connect"))] | length' "$OUT")" "connect only in our rule"
    sb_assert_eq 1 "$(jq '[.syscalls[] | select(.names | index("bind"))] | length' "$OUT")" "bind only in our rule"
    sb_assert_eq 1 "$(jq '[.syscalls[] | select(.names | index("listen"))] | length' "$OUT")" "listen only in our rule"
    # the sends: NOTIFY with MSG_FASTOPEN, ALLOW without, nowhere else
    for c in sendto sendmsg sendmmsg; do
        sb_assert_eq '["SCMP_ACT_NOTIFY","SCMP_ACT_ALLOW"]' \
            "$(jq -c "[.syscalls[] | select(.names | index(\"$c\")) | .action]" "$OUT")" "$c: Fast Open rules only"
    done
    # every other name survives (the sends appear twice now)
    before=$(jq '[.syscalls[].names[]] | length' "$P")
    after=$(jq '[.syscalls[].names[]] | length' "$OUT")
    sb_assert_eq "$((before + 3))" "$after" "name count (3 moved into our rule, 3 sends split in two)"
    # stdin, and idempotence
    "$SLIRPBYPASS" seccomp-profile --merge - -l /run/x/bypass.sock <"$OUT" >"$T/twice" ||
        sb_fail "merge from stdin failed"
    sb_assert_eq "$(jq -S . "$OUT")" "$(jq -S . "$T/twice")" "merge twice = merge once"
    fails "already has listenerPath" --merge "$T/twice" -l /run/y/other.sock
fi

printf '{"defaultAction":"SCMP_ACT_NOTIFY"}' >"$T/notify.json"
printf '{"defaultAction":' >"$T/bad.json"
printf '[]' >"$T/array.json"
fails "cannot read $T/missing.json" --merge "$T/missing.json"
fails "cannot read $T: Is a directory" --merge "$T"
fails "$T/bad.json: not valid JSON" --merge "$T/bad.json"
fails "not an object" --merge "$T/array.json"
fails "defaultAction is SCMP_ACT_NOTIFY" --merge "$T/notify.json"
fails "not absolute" -l relative.sock
fails "abstract" -l @abstract
fails "unexpected argument" extra
fails "unknown option" --bogus
fails "stdin: empty" --merge - </dev/null
sb_log "PASS"
