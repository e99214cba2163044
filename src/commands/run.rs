//! `berth run`: create and start a container, then (unless --detach) wait for it, forwarding
//! signals, exit with its status (128+N when killed by signal N) and delete it (unless --keep).

use crate::cli::Global;
use crate::{container, reaper, state};
use anyhow::{Context, Result};

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
        // With NOTIFY_SOCKET, `run -d` returns once the container said READY=, as runc's does.
        if let Some(started) = start_or_clean(g, &a.create.id)? {
            started.forward_ready()?;
        }
        return Ok(0);
    }
    if !a.no_subreaper {
        // Orphans of the container (and init itself, on the join path) come back to berth.
        nix::sys::prctl::set_child_subreaper(true).context("becoming a child subreaper")?;
    }
    let sfd = reaper::take_signals()?;

    let created = container::create(&opts)?;
    // READY= is passed on in the wait below, beside the signals: a thread would make the
    // clone of the poststop hooks unsafe (see clone.rs).
    let mut notify = start_or_clean(g, &a.create.id)?.and_then(container::Started::forwarder);
    let code = reaper::wait_or_relay(
        &sfd,
        created.pid,
        &created.pidfd,
        created.is_child,
        created.pty_master.as_ref(),
        notify.as_mut(),
    )?;
    if !a.keep {
        let lock = state::open(&g.root, &a.create.id)?;
        if let Some(st) = lock.load()? {
            container::destroy(lock, &st)?;
        }
    }
    Ok(code)
}

fn start_or_clean(g: &Global, id: &str) -> Result<Option<container::Started>> {
    match container::start(&g.root, id) {
        Ok(s) => Ok(s),
        Err(e) => {
            let _ = container::delete(&g.root, id, true);
            Err(e)
        }
    }
}
