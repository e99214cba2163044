//! Freezing and thawing: the v1 freezer controller (freezer.state), or cgroup.freeze on v2
//! (also the hybrid host's cgroup2 hierarchy when no v1 freezer is mounted).

use anyhow::{bail, Result};
use std::path::Path;
use std::time::{Duration, Instant};

use super::files::{read, write};
use super::Cgroup;

enum Freezer<'a> {
    V1(&'a Path),
    V2(&'a Path),
}

fn freezer(cg: &Cgroup) -> Result<Freezer<'_>> {
    if let Some(d) = cg.v1_dir("freezer") {
        return Ok(Freezer::V1(d));
    }
    match cg.v2.as_deref() {
        Some(d) => Ok(Freezer::V2(d)),
        None => bail!("the freezer cgroup controller is not mounted on this host"),
    }
}

const TIMEOUT: Duration = Duration::from_secs(5);

pub fn freeze(cg: &Cgroup) -> Result<()> {
    match freezer(cg)? {
        Freezer::V1(d) => {
            // FREEZING can linger while tasks are in uninterruptible sleep: keep asking,
            // as runc does, until FROZEN or the timeout.
            let start = Instant::now();
            loop {
                write(d, "freezer.state", "FROZEN", "freezing the container")?;
                if read(d, "freezer.state")?.trim() == "FROZEN" {
                    return Ok(());
                }
                if start.elapsed() > TIMEOUT {
                    let _ = write(
                        d,
                        "freezer.state",
                        "THAWED",
                        "thawing after a failed freeze",
                    );
                    bail!(
                        "freezing {}: still not frozen after {TIMEOUT:?}",
                        d.display()
                    );
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        Freezer::V2(d) => {
            write(d, "cgroup.freeze", "1", "freezing the container")?;
            let start = Instant::now();
            while !events_frozen(d)? {
                if start.elapsed() > TIMEOUT {
                    let _ = write(d, "cgroup.freeze", "0", "thawing after a failed freeze");
                    bail!(
                        "freezing {}: still not frozen after {TIMEOUT:?}",
                        d.display()
                    );
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(())
        }
    }
}

fn events_frozen(d: &Path) -> Result<bool> {
    Ok(read(d, "cgroup.events")?
        .lines()
        .any(|l| l.trim() == "frozen 1"))
}

pub fn thaw(cg: &Cgroup) -> Result<()> {
    match freezer(cg)? {
        Freezer::V1(d) => write(d, "freezer.state", "THAWED", "thawing the container"),
        Freezer::V2(d) => write(d, "cgroup.freeze", "0", "thawing the container"),
    }
}

/// Whether the container's cgroup is frozen (asked to be, on v2; FROZEN on v1). A cgroup
/// that does not exist is not frozen.
pub fn is_frozen(cg: &Cgroup) -> Result<bool> {
    let (d, file, frozen) = match freezer(cg)? {
        Freezer::V1(d) => (d, "freezer.state", "FROZEN"),
        Freezer::V2(d) => (d, "cgroup.freeze", "1"),
    };
    match read(d, file) {
        Ok(s) => Ok(s.trim() == frozen),
        Err(_) if !d.exists() => Ok(false),
        Err(e) => Err(e),
    }
}
