#!/bin/bash
# Boot Debian's kernel under QEMU (TCG) with cgroup v1 disabled and run
# payload scripts in it, as root, with pure cgroup v2 at /sys/fs/cgroup.
#
# Usage: integration/v2guest/run.sh PAYLOAD [ARGS...]
#        integration/v2guest/run.sh --all
#   PAYLOAD: a name under integration/v2guest/payloads/ (with or without .sh)
#            or a path to a busybox sh script.
#   --all:   every payload in integration/v2guest/payloads/, one after the
#            other in a single boot, each without arguments.
#
# Prints each payload's output; with --all, then the total as the last line
# "v2guest: N passed, M failed". Exits with the payload's status (--all: 0 when
# every payload exited 0, else 1); 124 if the guest timed out, 125 if the guest
# did not boot or a payload's markers are missing.
# See README.md for the environment variables and the payload convention.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${V2GUEST_CACHE:-$root/integration/.work/v2guest}
berth_bin=${BERTH_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/berth}
mem=${V2GUEST_MEM:-1024}
smp=${V2GUEST_SMP:-2}
# NUMA nodes of the guest; a payload asks for more with "# v2guest-numa: N".
numa=${V2GUEST_NUMA:-1}
# Extra kernel command line asked for by the payloads' "# v2guest-cmdline: ..." lines.
cmdline_extra=""
# KVM is present on this VM but hangs the guest (nested virtualisation): TCG only by default.
accel=${V2GUEST_ACCEL:-tcg}
modules=${V2GUEST_MODULES:-overlay veth bridge tun}
# Host programs copied (with their libraries) into every guest's /usr/local/bin.
base_tools="unshare nsenter"

log() { echo "v2guest: $*" >&2; }
die() { log "$*"; exit 1; }
# find_payload, cleanup, copy_bin, elapsed/field/marker, report.
. "$here/host.sh"

[[ $# -ge 1 ]] || { sed -n '2,17s/^# \{0,1\}//p' "$0" >&2; exit 2; }
payloads=()
if [[ $1 == --all ]]; then
    [[ $# -eq 1 ]] || die "--all takes no arguments"
    shopt -s nullglob
    payloads=("$here"/payloads/*.sh)
    shopt -u nullglob
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
timeout_s=${V2GUEST_TIMEOUT:-$((300 * ${#payloads[@]}))}
[[ -x "$berth_bin" ]] || die "no berth binary at $berth_bin (build it, or set BERTH_BIN)"
[[ $(id -u) -eq 0 ]] || die "must run as root (the initramfs needs device nodes)"

t_start=$(date +%s.%N)
work=""
qemu_pid=""
watch_pid=""
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

apt_install() {
    log "installing $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 \
        || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends "$@" >&2; }
}
command -v qemu-system-x86_64 >/dev/null || apt_install qemu-system-x86
command -v busybox >/dev/null || apt_install busybox-static
busybox=$(command -v busybox)

kdir=$("$here/kernel.sh")
vmlinuz=$(compgen -G "$kdir/boot/vmlinuz-*" | head -n1)
kver=${vmlinuz##*/vmlinuz-}
# The uncompressed ELF (PVH entry) boots ~3 s faster than the bzImage under TCG.
kimage=$kdir/boot/vmlinux-$kver
[[ -f "$kimage" ]] || kimage=$vmlinuz
kmods=$kdir/lib/modules/$kver

mkdir -p "$cache/logs"
work=$(mktemp -d "$cache/run.XXXXXX")

# busybox_tree DESTROOT: busybox with all its applet links, and the usual dirs.
busybox_tree() {
    local destroot=$1 applet
    copy_bin "$destroot" "$busybox" /bin/busybox
    while read -r applet; do
        [[ -e "$destroot/$applet" || -L "$destroot/$applet" ]] && continue
        mkdir -p "$destroot/$(dirname "$applet")"
        ln -s /bin/busybox "$destroot/$applet"
    done < <("$busybox" --list-full | grep -v '^linuxrc$')
    mkdir -p "$destroot"/{proc,sys,dev,run,tmp,root,etc,var}
    chmod 1777 "$destroot/tmp"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
        >"$destroot/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$destroot/etc/group"
}

# module_closure NAME...: paths (relative to the modules dir) of the modules
# and everything they depend on, from modules.dep.
module_closure() {
    local m seen=" " line dep
    for m in "$@"; do
        line=$(grep -E "(^|/)${m//[-_]/[-_]}\\.ko(\\.[a-z]+)?:" "$kmods/modules.dep" || true)
        if [[ -z "$line" ]]; then
            grep -qE "(^|/)${m//[-_]/[-_]}\\.ko" "$kmods/modules.builtin" \
                || die "kernel module $m is neither built in nor in modules.dep"
            continue
        fi
        for dep in ${line%%:*} ${line#*:}; do
            [[ "$seen" == *" $dep "* ]] && continue
            seen+="$dep "
            echo "$dep"
        done
    done
}

mkcpio() { # DIR OUT
    (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) >"$2"
}

# Base image: everything but berth and the payloads; rebuilt when its inputs change.
base_key=$( {
    cat "$0" "$here/host.sh" "$here/init" "$here/lib.sh" "$here/bundle-config.json" "$busybox"
    for t in $base_tools; do cat "$(command -v "$t")"; done
    echo "$kver $modules"
} | sha256sum | cut -c1-16)
# Uncompressed: the kernel mis-detects an uncompressed archive placed after a
# gzip one, and inflating under TCG would cost boot time anyway.
base=$cache/base-$base_key.cpio
if [[ ! -f "$base" ]]; then
    log "building base initramfs ($base_key)"
    rm -f "$cache"/base-*.cpio
    b=$work/base
    busybox_tree "$b"
    mkdir -p "$b"/{newroot,v2guest/payloads,usr/local/bin,bundles/busybox}
    mknod -m 600 "$b/dev/console" c 5 1
    mknod -m 666 "$b/dev/null" c 1 3
    install -m 0755 "$here/init" "$b/init"
    install -m 0644 "$here/lib.sh" "$here/bundle-config.json" "$b/v2guest/"
    for t in $base_tools; do copy_bin "$b" "$(command -v "$t")" "/usr/local/bin/$t"; done
    # The container bundle: a copy of busybox (not links into the guest's own tree).
    busybox_tree "$b/bundles/busybox/rootfs"
    sed -e 's|@ARGS@|["sh", "-c", "echo hello from busybox"]|' -e 's|@ROOTFS@|rootfs|' \
        "$here/bundle-config.json" >"$b/bundles/busybox/config.json"
    mkdir -p "$b/lib/modules/$kver"
    cp "$kmods"/modules.{dep,builtin,order} "$b/lib/modules/$kver/"
    files=$(module_closure $modules)
    for m in $files; do
        install -D -m 0644 "$kmods/$m" "$b/lib/modules/$kver/$m"
    done
    echo "$modules" >"$b/v2guest/modules"
    mkcpio "$b" "$base.$$.tmp"
    mv "$base.$$.tmp" "$base"
    rm -rf "$b"
fi

# Per-run overlay: berth, the payloads, the programs they ask for, the marker token.
o=$work/overlay
mkdir -p "$o/v2guest/payloads"
copy_bin "$o" "$berth_bin" /usr/local/bin/berth
# Test tools built beside berth (integration/tools/), when they were.
for t in recvtty; do
    p=$(dirname "$berth_bin")/examples/$t
    [[ -x "$p" ]] && copy_bin "$o" "$p" "/usr/local/bin/$t"
done
cp -a "$here/payloads/." "$o/v2guest/payloads/"
token=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$token" >"$o/v2guest/token"
for i in "${!payloads[@]}"; do
    install -m 0755 "${payloads[$i]}" "$o/v2guest/payloads/${names[$i]}"
    # A payload names the extra host programs it needs in a "# v2guest-needs: prog..."
    # line (prog:package when the Debian package is named otherwise); they are
    # installed on the host if missing.
    for t in $(sed -n 's/^# v2guest-needs://p' "${payloads[$i]}"); do
        prog=${t%%:*}
        [[ -e "$o/usr/local/bin/$prog" ]] && continue
        command -v "$prog" >/dev/null || apt_install "${t#*:}"
        p=$(command -v "$prog") || die "${names[$i]} needs '$prog', which is not installed on the host"
        copy_bin "$o" "$p" "/usr/local/bin/$prog"
    done
    # ... and the kernel modules it needs beyond $modules in "# v2guest-modules: mod...".
    for m in $(sed -n 's/^# v2guest-modules://p' "${payloads[$i]}"); do
        files=$(module_closure "$m") # (an assignment, so that set -e sees its failure)
        for f in $files; do
            install -D -m 0644 "$kmods/$f" "$o/lib/modules/$kver/$f"
        done
        echo "$m" >>"$o/v2guest/modules.payload"
    done
    n=$(sed -n 's/^# v2guest-numa: *\([0-9]*\).*/\1/p' "${payloads[$i]}" | head -n1)
    [[ -n "$n" && "$n" -gt "$numa" ]] && numa=$n
    # ... and kernel command line words in "# v2guest-cmdline: word..." (e.g. an LSM to
    # activate; --all: every payload then runs with them).
    for w in $(sed -n 's/^# v2guest-cmdline://p' "${payloads[$i]}"); do
        [[ " $cmdline_extra " == *" $w "* ]] || cmdline_extra+=" $w"
    done
    printf 'run_payload %q sh /v2guest/payloads/%q' "${names[$i]}" "${names[$i]}"
    [[ $# -gt 0 ]] && printf ' %q' "$@"
    echo
done >"$o/v2guest/run-payloads"
mkcpio "$o" "$work/overlay.cpio"
cat "$base" "$work/overlay.cpio" >"$work/initrd"

# NUMA: the memory split evenly over the nodes, CPU j on node j mod N (-numa needs memdevs
# since QEMU 5.1's machine types).
numa_args=()
if [[ "$numa" -gt 1 ]]; then
    [[ $((mem % numa)) -eq 0 ]] || die "V2GUEST_MEM ($mem) is not a multiple of $numa nodes"
    for ((n = 0; n < numa; n++)); do
        cpus=""
        for ((j = n; j < smp; j += numa)); do cpus+=",cpus=$j"; done
        numa_args+=(-object "memory-backend-ram,id=numa$n,size=$((mem / numa))M"
            -numa "node,nodeid=$n,memdev=numa$n$cpus")
    done
fi

# Skip boot work this guest has no use for (crypto self-tests, keyboard/mouse probing).
kargs="cryptomgr.notests i8042.noaux i8042.nokbd i8042.nopnp"
console=$work/console.raw
logfile=${V2GUEST_LOG:-$cache/logs/$log_name.log}
t_boot=$(date +%s.%N)
timeout -k 5 "$timeout_s" qemu-system-x86_64 \
    -accel "$accel" -cpu max -m "$mem" -smp "$smp" "${numa_args[@]}" \
    -nodefaults -no-user-config -display none -no-reboot \
    -serial "file:$console" \
    -kernel "$kimage" -initrd "$work/initrd" \
    -append "console=ttyS0 cgroup_no_v1=all panic=-1 quiet rdinit=/init $kargs$cmdline_extra ${V2GUEST_APPEND:-}" \
    </dev/null >"$work/qemu.out" 2>&1 &
qemu_pid=$!
# Host-side time at which the first begin marker shows up, for the boot figure.
(
    while kill -0 "$qemu_pid" 2>/dev/null; do
        if grep -q "^@@v2guest-begin $token " "$console" 2>/dev/null; then
            date +%s.%N >"$work/t_begin"
            exit 0
        fi
        sleep 0.1
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
    tr -d '\r' <"$console" 2>/dev/null || true
    if [[ -s "$work/qemu.out" ]]; then
        echo "----- qemu output -----"
        cat "$work/qemu.out"
    fi
} >"$logfile"

if [[ $qemu_rc -eq 124 || $qemu_rc -eq 137 ]]; then
    guest_failure="guest timed out after ${timeout_s} s"
    guest_rc=124
else
    guest_failure="no end marker (qemu exit $qemu_rc)"
    guest_rc=125
fi
first_begin=$(marker begin "${names[0]}")
msg="boot-to-payload"
[[ -s "$work/t_begin" ]] && msg+=" $(elapsed "$t_boot" "$(cat "$work/t_begin")") s (host),"
[[ -n "$first_begin" ]] && msg+=" $(field uptime "$first_begin") s (guest uptime),"
log "$log_name: $msg qemu $(elapsed "$t_boot" "$t_end") s, run.sh $(elapsed "$t_start" "$(date +%s.%N)") s; log: $logfile"

status=0
report v2guest "$first_begin" || status=$?
exit "$status"
