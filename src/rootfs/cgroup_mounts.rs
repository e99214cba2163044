//! Mount entries of type "cgroup" and "cgroup2", the way runc does them.
//!
//! - On a pure cgroup v2 host, "cgroup" means cgroup2.
//! - cgroup2: a fresh cgroup2 mount; where that is refused (a user namespace without its own
//!   cgroup namespace), a bind of the container's own cgroup2 directory instead.
//! - "cgroup" on a v1 or hybrid host: a tmpfs at the destination, then one directory per host
//!   v1 hierarchy, each either a fresh mount of that hierarchy (in a new cgroup namespace,
//!   which shows the container's own cgroup as root) or a bind of the container's cgroup
//!   directory of that hierarchy from the host. Co-mounted controllers ("cpu,cpuacct") get one
//!   symlink per controller. A hybrid host's unified hierarchy is left out, as runc does.

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use nix::unistd::symlinkat;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use super::mount_options::Parsed;
use super::mounts::{apply_after, bind, reopen, Ctx};
use super::resolve::{self, Kind};
use super::sys::{self, fd_path};

/// One cgroup hierarchy mounted on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hierarchy {
    /// The directory name under the destination: the host mount point's last component.
    name: String,
    /// "cgroup" or "cgroup2".
    fs_type: String,
    /// Mount data for a fresh mount: the controllers (or name=...) of the hierarchy.
    data: String,
    /// The container's cgroup directory of this hierarchy on the host.
    host_dir: PathBuf,
}

pub fn mount_cgroup(ctx: &Ctx, typ: &str, dest: &Path, opts: &Parsed) -> Result<()> {
    let on_v2_host = nix::sys::statfs::statfs("/sys/fs/cgroup")
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC);
    if typ == "cgroup2" || on_v2_host {
        mount_v2(ctx, dest, opts)
    } else {
        mount_v1(ctx, dest, opts)
    }
}

fn fs_flags(opts: &Parsed) -> MsFlags {
    MsFlags::from_bits_retain(opts.flags & !(libc::MS_BIND | libc::MS_REC | libc::MS_REMOUNT))
}

fn mount_v2(ctx: &Ctx, dest: &Path, opts: &Parsed) -> Result<()> {
    let dest_fd = resolve::create_in_root(ctx.root, dest, Kind::Dir)?;
    let inside = resolve::container_path(dest_fd.as_fd(), ctx.root_path)?;
    let data = (!opts.data.is_empty()).then_some(opts.data.as_str());
    let target = fd_path(dest_fd.as_fd());
    match mount(
        Some("cgroup2"),
        target.as_str(),
        Some("cgroup2"),
        fs_flags(opts),
        data,
    ) {
        Ok(()) => apply_after(reopen(ctx, &inside)?.as_fd(), opts),
        Err(Errno::EPERM | Errno::EBUSY) => {
            let h = hierarchies(ctx.root_path)?
                .into_iter()
                .find(|h| h.fs_type == "cgroup2")
                .context("the host has no cgroup2 hierarchy to bind")?;
            let rbind = Parsed {
                flags: opts.flags | libc::MS_BIND | libc::MS_REC,
                ..opts.clone()
            };
            apply_after(
                bind(ctx, &h.host_dir, dest_fd, &inside, &rbind)?.as_fd(),
                opts,
            )
        }
        Err(e) => Err(e).context("mounting cgroup2"),
    }
}

fn mount_v1(ctx: &Ctx, dest: &Path, opts: &Parsed) -> Result<()> {
    let hierarchies: Vec<Hierarchy> = hierarchies(ctx.root_path)?
        .into_iter()
        .filter(|h| h.fs_type == "cgroup")
        .collect();
    let dest_fd = resolve::create_in_root(ctx.root, dest, Kind::Dir)?;
    let inside = resolve::container_path(dest_fd.as_fd(), ctx.root_path)?;
    let base = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(
        Some("tmpfs"),
        fd_path(dest_fd.as_fd()).as_str(),
        Some("tmpfs"),
        base,
        Some("mode=755"),
    )
    .context("mounting the tmpfs that holds the hierarchies")?;
    let top = reopen(ctx, &inside)?;
    for h in &hierarchies {
        let sub = inside.join(&h.name);
        let sub_fd = resolve::create_in_root(ctx.root, &sub, Kind::Dir)?;
        if ctx.cgroupns {
            let data = (!h.data.is_empty()).then_some(h.data.as_str());
            let fs = Some(h.fs_type.as_str());
            mount(
                Some(h.fs_type.as_str()),
                fd_path(sub_fd.as_fd()).as_str(),
                fs,
                fs_flags(opts),
                data,
            )
            .with_context(|| format!("mounting the {} hierarchy", h.name))?;
        } else {
            let rbind = Parsed {
                flags: fs_flags(opts).bits() | libc::MS_BIND | libc::MS_REC,
                cleared: opts.cleared,
                ..Parsed::default()
            };
            bind(ctx, &h.host_dir, sub_fd, &sub, &rbind)
                .with_context(|| format!("binding {}", h.host_dir.display()))?;
        }
        if h.name.contains(',') {
            for controller in h.name.split(',') {
                match symlinkat(h.name.as_str(), top.as_fd(), controller) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(e).with_context(|| format!("symlink {controller}")),
                }
            }
        }
    }
    if opts.flags & libc::MS_RDONLY != 0 {
        sys::mount_setattr(top.as_fd(), false, libc::MOUNT_ATTR_RDONLY, 0, 0)
            .context("making the cgroup tmpfs read-only")?;
    }
    apply_after(top.as_fd(), opts)
}

/// The host's cgroup hierarchies (outside the rootfs) and this process's cgroup in each.
fn hierarchies(rootfs: &Path) -> Result<Vec<Hierarchy>> {
    let mounts = procfs::process::Process::myself()
        .and_then(|p| p.mountinfo())
        .context("reading /proc/self/mountinfo")?;
    let own = std::fs::read_to_string("/proc/self/cgroup").context("reading /proc/self/cgroup")?;
    let mut out: Vec<Hierarchy> = Vec::new();
    for mi in &mounts.0 {
        if !(mi.fs_type == "cgroup" || mi.fs_type == "cgroup2")
            || mi.mount_point.starts_with(rootfs)
        {
            continue;
        }
        let Some(name) = mi
            .mount_point
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
        else {
            continue;
        };
        if out.iter().any(|h| h.name == name) {
            continue;
        }
        let options: Vec<String> = mi
            .super_options
            .iter()
            .filter(|(k, _)| k.as_str() != "rw" && k.as_str() != "ro")
            .map(|(k, v)| match v {
                Some(v) => format!("{k}={v}"),
                None => k.clone(),
            })
            .collect();
        let path = own_path(&own, &mi.fs_type, &options).with_context(|| {
            format!(
                "no entry in /proc/self/cgroup for {}",
                mi.mount_point.display()
            )
        })?;
        let rel = Path::new(&path)
            .strip_prefix(&mi.root)
            .unwrap_or(Path::new(""));
        let data = if mi.fs_type == "cgroup" {
            options.join(",")
        } else {
            String::new()
        };
        out.push(Hierarchy {
            name,
            fs_type: mi.fs_type.clone(),
            data,
            host_dir: mi.mount_point.join(rel),
        });
    }
    if out.is_empty() {
        bail!("the host has no cgroup hierarchy mounted");
    }
    Ok(out)
}

/// This process's cgroup path in a hierarchy, from /proc/self/cgroup: the "0::" line for
/// cgroup2, the line sharing a controller (or name=...) with the mount for v1.
fn own_path(proc_cgroup: &str, fs_type: &str, mount_options: &[String]) -> Option<String> {
    proc_cgroup.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (id, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let matches = if fs_type == "cgroup2" {
            id == "0" && controllers.is_empty()
        } else {
            !controllers.is_empty()
                && controllers
                    .split(',')
                    .any(|c| mount_options.iter().any(|o| o == c))
        };
        matches.then(|| path.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROC_CGROUP: &str =
        "9:name=systemd:/a\n4:memory:/process_api/x\n2:cpu,cpuacct:/b\n0::/u\n";

    #[test]
    fn own_path_matches_controllers() {
        let opts = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            own_path(PROC_CGROUP, "cgroup", &opts(&["memory"])).as_deref(),
            Some("/process_api/x")
        );
        assert_eq!(
            own_path(PROC_CGROUP, "cgroup", &opts(&["name=systemd"])).as_deref(),
            Some("/a")
        );
        assert_eq!(
            own_path(PROC_CGROUP, "cgroup", &opts(&["cpuacct"])).as_deref(),
            Some("/b")
        );
        assert_eq!(
            own_path(PROC_CGROUP, "cgroup2", &opts(&["nsdelegate"])).as_deref(),
            Some("/u")
        );
        assert_eq!(own_path(PROC_CGROUP, "cgroup", &opts(&["pids"])), None);
    }

    #[test]
    fn host_hierarchies_are_found() {
        let h = hierarchies(Path::new("/nonexistent-rootfs")).unwrap();
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        for hier in &h {
            assert!(hier.host_dir.is_dir(), "{hier:?}");
            if hier.fs_type == "cgroup" {
                assert!(!hier.data.is_empty(), "{hier:?}");
            }
        }
        if own.lines().count() > 1 {
            assert!(h.iter().any(|x| x.fs_type == "cgroup"));
        }
    }
}
