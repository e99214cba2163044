//! `berth state`: print a container's OCI state as JSON.

use crate::cli::Global;
use crate::state;
use anyhow::{anyhow, Result};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Container id
    pub id: String,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let st = state::read(&g.root, &a.id)?
        .ok_or_else(|| anyhow!("container {:?} is still being created", a.id))?;
    let status = state::status(&state::container_dir(&g.root, &a.id), &st);
    // runc's `state` leaves owner empty; `list` fills it in.
    let json = state::oci_state(&st, status, "");
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(0)
}
