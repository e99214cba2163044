# Checks the guest itself: pure cgroup v2 with the controllers berth's tests
# need, every namespace type creatable, a pivot_root-able root, the packed
# busybox bundle, and a berth binary that at least executes.
. /v2guest/lib.sh

cg=/sys/fs/cgroup

# cgroup2 mounted at /sys/fs/cgroup, and no v1 hierarchy anywhere.
fstype=$(awk -v m=$cg '$2 == m { t = $3 } END { print t }' /proc/mounts)
if [ "$fstype" = cgroup2 ]; then ok cgroup2-mounted; else not_ok cgroup2-mounted "$cg is '$fstype'"; fi
v1=$(awk '$3 == "cgroup" { print $2 }' /proc/mounts)
if [ -z "$v1" ]; then ok no-cgroup-v1; else not_ok no-cgroup-v1 "v1 mounts: $v1"; fi

controllers=$(cat $cg/cgroup.controllers)
enabled=$(cat $cg/cgroup.subtree_control)
note "controllers: $controllers"
for c in cpuset cpu io memory hugetlb pids rdma misc; do
    if ! echo " $controllers " | grep -q " $c "; then
        case $c in
        rdma | misc) note "controller $c not offered by this kernel" ;;
        *) not_ok "controller-$c" "not in $cg/cgroup.controllers" ;;
        esac
    elif ! echo " $enabled " | grep -q " $c "; then
        not_ok "controller-$c" "not enabled in $cg/cgroup.subtree_control"
    else
        ok "controller-$c"
    fi
done

# A child cgroup gets every controller and can hold a process.
child=$cg/v2guest-smoke.$$
if mkdir $child 2>/dev/null; then
    if [ "$(cat $child/cgroup.controllers)" = "$controllers" ]; then
        ok child-cgroup-controllers
    else
        not_ok child-cgroup-controllers "child has '$(cat $child/cgroup.controllers)'"
    fi
    check child-cgroup-memory-max sh -c "echo 64M >$child/memory.max && [ \$(cat $child/memory.max) = 67108864 ]"
    check child-cgroup-pids-max sh -c "echo 10 >$child/pids.max"
    check child-cgroup-join sh -c "echo \$\$ >$child/cgroup.procs && grep -qx '0::/v2guest-smoke.$$' /proc/self/cgroup"
    rmdir $child || not_ok child-cgroup-rmdir "cannot remove $child"
else
    not_ok child-cgroup-controllers "mkdir $child failed"
fi

# Each namespace type on its own, then all together as an unprivileged-style
# user namespace would use them. util-linux unshare, by full path: busybox's
# lacks --cgroup/--time, and busybox sh runs its own applets before $PATH.
unshare=/usr/local/bin/unshare
for ns in user pid net mount uts ipc cgroup time; do
    case $ns in
    pid | time) check "unshare-$ns" $unshare --$ns --fork true ;;
    *) check "unshare-$ns" $unshare --$ns true ;;
    esac
done
out=$($unshare --user --map-root-user --pid --fork --net --mount --uts --ipc --cgroup \
    sh -c 'echo "$(id -u) $$ $(cat /proc/self/cgroup)"' 2>&1)
if [ "$out" = "0 1 0::/" ]; then ok unshare-all; else not_ok unshare-all "got '$out', want '0 1 0::/'"; fi

# Root on a tmpfs (not the initial rootfs), so containers can pivot_root.
rootfs_type=$(awk '$2 == "/" { t = $3 } END { print t }' /proc/mounts)
if [ "$rootfs_type" = tmpfs ]; then ok root-is-tmpfs; else not_ok root-is-tmpfs "/ is '$rootfs_type'"; fi
check pivot-root $unshare --mount sh -c '
    mkdir -p /tmp/pr && mount -t tmpfs pr /tmp/pr && mkdir /tmp/pr/old &&
    cd /tmp/pr && pivot_root . old && [ -d /old/proc ]'

check overlayfs grep -qw overlay /proc/filesystems

# The packed bundle runs with busybox alone.
check busybox-bundle chroot $BUSYBOX_ROOTFS /bin/sh -c 'echo hi | grep -q hi'
check busybox-bundle-config test -s $BUSYBOX_BUNDLE/config.json

# berth executes (its CLI is still growing: only ask that the loader and
# binary work, i.e. no 126/127 and no dynamic-loader complaint).
out=$(berth --version 2>&1)
rc=$?
note "berth --version: rc=$rc: $(echo "$out" | head -n 1)"
if [ $rc -ge 126 ] || echo "$out" | grep -qiE 'error while loading|not found|No such file'; then
    not_ok berth-executes "rc=$rc: $(echo "$out" | head -n 1)"
else
    ok berth-executes
fi

finish
