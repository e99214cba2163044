//! Signal names and numbers as `kill` accepts them: `TERM`, `SIGTERM`, `15`.

use anyhow::{bail, Result};
use nix::sys::signal::Signal;
use std::str::FromStr;

/// Parses a signal given by name (with or without the SIG prefix, any case) or number.
pub fn parse(s: &str) -> Result<Signal> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| anyhow::anyhow!("invalid signal number {n}"));
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    match Signal::from_str(&name) {
        Ok(sig) => Ok(sig),
        Err(_) => bail!("unknown signal {s:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse("TERM").unwrap(), Signal::SIGTERM);
        assert_eq!(parse("sigkill").unwrap(), Signal::SIGKILL);
        assert_eq!(parse("SIGUSR1").unwrap(), Signal::SIGUSR1);
        assert_eq!(parse("9").unwrap(), Signal::SIGKILL);
        assert!(parse("NOPE").is_err());
        assert!(parse("0").is_err());
        assert!(parse("99").is_err());
    }
}
