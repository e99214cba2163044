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
//!
//! A cached program is loaded as the container's filter, so it is trusted only from a
//! directory and a file that nobody but berth's user can write (checked before reading), and
//! any entry that is not exactly what `encode` writes is a miss. The cache keeps at most
//! `MAX_ENTRIES` programs and removes what killed writers left.

use anyhow::Result;
use oci_spec::runtime::LinuxSeccomp;
use seccompiler::sock_filter;
use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash as _, Hasher as _};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::Path;

use super::Filter;

const MAGIC: &[u8; 8] = b"BSECCF01";

/// Most cached programs kept: distinct profiles are few on a real host, and a stream of
/// them (a fuzzer, generated profiles) must not fill the tmpfs. The oldest go first.
const MAX_ENTRIES: usize = 64;

/// Largest cache file read: the key (a profile's JSON) and the largest program.
const MAX_FILE: u64 = 4 << 20;

/// A temporary file older than this belongs to a create that was killed mid-write.
const STALE_TMP: std::time::Duration = std::time::Duration::from_secs(60);

/// Compiles `seccomp`, or returns the program cached for it in `cache_dir`.
pub fn compile_cached(seccomp: &LinuxSeccomp, cache_dir: &Path) -> Result<Filter> {
    let Some(key) = cache_key(seccomp) else {
        return super::compile(seccomp);
    };
    // Cached programs are trusted: only from a directory, and files, that only we can write.
    if !private_dir(cache_dir) {
        return super::compile(seccomp);
    }
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    let path = cache_dir.join(format!("{:016x}", hasher.finish()));
    if let Some(filter) = read_private(&path).and_then(|d| decode(&d, &key)) {
        return Ok(filter);
    }
    let filter = super::compile(seccomp)?;
    prune(cache_dir);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = cache_dir.join(format!(".tmp-{}-{nanos}", std::process::id()));
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(&encode(&filter, &key)))
        .and_then(|()| fs::rename(&tmp, &path));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    Ok(filter)
}

/// The file's bytes if it is a regular file of ours that nobody else can write (not
/// followed if a symlink), and not larger than any entry berth writes.
fn read_private(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read as _;
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let m = f.metadata().ok()?;
    if !m.is_file() || m.uid() != euid() || m.mode() & 0o022 != 0 || m.len() > MAX_FILE {
        return None;
    }
    let mut data = Vec::with_capacity(m.len() as usize);
    f.take(MAX_FILE + 1).read_to_end(&mut data).ok()?;
    Some(data)
}

/// Keeps the cache bounded: removes temporary files left by killed writers, and the oldest
/// entries once there are `MAX_ENTRIES`.
fn prune(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let now = std::time::SystemTime::now();
    let mut cached = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name();
        let Ok(m) = e.metadata() else { continue };
        let modified = m.modified().unwrap_or(now);
        if name.to_string_lossy().starts_with(".tmp-") {
            if now
                .duration_since(modified)
                .is_ok_and(|age| age > STALE_TMP)
            {
                let _ = fs::remove_file(e.path());
            }
        } else {
            cached.push((modified, e.path()));
        }
    }
    if cached.len() >= MAX_ENTRIES {
        cached.sort();
        for (_, p) in &cached[..=cached.len() - MAX_ENTRIES] {
            let _ = fs::remove_file(p);
        }
    }
}

/// The berth binary's identity followed by the section's JSON; None if either is unknown.
fn cache_key(seccomp: &LinuxSeccomp) -> Option<Vec<u8>> {
    // The binary on disk: berth runs from a sealed copy whose identity changes every run.
    let exe = crate::process::sealed_exe::identity()?;
    let mut key = format!("{} {exe}\n", env!("CARGO_PKG_VERSION")).into_bytes();
    serde_json::to_writer(&mut key, seccomp).ok()?;
    Some(key)
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

/// Creates the directory if needed; true if it is ours alone (cached programs are trusted).
fn private_dir(dir: &Path) -> bool {
    let _ = fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir);
    fs::symlink_metadata(dir)
        .is_ok_and(|m| m.is_dir() && m.uid() == euid() && m.mode() & 0o022 == 0)
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

/// The cached filter, if `data` is a well-formed entry for `key`; anything else is a miss:
/// a program of 1 to MAX_INSNS instructions, only the flags compile sets, a notify byte of
/// 0 or 1 that agrees with NEW_LISTENER.
fn decode(data: &[u8], key: &[u8]) -> Option<Filter> {
    let rest = data.strip_prefix(MAGIC)?;
    let (flags, rest) = rest.split_first_chunk::<4>()?;
    let (uses_notify, rest) = rest.split_first()?;
    let (key_len, rest) = rest.split_first_chunk::<4>()?;
    let (stored_key, insns) = rest.split_at_checked(u32::from_ne_bytes(*key_len) as usize)?;
    if stored_key != key || insns.len() % 8 != 0 {
        return None;
    }
    let n = insns.len() / 8;
    let flags = u32::from_ne_bytes(*flags);
    let listener = libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32;
    let known = super::compile::FLAGS.iter().fold(listener, |a, f| a | f.2);
    let notify = match uses_notify {
        0 => false,
        1 => true,
        _ => return None,
    };
    if n == 0 || n > super::compile::MAX_INSNS || flags & !known != 0 {
        return None;
    }
    if notify != (flags & listener != 0) {
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
        flags,
        uses_notify: notify,
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

    fn fresh_dir(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("berth-cache-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    /// An entry for the right key but another program, planted where it must not be
    /// trusted: it is never returned.
    #[test]
    fn entries_anyone_else_could_write_are_not_trusted() {
        use std::os::unix::fs::PermissionsExt as _;
        let profile = super::super::default_profile();
        let compiled = super::super::compile(&profile).unwrap();
        let key = cache_key(&profile).unwrap();
        let mut other = profile.clone();
        other.set_default_errno_ret(Some(38));
        let planted = encode(&super::super::compile(&other).unwrap(), &key);
        let mode = |p: &Path, m: u32| fs::set_permissions(p, fs::Permissions::from_mode(m));
        for case in [
            "dir 0777",
            "dir not ours",
            "file 0666",
            "file not ours",
            "symlink",
        ] {
            let dir = fresh_dir("trust");
            compile_cached(&profile, &dir).unwrap();
            let entry = fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
            fs::write(&entry, &planted).unwrap();
            // Trusted where private: the planted program is what a hit returns.
            assert_ne!(compile_cached(&profile, &dir).unwrap(), compiled, "{case}");
            fs::write(&entry, &planted).unwrap();
            match case {
                "dir 0777" => mode(&dir, 0o777).unwrap(),
                "dir not ours" => std::os::unix::fs::chown(&dir, Some(4242), None).unwrap(),
                "file 0666" => mode(&entry, 0o666).unwrap(),
                "file not ours" => std::os::unix::fs::chown(&entry, Some(4242), None).unwrap(),
                _ => {
                    let elsewhere = dir.with_extension("planted");
                    fs::write(&elsewhere, &planted).unwrap();
                    fs::remove_file(&entry).unwrap();
                    std::os::unix::fs::symlink(&elsewhere, &entry).unwrap();
                }
            }
            assert_eq!(compile_cached(&profile, &dir).unwrap(), compiled, "{case}");
            let _ = fs::remove_file(dir.with_extension("planted"));
            fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn malformed_entries_are_a_miss() {
        let profile = super::super::default_profile();
        let filter = super::super::compile(&profile).unwrap();
        let key = cache_key(&profile).unwrap();
        assert_eq!(decode(&encode(&filter, &key), &key), Some(filter.clone()));
        let with = |edit: &dyn Fn(&mut Filter)| {
            let mut f = filter.clone();
            edit(&mut f);
            decode(&encode(&f, &key), &key)
        };
        // Longer than the kernel takes (and than sock_fprog's u16 length can say).
        let long = |f: &mut Filter| f.program = vec![f.program[0].clone(); 65536 + 3];
        assert_eq!(with(&long), None);
        assert_eq!(with(&|f| f.program.clear()), None);
        assert_eq!(with(&|f| f.flags |= 1 << 20), None);
        assert_eq!(with(&|f| f.uses_notify = true), None); // without NEW_LISTENER
        let mut bad_byte = encode(&filter, &key);
        bad_byte[12] = 2;
        assert_eq!(decode(&bad_byte, &key), None);
        let mut huge_key_len = encode(&filter, &key);
        huge_key_len[13..17].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(decode(&huge_key_len, &key), None);
    }

    #[test]
    fn the_cache_is_bounded_and_stale_temporary_files_go() {
        let dir = fresh_dir("bound");
        let profile = super::super::default_profile();
        compile_cached(&profile, &dir).unwrap();
        for i in 0..MAX_ENTRIES + 10 {
            fs::write(dir.join(format!("{i:016x}")), b"junk").unwrap();
        }
        let stale = dir.join(".tmp-1-2");
        let fresh = dir.join(".tmp-3-4");
        fs::write(&stale, b"half").unwrap();
        fs::write(&fresh, b"half").unwrap();
        let old = std::time::SystemTime::now() - 2 * STALE_TMP;
        fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let mut other = profile.clone();
        other.set_default_errno_ret(Some(38));
        compile_cached(&other, &dir).unwrap(); // a miss: written after pruning
        let names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!stale.exists(), "{names:?}");
        assert!(fresh.exists(), "a writer may still be at work: {names:?}");
        assert_eq!(names.len(), MAX_ENTRIES + 1, "{names:?}"); // + the fresh .tmp
        fs::remove_dir_all(&dir).unwrap();
    }
}
