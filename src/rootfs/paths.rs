//! After pivot_root: linux.readonlyPaths, linux.maskedPaths and root.readonly
//! (config-linux.md "Masked Paths", "Readonly Paths"; config.md "Root").
//!
//! Everything goes through the new mount API on fds opened under "/" with openat2, so it
//! needs no /proc in the container, and a symlink can neither redirect a mask nor pass itself
//! off as /dev/null (CVE-2025-31133).

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::{fstat, major, minor};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use super::resolve::open_in_root;
use super::sys;

/// Opens `path` under `root` as O_PATH; None when it does not exist (such paths are skipped,
/// as runc does).
fn open_target(root: BorrowedFd, path: &Path, flags: OFlag) -> Result<Option<OwnedFd>> {
    match open_in_root(root, path, OFlag::O_PATH | flags) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("opening {}", path.display())),
    }
}

/// Makes `path` read-only: a recursive bind of it onto itself whose top mount is made
/// read-only with mount_setattr, which keeps its other flags (nosuid, nodev, ...).
pub fn make_readonly(root: BorrowedFd, path: &Path) -> Result<()> {
    let what = || format!("linux.readonlyPaths: {}", path.display());
    let Some(target) = open_target(root, path, OFlag::empty()).with_context(what)? else {
        return Ok(());
    };
    let tree = sys::open_tree(
        target.as_fd(),
        libc::OPEN_TREE_CLONE | libc::AT_RECURSIVE as u32,
    )
    .context("open_tree")
    .with_context(what)?;
    sys::mount_setattr(tree.as_fd(), true, libc::MOUNT_ATTR_RDONLY, 0, 0)
        .context("mount_setattr")
        .with_context(what)?;
    sys::move_mount(tree.as_fd(), target.as_fd())
        .context("move_mount")
        .with_context(what)
}

/// Masks `path`: a read-only empty tmpfs over a directory (labelled with linux.mountLabel,
/// as runc does), /dev/null over anything else.
pub fn mask(root: BorrowedFd, path: &Path, mount_label: Option<&str>) -> Result<()> {
    let what = || format!("linux.maskedPaths: {}", path.display());
    let Some(target) = open_target(root, path, OFlag::O_NOFOLLOW).with_context(what)? else {
        return Ok(());
    };
    let st = fstat(&target).with_context(what)?;
    let mnt = match st.st_mode & libc::S_IFMT {
        libc::S_IFLNK => bail!("{}: is a symlink, refusing to mask it", what()),
        libc::S_IFDIR => {
            let attr = libc::MOUNT_ATTR_RDONLY
                | libc::MOUNT_ATTR_NOSUID
                | libc::MOUNT_ATTR_NODEV
                | libc::MOUNT_ATTR_NOEXEC;
            let context = mount_label.map(|l| ("context", l));
            sys::fresh_mount("tmpfs", context.as_slice(), attr)
                .context("creating a read-only tmpfs")
                .with_context(what)?
        }
        _ => {
            let null = dev_null(root).with_context(what)?;
            sys::open_tree(null.as_fd(), libc::OPEN_TREE_CLONE)
                .context("open_tree of /dev/null")
                .with_context(what)?
        }
    };
    sys::move_mount(mnt.as_fd(), target.as_fd())
        .context("move_mount")
        .with_context(what)
}

/// The container's /dev/null, checked to really be the null device (char 1:3), not a
/// symlink or a file planted there.
fn dev_null(root: BorrowedFd) -> Result<OwnedFd> {
    let fd = open_in_root(
        root,
        Path::new("/dev/null"),
        OFlag::O_PATH | OFlag::O_NOFOLLOW,
    )
    .context("opening /dev/null")?;
    let st = fstat(&fd).context("fstat of /dev/null")?;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR
        || major(st.st_rdev) != 1
        || minor(st.st_rdev) != 3
    {
        bail!("/dev/null is not the null device (mode {:o})", st.st_mode);
    }
    Ok(fd)
}

/// root.readonly: "/" read-only, keeping its other flags (non-recursive, as runc).
pub fn root_readonly(root: BorrowedFd) -> Result<()> {
    sys::mount_setattr(root, false, libc::MOUNT_ATTR_RDONLY, 0, 0)
        .context("root.readonly: making / read-only")
}
