//! Checkpoint and restore through CRIU's command line (`criu pre-dump|dump|restore`), with
//! the options runc passes over CRIU's RPC: the container's root (--root), its cgroup
//! (--manage-cgroups, --freeze-cgroup to stop it, --cgroup-root to restore into the new
//! container's cgroup), the network namespace left empty (berth configures no network
//! devices, as runc), config bind mounts, host devices and masked files as external mounts,
//! namespaces joined by path as external ones, and the init's stdio handed over with
//! --inherit-fd. What restore must give back is kept in `berth-checkpoint.json` next to
//! CRIU's images; CRIU's own log (dump.log, pre-dump.log, restore.log) is in the work path,
//! which defaults to the image path, and every error names it.

use anyhow::{anyhow, bail, Context, Result};
use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::ffi::OsString;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cgroups::Cgroup;

mod external;
#[cfg(test)]
mod tests;

use external::{
    clean_abs, external_mounts, joined_namespaces_external, joined_namespaces_restore,
    mount_source, mountinfo, stdio_key,
};

/// The CRIU binary, looked up in $PATH (Debian's package installs /usr/sbin/criu).
const CRIU: &str = "criu";
/// What berth writes next to CRIU's images for restore.
const META_FILE: &str = "berth-checkpoint.json";

/// --manage-cgroups-mode: how CRIU treats the container's cgroups (CRIU's modes of the
/// same names; soft is runc's default).
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CgroupsMode {
    /// Restore cgroup properties only for cgroups CRIU creates
    #[default]
    Soft,
    /// Restore every cgroup and its properties
    Full,
    /// As full, and fail where a cgroup already exists
    Strict,
    /// Leave cgroups alone
    Ignore,
}

impl CgroupsMode {
    fn criu_name(self) -> &'static str {
        match self {
            CgroupsMode::Soft => "soft",
            CgroupsMode::Full => "full",
            CgroupsMode::Strict => "strict",
            CgroupsMode::Ignore => "ignore",
        }
    }
}

/// Options checkpoint and restore share (runc's flags of the same names).
#[derive(Debug, Clone, Default)]
pub struct Common {
    /// CRIU's image directory.
    pub image_path: PathBuf,
    /// Where CRIU writes its log; the image path when None.
    pub work_path: Option<PathBuf>,
    pub tcp_established: bool,
    pub ext_unix_sk: bool,
    pub shell_job: bool,
    pub file_locks: bool,
    pub manage_cgroups: CgroupsMode,
}

#[derive(Debug, Clone, Default)]
pub struct DumpOpts {
    pub common: Common,
    pub leave_running: bool,
    /// Dump memory only and leave the container running (iterative migration).
    pub pre_dump: bool,
    /// A previous (pre-)dump, relative to the image path.
    pub parent_path: Option<PathBuf>,
}

/// What restore needs besides CRIU's images.
#[derive(Serialize, Deserialize, Debug, Default, PartialEq, Eq)]
struct Meta {
    /// For fds 0, 1 and 2 of init: the CRIU key of a file, pipe, socket or terminal from
    /// outside the container, which restore replaces with its own fd of the same number.
    stdio: Vec<Option<String>>,
    /// Cookies of the external mounts: `bind=DEST` (a config bind mount, restored from the
    /// bundle's source for DEST) or `dev=PATH` (restored from the host's PATH).
    mounts: Vec<String>,
}

/// The container being dumped.
pub struct DumpTarget<'a> {
    pub pid: i32,
    pub rootfs: &'a Path,
    pub spec: &'a Spec,
    pub cgroup: Option<&'a Cgroup>,
}

/// Runs `criu dump` (or `pre-dump`) on the container's init and its whole process tree.
/// Without --leave-running or --pre-dump, CRIU kills the tree once it is dumped.
pub fn dump(o: &DumpOpts, t: &DumpTarget) -> Result<()> {
    let c = &o.common;
    make_dir(&c.image_path, "--image-path")?;
    if let Some(w) = &c.work_path {
        make_dir(w, "--work-path")?;
    }
    if let Some(p) = &o.parent_path {
        check_parent(&c.image_path, p)?;
    }
    let mut externals = Vec::new();
    let mut meta = Meta::default();
    if !o.pre_dump {
        let mounts = mountinfo(t.pid)?;
        let points: HashSet<PathBuf> = mounts.iter().map(|m| m.mount_point.clone()).collect();
        for (point, cookie) in external_mounts(t.pid, t.spec, &points) {
            externals.push(format!("mnt[{}]:{cookie}", point.display()));
            meta.mounts.push(cookie);
        }
        let ids: HashSet<i32> = mounts.iter().map(|m| m.mnt_id).collect();
        for fd in 0..3 {
            let (key, external) = stdio_key(t.pid, fd, &ids)?.unzip();
            // fds 1 and 2 are often one file: one --external for it.
            if let Some(e) = external.flatten().filter(|e| !externals.contains(e)) {
                externals.push(e);
            }
            meta.stdio.push(key);
        }
    }
    externals.extend(joined_namespaces_external(t.spec)?);

    let freeze = t.cgroup.and_then(freezer_dir);
    let log = if o.pre_dump {
        "pre-dump.log"
    } else {
        "dump.log"
    };
    let args = dump_args(o, t.pid, t.rootfs, freeze, &externals, log);
    let mut cmd = Command::new(CRIU);
    cmd.args(&args).stdin(Stdio::null()).stdout(Stdio::null());
    run(
        cmd,
        if o.pre_dump { "pre-dump" } else { "dump" },
        &log_path(c, log),
    )?;
    if !o.pre_dump {
        let path = c.image_path.join(META_FILE);
        let data = serde_json::to_vec(&meta).context("encoding the checkpoint's metadata")?;
        std::fs::write(&path, data).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn dump_args(
    o: &DumpOpts,
    pid: i32,
    rootfs: &Path,
    freeze: Option<&Path>,
    externals: &[String],
    log: &str,
) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec![if o.pre_dump { "pre-dump" } else { "dump" }.into()];
    a.push("--tree".into());
    a.push(pid.to_string().into());
    common_args(&mut a, &o.common, log);
    a.push("--root".into());
    a.push(rootfs.into());
    if let Some(f) = freeze {
        // The freezer stops the whole tree at once, new children included (and CRIU copes
        // with a container that is already paused), where ptrace would chase forks.
        a.push("--freeze-cgroup".into());
        a.push(f.into());
    }
    if o.leave_running {
        a.push("--leave-running".into());
    }
    if let Some(p) = &o.parent_path {
        a.push("--prev-images-dir".into());
        a.push(p.into());
        a.push("--track-mem".into());
    } else if o.pre_dump {
        // Lets a later dump with --parent-path copy only what changed since.
        a.push("--track-mem".into());
    }
    for e in externals {
        a.push("--external".into());
        a.push(e.into());
    }
    a
}

/// The options dump and restore share.
fn common_args(a: &mut Vec<OsString>, c: &Common, log: &str) {
    a.push("--images-dir".into());
    a.push(c.image_path.clone().into());
    if let Some(w) = &c.work_path {
        a.push("--work-dir".into());
        a.push(w.into());
    }
    a.extend(["--log-file".into(), log.into(), "-v4".into()]);
    a.push(format!("--manage-cgroups={}", c.manage_cgroups.criu_name()).into());
    // berth sets up no network devices, so there is nothing of the namespace to keep (runc
    // does the same); this also spares CRIU iptables, which the namespace would need.
    a.extend(["--empty-ns".into(), "net".into()]);
    if !in_path("iptables-restore") {
        // CRIU locks the container's network with iptables-restore by default, which
        // Debian's criu does not depend on; it links libnftables, so lock with that.
        a.extend(["--network-lock".into(), "nftables".into()]);
    }
    for (on, flag) in [
        (c.tcp_established, "--tcp-established"),
        (c.ext_unix_sk, "--ext-unix-sk"),
        (c.shell_job, "--shell-job"),
        (c.file_locks, "--file-locks"),
    ] {
        if on {
            a.push(flag.into());
        }
    }
}

/// The container being restored: its bundle, the new container's cgroup (already made with
/// linux.resources applied), the rootfs bind-mounted where CRIU wants it, and where CRIU
/// writes the restored init's pid.
pub struct RestoreTarget<'a> {
    pub spec: &'a Spec,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub cgroup: &'a Cgroup,
    /// A directory of berth's (not a container's) where the rootfs is bind-mounted for CRIU.
    pub criu_root: &'a Path,
}

/// Runs `criu restore` for a new container and returns the restored init's pid. CRIU runs
/// in the container's cgroup and restores the tree as its sibling (`--restore-sibling`), so
/// init is this process's child. The stdio of init is this process's own stdio.
pub fn restore(c: &Common, t: &RestoreTarget) -> Result<i32> {
    let meta_path = c.image_path.join(META_FILE);
    let meta: Meta = match std::fs::read(&meta_path) {
        Ok(d) => serde_json::from_slice(&d)
            .with_context(|| format!("reading {}", meta_path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "--image-path {}: no checkpoint made by berth checkpoint here (no {META_FILE})",
            c.image_path.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("reading {}", meta_path.display())),
    };
    if let Some(w) = &c.work_path {
        make_dir(w, "--work-path")?;
    }
    let mut mounts = Vec::new();
    for cookie in &meta.mounts {
        mounts.push((cookie.clone(), mount_source(cookie, t.spec, t.bundle)?));
    }
    let (ns_fds, ns_args) = joined_namespaces_restore(t.spec)?;
    let pidfile = PathBuf::from(format!("{}.pid", t.criu_root.display()));
    let _ = std::fs::remove_file(&pidfile);
    let cgroup_roots = cgroup_roots(t.cgroup)?;

    let root = RootMount::new(t.rootfs, t.criu_root)?;
    let mut a: Vec<OsString> = vec!["restore".into()];
    common_args(&mut a, c, "restore.log");
    a.push("--root".into());
    a.push(root.path.clone().into());
    // Detached, and as a sibling: CRIU exits once the tree runs, and init is berth's child.
    a.extend(["--restore-detached".into(), "--restore-sibling".into()]);
    a.push("--pidfile".into());
    a.push(pidfile.clone().into());
    // A host device's node may differ (in path or owner) from the dumped one.
    a.push("--evasive-devices".into());
    for r in &cgroup_roots {
        a.push("--cgroup-root".into());
        a.push(r.into());
    }
    for (cookie, source) in &mounts {
        a.push("--external".into());
        a.push(format!("mnt[{cookie}]:{}", source.display()).into());
    }
    a.extend(inherit_args(&meta.stdio));
    a.extend(ns_args.into_iter().map(OsString::from));

    let mut cmd = Command::new(CRIU);
    cmd.args(&a);
    let cgroup = t.cgroup.clone();
    let keep: Vec<RawFd> = ns_fds.iter().map(|f| f.as_raw_fd()).collect();
    // SAFETY: runs in the forked child before exec; berth is single-threaded, so the
    // allocation in add_process cannot meet a lock held by another thread.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            in_child_before_criu(&cgroup, &keep)
        });
    }
    let result = run(cmd, "restore", &log_path(c, "restore.log"));
    drop(ns_fds);
    drop(root);
    result?;
    let text = std::fs::read_to_string(&pidfile)
        .with_context(|| format!("reading CRIU's pid file {}", pidfile.display()))?;
    let _ = std::fs::remove_file(&pidfile);
    text.trim()
        .parse()
        .with_context(|| format!("CRIU's pid file {}: {text:?}", pidfile.display()))
}

/// In CRIU's process before exec: join the container's cgroup (the restored tree starts in
/// CRIU's cgroup), take the signal mask berth blocked for its signalfd away (CRIU relies on
/// SIGCHLD), and let the namespace fds through exec.
fn in_child_before_criu(cgroup: &Cgroup, keep: &[RawFd]) -> std::io::Result<()> {
    cgroup
        .add_process(std::process::id() as i32)
        .map_err(|e| std::io::Error::other(format!("{e:#}")))?;
    nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&nix::sys::signal::SigSet::empty()),
        None,
    )?;
    for fd in keep {
        // SAFETY: fcntl on an fd this process owns; it only clears FD_CLOEXEC.
        if unsafe { libc::fcntl(*fd, libc::F_SETFD, 0) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn inherit_args(stdio: &[Option<String>]) -> Vec<OsString> {
    let mut seen = HashSet::new();
    let mut a = Vec::new();
    for (fd, key) in stdio.iter().enumerate() {
        // fds that shared one file at dump time are one file in the image: the first wins.
        if let Some(k) = key.as_ref().filter(|k| seen.insert(k.as_str())) {
            a.push("--inherit-fd".into());
            a.push(format!("fd[{fd}]:{k}").into());
        }
    }
    a
}

/// The rootfs bind-mounted at a directory of berth's: CRIU wants a mount point whose
/// parent is not overmounted. Unmounted and removed on drop, before anything could
/// remove the directory recursively and reach into the rootfs.
struct RootMount {
    path: PathBuf,
}

impl RootMount {
    fn new(rootfs: &Path, path: &Path) -> Result<RootMount> {
        match std::fs::create_dir(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                bail!("{} exists: another restore of this id is under way, or one died (unmount and remove it)", path.display())
            }
            Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
        }
        let flags = nix::mount::MsFlags::MS_BIND | nix::mount::MsFlags::MS_REC;
        if let Err(e) = nix::mount::mount(Some(rootfs), path, None::<&str>, flags, None::<&str>) {
            let _ = std::fs::remove_dir(path);
            return Err(e).with_context(|| {
                format!(
                    "bind-mounting the rootfs {} at {}",
                    rootfs.display(),
                    path.display()
                )
            });
        }
        Ok(RootMount {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for RootMount {
    fn drop(&mut self) {
        if let Err(e) = nix::mount::umount2(&self.path, nix::mount::MntFlags::MNT_DETACH) {
            crate::logging::warn(&format!("unmounting {}: {e}", self.path.display()));
            return;
        }
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// Runs CRIU and turns a failure into one line: the exit status, CRIU's first error line,
/// and where its whole log is.
fn run(mut cmd: Command, what: &str, log: &Path) -> Result<()> {
    crate::logging::debug(&format!(
        "running {CRIU} {}",
        cmd.get_args()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let status = match cmd.status() {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("criu {what}: the criu program is not installed (Debian: apt install criu)")
        }
        Err(e) => return Err(e).with_context(|| format!("running criu {what}")),
    };
    if status.success() {
        return Ok(());
    }
    let first_error = std::fs::read_to_string(log)
        .ok()
        .and_then(|t| first_error_line(&t))
        .map(|l| format!(": {l}"))
        .unwrap_or_default();
    bail!(
        "criu {what} failed ({status}){first_error} (log: {})",
        log.display()
    )
}

/// CRIU's first error line about the work itself: errors logged before the "=====" banner
/// that starts it come from probes of the kernel's features, which CRIU shrugs off.
fn first_error_line(log: &str) -> Option<String> {
    let is_error = |l: &&str| l.contains("Error (") || l.starts_with("Error");
    let start = log
        .lines()
        .position(|l| l.starts_with("(") && l.contains("====="));
    let after = start.and_then(|s| log.lines().skip(s).find(is_error));
    after
        .or_else(|| log.lines().find(is_error))
        .map(|l| l.trim().to_string())
}

fn in_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

fn log_path(c: &Common, name: &str) -> PathBuf {
    c.work_path.as_deref().unwrap_or(&c.image_path).join(name)
}

fn make_dir(dir: &Path, flag: &str) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("{flag}: creating {}", dir.display()))
}

/// --parent-path: relative to the image path (CRIU's --prev-images-dir is), and there.
fn check_parent(image: &Path, parent: &Path) -> Result<()> {
    if parent.is_absolute() {
        bail!(
            "--parent-path {}: must be relative to --image-path",
            parent.display()
        );
    }
    let full = image.join(parent);
    if !full.is_dir() {
        bail!(
            "--parent-path {}: {} is not a directory of a previous dump",
            parent.display(),
            full.display()
        );
    }
    Ok(())
}

/// The freezer CRIU stops the tree with: v1's freezer hierarchy, else the v2 cgroup.
fn freezer_dir(cg: &Cgroup) -> Option<&Path> {
    cg.v1
        .get("freezer")
        .map(PathBuf::as_path)
        .or(cg.v2.as_deref())
}

/// `--cgroup-root` values placing the restored tree in the new container's cgroup: on pure
/// v2 one default root; on v1 one per hierarchy, named as /proc/self/cgroup names it.
fn cgroup_roots(cg: &Cgroup) -> Result<Vec<String>> {
    let mut roots = Vec::new();
    if !cg.v1.is_empty() {
        let own =
            std::fs::read_to_string("/proc/self/cgroup").context("reading /proc/self/cgroup")?;
        for line in own.lines() {
            let mut f = line.splitn(3, ':');
            let (_, Some(ctrls), _) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let first = ctrls.split(',').next().unwrap_or_default();
            if let Some(dir) = cg.v1.get(first) {
                roots.push(format!("{ctrls}:{}", hierarchy_path(dir)?));
            }
        }
    }
    if let Some(dir) = &cg.v2 {
        roots.push(hierarchy_path(dir)?);
    }
    Ok(roots)
}

/// A cgroup directory as a path inside its hierarchy (what /proc/PID/cgroup shows).
fn hierarchy_path(dir: &Path) -> Result<String> {
    let infos = procfs::process::Process::myself()
        .and_then(|p| p.mountinfo())
        .context("reading /proc/self/mountinfo")?;
    let m = infos
        .iter()
        .filter(|m| m.fs_type == "cgroup" || m.fs_type == "cgroup2")
        .filter(|m| dir.starts_with(&m.mount_point))
        .max_by_key(|m| m.mount_point.as_os_str().len())
        .ok_or_else(|| anyhow!("cgroup {}: not on a cgroup mount", dir.display()))?;
    let rel = dir
        .strip_prefix(&m.mount_point)
        .expect("filtered on the prefix");
    Ok(clean_abs(&Path::new(&m.root).join(rel))
        .to_string_lossy()
        .into_owned())
}
