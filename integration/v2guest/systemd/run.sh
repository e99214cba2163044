#!/bin/bash
# Boot the systemd guest (Debian bookworm, PID 1 systemd, pure cgroup v2) under QEMU (TCG)
# and run payload scripts in it, as root, after multi-user.target.
#
# Usage: integration/v2guest/systemd/run.sh PAYLOAD [ARGS...]
#        integration/v2guest/systemd/run.sh --all
#   PAYLOAD: a name under integration/v2guest/systemd/payloads/ (with or without .sh)
#            or a path to a bash script.
#   --all:   every payload in payloads/, one after the other in a single boot
#            (smoke.sh first, then name order).
#
# Prints each payload's output, then the total as the last line
# "v2guest-systemd: N passed, M failed". Exits 0 when every payload passed, 1 when one
# failed; 124 if the guest timed out, 125 if it did not boot or a payload's markers are
# missing. See README.md for the environment and the payload convention.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
v2=$(cd "$here/.." && pwd)
root=$(cd "$v2/../.." && pwd)
cache=${V2GUEST_CACHE:-$root/integration/.work/v2guest}
berth_bin=${BERTH_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/berth}
mem=${V2GUEST_MEM:-2048}
smp=${V2GUEST_SMP:-2}
# KVM is present on this VM but hangs the guest (nested virtualisation): TCG only by default.
accel=${V2GUEST_ACCEL:-tcg}
payload_timeout=${SDGUEST_PAYLOAD_TIMEOUT:-600}
# From qemu's start to the runner's ready marker (a boot takes 8-15 s here).
boot_timeout=${SDGUEST_BOOT_TIMEOUT:-240}
# Modules the initramfs loads to reach the root disk (ext4 soft-depends on crc32c).
root_modules="virtio_pci virtio_blk crc32c_generic ext4"

log() { echo "v2guest-systemd: $*" >&2; }
die() { log "$*"; exit 1; }
# find_payload, cleanup, copy_bin, elapsed/field/marker, report.
. "$v2/host.sh"

[[ $# -ge 1 ]] || { sed -n '2,15s/^# \{0,1\}//p' "$0" >&2; exit 2; }
payloads=()
if [[ $1 == --all ]]; then
    [[ $# -eq 1 ]] || die "--all takes no arguments"
    shopt -s nullglob
    payloads=("$here"/payloads/*.sh)
    shopt -u nullglob
    # smoke first: when the guest itself is broken, its failures come before the others'.
    for n in "${!payloads[@]}"; do
        [[ ${payloads[$n]} == */smoke.sh ]] || continue
        payloads=("${payloads[$n]}" "${payloads[@]:0:$n}" "${payloads[@]:$((n + 1))}")
        break
    done
    [[ ${#payloads[@]} -gt 0 ]] || die "no payloads in $here/payloads/"
    log_name=all
else
    payload=$(find_payload "$1")
    payloads=("$payload")
    shift
    log_name=$(basename "${payloads[0]}" .sh)
fi
names=()
for p in "${payloads[@]}"; do names+=("$(basename "$p")"); done
[[ $(printf '%s\n' "${names[@]}" | sort | uniq -d) == "" ]] || die "payload names must be unique"
# The boot (30-90 s under TCG) plus the payloads' own limits.
timeout_s=${V2GUEST_TIMEOUT:-$((180 + payload_timeout * ${#payloads[@]}))}
[[ -x "$berth_bin" ]] || die "no berth binary at $berth_bin (build it, or set BERTH_BIN)"
[[ $(id -u) -eq 0 ]] || die "must run as root (the image build and the initramfs need it)"

t_start=$(date +%s.%N)
work=""
qemu_pid=""
watch_pid=""
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v qemu-system-x86_64 >/dev/null || {
    log "installing qemu-system-x86"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 >&2
}
command -v busybox >/dev/null || die "no busybox on the host (apt-get install busybox-static)"
busybox=$(command -v busybox)

kdir=$("$v2/kernel.sh")
vmlinuz=$(compgen -G "$kdir/boot/vmlinuz-*" | head -n1)
kver=${vmlinuz##*/vmlinuz-}
kimage=$kdir/boot/vmlinux-$kver
[[ -f "$kimage" ]] || kimage=$vmlinuz
kmods=$kdir/lib/modules/$kver
image=$("$here/image.sh")

mkdir -p "$cache/logs"
work=$(mktemp -d "$cache/sdrun.XXXXXX")

# The initramfs: busybox, the modules that reach the root disk, the init, and under
# /sdguest this run's files, which the init copies into the root.
i=$work/initramfs
mkdir -p "$i"/{bin,proc,sys,dev,newroot,lib/modules/$kver}
install -m 0755 "$busybox" "$i/bin/busybox"
for a in sh mount umount modprobe mkdir sleep cat cp find switch_root; do ln -s busybox "$i/bin/$a"; done
mknod -m 600 "$i/dev/console" c 5 1
install -m 0755 "$here/init" "$i/init"
cp "$kmods"/modules.{dep,builtin,order} "$i/lib/modules/$kver/"
for m in $root_modules; do
    if ! line=$(grep -E "(^|/)$m\\.ko(\\.[a-z]+)?:" "$kmods/modules.dep"); then
        grep -qE "(^|/)$m\\.ko" "$kmods/modules.builtin" || die "no module $m in modules.dep"
        continue
    fi
    for f in ${line%%:*} ${line#*:}; do
        install -D -m 0644 "$kmods/$f" "$i/lib/modules/$kver/$f"
    done
    echo "$m" >>"$i/modules"
done

o=$i/sdguest
mkdir -p "$o/v2guest/payloads" "$o/etc/systemd/system/multi-user.target.wants"
copy_bin "$o" "$berth_bin" /usr/local/bin/berth
for t in recvtty; do
    p=$(dirname "$berth_bin")/examples/$t
    [[ -x "$p" ]] && copy_bin "$o" "$p" "/usr/local/bin/$t"
done
install -m 0644 "$v2/lib.sh" "$v2/bundle-config.json" "$here/sdlib.sh" "$o/v2guest/"
# The image has the bundle's rootfs; its config comes with the run (as in the v2 guest).
mkdir -p "$o/bundles/busybox"
sed -e 's|@ARGS@|["sh", "-c", "echo hello from busybox"]|' -e 's|@ROOTFS@|rootfs|' \
    "$v2/bundle-config.json" >"$o/bundles/busybox/config.json"
install -m 0755 "$here/runner" "$o/v2guest/runner"
install -m 0644 "$here/sdguest-payloads.service" "$o/etc/systemd/system/"
ln -s ../sdguest-payloads.service "$o/etc/systemd/system/multi-user.target.wants/sdguest-payloads.service"
cp -a "$here/payloads/." "$o/v2guest/payloads/"
token=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$token" >"$o/v2guest/token"
echo "$payload_timeout" >"$o/v2guest/payload-timeout"
for n in "${!payloads[@]}"; do
    install -m 0755 "${payloads[$n]}" "$o/v2guest/payloads/${names[$n]}"
    printf 'run_payload %q bash /v2guest/payloads/%q' "${names[$n]}" "${names[$n]}"
    [[ $# -gt 0 ]] && printf ' %q' "$@"
    echo
done >"$o/v2guest/run-payloads"
(cd "$i" && find . -mindepth 1 | LC_ALL=C sort | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) >"$work/initrd"

kargs="cryptomgr.notests i8042.noaux i8042.nokbd i8042.nopnp"
sdargs="systemd.unified_cgroup_hierarchy=1 systemd.show_status=0 systemd.log_level=warning"
console=$work/console.raw
logfile=${V2GUEST_LOG:-$cache/logs/systemd-$log_name.log}
t_boot=$(date +%s.%N)
# snapshot=on: the guest's writes go to a temporary file; the cached image stays as built.
timeout -k 5 "$timeout_s" qemu-system-x86_64 \
    -accel "$accel" -cpu max -m "$mem" -smp "$smp" \
    -nodefaults -no-user-config -display none -no-reboot \
    -serial "file:$console" \
    -drive "file=$image,if=virtio,format=raw,snapshot=on,cache=unsafe" \
    -kernel "$kimage" -initrd "$work/initrd" \
    -append "console=ttyS0 panic=-1 quiet rdinit=/init $kargs $sdargs ${V2GUEST_APPEND:-}" \
    </dev/null >"$work/qemu.out" 2>&1 &
qemu_pid=$!
# Host-side time at which the guest is ready (systemd up, the runner started); a guest
# not ready within the boot limit is stopped there rather than at the whole run's limit.
(
    deadline=$(($(date +%s) + boot_timeout))
    while kill -0 "$qemu_pid" 2>/dev/null; do
        if grep -q "^@@sdguest-ready $token " "$console" 2>/dev/null; then
            date +%s.%N >"$work/t_ready"
            exit 0
        fi
        if [[ $(date +%s) -ge $deadline ]]; then
            echo "$boot_timeout" >"$work/boot_timed_out"
            kill "$qemu_pid" 2>/dev/null
            exit 0
        fi
        sleep 0.2
    done
) &
watch_pid=$!
qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
qemu_pid=""
t_end=$(date +%s.%N)
wait "$watch_pid" 2>/dev/null || true
watch_pid=""

{
    tr -d '\r' 2>/dev/null <"$console" || true
    if [[ -s "$work/qemu.out" ]]; then
        echo "----- qemu output -----"
        cat "$work/qemu.out"
    fi
} >"$logfile"

if [[ -s "$work/boot_timed_out" ]]; then
    guest_failure="guest not ready after $boot_timeout s"
    guest_rc=125
elif [[ $qemu_rc -eq 124 || $qemu_rc -eq 137 ]]; then
    guest_failure="guest timed out after ${timeout_s} s"
    guest_rc=124
else
    guest_failure="no end marker (qemu exit $qemu_rc)"
    guest_rc=125
fi
ready=$(grep -m1 -F "@@sdguest-ready $token " "$logfile" || true)
msg="boot-to-payload"
[[ -s "$work/t_ready" ]] && msg+=" $(elapsed "$t_boot" "$(cat "$work/t_ready")") s (host),"
[[ -n "$ready" ]] && msg+=" $(field uptime "$ready") s (guest uptime),"
startup=$(grep -m1 '^# Startup finished' "$logfile" || true)
[[ -z "$startup" ]] || msg+=" ${startup#\# },"
log "$log_name: $msg qemu $(elapsed "$t_boot" "$t_end") s, run.sh $(elapsed "$t_start" "$(date +%s.%N)") s; log: $logfile"

status=0
report v2guest-systemd "$ready" || status=$?
exit "$status"
