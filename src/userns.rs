//! User namespace id maps, written by the parent into /proc/PID/{uid,gid}_map once init has
//! been cloned into its new user namespace (init waits for the go-ahead before using them).
//! As root the files are written directly. Unprivileged (rootless), a map of one's own id
//! alone is written directly too (user_namespaces(7); the gid map then needs setgroups
//! denied first, as runc does); any other map goes through newuidmap/newgidmap (shadow's
//! setuid helpers from the uidmap package), which check /etc/subuid and /etc/subgid.
//!
//! Also: user namespaces that exist only to carry a mapping, for id-mapped mounts.

use anyhow::{bail, Context, Result};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::{Linux, LinuxIdMapping};
use std::os::fd::OwnedFd;
use std::process::Command;

use crate::clone::{clone, Forked};

fn map_text(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// Whether `maps` is one mapping of `own` alone, which an unprivileged process may write.
fn only_own_id(maps: &[LinuxIdMapping], own: u32) -> bool {
    matches!(maps, [m] if m.host_id() == own && m.size() == 1)
}

pub fn write_maps(pid: i32, linux: &Linux) -> Result<()> {
    let uids = linux.uid_mappings().as_deref().unwrap_or_default();
    let gids = linux.gid_mappings().as_deref().unwrap_or_default();
    if nix::unistd::geteuid().is_root() {
        // gid_map first is not required as root; uid first mirrors runc.
        write_file(pid, "uid_map", uids, "linux.uidMappings")?;
        write_file(pid, "gid_map", gids, "linux.gidMappings")?;
        return Ok(());
    }
    if only_own_id(uids, nix::unistd::geteuid().as_raw()) {
        write_file(pid, "uid_map", uids, "linux.uidMappings")?;
    } else {
        helper("newuidmap", pid, uids, "linux.uidMappings")?;
    }
    if only_own_id(gids, nix::unistd::getegid().as_raw()) {
        let path = format!("/proc/{pid}/setgroups");
        std::fs::write(&path, "deny")
            .with_context(|| format!("linux.gidMappings: writing \"deny\" to {path}"))?;
        write_file(pid, "gid_map", gids, "linux.gidMappings")
    } else {
        helper("newgidmap", pid, gids, "linux.gidMappings")
    }
}

/// A user namespace with the given maps and nothing in it, for mount_setattr(MOUNT_ATTR_IDMAP):
/// a child is cloned into a new user namespace, its maps are written (as root), the
/// namespace is opened through /proc, and the child exits. `field` names the config field
/// in errors.
pub fn with_maps(uids: &[LinuxIdMapping], gids: &[LinuxIdMapping], field: &str) -> Result<OwnedFd> {
    // The child waits for EOF on this pipe: when the parent is done, or dies.
    let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe")?;
    let pid = match clone(libc::CLONE_NEWUSER as u64, None)
        .with_context(|| format!("{field}: creating a user namespace"))?
    {
        Forked::Child => {
            // The unit tests clone this from their threaded harness.
            crate::clone::forbid_allocation();
            drop(wr);
            let mut b = [0u8; 1];
            let _ = nix::unistd::read(&rd, &mut b);
            // SAFETY: _exit skips the destructors and atexit handlers of the parent's copy.
            unsafe { libc::_exit(0) }
        }
        Forked::Parent { pid, .. } => pid,
    };
    drop(rd);
    let ns = (|| {
        write_file(pid, "uid_map", uids, field)?;
        write_file(pid, "gid_map", gids, field)?;
        let path = format!("/proc/{pid}/ns/user");
        let f = std::fs::File::open(&path).with_context(|| format!("{field}: opening {path}"))?;
        Ok(OwnedFd::from(f))
    })();
    drop(wr);
    let _ = waitpid(Pid::from_raw(pid), None);
    ns
}

fn write_file(pid: i32, file: &str, maps: &[LinuxIdMapping], field: &str) -> Result<()> {
    let path = format!("/proc/{pid}/{file}");
    std::fs::write(&path, map_text(maps)).with_context(|| format!("{field}: writing {path}"))
}

fn helper(bin: &str, pid: i32, maps: &[LinuxIdMapping], field: &str) -> Result<()> {
    let mut cmd = Command::new(bin);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([
            m.container_id().to_string(),
            m.host_id().to_string(),
            m.size().to_string(),
        ]);
    }
    let out = cmd
        .output()
        .with_context(|| format!("{field}: running {bin} (is the uidmap package installed?)"))?;
    if !out.status.success() {
        bail!(
            "{field}: {bin} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::stat::Mode;
    use std::os::fd::AsRawFd;

    /// The user namespace `fd` refers to, as "user:[inode]".
    fn ns_id(fd: &OwnedFd) -> String {
        let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
        link.to_string_lossy().into_owned()
    }

    #[test]
    fn text_format() {
        let maps: Vec<LinuxIdMapping> =
            serde_json::from_str(r#"[{"containerID":0,"hostID":100000,"size":65536},{"containerID":65536,"hostID":0,"size":1}]"#)
                .unwrap();
        assert_eq!(map_text(&maps), "0 100000 65536\n65536 0 1\n");
    }

    #[test]
    fn own_id_alone_is_written_directly() {
        let one: Vec<LinuxIdMapping> =
            serde_json::from_str(r#"[{"containerID":0,"hostID":1000,"size":1}]"#).unwrap();
        assert!(only_own_id(&one, 1000));
        assert!(!only_own_id(&one, 1001));
        let range: Vec<LinuxIdMapping> =
            serde_json::from_str(r#"[{"containerID":0,"hostID":1000,"size":2}]"#).unwrap();
        assert!(!only_own_id(&range, 1000));
        let two: Vec<LinuxIdMapping> = serde_json::from_str(
            r#"[{"containerID":0,"hostID":1000,"size":1},{"containerID":1,"hostID":100000,"size":10}]"#,
        )
        .unwrap();
        assert!(!only_own_id(&two, 1000));
    }

    #[test]
    fn a_namespace_carrying_maps() {
        let uids: Vec<LinuxIdMapping> =
            serde_json::from_str(r#"[{"containerID":0,"hostID":300000,"size":10}]"#).unwrap();
        let gids: Vec<LinuxIdMapping> =
            serde_json::from_str(r#"[{"containerID":5,"hostID":400000,"size":1}]"#).unwrap();
        let ns = with_maps(&uids, &gids, "test").unwrap();
        let own = std::fs::read_link("/proc/self/ns/user").unwrap();
        let id = ns_id(&ns);
        assert!(
            id.starts_with("user:[") && id != own.to_string_lossy(),
            "{id}"
        );
        // Its maps, read by a child that joins it (no allocation after fork: the test
        // harness is multi-threaded).
        let words = |path: &str, want: [&[u8]; 3]| {
            let mut buf = [0u8; 128];
            let Ok(fd) = nix::fcntl::open(path, nix::fcntl::OFlag::O_RDONLY, Mode::empty()) else {
                return false;
            };
            let n = nix::unistd::read(&fd, &mut buf).unwrap_or(0);
            buf[..n]
                .split(|b| b.is_ascii_whitespace())
                .filter(|w| !w.is_empty())
                .eq(want)
        };
        match clone(0, None).unwrap() {
            Forked::Child => {
                let ok = nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWUSER).is_ok()
                    && words("/proc/self/uid_map", [b"0", b"300000", b"10"])
                    && words("/proc/self/gid_map", [b"5", b"400000", b"1"]);
                // SAFETY: leaving the forked test child without running the harness's code.
                unsafe { libc::_exit(if ok { 0 } else { 1 }) }
            }
            Forked::Parent { pid, .. } => {
                let st = waitpid(Pid::from_raw(pid), None).unwrap();
                assert_eq!(
                    st,
                    nix::sys::wait::WaitStatus::Exited(Pid::from_raw(pid), 0)
                );
            }
        }
    }
}
