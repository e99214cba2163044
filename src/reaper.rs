//! Waiting in the foreground (`run`, `exec`): berth takes every signal through a signalfd,
//! forwards each to the container process, reaps the children that come back to it as a
//! subreaper, and returns the process's status as a shell would (128+N for signal N).

use anyhow::{Context, Result};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::os::fd::{AsFd, OwnedFd};

use crate::notify_socket::Forwarder;

/// Blocks every catchable signal and returns a signalfd for them. Call it before cloning
/// the process, so that no signal is lost; the child resets its mask before exec.
pub fn take_signals() -> Result<SignalFd> {
    let mut mask = SigSet::all();
    mask.remove(Signal::SIGKILL);
    mask.remove(Signal::SIGSTOP);
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)
        .context("blocking signals")?;
    SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC).context("creating a signalfd")
}

/// Forwards signals to `pid` until it exits, reaping any other child, and passes READY= on
/// with `notify`; returns its status.
/// The pidfd is polled too, so a process that is not berth's child (the join path with
/// --no-subreaper) ends the wait instead of hanging it.
pub fn wait(
    sfd: &SignalFd,
    pid: i32,
    pidfd: &OwnedFd,
    is_child: bool,
    mut notify: Option<&mut Forwarder>,
) -> Result<i32> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    loop {
        let mut fds = vec![
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
            PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
        ];
        fds.extend(notify.as_deref().and_then(Forwarder::poll_fd));
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).context("waiting for the container process"),
            Ok(_) => {}
        }
        let ready = |i: usize| fds.get(i).and_then(|f| f.revents());
        let (sig_ev, pid_ev, notify_ev) = (ready(0), ready(1), ready(2));
        drop(fds);
        if sig_ev.is_some_and(|r| r.contains(PollFlags::POLLIN)) {
            if let Some(info) = sfd.read_signal().context("reading the signalfd")? {
                let sig = info.ssi_signo as i32;
                if sig != libc::SIGCHLD {
                    forward(pid, sig);
                }
            }
        }
        if notify_ev.is_some_and(|r| !r.is_empty()) {
            notify_step(notify.as_deref_mut());
        }
        if let Some(code) = reap(pid, is_child, pid_ev.is_some_and(|r| !r.is_empty())) {
            return Ok(code);
        }
    }
}

/// One step of passing READY= on, beside a wait; its failure is a warning, as the container
/// runs on.
pub fn notify_step(notify: Option<&mut Forwarder>) {
    if let Some(Err(e)) = notify.map(Forwarder::step) {
        crate::logging::warn(&format!("NOTIFY_SOCKET: {e:#}"));
    }
}

/// Sends `sig` to the container process (best effort: it may have just exited). A number,
/// so that real-time signals (systemd stops on SIGRTMIN+3) go through too.
pub fn forward(pid: i32, sig: i32) {
    let _ = crate::signals::send(pid, sig);
}

/// How a process ended, from a raw wait status: `Exited(code)` or `Signaled(signal)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Signaled(i32),
}

/// waitpid(2), raw: nix's fails (after reaping!) on a death by a real-time signal. Returns
/// the pid reaped (0 with WNOHANG when none has exited) and how it ended (None: not an end,
/// such as a stop).
pub fn waitpid(pid: i32, flags: i32) -> nix::Result<(i32, Option<Ended>)> {
    let mut status = 0;
    // SAFETY: waitpid writes only the status int it is given.
    let p = nix::errno::Errno::result(unsafe { libc::waitpid(pid, &mut status, flags) })?;
    let ended = if p > 0 && libc::WIFEXITED(status) {
        Some(Ended::Exited(libc::WEXITSTATUS(status)))
    } else if p > 0 && libc::WIFSIGNALED(status) {
        Some(Ended::Signaled(libc::WTERMSIG(status)))
    } else {
        None
    };
    Ok((p, ended))
}

/// Reaps every exited child; returns the status of `pid` once it has exited. A process that
/// is not berth's child ends the wait with 255 once its pidfd is readable.
pub fn reap(pid: i32, is_child: bool, pidfd_ready: bool) -> Option<i32> {
    while let Ok((p, ended)) = waitpid(-1, libc::WNOHANG) {
        match ended {
            _ if p == 0 => break,
            Some(Ended::Exited(code)) if p == pid => return Some(code),
            Some(Ended::Signaled(sig)) if p == pid => return Some(128 + sig),
            _ => {}
        }
    }
    if pidfd_ready && !is_child {
        crate::logging::warn(
            "the container process's exit status is unknown: it is not berth's child",
        );
        return Some(255);
    }
    None
}

/// `wait`, or with a pty master kept by berth (a terminal and no console socket), the
/// terminal relay between berth's own stdio and the pty until the process exits.
pub fn wait_or_relay(
    sfd: &SignalFd,
    pid: i32,
    pidfd: &OwnedFd,
    is_child: bool,
    master: Option<&OwnedFd>,
    notify: Option<&mut Forwarder>,
) -> Result<i32> {
    let Some(master) = master else {
        return wait(sfd, pid, pidfd, is_child, notify);
    };
    let (stdin, stdout) = (std::io::stdin(), std::io::stdout());
    let relay = crate::terminal::Relay {
        master: master.as_fd(),
        input: stdin.as_fd(),
        output: stdout.as_fd(),
        signals: sfd,
        pidfd: pidfd.as_fd(),
    };
    crate::terminal::relay(
        &relay,
        notify,
        |s| forward(pid, s),
        |pidfd_ready| Ok(reap(pid, is_child, pidfd_ready)),
    )
}
