//! Namespaces: the table of kinds berth knows, the clone flags for new ones, joining
//! existing ones by path (setns), and time namespace offsets.

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{Linux, LinuxNamespaceType};
use std::collections::HashSet;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

/// Every namespace kind: the spec's name, the clone flag, and the name under /proc/PID/ns.
/// `berth features` prints the names from this table, so it is the single source of truth.
pub const KINDS: &[(LinuxNamespaceType, &str, libc::c_int, &str)] = &[
    (LinuxNamespaceType::Pid, "pid", libc::CLONE_NEWPID, "pid"),
    (
        LinuxNamespaceType::Network,
        "network",
        libc::CLONE_NEWNET,
        "net",
    ),
    (LinuxNamespaceType::Mount, "mount", libc::CLONE_NEWNS, "mnt"),
    (LinuxNamespaceType::Ipc, "ipc", libc::CLONE_NEWIPC, "ipc"),
    (LinuxNamespaceType::Uts, "uts", libc::CLONE_NEWUTS, "uts"),
    (
        LinuxNamespaceType::User,
        "user",
        libc::CLONE_NEWUSER,
        "user",
    ),
    (
        LinuxNamespaceType::Cgroup,
        "cgroup",
        libc::CLONE_NEWCGROUP,
        "cgroup",
    ),
    (
        LinuxNamespaceType::Time,
        "time",
        libc::CLONE_NEWTIME,
        "time",
    ),
];

fn kind(
    t: LinuxNamespaceType,
) -> &'static (LinuxNamespaceType, &'static str, libc::c_int, &'static str) {
    KINDS
        .iter()
        .find(|k| k.0 == t)
        .expect("every namespace type is in KINDS")
}

pub fn spec_name(t: LinuxNamespaceType) -> &'static str {
    kind(t).1
}

pub fn clone_flag(t: LinuxNamespaceType) -> libc::c_int {
    kind(t).2
}

/// Checks linux.namespaces: no duplicates, absolute paths, time offsets only with a new time namespace.
pub fn validate(linux: &Linux) -> Result<()> {
    let mut seen = HashSet::new();
    for (i, ns) in linux.namespaces().iter().flatten().enumerate() {
        let name = spec_name(ns.typ());
        if !seen.insert(ns.typ()) {
            bail!("config.json: linux.namespaces[{i}]: duplicate namespace {name:?}");
        }
        // An empty path asks for a new namespace, as runc reads it.
        if let Some(p) = ns.path().as_ref().filter(|p| !p.as_os_str().is_empty()) {
            if !p.is_absolute() {
                bail!(
                    "config.json: linux.namespaces[{i}].path: {:?} is not an absolute path",
                    p.display().to_string()
                );
            }
        }
    }
    if linux.time_offsets().as_ref().is_some_and(|o| !o.is_empty()) {
        if !creates(linux, LinuxNamespaceType::Time) {
            bail!("config.json: linux.timeOffsets: needs a new time namespace");
        }
        for k in linux.time_offsets().iter().flatten().map(|(k, _)| k) {
            if k != "monotonic" && k != "boottime" {
                bail!(
                    "config.json: linux.timeOffsets: unknown clock {k:?} (monotonic or boottime)"
                );
            }
        }
    }
    Ok(())
}

/// Whether the container is in its own namespace of kind `t` (new or joined by path).
pub fn has_new_or_joined(linux: &Linux, t: LinuxNamespaceType) -> bool {
    linux.namespaces().iter().flatten().any(|n| n.typ() == t)
}

/// Whether a new namespace of kind `t` is created for the container.
pub fn creates(linux: &Linux, t: LinuxNamespaceType) -> bool {
    linux
        .namespaces()
        .iter()
        .flatten()
        .any(|n| n.typ() == t && n.path().as_ref().is_none_or(|p| p.as_os_str().is_empty()))
}

/// The clone flags for every namespace created anew.
pub fn new_flags(linux: &Linux) -> u64 {
    KINDS
        .iter()
        .filter(|k| creates(linux, k.0))
        .fold(0u64, |acc, k| acc | k.2 as u64)
}

/// Namespaces joined by path, opened now (before any setns changes what a path means), in
/// the order they must be joined (runc's): first those the joined user namespace does not
/// own (joining one needs privileges over its owner, which berth has only before it enters
/// the user namespace), then the user namespace, then those it owns (with its privileges).
pub fn open_joined(linux: &Linux) -> Result<Vec<(LinuxNamespaceType, OwnedFd)>> {
    let mut out = Vec::new();
    for ns in linux.namespaces().iter().flatten() {
        let Some(path) = ns.path().as_ref().filter(|p| !p.as_os_str().is_empty()) else {
            continue;
        };
        out.push((ns.typ(), open_ns(path, ns.typ())?));
    }
    let user = out
        .iter()
        .find(|(t, _)| *t == LinuxNamespaceType::User)
        .map(|(_, fd)| ns_id(fd.as_fd()))
        .transpose()?;
    let mut keyed = Vec::with_capacity(out.len());
    for (t, fd) in out {
        let rank = match user {
            _ if t == LinuxNamespaceType::User => 1,
            Some(user) if owner_id(fd.as_fd()).is_ok_and(|o| o != user) => 0,
            _ => 2,
        };
        keyed.push((rank, t, fd));
    }
    keyed.sort_by_key(|(rank, _, _)| *rank);
    Ok(keyed.into_iter().map(|(_, t, fd)| (t, fd)).collect())
}

/// A namespace's identity: the device and inode of its nsfs file.
fn ns_id(fd: std::os::fd::BorrowedFd) -> Result<(u64, u64)> {
    let st = nix::sys::stat::fstat(fd).context("fstat of a namespace")?;
    Ok((st.st_dev, st.st_ino))
}

/// The identity of the user namespace that owns the namespace behind `fd` (NS_GET_USERNS).
fn owner_id(fd: std::os::fd::BorrowedFd) -> Result<(u64, u64)> {
    const NS_GET_USERNS: libc::c_ulong = 0xb701; // _IO(0xb7, 0x1), linux/nsfs.h
                                                 // SAFETY: NS_GET_USERNS takes no argument and returns a new fd or -1.
    let r = unsafe { libc::ioctl(std::os::fd::AsRawFd::as_raw_fd(&fd), NS_GET_USERNS) };
    if r < 0 {
        return Err(nix::errno::Errno::last()).context("NS_GET_USERNS");
    }
    // SAFETY: the kernel returned a new fd that nothing else owns.
    let owner = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(r) };
    ns_id(owner.as_fd())
}

fn open_ns(path: &Path, t: LinuxNamespaceType) -> Result<OwnedFd> {
    let f = File::open(path).with_context(|| {
        format!(
            "linux.namespaces: {} namespace path {}",
            spec_name(t),
            path.display()
        )
    })?;
    Ok(f.into())
}

/// Joins the given namespaces in order. For pid and time this affects the children only.
pub fn join(fds: &[(LinuxNamespaceType, OwnedFd)]) -> Result<()> {
    for (t, fd) in fds {
        let flag = nix::sched::CloneFlags::from_bits_retain(clone_flag(*t));
        nix::sched::setns(fd.as_fd(), flag)
            .with_context(|| format!("joining the {} namespace", spec_name(*t)))?;
    }
    Ok(())
}

/// Whether linux.timeOffsets has offsets to write.
pub fn has_time_offsets(linux: &Linux) -> bool {
    linux.time_offsets().as_ref().is_some_and(|o| !o.is_empty())
}

/// Makes a new time namespace for this process's next child (unshare(CLONE_NEWTIME) moves
/// only the children), with linux.timeOffsets written before that child exists.
pub fn unshare_time(linux: &Linux) -> Result<()> {
    nix::sched::unshare(nix::sched::CloneFlags::from_bits_retain(
        libc::CLONE_NEWTIME,
    ))
    .context("creating the time namespace")?;
    write_time_offsets(linux)
}

/// This process's own time namespace, if it may go back to it after [`unshare_time`] (see
/// [`rejoin_time`]); None where it may not: as root of a user namespace that does not own it.
pub fn rejoinable_time() -> Option<OwnedFd> {
    let own: OwnedFd = File::open("/proc/self/ns/time").ok()?.into();
    // Going back needs the same rights as joining the namespace it is in now.
    rejoin_time(&own).ok()?;
    Some(own)
}

/// Makes this process's children start in its own time namespace `own` again: setns into the
/// namespace it is in resets the one for its children too.
pub fn rejoin_time(own: &OwnedFd) -> Result<()> {
    nix::sched::setns(
        own.as_fd(),
        nix::sched::CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    )
    .context("returning to berth's own time namespace")
}

/// Writes linux.timeOffsets for the time namespace that this process's children will enter
/// (after unshare(CLONE_NEWTIME), before the first child is made).
fn write_time_offsets(linux: &Linux) -> Result<()> {
    let mut text = String::new();
    for (clock, off) in linux.time_offsets().iter().flatten() {
        text.push_str(&format!(
            "{clock} {} {}\n",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        ));
    }
    if !text.is_empty() {
        std::fs::write("/proc/self/timens_offsets", text)
            .context("linux.timeOffsets: writing /proc/self/timens_offsets")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linux(json: &str) -> Linux {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn duplicate_is_named() {
        let l = linux(r#"{"namespaces":[{"type":"pid"},{"type":"mount"},{"type":"pid"}]}"#);
        let e = validate(&l).unwrap_err().to_string();
        assert_eq!(
            e,
            "config.json: linux.namespaces[2]: duplicate namespace \"pid\""
        );
    }

    #[test]
    fn flags_for_new_only() {
        let l = linux(
            r#"{"namespaces":[{"type":"pid"},{"type":"network","path":"/proc/1/ns/net"},{"type":"uts"}]}"#,
        );
        assert_eq!(
            new_flags(&l),
            (libc::CLONE_NEWPID | libc::CLONE_NEWUTS) as u64
        );
        assert!(has_new_or_joined(&l, LinuxNamespaceType::Network));
        assert!(!creates(&l, LinuxNamespaceType::Network));
    }

    #[test]
    fn empty_path_is_a_new_namespace() {
        let l = linux(r#"{"namespaces":[{"type":"network","path":""},{"type":"uts"}]}"#);
        validate(&l).unwrap();
        assert!(creates(&l, LinuxNamespaceType::Network));
        assert_eq!(
            new_flags(&l),
            (libc::CLONE_NEWNET | libc::CLONE_NEWUTS) as u64
        );
        assert!(open_joined(&l).unwrap().is_empty());
    }

    #[test]
    fn relative_path_refused() {
        let l = linux(r#"{"namespaces":[{"type":"network","path":"proc/1/ns/net"}]}"#);
        assert!(validate(&l)
            .unwrap_err()
            .to_string()
            .contains("linux.namespaces[0].path"));
    }

    #[test]
    fn offsets_need_time_ns() {
        let l = linux(r#"{"timeOffsets":{"monotonic":{"secs":10}}}"#);
        assert!(validate(&l)
            .unwrap_err()
            .to_string()
            .contains("timeOffsets"));
    }
}
