//! The container's cgroup on v1, hybrid and pure v2 hosts, as runc's cgroupfs driver does
//! it: placement (path.rs), creation with every linux.resources setting applied (v1.rs,
//! v2.rs), process placement, freezing, signalling, update, statistics, OOM events and
//! removal. `Cgroup` is what the state store keeps to find the cgroup again.

mod convert;
mod devices;
mod devices_bpf;
mod files;
mod freezer;
mod mounts;
mod oom;
mod path;
mod rootless;
mod stats;
mod systemd;
mod v1;
mod v2;
mod validate;

#[cfg(test)]
mod tests;

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::sys::signal::Signal;
use oci_spec::runtime::{Linux, LinuxResources};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use mounts::Mode;
pub use oom::OomEvents;
pub use rootless::create_rootless;
pub use stats::Stats;
pub use validate::validate;

/// A container's cgroup: enough to find it again in a later invocation.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Cgroup {
    pub mode: Mode,
    /// v1 and hybrid: each v1 controller (and "name=X" hierarchy) → the container's
    /// directory in its hierarchy. Co-mounted controllers share a directory.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub v1: BTreeMap<String, PathBuf>,
    /// Pure v2: the cgroup. Hybrid: the container's cgroup in the cgroup2 hierarchy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v2: Option<PathBuf>,
    /// The systemd unit that holds the cgroup (`--systemd-cgroup`; pure v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd: Option<systemd::Unit>,
    /// Pure v2, from `create` only: the open cgroup directory, for CLONE_INTO_CGROUP.
    #[serde(skip)]
    dir_fd: Option<Arc<OwnedFd>>,
    /// From `create_systemd` to `place_init`: the unit's properties and the resources.
    #[serde(skip)]
    pending: Option<Arc<systemd::Pending>>,
    /// `exec --cgroup` in a systemd unit: the sub-cgroup, relative to the unit's.
    #[serde(skip)]
    systemd_sub: Option<String>,
}

/// Creates the container's cgroup (linux.cgroupsPath, or the container id relative to
/// berth's own cgroup) and applies every linux.resources setting plus the default device
/// rules, before any process is in it. Refuses a cgroup that already holds processes or
/// is frozen. On error, removes every directory it made. `record` is given the cgroup's
/// directories before the first is made, so that a berth killed from then on leaves a
/// record `delete --force` can undo.
pub fn create(
    linux: Option<&Linux>,
    id: &str,
    record: &dyn Fn(&Cgroup) -> Result<()>,
) -> Result<Cgroup> {
    create_with(linux, id, false, record)
}

/// `create`; with `rootless`, device rules that cannot be applied are a warning (rootless.rs).
fn create_with(
    linux: Option<&Linux>,
    id: &str,
    rootless: bool,
    record: &dyn Fn(&Cgroup) -> Result<()>,
) -> Result<Cgroup> {
    validate(linux)?;
    let layout = mounts::detect()?;
    let resources = linux.and_then(|l| l.resources().as_ref());
    let v2_controllers = match &layout.v2 {
        Some(h) => controllers_of(&h.mountpoint)?,
        None => Vec::new(),
    };
    if let Some(r) = resources {
        validate::for_layout(r, &layout, &v2_controllers)?;
    }
    let inner = path::inner(linux.and_then(|l| l.cgroups_path().as_deref()), id)?;
    let own = if inner.absolute {
        Vec::new()
    } else {
        mounts::own_cgroups()?
    };
    let mut cg = Cgroup {
        mode: layout.mode,
        v1: BTreeMap::new(),
        v2: None,
        systemd: None,
        dir_fd: None,
        pending: None,
        systemd_sub: None,
    };
    for h in &layout.v1 {
        let dir = path::resolve(h, mounts::own_path(&own, &h.controllers), &inner, false);
        for c in &h.controllers {
            cg.v1.insert(c.clone(), dir.clone());
        }
    }
    if let Some(h) = &layout.v2 {
        let own_v2 = mounts::own_path(&own, &[]);
        cg.v2 = Some(path::resolve(h, own_v2, &inner, layout.mode == Mode::V2));
    }
    cg.check_unused()?;
    record(&cg)?;

    let mut made = Vec::new();
    match build(&mut cg, &layout, resources, &mut made, rootless) {
        Ok(()) => Ok(cg),
        Err(e) => {
            for d in made.iter().rev() {
                let _ = rmdir_retrying(d);
            }
            Err(e)
        }
    }
}

/// `create` with the systemd driver (systemd/mod.rs): plans the container's unit and its
/// properties (annotations' `org.systemd.property.*` among them), checks that its cgroup
/// is unused, and records it; systemd makes the unit once init exists (`place_init`).
/// `user`: the user's own systemd (rootless).
pub fn create_systemd(
    linux: Option<&Linux>,
    annotations: Option<&HashMap<String, String>>,
    id: &str,
    user: bool,
    record: &dyn Fn(&Cgroup) -> Result<()>,
) -> Result<Cgroup> {
    validate(linux)?;
    let path = linux
        .and_then(|l| l.cgroups_path().as_deref())
        .map(|p| p.to_string_lossy().into_owned());
    systemd::check(path.as_deref(), id, user)?;
    let layout = mounts::detect()?;
    let Some(h) = layout.v2.as_ref().filter(|_| layout.mode == Mode::V2) else {
        bail!("--systemd-cgroup: berth's systemd cgroup driver needs a pure cgroup v2 host (this one mounts cgroup v1 hierarchies)");
    };
    let resources = linux.and_then(|l| l.resources().as_ref());
    if let Some(r) = resources {
        validate::for_layout(r, &layout, &controllers_of(&h.mountpoint)?)?;
    }
    let (unit, dir, pending) = systemd::plan(
        path.as_deref(),
        resources,
        annotations,
        id,
        user,
        &h.mountpoint,
    )?;
    let cg = Cgroup {
        mode: Mode::V2,
        v1: BTreeMap::new(),
        v2: Some(dir),
        systemd: Some(unit),
        dir_fd: None,
        pending: Some(Arc::new(pending)),
        systemd_sub: None,
    };
    cg.check_unused()?;
    record(&cg)?;
    Ok(cg)
}

fn build(
    cg: &mut Cgroup,
    layout: &mounts::Layout,
    resources: Option<&LinuxResources>,
    made: &mut Vec<PathBuf>,
    rootless: bool,
) -> Result<()> {
    for h in &layout.v1 {
        let dir = &cg.v1[&h.controllers[0]];
        mkdir_all(&h.mountpoint, dir, made)?;
        if h.controllers.iter().any(|c| c == "cpuset") {
            // A v1 cpuset with empty cpus or mems takes no process (ENOSPC): a new one, or
            // an existing ancestor left empty. Fill them top-down from the nearest ancestor
            // that has them, as runc does.
            v1::fill_empty_cpusets(&h.mountpoint, dir)?;
        }
    }
    if let (Some(h), Some(dir)) = (&layout.v2, cg.v2.clone()) {
        v2::mkdir_enabling_controllers(&h.mountpoint, &dir, made)?;
        if layout.mode == Mode::V2 {
            let fd = nix::fcntl::open(
                &dir,
                nix::fcntl::OFlag::O_RDONLY
                    | nix::fcntl::OFlag::O_DIRECTORY
                    | nix::fcntl::OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .with_context(|| format!("opening {}", dir.display()))?;
            cg.dir_fd = Some(Arc::new(fd));
        }
    }
    let empty = LinuxResources::default();
    let r = resources.unwrap_or(&empty);
    warn_kernel_memory(r);
    let devices = match layout.mode {
        Mode::V2 => {
            let fd = cg.dir_fd.as_ref().expect("opened above");
            v2::set(cg.v2.as_deref().expect("v2"), r, false)?;
            v2::set_devices(fd.as_fd(), r)
        }
        Mode::V1 | Mode::Hybrid => {
            v1::set(cg, r, false)?;
            v1::set_devices(cg, r)
        }
    };
    // In a user namespace the device rules need privileges over the initial one, which
    // berth lacks even with --rootless false; runc skips them there too.
    match devices {
        Err(e) if rootless || crate::rootless::in_user_namespace() => {
            rootless::devices_not_applied(&e);
            Ok(())
        }
        other => other,
    }
}

/// memory.kernel is deprecated by the kernel; like runc, berth accepts and ignores it with
/// runc's warning. (kernelTCP is written on v1 where the kernel has the file: `v1::set`.)
fn warn_kernel_memory(r: &LinuxResources) {
    #[allow(deprecated)]
    let kernel = r.memory().as_ref().and_then(|m| m.kernel());
    if kernel.is_some() {
        crate::logging::warn(
            "Kernel memory settings are ignored and will be removed (linux.resources.memory.kernel)",
        );
    }
}

/// Makes `dir` (below `root`, which exists) and any missing parents, recording each new one.
fn mkdir_all(root: &Path, dir: &Path, made: &mut Vec<PathBuf>) -> Result<()> {
    let rel = dir.strip_prefix(root).unwrap_or(dir);
    let mut cur = root.to_path_buf();
    for c in rel.components() {
        cur.push(c);
        match std::fs::create_dir(&cur) {
            Ok(()) => made.push(cur.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("creating cgroup {}", cur.display())),
        }
    }
    Ok(())
}

/// The controllers a v2 cgroup offers to its children (its cgroup.controllers).
fn controllers_of(dir: &Path) -> Result<Vec<String>> {
    Ok(files::read(dir, "cgroup.controllers")?
        .split_whitespace()
        .map(str::to_string)
        .collect())
}

/// rmdir, retrying briefly while the kernel still counts exiting processes (EBUSY).
/// A directory already gone is fine.
fn rmdir_retrying(dir: &Path) -> Result<()> {
    let mut delay = Duration::from_millis(5);
    let mut waited = Duration::ZERO;
    loop {
        let err = match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        match err.raw_os_error().map(Errno::from_raw) {
            Some(Errno::ENOENT) => return Ok(()),
            Some(Errno::EBUSY) if waited < Duration::from_secs(2) => {
                std::thread::sleep(delay);
                waited += delay;
                delay = (delay * 2).min(Duration::from_millis(200));
            }
            _ => return Err(err).with_context(|| format!("removing cgroup {}", dir.display())),
        }
    }
}

/// Removes `dir` and any sub-cgroups the container made, deepest first.
fn remove_tree(dir: &Path) -> Result<()> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    for e in rd.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&e.path())?;
        }
    }
    rmdir_retrying(dir)
}

impl Cgroup {
    /// Every directory of the cgroup, once each (co-mounted v1 controllers share one).
    fn dirs(&self) -> Vec<&Path> {
        let mut v: Vec<&Path> = Vec::new();
        for d in self.v1.values().chain(self.v2.iter()) {
            if !v.contains(&d.as_path()) {
                v.push(d);
            }
        }
        v
    }

    /// The directory whose cgroup.procs lists the container's processes.
    fn procs_dir(&self) -> Result<&Path> {
        ["freezer", "devices", "pids", "memory"]
            .iter()
            .find_map(|c| self.v1.get(*c))
            .or(self.v2.as_ref())
            .or(self.v1.values().next())
            .map(PathBuf::as_path)
            .context("the container's cgroup has no directory")
    }

    /// The v2 directory (pure or hybrid), or an error for a cgroup without one (a corrupt
    /// state) rather than an abort.
    pub(crate) fn v2_dir(&self) -> Result<&Path> {
        self.v2
            .as_deref()
            .context("the container's v2 cgroup has no directory")
    }

    /// Checks a cgroup read back from state.json, which may be corrupt or hand-edited: the
    /// directories its mode needs are there, and each is a cgroup strictly below a mounted
    /// cgroup hierarchy (never a hierarchy's root, never reached through ".."), so that
    /// signalling or removing it cannot reach past the container.
    pub fn validate(&self) -> Result<()> {
        let complete = match self.mode {
            Mode::V2 => self.v2.is_some() && self.v1.is_empty(),
            Mode::V1 => !self.v1.is_empty() && self.v2.is_none(),
            Mode::Hybrid => !self.v1.is_empty(),
        };
        if !complete {
            bail!("cgroup: the directories do not match mode {:?}", self.mode);
        }
        let layout = mounts::detect()?;
        for p in self.v1.values().chain(&self.v2) {
            let below = |h: &mounts::Hierarchy| {
                p.strip_prefix(&h.mountpoint).is_ok_and(|rest| {
                    rest.components().next().is_some()
                        && rest
                            .components()
                            .all(|c| matches!(c, std::path::Component::Normal(_)))
                })
            };
            if !(layout.v1.iter().any(below) || layout.v2.iter().any(below)) {
                bail!(
                    "cgroup: {} is not a cgroup below a mounted hierarchy",
                    p.display()
                );
            }
        }
        Ok(())
    }

    pub(crate) fn v1_dir(&self, controller: &str) -> Option<&Path> {
        self.v1.get(controller).map(|p| p.as_path())
    }

    /// Whether the v2 directory (pure or hybrid) offers `controller`.
    pub(crate) fn v2_has(&self, controller: &str) -> bool {
        self.v2
            .as_deref()
            .and_then(|d| controllers_of(d).ok())
            .is_some_and(|c| c.iter().any(|x| x == controller))
    }

    fn check_unused(&self) -> Result<()> {
        for d in self.dirs() {
            match files::read(d, "cgroup.procs") {
                Ok(s) => {
                    let n = s.lines().filter(|l| !l.is_empty()).count();
                    if n > 0 {
                        bail!(
                            "container's cgroup is not empty: {n} process(es) found in {}",
                            d.display()
                        );
                    }
                }
                Err(_) if !d.exists() => continue,
                Err(e) => return Err(e),
            }
        }
        // A host without any freezer cannot have frozen it.
        if self.dirs().iter().any(|d| d.exists()) && matches!(self.is_frozen(), Ok(true)) {
            bail!(
                "container's cgroup unexpectedly frozen ({})",
                self.procs_dir()?.display()
            );
        }
        Ok(())
    }

    /// Pure v2 only: the cgroup directory, for clone3's CLONE_INTO_CGROUP. None after the
    /// Cgroup was loaded from the state store, or on v1/hybrid (use `add_process`).
    pub fn dir_fd_v2(&self) -> Option<BorrowedFd<'_>> {
        self.dir_fd.as_ref().map(|fd| fd.as_fd())
    }

    /// `exec --cgroup [controller:]path`: the same cgroup with `path` (relative, inside the
    /// container's) appended for the named controllers, or for every hierarchy without one.
    /// The sub-cgroups must exist (the container made them).
    pub fn sub_cgroup(&self, specs: &[String]) -> Result<Cgroup> {
        let mut out = self.clone();
        out.dir_fd = None;
        for spec in specs {
            let (ctrl, path) = match spec.split_once(':') {
                Some((c, p)) => (Some(c), p),
                None => (None, spec.as_str()),
            };
            let rel = Path::new(path.trim_start_matches('/'));
            if rel
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
            {
                anyhow::bail!(
                    "--cgroup {spec:?}: the path must stay inside the container's cgroup"
                );
            }
            let mut found = false;
            for (name, dir) in out.v1.iter_mut() {
                if ctrl.is_none_or(|c| name.split(',').any(|n| n == c)) {
                    *dir = self.v1[name].join(rel);
                    found = true;
                }
            }
            if let (Some(v2), Some(base)) = (out.v2.as_mut(), self.v2.as_ref()) {
                if ctrl.is_none() || self.mode == Mode::V2 {
                    *v2 = base.join(rel);
                    out.systemd_sub = Some(rel.to_string_lossy().into_owned());
                    found = true;
                }
            }
            if !found {
                anyhow::bail!("--cgroup {spec:?}: no such controller in the container's cgroups");
            }
        }
        for d in out.dirs() {
            if !d.is_dir() {
                anyhow::bail!("--cgroup: {} does not exist", d.display());
            }
        }
        Ok(out)
    }

    /// Puts the container's init into the cgroup `create` made. With the systemd driver,
    /// systemd makes the unit with init in it, then the resources are written through
    /// cgroupfs too (systemd has properties for only part of them).
    pub fn place_init(&self, pid: i32) -> Result<()> {
        let (Some(unit), Some(pending)) = (&self.systemd, &self.pending) else {
            return self.add_process(pid);
        };
        systemd::start(unit, pending, pid)?;
        let dir = self.v2_dir()?;
        if !dir.is_dir() {
            bail!(
                "systemd made unit {} but not its cgroup {}",
                unit.name,
                dir.display()
            );
        }
        v2::set(dir, &pending.resources, false)?;
        warn_kernel_memory(&pending.resources);
        if !unit.user {
            let fd = nix::fcntl::open(
                dir,
                nix::fcntl::OFlag::O_RDONLY
                    | nix::fcntl::OFlag::O_DIRECTORY
                    | nix::fcntl::OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .with_context(|| format!("opening {}", dir.display()))?;
            v2::set_devices(fd.as_fd(), &pending.resources)?;
        }
        Ok(())
    }

    /// Moves `pid` into the cgroup in every hierarchy (cgroup.procs).
    pub fn add_process(&self, pid: i32) -> Result<()> {
        for d in self.dirs() {
            let written = files::write(
                d,
                "cgroup.procs",
                &pid.to_string(),
                "adding the process to its cgroup",
            );
            // A user cannot move a process out of a cgroup it does not own (the session it
            // runs in) into its systemd's delegated unit; its systemd can (runc does the same).
            if let (Err(e), Some(unit)) = (&written, self.systemd.as_ref().filter(|u| u.user)) {
                let sub = self.systemd_sub.as_deref().unwrap_or("");
                return systemd::attach(unit, sub, pid)
                    .with_context(|| format!("{e:#}; asking systemd to move it instead"));
            }
            written?;
        }
        Ok(())
    }

    pub fn freeze(&self) -> Result<()> {
        freezer::freeze(self)
    }

    pub fn thaw(&self) -> Result<()> {
        freezer::thaw(self)
    }

    pub fn is_frozen(&self) -> Result<bool> {
        freezer::is_frozen(self)
    }

    /// Every process in the cgroup and its sub-cgroups.
    pub fn pids(&self) -> Result<Vec<i32>> {
        let mut out = Vec::new();
        collect_pids(self.procs_dir()?, &mut out)?;
        Ok(out)
    }

    /// Sends `sig` to every process: through cgroup.kill for SIGKILL where the kernel has
    /// it, else (as runc) with the cgroup frozen so no process forks past the signal.
    pub fn kill_all(&self, sig: Signal) -> Result<()> {
        self.signal_all(sig as i32)
    }

    /// `kill_all` with a signal number (real-time signals, 0 to probe).
    pub fn signal_all(&self, sig: i32) -> Result<()> {
        if sig == libc::SIGKILL {
            if let Some(d) = &self.v2 {
                if d.join("cgroup.kill").exists() {
                    files::write(d, "cgroup.kill", "1", "killing the container's processes")?;
                    // On a hybrid host a v1-frozen process takes the SIGKILL only once thawed.
                    if self.v1_dir("freezer").is_some() && self.is_frozen().unwrap_or(false) {
                        self.thaw()?;
                    }
                    return Ok(());
                }
            }
        }
        let frozen = self.freeze().is_ok();
        let res = (|| {
            for pid in self.pids()? {
                match crate::signals::send(pid, sig) {
                    Ok(()) | Err(Errno::ESRCH) => {}
                    Err(e) => {
                        let name = crate::signals::name(sig);
                        return Err(e).with_context(|| format!("sending {name} to {pid}"));
                    }
                }
            }
            Ok(())
        })();
        if frozen {
            self.thaw()?;
        }
        res
    }

    /// Applies new limits to the running container (`berth update`). Device rules cannot
    /// be changed this way (runc's update does not change them either).
    pub fn update(&self, resources: &LinuxResources) -> Result<()> {
        if resources.devices().as_ref().is_some_and(|d| !d.is_empty()) {
            bail!("linux.resources.devices: device rules cannot be changed by update");
        }
        validate::resources(resources, &validate::Machine::read()?)?;
        let layout = mounts::detect()?;
        let v2_controllers = match &layout.v2 {
            Some(h) => controllers_of(&h.mountpoint)?,
            None => Vec::new(),
        };
        validate::for_layout(resources, &layout, &v2_controllers)?;
        warn_kernel_memory(resources);
        let mut adjusted;
        let mut resources = resources;
        if let Some(unit) = &self.systemd {
            // Before systemd applies a limit below the usage (and the OOM killer acts).
            if let Some(m) = resources
                .memory()
                .filter(|m| m.check_before_update() == Some(true))
            {
                let usage = files::read_u64(self.v2_dir()?, "memory.current")?;
                check_before_update(
                    m.limit().filter(|&v| v != 0),
                    m.swap().filter(|&v| v != 0),
                    usage,
                )?;
            }
            adjusted = resources.clone();
            systemd::set(unit, &mut adjusted)?;
            resources = &adjusted;
        }
        match self.mode {
            Mode::V2 => v2::set(self.v2_dir()?, resources, true),
            Mode::V1 | Mode::Hybrid => v1::set(self, resources, true),
        }
    }

    /// Usage statistics, shaped like runc's `events --stats` data.
    pub fn stats(&self) -> Result<Stats> {
        stats::collect(self)
    }

    /// A pollable source of OOM-kill events (see OomEvents).
    pub fn oom_events(&self) -> Result<OomEvents> {
        oom::watch(self)
    }

    /// Removes the cgroup's directories (and sub-cgroups), waiting briefly for processes
    /// that are still exiting.
    pub fn destroy(&self) -> Result<()> {
        let mut first_err = None;
        // (A create that failed before asking systemd for the unit has none to stop.)
        let asked = self.pending.as_ref().is_none_or(|p| p.asked());
        if let Some(unit) = self.systemd.as_ref().filter(|_| asked) {
            if let Err(e) = systemd::stop(unit, self.v2_dir()?) {
                first_err = Some(e);
            }
        }
        for d in self.dirs() {
            if let Err(e) = remove_tree(d) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

fn collect_pids(dir: &Path, out: &mut Vec<i32>) -> Result<()> {
    let text = match files::read(dir, "cgroup.procs") {
        Ok(t) => t,
        Err(_) if !dir.exists() => return Ok(()),
        Err(e) => return Err(e),
    };
    out.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                collect_pids(&e.path(), out)?;
            }
        }
    }
    Ok(())
}

/// rdma.max line, the same on v1 and v2: "mlx4_0 hca_handle=2 hca_object=2000".
fn rdma_line(dev: &str, l: &oci_spec::runtime::LinuxRdma) -> String {
    let mut s = dev.to_string();
    if let Some(h) = l.hca_handles() {
        s.push_str(&format!(" hca_handle={h}"));
    }
    if let Some(o) = l.hca_objects() {
        s.push_str(&format!(" hca_object={o}"));
    }
    s
}

/// memory.checkBeforeUpdate: refuse a limit (or memory+swap limit) at or below the current
/// usage before writing anything, in runc's words (runc checks this on cgroup v2 only).
pub fn check_before_update(limit: Option<i64>, swap: Option<i64>, usage: u64) -> Result<()> {
    if let Some(s) = swap.filter(|&s| s > 0 && s as u64 <= usage) {
        bail!("rejecting memory+swap limit {s} <= usage {usage}");
    }
    if let Some(l) = limit.filter(|&l| l > 0 && l as u64 <= usage) {
        bail!("rejecting memory limit {l} <= usage {usage}");
    }
    Ok(())
}
