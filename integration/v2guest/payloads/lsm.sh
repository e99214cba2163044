# restore's LSM flags with CRIU, with AppArmor active: a container running under one
# AppArmor profile (process.apparmorProfile), checkpointed and restored with
# --lsm-profile apparmor:OTHER, runs under OTHER (its /proc/PID/attr/current says so);
# without the flag it keeps its own. CRIU rewrites only a profile the dump recorded: a task
# dumped unconfined stays unconfined whatever --lsm-profile says (noted, as CRIU's doing).
# --lsm-mount-context is accepted and passed on (CRIU only replaces a mount's existing
# context= option with it, which no mount has without SELinux, so such a restore goes on
# as one without it). The --lsm-profile restore is repeated with runc (Debian's 1.1.5) and
# its result compared.
# v2guest-needs: criu tar apparmor_parser:apparmor runc
# v2guest-modules: crc32c_generic unix_diag inet_diag tcp_diag udp_diag raw_diag af_packet_diag netlink_diag nf_tables autofs4 nf_conntrack_netlink
# v2guest-cmdline: apparmor=1 security=apparmor
. /v2guest/lib.sh

R=/run/berth-lsm
B=/tmp/lsm-bundle
D=/tmp/lsm-data
I=/tmp/lsm-img
L=/tmp/lsm-logs
P=berth-lsm-test
rm -rf $D $I $L
mkdir -p $D $I $L

# CRIU and apparmor_parser find AppArmor through securityfs.
secfs=""
grep -q " /sys/kernel/security " /proc/mounts || { mount -t securityfs securityfs /sys/kernel/security && secfs=mounted; }
# CRIU caches what the kernel offers (kerndat) in /run; a payload that ran CRIU earlier in
# this boot, before securityfs was mounted, left a cache that says "no AppArmor".
rm -f /run/criu.kdat /run/criu/criu.kdat
if [ "$(cat /sys/module/apparmor/parameters/enabled 2>&1)" = Y ] && [ -d /sys/kernel/security/apparmor ]; then
    ok apparmor-active
else
    not_ok apparmor-active "enabled=$(cat /sys/module/apparmor/parameters/enabled 2>&1); $(dmesg | grep -i -m 3 -e apparmor -e 'LSM:' | tr '\n' ' ')"
    finish
fi
note "active LSMs: $(cat /sys/kernel/security/lsm); cmdline: $(cat /proc/cmdline)"
require_criu

# Two tiny profiles that allow what the counter and CRIU's restore need: the container
# runs under P1, a restore may move it to P2.
P1=berth-lsm-run
P2=berth-lsm-restore
for p in $P1 $P2; do
    cat >/tmp/$p.profile <<PROFILE
profile $p flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  signal,
  ptrace,
  unix,
  mount,
  umount,
  pivot_root,
}
PROFILE
    if out=$(/usr/local/bin/apparmor_parser --skip-cache -r /tmp/$p.profile 2>&1) \
        && grep -q "^$p (enforce)" /sys/kernel/security/apparmor/profiles; then
        ok profile-loaded-$p
    else
        not_ok profile-loaded-$p "$out"
        finish
    fi
done

make_bundle $B /bin/sh -c 'i=0; while :; do i=$((i + 1)); echo $i >/run/count; sleep 0.1; done'
sed -i "s|\"mounts\": \[|\"mounts\": [ { \"destination\": \"/run\", \"type\": \"bind\", \"source\": \"$D\", \"options\": [\"rbind\", \"rw\"] },|" $B/config.json
cp $B/config.json $B/unconfined.json
sed -i "s|\"args\":|\"apparmorProfile\": \"$P1\", \"args\":|" $B/config.json

# attr_of ID: the AppArmor label of the container's init, as the host sees it.
attr_of() { tr -d '\0' </proc/$(pid_of $1)/attr/current 2>&1; }

# round_trip NAME FROM TO [RESTORE-FLAG...]: checkpoint FROM, restore it as TO with the
# flags; ok when TO runs and counts on.
round_trip() {
    _rt=$1 _from=$2 _to=$3
    shift 3
    if berth --root $R checkpoint --image-path $I/$_rt $_from >$L/cp-$_rt.log 2>&1; then ok $_rt-checkpoint; else not_ok $_rt-checkpoint "$(cat $L/cp-$_rt.log)"; show_errors $I/$_rt/dump.log; fi
    _a=$(count)
    if berth --root $R restore -d --bundle $B --image-path $I/$_rt "$@" $_to </dev/null >$L/$_to.log 2>&1; then
        ok $_rt-restore
    else
        not_ok $_rt-restore "$(cat $L/$_to.log)"
        show_errors $I/$_rt/restore.log
    fi
    wait_count $((_a + 3))
    if [ "$(status_of $_to)" = running ] && [ "$(count)" -gt "$_a" ]; then ok $_rt-counts-on; else not_ok $_rt-counts-on "status $(status_of $_to), count $_a then $(count)"; fi
}

# An unconfined container: CRIU has no profile to rewrite, --lsm-profile changes nothing.
mv $B/config.json $B/config.json.confined
cp $B/unconfined.json $B/config.json
berth --root $R run -d --bundle $B lsm0 </dev/null >$L/lsm0.log 2>&1 || not_ok run-unconfined "$(cat $L/lsm0.log)"
wait_count 3
a=$(attr_of lsm0)
if [ "$a" = unconfined ]; then ok run-unconfined; else not_ok run-unconfined "attr/current '$a'"; fi
round_trip unconfined lsm0 lsm0b --lsm-profile apparmor:$P2
note "dumped unconfined, restored with --lsm-profile apparmor:$P2: '$(attr_of lsm0b)' (CRIU rewrites only a dumped profile)"
berth --root $R kill lsm0b KILL >/dev/null 2>&1
n=0
while [ "$(status_of lsm0b)" = running ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
berth --root $R delete -f lsm0b >/dev/null 2>&1
mv $B/config.json.confined $B/config.json

rm -f $D/count
berth --root $R run -d --bundle $B lsm1 </dev/null >$L/lsm1.log 2>&1 || not_ok run "$(cat $L/lsm1.log)"
wait_count 3
a=$(attr_of lsm1)
if [ "$a" = "$P1 (enforce)" ]; then ok run-confined; else not_ok run-confined "attr/current '$a'"; fi

# Without --lsm-profile CRIU restores the profile the task had.
round_trip plain lsm1 lsm2
a=$(attr_of lsm2)
if [ "$a" = "$P1 (enforce)" ]; then ok plain-keeps-profile; else not_ok plain-keeps-profile "attr/current '$a'"; fi

# --lsm-profile apparmor:P2: the restored task runs under P2, enforced.
round_trip profile lsm2 lsm3 --lsm-profile apparmor:$P2
a=$(attr_of lsm3)
if [ "$a" = "$P2 (enforce)" ]; then ok restore-lsm-profile; else not_ok restore-lsm-profile "attr/current '$a'"; fi
a=$(tr -d '\0' </proc/$(pid_of lsm3)/attr/apparmor/current 2>&1)
if [ "$a" = "$P2 (enforce)" ]; then ok restore-lsm-profile-apparmor-attr; else not_ok restore-lsm-profile-apparmor-attr "attr/apparmor/current '$a'"; fi
# A process exec'd later gets the profile of the container's config, as with runc.
a=$(berth --root $R exec lsm3 /bin/cat /proc/self/attr/current 2>&1 | tr -d '\0')
if [ "$a" = "$P1 (enforce)" ]; then ok exec-after-profile-restore; else not_ok exec-after-profile-restore "'$a'"; fi

# --lsm-mount-context: accepted and passed to CRIU; no mount has a context= option here.
round_trip mount-context lsm3 lsm4 --lsm-mount-context system_u:object_r:container_file_t:s0
a=$(attr_of lsm4)
if [ "$a" = "$P2 (enforce)" ]; then ok mount-context-keeps-profile; else not_ok mount-context-keeps-profile "attr/current '$a'"; fi

# runc, the same round trip: the restored task's label must be the one berth gave.
# In the host's network namespace: runc 1.1.5 locks a container's own one with
# iptables-restore, which the guest does not have.
RR=/run/runc-lsm
RB=/tmp/lsm-runc-bundle
mkdir -p $RB
sed 's/{ "type": "network" }, //' $B/config.json >$RB/config.json
rm -f $D/count
# Its stdio on /dev/null: runc hands it to the container, and CRIU cannot dump a file
# outside the container's mounts.
if runc --root $RR run -d --bundle $RB rlsm1 </dev/null >/dev/null 2>&1; then
    wait_count 3
    a=$(tr -d '\0' </proc/$(runc --root $RR state rlsm1 | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')/attr/current 2>&1)
    runc --root $RR checkpoint --image-path $I/runc rlsm1 >$L/rcp.log 2>&1 || { not_ok runc-checkpoint "$(cat $L/rcp.log)"; show_errors $I/runc/dump.log; }
    runc --root $RR restore -d --bundle $RB --image-path $I/runc --lsm-profile apparmor:$P2 rlsm2 </dev/null >/dev/null 2>$L/rlsm2.log \
        || { not_ok runc-restore "$(cat $L/rlsm2.log)"; show_errors $I/runc/restore.log; }
    b=$(tr -d '\0' </proc/$(runc --root $RR state rlsm2 | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')/attr/current 2>&1)
    # (berth's restore-lsm-profile above: P1, then P2)
    if [ "$a" = "$P1 (enforce)" ] && [ "$b" = "$P2 (enforce)" ]; then ok runc-same-lsm-profile; else not_ok runc-same-lsm-profile "runc: '$a' then '$b'"; fi
    runc --root $RR kill rlsm2 KILL >/dev/null 2>&1
    n=0
    while runc --root $RR state rlsm2 2>/dev/null | grep -q '"running"' && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
    runc --root $RR delete -f rlsm1 >/dev/null 2>&1
    runc --root $RR delete -f rlsm2 >/dev/null 2>&1
else
    not_ok runc-run "runc run failed"
fi
rm -rf $RR $RB

berth --root $R kill lsm4 KILL >/dev/null 2>&1
n=0
while [ "$(status_of lsm4)" = running ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
for c in lsm0 lsm0b lsm1 lsm2 lsm3 lsm4; do berth --root $R delete -f $c >/dev/null 2>&1; done
for p in $P1 $P2; do /usr/local/bin/apparmor_parser -R /tmp/$p.profile >/dev/null 2>&1; rm -f /tmp/$p.profile; done
rm -rf $D $I $L $B $R
[ -z "$secfs" ] || umount /sys/kernel/security
finish
