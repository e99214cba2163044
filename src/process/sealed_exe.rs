//! CVE-2019-5736: a process inside a container must never get a writable handle on berth's
//! binary on the host. Non-dumpable setup keeps /proc/PID/exe of berth's init and exec'd
//! children closed, but the container can still make the kernel run berth's image *as* the
//! container process (an executable whose interpreter is /proc/self/exe, exec'd by berth):
//! that process is dumpable, and its /proc/PID/exe can be reopened for writing once it exits.
//!
//! So the commands that put processes into a container (create, run, exec) first re-execute
//! berth from a sealed memfd copy of itself: /proc/self/exe then names a file that can be
//! neither written, truncated nor grown. The copy costs one read of the binary (a few MB for
//! the static release build) and one execve.

use anyhow::{Context, Result};
use nix::fcntl::{fcntl, FcntlArg, OFlag, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::stat::Mode;
use std::ffi::CString;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;

/// The environment variable carrying the original binary's identity across the re-exec.
const IDENTITY_VAR: &str = "_BERTH_EXE_IDENTITY";

/// MFD_EXEC (Linux 6.3): the memfd may be executed even where vm.memfd_noexec forbids it
/// by default.
const MFD_EXEC: libc::c_uint = 0x10;

/// The seals that make the copy immutable.
fn seals() -> SealFlag {
    SealFlag::F_SEAL_SEAL | SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_WRITE
}

/// Whether the running image is already a sealed copy.
fn running_sealed(exe: impl AsFd) -> bool {
    fcntl(exe, FcntlArg::F_GET_SEALS)
        .is_ok_and(|s| SealFlag::from_bits_truncate(s).contains(seals()))
}

/// Whether this process runs from a sealed copy of berth (`ensure` re-executed it).
pub fn is_running_sealed() -> bool {
    std::fs::File::open("/proc/self/exe").is_ok_and(|f| running_sealed(&f))
}

/// Re-executes berth from a sealed memfd copy of its binary, unless it already runs from one.
/// Returns only in that case (or with an error, before anything was changed).
pub fn ensure() -> Result<()> {
    let exe = nix::fcntl::open(
        "/proc/self/exe",
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("opening /proc/self/exe")?;
    if running_sealed(&exe) {
        return Ok(());
    }
    let mut original = std::fs::File::from(exe);
    let identity = identity_of(&original.metadata().context("stat of berth's binary")?);
    let flags = MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING;
    let memfd = match memfd_create(c"berth", flags | MFdFlags::from_bits_retain(MFD_EXEC)) {
        Err(nix::errno::Errno::EINVAL) => memfd_create(c"berth", flags),
        r => r,
    }
    .context("memfd_create for a sealed copy of berth")?;
    let mut copy = std::fs::File::from(memfd);
    std::io::copy(&mut original, &mut copy).context("copying berth's binary to a memfd")?;
    fcntl(&copy, FcntlArg::F_ADD_SEALS(seals())).context("sealing berth's copy")?;

    let argv: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<_, _>>()
        .context("berth's arguments")?;
    let mut envp: Vec<CString> = std::env::vars_os()
        .filter(|(k, _)| k != IDENTITY_VAR)
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect();
    envp.push(CString::new(format!("{IDENTITY_VAR}={identity}")).context("identity")?);
    let err = nix::unistd::fexecve(&copy, &argv, &envp).unwrap_err();
    Err(err).context("re-executing berth from its sealed copy")
}

fn identity_of(m: &std::fs::Metadata) -> String {
    format!(
        "{} {} {} {}.{}",
        m.dev(),
        m.ino(),
        m.size(),
        m.mtime(),
        m.mtime_nsec()
    )
}

/// Identifies berth's binary on disk (device, inode, size, mtime), also when running from
/// the sealed copy, whose own identity changes every run: for caches keyed on the build.
pub fn identity() -> Option<String> {
    let exe = std::fs::File::open("/proc/self/exe").ok()?;
    if running_sealed(&exe) {
        return std::env::var(IDENTITY_VAR).ok();
    }
    Some(identity_of(&exe.metadata().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_sealed_copy_is_recognised_and_cannot_be_written() {
        let fd = memfd_create(c"berth-test", MFdFlags::MFD_ALLOW_SEALING).unwrap();
        let mut f = std::fs::File::from(fd);
        f.write_all(b"\x7fELF not really").unwrap();
        assert!(!running_sealed(&f));
        fcntl(&f, FcntlArg::F_ADD_SEALS(seals())).unwrap();
        assert!(running_sealed(&f));
        assert!(f.write_all(b"x").is_err());
        assert!(f.set_len(0).is_err());
        // Reopened for writing through /proc, as an attacker holding /proc/PID/exe would.
        let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&f));
        let reopened = std::fs::OpenOptions::new().write(true).open(&path);
        assert!(reopened.and_then(|mut r| r.write_all(b"PWNED")).is_err());
    }

    #[test]
    fn identity_is_the_binary_on_disk() {
        // The test binary is not sealed: its identity is its own metadata.
        let m = std::fs::metadata("/proc/self/exe").unwrap();
        assert_eq!(identity(), Some(identity_of(&m)));
    }
}
