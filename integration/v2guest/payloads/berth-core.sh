# berth's core lifecycle on pure cgroup v2: run, create/start/state/kill/delete, exec,
# the container's cgroup (placed with clone3 CLONE_INTO_CGROUP), its cgroup namespace view,
# and a memory limit read back from the host and from inside.
. /v2guest/lib.sh

R=/run/berth-v2test
B=/tmp/bundle-core
make_bundle $B /bin/sh -c 'echo hello; cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max'
sed -i 's|"resources": {|"resources": { "memory": { "limit": 67108864 },|' $B/config.json

out=$(berth --root $R run --bundle $B core1 2>&1)
rc=$?
if [ $rc -eq 0 ]; then ok run-exit-0; else not_ok run-exit-0 "rc=$rc: $out"; fi
case "$out" in *hello*) ok run-output ;; *) not_ok run-output "$out" ;; esac
if echo "$out" | grep -qx '0::/'; then ok cgroupns-rooted; else not_ok cgroupns-rooted "$out"; fi
if echo "$out" | grep -qx '67108864'; then ok memory-limit-inside; else not_ok memory-limit-inside "$out"; fi
if [ -z "$(ls $R 2>/dev/null)" ]; then ok run-cleans-state; else not_ok run-cleans-state "$(ls $R)"; fi
if [ ! -d /sys/fs/cgroup/core1 ]; then ok run-removes-cgroup; else not_ok run-removes-cgroup "left /sys/fs/cgroup/core1"; fi

make_bundle $B.2 /bin/sleep 300
sed -i 's|"resources": {|"resources": { "memory": { "limit": 33554432 }, "pids": { "limit": 20 },|' $B.2/config.json
# create's init inherits its stdio: send it to a file, not to a pipe that $(...) would wait on.
if berth --root $R create --bundle $B.2 core2 >/tmp/core2.log 2>&1; then ok create; else not_ok create "$(cat /tmp/core2.log)"; fi
st=$(berth --root $R state core2)
case "$st" in *'"status": "created"'*) ok state-created ;; *) not_ok state-created "$st" ;; esac
pid=$(echo "$st" | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
cg=$(sed -n 's/^0:://p' /proc/$pid/cgroup)
if [ "$cg" = /core2 ]; then ok init-in-cgroup-before-start; else not_ok init-in-cgroup-before-start "cgroup '$cg'"; fi
if [ "$(cat /sys/fs/cgroup$cg/memory.max)" = 33554432 ]; then ok memory-max-host; else not_ok memory-max-host "$(cat /sys/fs/cgroup$cg/memory.max)"; fi
if [ "$(cat /sys/fs/cgroup$cg/pids.max)" = 20 ]; then ok pids-max-host; else not_ok pids-max-host "$(cat /sys/fs/cgroup$cg/pids.max)"; fi
if berth --root $R start core2 >>/tmp/core2.log 2>&1; then ok start; else not_ok start "$(cat /tmp/core2.log)"; fi
st=$(berth --root $R state core2)
case "$st" in *'"status": "running"'*) ok state-running ;; *) not_ok state-running "$st" ;; esac
out=$(berth --root $R exec core2 /bin/sh -c 'cat /proc/self/cgroup; echo $$' 2>&1)
if echo "$out" | grep -qx '0::/'; then ok exec-in-container-cgroup; else not_ok exec-in-container-cgroup "$out"; fi
check kill berth --root $R kill core2 KILL
sleep 0.3
st=$(berth --root $R state core2)
case "$st" in *'"status": "stopped"'*) ok state-stopped ;; *) not_ok state-stopped "$st" ;; esac
check delete berth --root $R delete core2
if [ ! -d /sys/fs/cgroup/core2 ]; then ok delete-removes-cgroup; else not_ok delete-removes-cgroup "left"; fi
if [ -z "$(ls $R 2>/dev/null)" ]; then ok delete-removes-state; else not_ok delete-removes-state "$(ls $R)"; fi
rm -rf $B $B.2 $R
finish
