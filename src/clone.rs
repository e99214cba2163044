//! The one process creation berth does on the container's behalf: clone3 straight into the
//! new namespaces (and, on cgroup v2, straight into the container's cgroup), falling back to
//! clone(2) on kernels without clone3 or CLONE_INTO_CGROUP.
//!
//! Both are called without a new stack, so they behave like fork(2): the child continues on
//! a copy of the parent's stack. Neither runs atfork handlers, so a lock that another thread
//! held (the allocator's) would stay locked in the child: berth never has a second thread
//! (debug builds assert it at each clone), and so the child may allocate. A child cloned
//! where threads may exist (the unit tests' hooks) allocates nothing: see
//! [`forbid_allocation`]. The child must not rely on glibc's cached thread id (no pthread
//! calls, no raise(3)), which the raw syscall does not update.

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
    // The unit tests' harness is threaded; their children are checked by forbid_allocation.
    #[cfg(all(debug_assertions, not(test)))]
    assert!(
        threads().is_none_or(|n| n == 1),
        "clone with {:?} threads: berth must be single-threaded here",
        threads()
    );
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

/// The number of threads of this process, from /proc/self/status (None when it cannot be
/// read, as in a container without /proc). The raw clone runs no atfork handler, so a lock
/// held by another thread would stay locked in the child for ever.
#[cfg(any(debug_assertions, test))]
pub fn threads() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))?
        .trim()
        .parse()
        .ok()
}

/// Called first in a child that must not allocate (one that may have been cloned from a
/// threaded process, whose allocator lock another thread may hold). In the unit tests, an
/// allocation after it aborts the child, so a test of that child fails.
pub fn forbid_allocation() {
    #[cfg(test)]
    alloc_check::FORBIDDEN.store(true, std::sync::atomic::Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    #[test]
    fn threads_counts_this_process_s_threads() {
        // The harness's threads come and go; this one is alive beside the test's own.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || rx.recv());
        assert!(super::threads().unwrap() >= 2, "{:?}", super::threads());
        drop(tx);
        let _ = t.join();
        crate::process::test_child::run(|| {
            anyhow::ensure!(super::threads() == Some(1), "{:?}", super::threads());
            Ok(())
        });
    }
}

#[cfg(test)]
mod alloc_check {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Set only in a cloned child: its own copy of the flag.
    pub static FORBIDDEN: AtomicBool = AtomicBool::new(false);

    struct Checked;

    // SAFETY: forwards to the system allocator; aborting never returns a bad pointer.
    unsafe impl GlobalAlloc for Checked {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if FORBIDDEN.load(Ordering::Relaxed) {
                // SAFETY: abort takes no arguments and does not return.
                unsafe { libc::abort() }
            }
            // SAFETY: the caller's layout goes to the system allocator unchanged.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: `ptr` came from System.alloc with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static CHECKED: Checked = Checked;
}
