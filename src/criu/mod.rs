//! Checkpoint and restore through CRIU's RPC (`criu swrk`, see `rpc`), with the options
//! runc passes: the container's root, its cgroup (the cgroups mode, its freezer to stop it,
//! cgroup roots to restore into the new container's cgroup), the network namespace left
//! empty (berth configures no network devices, as runc), config bind mounts, host devices
//! and masked files as external mounts, namespaces joined by path as external ones, init's
//! stdio handed over as inherited fds, and a terminal's new pty master handed back. What
//! restore must give back is kept in `berth-checkpoint.json` next to CRIU's images; CRIU's
//! own log (dump.log, pre-dump.log, restore.log) is in the work path, which defaults to the
//! image path, and every error names it.

use anyhow::{anyhow, bail, Context, Result};
use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cgroups::Cgroup;

mod external;
pub mod rpc;
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
    fn rpc(self) -> rpc::CgMode {
        match self {
            CgroupsMode::Soft => rpc::CgMode::Soft,
            CgroupsMode::Full => rpc::CgMode::Full,
            CgroupsMode::Strict => rpc::CgMode::Strict,
            CgroupsMode::Ignore => rpc::CgMode::Ignore,
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
    /// --empty-ns: namespaces (CLONE_NEW* flags) CRIU makes without restoring their
    /// contents, besides the network's, which always is (see `common_opts`).
    pub empty_ns: u32,
    pub auto_dedup: bool,
    /// --lazy-pages: memory pages are served on demand (by the dump's page server, through
    /// CRIU's lazy-pages daemon) instead of being in the images.
    pub lazy_pages: bool,
    /// --lsm-profile TYPE:NAME and --lsm-mount-context (restore only).
    pub lsm_profile: Option<String>,
    pub lsm_mount_context: Option<String>,
}

/// --page-server ADDRESS:PORT of a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageServer {
    pub address: String,
    pub port: i32,
}

/// --empty-ns NAME..., as runc takes them: only the network namespace can be named (it is
/// left empty anyway).
pub fn empty_ns(names: &[String]) -> Result<u32> {
    let mut mask = 0;
    for ns in names {
        match ns.as_str() {
            "network" => mask |= libc::CLONE_NEWNET as u32,
            _ => bail!("namespace {ns:?} is not supported"),
        }
    }
    Ok(mask)
}

/// --page-server ADDRESS:PORT (an IPv6 address in brackets), with runc's errors. Port 0
/// names no page server (runc passes none to CRIU then).
pub fn page_server(arg: &str) -> Result<Option<PageServer>> {
    const USAGE: &str = "Use --page-server ADDRESS:PORT to specify page server";
    let (address, port) = match arg.strip_prefix('[') {
        Some(rest) => {
            let (host, after) = rest.split_once(']').context(USAGE)?;
            (host, after.strip_prefix(':').context(USAGE)?)
        }
        None => {
            let (host, port) = arg.rsplit_once(':').context(USAGE)?;
            if host.contains(':') || host.contains('[') || host.contains(']') {
                bail!(USAGE);
            }
            (host, port)
        }
    };
    if address.is_empty() || port.is_empty() || port.contains(['[', ']']) {
        bail!(USAGE);
    }
    let port: i32 = port.parse().map_err(|_| anyhow!("Invalid port number"))?;
    Ok((port != 0).then(|| PageServer {
        address: address.to_string(),
        port,
    }))
}

/// --status-fd with --lazy-pages: an open fd of berth's, open for writing. As in runc, an
/// fd opened read-write is refused too (runc tests the O_WRONLY bit alone).
pub fn check_status_fd(fd: RawFd) -> Result<()> {
    // SAFETY: borrowed only for the fcntl; an fd not open makes it fail with EBADF.
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let flags = nix::fcntl::fcntl(borrowed, nix::fcntl::FcntlArg::F_GETFL).map_err(|e| {
        // strerror's words, lower-cased as Go prints an errno.
        let text = std::io::Error::from(e).to_string();
        let text = text.split(" (os error").next().unwrap_or_default();
        anyhow!("invalid --status-fd argument {fd}: {}", text.to_lowercase())
    })?;
    if flags & libc::O_WRONLY == 0 {
        bail!("invalid --status-fd argument {fd}: not writable");
    }
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct DumpOpts {
    pub common: Common,
    pub leave_running: bool,
    /// Dump memory only and leave the container running (iterative migration).
    pub pre_dump: bool,
    /// A previous (pre-)dump, relative to the image path.
    pub parent_path: Option<PathBuf>,
    pub tcp_skip_in_flight: bool,
    pub link_remap: bool,
    pub page_server: Option<PageServer>,
    /// --status-fd: with --lazy-pages, berth writes a NUL byte to it (and closes it) once
    /// CRIU is ready to serve the pages.
    pub status_fd: Option<RawFd>,
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

/// Runs a CRIU dump (or pre-dump) of the container's init and its whole process tree.
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
            // fds 1 and 2 are often one file: one external for it.
            if let Some(e) = external.flatten().filter(|e| !externals.contains(e)) {
                externals.push(e);
            }
            meta.stdio.push(key);
        }
    }
    externals.extend(joined_namespaces_external(t.spec)?);

    let log = if o.pre_dump {
        "pre-dump.log"
    } else {
        "dump.log"
    };
    if c.lazy_pages {
        check_lazy_pages()?;
        if let Some(fd) = o.status_fd {
            check_status_fd(fd)?;
        }
    }
    let dirs = Dirs::open(c)?;
    let freeze = t.cgroup.and_then(freezer_dir);
    let opts = dump_opts(o, &dirs, t.pid, t.rootfs, freeze, externals, log);
    let kind = if o.pre_dump {
        rpc::ReqType::PreDump
    } else {
        rpc::ReqType::Dump
    };
    let mut cmd = Command::new(CRIU);
    cmd.stdin(Stdio::null()).stdout(Stdio::null());
    let what = if o.pre_dump { "pre-dump" } else { "dump" };
    let mut status_fd = o.status_fd.filter(|_| c.lazy_pages);
    let on_notify = |n: rpc::Notification| {
        if n.script == "status-ready" {
            if let Some(fd) = status_fd.take() {
                status_ready(fd);
            }
        }
        Ok(())
    };
    let log = log_path(c, log);
    // Written before CRIU runs, as runc writes its descriptors.json: a lazy dump returns only
    // once the restore (which reads it) has taken every page. Removed if the dump fails.
    let meta_path = (!o.pre_dump).then(|| c.image_path.join(META_FILE));
    if let Some(path) = &meta_path {
        let data = serde_json::to_vec(&meta).context("encoding the checkpoint's metadata")?;
        std::fs::write(path, data).with_context(|| format!("writing {}", path.display()))?;
    }
    let dumped = rpc::call(cmd, &request(kind, opts), what, Some(&log), on_notify);
    if let (Err(_), Some(path)) = (&dumped, &meta_path) {
        let _ = std::fs::remove_file(path);
    }
    dumped.map(|_| ())
}

fn request(kind: rpc::ReqType, opts: rpc::Opts) -> rpc::Req {
    rpc::Req {
        r#type: kind as i32,
        opts: Some(opts),
        notify_success: None,
        features: None,
    }
}

/// --lazy-pages: asks CRIU whether it (and the kernel: userfaultfd) can do lazy pages, as
/// runc does before a lazy dump.
fn check_lazy_pages() -> Result<()> {
    let req = rpc::Req {
        r#type: rpc::ReqType::FeatureCheck as i32,
        opts: None,
        notify_success: None,
        features: Some(rpc::Features {
            lazy_pages: Some(true),
            ..Default::default()
        }),
    };
    let mut cmd = Command::new(CRIU);
    // Without a log file CRIU writes its probes' errors to stderr, which is berth's.
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let resp = rpc::call(cmd, &req, "feature check", None, |_| Ok(()))
        .context("--lazy-pages: CRIU's feature check failed")?;
    lazy_pages_answer(&resp)
}

fn lazy_pages_answer(resp: &rpc::Resp) -> Result<()> {
    match resp.features.as_ref().and_then(|f| f.lazy_pages) {
        Some(false) => bail!(
            "--lazy-pages: CRIU is missing features: lazy pages (CRIU or the kernel lacks userfaultfd)"
        ),
        _ => Ok(()),
    }
}

/// CRIU's "status-ready" with --lazy-pages: its page server is up, so the restore (with
/// CRIU's lazy-pages daemon) may start. runc writes one NUL byte and closes the fd.
fn status_ready(fd: RawFd) {
    // SAFETY: the fd is the caller's --status-fd, checked open for writing; berth owns it
    // from here and closes it once.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    if let Err(e) = nix::unistd::write(&fd, &[0]) {
        crate::logging::warn(&format!("can't write \\0 to status fd: {e}"));
    }
}

/// The image and work directories, open: CRIU's RPC takes them as fds of berth's.
struct Dirs {
    image: std::fs::File,
    work: Option<std::fs::File>,
}

impl Dirs {
    fn open(c: &Common) -> Result<Dirs> {
        let open = |dir: &Path, flag: &str| {
            std::fs::File::open(dir).with_context(|| format!("{flag}: opening {}", dir.display()))
        };
        Ok(Dirs {
            image: open(&c.image_path, "--image-path")?,
            work: c
                .work_path
                .as_deref()
                .map(|w| open(w, "--work-path"))
                .transpose()?,
        })
    }
}

fn dump_opts(
    o: &DumpOpts,
    dirs: &Dirs,
    pid: i32,
    rootfs: &Path,
    freeze: Option<&Path>,
    external: Vec<String>,
    log: &str,
) -> rpc::Opts {
    let mut r = common_opts(&o.common, dirs, log);
    r.pid = Some(pid);
    r.root = Some(rootfs.to_string_lossy().into_owned());
    // The freezer stops the whole tree at once, new children included (and CRIU copes with
    // a container that is already paused), where ptrace would chase forks.
    r.freeze_cgroup = freeze.map(|f| f.to_string_lossy().into_owned());
    r.leave_running = Some(o.leave_running);
    r.tcp_skip_in_flight = Some(o.tcp_skip_in_flight);
    r.link_remap = Some(o.link_remap);
    r.ps = o.page_server.as_ref().map(|p| rpc::PageServerInfo {
        address: Some(p.address.clone()),
        port: Some(p.port),
    });
    // CRIU tells the end of its lazy dump's setup with the "status-ready" notification,
    // which berth turns into the NUL byte on --status-fd (runc does so with CRIU >= 3.15).
    if o.common.lazy_pages && o.status_fd.is_some() {
        r.notify_scripts = Some(true);
    }
    // A pre-dump tracks memory so that the next dump (with --parent-path) copies only what
    // changed since.
    r.track_mem = Some(o.pre_dump || o.parent_path.is_some());
    r.parent_img = o
        .parent_path
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned());
    r.external = external;
    r
}

/// The options dump and restore share.
fn common_opts(c: &Common, dirs: &Dirs, log: &str) -> rpc::Opts {
    rpc::Opts {
        images_dir_fd: dirs.image.as_raw_fd(),
        work_dir_fd: dirs.work.as_ref().map(|w| w.as_raw_fd()),
        log_file: Some(log.to_string()),
        log_level: Some(4),
        manage_cgroups_mode: Some(c.manage_cgroups.rpc() as i32),
        // berth sets up no network devices, so there is nothing of the namespace to keep
        // (runc does the same); this also spares CRIU iptables, which the namespace needs.
        empty_ns: Some(libc::CLONE_NEWNET as u32 | c.empty_ns),
        auto_dedup: Some(c.auto_dedup),
        lazy_pages: Some(c.lazy_pages),
        // CRIU locks the container's network with iptables-restore by default, which
        // Debian's criu does not depend on; it links libnftables, so lock with that.
        network_lock: (!in_path("iptables-restore")).then_some(rpc::NetworkLock::Nftables as i32),
        tcp_established: Some(c.tcp_established),
        ext_unix_sk: Some(c.ext_unix_sk),
        shell_job: Some(c.shell_job),
        file_locks: Some(c.file_locks),
        // A container's own terminal has its master outside (with the console socket's
        // owner): restore makes a new pair and hands the master over (runc does the same).
        orphan_pts_master: Some(true),
        ..Default::default()
    }
}

/// The container being restored: its bundle, the new container's cgroup (already made with
/// linux.resources applied), and where the rootfs is bind-mounted for CRIU.
pub struct RestoreTarget<'a> {
    pub spec: &'a Spec,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub cgroup: &'a Cgroup,
    /// A directory of berth's (not a container's) where the rootfs is bind-mounted for CRIU.
    pub criu_root: &'a Path,
    /// --no-pivot: a directory of berth's where the host's root is bound for CRIU (see
    /// [`host_root_as_bind`]).
    pub no_pivot: Option<&'a Path>,
}

/// Restores a new container with CRIU and returns the restored init's pid. CRIU runs in
/// the container's cgroup and restores the tree as its sibling, so init is this process's
/// child. The stdio of init is this process's own stdio. `on_notify` gets CRIU's
/// notifications: "setup-namespaces" with init's pid, "orphan-pts-master" with the new pty
/// master of a container with a terminal.
pub fn restore(
    c: &Common,
    t: &RestoreTarget,
    on_notify: impl FnMut(rpc::Notification) -> Result<()>,
) -> Result<i32> {
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
    let mut external = Vec::new();
    for cookie in &meta.mounts {
        let source = mount_source(cookie, t.spec, t.bundle)?;
        external.push(format!("mnt[{cookie}]:{}", source.display()));
    }
    let joined = joined_namespaces_restore(t.spec)?;
    let _host_root_dir = match t.no_pivot {
        Some(dir) => {
            let d = TempDir::new(dir)?;
            host_root_as_bind(dir)?;
            Some(d)
        }
        None => None,
    };
    let dirs = Dirs::open(c)?;
    let root = RootMount::new(t.rootfs, t.criu_root)?;

    let mut r = restore_opts(c, &dirs, &root.path);
    r.cg_root = cgroup_roots(t.cgroup)?;
    r.external = external;
    r.inherit_fd = inherit_fds(&meta.stdio);
    r.inherit_fd.extend(joined.inherit);
    r.join_ns = joined.join;

    let mut cmd = Command::new(CRIU);
    let cgroup = t.cgroup.clone();
    let keep: Vec<RawFd> = joined.fds.iter().map(|f| f.as_raw_fd()).collect();
    // SAFETY: runs in the forked child before exec; berth is single-threaded, so the
    // allocation in add_process cannot meet a lock held by another thread.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            in_child_before_criu(&cgroup, &keep)
        });
    }
    let resp = rpc::call(
        cmd,
        &request(rpc::ReqType::Restore, r),
        "restore",
        Some(&log_path(c, "restore.log")),
        on_notify,
    )?;
    drop(root);
    resp.restore
        .map(|r| r.pid)
        .filter(|p| *p > 0)
        .ok_or_else(|| anyhow!("criu restore: CRIU's answer has no pid"))
}

/// The restore's options that come from the flags (the rest depends on the container).
fn restore_opts(c: &Common, dirs: &Dirs, root: &Path) -> rpc::Opts {
    let mut r = common_opts(c, dirs, "restore.log");
    r.root = Some(root.to_string_lossy().into_owned());
    // As a sibling: init is berth's child, and CRIU exits once the tree runs.
    r.rst_sibling = Some(true);
    // A host device's node may differ (in path or owner) from the dumped one.
    r.evasive_devices = Some(true);
    r.notify_scripts = Some(true);
    r.lsm_profile = c.lsm_profile.clone().filter(|p| !p.is_empty());
    r.lsm_mount_context = c.lsm_mount_context.clone().filter(|p| !p.is_empty());
    r
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

/// --no-pivot for restore. CRIU always enters the restored mount namespace with pivot_root
/// from its own root, which fails where that root cannot be pivoted away from (a ramdisk:
/// the initial rootfs has no parent mount). So this berth process (and CRIU after it) moves
/// to a mount namespace of its own whose root is a recursive bind of the host's root, moved
/// over "/" and chrooted into, as runc's --no-pivot enters a container's root: the same
/// tree at the same paths, but a mount with a parent, which pivot_root accepts. berth moves
/// too because CRIU opens the image and work directories through berth's fds and mounts
/// under them, which only works on mounts of its own namespace. `dir` is an empty
/// directory of berth's; the namespace goes away with berth and CRIU.
fn host_root_as_bind(dir: &Path) -> Result<()> {
    use crate::rootfs::pivot::{move_onto_root, set_propagation};
    let cwd = std::env::current_dir().context("--no-pivot: reading the current directory")?;
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
        .context("--no-pivot: making a mount namespace for CRIU")?;
    set_propagation(Path::new("/"), libc::MS_REC | libc::MS_PRIVATE)
        .context("--no-pivot: making / private")?;
    nix::mount::mount(
        Some("/"),
        dir,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND | nix::mount::MsFlags::MS_REC,
        None::<&str>,
    )
    .with_context(|| format!("--no-pivot: binding / at {}", dir.display()))?;
    move_onto_root(dir).context("--no-pivot")?;
    // The same path in the bind: relative paths (say --image-path) keep their meaning.
    let _ = nix::unistd::chdir(&cwd);
    Ok(())
}

fn inherit_fds(stdio: &[Option<String>]) -> Vec<rpc::InheritFd> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (fd, key) in stdio.iter().enumerate() {
        // fds that shared one file at dump time are one file in the image: the first wins.
        if let Some(k) = key.as_ref().filter(|k| seen.insert(k.as_str())) {
            out.push(rpc::InheritFd {
                key: k.clone(),
                fd: fd as i32,
            });
        }
    }
    out
}

/// An empty directory of berth's, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(path: &Path) -> Result<TempDir> {
        std::fs::create_dir(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(TempDir(path.to_path_buf()))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
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

/// Cgroup roots placing the restored tree in the new container's cgroup: on pure v2 one
/// default root; on v1 one per hierarchy, named as /proc/self/cgroup names it.
fn cgroup_roots(cg: &Cgroup) -> Result<Vec<rpc::CgroupRoot>> {
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
                roots.push(rpc::CgroupRoot {
                    ctrl: Some(ctrls.to_string()),
                    path: hierarchy_path(dir)?,
                });
            }
        }
    }
    if let Some(dir) = &cg.v2 {
        roots.push(rpc::CgroupRoot {
            ctrl: None,
            path: hierarchy_path(dir)?,
        });
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
