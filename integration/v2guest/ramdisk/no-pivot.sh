# --no-pivot on a root that nothing can pivot_root away from: this guest boots with
# v2guest.ramdisk-root and stays on its initramfs (see ../init), as hosts that run
# containers from a ramdisk do. `run` needs --no-pivot there, as runc's does. CRIU's
# restore pivot_roots from berth's root into the restored mount namespace and fails the
# same way, unless restore has --no-pivot: CRIU then gets a bind mount of the root as its
# root, and the restored container counts on from where it was.
# v2guest-needs: criu tar
# v2guest-modules: crc32c_generic unix_diag inet_diag tcp_diag udp_diag raw_diag af_packet_diag netlink_diag nf_tables autofs4 nf_conntrack_netlink
. /v2guest/lib.sh

R=/run/berth-ramdisk
B=/tmp/ramdisk-bundle
D=/tmp/ramdisk-data
I=/tmp/ramdisk-img
L=/tmp/ramdisk-logs
mkdir -p $D $I $L

root_type=$(awk '$2 == "/" { print $3; exit }' /proc/mounts)
if [ "$root_type" = rootfs ]; then ok root-is-initramfs; else not_ok root-is-initramfs "/ is '$root_type'"; finish; fi
require_criu

make_bundle $B /bin/sh -c 'i=0; while :; do i=$((i + 1)); echo $i >/run/count; sleep 0.1; done'
sed -i "s|\"mounts\": \[|\"mounts\": [ { \"destination\": \"/run\", \"type\": \"bind\", \"source\": \"$D\", \"options\": [\"rbind\", \"rw\"] },|" $B/config.json

out=$(berth --root $R run -d --bundle $B n0 2>&1 </dev/null)
case "$out" in *pivot_root*) ok run-needs-no-pivot ;; *) not_ok run-needs-no-pivot "$out" ;; esac
berth --root $R run -d --no-pivot --bundle $B n1 </dev/null >$L/n1.log 2>&1 || not_ok run-no-pivot "$(cat $L/n1.log)"
wait_count 5
if [ "$(count)" -gt 5 ]; then ok run-no-pivot; else not_ok run-no-pivot "count $(count)"; fi
if berth --root $R checkpoint --image-path $I/one n1 >$L/cp.log 2>&1; then ok checkpoint; else not_ok checkpoint "$(cat $L/cp.log)"; show_errors $I/one/dump.log; fi

out=$(berth --root $R restore -d --bundle $B --image-path $I/one n2 2>&1 </dev/null)
case "$out" in *"criu restore failed"*pivot_root*) ok restore-needs-no-pivot ;; *) not_ok restore-needs-no-pivot "$out" ;; esac
if [ ! -d $R/n2 ] && [ ! -d /sys/fs/cgroup/n2 ]; then ok restore-failure-cleans; else not_ok restore-failure-cleans "$(ls $R)"; fi

a=$(count)
if berth --root $R restore -d --no-pivot --bundle $B --image-path $I/one n3 </dev/null >$L/n3.log 2>&1; then ok restore-no-pivot; else not_ok restore-no-pivot "$(cat $L/n3.log)"; show_errors $I/one/restore.log; fi
pid=$(pid_of n3)
if [ "$(status_of n3)" = running ] && kill -0 "$pid" 2>/dev/null; then ok restored-running; else not_ok restored-running "$(berth --root $R state n3 2>&1)"; fi
wait_count $((a + 3))
c=$(count)
if [ "$c" -gt "$a" ] && [ "$c" -lt $((a + 200)) ]; then ok restored-counter-continues; else not_ok restored-counter-continues "was $a, now $c"; fi
cg=$(sed -n 's/^0:://p' /proc/$pid/cgroup 2>/dev/null)
if [ "$cg" = /n3 ]; then ok restored-cgroup; else not_ok restored-cgroup "in '$cg'"; fi
out=$(berth --root $R exec n3 /bin/cat /proc/1/cmdline 2>&1)
case "$out" in *while*) ok exec-into-restored ;; *) not_ok exec-into-restored "$out" ;; esac
if [ ! -e "$R/criu-host~n3" ] && ! grep -q criu- /proc/self/mountinfo; then ok nothing-left-of-the-bind; else not_ok nothing-left-of-the-bind "$(ls $R; grep criu- /proc/self/mountinfo)"; fi

for id in $(ls $R 2>/dev/null); do berth --root $R delete --force $id; done
if [ ! -d /sys/fs/cgroup/n3 ]; then ok delete; else not_ok delete "cgroup n3 left"; fi
rm -rf $B $D $I $L $R
finish
