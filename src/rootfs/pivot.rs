//! Making the rootfs the container's root, as runc does: first "/" is made rslave (or takes
//! linux.rootfsPropagation) so nothing we mount reaches the host, the rootfs's parent mount
//! is made private (pivot_root refuses a shared parent) and the rootfs is bind-mounted onto
//! itself; at the end pivot_root(".", ".") and a lazy unmount of the old root, or with
//! --no-pivot an MS_MOVE of the rootfs onto "/" and chroot. rootfsPropagation is applied to
//! the new root once it is "/".

use anyhow::{Context, Result};
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;
use nix::unistd::{chdir, chroot, fchdir, pivot_root};
use std::path::{Path, PathBuf};

pub fn set_propagation(path: &Path, flags: libc::c_ulong) -> nix::Result<()> {
    mount(
        None::<&str>,
        path,
        None::<&str>,
        MsFlags::from_bits_retain(flags),
        None::<&str>,
    )
}

/// Before any mount: propagation of "/", private parent, rootfs bound onto itself.
pub fn prepare_root(rootfs: &Path, propagation: Option<libc::c_ulong>) -> Result<()> {
    let flags = propagation.unwrap_or(libc::MS_SLAVE | libc::MS_REC);
    set_propagation(Path::new("/"), flags).context("setting the propagation of /")?;
    let parent = parent_mount_point(rootfs)?;
    set_propagation(&parent, libc::MS_PRIVATE).with_context(|| {
        format!(
            "making {} (the rootfs's parent mount) private",
            parent.display()
        )
    })?;
    bind_root_onto_itself(rootfs)
}

/// The rootfs bound onto itself (recursively): pivot_root needs a mount, and without a mount
/// namespace the mounts below it hang off the container's own root, as in runc (whose
/// propagation changes berth does not make there: they would change the host's mounts).
pub fn bind_root_onto_itself(rootfs: &Path) -> Result<()> {
    mount(
        Some(rootfs),
        rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .with_context(|| format!("bind-mounting the rootfs {} onto itself", rootfs.display()))
}

/// The mount point of the mount that holds `path`.
fn parent_mount_point(path: &Path) -> Result<PathBuf> {
    let mounts = procfs::process::Process::myself()
        .and_then(|p| p.mountinfo())
        .context("reading /proc/self/mountinfo")?;
    Ok(mounts
        .0
        .iter()
        .map(|m| &m.mount_point)
        .filter(|mp| path.starts_with(mp))
        .max_by_key(|mp| mp.components().count())
        .cloned()
        .unwrap_or_else(|| PathBuf::from("/")))
}

/// pivot_root into the rootfs and detach the old root. Leaves the cwd at the new "/".
pub fn pivot(rootfs: &Path) -> Result<()> {
    let dir = OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC;
    let old_root = open("/", dir, Mode::empty()).context("opening the old /")?;
    let new_root = open(rootfs, dir, Mode::empty())
        .with_context(|| format!("opening the rootfs {}", rootfs.display()))?;
    fchdir(&new_root).context("changing into the rootfs")?;
    // pivot_root(".", ".") stacks the old root on top of the new one; no put_old directory
    // inside the rootfs is needed.
    pivot_root(".", ".").context("pivot_root")?;
    fchdir(&old_root).context("changing into the old root")?;
    // Our unmount must not propagate anywhere.
    set_propagation(Path::new("."), libc::MS_SLAVE | libc::MS_REC)
        .context("making the old root rslave")?;
    umount2(".", MntFlags::MNT_DETACH).context("detaching the old root")?;
    chdir("/").context("changing into the new root")?;
    Ok(())
}

/// --no-pivot: hide the host's procfs and sysfs mounts (the kernel lets a fresh procfs or
/// sysfs be mounted only when a fully visible one exists in the namespace, so leaving the
/// host's would undo maskedPaths for a container able to mount), move the rootfs onto "/"
/// and chroot into it.
pub fn move_root(rootfs: &Path) -> Result<()> {
    let mounts = procfs::process::Process::myself()
        .and_then(|p| p.mountinfo())
        .context("reading /proc/self/mountinfo")?;
    let mut hide: Vec<PathBuf> = mounts
        .0
        .iter()
        .filter(|m| {
            (m.fs_type == "proc" || m.fs_type == "sysfs") && !m.mount_point.starts_with(rootfs)
        })
        .map(|m| m.mount_point.clone())
        .collect();
    // Deepest first, so a parent is not busy with its children.
    hide.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for p in &hide {
        if umount2(p, MntFlags::MNT_DETACH).is_err() {
            mount(
                Some("tmpfs"),
                p,
                Some("tmpfs"),
                MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                None::<&str>,
            )
            .with_context(|| format!("hiding the host's {}", p.display()))?;
        }
    }
    move_onto_root(rootfs)
}

/// Moves the mount at `dir` onto "/" and chroots into it: runc's --no-pivot way into a root
/// (also CRIU's way to a root it can pivot_root from, `criu::host_root_as_bind`).
pub fn move_onto_root(dir: &Path) -> Result<()> {
    chdir(dir).with_context(|| format!("changing into {}", dir.display()))?;
    mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>)
        .with_context(|| format!("moving {} onto /", dir.display()))?;
    chroot(".").with_context(|| format!("chroot into {}", dir.display()))?;
    chdir("/").context("changing into the new root")?;
    Ok(())
}

/// rootfsPropagation on the new "/" (after pivot_root or the move).
pub fn apply_root_propagation(flags: libc::c_ulong) -> Result<()> {
    set_propagation(Path::new("/"), flags).context("linux.rootfsPropagation: applying it to /")
}

/// Without a mount namespace: chroot into the rootfs (pivot_root would move the runtime's
/// own root).
pub fn chroot_only(rootfs: &Path) -> Result<()> {
    chdir(rootfs).with_context(|| format!("changing into the rootfs {}", rootfs.display()))?;
    chroot(".").context("chroot into the rootfs")?;
    chdir("/").context("changing into the new root")?;
    Ok(())
}
