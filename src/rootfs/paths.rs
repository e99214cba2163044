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

/// Masks every path of linux.maskedPaths, each once, as runc 1.5 does: a path already masked
/// (listed twice, or spelled another way) is recognised by what is there, and left as it is.
pub fn mask_all(
    root: BorrowedFd,
    paths: Option<&[String]>,
    mount_label: Option<&str>,
) -> Result<()> {
    let mut empty: Option<(OwnedFd, u64)> = None;
    let mut attached = false;
    for p in paths.unwrap_or_default() {
        mask(root, Path::new(p), mount_label, &mut empty, &mut attached)?;
    }
    Ok(())
}

/// The one empty, read-only tmpfs every masked directory gets a view of (as in runc 1.5),
/// labelled with linux.mountLabel, and its device number.
fn empty_tmpfs(mount_label: Option<&str>) -> Result<(OwnedFd, u64)> {
    let mut options = vec![
        ("source", "tmpfs"),
        ("ro", ""),
        ("size", "4k"),
        ("nr_inodes", "1"),
    ];
    if let Some(l) = mount_label {
        options.push(("context", l));
    }
    // Read-only, and no more flags than runc's: it is empty and holds one inode anyway.
    let fd = sys::fresh_mount("tmpfs", &options, libc::MOUNT_ATTR_RDONLY)
        .context("creating a read-only tmpfs")?;
    let dev = fstat(&fd).context("fstat of the masking tmpfs")?.st_dev;
    Ok((fd, dev))
}

/// Masks `path`: the empty read-only tmpfs over a directory, /dev/null over anything else.
fn mask(
    root: BorrowedFd,
    path: &Path,
    mount_label: Option<&str>,
    empty: &mut Option<(OwnedFd, u64)>,
    attached: &mut bool,
) -> Result<()> {
    let what = || format!("linux.maskedPaths: {}", path.display());
    let Some(target) = open_target(root, path, OFlag::O_NOFOLLOW).with_context(what)? else {
        return Ok(());
    };
    let st = fstat(&target).with_context(what)?;
    let mnt = match st.st_mode & libc::S_IFMT {
        libc::S_IFLNK => bail!("{}: is a symlink, refusing to mask it", what()),
        libc::S_IFDIR => {
            if empty.is_none() {
                *empty = Some(empty_tmpfs(mount_label).with_context(what)?);
            }
            let (tmpfs, dev) = empty.as_ref().context("the masking tmpfs")?;
            if st.st_dev == *dev {
                return Ok(()); // masked already
            }
            if !*attached {
                // The first directory gets the new mount itself: kernels before 6.15 refuse
                // to clone a mount that is not attached yet (EINVAL); later ones clone it.
                *attached = true;
                return sys::move_mount(tmpfs.as_fd(), target.as_fd())
                    .context("move_mount")
                    .with_context(what);
            }
            sys::open_tree(tmpfs.as_fd(), libc::OPEN_TREE_CLONE)
                .context("open_tree of the masking tmpfs")
                .with_context(what)?
        }
        _ => {
            if st.st_mode & libc::S_IFMT == libc::S_IFCHR
                && major(st.st_rdev) == 1
                && minor(st.st_rdev) == 3
            {
                return Ok(()); // the null device already: masked, or nothing to hide
            }
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

/// A tmpfs or /dev mount of `mounts` that asked for `ro`: made read-only now, after it was
/// filled (see `mounts::delays_readonly`), keeping its other flags.
pub fn remount_readonly(root: BorrowedFd, dest: &Path) -> Result<()> {
    let what = || format!("mounts: making {} read-only", dest.display());
    let fd = open_in_root(root, dest, OFlag::O_PATH)
        .context("opening it")
        .with_context(what)?;
    sys::mount_setattr(fd.as_fd(), false, libc::MOUNT_ATTR_RDONLY, 0, 0)
        .context("mount_setattr")
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
