//! `berth events`: a container's statistics and OOM kills as JSON lines, as runc prints
//! them: with --stats one stats event, else a stream (stats every --interval, OOM events as
//! they happen) until the container's cgroup ends (see container::events).

use crate::cli::Global;
use anyhow::{bail, Result};
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Time between two stats events (Go duration syntax: 5s, 500ms, 1m30s)
    #[arg(long, default_value = "5s", value_parser = parse_interval, allow_hyphen_values = true)]
    pub interval: Duration,
    /// Print the container's statistics once and exit
    #[arg(long)]
    pub stats: bool,
    /// Container id
    pub id: String,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let interval = (!a.stats).then_some(a.interval);
    crate::container::events(&g.root, &a.id, interval, &mut std::io::stdout().lock())?;
    Ok(0)
}

/// runc's words for a zero or negative interval.
fn parse_interval(s: &str) -> Result<Duration> {
    let negative = s.strip_prefix('-');
    let d = parse_go_duration(negative.unwrap_or(s))?;
    if d.is_zero() || negative.is_some() {
        bail!("duration interval must be greater than 0");
    }
    Ok(d)
}

/// A duration as Go's time.ParseDuration reads it (runc's flag type): a sequence of
/// decimal numbers, each with a unit (ns, us, µs, ms, s, m, h); "0" alone is zero.
fn parse_go_duration(s: &str) -> Result<Duration> {
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        bail!("empty duration");
    }
    let mut rest = s;
    let mut total = 0f64;
    while !rest.is_empty() {
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (n, after) = rest.split_at(n_end);
        let n: f64 = n
            .parse()
            .map_err(|_| anyhow::anyhow!("{s:?}: expected a number before each unit"))?;
        let u_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(u_end);
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => bail!("{s:?}: missing unit (ns, us, ms, s, m, h)"),
            u => bail!("{s:?}: unknown unit {u:?} (ns, us, ms, s, m, h)"),
        };
        total += n * scale;
        rest = next;
    }
    Duration::try_from_secs_f64(total).map_err(|e| anyhow::anyhow!("{s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(
            parse_go_duration("250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(parse_go_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(
            parse_go_duration("1.5h").unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(
            parse_go_duration("10us").unwrap(),
            Duration::from_micros(10)
        );
        assert_eq!(parse_go_duration("0").unwrap(), Duration::ZERO);
        for bad in ["", "5", "s", "5x", "-1s", "1s2"] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
        for bad in ["0s", "0", "-1s", "-0"] {
            assert_eq!(
                parse_interval(bad).unwrap_err().to_string(),
                "duration interval must be greater than 0",
                "{bad}"
            );
        }
        assert!(parse_interval("-x").is_err());
    }
}
