//! linux.sysctl (config-linux.md "Sysctl"): which keys a container may set (only those of a
//! kernel namespace the container owns, with runc's rules), and writing them through the
//! container's own /proc/sys after pivot_root, never following a symlink out of it nor
//! crossing a mount.

use anyhow::{bail, Context, Result};
use nix::fcntl::{open, openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;
use oci_spec::runtime::{Linux, LinuxNamespaceType, Spec};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use crate::namespaces;

/// The ipc namespace's sysctls besides fs.mqueue.* (as runc lists them).
const IPC_KEYS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// The path of a key under /proc/sys. Keys use dots ("net.ipv4.ip_forward") or, as with
/// sysctl(8), slashes, which let a component contain a dot ("net/ipv4/conf/eth0.1/rp_filter").
fn key_path(key: &str) -> Option<PathBuf> {
    let parts: Vec<&str> = if key.contains('/') {
        key.split('/').collect()
    } else {
        key.split('.').collect()
    };
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return None;
    }
    Some(parts.iter().collect())
}

/// The dotted form used by the namespace rules.
fn dotted(key: &str) -> String {
    if key.contains('/') {
        key.replace('/', ".")
    } else {
        key.to_string()
    }
}

/// Whether the network namespace at `path` is the one this (host-side) process is in.
fn is_host_netns(path: &std::path::Path) -> bool {
    match (
        std::fs::metadata(path),
        std::fs::metadata("/proc/self/ns/net"),
    ) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

fn check_key(linux: &Linux, key: &str) -> Result<()> {
    let has = |t| namespaces::has_new_or_joined(linux, t);
    let k = dotted(key);
    if IPC_KEYS.contains(&k.as_str()) || k.starts_with("fs.mqueue.") {
        if has(LinuxNamespaceType::Ipc) {
            return Ok(());
        }
        bail!("{key:?} needs an ipc namespace (it would change the host's)");
    }
    if k.starts_with("net.") {
        let joined = linux
            .namespaces()
            .iter()
            .flatten()
            .find(|n| n.typ() == LinuxNamespaceType::Network)
            .and_then(|n| n.path().clone())
            .filter(|p| !p.as_os_str().is_empty());
        match joined {
            Some(p) if is_host_netns(&p) => {
                bail!(
                    "{key:?} is not allowed in the host's network namespace ({})",
                    p.display()
                )
            }
            _ if has(LinuxNamespaceType::Network) => return Ok(()),
            _ => bail!("{key:?} needs a network namespace (it would change the host's)"),
        }
    }
    if has(LinuxNamespaceType::Uts) {
        match k.as_str() {
            "kernel.domainname" => return Ok(()),
            "kernel.hostname" => {
                bail!("{key:?} conflicts with the \"hostname\" field; set that instead")
            }
            _ => {}
        }
    }
    bail!("{key:?} is not in a kernel namespace of the container (it would change the host)")
}

fn sorted(linux: &Linux) -> Vec<(&String, &String)> {
    let mut v: Vec<_> = linux.sysctl().iter().flatten().collect();
    v.sort();
    v
}

/// Checks every key of linux.sysctl: well formed and owned by a namespace of the container.
pub fn validate(spec: &Spec) -> Result<()> {
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    for (key, _) in sorted(linux) {
        if key_path(key).is_none() {
            bail!("config.json: linux.sysctl: {key:?} is not a valid sysctl name");
        }
        check_key(linux, key).context("config.json: linux.sysctl")?;
    }
    Ok(())
}

/// Writes linux.sysctl through /proc/sys of the current root (after pivot_root, so the
/// container's procfs); every key is opened beneath /proc/sys without following symlinks
/// or crossing mounts.
pub fn apply(spec: &Spec) -> Result<()> {
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    let entries = sorted(linux);
    if entries.is_empty() {
        return Ok(());
    }
    let root = open(
        "/",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("linux.sysctl: opening /")?;
    // The container's /proc must be the root of a procfs, and nothing may be mounted on the
    // way to a key: a bind mount of another /proc file over it would take the write
    // (CVE-2025-52881).
    let within = ResolveFlag::RESOLVE_BENEATH
        | ResolveFlag::RESOLVE_NO_SYMLINKS
        | ResolveFlag::RESOLVE_NO_XDEV;
    let dir = |flags| {
        OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
            .resolve(flags)
    };
    let proc = openat2(
        &root,
        "proc",
        dir(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS),
    )
    .context("linux.sysctl: opening /proc (is it mounted?)")?;
    let statfs = nix::sys::statfs::fstatfs(&proc).context("linux.sysctl: statfs /proc")?;
    if statfs.filesystem_type() != nix::sys::statfs::PROC_SUPER_MAGIC
        || nix::sys::stat::fstat(&proc)
            .context("linux.sysctl: stat /proc")?
            .st_ino
            != 1
    {
        bail!("linux.sysctl: /proc is not the root of a procfs");
    }
    let proc_sys = openat2(&proc, "sys", dir(within))
        .context("linux.sysctl: opening /proc/sys (something is mounted on it?)")?;
    for (key, value) in entries {
        let path = key_path(key).context("validated sysctl key")?;
        let how = OpenHow::new()
            .flags(OFlag::O_WRONLY | OFlag::O_CLOEXEC)
            .resolve(within);
        let fd = openat2(&proc_sys, &path, how).with_context(|| {
            format!(
                "linux.sysctl: opening /proc/sys/{} (something is mounted on it?)",
                path.display()
            )
        })?;
        std::fs::File::from(fd)
            .write_all(value.as_bytes())
            .with_context(|| format!("linux.sysctl: writing {value:?} to {key:?}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(namespaces: &str, key: &str) -> Spec {
        let json = format!(
            r#"{{"ociVersion":"1.2.0","linux":{{"namespaces":[{namespaces}],"sysctl":{{"{key}":"1"}}}}}}"#
        );
        serde_json::from_str(&json).unwrap()
    }

    fn check(namespaces: &str, key: &str) -> Result<(), String> {
        validate(&spec(namespaces, key)).map_err(|e| format!("{e:#}"))
    }

    #[test]
    fn key_paths() {
        assert_eq!(
            key_path("net.ipv4.ip_forward"),
            Some(PathBuf::from("net/ipv4/ip_forward"))
        );
        assert_eq!(
            key_path("net/ipv4/conf/eth0.1/rp_filter"),
            Some(PathBuf::from("net/ipv4/conf/eth0.1/rp_filter"))
        );
        assert_eq!(key_path("net..x"), None);
        assert_eq!(key_path("net/../../etc"), None);
        assert_eq!(key_path("/net/x"), None);
        assert_eq!(
            dotted("net/ipv4/conf/eth0.1/rp_filter"),
            "net.ipv4.conf.eth0.1.rp_filter"
        );
    }

    #[test]
    fn ipc_keys_need_an_ipc_namespace() {
        for key in [
            "kernel.msgmax",
            "kernel.sem",
            "kernel.shmmax",
            "kernel.shm_rmid_forced",
            "fs.mqueue.queues_max",
        ] {
            check(r#"{"type":"ipc"}"#, key).unwrap();
            let e = check(r#"{"type":"uts"}"#, key).unwrap_err();
            assert!(
                e.contains("needs an ipc namespace") && e.contains(key),
                "{e}"
            );
        }
        check(r#"{"type":"ipc","path":"/proc/1/ns/ipc"}"#, "kernel.sem").unwrap();
    }

    #[test]
    fn net_keys_need_a_network_namespace_not_the_hosts() {
        check(r#"{"type":"network"}"#, "net.ipv4.ip_forward").unwrap();
        check(r#"{"type":"network"}"#, "net/ipv4/conf/eth0.1/rp_filter").unwrap();
        let e = check(r#"{"type":"ipc"}"#, "net.core.somaxconn").unwrap_err();
        assert_eq!(
            e,
            r#"config.json: linux.sysctl: "net.core.somaxconn" needs a network namespace (it would change the host's)"#
        );
        let e = check(
            r#"{"type":"network","path":"/proc/self/ns/net"}"#,
            "net.core.somaxconn",
        )
        .unwrap_err();
        assert!(e.contains("host's network namespace"), "{e}");
    }

    #[test]
    fn uts_keys() {
        check(r#"{"type":"uts"}"#, "kernel.domainname").unwrap();
        let e = check(r#"{"type":"uts"}"#, "kernel.hostname").unwrap_err();
        assert!(e.contains("conflicts with the \"hostname\" field"), "{e}");
        let e = check(r#"{"type":"ipc"}"#, "kernel.domainname").unwrap_err();
        assert!(e.contains("not in a kernel namespace"), "{e}");
    }

    #[test]
    fn host_wide_keys_are_refused() {
        for key in ["kernel.pid_max", "vm.overcommit_memory", "fs.file-max"] {
            let e = check(r#"{"type":"ipc"},{"type":"uts"},{"type":"network"}"#, key).unwrap_err();
            assert!(
                e.contains("not in a kernel namespace") && e.contains(key),
                "{e}"
            );
        }
        let e = check(r#"{"type":"network"}"#, "net..x").unwrap_err();
        assert_eq!(
            e,
            r#"config.json: linux.sysctl: "net..x" is not a valid sysctl name"#
        );
    }
}
