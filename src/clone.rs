//! The one process creation berth does on the container's behalf: clone3 straight into the
//! new namespaces (and, on cgroup v2, straight into the container's cgroup), falling back to
//! clone(2) on kernels without clone3 or CLONE_INTO_CGROUP.
//!
//! Both are called without a new stack, so they behave like fork(2): the child continues on
//! a copy of the parent's stack. The parent is single-threaded, so the child may allocate;
//! it must not rely on glibc's cached thread id (no pthread calls, no raise(3)), which the
//! raw syscall does not update.

use anyhow::{bail, Result};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

pub enum Forked {
    /// In the child.
    Child,
    /// In the parent: the child's pid, a pidfd for it, and whether it was cloned into the
    /// requested cgroup (if not, the caller must move it there).
    Parent {
        pid: i32,
        pidfd: OwnedFd,
        in_cgroup: bool,
    },
}

/// Clones a child with `flags` (namespace flags; CLONE_PIDFD and SIGCHLD are added).
pub fn clone(flags: u64, cgroup: Option<RawFd>) -> Result<Forked> {
    let mut pidfd: RawFd = -1;
    let mut args = CloneArgs {
        flags: flags | libc::CLONE_PIDFD as u64,
        pidfd: &mut pidfd as *mut RawFd as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..Default::default()
    };
    if let Some(fd) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd as u64;
    }
    // SAFETY: clone3 with a zero stack duplicates the calling (single-threaded) process like
    // fork; `args` and `pidfd` outlive the call.
    let mut ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    let mut in_cgroup = cgroup.is_some();
    if ret < 0 {
        let errno = nix::errno::Errno::last();
        // Old kernels: no clone3 (ENOSYS), or no CLONE_INTO_CGROUP (E2BIG/EINVAL on the larger struct).
        if !matches!(
            errno,
            nix::errno::Errno::ENOSYS | nix::errno::Errno::E2BIG | nix::errno::Errno::EINVAL
        ) || flags & libc::CLONE_NEWTIME as u64 != 0
        {
            bail!("clone3: {errno}");
        }
        in_cgroup = false;
        // SAFETY: raw clone(2) with a zero stack behaves like fork; on x86_64 and aarch64 the
        // pidfd for CLONE_PIDFD is stored through the third argument (parent_tid).
        ret = unsafe {
            libc::syscall(
                libc::SYS_clone,
                flags | libc::CLONE_PIDFD as u64 | libc::SIGCHLD as u64,
                0usize,
                &mut pidfd as *mut RawFd,
                0usize,
                0usize,
            )
        };
        if ret < 0 {
            bail!("clone: {}", nix::errno::Errno::last());
        }
    }
    if ret == 0 {
        return Ok(Forked::Child);
    }
    // SAFETY: the kernel returned a fresh pidfd that nothing else owns.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    Ok(Forked::Parent {
        pid: ret as i32,
        pidfd,
        in_cgroup,
    })
}
