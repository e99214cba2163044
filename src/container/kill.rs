//! `kill`: a signal to a container's init, or to every process in its cgroup.

use anyhow::{bail, Context, Result};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use super::init_pidfd;
use crate::state::{self, State, Status};
use crate::{logging, rootless};

/// Sends signal number `sig` (0-64) to the container's init; with `all` to every process in
/// its cgroup (runc 1.1's --all, which managers of a container without its own pid namespace
/// rely on), and so too SIGKILL for a container without its own pid namespace (runc 1.2+),
/// whose processes can outlive init. A stopped container is "container not running" (the
/// words containerd matches), except with `all`, where it is nothing to do.
pub fn kill(root: &Path, id: &str, sig: i32, all: bool) -> Result<()> {
    let lock = state::open(root, id)?;
    let st = lock.load_existing()?;
    let status = state::status(&lock.dir, &st);
    let pidfd = if status == Status::Stopped {
        None
    } else {
        init_pidfd(&st)?
    };
    let cgroup_wide = all || (sig == libc::SIGKILL && shares_pid_ns(&st, pidfd.is_some()));
    match (&st.cgroup, cgroup_wide) {
        (Some(cg), true) if all || pidfd.is_some() || !cg.pids()?.is_empty() => {
            return cg.signal_all(sig).with_context(|| format!("signalling container {id:?}"));
        }
        (None, true) if all && pidfd.is_none() => return Ok(()),
        // An unprivileged berth without a delegated cgroup cannot find every process; as
        // runc, it signals init (which takes its whole pid namespace along with SIGKILL).
        (None, true) if all && rootless::active() => logging::warn(
            &format!("kill --all: container {id:?} has no cgroup (not delegated to the user): signalling its init only"),
        ),
        (None, true) if all => bail!("kill --all: container {id:?} has no cgroup"),
        // The rest, SIGKILL without a cgroup among them, goes to init (if it still runs).
        _ => {}
    }
    let Some(pidfd) = pidfd else {
        bail!("cannot signal container {id:?}: container not running");
    };
    let name = crate::signals::name(sig);
    pidfd_send_signal(&pidfd, sig)
        .with_context(|| format!("sending {name} to container {id:?}"))?;
    if sig == libc::SIGKILL && status == Status::Paused {
        // A v1-frozen process does not die until thawed (runc thaws here too).
        if let Some(cg) = &st.cgroup {
            cg.thaw()?;
        }
    }
    Ok(())
}

/// Whether the container has no pid namespace of its own (runc's !IsPrivate(NEWPID)): init
/// sees berth's. Once init is gone, processes left in the cgroup can only be such a
/// container's: in its own namespace they die with init.
fn shares_pid_ns(st: &State, init_alive: bool) -> bool {
    use std::os::unix::fs::MetadataExt;
    if init_alive {
        let ns = |p: &str| std::fs::metadata(p).map(|m| (m.dev(), m.ino())).ok();
        let theirs = ns(&format!("/proc/{}/ns/pid", st.pid));
        return theirs.is_some() && theirs == ns("/proc/self/ns/pid");
    }
    st.cgroup
        .as_ref()
        .is_some_and(|cg| cg.pids().is_ok_and(|p| !p.is_empty()))
}

pub(super) fn pidfd_send_signal(pidfd: &OwnedFd, sig: i32) -> Result<()> {
    // SAFETY: plain syscall on a pidfd we own; a null siginfo means "as kill(2)".
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if r < 0 {
        return Err(nix::errno::Errno::last().into());
    }
    Ok(())
}
