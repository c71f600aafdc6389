#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-runc.sh - rootless runc end to end: a container whose seccomp
# profile comes from `slirpbypass seccomp-profile` has its connections
# taken by the bypass (see oci-lib.sh for the arrangement and phases).
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
. "$(dirname "$0")/bypass-lib.sh"
. "$(dirname "$0")/oci-lib.sh"
oci_main runc
