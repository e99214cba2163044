//! The process environment as runc prepares it.

use anyhow::{bail, Result};

pub fn check_env_entry(i: usize, e: &str) -> Result<()> {
    match e.split_once('=') {
        None => bail!("process.env[{i}]: {e:?} is not of the form KEY=VALUE"),
        Some(("", _)) => bail!("process.env[{i}]: {e:?} has an empty name"),
        _ if e.contains('\0') => bail!("process.env[{i}]: {e:?} contains a NUL byte"),
        _ => Ok(()),
    }
}

/// The environment the process gets, as runc prepares it: every entry checked, and for a
/// name given more than once only the last value kept (at the position of that last
/// occurrence). A missing or empty HOME is for the caller to fill in (`user::set_home`).
pub fn prepare_env(env: &[String]) -> Result<Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(env.len());
    for (i, e) in env.iter().enumerate().rev() {
        check_env_entry(i, e)?;
        let name = e.split_once('=').map(|(n, _)| n).unwrap_or_default();
        if seen.insert(name) {
            out.push(e.clone());
        }
    }
    out.reverse();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_dedup_keeps_the_last_value() {
        let env: Vec<String> = ["A=1", "B=2", "A=3", "C=4"].map(String::from).to_vec();
        assert_eq!(prepare_env(&env).unwrap(), ["B=2", "A=3", "C=4"]);
        let bad: Vec<String> = ["A=1", "B"].map(String::from).to_vec();
        assert!(prepare_env(&bad).is_err());
    }
}
