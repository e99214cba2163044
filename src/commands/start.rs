//! `berth start`: let a created container's init exec the user's process.

use crate::cli::Global;
use anyhow::Result;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Container id
    pub id: String,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    // With NOTIFY_SOCKET, `start` returns once the container said READY=, as runc's does.
    if let Some(started) = crate::container::start(&g.root, &a.id)? {
        started.forward_ready()?;
    }
    Ok(0)
}
