//! Which file descriptors reach the container process: stdio, the systemd socket-activation
//! fds berth was started with (LISTEN_FDS), then `--preserve-fds` more; everything above is
//! marked close-on-exec so nothing of berth's leaks into the container.
//!
//! As runc: when berth's own environment says systemd passed it N listening sockets
//! (LISTEN_FDS=N and LISTEN_PID=berth's pid), fds 3..3+N are kept, the process env gets
//! LISTEN_FDS=N and LISTEN_PID=1, and `--preserve-fds` counts from 3+N.

use anyhow::{bail, Context as _, Result};
use std::os::fd::RawFd;

/// The first fd after stdio; systemd's SD_LISTEN_FDS_START.
pub const FIRST_PASSED_FD: RawFd = 3;

/// How many socket-activation fds berth was given, from its own LISTEN_FDS and LISTEN_PID.
/// Call in the parent before clone: LISTEN_PID must name berth's own pid, which the child
/// no longer has. Malformed values mean none were given (as systemd's sd_listen_fds).
pub fn listen_fds_from_env() -> u32 {
    listen_fds_for(
        std::env::var("LISTEN_FDS").ok().as_deref(),
        std::env::var("LISTEN_PID").ok().as_deref(),
        std::process::id(),
    )
}

fn listen_fds_for(fds: Option<&str>, pid: Option<&str>, own_pid: u32) -> u32 {
    match (fds, pid.and_then(|p| p.parse::<u32>().ok())) {
        (Some(n), Some(p)) if p == own_pid => n.parse().unwrap_or(0),
        _ => 0,
    }
}

/// Adds LISTEN_FDS=N and LISTEN_PID=1 (the container process is pid 1 of its namespace) when
/// `listen_fds` > 0, replacing any entries of those names already in the env.
pub fn listen_fds_env(listen_fds: u32, env: &mut Vec<String>) {
    if listen_fds == 0 {
        return;
    }
    env.retain(|e| !e.starts_with("LISTEN_FDS=") && !e.starts_with("LISTEN_PID="));
    env.push(format!("LISTEN_FDS={listen_fds}"));
    env.push("LISTEN_PID=1".to_string());
}

/// Checks, in the parent before clone, that the `count` fds from `first` the caller asked to
/// pass (socket activation and `--preserve-fds`) are open, as runc 1.2 does.
pub fn check_passed(first: RawFd, count: u32) -> Result<()> {
    for (i, fd) in (first..).take(count as usize).enumerate() {
        // SAFETY: F_GETFD only reads the flags of an fd number; it touches no memory.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            bail!(
                "fd {fd} (passed fd {} of {count}) is not open: {}",
                i + 1,
                std::io::Error::last_os_error()
            );
        }
    }
    Ok(())
}

/// Marks every fd >= `first` close-on-exec. Runs in init as late as possible before exec.
pub fn cloexec_from(first: RawFd) -> Result<()> {
    // close_range exists since Linux 5.11 (CLOSE_RANGE_CLOEXEC since 5.11 too).
    // SAFETY: close_range only changes fd flags; no memory is passed.
    let r = unsafe {
        libc::close_range(
            first as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC as libc::c_int,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::ENOSYS) | Some(libc::EINVAL) => cloexec_from_proc(first),
        _ => Err(e).with_context(|| format!("marking fds >= {first} close-on-exec")),
    }
}

/// Closes every fd >= `first` but those in `keep`: right before execve (close-on-exec alone
/// leaves them open while execve resolves the executable's path, and `/proc/self/fd/N/..`
/// through one of berth's fds would reach the host, CVE-2024-21626), and in a container's
/// init before it waits for `start`. Where close_range is missing or denied (it may run
/// after the container's seccomp filter is loaded), walks /proc/self/fd as Go does. Never
/// fails: close-on-exec already covers what it could miss.
pub fn close_from(first: RawFd, keep: &[RawFd]) {
    let mut keep: Vec<RawFd> = keep.iter().copied().filter(|k| *k >= first).collect();
    keep.sort_unstable();
    keep.dedup();
    let mut ranges = Vec::new();
    let mut lo = first;
    for &k in &keep {
        if lo < k {
            ranges.push((lo, k - 1));
        }
        lo = k.saturating_add(1);
    }
    ranges.push((lo, RawFd::MAX));
    let closed_all = ranges.iter().all(|&(lo, hi)| {
        // SAFETY: close_range on fds this process owns and no longer uses.
        unsafe { libc::close_range(lo as libc::c_uint, hi as libc::c_uint, 0) == 0 }
    });
    if closed_all {
        return;
    }
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<RawFd> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd >= first && keep.binary_search(fd).is_err())
        .collect();
    for fd in fds {
        // SAFETY: as above; the listing's own fd, already closed, gives a harmless EBADF.
        unsafe { libc::close(fd) };
    }
}

/// The fallback for kernels without close_range: walk /proc/self/fd.
fn cloexec_from_proc(first: RawFd) -> Result<()> {
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .context("marking fds close-on-exec: listing /proc/self/fd")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd >= first)
        .collect();
    for fd in fds {
        // SAFETY: fcntl on an fd number changes only that fd's flags.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        // Gone since the listing (the directory's own fd): nothing to do.
        if flags < 0 {
            continue;
        }
        // SAFETY: as above.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) } < 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("marking fd {fd} close-on-exec"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::test_child;

    #[test]
    fn listen_fds_only_when_meant_for_this_process() {
        assert_eq!(listen_fds_for(Some("2"), Some("77"), 77), 2);
        assert_eq!(listen_fds_for(Some("2"), Some("78"), 77), 0);
        assert_eq!(listen_fds_for(Some("2"), None, 77), 0);
        assert_eq!(listen_fds_for(None, Some("77"), 77), 0);
        assert_eq!(listen_fds_for(Some("x"), Some("77"), 77), 0);
    }

    #[test]
    fn listen_fds_env_sets_count_and_pid_1() {
        let mut env = vec!["PATH=/bin".to_string(), "LISTEN_FDS=9".to_string()];
        listen_fds_env(2, &mut env);
        assert_eq!(env, ["PATH=/bin", "LISTEN_FDS=2", "LISTEN_PID=1"]);
        let mut env = vec!["LISTEN_FDS=9".to_string()];
        listen_fds_env(0, &mut env);
        assert_eq!(env, ["LISTEN_FDS=9"]);
    }

    fn is_cloexec(fd: RawFd) -> bool {
        // SAFETY: reads the flags of an fd number.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        assert!(flags >= 0, "fd {fd} is not open");
        flags & libc::FD_CLOEXEC != 0
    }

    fn three_inheritable_fds() -> Result<Vec<std::os::fd::OwnedFd>> {
        use std::os::fd::AsRawFd;
        let mut fds = Vec::new();
        for _ in 0..3 {
            let f: std::os::fd::OwnedFd = std::fs::File::open("/dev/null")?.into();
            // SAFETY: clears FD_CLOEXEC on an fd this test owns.
            unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETFD, 0) };
            fds.push(f);
        }
        Ok(fds)
    }

    #[test]
    fn cloexec_from_marks_only_fds_from_first() {
        test_child::run(|| {
            use std::os::fd::AsRawFd;
            let fds = three_inheritable_fds()?;
            let (a, b, c) = (fds[0].as_raw_fd(), fds[1].as_raw_fd(), fds[2].as_raw_fd());
            anyhow::ensure!(a < b && b < c);
            cloexec_from(b)?;
            anyhow::ensure!(!is_cloexec(a) && is_cloexec(b) && is_cloexec(c));
            let fds = three_inheritable_fds()?;
            let first = fds[1].as_raw_fd();
            cloexec_from_proc(first)?;
            anyhow::ensure!(!is_cloexec(fds[0].as_raw_fd()));
            anyhow::ensure!(is_cloexec(fds[1].as_raw_fd()) && is_cloexec(fds[2].as_raw_fd()));
            Ok(())
        });
    }

    fn is_open(fd: RawFd) -> bool {
        // SAFETY: reads the flags of an fd number.
        unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
    }

    #[test]
    fn close_from_keeps_only_what_it_is_told() {
        test_child::run(|| {
            use std::os::fd::IntoRawFd;
            let fds: Vec<RawFd> = three_inheritable_fds()?
                .into_iter()
                .chain(three_inheritable_fds()?)
                .map(|f| f.into_raw_fd())
                .collect();
            let first = fds[1];
            close_from(first, &[fds[3], fds[5], fds[0]]);
            let open: Vec<bool> = fds.iter().map(|fd| is_open(*fd)).collect();
            anyhow::ensure!(open == [true, false, false, true, false, true], "{open:?}");
            Ok(())
        });
    }

    #[test]
    fn check_passed_names_the_missing_fd() {
        check_passed(0, 3).unwrap();
        let err = check_passed(100_000, 2).unwrap_err().to_string();
        assert!(
            err.starts_with("fd 100000 (passed fd 1 of 2) is not open:"),
            "{err}"
        );
    }
}
