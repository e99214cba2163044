//! Thin wrappers over the mount syscalls that neither nix nor libc wrap: the new mount API
//! (open_tree, move_mount, fsopen/fsconfig/fsmount, mount_setattr), plus the fd-path helpers
//! used to mount onto an already resolved file descriptor.

use nix::errno::Errno;
use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// The empty path that the *_EMPTY_PATH flags pair with, to act on the fd itself.
const EMPTY: &std::ffi::CStr = c"";

/// The path through which mount(2) reaches what `fd` refers to, without resolving any path
/// inside the container again (CVE-2021-30465: a swapped symlink cannot redirect it).
pub fn fd_path(fd: BorrowedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

fn owned(ret: libc::c_long) -> nix::Result<OwnedFd> {
    let fd = Errno::result(ret)? as RawFd;
    // SAFETY: the syscall returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// open_tree(2) on the fd itself: with OPEN_TREE_CLONE, a detached copy of its mount.
pub fn open_tree(fd: BorrowedFd, flags: libc::c_uint) -> nix::Result<OwnedFd> {
    let flags = flags | libc::OPEN_TREE_CLOEXEC | libc::AT_EMPTY_PATH as libc::c_uint;
    // SAFETY: valid fd and NUL-terminated path; the kernel copies both.
    owned(unsafe { libc::syscall(libc::SYS_open_tree, fd.as_raw_fd(), EMPTY.as_ptr(), flags) })
}

/// Attaches the mount `from` (a detached tree or mount fd) on top of what `to` refers to.
pub fn move_mount(from: BorrowedFd, to: BorrowedFd) -> nix::Result<()> {
    let flags = libc::MOVE_MOUNT_F_EMPTY_PATH | libc::MOVE_MOUNT_T_EMPTY_PATH;
    // SAFETY: valid fds and NUL-terminated paths; the kernel copies them.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            EMPTY.as_ptr(),
            to.as_raw_fd(),
            EMPTY.as_ptr(),
            flags,
        )
    };
    Errno::result(ret).map(drop)
}

/// mount_setattr(2) on the mount `fd` refers to (and, with `recursive`, all below it).
pub fn mount_setattr(
    fd: BorrowedFd,
    recursive: bool,
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
) -> nix::Result<()> {
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    let attr = libc::mount_attr {
        attr_set,
        attr_clr,
        propagation,
        userns_fd: 0,
    };
    // SAFETY: valid fd, NUL-terminated path and a properly sized mount_attr the kernel reads.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            EMPTY.as_ptr(),
            flags,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    Errno::result(ret).map(drop)
}

/// mount_setattr(MOUNT_ATTR_IDMAP) on the detached mount `fd` (and, with `recursive`, all
/// below it): ids are mapped through the user namespace `userns`.
pub fn set_idmap(fd: BorrowedFd, recursive: bool, userns: BorrowedFd) -> nix::Result<()> {
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    let attr = libc::mount_attr {
        attr_set: libc::MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    // SAFETY: valid fds, NUL-terminated path and a properly sized mount_attr the kernel reads.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            EMPTY.as_ptr(),
            flags,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    Errno::result(ret).map(drop)
}

/// A new, detached mount of filesystem `fstype` with the given string options (key, value),
/// with the given MOUNT_ATTR_*.
pub fn fresh_mount(fstype: &str, options: &[(&str, &str)], attr: u64) -> nix::Result<OwnedFd> {
    let name = CString::new(fstype).map_err(|_| Errno::EINVAL)?;
    // SAFETY: NUL-terminated name; returns a new fs context fd.
    let fs =
        owned(unsafe { libc::syscall(libc::SYS_fsopen, name.as_ptr(), libc::FSOPEN_CLOEXEC) })?;
    for (key, value) in options {
        let key = CString::new(*key).map_err(|_| Errno::EINVAL)?;
        let value = CString::new(*value).map_err(|_| Errno::EINVAL)?;
        // SAFETY: NUL-terminated key and value; the kernel copies both.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fs.as_raw_fd(),
                libc::FSCONFIG_SET_STRING,
                key.as_ptr(),
                value.as_ptr(),
                0,
            )
        };
        Errno::result(ret)?;
    }
    // SAFETY: FSCONFIG_CMD_CREATE takes no key or value.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            libc::FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    Errno::result(ret)?;
    // SAFETY: a configured fs context fd; returns a new mount fd.
    owned(unsafe {
        libc::syscall(
            libc::SYS_fsmount,
            fs.as_raw_fd(),
            libc::FSMOUNT_CLOEXEC,
            attr as libc::c_uint,
        )
    })
}

/// ST_NOSYMFOLLOW from <sys/statvfs.h>, missing from libc.
const ST_NOSYMFOLLOW: libc::c_ulong = 0x2000;

/// The per-mount flags of the mount `fd` is on, as MS_* bits (statvfs reports them as ST_*).
pub fn mount_flags(fd: BorrowedFd) -> nix::Result<libc::c_ulong> {
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: valid fd and a buffer of the right size for the kernel to fill.
    Errno::result(unsafe { libc::fstatvfs(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: fstatvfs succeeded, so the buffer is initialized.
    let st_flags = unsafe { st.assume_init() }.f_flag;
    let map: [(libc::c_ulong, libc::c_ulong); 9] = [
        (libc::ST_RDONLY, libc::MS_RDONLY),
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_SYNCHRONOUS, libc::MS_SYNCHRONOUS),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
        (ST_NOSYMFOLLOW, libc::MS_NOSYMFOLLOW),
    ];
    Ok(map
        .iter()
        .filter(|(st, _)| st_flags & st != 0)
        .fold(0, |acc, (_, ms)| acc | ms))
}
