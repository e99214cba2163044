//! `berth run`: create and start a container, then (unless --detach) wait for it, forwarding
//! signals, exit with its status (128+N when killed by signal N) and delete it (unless --keep).

use crate::cli::Global;
use crate::{container, state, terminal};
use anyhow::{Context, Result};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::AsFd;

#[derive(clap::Args, Debug)]
#[group(id = "run")]
pub struct Args {
    #[command(flatten)]
    pub create: super::create::Args,
    /// Return once the container has started, leaving it running
    #[arg(short, long)]
    pub detach: bool,
    /// Keep the container's state after it exits
    #[arg(long)]
    pub keep: bool,
    /// Do not make berth a child subreaper
    #[arg(long)]
    pub no_subreaper: bool,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let opts = a.create.opts(g, a.detach)?;
    if a.detach {
        container::create(&opts)?;
        start_or_clean(g, &a.create.id)?;
        return Ok(0);
    }
    if !a.no_subreaper {
        // Orphans of the container (and init itself, on the join path) come back to berth.
        nix::sys::prctl::set_child_subreaper(true).context("becoming a child subreaper")?;
    }
    // Signals are taken through a signalfd so that each one can be forwarded to init; init
    // resets its own mask before exec.
    let mut mask = SigSet::all();
    mask.remove(Signal::SIGKILL);
    mask.remove(Signal::SIGSTOP);
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)
        .context("blocking signals")?;
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC).context("creating a signalfd")?;

    let created = container::create(&opts)?;
    start_or_clean(g, &a.create.id)?;
    let code = match &created.pty_master {
        Some(master) => {
            let (stdin, stdout) = (std::io::stdin(), std::io::stdout());
            let relay = terminal::Relay {
                master: master.as_fd(),
                input: stdin.as_fd(),
                output: stdout.as_fd(),
                signals: &sfd,
                pidfd: created.pidfd.as_fd(),
            };
            let pid = Pid::from_raw(created.pid);
            terminal::relay(
                &relay,
                |s| {
                    let _ = nix::sys::signal::kill(pid, s);
                },
                |pidfd_ready| Ok(reap(&created, pidfd_ready)),
            )?
        }
        None => wait(&sfd, &created)?,
    };
    if !a.keep {
        let lock = state::open(&g.root, &a.create.id)?;
        if let Some(st) = lock.load()? {
            container::destroy(lock, &st)?;
        }
    }
    Ok(code)
}

fn start_or_clean(g: &Global, id: &str) -> Result<()> {
    if let Err(e) = container::start(&g.root, id) {
        let _ = container::delete(&g.root, id, true);
        return Err(e);
    }
    Ok(())
}

/// Forwards signals to init until it exits, reaping any other child; returns init's status.
/// The pidfd is polled too, so an init that is not berth's child (the join path with
/// --no-subreaper) ends the wait instead of hanging it.
fn wait(sfd: &SignalFd, created: &container::Created) -> Result<i32> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let pid = created.pid;
    loop {
        let mut fds = [
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
            PollFd::new(created.pidfd.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).context("waiting for the container"),
            Ok(_) => {}
        }
        if fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLIN))
        {
            if let Some(info) = sfd.read_signal().context("reading the signalfd")? {
                let sig = info.ssi_signo as i32;
                if sig != libc::SIGCHLD {
                    if let Ok(s) = Signal::try_from(sig) {
                        let _ = nix::sys::signal::kill(Pid::from_raw(pid), s);
                    }
                }
            }
        }
        if let Some(code) = reap(created, fds[1].revents().is_some_and(|r| !r.is_empty())) {
            return Ok(code);
        }
    }
}

/// Reaps every exited child; init's exit status (128+N when killed by signal N) ends the
/// wait. An init that is not berth's child ends it with 255 once its pidfd is readable.
fn reap(created: &container::Created, pidfd_ready: bool) -> Option<i32> {
    let pid = created.pid;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, code)) if p.as_raw() == pid => return Some(code),
            Ok(WaitStatus::Signaled(p, s, _)) if p.as_raw() == pid => return Some(128 + s as i32),
            Ok(WaitStatus::StillAlive) | Err(_) => break,
            Ok(_) => continue,
        }
    }
    if pidfd_ready && !created.is_child {
        crate::logging::warn(
            "the container's exit status is unknown: its init is not berth's child",
        );
        return Some(255);
    }
    None
}
