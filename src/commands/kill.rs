//! `berth kill`: send a signal to a container's init, or with --all to all its processes.

use crate::cli::Global;
use anyhow::Result;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Signal every process in the container's cgroup
    #[arg(short, long)]
    pub all: bool,
    /// Container id
    pub id: String,
    /// Signal name (TERM, SIGTERM) or number (0-64)
    #[arg(default_value = "SIGTERM", allow_negative_numbers = true)]
    pub signal: String,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    // An empty signal is the default, as runc takes it.
    let sig = match a.signal.as_str() {
        "" => libc::SIGTERM,
        s => crate::signals::parse(s)?,
    };
    crate::container::kill(&g.root, &a.id, sig, a.all)?;
    Ok(0)
}
