#!/bin/bash
# Fetch and unpack Debian's kernel package (linux-image-amd64) into the cache,
# without installing it on the host. Idempotent: an unpacked kernel in the
# cache is reused without touching the network. Prints the unpacked directory
# on stdout; it holds boot/vmlinuz-KVER, boot/vmlinux-KVER (uncompressed, for
# PVH boot, when it could be extracted) and lib/modules/KVER with modules.dep.
#
# Env: V2GUEST_CACHE (default: <repo>/integration/.work/v2guest)
#      V2GUEST_KERNEL_REFRESH=1 to resolve the newest linux-image-amd64 again.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${V2GUEST_CACHE:-$root/integration/.work/v2guest}
mkdir -p "$cache"
log() { echo "v2guest: $*" >&2; }

# linux-image-amd64 is a metapackage; the real image is its linux-image-* dependency.
resolve_image_pkg() {
    apt-cache depends linux-image-amd64 2>/dev/null \
        | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1
}

# unpack PKG DEST: download PKG's .deb and unpack it to DEST.
unpack() {
    local pkg=$1 dest=$2 debs=$cache/debs deb kver
    mkdir -p "$debs"
    if ! compgen -G "$debs/${pkg}_*.deb" >/dev/null; then
        log "downloading $pkg"
        # apt's _apt user cannot write here; as root that is only a warning.
        (cd "$debs" && apt-get download -q "$pkg") 2>&1 \
            | grep -v '^W: Download is performed unsandboxed' >&2 || true
    fi
    deb=$(compgen -G "$debs/${pkg}_*.deb" | sort | tail -n1) || { log "download of $pkg failed"; exit 1; }
    log "unpacking $(basename "$deb")"
    rm -rf "$dest.tmp"
    dpkg -x "$deb" "$dest.tmp"
    # The package leaves modules.dep to its postinst; the guest's modprobe needs it.
    kver=$(basename "$(compgen -G "$dest.tmp/lib/modules/*" | head -n1)")
    if command -v depmod >/dev/null; then
        depmod -b "$dest.tmp" "$kver"
    else
        busybox depmod -b "$dest.tmp" "$kver"
    fi
    mv "$dest.tmp" "$dest"
    rm -f "$deb" # 70 MB; fetching it again takes a second
}

# extract_vmlinux DIR: with CONFIG_PVH, QEMU boots the uncompressed ELF directly,
# which skips the kernel's own xz decompression (about 3 s under TCG).
extract_vmlinux() {
    local dir=$1 vmlinuz kver config vmlinux off
    vmlinuz=$(compgen -G "$dir/boot/vmlinuz-*" | head -n1)
    kver=${vmlinuz##*/vmlinuz-}
    config=$dir/boot/config-$kver
    vmlinux=$dir/boot/vmlinux-$kver
    [[ -f "$vmlinux" ]] && return 0
    grep -qx 'CONFIG_PVH=y' "$config" && grep -qx 'CONFIG_KERNEL_XZ=y' "$config" || return 0
    off=$(LC_ALL=C grep -abo $'\xfd7zXZ\x00' "$vmlinuz" | head -n1 | cut -d: -f1)
    [[ -n "$off" ]] || { log "no xz stream in $vmlinuz; booting the compressed image"; return 0; }
    # xz complains about the bytes after the stream: the ELF magic decides.
    # (busybox unxz lacks the x86 BCJ filter the kernel image uses.)
    command -v xz >/dev/null || { log "no xz on the host; booting the compressed image"; return 0; }
    tail -c +$((off + 1)) "$vmlinuz" | xz -dc >"$vmlinux.tmp" 2>/dev/null || true
    if [[ "$(head -c 4 "$vmlinux.tmp" | od -An -tx1 | tr -d ' ')" == 7f454c46 ]]; then
        mv "$vmlinux.tmp" "$vmlinux"
    else
        rm -f "$vmlinux.tmp"
        log "could not extract an ELF vmlinux; booting the compressed image"
    fi
}

current=$cache/kernel-current
if [[ -n "${V2GUEST_KERNEL_REFRESH:-}" ]] || ! compgen -G "$current/boot/vmlinuz-*" >/dev/null; then
    pkg=$(resolve_image_pkg)
    if [[ -z "$pkg" ]]; then
        log "apt lists do not know linux-image-amd64; running apt-get update"
        apt-get update -qq >&2
        pkg=$(resolve_image_pkg)
    fi
    [[ -n "$pkg" ]] || { log "cannot resolve the package behind linux-image-amd64"; exit 1; }
    compgen -G "$cache/$pkg/boot/vmlinuz-*" >/dev/null || unpack "$pkg" "$cache/$pkg"
    ln -sfn "$pkg" "$current"
fi
extract_vmlinux "$(readlink -f "$current")"
readlink -f "$current"
