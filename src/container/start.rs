//! `start`: lets a created container's init exec its process, through the exec fifo.

use anyhow::{anyhow, bail, Context, Result};
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use super::delete::kill_and_wait;
use super::init_pidfd;
use crate::state::{self, Status};
use crate::{hooks, logging};

/// Lets a created container's init exec its process: opens the exec fifo for reading, which
/// unblocks init, waiting on a pidfd together so that an init that died is an error, not a hang.
pub fn start(root: &Path, id: &str) -> Result<Option<Started>> {
    let lock = state::open(root, id)?;
    let st = lock.load_existing()?;
    let status = state::status(&lock.dir, &st);
    // runc's words, per state.
    match status {
        Status::Created => {}
        Status::Stopped => bail!("cannot start a container that has stopped"),
        Status::Running => {
            // A `start` killed between init's exec and the fifo's removal left it behind.
            let _ = std::fs::remove_file(lock.fifo_path());
            bail!("cannot start an already running container")
        }
        Status::Paused => bail!("cannot start a container in the paused state"),
    }
    let pidfd = init_pidfd(&st)?.ok_or_else(|| anyhow!("container {id:?}: init has exited"))?;
    // Bound before init runs, so that no READY= is lost.
    let notify = crate::notify_socket::bind(&lock.dir)?;
    let fifo_path = lock.fifo_path();
    let fifo = open(
        &fifo_path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {}", fifo_path.display()))?;
    if let Err(e) = await_exec(&fifo, &pidfd) {
        // A failed startContainer hook: init is exiting. `start` returns once it is gone, so
        // that nothing sees the container `created` afterwards.
        if let Err(k) = kill_and_wait(&st) {
            logging::warn(&format!("stopping container {id:?}: {k:#}"));
        }
        return Err(e.context(format!("starting container {id:?}")));
    }
    std::fs::remove_file(&fifo_path)
        .with_context(|| format!("removing {}", fifo_path.display()))?;
    let state = hooks::HookState::of_state(&st, "running", st.pid);
    if let Err(e) = hooks::run(hooks::Kind::Poststart, st.hooks.as_ref(), &state) {
        // A failing poststart hook stops the container (spec); `delete` then runs poststop.
        if let Err(k) = kill_and_wait(&st) {
            logging::warn(&format!("stopping container {id:?}: {k:#}"));
        }
        return Err(e);
    }
    Ok(notify.map(|sock| Started {
        notify: sock,
        pidfd,
        pid: st.pid,
    }))
}

/// A started container whose caller asked for sd_notify (NOTIFY_SOCKET): its READY= is yet
/// to be passed on (`Started::forward_ready`, or `Started::forwarder` for a wait loop).
pub struct Started {
    notify: std::os::unix::net::UnixDatagram,
    pidfd: OwnedFd,
    pid: i32,
}

impl Started {
    /// Returns once READY= was passed on; an error if init exits first.
    pub fn forward_ready(self) -> Result<()> {
        let Some(host) = crate::notify_socket::host_socket() else {
            return Ok(());
        };
        let f = crate::notify_socket::Forwarder::new(self.notify, self.pid, host);
        crate::notify_socket::forward_ready(f, self.pidfd.as_fd())
    }

    /// The forwarding as steps of a wait loop (`reaper::wait_or_relay`).
    pub fn forwarder(self) -> Option<crate::notify_socket::Forwarder> {
        let host = crate::notify_socket::host_socket()?;
        Some(crate::notify_socket::Forwarder::new(
            self.notify,
            self.pid,
            host,
        ))
    }
}

/// Waits until init has written its outcome to the exec fifo and closed its end, which it
/// does by executing the user's program (the fd is close-on-exec) or by exiting. The outcome
/// is "0", or the error of the startContainer hooks. A pidfd is polled too, so that an init
/// that died is an error, not a hang.
fn await_exec(fifo: &OwnedFd, pidfd: &OwnedFd) -> Result<()> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut got = Vec::new();
    loop {
        let mut fds = [
            PollFd::new(fifo.as_fd(), PollFlags::POLLIN),
            PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).context("waiting for init to take the exec fifo"),
            Ok(_) => {}
        }
        let hup = fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLHUP));
        let init_dead = fds[1].revents().is_some_and(|r| !r.is_empty());
        // Reads return 0 also before init opened its end; then poll reports no POLLHUP.
        let mut eof = false;
        let mut buf = [0u8; 4096];
        loop {
            match nix::unistd::read(fifo, &mut buf) {
                Ok(0) => eof = true,
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    continue;
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(nix::errno::Errno::EAGAIN) => {}
                Err(e) => return Err(e).context("reading the exec fifo"),
            }
            break;
        }
        if (eof && (hup || !got.is_empty())) || (init_dead && got.is_empty()) {
            break;
        }
    }
    match got.as_slice() {
        b"0" => Ok(()),
        [] => bail!("init exited before start"),
        err => bail!("{}", String::from_utf8_lossy(err)),
    }
}
