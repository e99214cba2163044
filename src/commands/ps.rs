//! `berth ps`: the processes of a container. `-f json` prints their pids as a JSON array;
//! the table is ps(1)'s output (arguments after the id go to ps, default -ef) filtered to
//! the lines of the container's pids, as runc does.

use crate::cli::Global;
use anyhow::{anyhow, bail, Context, Result};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output format
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: Format,
    /// The container id, then arguments for ps(1) (default: -ef). As in runc, everything
    /// after the id goes to ps, `-f` included.
    #[arg(
        value_name = "ID [PS ARGS]",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub words: Vec<String>,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let (id, ps_args) = a.words.split_first().expect("clap requires the id");
    let pids = crate::container::pids(&g.root, id)?;
    if a.format == Format::Json {
        // runc marshals an empty Go slice as null (a stopped container's list).
        let json = if pids.is_empty() {
            "null".to_string()
        } else {
            serde_json::to_string(&pids)?
        };
        println!("{json}");
        return Ok(0);
    }
    let args = if ps_args.is_empty() {
        vec!["-ef".to_string()]
    } else {
        ps_args.to_vec()
    };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .with_context(|| format!("running ps {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "ps {}: {}: {}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    print!("{}", filter(&String::from_utf8_lossy(&out.stdout), &pids)?);
    Ok(0)
}

/// The header of ps's output and the lines whose PID column is one of `pids`.
fn filter(ps_output: &str, pids: &[i32]) -> Result<String> {
    let mut lines = ps_output.lines();
    let header = lines.next().unwrap_or_default();
    let col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| anyhow!("couldn't find PID field in ps output ({header:?})"))?;
    let mut out = format!("{header}\n");
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let field = line.split_whitespace().nth(col).unwrap_or_default();
        let pid: i32 = field
            .parse()
            .map_err(|_| anyhow!("ps: {field:?} in the PID column is not a pid ({line:?})"))?;
        if pids.contains(&pid) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_header_and_the_containers_lines() {
        let ps = "UID          PID    PPID  C STIME TTY          TIME CMD\n\
                  root           1       0  0 10:00 ?        00:00:01 init\n\
                  root         420       1  0 10:01 ?        00:00:00 sleep 60\n\
                  root         421     420  0 10:01 ?        00:00:00 sh\n";
        let out = filter(ps, &[420]).unwrap();
        assert_eq!(
            out,
            "UID          PID    PPID  C STIME TTY          TIME CMD\n\
             root         420       1  0 10:01 ?        00:00:00 sleep 60\n"
        );
    }

    #[test]
    fn pid_column_found_anywhere_or_refused() {
        assert_eq!(
            filter("CMD PID\nx 5\ny 6\n", &[6]).unwrap(),
            "CMD PID\ny 6\n"
        );
        assert!(filter("USER COMMAND\nroot x\n", &[1])
            .unwrap_err()
            .to_string()
            .contains("couldn't find PID field in ps output"));
        assert!(filter("PID\nabc\n", &[1]).is_err());
    }
}
