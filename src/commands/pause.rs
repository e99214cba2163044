//! `berth pause`: freeze every process of a running container (v1 freezer or cgroup.freeze).

use crate::cli::Global;
use anyhow::Result;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Container id
    pub id: String,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    crate::container::pause(&g.root, &a.id)?;
    Ok(0)
}
