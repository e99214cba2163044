# berth's cgroup commands and limits on pure cgroup v2: every limit read back from the host
# and from inside, an OOM kill (exit 137 and an OOM event from `events`), a pids limit that
# makes fork fail, pause/resume with cgroup.freeze, a live `update` (flags, -r -, period
# alone keeps the quota), ps, events --stats, kill --all through cgroup.kill, and a bad
# unified key that leaves no cgroup behind.
. /v2guest/lib.sh

R=/run/berth-v2cg
W=/tmp/v2cg
rm -rf $W && mkdir -p $W

# wait_for FILE TEXT: up to 10 s for TEXT to appear in FILE.
wait_for() {
    _i=0
    while [ $_i -lt 100 ]; do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
        _i=$((_i + 1))
    done
    return 1
}

state_of() { berth --root $R state "$1" 2>/dev/null | sed -n 's/.*"status": "\([a-z]*\)".*/\1/p'; }
cg_of() { echo "/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/$1/cgroup)"; }

# expect NAME WANT GOT
expect() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "want '$2', got '$3'"; fi
}

# --- limits, from the host and from inside -------------------------------------------------
files="memory.max memory.low memory.high cpu.weight cpu.max cpuset.cpus cpuset.mems pids.max"
hugetlb=""
if [ -d /sys/kernel/mm/hugepages/hugepages-2048kB ]; then
    files="$files hugetlb.2MB.max"
    hugetlb='"hugepageLimits": [{ "pageSize": "2MB", "limit": 4194304 }],'
fi
script=""
for f in $files; do script="$script echo $f=\$(cat /sys/fs/cgroup/$f);"; done
make_bundle $W/limits /bin/sh -c "$script echo READY; exec sleep 300"
sed -i "s|\"resources\": {|\"resources\": { $hugetlb \"memory\": { \"limit\": 67108864, \"reservation\": 33554432 }, \"cpu\": { \"shares\": 512, \"quota\": 20000, \"period\": 100000, \"cpus\": \"0\", \"mems\": \"0\" }, \"pids\": { \"limit\": 30 }, \"unified\": { \"memory.high\": \"50331648\" },|" $W/limits/config.json
berth --root $R run -d --bundle $W/limits lim >$W/lim.out 2>&1
if wait_for $W/lim.out READY; then ok limits-container-runs; else not_ok limits-container-runs "$(cat $W/lim.out)"; fi
pid=$(pid_of lim)
cg=$(cg_of $pid)
for pair in memory.max=67108864 memory.low=33554432 memory.high=50331648 cpu.weight=59 \
    "cpu.max=20000 100000" cpuset.cpus=0 cpuset.mems=0 pids.max=30 hugetlb.2MB.max=4194304; do
    f=${pair%%=*}
    want=${pair#*=}
    case " $files " in *" $f "*) ;; *) continue ;; esac
    expect "host-$f" "$want" "$(cat $cg/$f)"
    expect "inside-$f" "$want" "$(sed -n "s/^$f=//p" $W/lim.out)"
done

# --- ps, events --stats --------------------------------------------------------------------
out=$(berth --root $R ps -f json lim)
expect ps-json "[$pid]" "$out"
out=$(berth --root $R ps lim)
case "$out" in *PID*"sleep 300"*) ok ps-table ;; *) not_ok ps-table "$out" ;; esac
out=$(berth --root $R events --stats lim)
case "$out" in '{"type":"stats","id":"lim","data":{'*'"limit":67108864'*) ok events-stats ;; *) not_ok events-stats "$out" ;; esac

# --- update: flags, -r -, a period alone keeps the quota ----------------------------------
check update-flags berth --root $R update --memory 32m --pids-limit 25 --cpu-share 256 lim
expect update-memory 33554432 "$(cat $cg/memory.max)"
expect update-pids 25 "$(cat $cg/pids.max)"
expect update-weight 35 "$(cat $cg/cpu.weight)"
echo '{"pids":{"limit":15},"memory":{"reservation":8388608}}' >$W/r.json
check update-r-stdin sh -c "berth --root $R update -r - lim <$W/r.json"
expect update-r-pids 15 "$(cat $cg/pids.max)"
expect update-r-file 8388608 "$(cat $cg/memory.low)"
# -r with another flag is refused, naming the flag, and changes nothing (runc ignores it).
out=$(berth --root $R update -r - --pids-limit 12 lim <$W/r.json 2>&1)
case "$out" in *"--pids-limit cannot be given with --resources"*) ok update-r-and-flag-refused ;; *) not_ok update-r-and-flag-refused "$out" ;; esac
expect update-r-and-flag-unchanged 15 "$(cat $cg/pids.max)"
check update-period berth --root $R update --cpu-period 50000 lim
expect update-period-keeps-quota "20000 50000" "$(cat $cg/cpu.max)"
out=$(berth --root $R update --cpu-quota -5 lim 2>&1)
case "$out" in *linux.resources.cpu.quota*) ok update-bad-quota ;; *) not_ok update-bad-quota "$out" ;; esac

# --- pause / resume ------------------------------------------------------------------------
check pause berth --root $R pause lim
expect paused-state paused "$(state_of lim)"
expect cgroup-freeze 1 "$(cat $cg/cgroup.freeze)"
if grep -qx 'frozen 1' $cg/cgroup.events; then ok cgroup-frozen; else not_ok cgroup-frozen "$(cat $cg/cgroup.events)"; fi
out=$(berth --root $R pause lim 2>&1)
case "$out" in *"not running"*) ok pause-paused-refused ;; *) not_ok pause-paused-refused "$out" ;; esac
check resume berth --root $R resume lim
expect resumed-state running "$(state_of lim)"
out=$(berth --root $R resume lim 2>&1)
case "$out" in *"not paused"*) ok resume-running-refused ;; *) not_ok resume-running-refused "$out" ;; esac
check delete-lim berth --root $R delete --force lim
if [ ! -d "$cg" ]; then ok delete-removes-cgroup; else not_ok delete-removes-cgroup "$cg left"; fi

# --- a frozen container does not run ------------------------------------------------------
# The counter is replaced atomically: a pause between truncate and write would read ''.
make_bundle $W/count /bin/sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.05; done'
berth --root $R run -d --bundle $W/count cnt >$W/cnt.out 2>&1
pid=$(pid_of cnt)
# Under TCG the container may take a while to start counting.
i=0
while [ "$(cat /proc/$pid/root/tmp/n 2>/dev/null || echo 0)" -lt 3 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
berth --root $R pause cnt
a=$(cat /proc/$pid/root/tmp/n)
sleep 0.5
b=$(cat /proc/$pid/root/tmp/n)
if [ -n "$a" ] && [ "$a" = "$b" ]; then ok frozen-does-not-run; else not_ok frozen-does-not-run "'$a' then '$b'"; fi
berth --root $R resume cnt
sleep 0.5
c=$(cat /proc/$pid/root/tmp/n)
if [ "$c" -gt "$b" ]; then ok thawed-runs; else not_ok thawed-runs "$b then $c"; fi
berth --root $R delete --force cnt

# --- kill --all through cgroup.kill --------------------------------------------------------
make_bundle $W/many /bin/sh -c 'sleep 300 & sleep 301 & trap "" TERM; echo READY; exec sleep 302'
berth --root $R run -d --bundle $W/many many >$W/many.out 2>&1
wait_for $W/many.out READY
pid=$(pid_of many)
cg=$(cg_of $pid)
sleep 0.3
expect three-processes 3 "$(wc -l <$cg/cgroup.procs)"
check kill-all-term berth --root $R kill --all many TERM
sleep 0.3
expect term-spares-init 1 "$(wc -l <$cg/cgroup.procs)"
check kill-all-kill berth --root $R kill --all many KILL
sleep 0.3
expect kill-all-empties 0 "$(wc -l <$cg/cgroup.procs)"
expect killed-stopped stopped "$(state_of many)"
check delete-many berth --root $R delete many
if [ ! -d "$cg" ]; then ok kill-all-cgroup-removed; else not_ok kill-all-cgroup-removed "$cg left"; fi

# --- pids limit: fork fails ----------------------------------------------------------------
make_bundle $W/pids /bin/sh -c 'i=0; while [ $i -lt 10 ]; do sleep 1 & i=$((i+1)); done; wait'
sed -i 's|"resources": {|"resources": { "pids": { "limit": 5 },|' $W/pids/config.json
out=$(berth --root $R run --bundle $W/pids pids 2>&1)
case "$out" in *fork*) ok pids-limit-fork-fails ;; *) not_ok pids-limit-fork-fails "$out" ;; esac

# --- OOM kill: exit 137 and an OOM event ---------------------------------------------------
make_bundle $W/oom /bin/sh -c 'while [ ! -e /tmp/go ]; do sleep 0.05; done; exec dd if=/dev/zero of=/dev/null bs=128M count=1'
sed -i 's|"resources": {|"resources": { "memory": { "limit": 33554432, "swap": 33554432 },|' $W/oom/config.json
# --keep: the cgroup stays until `delete`, as for a manager's detached container, so that
# `events` can read the OOM kill after init is gone (run would remove it at once).
berth --root $R run --keep --bundle $W/oom oom >$W/oom.out 2>&1 &
runpid=$!
i=0
while [ "$(state_of oom)" != running ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
pid=$(pid_of oom)
berth --root $R events --interval 200ms oom >$W/events.out 2>&1 &
evpid=$!
wait_for $W/events.out '"type":"stats"'
touch /proc/$pid/root/tmp/go
wait $runpid
expect oom-exit-137 137 $?
wait $evpid
expect events-exits-0 0 $?
if grep -qx '{"type":"oom","id":"oom"}' $W/events.out; then ok oom-event; else not_ok oom-event "$(tail -c 300 $W/events.out)"; fi
berth --root $R delete oom

# --- a bad value leaves no cgroup ----------------------------------------------------------
make_bundle $W/bad /bin/true
sed -i 's|"resources": {|"resources": { "unified": { "memory.bogus": "1" },|' $W/bad/config.json
out=$(berth --root $R run --bundle $W/bad badcg 2>&1)
rc=$?
if [ $rc -ne 0 ]; then ok bad-unified-refused; else not_ok bad-unified-refused "accepted"; fi
case "$out" in *linux.resources.unified*) ok bad-unified-names-field ;; *) not_ok bad-unified-names-field "$out" ;; esac
expect bad-unified-one-line 1 "$(echo "$out" | wc -l)"
if [ -z "$(find /sys/fs/cgroup -name badcg)" ]; then ok bad-unified-no-cgroup; else not_ok bad-unified-no-cgroup "$(find /sys/fs/cgroup -name badcg)"; fi

for id in $(ls $R 2>/dev/null); do berth --root $R delete --force $id; done
rm -rf $W $R
finish
