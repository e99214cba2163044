//! `berth delete`: remove a stopped container (or, with --force, any container).

use crate::cli::Global;
use anyhow::Result;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Kill the container first if it is not stopped
    #[arg(short, long)]
    pub force: bool,
    /// Container id
    pub id: String,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    crate::container::delete(&g.root, &a.id, a.force)?;
    Ok(0)
}
