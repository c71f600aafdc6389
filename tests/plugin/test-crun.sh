#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-crun.sh - rootless crun end to end (see oci-lib.sh).  crun 1.8.1
# refuses to start on a hybrid cgroup host whose v2 hierarchy has
# controllers ("cgroups in hybrid mode not supported"); as on this machine
# kind (testbed), mount the hugetlb v1 hierarchy, in the test's private
# mount namespace, which empties the v2 controller list while it exists.
# Mount it unconditionally (unless this namespace has it already): after an
# earlier run the old hierarchy can linger for a moment, making the v2 list
# look empty now and full again a second later; mounting joins it.
. "$(dirname "$0")/../lib/harness.sh"
sb_enter_private_host "$@"
. "$(dirname "$0")/bypass-lib.sh"
. "$(dirname "$0")/oci-lib.sh"
sb_need crun
if [ -e /sys/fs/cgroup/unified/cgroup.controllers ] &&
    ! grep -q ' - cgroup cgroup [^ ]*hugetlb' /proc/self/mountinfo; then
    mkdir -p /sys/fs/cgroup/hugetlb &&
        mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb ||
        sb_skip "crun needs the hugetlb v1 hierarchy on this hybrid-cgroup host and it cannot be mounted"
fi
oci_main crun
