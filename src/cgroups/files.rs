//! Reading and writing cgroup control files, with errors naming the resource and the file.

use anyhow::{anyhow, Context, Result};
use nix::errno::Errno;
use std::io::{ErrorKind, Write};
use std::path::Path;

/// Writes `value` to `dir/file` in one write(2) (cgroup files take one value per write).
/// `resource` is the config field the value comes from, for the error message.
pub fn write(dir: &Path, file: &str, value: &str, resource: &str) -> Result<()> {
    let path = dir.join(file);
    let res = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|mut f| f.write_all(value.as_bytes()));
    res.map_err(|e| {
        let why = match (e.kind(), e.raw_os_error()) {
            (ErrorKind::NotFound, _) => {
                "the kernel has no such file here (controller missing or not enabled for this cgroup)".to_string()
            }
            (_, Some(code)) if code == Errno::EINVAL as i32 => {
                "the kernel rejected the value (invalid argument)".to_string()
            }
            (_, Some(code)) if code == Errno::EBUSY as i32 => "the cgroup is busy (EBUSY)".to_string(),
            _ => e.to_string(),
        };
        anyhow!("{resource}: writing {value:?} to {}: {why}", path.display())
    })
}

pub fn read(dir: &Path, file: &str) -> Result<String> {
    let path = dir.join(file);
    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
}

/// Reads a file holding one number ("max" reads as u64::MAX).
pub fn read_u64(dir: &Path, file: &str) -> Result<u64> {
    let s = read(dir, file)?;
    let t = s.trim();
    if t == "max" {
        return Ok(u64::MAX);
    }
    t.parse()
        .with_context(|| format!("parsing {t:?} in {}", dir.join(file).display()))
}

/// Like read_u64, but a missing file is 0 (a statistic the kernel does not keep).
pub fn read_u64_opt(dir: &Path, file: &str) -> Result<u64> {
    match read_u64(dir, file) {
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == ErrorKind::NotFound) =>
        {
            Ok(0)
        }
        r => r,
    }
}

/// "key value" lines (memory.stat, cpu.stat, memory.events...) as pairs.
pub fn read_keyed(dir: &Path, file: &str) -> Result<Vec<(String, u64)>> {
    Ok(read(dir, file)?
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect())
}

pub fn keyed(pairs: &[(String, u64)], key: &str) -> u64 {
    pairs.iter().find(|(k, _)| k == key).map_or(0, |(_, v)| *v)
}
