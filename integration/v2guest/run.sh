#!/bin/bash
# Boot Debian's kernel under QEMU (TCG) with cgroup v1 disabled and run one
# payload script in it, as root, with pure cgroup v2 at /sys/fs/cgroup.
#
# Usage: integration/v2guest/run.sh PAYLOAD [ARGS...]
#   PAYLOAD: a name under integration/v2guest/payloads/ (with or without .sh)
#            or a path to a busybox sh script.
#
# Prints the payload's output and exits with its status; 124 if the guest
# timed out, 125 if the guest did not boot or the markers are missing.
# See README.md for the environment variables and the payload convention.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${V2GUEST_CACHE:-$root/integration/.work/v2guest}
berth_bin=${BERTH_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/berth}
timeout_s=${V2GUEST_TIMEOUT:-300}
mem=${V2GUEST_MEM:-1024}
smp=${V2GUEST_SMP:-2}
# KVM is present on this VM but hangs the guest (nested virtualisation): TCG only by default.
accel=${V2GUEST_ACCEL:-tcg}
modules=${V2GUEST_MODULES:-overlay veth bridge tun}
# Host programs copied (with their libraries) into every guest's /usr/local/bin.
base_tools="unshare nsenter"

log() { echo "v2guest: $*" >&2; }
die() { log "$*"; exit 1; }

[[ $# -ge 1 ]] || { sed -n '2,11s/^# \{0,1\}//p' "$0" >&2; exit 2; }
payload_arg=$1
shift
if [[ -f "$payload_arg" ]]; then
    payload=$payload_arg
elif [[ -f "$here/payloads/$payload_arg" ]]; then
    payload=$here/payloads/$payload_arg
elif [[ -f "$here/payloads/$payload_arg.sh" ]]; then
    payload=$here/payloads/$payload_arg.sh
else
    die "no payload '$payload_arg' (not a file, nor in $here/payloads/)"
fi
payload_name=$(basename "$payload")
[[ -x "$berth_bin" ]] || die "no berth binary at $berth_bin (build it, or set BERTH_BIN)"
[[ $(id -u) -eq 0 ]] || die "must run as root (the initramfs needs device nodes)"

t_start=$(date +%s.%N)
work=""
qemu_pid=""
cleanup() {
    if [[ -n "$qemu_pid" ]] && kill -0 "$qemu_pid" 2>/dev/null; then
        kill "$qemu_pid" 2>/dev/null || true
        wait "$qemu_pid" 2>/dev/null || true
    fi
    [[ -n "$work" ]] && rm -rf "$work"
}
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

# copy_bin DESTROOT SRC DEST: SRC at DESTROOT/DEST, with the shared libraries
# and the dynamic loader ldd names for it at their host paths.
copy_bin() {
    local destroot=$1 src=$2 dest=$3 lib
    install -D -m 0755 "$src" "$destroot$dest"
    while read -r lib; do
        [[ -e "$destroot$lib" ]] || install -D -m 0755 "$(readlink -f "$lib")" "$destroot$lib"
    done < <(ldd "$src" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
}

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
    local m todo=("$@") seen=" " line deps dep
    while [[ ${#todo[@]} -gt 0 ]]; do
        m=${todo[0]}
        todo=("${todo[@]:1}")
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
    cat "$0" "$here/init" "$here/lib.sh" "$here/bundle-config.json" "$busybox"
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
    for m in $(module_closure $modules); do
        install -D -m 0644 "$kmods/$m" "$b/lib/modules/$kver/$m"
    done
    echo "$modules" >"$b/v2guest/modules"
    mkcpio "$b" "$base.tmp"
    mv "$base.tmp" "$base"
    rm -rf "$b"
fi

# Per-run overlay: berth, the payloads, what the payload asked for, the marker token.
o=$work/overlay
mkdir -p "$o/v2guest/payloads"
copy_bin "$o" "$berth_bin" /usr/local/bin/berth
cp -a "$here/payloads/." "$o/v2guest/payloads/"
install -m 0755 "$payload" "$o/v2guest/payloads/$payload_name"
# A payload names extra host programs it needs in a "# v2guest-needs: prog..." line.
for t in $(sed -n 's/^# v2guest-needs://p' "$payload"); do
    p=$(command -v "$t") || die "$payload_name needs '$t', which is not installed on the host"
    copy_bin "$o" "$p" "/usr/local/bin/$t"
done
token=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$token" >"$o/v2guest/token"
{
    printf 'exec sh /v2guest/payloads/%q' "$payload_name"
    for a in "$@"; do printf ' %q' "$a"; done
    echo
} >"$o/v2guest/run-payload"
mkcpio "$o" "$work/overlay.cpio"
cat "$base" "$work/overlay.cpio" >"$work/initrd"

# Skip boot work this guest has no use for (crypto self-tests, keyboard/mouse probing).
kargs="cryptomgr.notests i8042.noaux i8042.nokbd i8042.nopnp"
console=$work/console.raw
logfile=${V2GUEST_LOG:-$cache/logs/${payload_name%.sh}.log}
t_boot=$(date +%s.%N)
timeout -k 5 "$timeout_s" qemu-system-x86_64 \
    -accel "$accel" -cpu max -m "$mem" -smp "$smp" \
    -nodefaults -no-user-config -display none -no-reboot \
    -serial "file:$console" \
    -kernel "$kimage" -initrd "$work/initrd" \
    -append "console=ttyS0 cgroup_no_v1=all panic=-1 quiet rdinit=/init $kargs ${V2GUEST_APPEND:-}" \
    </dev/null >"$work/qemu.out" 2>&1 &
qemu_pid=$!
# Host-side time at which the begin marker shows up, for the boot figure.
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

{
    tr -d '\r' <"$console" 2>/dev/null || true
    if [[ -s "$work/qemu.out" ]]; then
        echo "----- qemu output -----"
        cat "$work/qemu.out"
    fi
} >"$logfile"

begin=$(grep -m1 "^@@v2guest-begin $token " "$logfile" || true)
end=$(grep -m1 "^@@v2guest-end $token " "$logfile" || true)
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
field() { sed -n "s/.* $1=\\([0-9.]*\\).*/\\1/p" <<<"$2"; }

if [[ -n "$begin" ]]; then
    msg="boot-to-payload"
    [[ -s "$work/t_begin" ]] && msg+=" $(elapsed "$t_boot" "$(cat "$work/t_begin")") s (host),"
    msg+=" $(field uptime "$begin") s (guest uptime)"
    [[ -n "$end" ]] && msg+=", payload $(elapsed "$(field uptime "$begin")" "$(field uptime "$end")") s"
    log "$payload_name: $msg, qemu $(elapsed "$t_boot" "$t_end") s, run.sh $(elapsed "$t_start" "$(date +%s.%N)") s; log: $logfile"
    sed -n "/^@@v2guest-begin $token /,/^@@v2guest-end $token /{/^@@v2guest-/d;p}" "$logfile"
fi

fail() { # CODE REASON
    echo "not ok $payload_name: $2 (console log: $logfile)"
    [[ -n "$begin" ]] || tail -n 30 "$logfile" | sed 's/^/    | /'
    echo "v2guest: 0 passed, 1 failed"
    exit "$1"
}
if [[ $qemu_rc -eq 124 || $qemu_rc -eq 137 ]]; then
    fail 124 "guest timed out after ${timeout_s} s"
elif [[ -z "$begin" ]]; then
    fail 125 "the guest did not reach the payload (qemu exit $qemu_rc)"
elif [[ -z "$end" ]]; then
    fail 125 "the payload did not finish (no end marker; qemu exit $qemu_rc)"
fi
exit "$(field rc "$end")"
