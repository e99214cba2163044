#!/bin/bash
# berth's systemd cgroup driver (--systemd-cgroup, issue 13) where systemd is PID 1 on pure
# cgroup v2, compared with runc 1.5.1 (runc-1.5) and Debian's runc 1.1.5 in the same guest:
# the unit systemd shows while the container exists and its properties, the limits in the
# cgroup files, exec/update/pause/resume/ps/kill --all/delete through it, nothing left after
# delete, runc's words for bad paths and annotations, a D-Bus that is down or does not
# answer (berth: a clear error within its timeout), and a user's own systemd (rootless).
. /v2guest/lib.sh

BERTH=/usr/local/bin/berth
RUNC15=/usr/local/bin/runc-1.5
RUNC=/usr/sbin/runc
W=/tmp/sd-driver
rm -rf "$W" && mkdir -p "$W"
CG=/sys/fs/cgroup

# rt NAME: the binary of a runtime name.
rt() { case $1 in berth) echo $BERTH ;; runc15) echo $RUNC15 ;; runc) echo $RUNC ;; esac; }
# R NAME ARGS...: the runtime with its own root and the systemd driver.
R() { _n=$1; shift; "$(rt "$_n")" --root "$W/root-$_n" --systemd-cgroup "$@"; }

RES='"resources": { "devices": [{ "allow": false, "access": "rwm" }],
  "memory": { "limit": 67108864, "reservation": 33554432, "swap": 134217728 },
  "cpu": { "shares": 512, "quota": 12345, "period": 100000, "cpus": "0", "mems": "0" },
  "pids": { "limit": 50 }, "blockIO": { "weight": 500 } },'

# bundle DIR CGROUPSPATH ANNOTATIONS ARG...: a busybox bundle with the resources above, the
# cgroupsPath (empty: none) and annotations (JSON members, or empty).
bundle() {
    _d=$1 _p=$2 _a=$3
    shift 3
    make_bundle "$_d" "$@"
    _res=$(printf '%s' "$RES" | tr '\n' ' ')
    sed -i "s|\"resources\": { \"devices\": \[{ \"allow\": false, \"access\": \"rwm\" }\] },|$_res|" "$_d/config.json"
    [ -n "$_p" ] && sed -i "s|\"linux\": {|\"linux\": { \"cgroupsPath\": \"$_p\",|" "$_d/config.json"
    [ -n "$_a" ] && sed -i "s|\"linux\": {|\"annotations\": { $_a }, \"linux\": {|" "$_d/config.json"
    return 0
}

PROPS="Slice Delegate Description DefaultDependencies MemoryAccounting CPUAccounting IOAccounting TasksAccounting MemoryMax MemoryLow MemorySwapMax TasksMax CPUWeight CPUQuotaPerSecUSec CPUQuotaPeriodUSec AllowedCPUs AllowedMemoryNodes DevicePolicy ActiveState"
FILES="memory.max memory.low memory.swap.max pids.max cpu.max cpu.weight cpuset.cpus cpuset.mems"
show() { systemctl show "$1" $(for p in $PROPS; do printf -- '-p %s ' "$p"; done) 2>&1; }
files() { for f in $FILES; do echo "$f=$(cat "$2/$f" 2>&1)"; done; }
gone() { # UNIT DIR: the unit unknown or inactive, the directory absent
    _st=$(systemctl show "$1" -p LoadState -p ActiveState | tr '\n' ' ')
    case "$_st" in *"ActiveState=active"*) return 1 ;; esac
    [ ! -e "$2" ]
}
same() { # NAME A B: ok if A and B are the same text
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "berth: $(echo "$2" | tr '\n' ' ') | runc: $(echo "$3" | tr '\n' ' ')"; fi
}

systemctl is-system-running --wait >/dev/null 2>&1
note "systemd $(systemctl --version | head -n1)"

# 1. The whole life of a container in its scope, for each runtime.
for n in berth runc15; do
    D=$W/b-$n
    bundle "$D" "system.slice:sdtest:c1" "" sleep 300
    U=sdtest-c1.scope
    P=$CG/system.slice/$U
    R $n run -d --bundle "$D" c1 >"$W/$n.run" 2>&1
    echo "run=$?" >"$W/$n.codes"
    show "$U" >"$W/$n.props"
    files x "$P" >"$W/$n.files"
    R $n exec c1 cat /sys/fs/cgroup/memory.max >"$W/$n.exec" 2>&1
    echo "exec=$?" >>"$W/$n.codes"
    echo "events=$(R $n events --stats c1 2>&1 | grep -o '"pids":{"current":[0-9]*,"limit":[0-9]*}')" >>"$W/$n.codes"
    R $n update --memory 100M --pids-limit 60 --cpu-quota 20000 c1 >>"$W/$n.run" 2>&1
    echo "update=$?" >>"$W/$n.codes"
    show "$U" >"$W/$n.props-updated"
    files x "$P" >"$W/$n.files-updated"
    R $n pause c1; echo "pause=$? freeze=$(cat $P/cgroup.freeze)" >>"$W/$n.codes"
    R $n state c1 | grep -o '"status": "[a-z]*"' >>"$W/$n.codes"
    R $n resume c1; echo "resume=$? freeze=$(cat $P/cgroup.freeze)" >>"$W/$n.codes"
    R $n exec -d c1 sleep 200; echo "exec-d=$?" >>"$W/$n.codes"
    echo "ps=$(R $n ps c1 -f json 2>/dev/null | tr -cd ',' | wc -c)" >>"$W/$n.codes"
    R $n kill --all c1 KILL; echo "kill-all=$?" >>"$W/$n.codes"
    for i in $(seq 50); do [ "$(R $n state c1 2>/dev/null | grep -c stopped)" = 1 ] && break; sleep 0.1; done
    R $n state c1 | grep -o '"status": "[a-z]*"' >>"$W/$n.codes"
    R $n delete c1; echo "delete=$?" >>"$W/$n.codes"
    if gone "$U" "$P"; then echo "gone=yes" >>"$W/$n.codes"; else echo "gone=no: $(systemctl show $U -p ActiveState) $(ls -d $P 2>&1)" >>"$W/$n.codes"; fi
done
same lifecycle-codes "$(cat $W/berth.codes)" "$(cat $W/runc15.codes)"
if grep -qx "gone=yes" "$W/berth.codes" && grep -qx "run=0" "$W/berth.codes"; then ok scope-gone-after-delete; else not_ok scope-gone-after-delete "$(cat $W/berth.codes | tr '\n' ' ')"; fi
same unit-properties "$(sed 's/libcontainer container c1/X/' $W/berth.props)" "$(sed 's/libcontainer container c1/X/' $W/runc15.props)"
same cgroup-files "$(cat $W/berth.files)" "$(cat $W/runc15.files)"
same exec-in-scope "$(cat $W/berth.exec)" "$(cat $W/runc15.exec)"
same updated-properties "$(cat $W/berth.props-updated)" "$(cat $W/runc15.props-updated)"
same updated-files "$(cat $W/berth.files-updated)" "$(cat $W/runc15.files-updated)"
if grep -q '^MemoryMax=67108864$' "$W/berth.props" && grep -q '^TasksMax=50$' "$W/berth.props" \
    && grep -q '^Delegate=yes$' "$W/berth.props" && grep -q '^Slice=system.slice$' "$W/berth.props"; then
    ok properties-match-config
else
    not_ok properties-match-config "$(tr '\n' ' ' <"$W/berth.props")"
fi
if grep -qx 'memory.max=67108864' "$W/berth.files" && grep -qx 'pids.max=50' "$W/berth.files"; then
    ok limits-in-cgroup-files
else
    not_ok limits-in-cgroup-files "$(tr '\n' ' ' <"$W/berth.files")"
fi
note "berth: $(tr '\n' ' ' <"$W/berth.codes")"

# 2. Where units go: runc's defaults and nested slices.
for n in berth runc15; do
    D=$W/d-$n
    bundle "$D" "" "" sleep 300
    R $n create --bundle "$D" c2 >/dev/null 2>&1
    echo "default=$? $(systemctl show runc-c2.scope -p Slice -p ActiveState | tr '\n' ' ') dir=$(ls -d $CG/system.slice/runc-c2.scope 2>/dev/null)" >"$W/$n.where"
    R $n delete -f c2
    bundle "$D" "sdt-a-b.slice:p:c3" "" sleep 300
    R $n create --bundle "$D" c3 >/dev/null 2>&1
    echo "nested=$? dir=$(ls -d $CG/sdt.slice/sdt-a.slice/sdt-a-b.slice/p-c3.scope 2>/dev/null)" >>"$W/$n.where"
    R $n start c3
    R $n delete -f c3
    echo "after=$(ls -d $CG/sdt.slice/sdt-a.slice/sdt-a-b.slice/p-c3.scope 2>/dev/null)" >>"$W/$n.where"
    bundle "$D" "system.slice:x:sdt-own.slice" "" sleep 300
    R $n run -d --bundle "$D" c4 >"$W/$n.slice-out" 2>&1
    echo "slice=$? $(systemctl show sdt-own.slice -p ActiveState -p Wants | tr '\n' ' ')" >>"$W/$n.where"
    R $n delete -f c4 >/dev/null 2>&1
    systemctl stop sdt-own.slice sdt-a-b.slice sdt-a.slice sdt.slice >/dev/null 2>&1
done
same placement "$(cat $W/berth.where)" "$(cat $W/runc15.where)"
grep -q "^default=0 Slice=system.slice ActiveState=active  dir=$CG/system.slice/runc-c2.scope" "$W/berth.where" \
    && ok default-unit-runc-ID || not_ok default-unit-runc-ID "$(head -n1 $W/berth.where)"

# 3. Bad paths and annotations: runc's words, exit 1, nothing made.
for p in "bad" "a:b" "nope:x:y" "a--b.slice:x:y"; do
    for n in berth runc15; do
        bundle "$W/e-$n" "$p" "" true
        R $n run --bundle "$W/e-$n" e1 >"$W/$n.err" 2>&1
        echo "$?" >"$W/$n.errcode"
    done
    same "bad-path-code $p" "$(cat $W/berth.errcode)" "$(cat $W/runc15.errcode)"
    msg_b=$(sed -n 's/.*msg="\(.*\)"$/\1/p' "$W/berth.err" | sed 's/^linux.cgroupsPath: //')
    msg_r=$(sed -n 's/.*msg="runc run failed: \(.*\)"$/\1/p' "$W/runc15.err")
    same "bad-path-words $p" "$msg_b" "$msg_r"
    [ -z "$(ls $W/root-berth 2>/dev/null)" ] && ok "bad-path-nothing-left $p" || not_ok "bad-path-nothing-left $p" "$(ls $W/root-berth)"
done
for n in berth runc15; do
    bundle "$W/a-$n" "system.slice:sdann:c5" '"org.systemd.property.TimeoutStopSec": "uint64 7", "org.systemd.property.CollectMode": "'"'inactive-or-failed'"'"' sleep 300
    R $n run -d --bundle "$W/a-$n" c5 >"$W/$n.ann-out" 2>&1
    echo "rc=$? $(systemctl show sdann-c5.scope -p TimeoutStopUSec -p CollectMode | tr '\n' ' ')" >"$W/$n.ann"
    R $n delete -f c5
    bundle "$W/a-$n" "system.slice:sdann:c6" '"org.systemd.property.A1": "true"' true
    R $n run --bundle "$W/a-$n" c6 >"$W/$n.ann-bad" 2>&1
    echo "bad=$?" >>"$W/$n.ann"
done
same annotations "$(cat $W/berth.ann)" "$(cat $W/runc15.ann)"
grep -q "TimeoutStopUSec=7s CollectMode=inactive-or-failed" "$W/berth.ann" && ok annotation-properties \
    || not_ok annotation-properties "$(cat $W/berth.ann | tr '\n' ' ')"

# 4. Foreground run: exit code, and the scope is gone after.
for n in berth runc15; do
    bundle "$W/f-$n" "system.slice:sdfg:c7" "" sh -c 'cat /proc/self/cgroup; exit 3'
    R $n run --bundle "$W/f-$n" c7 >"$W/$n.fg" 2>&1
    echo "rc=$? gone=$(gone sdfg-c7.scope $CG/system.slice/sdfg-c7.scope && echo yes)" >>"$W/$n.fg"
done
same foreground-run "$(cat $W/berth.fg)" "$(cat $W/runc15.fg)"

# 5. The time `run` takes with --systemd-cgroup (median of 9), against runc's.
for n in berth runc15 runc; do
    bundle "$W/t-$n" "system.slice:sdtime:t" "" true
    for i in 1 2 3 4 5 6 7 8 9; do
        s=$(date +%s%N)
        R $n run --bundle "$W/t-$n" t >/dev/null 2>&1
        e=$(date +%s%N)
        echo $(((e - s) / 1000000))
    done | sort -n | sed -n 5p >"$W/$n.ms"
done
note "run --systemd-cgroup median of 9 (ms): berth $(cat $W/berth.ms), runc 1.5.1 $(cat $W/runc15.ms), runc 1.1.5 $(cat $W/runc.ms)"
# Where the time goes: create, start, delete apart, with and without the driver (median of 5).
phase() { # NAME FLAG: "create start delete" medians in ms
    _b=$(rt $1)
    for i in 1 2 3 4 5; do
        s=$(date +%s%N); $_b --root "$W/root-p$1" $2 create --bundle "$W/t-$1" p >/dev/null 2>&1
        m=$(date +%s%N); $_b --root "$W/root-p$1" $2 start p >/dev/null 2>&1
        n=$(date +%s%N); sleep 0.2; $_b --root "$W/root-p$1" $2 delete -f p >/dev/null 2>&1
        e=$(date +%s%N)
        echo "$(((m - s) / 1000000)) $(((n - m) / 1000000)) $(((e - n) / 1000000 - 200))"
    done | sort -n -k1 | sed -n 3p
}
for n in berth runc; do
    note "$n create/start/delete ms: systemd $(phase $n --systemd-cgroup); cgroupfs $(phase $n "")"
done

# 6. A D-Bus daemon that does not answer (stopped): berth fails within its bound, naming
# what failed, and leaves nothing. (runc hangs: opencontainers/runc#3904. A D-Bus daemon
# that is not there at all is runc-systemd.sh's no_dbus: systemd's private socket.)
bundle "$W/x" "system.slice:sdx:c8" "" true
for i in $(seq 50); do busctl status >/dev/null 2>&1 && break; sleep 0.2; done
dpid=$(systemctl show dbus.service -p MainPID --value)
kill -STOP "$dpid"
s=$(date +%s)
R berth run --bundle "$W/x" c8 >"$W/stuck.out" 2>&1
rc=$?
e=$(date +%s)
timeout -k 3 15 $RUNC15 --root "$W/root-stuck" --systemd-cgroup run --bundle "$W/x" c9 >/dev/null 2>&1
rrc=$?
kill -CONT "$dpid"
if [ $rc -eq 1 ] && [ $((e - s)) -le 25 ] && grep -q "within 10s" "$W/stuck.out" && [ -z "$(ls $W/root-berth 2>/dev/null)" ]; then
    ok dbus-stuck-bounded
else
    not_ok dbus-stuck-bounded "rc=$rc $((e - s))s $(cat $W/stuck.out)"
fi
note "a stopped dbus-daemon: berth exit $rc after $((e - s)) s; runc 1.5.1 under timeout 15: exit $rrc"
$RUNC15 --root "$W/root-stuck" delete -f c9 >/dev/null 2>&1
systemctl reset-failed >/dev/null 2>&1

# 7. A create killed once systemd has made the unit (here: in a createRuntime hook): the
# unit was recorded before it was made, so `delete --force` stops it.
bundle "$W/k" "system.slice:sdkill:c10" "" sleep 300
sed -i 's|"linux": {|"hooks": { "createRuntime": [{ "path": "/bin/sleep", "args": ["sleep", "30"] }] }, "linux": {|' "$W/k/config.json"
R berth create --bundle "$W/k" c10 >/dev/null 2>&1 &
bp=$!
for i in $(seq 100); do systemctl is-active -q sdkill-c10.scope && break; sleep 0.2; done
active=$(systemctl is-active sdkill-c10.scope)
sleep 0.5
kill -9 $bp
wait $bp 2>/dev/null
R berth delete -f c10 >"$W/kill.out" 2>&1
rc=$?
if [ "$active" = active ] && [ $rc -eq 0 ] && gone sdkill-c10.scope $CG/system.slice/sdkill-c10.scope \
    && [ -z "$(ls $W/root-berth 2>/dev/null)" ]; then
    ok killed-create-undone
else
    not_ok killed-create-undone "unit was $active; delete rc=$rc $(cat $W/kill.out) $(systemctl is-active sdkill-c10.scope) $(ls $W/root-berth)"
fi
pkill -f "sleep 30" 2>/dev/null

# 8. Rootless: a user's own systemd (lingering user, $XDG_RUNTIME_DIR/bus).
U=sdrootless
useradd -m "$U" 2>/dev/null
uid=$(id -u "$U")
loginctl enable-linger "$U"
for i in $(seq 100); do [ -S /run/user/$uid/bus ] && break; sleep 0.2; done
for n in berth runc15; do
    D=$W/u-$n
    mkdir -p "$D"
    ( cd "$D" && "$(rt $n)" spec --rootless )
    sed -i -e "s|\"path\": \"rootfs\"|\"path\": \"$BUSYBOX_ROOTFS\"|" -e 's|"terminal": true|"terminal": false|' \
        -e 's|"sh"$|"sleep", "300"|' -e "s|\"hostID\": 0|\"hostID\": $uid|" "$D/config.json"
    chown -R "$U" "$D"
    setpriv --reuid="$uid" --regid="$uid" --init-groups env XDG_RUNTIME_DIR=/run/user/$uid HOME=/home/$U \
        "$(rt $n)" --root "$D/root" --systemd-cgroup run -d --bundle "$D" u1 >"$W/$n.user" 2>&1
    echo "rc=$?" >"$W/$n.user-codes"
    d=$CG/user.slice/user-$uid.slice/user@$uid.service/user.slice/runc-u1.scope
    echo "scope=$(ls -d $d 2>/dev/null) procs=$(wc -l <$d/cgroup.procs 2>/dev/null)" >>"$W/$n.user-codes"
    setpriv --reuid="$uid" --regid="$uid" --init-groups env XDG_RUNTIME_DIR=/run/user/$uid \
        "$(rt $n)" --root "$D/root" delete -f u1 >>"$W/$n.user" 2>&1
    echo "delete=$? after=$(ls -d $d 2>/dev/null)" >>"$W/$n.user-codes"
done
same rootless-user-systemd "$(cat $W/berth.user-codes)" "$(cat $W/runc15.user-codes)"
grep -q "^scope=/sys" "$W/berth.user-codes" && ok rootless-scope-in-user-manager \
    || not_ok rootless-scope-in-user-manager "$(cat $W/berth.user-codes $W/berth.user | tr '\n' ' ')"
loginctl disable-linger "$U"
userdel -r "$U" >/dev/null 2>&1

finish
