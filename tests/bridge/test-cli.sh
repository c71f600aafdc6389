#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-cli.sh - the built binary's command line, against slirp4netns.
#
# Theory of operation: every case here fails (or stops) while parsing, so no
# namespace, tap or packet is involved and the test needs no private host.
# For the cases slirpbypass shares with slirp4netns, both programs run with
# the same argv[0] (bash `exec -a`, because getopt's messages start with
# it) and their stderr must be byte-identical, both must exit 1, and both
# must agree on whether the usage goes to stdout and on the WARNING lines.
# slirp4netns is never given a command line that gets past its parser: the
# PID used is above any possible pid_max and paths do not exist; as a second
# guard both run under `unshare -n` (when permitted) and `timeout`.
# Cases where slirpbypass deliberately differs (safer checks) are asserted
# on their own.  Exit: 0 pass, 1 fail, 77 skip.
set -u

SLIRPBYPASS=${SLIRPBYPASS:-${1:-}}
REF=${SB_REF_SLIRP4NETNS:-/usr/bin/slirp4netns}
NAME=slirp4netns # argv[0] for both programs in compared cases
P=2147483647     # a PID that cannot exist (pid_max <= 4194304)

log() { printf '[test-cli] %s\n' "$*" >&2; }
if [ -z "$SLIRPBYPASS" ] || [ ! -x "$SLIRPBYPASS" ]; then
    log "SLIRPBYPASS is not set to an executable ('$SLIRPBYPASS')"
    exit 1
fi

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
FAILS=0
fail() {
    log "FAIL: $*"
    FAILS=$((FAILS + 1))
}

WRAP=(timeout 10)
if unshare -n true 2>/dev/null; then
    WRAP=(timeout 10 unshare -n)
fi

# run TAG ARGV0 BIN ARGS... -> $T/TAG.{out,err,rc}
run() {
    local tag=$1 argv0=$2 bin=$3
    shift 3
    # shellcheck disable=SC2016 # expanded by the inner bash
    "${WRAP[@]}" bash -c 'exec -a "$0" "$@"' "$argv0" "$bin" "$@" \
        >"$T/$tag.out" 2>"$T/$tag.err" </dev/null
    echo $? >"$T/$tag.rc"
}
rc_of() { cat "$T/$1.rc"; }
has_usage() { grep -q '^Usage: ' "$T/$1.out" && echo yes || echo no; }

# ---------------------------------------------------------------- --help
run help "$NAME" "$SLIRPBYPASS" --help
[ "$(rc_of help)" = 0 ] || fail "--help: exit $(rc_of help), want 0"
[ -s "$T/help.err" ] && fail "--help wrote to stderr: $(cat "$T/help.err")"
[ "$(head -n1 "$T/help.out")" = "Usage: $NAME [OPTION]... PID|PATH|FD [TAPNAME]" ] ||
    fail "--help usage line: $(head -n1 "$T/help.out")"
for s in --disable-host-loopback --mtu --enable-sandbox --enable-seccomp \
    --cidr --outbound-addr --enable-ipv6 --netns-type --api-socket \
    --outbound-addr6 --disable-dns --macaddress --target-type --userns-path \
    --exit-fd --ready-fd --configure --publish --bypass-socket \
    --bypass-ignore 'slirpbypass seccomp-profile' 'slirpbypass exec'; do
    grep -qF -- "$s" "$T/help.out" || fail "--help lacks '$s'"
done
grep -qxF -- "$(printf -- '--netns-type=TYPE \t specify network namespace type ([path|pid|tapfd], default=pid)')" \
    "$T/help.out" || fail "--help: --netns-type line (with its TAB) differs"
run helpshort x "$SLIRPBYPASS" -c -h
if [ "$(rc_of helpshort)" != 0 ] || [ "$(has_usage helpshort)" != yes ]; then
    fail "-c -h: exit $(rc_of helpshort) or no usage"
fi

# ---------------------------------------------------------------- --version
run ver "$NAME" "$SLIRPBYPASS" -v
[ "$(rc_of ver)" = 0 ] || fail "-v: exit $(rc_of ver), want 0"
grep -Eqx 'slirpbypass version [0-9]+\.[0-9]+\.[0-9]+.*' "$T/ver.out" ||
    fail "-v: no 'slirpbypass version X' line"
grep -Eqx 'libslirp: [0-9]+\.[0-9]+\.[0-9]+' "$T/ver.out" || fail "-v: no libslirp line"
grep -Eqx 'SLIRP_CONFIG_VERSION_MAX: [0-9]+' "$T/ver.out" || fail "-v: no SLIRP_CONFIG_VERSION_MAX"
grep -Eqx 'libseccomp: [0-9]+\.[0-9]+\.[0-9]+' "$T/ver.out" || fail "-v: no libseccomp line"
# The upstream tests' parse: the value must be a number >= 3 for the
# disable-dns and outbound-addr features we advertise.
v=$(grep 'SLIRP_CONFIG_VERSION_MAX: ' "$T/ver.out" | sed 's/.*: //')
[ "${v:-0}" -ge 3 ] || fail "-v: SLIRP_CONFIG_VERSION_MAX '$v' < 3"
n=$(grep -cv -E '^(slirpbypass version |commit: |libslirp: |SLIRP_CONFIG_VERSION_MAX: |libseccomp: )' "$T/ver.out")
[ "$n" = 0 ] || fail "-v: $n unexpected line(s): $(cat "$T/ver.out")"
[ "$(head -n1 "$T/ver.out" | cut -d' ' -f1-2)" = "slirpbypass version" ] ||
    fail "-v: first line is not the version line"

HAVE_REF=no
if [ -x "$REF" ]; then
    HAVE_REF=yes
    run refver x "$REF" -v
    for k in libslirp SLIRP_CONFIG_VERSION_MAX; do
        a=$(grep "^$k: " "$T/ver.out")
        b=$(grep "^$k: " "$T/refver.out")
        [ "$a" = "$b" ] || fail "-v: '$a' differs from slirp4netns's '$b'"
    done
    # Every slirp4netns --help line except Usage and the netns-type line
    # (we add tapfd there) appears verbatim in ours.
    run refhelp "$NAME" "$REF" --help
    while IFS= read -r line; do
        case $line in Usage:* | --netns-type=*) continue ;; esac
        grep -qxF -- "$line" "$T/help.out" || fail "--help lacks slirp4netns line '$line'"
    done <"$T/refhelp.out"
else
    log "no $REF: skipping the byte comparisons"
fi

# ---------------------------------------------------------------- shared errors
# Each line is a shell-quoted argv.  A leading "nl " marks the cases where
# slirp4netns forgets the final newline: ours must equal its text + "\n".
SHARED=(
    "-m 0 $P tap0"
    "-m 65522 $P tap0"
    "-m 12abc $P tap0"
    "--mtu=abc $P tap0"
    "--mtu '' $P tap0"
    "-e -1 $P tap0"
    "--exit-fd=abc $P tap0"
    "-e 3abc $P tap0"
    "-r x $P tap0"
    "--ready-fd -2 $P tap0"
    "$P"
    ""
    "abc tap0"
    "0 tap0"
    "-- -5 tap0"
    "12x tap0"
    "--netns-type=path /nonexistent/netns tap0"
    "--netns-type=foo /nonexistent/netns tap0"
    "--netns-type=path /nonexistent/netns"
    "--userns-path=/nonexistent $P tap0"
    "--userns-path=/nonexistent -m 0 $P tap0"
    "-m 0 --userns-path=/nonexistent $P tap0"
    "--bogus $P tap0"
    "--bogus=1 $P tap0"
    "-x $P tap0"
    "-cx $P tap0"
    "-: $P tap0"
    "-m"
    "--mtu"
    "--cidr"
    "$P tap0 --api-socket"
    "$P tap0 -r"
    "--configure=1 $P tap0"
    "--conf=1 $P tap0"
    "--en $P tap0"
    "--outbound $P tap0"
    "--m=1400 $P tap0"
    "--d $P tap0"
    "--n $P tap0"
    "--macaddress=0e:d4 $P tap0"
    "$P tap0 --macaddress 0e:d4"
    "--macaddress=zz abc"
    "--target-type=foo $P tap0"
    "--target-type=bess"
    "--target-type=bess -c"
    "--target-type=bess -c /nonexistent/sock"
    "--target-type=bess --netns-type=path /nonexistent/sock"
    "--target-type=bess --userns-path=/ /nonexistent/sock"
    "--target-type=bess --netns-type=x --userns-path=/ /nonexistent/sock"
    "--target-type=bess /nonexistent/sock extra"
    "--target-type=bess -c /nonexistent/sock extra"
    "--target-type=bess --macaddress=1 /nonexistent/sock"
    "-6 --enable-seccomp --no-host-loopback --create-sandbox -m 0 $P tap0"
    "--outbound-addr=127.0.0.1 -m 0 $P tap0"
    "--netns-type=pid abc tap0 extra"
    "--cidr=10.0.2.0/26 $P tap0"
    "--cidr=10.0.2.0/0 $P tap0"
    "--cidr=10.0.2.1/24 $P tap0"
    "--cidr=10.0.2.0/8 $P tap0"
    "--cidr=10.0.2.0 $P tap0"
    "--cidr=300.0.2.0/24 $P tap0"
    "--cidr=010.0.2.0/24 $P tap0"
    "--cidr=10.0.2.0/024 $P tap0"
    "--cidr=10.0.2.0/123 $P tap0"
    "--cidr=1.2.3.4 -c --macaddress=zz --outbound-addr=nosuch0 $P tap0"
    "nl --outbound-addr=nosuch0 $P tap0"
    "nl -c --macaddress=zz --outbound-addr=nosuch0 $P tap0"
    "nl -c --macaddress=zz $P tap0"
    "nl -c --macaddress='' $P tap0"
    "nl -c --macaddress=0e:zz $P tap0"
    "nl -c --macaddress=0e:d4: $P tap0"
    "nl -c --macaddress=:0e $P tap0"
    "nl -c --macaddress=100:d4 $P tap0"
    "nl -c --macaddress=-1:2 $P tap0"
    "nl -c --macaddress=0e:d4:1:2:3:4:5 $P tap0"
    "nl -c --macaddress=1:2:3:4:5:6: $P tap0"
)
i=0
for c in "${SHARED[@]}"; do
    i=$((i + 1))
    nl=no
    case $c in "nl "*) nl=yes c=${c#nl } ;; esac
    eval "set -- $c"
    run "s$i" "$NAME" "$SLIRPBYPASS" "$@"
    [ "$(rc_of "s$i")" = 1 ] || fail "[$c] exit $(rc_of "s$i"), want 1"
    [ "$HAVE_REF" = yes ] || continue
    run "r$i" "$NAME" "$REF" "$@"
    [ "$(rc_of "r$i")" = 1 ] || {
        fail "[$c] slirp4netns exits $(rc_of "r$i"): case list is wrong"
        continue
    }
    [ "$nl" = yes ] && echo >>"$T/r$i.err"
    cmp -s "$T/s$i.err" "$T/r$i.err" ||
        fail "[$c] stderr differs: ours '$(cat "$T/s$i.err")' slirp4netns '$(cat "$T/r$i.err")'"
    [ "$(has_usage "s$i")" = "$(has_usage "r$i")" ] ||
        fail "[$c] usage on stdout: ours $(has_usage "s$i"), slirp4netns $(has_usage "r$i")"
    # slirp4netns forks after its parser only; before that its stdout holds
    # just the WARNINGs and the usage, in that order.
    diff <(grep '^WARNING' "$T/s$i.out") <(grep '^WARNING' "$T/r$i.out") >/dev/null ||
        fail "[$c] WARNING lines differ: ours '$(grep '^WARNING' "$T/s$i.out")'"
done
log "compared ${#SHARED[@]} shared error cases (reference: $HAVE_REF)"

# ---------------------------------------------------------------- our own checks
# expect ARGS-STRING USAGE(yes|no) STDERR-TEXT: exit 1, exact stderr line.
expect() {
    local c=$1 usage=$2 want=$3
    i=$((i + 1))
    eval "set -- $c"
    run "o$i" "$NAME" "$SLIRPBYPASS" "$@"
    [ "$(rc_of "o$i")" = 1 ] || fail "[$c] exit $(rc_of "o$i"), want 1"
    [ "$(cat "$T/o$i.err")" = "$want" ] ||
        fail "[$c] stderr '$(cat "$T/o$i.err")', want '$want'"
    [ "$(has_usage "o$i")" = "$usage" ] || fail "[$c] usage on stdout: want $usage"
}
# slirp4netns accepts these and fails later (or silently truncates).
expect "-m 67 $P tap0" yes "MTU 67 is too small: it must be 68-65521"
expect "-c --mtu=1 $P tap0" yes "MTU 1 is too small: it must be 68-65521"
expect "-e 99999999999 $P tap0" yes "exit-fd must be a non-negative integer"
expect "-r 2147483648 $P tap0" yes "ready-fd must be a non-negative integer"
expect "99999999999 tap0" yes "PID must be a positive integer"
expect "$P tap0123456789abcdef" yes \
    "invalid TAPNAME \"tap0123456789abcdef\": it must be 1-15 characters without '/', ':' or blanks"
expect "$P a/b" yes \
    "invalid TAPNAME \"a/b\": it must be 1-15 characters without '/', ':' or blanks"
# slirp4netns prints an IPv4 text (with a typo) for the IPv6 option.
expect "--outbound-addr6=nosuch0 $P tap0" no \
    "outbound-addr6 has to be valid ipv6 address or interface name."
expect "--outbound-addr6=127.0.0.1 $P tap0" no \
    "outbound-addr6 has to be valid ipv6 address or interface name."
expect "--outbound-addr=::1 $P tap0" no \
    "outbound-addr has to be valid ipv4 address or interface name."
# tapfd mode (slirp4netns HEAD); fd 97 is not open in the child.
expect "--netns-type=tapfd" yes ""
expect "--netns-type=tapfd x" yes "FD must be a non-negative integer when --netns-type=tapfd"
expect "--netns-type=tapfd 97" yes "FD 97 is not an open file descriptor: Bad file descriptor"
# Extensions.
expect "--bypass-ignore=10.0.0.0/33 $P tap0" yes \
    "--bypass-ignore: \"10.0.0.0/33\" is not an IPv4 or IPv6 CIDR like 192.168.0.0/16 or fd00::/8"
expect "--bypass-ignore=10.0.0.0/8,,fd00::/8 $P tap0" yes \
    "--bypass-ignore: \"\" is not an IPv4 or IPv6 CIDR like 192.168.0.0/16 or fd00::/8"
expect "--bypass-socket= $P tap0" yes "--bypass-socket needs a non-empty PATH"
expect "--publish" yes "$NAME: option '--publish' requires an argument"
expect "-p" yes "$NAME: option requires an argument -- 'p'"
# The MAC text is two lines, as in slirp4netns.
expect "-c --macaddress=0x1 $P tap0" no "\"0x1\" is an invalid MAC address.
macaddress has to be a valid MAC address (hex string, 6 bytes, each byte separated by a ':')."

if [ "$FAILS" -gt 0 ]; then
    log "$FAILS failure(s)"
    exit 1
fi
log "all passed"
exit 0
