#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# install-deps.sh - install every Debian (bookworm) package that building,
# testing, the demo and the benchmark of slirpbypass need.
#
# Idempotent and quiet: when every package is already installed it does not
# even run `apt-get update`; otherwise it updates the package lists once and
# installs the missing ones non-interactively.  Must run as root.
set -eu

PACKAGES="
meson ninja-build pkg-config gcc git
libslirp-dev libseccomp-dev libglib2.0-dev libjson-glib-dev
iproute2 util-linux procps passwd iperf3 socat ncat curl jq python3
slirp4netns passt uidmap busybox-static libcap2-bin
runc crun podman rootlesskit docker.io apache2-utils
clang libclang-rt-14-dev
"

if [ "$(id -u)" != 0 ]; then
    echo "install-deps.sh: must run as root (try: sudo $0)" >&2
    exit 1
fi

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
    *" installed") ;;
    *) missing="$missing $p" ;;
    esac
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -qq -o Dpkg::Options::=--force-confdef \
    -o Dpkg::Options::=--force-confold $missing >/dev/null
echo "install-deps: done"
