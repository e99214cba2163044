# Helpers for the systemd guest's payloads (bash), on top of the v2guest ones:
#     . /v2guest/lib.sh
#     . /v2guest/sdlib.sh

# The runtimes every payload compares: Debian's runc 1.1.5 (what podman 4.3,
# containerd 1.6 and docker 20.10 were written against), runc 1.5.1, and berth (another
# binary with BERTH=PATH, e.g. a wrapper to try a payload's berth half before the driver).
RUNC_DEBIAN=/usr/sbin/runc
RUNC_REF=/usr/local/bin/runc-1.5
BERTH=${BERTH:-/usr/local/bin/berth}

# has_systemd_driver BIN: whether the runtime reports a systemd cgroup driver in
# `features` (berth only once issue 13's driver lands).
has_systemd_driver() { "$1" features 2>/dev/null | grep -q '"systemd": true'; }

# prop UNIT NAME: one property of a unit, as `systemctl show` prints it.
prop() { systemctl show "$1" -p "$2" --value 2>/dev/null; }

# wait_until SECONDS CMD...: until CMD succeeds (every 0.1 s), at most SECONDS.
wait_until() {
    local limit=$(($1 * 10)) n=0
    shift
    until "$@"; do
        n=$((n + 1))
        [[ $n -lt $limit ]] || return 1
        sleep 0.1
    done
}

# unit_gone UNIT: systemd no longer knows UNIT (or only as not-found/inactive and dead)
# and its cgroup directory is gone.
unit_gone() {
    local load active
    load=$(prop "$1" LoadState)
    active=$(prop "$1" ActiveState)
    [[ ( $load == not-found || $active == inactive ) ]] || return 1
    ! compgen -G "/sys/fs/cgroup/*.slice/$1" >/dev/null && [[ ! -d /sys/fs/cgroup/$1 ]]
}

# expect NAME WANT GOT: ok when GOT is exactly WANT.
expect() {
    if [[ "$3" == "$2" ]]; then ok "$1"; else not_ok "$1" "want '$2', got '$3'"; fi
}

# cgroup_of PID: the process's cgroup v2 path (relative to /sys/fs/cgroup, with a leading /).
cgroup_of() { sed -n 's/^0:://p' "/proc/$1/cgroup"; }
