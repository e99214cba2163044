//! `berth list`: the containers under --root, as a table, JSON, or ids only.

use crate::cli::Global;
use crate::state;
use anyhow::{Context, Result};

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Format {
    Table,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output format
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: Format,
    /// Print only the container ids
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let mut states = Vec::new();
    let entries = match std::fs::read_dir(&g.root) {
        Ok(e) => e
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("reading {}", g.root.display()))?,
        // No container made yet; a --root given by name must exist (runc 1.2+).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !g.root_given => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", g.root.display())),
    };
    for entry in entries {
        let dir = entry.path();
        let id = entry.file_name().to_string_lossy().into_owned();
        if !dir.is_dir() || crate::config::validate_id(&id).is_err() {
            continue;
        }
        // A directory without state is a create in progress; runc lists only finished ones.
        let st = match state::read(&g.root, &id) {
            Ok(Some(st)) => st,
            Ok(None) => continue,
            // A corrupt state hides only its own container, with runc's plain warning.
            Err(e) => {
                eprintln!(
                    "load container {id}: {}",
                    crate::logging::one_line(&format!("{e:#}"))
                );
                continue;
            }
        };
        let status = state::status(&dir, &st);
        states.push((st, status, state::owner_name(&dir)));
    }
    states.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    let rows: Vec<_> = states
        .iter()
        .map(|(st, status, owner)| state::oci_state(st, *status, owner))
        .collect();
    if a.quiet {
        for r in &rows {
            println!("{}", r.id);
        }
        return Ok(0);
    }
    match a.format {
        // Go encodes runc's empty (nil) list as null.
        Format::Json if rows.is_empty() => println!("null"),
        Format::Json => println!("{}", serde_json::to_string(&rows)?),
        Format::Table => print_table(&rows),
    }
    Ok(0)
}

fn print_table(rows: &[state::OciState]) {
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| serde_json::to_value(r).unwrap_or_default())
        .collect();
    let head = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            ["id", "pid", "status", "bundle", "created", "owner"]
                .iter()
                .map(|k| match &r[*k] {
                    serde_json::Value::String(s) => s.clone(),
                    v => v.to_string(),
                })
                .collect()
        })
        .collect();
    // Columns padded like Go's tabwriter (minwidth 12, padding 1), as runc prints them.
    let widths: Vec<usize> = (0..head.len())
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].len())
                .chain([head[i].len()])
                .max()
                .unwrap_or(0)
                .max(11)
                + 1
        })
        .collect();
    let line = |cols: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cols.iter().enumerate() {
            if i + 1 == cols.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}", w = widths[i]));
            }
        }
        println!("{s}");
    };
    line(head.to_vec());
    for c in &cells {
        line(c.iter().map(String::as_str).collect());
    }
}
