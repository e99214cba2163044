//! What of a container CRIU must be told about rather than dump: its config's bind mounts,
//! device nodes bind-mounted over paths, namespaces joined by path, and init's stdio from
//! outside the container; and for restore, what on the host stands in for each.

use anyhow::{anyhow, bail, Context, Result};
use oci_spec::runtime::{LinuxNamespaceType, Mount, Spec};
use std::collections::HashSet;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use super::rpc;

/// Keys of namespaces joined by path, dumped as external and handed back on restore.
const NETNS_KEY: &str = "berth-netns";
const PIDNS_KEY: &str = "berth-pidns";
/// A masked file is /dev/null bind-mounted over it; on restore the host's /dev/null.
const DEV_NULL: &str = "/dev/null";

/// `path` as an absolute, lexically clean path ("." and ".." resolved, never above "/").
pub(super) fn clean_abs(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

pub(super) fn is_bind(m: &Mount) -> bool {
    m.typ().as_deref() == Some("bind")
        || m.options()
            .iter()
            .flatten()
            .any(|o| o == "bind" || o == "rbind")
}

pub(super) fn mountinfo(pid: i32) -> Result<Vec<procfs::process::MountInfo>> {
    Ok(procfs::process::Process::new(pid)
        .and_then(|p| p.mountinfo())
        .with_context(|| format!("reading /proc/{pid}/mountinfo"))?
        .0)
}

/// The container's mounts CRIU cannot dump from their content, with their cookies:
/// the config's bind mounts, and device nodes bind-mounted over a path (a host device in a
/// user namespace, or /dev/null over a masked file).
pub(super) fn external_mounts(
    pid: i32,
    spec: &Spec,
    points: &HashSet<PathBuf>,
) -> Vec<(PathBuf, String)> {
    let mut out: Vec<(PathBuf, String)> = Vec::new();
    for m in spec.mounts().iter().flatten().filter(|m| is_bind(m)) {
        let dest = clean_abs(m.destination());
        if points.contains(&dest) {
            out.push((dest.clone(), format!("bind={}", dest.display())));
        }
    }
    let masked: HashSet<PathBuf> = spec
        .linux()
        .as_ref()
        .and_then(|l| l.masked_paths().clone())
        .unwrap_or_default()
        .iter()
        .map(|p| clean_abs(Path::new(p)))
        .collect();
    let mut rest: Vec<&PathBuf> = points
        .iter()
        .filter(|p| p.as_path() != Path::new("/") && !out.iter().any(|(d, _)| d == *p))
        .collect();
    rest.sort();
    for p in rest {
        let inside = format!("/proc/{pid}/root{}", p.display());
        let Ok(meta) = std::fs::metadata(&inside) else {
            continue;
        };
        let ft = meta.file_type();
        if !(ft.is_char_device() || ft.is_block_device()) {
            continue;
        }
        let source = if masked.contains(p) {
            PathBuf::from(DEV_NULL)
        } else {
            p.clone()
        };
        out.push((p.clone(), format!("dev={}", source.display())));
    }
    out
}

/// The host path restore binds for an external mount's cookie.
pub(super) fn mount_source(cookie: &str, spec: &Spec, bundle: &Path) -> Result<PathBuf> {
    if let Some(path) = cookie.strip_prefix("dev=") {
        return Ok(PathBuf::from(path));
    }
    let Some(dest) = cookie.strip_prefix("bind=") else {
        bail!("checkpoint: unknown external mount {cookie:?}");
    };
    let m = spec
        .mounts()
        .iter()
        .flatten()
        .find(|m| is_bind(m) && clean_abs(m.destination()) == Path::new(dest))
        .ok_or_else(|| {
            anyhow!("config.json: mounts: the checkpoint has a bind mount on {dest}, which the bundle's config does not bind")
        })?;
    let src = m
        .source()
        .as_ref()
        .ok_or_else(|| anyhow!("config.json: mounts: the bind mount on {dest} has no source"))?;
    Ok(bundle.join(src))
}

/// The CRIU key of init's fd `fd` when it refers to something outside the container
/// (restore hands over its own fd instead), and the --external value dump needs for it.
/// None for an fd that is closed or that CRIU can restore by itself.
pub(super) fn stdio_key(
    pid: i32,
    fd: i32,
    mount_ids: &HashSet<i32>,
) -> Result<Option<(String, Option<String>)>> {
    let link = match std::fs::read_link(format!("/proc/{pid}/fd/{fd}")) {
        Ok(l) => l.to_string_lossy().into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading /proc/{pid}/fd/{fd}")),
    };
    if link.starts_with("pipe:") || link.starts_with("socket:") {
        return Ok(Some((link, None)));
    }
    if !link.starts_with('/') {
        return Ok(None);
    }
    let st = std::fs::metadata(format!("/proc/{pid}/fd/{fd}"))
        .with_context(|| format!("stat of /proc/{pid}/fd/{fd}"))?;
    let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}"))
        .with_context(|| format!("reading /proc/{pid}/fdinfo/{fd}"))?;
    let mnt_id =
        fdinfo_mnt_id(&info).ok_or_else(|| anyhow!("/proc/{pid}/fdinfo/{fd}: no mnt_id"))?;
    // On one of the container's mounts (a file, or the terminal berth made in the
    // container's devpts): CRIU dumps it itself.
    if mount_ids.contains(&mnt_id) {
        return Ok(None);
    }
    if st.file_type().is_char_device() && is_terminal(st.rdev()) {
        let key = format!("tty[{:x}:{:x}]", st.rdev(), st.dev());
        return Ok(Some((key.clone(), Some(key))));
    }
    let key = format!("file[{mnt_id:x}:{:x}]", st.ino());
    Ok(Some((key.clone(), Some(key))))
}

pub(super) fn fdinfo_mnt_id(info: &str) -> Option<i32> {
    info.lines()
        .find_map(|l| l.strip_prefix("mnt_id:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Terminal devices by major number: /dev/tty*, /dev/console, /dev/ptmx, and ptys.
pub(super) fn is_terminal(rdev: u64) -> bool {
    let major = nix::sys::stat::major(rdev);
    matches!(major, 4 | 5 | 136..=143)
}

/// Network and pid namespaces joined by path are not the container's to dump: CRIU notes
/// them as external and restore hands it the namespace named in the config.
pub(super) fn joined_namespaces_external(spec: &Spec) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for ns in spec
        .linux()
        .iter()
        .flat_map(|l| l.namespaces().iter().flatten())
    {
        let Some(path) = ns.path().as_ref().filter(|p| !p.as_os_str().is_empty()) else {
            continue;
        };
        let (kind, key) = match ns.typ() {
            LinuxNamespaceType::Network => ("net", NETNS_KEY),
            LinuxNamespaceType::Pid => ("pid", PIDNS_KEY),
            _ => continue,
        };
        let ino = std::fs::metadata(path)
            .with_context(|| format!("linux.namespaces: {}", path.display()))?
            .ino();
        out.push(format!("{kind}[{ino}]:{key}"));
    }
    Ok(out)
}

/// For restore: the config's joined namespaces. The network and pid ones are opened here
/// and inherited by CRIU under the keys dump gave them; ipc, uts, user and time are joined
/// by CRIU itself. Mount and cgroup namespaces cannot be joined by CRIU.
pub(super) struct Joined {
    pub fds: Vec<OwnedFd>,
    pub inherit: Vec<rpc::InheritFd>,
    pub join: Vec<rpc::JoinNamespace>,
}

pub(super) fn joined_namespaces_restore(spec: &Spec) -> Result<Joined> {
    let mut out = Joined {
        fds: Vec::new(),
        inherit: Vec::new(),
        join: Vec::new(),
    };
    for ns in spec
        .linux()
        .iter()
        .flat_map(|l| l.namespaces().iter().flatten())
    {
        let Some(path) = ns.path().as_ref().filter(|p| !p.as_os_str().is_empty()) else {
            continue;
        };
        let key = match ns.typ() {
            LinuxNamespaceType::Network => NETNS_KEY,
            LinuxNamespaceType::Pid => PIDNS_KEY,
            LinuxNamespaceType::Mount | LinuxNamespaceType::Cgroup => bail!(
                "linux.namespaces: restore cannot join the {} namespace {} (CRIU cannot)",
                crate::namespaces::spec_name(ns.typ()),
                path.display()
            ),
            t => {
                let name = match t {
                    LinuxNamespaceType::Ipc => "ipc",
                    LinuxNamespaceType::Uts => "uts",
                    LinuxNamespaceType::User => "user",
                    _ => "time",
                };
                out.join.push(rpc::JoinNamespace {
                    ns: name.to_string(),
                    ns_file: path.to_string_lossy().into_owned(),
                });
                continue;
            }
        };
        let f = std::fs::File::open(path)
            .with_context(|| format!("linux.namespaces: opening {}", path.display()))?;
        let fd = OwnedFd::from(f);
        out.inherit.push(rpc::InheritFd {
            key: key.to_string(),
            fd: fd.as_raw_fd(),
        });
        out.fds.push(fd);
    }
    Ok(out)
}
