#!/usr/bin/env bash
# Prepares the machine for `make bench`: crun refuses a hybrid cgroup layout while a
# controller sits in cgroup2, and on this VM hugetlb does at boot; moving it to a v1
# hierarchy (when it is not mounted yet) lets crun run. berth itself needs none of this.
set -euo pipefail
if [ -d /sys/fs/cgroup/unified ] && grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null \
   && ! grep -q ' /sys/fs/cgroup/hugetlb ' /proc/self/mountinfo; then
	# A controller enabled for cgroup2's children cannot move to v1: disable it first (the
	# kernel refuses while a child cgroup still uses it, and the mount then says so).
	if grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.subtree_control; then
		echo -hugetlb >/sys/fs/cgroup/unified/cgroup.subtree_control
	fi
	mkdir -p /sys/fs/cgroup/hugetlb
	mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
	echo "bench setup: mounted the hugetlb controller at /sys/fs/cgroup/hugetlb for crun"
fi
