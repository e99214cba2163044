//! `berth resume`: thaw a paused container.

use crate::cli::Global;
use anyhow::Result;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Container id
    pub id: String,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    crate::container::resume(&g.root, &a.id)?;
    Ok(0)
}
