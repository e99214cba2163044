//! `delete`: a stopped container (or, forced, any) and everything berth made for it.

use anyhow::{bail, Context, Result};
use std::os::fd::AsFd;
use std::path::Path;

use super::kill::pidfd_send_signal;
use super::{init_pidfd, pidfd_open};
use crate::state::{self, Locked, State, Status};
use crate::{config, hooks, logging};

/// Deletes a container as runc does: a stopped one; a created one (its init is killed: it
/// never ran the user's program); a running or paused one only with `force`. With `force`,
/// an id that does not exist is no error: managers delete after their own cleanup.
pub fn delete(root: &Path, id: &str, force: bool) -> Result<()> {
    let lock = match state::open(root, id) {
        Err(_)
            if force
                && config::validate_id(id).is_ok()
                && !state::container_dir(root, id).exists() =>
        {
            return Ok(())
        }
        r => r?,
    };
    let loaded = match lock.load() {
        Err(e) if force => {
            // Corrupt: still undo what can be told for sure, and remove the container.
            logging::warn(&format!("{e:#}; removing the container anyway"));
            let (init, cgroup) = state::salvage(&lock.dir);
            let cgroup = cgroup.or_else(|| lock.recorded_cgroup());
            if let Some(cg) = &cgroup {
                let _ = cg.kill_all(nix::sys::signal::Signal::SIGKILL);
            }
            if let Some((pid, start)) = init {
                if let Ok(fd) = pidfd_open(pid) {
                    if state::init_alive(pid, start) {
                        let _ = pidfd_send_signal(&fd, libc::SIGKILL);
                        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
                        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
                        let _ = poll(&mut fds, PollTimeout::from(10_000u16));
                    }
                }
            }
            if let Some(cg) = &cgroup {
                if let Err(e) = cg.destroy() {
                    logging::warn(&format!("removing the cgroup: {e:#}"));
                }
            }
            return lock.remove();
        }
        r => r?,
    };
    let Some(st) = loaded else {
        // A create that died before writing its state (we hold the lock, so it is gone: its
        // init, which waits for the state to be saved, has exited or is exiting), or a
        // delete that ran while we waited for the lock and removed everything.
        if let Some(cg) = lock.recorded_cgroup() {
            let _ = cg.kill_all(nix::sys::signal::Signal::SIGKILL);
            if let Err(e) = cg.destroy() {
                logging::warn(&format!(
                    "removing the cgroup of an unfinished create: {e:#}"
                ));
            }
        }
        if lock.dir.exists() {
            lock.remove()?;
        }
        if force {
            return Ok(());
        }
        bail!("container {id:?} does not exist");
    };
    let status = state::status(&lock.dir, &st);
    match status {
        Status::Stopped => {}
        Status::Created => kill_and_wait(&st)?,
        _ if force => kill_and_wait(&st)?,
        _ => bail!(
            "cannot delete container {id} that is not stopped: {}",
            status.as_str()
        ),
    }
    destroy(lock, &st)
}

/// Removes what a stopped container still holds: its cgroup and its state directory; then
/// runs the poststop hooks.
pub fn destroy(lock: Locked, st: &State) -> Result<()> {
    if let Some(cg) = &st.cgroup {
        // Processes of a container without its own pid namespace may outlive init.
        let _ = cg.kill_all(nix::sys::signal::Signal::SIGKILL);
        cg.destroy()?;
    }
    if let Some(group) = &st.intel_rdt {
        group.remove(&st.id)?;
    }
    lock.remove()?;
    hooks::run_poststop(
        st.hooks.as_ref(),
        &hooks::HookState::of_state(st, "stopped", 0),
    );
    Ok(())
}

pub(super) fn kill_and_wait(st: &State) -> Result<()> {
    if let Some(cg) = &st.cgroup {
        let _ = cg.kill_all(nix::sys::signal::Signal::SIGKILL);
    }
    if let Some(pidfd) = init_pidfd(st)? {
        let _ = pidfd_send_signal(&pidfd, libc::SIGKILL);
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::from(10_000u16)).context("waiting for init to die")?;
    }
    Ok(())
}
