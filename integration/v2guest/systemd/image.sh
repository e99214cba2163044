#!/bin/bash
# Build (or reuse) the disk image of the systemd guest: a Debian bookworm root whose PID 1
# is systemd, with dbus, podman, containerd, docker.io and runc, made into an ext4 image
# with `mkfs.ext4 -d` (no loop mount). Prints the image's path on stdout.
#
# Two cached stages, each built in a temp dir and renamed when complete:
#   root-KEY1/       debootstrap --variant=minbase + apt-get install in a chroot (slow:
#                    minutes; KEY1 = the package list, the mirror, this script)
#   image-KEY2.ext4  a copy of that root with the guest's trimming, the kernel's modules,
#                    the busybox bundle and OCI image, runc 1.5 (KEY2 = KEY1 + their inputs)
# Older stages are removed when a new one is built.
#
# Env: V2GUEST_CACHE (default <repo>/integration/.work/v2guest; the image lives in its
#      sdguest/), DEBIAN_MIRROR (default: the host's apt source), SDGUEST_IMAGE_SIZE (4G).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
v2=$(cd "$here/.." && pwd)
repo=$(cd "$v2/../.." && pwd)
cache=${V2GUEST_CACHE:-$repo/integration/.work/v2guest}
dir=$cache/sdguest
size=${SDGUEST_IMAGE_SIZE:-4G}
runc_ref=${SDGUEST_RUNC_REF:-/work/shared/reference/runc}
log() { echo "sdguest-image: $*" >&2; }
die() { log "$*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, chroot)"
mirror=${DEBIAN_MIRROR:-}
if [[ -z "$mirror" ]]; then
    mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
    [[ -n "$mirror" ]] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
    [[ -n "$mirror" ]] || mirror=http://deb.debian.org/debian
fi
# apparmor: Debian's kernel has AppArmor on, and docker loads its docker-default profile
# with apparmor_parser, as on any Debian host. libpam-systemd and dbus-user-session: a
# lingering user's own systemd with its bus at $XDG_RUNTIME_DIR/bus (rootless payloads).
packages="systemd systemd-sysv dbus kmod podman conmon catatonit containernetworking-plugins
    containerd docker.io runc iproute2 iptables util-linux procps busybox-static apparmor
    libpam-systemd dbus-user-session"

need() { # PROG PACKAGE: install PACKAGE on the host when PROG is missing
    command -v "$1" >/dev/null && return 0
    log "installing $2 on the host"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >&2 \
        || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends "$2" >&2; }
}
need debootstrap debootstrap
need mkfs.ext4 e2fsprogs
need umoci umoci
need skopeo skopeo
need busybox busybox-static
[[ -x "$runc_ref" ]] || die "no reference runc at $runc_ref (set SDGUEST_RUNC_REF)"

kdir=$("$v2/kernel.sh")
kver=$(basename "$(compgen -G "$kdir/lib/modules/*" | head -n1)")

key1=$( { sed -n '/^# --- stage 1/,/^# --- end of stage 1/p' "$0"; echo "$packages $mirror"; } \
    | sha256sum | cut -c1-16)
key2=$( {
    echo "$key1 $kver"
    cat "$0" "$runc_ref" "$(command -v busybox)"
} | sha256sum | cut -c1-16)
image=$dir/image-$key2.ext4
mkdir -p "$dir"
# One build at a time (two runs started together wait for the same image).
exec 9>"$dir/lock"
flock 9
if [[ -f "$image" ]]; then
    echo "$image"
    exit 0
fi
t0=$(date +%s)

# Every chroot mount is undone on every exit path, before anything is removed: a
# `rm -rf` of a root with /dev bound in it would empty the host's /dev.
mounted=()
tmpdirs=()
unmount_all() {
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount "${mounted[$i]}" 2>/dev/null || umount -l "${mounted[$i]}" 2>/dev/null || true
    done
    mounted=()
}
safe_rm() { # DIR: only when no mount is left below it
    local d
    d=$(readlink -f "$1")
    if awk -v d="$d" '$2 == d || index($2, d "/") == 1 { found = 1 } END { exit !found }' /proc/mounts; then
        log "not removing $d: something is still mounted below it"
        return 1
    fi
    rm -rf "$d"
}
cleanup() {
    local d
    unmount_all
    for d in "${tmpdirs[@]}"; do safe_rm "$d" || true; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

chroot_mounts() { # ROOT
    local r=$1
    mount -t proc proc "$r/proc"
    mounted+=("$r/proc")
    mount -t sysfs sysfs "$r/sys"
    mounted+=("$r/sys")
    mount --bind /dev "$r/dev"
    mounted+=("$r/dev")
    mount --bind /dev/pts "$r/dev/pts"
    mounted+=("$r/dev/pts")
    mount -t tmpfs tmpfs "$r/run"
    mounted+=("$r/run")
}

# --- stage 1: debootstrap and apt (its text is part of KEY1) ---
root=$dir/root-$key1
if [[ ! -x "$root/usr/sbin/dockerd" ]]; then
    log "stage 1: debootstrap bookworm from $mirror, then apt-get install (several minutes)"
    tmp=$dir/root.tmp
    safe_rm "$tmp"
    tmpdirs+=("$tmp")
    # A mirror that fails a download now and then is tried again, as in the Makefile's
    # debian-rootfs target.
    for i in 1 2 3; do
        safe_rm "$tmp"
        if debootstrap --variant=minbase bookworm "$tmp" "$mirror" >"$dir/debootstrap.log" 2>&1; then
            break
        fi
        [[ $i -lt 3 ]] || { tail -n 20 "$dir/debootstrap.log" >&2; die "debootstrap failed 3 times"; }
        log "debootstrap failed (attempt $i of 3)"
        sleep 5
    done
    # No service may start inside the chroot during the build.
    printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
    chmod 0755 "$tmp/usr/sbin/policy-rc.d"
    cp /etc/resolv.conf "$tmp/etc/resolv.conf"
    chroot_mounts "$tmp"
    for i in 1 2 3; do
        if chroot "$tmp" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
            "apt-get update -qq && apt-get install -y -qq --no-install-recommends $(echo $packages)" \
            >"$dir/apt.log" 2>&1; then
            break
        fi
        [[ $i -lt 3 ]] || { tail -n 20 "$dir/apt.log" >&2; die "apt-get install failed 3 times"; }
        log "apt-get install failed (attempt $i of 3)"
        sleep 5
    done
    chroot "$tmp" apt-get clean
    unmount_all
    rm -rf "$tmp"/var/lib/apt/lists/* "$tmp"/var/cache/apt/*.bin "$tmp/usr/sbin/policy-rc.d" \
        "$tmp/etc/resolv.conf"
    rm -rf "$dir"/root-*
    mv "$tmp" "$root"
    tmpdirs=()
    log "stage 1 done in $(($(date +%s) - t0)) s"
fi
# --- end of stage 1 ---

log "stage 2: image $key2 from root-$key1"
stage=$dir/image.tmp
safe_rm "$stage"
tmpdirs+=("$stage")
cp -a "$root" "$stage"
r=$stage

# Trimmed for a fast boot under TCG: no logins, no network waits, no timers. docker and
# containerd are installed but not started at boot: the payloads start them.
mask_units="getty@.service serial-getty@.service getty.target console-getty.service
    systemd-networkd-wait-online.service systemd-networkd.service systemd-networkd.socket
    apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service
    e2scrub_all.timer e2scrub_reap.service fstrim.timer man-db.timer logrotate.timer
    dpkg-db-backup.timer systemd-tmpfiles-clean.timer podman-auto-update.timer
    podman-restart.service podman-auto-update.service podman-clean-transient.service
    podman.service podman.socket
    systemd-firstboot.service systemd-fsck-root.service systemd-remount-fs.service
    systemd-pstore.service systemd-hwdb-update.service systemd-ldconfig.service
    systemd-journal-catalog-update.service ldconfig.service
    sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount"
for u in $mask_units; do ln -sfn /dev/null "$r/etc/systemd/system/$u"; done
for u in docker.service docker.socket containerd.service; do
    chroot "$r" systemctl disable -q "$u" 2>/dev/null || true
done
rm -f "$r"/etc/systemd/system/*.wants/docker.* "$r"/etc/systemd/system/*.wants/containerd.service
echo sdguest >"$r/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 sdguest\n' >"$r/etc/hosts"
: >"$r/etc/fstab"
# A fixed machine id: the image is never booted writable (snapshot=on), so first-boot logic
# would run on every boot.
chroot "$r" systemd-machine-id-setup >/dev/null 2>&1 || echo 0123456789abcdef0123456789abcdef >"$r/etc/machine-id"
mkdir -p "$r/etc/systemd/journald.conf.d" "$r/etc/systemd/system.conf.d"
printf '[Journal]\nStorage=volatile\nForwardToConsole=no\n' >"$r/etc/systemd/journald.conf.d/sdguest.conf"
printf '[Manager]\nShowStatus=no\nDefaultTimeoutStartSec=60s\n' >"$r/etc/systemd/system.conf.d/sdguest.conf"
# No resolver in the guest (no network): an empty resolv.conf keeps tools quiet.
: >"$r/etc/resolv.conf"

# The kernel's modules (overlay, veth, bridge, netfilter: loaded on demand in the guest).
mkdir -p "$r/lib/modules"
cp -a "$kdir/lib/modules/$kver" "$r/lib/modules/"
# The guest's kmod needs the binary indexes (modules.dep.bin ...), which busybox's depmod
# on the host does not write.
chroot "$r" depmod "$kver"

# The reference runc 1.5 (dynamic: libseccomp2 and libc, both in the image already).
install -m 0755 "$runc_ref" "$r/usr/local/bin/runc-1.5"

# A bundle rootfs for direct runtime tests: static busybox and its applet links.
b=$r/bundles/busybox/rootfs
mkdir -p "$b"/{bin,dev,proc,sys,etc,root,var,run,tmp}
chmod 1777 "$b/tmp"
install -m 0755 "$(command -v busybox)" "$b/bin/busybox"
for a in $(busybox --list); do [[ $a == busybox ]] || ln -s busybox "$b/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$b/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$b/etc/group"

# The busybox OCI image, as integration/managers/images.rs builds it, in the archives the
# managers load: docker-archive (docker load, podman load) and oci-archive (ctr import).
oci=$stage.oci
tmpdirs+=("$oci")
safe_rm "$oci"
mkdir -p "$oci"
umoci init --layout "$oci/layout"
umoci new --image "$oci/layout:busybox"
umoci unpack --image "$oci/layout:busybox" "$oci/bundle" >/dev/null
cp -a "$b/." "$oci/bundle/rootfs/"
umoci repack --image "$oci/layout:busybox" "$oci/bundle"
umoci config --image "$oci/layout:busybox" --config.cmd sh \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.workingdir /
umoci gc --layout "$oci/layout"
mkdir -p "$r/opt/images"
skopeo copy --quiet "oci:$oci/layout:busybox" "docker-archive:$r/opt/images/busybox.docker.tar:localhost/busybox:latest"
skopeo copy --quiet "oci:$oci/layout:busybox" "oci-archive:$r/opt/images/busybox.oci.tar:localhost/busybox:latest"
safe_rm "$oci"

log "mkfs.ext4 ($size)"
rm -f "$dir/image.ext4.tmp"
mkfs.ext4 -q -F -L sdguest -E root_owner=0:0 -d "$r" "$dir/image.ext4.tmp" "$size" >&2
rm -f "$dir"/image-*.ext4
mv "$dir/image.ext4.tmp" "$image"
safe_rm "$stage"
tmpdirs=()
log "image built in $(($(date +%s) - t0)) s: $image ($(du -h "$image" | cut -f1) used)"
echo "$image"
