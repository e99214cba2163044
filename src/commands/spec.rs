//! `berth spec`: write a config.json template to the bundle, as `runc spec` does.

use crate::cli::Global;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Bundle directory to write config.json into
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// A config for a container run by an unprivileged user
    #[arg(long)]
    pub rootless: bool,
}

pub fn run(_g: &Global, a: Args) -> Result<i32> {
    let path = a.bundle.join("config.json");
    if path.exists() {
        bail!("{}: file already exists; remove it first", path.display());
    }
    let spec = if a.rootless {
        oci_spec::runtime::Spec::rootless(
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        )
    } else {
        oci_spec::runtime::Spec::default()
    };
    let text = serde_json::to_string_pretty(&spec).context("encoding the spec")?;
    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    Ok(0)
}
