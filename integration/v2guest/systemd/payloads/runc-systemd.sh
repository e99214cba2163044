# runc's systemd cgroup driver on a systemd host: the baseline berth's --systemd-cgroup
# is compared with. For each runtime (Debian's runc 1.1.5, runc 1.5.1, and berth once it
# reports a systemd driver): run -d with linux.cgroupsPath "system.slice:berthtest:ID"
# and resources, the scope systemd shows and the cgroup files, update, pause/resume, ps,
# exec, kill --all, delete (nothing left); create/start in a nested slice and delete -f;
# the default path, a malformed path, no D-Bus daemon, and a bus that never answers.
. /v2guest/lib.sh
. /v2guest/sdlib.sh

D=$(mktemp -d /tmp/runc-systemd.XXXXXX)

# bundle DIR CGROUPS_PATH RESOURCES_JSON: a bundle running `sleep 1000` in the busybox
# rootfs with that cgroupsPath and those resources (plus the default device rule).
bundle() {
    make_bundle "$1" sleep 1000
    sed -i "s|\"resources\": { \"devices\": \[{ \"allow\": false, \"access\": \"rwm\" }\] },|\"cgroupsPath\": \"$2\", \"resources\": { \"devices\": [{ \"allow\": false, \"access\": \"rwm\" }]$3 },|" \
        "$1/config.json"
}

# cg_file UNIT FILE: a file of the unit's cgroup (ControlGroup as systemd reports it).
cg_file() { cat "/sys/fs/cgroup$(prop "$1" ControlGroup)/$2" 2>&1; }

# scope_checks L RT ID: the whole scenario for runtime RT (label L) with container ID;
# appends what systemd shows to $D/props-L for the comparison between runtimes.
scope_checks() {
    local L=$1 RT=$2 id=$3 R=/run/sdtest-$1 unit out rc pid t0 t1
    unit=berthtest-$id.scope
    bundle "$D/$L" "system.slice:berthtest:$id" \
        ', "memory": { "limit": 67108864 }, "pids": { "limit": 42 }, "cpu": { "shares": 512, "quota": 50000, "period": 100000, "cpus": "1" }'
    t0=$(date +%s%N)
    "$RT" --root "$R" --systemd-cgroup run -d -b "$D/$L" "$id" </dev/null >"$D/$L.out" 2>&1
    rc=$?
    t1=$(date +%s%N)
    expect "$L-run-d" 0 "$rc"
    [[ $rc -eq 0 ]] || { note "$L: $(tail -n 3 "$D/$L.out")"; return; }
    note "$L: run -d took $(((t1 - t0) / 1000000)) ms"
    expect "$L-state-running" running "$("$RT" --root "$R" state "$id" | sed -n 's/.*"status": "\([a-z]*\)".*/\1/p')"
    pid=$("$RT" --root "$R" state "$id" | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')

    expect "$L-scope-loaded" loaded "$(prop "$unit" LoadState)"
    expect "$L-scope-active" active "$(prop "$unit" ActiveState)"
    expect "$L-scope-slice" system.slice "$(prop "$unit" Slice)"
    expect "$L-scope-delegate" yes "$(prop "$unit" Delegate)"
    expect "$L-scope-cgroup" "/system.slice/$unit" "$(prop "$unit" ControlGroup)"
    expect "$L-init-in-scope" "/system.slice/$unit" "$(cgroup_of "$pid")"
    expect "$L-MemoryMax" 67108864 "$(prop "$unit" MemoryMax)"
    expect "$L-TasksMax" 42 "$(prop "$unit" TasksMax)"
    expect "$L-CPUQuotaPerSecUSec" 500ms "$(prop "$unit" CPUQuotaPerSecUSec)"
    expect "$L-AllowedCPUs" 1 "$(prop "$unit" AllowedCPUs)"
    expect "$L-memory.max" 67108864 "$(cg_file "$unit" memory.max)"
    expect "$L-pids.max" 42 "$(cg_file "$unit" pids.max)"
    expect "$L-cpu.max" "50000 100000" "$(cg_file "$unit" cpu.max)"
    expect "$L-cpuset.cpus" 1 "$(cg_file "$unit" cpuset.cpus)"
    # shares 512 -> weight: runc 1.1.5 maps linearly, newer runc on a curve; the unit's
    # CPUWeight and the file must agree either way.
    expect "$L-cpu.weight-is-CPUWeight" "$(prop "$unit" CPUWeight)" "$(cg_file "$unit" cpu.weight)"
    for p in Slice Delegate MemoryMax TasksMax CPUQuotaPerSecUSec CPUQuotaPeriodUSec CPUWeight \
        AllowedCPUs DevicePolicy DefaultDependencies; do
        echo "$p=$(prop "$unit" "$p")"
    done >"$D/props-$L"
    echo "cpu.weight=$(cg_file "$unit" cpu.weight)" >>"$D/props-$L"
    note "$L: CPUWeight=$(prop "$unit" CPUWeight) DevicePolicy=$(prop "$unit" DevicePolicy) Description=$(prop "$unit" Description)"

    "$RT" --root "$R" --systemd-cgroup update --memory 134217728 --pids-limit 50 "$id" >"$D/$L.out" 2>&1
    expect "$L-update" 0 "$?"
    expect "$L-update-MemoryMax" 134217728 "$(prop "$unit" MemoryMax)"
    expect "$L-update-TasksMax" 50 "$(prop "$unit" TasksMax)"
    expect "$L-update-memory.max" 134217728 "$(cg_file "$unit" memory.max)"
    expect "$L-update-pids.max" 50 "$(cg_file "$unit" pids.max)"
    # Untouched by the update.
    expect "$L-update-keeps-cpu.max" "50000 100000" "$(cg_file "$unit" cpu.max)"

    "$RT" --root "$R" --systemd-cgroup pause "$id"
    expect "$L-pause" paused "$("$RT" --root "$R" state "$id" | sed -n 's/.*"status": "\([a-z]*\)".*/\1/p')"
    expect "$L-pause-frozen" 1 "$(cg_file "$unit" cgroup.freeze)"
    "$RT" --root "$R" --systemd-cgroup resume "$id"
    expect "$L-resume" running "$("$RT" --root "$R" state "$id" | sed -n 's/.*"status": "\([a-z]*\)".*/\1/p')"
    expect "$L-resume-thawed" 0 "$(cg_file "$unit" cgroup.freeze)"
    out=$("$RT" --root "$R" --systemd-cgroup ps "$id" 2>&1)
    if grep -q "sleep" <<<"$out"; then ok "$L-ps"; else not_ok "$L-ps" "$out"; fi

    # exec joins the scope: in its cgroup namespace the scope is the root, with the limits.
    expect "$L-exec-sees-limit" 50 "$("$RT" --root "$R" --systemd-cgroup exec "$id" cat /sys/fs/cgroup/pids.max 2>&1)"

    "$RT" --root "$R" --systemd-cgroup kill --all "$id" KILL >"$D/$L.out" 2>&1
    expect "$L-kill-all" 0 "$?"
    if wait_until 20 sh -c "'$RT' --root '$R' state '$id' | grep -q '\"status\": \"stopped\"'"; then
        ok "$L-stopped"
    else
        not_ok "$L-stopped" "$("$RT" --root "$R" state "$id" 2>&1 | grep status)"
    fi
    "$RT" --root "$R" --systemd-cgroup delete "$id" >"$D/$L.out" 2>&1
    expect "$L-delete" 0 "$?"
    if wait_until 30 unit_gone "$unit"; then ok "$L-scope-gone"; else not_ok "$L-scope-gone" "$(prop "$unit" ActiveState)"; fi
    out=$("$RT" --root "$R" list -q)
    expect "$L-no-state-left" "" "$out"
}

# nested_slice L RT ID: "a-b.slice" is expanded to a.slice/a-b.slice, as systemd does;
# create makes the scope (the init waits in it), start runs the process, delete -f ends it.
nested_slice() {
    local L=$1 RT=$2 id=$3 R=/run/sdtest-$1 unit pid
    unit=berthtest-$id.scope
    bundle "$D/$L-nested" "berthtest-nested.slice:berthtest:$id" ""
    "$RT" --root "$R" --systemd-cgroup create -b "$D/$L-nested" "$id" </dev/null >"$D/$L.out" 2>&1
    expect "$L-nested-create" 0 "$?"
    expect "$L-nested-cgroup" "/berthtest.slice/berthtest-nested.slice/$unit" "$(prop "$unit" ControlGroup)"
    pid=$("$RT" --root "$R" state "$id" | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
    expect "$L-nested-created-in-scope" "/berthtest.slice/berthtest-nested.slice/$unit" "$(cgroup_of "$pid")"
    "$RT" --root "$R" --systemd-cgroup start "$id" >"$D/$L.out" 2>&1
    expect "$L-nested-start" 0 "$?"
    expect "$L-nested-running" running "$("$RT" --root "$R" state "$id" | sed -n 's/.*"status": "\([a-z]*\)".*/\1/p')"
    "$RT" --root "$R" --systemd-cgroup delete -f "$id" >/dev/null 2>&1
    if wait_until 30 unit_gone "$unit"; then ok "$L-nested-scope-gone"; else not_ok "$L-nested-scope-gone" "$(prop "$unit" ActiveState)"; fi
    systemctl stop berthtest-nested.slice berthtest.slice 2>/dev/null
}

# default_path L RT ID: an empty cgroupsPath is "system.slice:runc:ID" (runc's default).
default_path() {
    local L=$1 RT=$2 id=$3 R=/run/sdtest-$1 pid
    make_bundle "$D/$L-default" sleep 1000
    "$RT" --root "$R" --systemd-cgroup run -d -b "$D/$L-default" "$id" </dev/null >"$D/$L.out" 2>&1
    expect "$L-default-run-d" 0 "$?"
    pid=$("$RT" --root "$R" state "$id" | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
    cgroup_of "$pid" >"$D/default-$L"
    note "$L: default cgroup $(cat "$D/default-$L")"
    expect "$L-default-cgroup" "/system.slice/runc-$id.scope" "$(cat "$D/default-$L")"
    "$RT" --root "$R" --systemd-cgroup delete -f "$id" >/dev/null 2>&1
    if wait_until 30 unit_gone "runc-$id.scope"; then ok "$L-default-scope-gone"; else not_ok "$L-default-scope-gone" "still there"; fi
}

# bad_path L RT ID: a cgroupsPath not of the form slice:prefix:name fails, nothing left.
bad_path() {
    local L=$1 RT=$2 id=$3 R=/run/sdtest-$1 rc
    bundle "$D/$L-bad" "/not/systemd/$id" ""
    "$RT" --root "$R" --systemd-cgroup run -d -b "$D/$L-bad" "$id" </dev/null >"$D/bad-$L" 2>&1
    rc=$?
    if [[ $rc -ne 0 ]]; then ok "$L-bad-path-fails"; else not_ok "$L-bad-path-fails" "exit 0"; fi
    note "$L: bad path: exit $rc: $(tail -n 1 "$D/bad-$L")"
    # The message without the logrus framing, the runtime's name and the id, to compare.
    tail -n 1 "$D/bad-$L" | sed -e 's/.*msg="//' -e 's/"$//' -e 's/^[a-z]* run failed: //' \
        -e "s/$id/ID/g" >"$D/badmsg-$L"
    expect "$L-bad-path-no-state" "" "$("$RT" --root "$R" list -q)"
    "$RT" --root "$R" delete -f "$id" >/dev/null 2>&1
}

# no_dbus L RT ID: with the system bus daemon stopped (its socket too, so nothing starts
# it again), runc as root still reaches systemd, on its private socket
# /run/systemd/private (go-systemd's fallback for root): run works, the scope is made.
no_dbus() {
    local L=$1 RT=$2 id=$3 R=/run/sdtest-$1 rc t0
    bundle "$D/$L-nodbus" "system.slice:berthtest:$id" ""
    systemctl stop dbus.socket dbus.service
    timeout -k 5 60 "$RT" --root "$R" --systemd-cgroup run -d -b "$D/$L-nodbus" "$id" </dev/null >"$D/nodbus-$L" 2>&1
    rc=$?
    expect "$L-no-dbus-daemon-run-d" 0 "$rc"
    [[ $rc -eq 0 ]] || note "$L: no D-Bus daemon: $(tail -n 1 "$D/nodbus-$L")"
    expect "$L-no-dbus-daemon-scope" active "$(prop "berthtest-$id.scope" ActiveState)"
    t0=$(date +%s%N)
    "$RT" --root "$R" --systemd-cgroup --debug delete -f "$id" >"$D/nodbus-delete-$L" 2>&1
    note "$L: no D-Bus daemon: delete took $((($(date +%s%N) - t0) / 1000000)) ms"
    expect "$L-no-dbus-daemon-delete" "" "$("$RT" --root "$R" list -q)"
    grep -v 'level=debug' "$D/nodbus-delete-$L" | while read -r l; do note "$L: no D-Bus daemon: delete: $l"; done
    if wait_until 30 unit_gone "berthtest-$id.scope"; then ok "$L-no-dbus-daemon-scope-gone"; else not_ok "$L-no-dbus-daemon-scope-gone" "$(prop "berthtest-$id.scope" ActiveState)"; fi
    systemctl start dbus.socket dbus.service
    check "$L-dbus-back" busctl --system status org.freedesktop.systemd1
}

# silent_bus L RT ID: a system bus that accepts the connection and never answers (a
# listening socket nobody reads; DBUS_SYSTEM_BUS_ADDRESS points at it). runc waits
# forever (opencontainers/runc#3904): noted, and killed after 30 s. berth must fail by
# itself within that, with an error, and leave nothing behind (issue 13).
silent_bus() {
    local L=$1 RT=$2 id=$3 R=/run/sdtest-$1 rc t0 t1 sock=/run/silent-bus-$1.sock listener before after
    bundle "$D/$L-silent" "system.slice:berthtest:$id" ""
    # The runtime runs in this payload's cgroup; a container init it left behind would too.
    before=$(procs_here)
    systemd-socket-activate -l "$sock" sleep 1000 >/dev/null 2>&1 &
    listener=$!
    wait_until 5 test -S "$sock"
    t0=$(date +%s)
    # (In braces: bash's "Killed" notice goes to /dev/null with the rest.)
    { DBUS_SYSTEM_BUS_ADDRESS=unix:path=$sock timeout -k 5 30 "$RT" --root "$R" --systemd-cgroup \
        run -d -b "$D/$L-silent" "$id" </dev/null >"$D/silent-$L" 2>&1; } 2>/dev/null
    rc=$?
    t1=$(date +%s)
    note "$L: silent bus: exit $rc after $((t1 - t0)) s: $(tail -n 1 "$D/silent-$L")"
    if [[ $L == berth ]]; then
        if [[ $rc -ne 0 && $rc -ne 124 && $rc -ne 137 ]]; then ok "$L-silent-bus-fails-in-time"; else not_ok "$L-silent-bus-fails-in-time" "exit $rc"; fi
        if [[ -s "$D/silent-$L" ]]; then ok "$L-silent-bus-error"; else not_ok "$L-silent-bus-error" "no message"; fi
    fi
    "$RT" --root "$R" delete -f "$id" >/dev/null 2>&1
    expect "$L-silent-bus-no-state" "" "$("$RT" --root "$R" list -q)"
    if wait_until 30 unit_gone "berthtest-$id.scope"; then ok "$L-silent-bus-no-scope"; else not_ok "$L-silent-bus-no-scope" "$(prop "berthtest-$id.scope" ActiveState)"; fi
    kill "$listener" 2>/dev/null
    pkill -P "$listener" 2>/dev/null
    wait "$listener" 2>/dev/null
    rm -f "$sock"
    after=$(procs_here)
    if [[ $L == berth ]]; then
        expect "$L-silent-bus-no-process-left" "$before" "$after"
    else
        note "$L: silent bus: processes in the payload's cgroup before $before, after $after"
    fi
}

# procs_here: how many processes this payload's cgroup holds.
procs_here() { wc -l <"/sys/fs/cgroup$(cgroup_of $$)/cgroup.procs"; }

scenario() { # L RT
    scope_checks "$1" "$2" "sd$1$$"
    nested_slice "$1" "$2" "sdn$1$$"
    default_path "$1" "$2" "sdd$1$$"
    bad_path "$1" "$2" "sdb$1$$"
    no_dbus "$1" "$2" "sdx$1$$"
    # runc's hang is shown once (with the reference runc): each costs the 30 s limit.
    [[ $1 == runc115 ]] || silent_bus "$1" "$2" "sds$1$$"
}

scenario runc115 "$RUNC_DEBIAN"
scenario runc15 "$RUNC_REF"
scenario berth "$BERTH"
# berth against the reference runc: what systemd shows for the same config.
expect berth-props-as-runc15 "$(cat "$D/props-runc15")" "$(cat "$D/props-berth" 2>/dev/null)"
expect berth-default-path-as-runc15 "$(sed "s/sddrunc15$$/ID/" "$D/default-runc15")" \
    "$(sed "s/sddberth$$/ID/" "$D/default-berth" 2>/dev/null)"
expect berth-bad-path-message-as-runc15 "$(cat "$D/badmsg-runc15")" "$(cat "$D/badmsg-berth" 2>/dev/null)"
if ! diff "$D/props-runc115" "$D/props-runc15" >/dev/null 2>&1; then
    diff "$D/props-runc115" "$D/props-runc15" | grep '^[<>]' | while read -r l; do note "runc 1.1.5 vs 1.5.1: $l"; done
fi
rm -rf "$D"
finish
