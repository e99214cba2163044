//! A cache of compiled filters, because compiling Docker's default profile costs about
//! 0.25-0.4 ms (release build) on every create while reading a cached program costs a few
//! tens of microseconds.
//!
//! One file per distinct `linux.seccomp` section, named by a hash of it, under a directory the
//! caller picks (`<root>/seccomp-cache`, e.g. /run/berth/seccomp-cache: tmpfs, gone at boot).
//! The file stores the full key next to the program and a hit requires the key to be equal
//! byte for byte, so a hash collision can only cost a recompile, never load the wrong filter.
//! The key also holds the identity of the running berth binary (device, inode, size, mtime),
//! so a rebuilt or upgraded berth never reuses another build's output. Files are written to a
//! temporary name and renamed, so readers see whole files only. Failing to read or write the
//! cache only costs the compile it would have saved.

use anyhow::Result;
use oci_spec::runtime::LinuxSeccomp;
use seccompiler::sock_filter;
use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash as _, Hasher as _};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
use std::path::Path;

use super::Filter;

const MAGIC: &[u8; 8] = b"BSECCF01";

/// Compiles `seccomp`, or returns the program cached for it in `cache_dir`.
pub fn compile_cached(seccomp: &LinuxSeccomp, cache_dir: &Path) -> Result<Filter> {
    let Some(key) = cache_key(seccomp) else {
        return super::compile(seccomp);
    };
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    let path = cache_dir.join(format!("{:016x}", hasher.finish()));
    if let Some(filter) = fs::read(&path).ok().and_then(|d| decode(&d, &key)) {
        return Ok(filter);
    }
    let filter = super::compile(seccomp)?;
    if private_dir(cache_dir) {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let tmp = cache_dir.join(format!(".tmp-{}-{nanos}", std::process::id()));
        let written = fs::File::create(&tmp)
            .and_then(|mut f| f.write_all(&encode(&filter, &key)))
            .and_then(|()| fs::rename(&tmp, &path));
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
    }
    Ok(filter)
}

/// The berth binary's identity followed by the section's JSON; None if either is unknown.
fn cache_key(seccomp: &LinuxSeccomp) -> Option<Vec<u8>> {
    // The binary on disk: berth runs from a sealed copy whose identity changes every run.
    let exe = crate::process::sealed_exe::identity()?;
    let mut key = format!("{} {exe}\n", env!("CARGO_PKG_VERSION")).into_bytes();
    serde_json::to_writer(&mut key, seccomp).ok()?;
    Some(key)
}

/// Creates the directory if needed; true if it is ours alone (cached programs are trusted).
fn private_dir(dir: &Path) -> bool {
    let _ = fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir);
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir() && m.uid() == euid && m.mode() & 0o022 == 0)
}

// Layout: MAGIC, flags u32, uses_notify u8, key length u32, key, then per instruction
// code u16, jt u8, jf u8, k u32; native endian (the cache never leaves the machine).
fn encode(filter: &Filter, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(17 + key.len() + 8 * filter.program.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&filter.flags.to_ne_bytes());
    out.push(u8::from(filter.uses_notify));
    out.extend_from_slice(&(key.len() as u32).to_ne_bytes());
    out.extend_from_slice(key);
    for ins in &filter.program {
        out.extend_from_slice(&ins.code.to_ne_bytes());
        out.extend_from_slice(&[ins.jt, ins.jf]);
        out.extend_from_slice(&ins.k.to_ne_bytes());
    }
    out
}

fn decode(data: &[u8], key: &[u8]) -> Option<Filter> {
    let rest = data.strip_prefix(MAGIC)?;
    let (flags, rest) = rest.split_first_chunk::<4>()?;
    let (uses_notify, rest) = rest.split_first()?;
    let (key_len, rest) = rest.split_first_chunk::<4>()?;
    let (stored_key, insns) = rest.split_at_checked(u32::from_ne_bytes(*key_len) as usize)?;
    if stored_key != key || insns.len() % 8 != 0 {
        return None;
    }
    let program = insns
        .chunks_exact(8)
        .map(|c| sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect();
    Some(Filter {
        program,
        flags: u32::from_ne_bytes(*flags),
        uses_notify: *uses_notify != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_miss_and_tampering() {
        let dir = std::env::temp_dir().join(format!("berth-seccomp-cache-{}", std::process::id()));
        let profile = super::super::default_profile();
        let compiled = super::super::compile(&profile).unwrap();
        let first = compile_cached(&profile, &dir).unwrap();
        assert_eq!(first, compiled);
        let files: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(compile_cached(&profile, &dir).unwrap(), compiled); // hit

        // A file whose key differs (a collision) is not used.
        let key = cache_key(&profile).unwrap();
        let mut other = profile.clone();
        other.set_default_errno_ret(Some(38));
        let wrong = super::super::compile(&other).unwrap();
        fs::write(&files[0], encode(&wrong, b"another key")).unwrap();
        assert_eq!(compile_cached(&profile, &dir).unwrap(), compiled);
        assert_eq!(
            decode(&fs::read(&files[0]).unwrap(), &key),
            Some(compiled.clone())
        );
        // Truncated files are a miss, not an error.
        let full = fs::read(&files[0]).unwrap();
        assert_eq!(decode(&full[..full.len() - 3], &key), None);
        fs::remove_dir_all(&dir).unwrap();
    }
}
