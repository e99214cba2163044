//! `berth restore`: make a container whose init is restored from a checkpoint (runc's
//! flags), then (unless --detach) wait for it as `run` does: forward signals, exit with its
//! status and delete it.

use crate::cli::Global;
use crate::{container, reaper, state};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub criu: super::checkpoint::CriuArgs,
    /// Path to the bundle directory (default: the current directory)
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Return once the container runs, leaving it running
    #[arg(short, long)]
    pub detach: bool,
    /// Write the restored init's pid to this file
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Unix socket to send the pty master to (not supported by restore yet)
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Do not use pivot_root (not supported: CRIU always restores the root with pivot_root)
    #[arg(long)]
    pub no_pivot: bool,
    /// Do not make berth a child subreaper
    #[arg(long)]
    pub no_subreaper: bool,
    /// Container id
    pub id: String,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    if let Some(s) = &a.console_socket {
        bail!(
            "--console-socket {}: terminals are not supported by restore yet",
            s.display()
        );
    }
    if a.no_pivot {
        bail!("--no-pivot: not supported by restore: CRIU always enters the restored root with pivot_root");
    }
    let common = a.criu.common()?;
    let pid_file = a.pid_file.as_deref();
    if a.detach {
        container::restore(&g.root, &a.id, &a.bundle, &common, pid_file)?;
        return Ok(0);
    }
    if !a.no_subreaper {
        nix::sys::prctl::set_child_subreaper(true).context("becoming a child subreaper")?;
    }
    let sfd = reaper::take_signals()?;
    let restored = container::restore(&g.root, &a.id, &a.bundle, &common, pid_file)?;
    let code = reaper::wait(&sfd, restored.pid, &restored.pidfd, restored.is_child)?;
    let lock = state::open(&g.root, &a.id)?;
    if let Some(st) = lock.load()? {
        container::destroy(lock, &st)?;
    }
    Ok(code)
}
