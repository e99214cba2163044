//! `tmpcopyup`: copying what a directory held into the tmpfs just mounted over it, so the
//! tmpfs starts with the image's content (as runc does). Works fd-relative on both sides and
//! never follows a symlink, since the source is the container's own content.

use anyhow::{Context, Result};
use nix::dir::Dir;
use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{fchmod, fchmodat, fstatat, mkdirat, mknodat, FchmodatFlags, Mode, SFlag};
use nix::unistd::{fchown, fchownat, symlinkat, Gid, Uid};
use std::ffi::OsStr;
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;

/// Copies every entry of directory `src` (a readable directory fd) into directory `dst`,
/// keeping types, modes and owners.
pub fn copy_dir(src: BorrowedFd, dst: BorrowedFd) -> Result<()> {
    let mut dir = Dir::openat(
        src,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("tmpcopyup: reading the covered directory")?;
    let names: Vec<Vec<u8>> = dir
        .iter()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_bytes().to_vec())
        .filter(|n| n != b"." && n != b"..")
        .collect();
    for name in names {
        let name = OsStr::from_bytes(&name);
        copy_entry(src, dst, name)
            .with_context(|| format!("tmpcopyup: copying {}", name.to_string_lossy()))?;
    }
    Ok(())
}

fn copy_entry(src: BorrowedFd, dst: BorrowedFd, name: &OsStr) -> Result<()> {
    let st = fstatat(src, name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
    let kind = SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT);
    let mode = Mode::from_bits_truncate(st.st_mode & 0o7777);
    let (uid, gid) = (
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
    );
    let nofollow = OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    match kind {
        SFlag::S_IFDIR => {
            mkdirat(dst, name, Mode::from_bits_truncate(0o700))?;
            let from = openat(
                src,
                name,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | nofollow,
                Mode::empty(),
            )?;
            let to = openat(
                dst,
                name,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | nofollow,
                Mode::empty(),
            )?;
            copy_dir(from.as_fd(), to.as_fd())?;
            fchown(&to, uid, gid)?;
            fchmod(&to, mode)?;
        }
        SFlag::S_IFREG => {
            let from = openat(src, name, OFlag::O_RDONLY | nofollow, Mode::empty())?;
            let to = openat(
                dst,
                name,
                OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | nofollow,
                Mode::from_bits_truncate(0o600),
            )?;
            let (mut from, mut to) = (File::from(from), File::from(to));
            std::io::copy(&mut from, &mut to)?;
            // chown first: it clears set-id bits that the chmod then restores.
            fchown(&to, uid, gid)?;
            fchmod(&to, mode)?;
        }
        SFlag::S_IFLNK => {
            let target = readlinkat(src, name)?;
            symlinkat(target.as_os_str(), dst, name)?;
            fchownat(dst, name, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW)?;
        }
        _ => {
            mknodat(dst, name, kind, mode, st.st_rdev)?;
            fchownat(dst, name, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW)?;
            // A node just made by us is not a symlink, so following is safe here.
            fchmodat(dst, name, mode, FchmodatFlags::FollowSymlink)?;
        }
    }
    Ok(())
}
