# The guest itself: PID 1 is systemd on pure cgroup v2, the boot completes (running, not
# degraded), D-Bus answers, a delegated scope gets the controllers, and the runtimes and
# managers are installed (docker and containerd not started at boot).
. /v2guest/lib.sh
. /v2guest/sdlib.sh

expect pid1-is-systemd systemd "$(cat /proc/1/comm)"
expect cgroup2-at-sys-fs-cgroup cgroup2fs "$(stat -fc %T /sys/fs/cgroup)"
v1=$(awk '$3 == "cgroup" { print $2 }' /proc/mounts)
expect no-cgroup-v1-mounted "" "$v1"

state=$(timeout 120 systemctl is-system-running --wait 2>&1)
expect system-running running "$state"
if [[ $state != running ]]; then
    systemctl --failed --no-legend --no-pager | while read -r line; do note "failed: $line"; done
fi
note "$(systemd-analyze time 2>/dev/null | head -n1)"
systemd-analyze blame --no-pager 2>/dev/null | head -n 8 | while read -r line; do note "blame: $line"; done

version=$(busctl --system call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
    org.freedesktop.DBus.Properties Get ss org.freedesktop.systemd1.Manager Version 2>&1)
if [[ $version == 'v s "'* ]]; then ok dbus-answers; note "systemd over D-Bus: $version"; else not_ok dbus-answers "$version"; fi
expect dbus-active active "$(systemctl is-active dbus.service)"

# The root offers the controllers, and a scope with Delegate=yes gets them (what runc's
# systemd driver asks for).
for c in cpuset cpu io memory pids; do
    if grep -qw "$c" /sys/fs/cgroup/cgroup.controllers; then ok "root-has-$c"; else not_ok "root-has-$c" "$(cat /sys/fs/cgroup/cgroup.controllers)"; fi
done
unit=sdsmoke-$$.scope
delegated=$(systemd-run --quiet --scope --unit "$unit" -p Delegate=yes \
    sh -c 'cat "/sys/fs/cgroup$(sed -n "s/^0:://p" /proc/self/cgroup)/cgroup.controllers"' 2>&1)
for c in cpuset cpu io memory pids; do
    if [[ " $delegated " == *" $c "* ]]; then ok "delegated-$c"; else not_ok "delegated-$c" "scope has '$delegated'"; fi
done
if wait_until 30 unit_gone "$unit"; then ok scope-gone-after-exit; else not_ok scope-gone-after-exit "$(prop "$unit" ActiveState)"; fi

check berth-version "$BERTH" --version
check runc-debian-version "$RUNC_DEBIAN" --version
check runc-1.5-version "$RUNC_REF" --version
note "$("$RUNC_DEBIAN" --version | head -n1); $("$RUNC_REF" --version | head -n1)"
for p in podman conmon catatonit ctr containerd dockerd docker; do
    if command -v "$p" >/dev/null; then ok "has-$p"; else not_ok "has-$p" "not in PATH"; fi
done
expect docker-not-started inactive "$(systemctl is-active docker.service)"
expect containerd-not-started inactive "$(systemctl is-active containerd.service)"

# berth runs the bundle (its cgroupfs driver, no systemd).
R=/run/berth-smoke
out=$("$BERTH" --root "$R" run -b /bundles/busybox "smoke-$$" 2>&1)
expect berth-runs-bundle "hello from busybox" "$out"
if has_systemd_driver "$BERTH"; then ok berth-features-systemd; else not_ok berth-features-systemd "berth features says no systemd driver"; fi
finish
