# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# tests/lib/podman-lib.sh - rootless podman set up for a test (sourced
# after tests/lib/harness.sh and sb_enter_private_host).
#
# Theory of operation: podman's configuration and storage live under
# $U/config and $U (nothing in the user's home): containers.conf names a
# copy of slirpbypass the user can run as network_cmd_path, with runc,
# cgroupfs and file events (this VM's hybrid cgroups keep crun from running
# under podman), storage.conf uses vfs.  Callers run podman with
# XDG_CONFIG_HOME=$U/config.

# sb_podman_setup U - as above; sets bin (the slirpbypass copy).
sb_podman_setup()
{
    local u=$1
    mkdir -p "$u/config/containers"
    bin="$u/slirpbypass"
    cp "$SLIRPBYPASS" "$bin"
    chmod 0755 "$bin"
    cat >"$u/config/containers/containers.conf" <<CONF
[engine]
network_cmd_path = "$bin"
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
    cat >"$u/config/containers/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$u/storage"
runroot = "$u/run"
CONF
}
