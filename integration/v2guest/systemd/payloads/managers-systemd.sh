# The container managers on a systemd host, each telling the runtime to use systemd's
# cgroup driver: podman --cgroup-manager systemd, containerd's ctr with
# --runc-systemd-cgroup (the Kubernetes node path: the io.containerd.runc.v2 shim), and
# docker with native.cgroupdriver=systemd. For each runtime (Debian's runc 1.1.5, runc
# 1.5.1, and berth once it reports a systemd driver): run (exit code, stdout), exec,
# stats, update, stop, rm; the unit systemd shows while the container runs, and nothing
# left after rm. berth's results are compared with runc 1.1.5's (what the managers were
# written against).
. /v2guest/lib.sh
. /v2guest/sdlib.sh

D=$(mktemp -d /tmp/managers-systemd.XXXXXX)
IMAGE=localhost/busybox:latest
runtimes="runc115:$RUNC_DEBIAN runc15:$RUNC_REF"
runtimes+=" berth:$BERTH"

# record NAME TEXT: a line of $RES, the results compared between runtimes, with the
# runtime's label ($L) and the container's id ($CID) replaced.
record() {
    local line="$1 $2"
    line=${line//$L/RT}
    [[ -z $CID ]] || line=${line//$CID/CID}
    echo "$line" >>"$RES"
}

# step NAME WANT_RC WANT_OUT CMD...: CMD's exit code and stdout, exactly; recorded.
step() {
    local name=$1 want_rc=$2 want_out=$3 out rc
    shift 3
    out=$("$@" 2>"$D/err")
    rc=$?
    record "$name" "rc=$rc out=$out"
    if [[ $rc == "$want_rc" && $out == "$want_out" ]]; then
        ok "$name"
    else
        not_ok "$name" "exit $rc (want $want_rc), stdout '$out' (want '$want_out'), stderr: $(tail -n 1 "$D/err")"
    fi
}

# unit_checks NAME UNIT SLICE MEMORY PIDS: the unit of a running container as systemd and
# the cgroup files show it; recorded in $RES.
unit_checks() {
    local name=$1 unit=$2 cg
    cg=/sys/fs/cgroup$(prop "$unit" ControlGroup)
    expect "$name-unit-active" active "$(prop "$unit" ActiveState)"
    expect "$name-unit-slice" "$3" "$(prop "$unit" Slice)"
    expect "$name-unit-delegate" yes "$(prop "$unit" Delegate)"
    expect "$name-MemoryMax" "$4" "$(prop "$unit" MemoryMax)"
    expect "$name-memory.max" "$4" "$(cat "$cg/memory.max" 2>&1)"
    if [[ -n $5 ]]; then
        expect "$name-TasksMax" "$5" "$(prop "$unit" TasksMax)"
        expect "$name-pids.max" "$5" "$(cat "$cg/pids.max" 2>&1)"
    fi
    for p in Slice Delegate MemoryMax TasksMax DevicePolicy; do
        record "$name" "$p=$(prop "$unit" "$p")"
    done
}

# gone NAME UNIT...: the units and their cgroups are gone (systemd removes a scope
# asynchronously: waited for, at most 30 s each).
gone() {
    local name=$1 u
    shift
    for u in "$@"; do
        if wait_until 30 unit_gone "$u"; then ok "$name-${u%%-*}-gone"; else not_ok "$name-${u%%-*}-gone" "$u: $(prop "$u" ActiveState)"; fi
    done
}

# --- docker: native.cgroupdriver=systemd, the runtimes registered by name ---
docker_setup() {
    mkdir -p /etc/docker
    local rts="" sep="" r
    for r in $runtimes; do
        rts+="$sep\"${r%%:*}\": { \"path\": \"${r#*:}\" }"
        sep=", "
    done
    # No bridge and no iptables: the containers run with --network none.
    cat >/etc/docker/daemon.json <<JSON
{
    "exec-opts": ["native.cgroupdriver=systemd"],
    "bridge": "none", "iptables": false, "ip6tables": false, "ip-masq": false,
    "storage-driver": "overlay2",
    "runtimes": { $rts }
}
JSON
    check docker-start timeout 180 systemctl start docker.service
    check docker-cgroup-driver-systemd sh -c 'docker info --format "{{.CgroupDriver}}" | grep -x systemd'
    check docker-load docker load -q -i /opt/images/busybox.docker.tar
}

docker_flow() { # L RT
    local n=sddocker-$1-$$ cid
    L=$1 CID="" RES=$D/res-docker-$1
    step "docker-$L-run" 3 hi docker run --rm --runtime "$L" --network none "$IMAGE" sh -c 'echo hi; exit 3'
    cid=$(docker run -d --name "$n" --runtime "$L" --network none --memory 64m --pids-limit 42 \
        "$IMAGE" sleep 1000 2>"$D/err")
    expect "docker-$L-run-d" 0 "$?"
    [[ -n $cid ]] || { note "docker-$L: $(tail -n 1 "$D/err")"; return; }
    CID=$cid
    unit_checks "docker-$L" "docker-$cid.scope" system.slice 67108864 42
    step "docker-$L-exec" 4 ex docker exec "$n" sh -c 'echo ex; exit 4'
    step "docker-$L-stats" 0 1 docker stats --no-stream --format '{{.PIDs}}' "$n"
    step "docker-$L-update" 0 "$n" docker update --memory 128m --memory-swap 256m --pids-limit 50 "$n"
    unit_checks "docker-$L-updated" "docker-$cid.scope" system.slice 134217728 50
    step "docker-$L-stop" 0 "$n" docker stop -t 1 "$n"
    step "docker-$L-exit-code" 0 137 docker inspect --format '{{.State.ExitCode}}' "$n"
    step "docker-$L-rm" 0 "$n" docker rm "$n"
    gone "docker-$L" "docker-$cid.scope"
}

# --- podman: --cgroup-manager systemd, the runtime by path on every command ---
podman_flow() { # L RT
    local n=sdpodman-$1-$$ cid
    local P=(podman --cgroup-manager systemd --runtime "$2")
    L=$1 CID="" RES=$D/res-podman-$1
    step "podman-$L-run" 3 hi "${P[@]}" run --rm --network none "$IMAGE" sh -c 'echo hi; exit 3'
    cid=$("${P[@]}" run -d --name "$n" --network none --memory 64m --pids-limit 42 "$IMAGE" sleep 1000 2>"$D/err")
    expect "podman-$L-run-d" 0 "$?"
    [[ -n $cid ]] || { note "podman-$L: $(tail -n 1 "$D/err")"; return; }
    CID=$cid
    unit_checks "podman-$L" "libpod-$cid.scope" machine.slice 67108864 42
    note "podman-$L: conmon in $(cgroup_of "$("${P[@]}" inspect --format '{{.State.ConmonPid}}' "$n")")"
    step "podman-$L-exec" 4 ex "${P[@]}" exec "$n" sh -c 'echo ex; exit 4'
    step "podman-$L-stats" 0 1 "${P[@]}" stats --no-stream --format '{{.PIDs}}' "$n"
    step "podman-$L-update" 0 "$cid" "${P[@]}" update --memory 128m --memory-swap 256m "$n"
    unit_checks "podman-$L-updated" "libpod-$cid.scope" machine.slice 134217728 ""
    step "podman-$L-stop" 0 "$n" "${P[@]}" stop -t 1 "$n"
    step "podman-$L-exit-code" 0 137 "${P[@]}" inspect --format '{{.State.ExitCode}}' "$n"
    step "podman-$L-rm" 0 "$n" "${P[@]}" rm "$n"
    gone "podman-$L" "libpod-$cid.scope"
}

# --- containerd: ctr through the io.containerd.runc.v2 shim, --runc-systemd-cgroup ---
ctr_setup() {
    check containerd-start timeout 120 systemctl start containerd.service
    check ctr-import ctr -n sdtest images import /opt/images/busybox.oci.tar
    CTR_IMAGE=$(ctr -n sdtest images ls -q | head -n 1)
    note "ctr image: $CTR_IMAGE"
}

ctr_flow() { # L RT
    local id=sdctr-$1-$$ unit
    local C=(ctr -n sdtest)
    local O=(--runtime io.containerd.runc.v2 --runc-binary "$2" --runc-systemd-cgroup)
    L=$1 CID=$id RES=$D/res-ctr-$1
    unit=sdtest-$id.scope
    # ctr asks for --cgroup in runc's slice:prefix:name form with --runc-systemd-cgroup.
    step "ctr-$L-run" 3 hi "${C[@]}" run --rm "${O[@]}" --cgroup "system.slice:sdtest:$id-fg" \
        "$CTR_IMAGE" "$id-fg" sh -c 'echo hi; exit 3'
    gone "ctr-$L-run" "sdtest-$id-fg.scope"
    "${C[@]}" run -d "${O[@]}" --cgroup "system.slice:sdtest:$id" --memory-limit 67108864 \
        "$CTR_IMAGE" "$id" sleep 1000 >"$D/out" 2>"$D/err"
    expect "ctr-$L-run-d" 0 "$?"
    unit_checks "ctr-$L" "$unit" system.slice 67108864 ""
    step "ctr-$L-exec" 4 ex "${C[@]}" task exec --exec-id e1 "$id" sh -c 'echo ex; exit 4'
    # ctr's metrics table names the container; its values vary.
    "${C[@]}" task metrics "$id" >"$D/out" 2>"$D/err"
    expect "ctr-$L-metrics" 0 "$?"
    if grep -q "memory" "$D/out"; then ok "ctr-$L-metrics-memory"; else not_ok "ctr-$L-metrics-memory" "$(head -n 3 "$D/out")"; fi
    # ctr 1.6 has no update command (Kubernetes updates through CRI).
    step "ctr-$L-kill" 0 "" "${C[@]}" task kill -s SIGKILL "$id"
    if wait_until 20 sh -c "ctr -n sdtest task ls | grep -q '^$id .*STOPPED'"; then ok "ctr-$L-stopped"; else not_ok "ctr-$L-stopped" "$(ctr -n sdtest task ls | grep "$id")"; fi
    step "ctr-$L-task-delete" 0 "" sh -c "${C[*]} task delete $id | sed 's/^$id //'"
    step "ctr-$L-containers-delete" 0 "" "${C[@]}" containers delete "$id"
    "${C[@]}" containers delete "$id-fg" >/dev/null 2>&1
    gone "ctr-$L" "$unit"
}

docker_setup
podman load -q -i /opt/images/busybox.docker.tar >/dev/null 2>"$D/err" && ok podman-load || not_ok podman-load "$(tail -n 1 "$D/err")"
ctr_setup
for r in $runtimes; do
    docker_flow "${r%%:*}" "${r#*:}"
    podman_flow "${r%%:*}" "${r#*:}"
    ctr_flow "${r%%:*}" "${r#*:}"
done

for m in docker podman ctr; do
    expect "$m-berth-as-runc115" "$(cat "$D/res-$m-runc115")" "$(cat "$D/res-$m-berth" 2>/dev/null)"
    diff "$D/res-$m-runc115" "$D/res-$m-runc15" | grep '^[<>]' | while read -r l; do note "$m: runc 1.1.5 vs 1.5.1: $l"; done
done

# Nothing left behind by any manager.
expect no-libpod-scopes "" "$(systemctl list-units --all --no-legend 'libpod-*' | grep -v 'not-found' || true)"
expect no-docker-scopes "" "$(systemctl list-units --all --no-legend 'docker-*.scope' || true)"
expect no-ctr-scopes "" "$(systemctl list-units --all --no-legend 'sdtest-*.scope' || true)"
podman rm -af >/dev/null 2>&1
systemctl stop docker.service docker.socket containerd.service
rm -rf "$D" /etc/docker/daemon.json
finish
