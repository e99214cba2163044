//! `berth features`: print what berth supports, in the features.json shape of the spec.

use crate::cli::Global;
use anyhow::Result;

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_g: &Global, _a: Args) -> Result<i32> {
    // runc prints four-space indentation.
    println!(
        "{}",
        crate::json::to_string_indented(&crate::features::features(), b"    ")
    );
    Ok(0)
}
