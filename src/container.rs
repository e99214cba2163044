//! The container lifecycle as the parent (the berth invocation) sees it: create, start,
//! kill, delete, and waiting for a container that `run` started.
//!
//! Process model: `create` clones init straight into its new namespaces (one clone3, no
//! re-exec of berth, no helper left behind). Only when the config joins existing namespaces
//! by path does a short-lived intermediate process setns into them first and clone init from
//! there, so that init's new namespaces are owned by the joined user namespace and the
//! parent's own view (its mount namespace, its paths) never changes. The same intermediate
//! makes a time namespace with offsets where berth must not (see `create_locked`). It clones
//! init with CLONE_PARENT, so init is berth's child either way. The parent and init speak
//! the protocol of `sync`.

use anyhow::{anyhow, bail, Context, Result};
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use oci_spec::runtime::LinuxNamespaceType;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::clone::{clone, Forked};
use crate::config::{self, Bundle};
use crate::state::{self, Locked, State};
use crate::sync::{self, Msg};
use crate::{
    cgroups, hooks, init, intelrdt, logging, namespaces, netdevices, rootfs, rootless, seccomp,
    terminal, userns,
};

/// Compiled seccomp filters, under --root. The name cannot be a container id.
pub const SECCOMP_CACHE: &str = "seccomp~cache";

// pause, resume, update, ps and events: the commands that work on a container's cgroup.
mod cgroup_ops;
mod events;
pub use cgroup_ops::{pause, pids, resume, update};
pub use events::events;

// checkpoint and restore (CRIU): see checkpoint.rs.
mod checkpoint;
mod intel_rdt;
pub use checkpoint::{checkpoint, restore, RestoreOpts};
pub use intel_rdt::update_intel_rdt;

// start, kill, delete: the lifecycle commands on an existing container.
mod delete;
mod kill;
mod start;
pub use delete::{delete, destroy};
pub use kill::kill;
pub use start::{start, Started};

pub struct CreateOpts<'a> {
    pub root: &'a Path,
    pub id: &'a str,
    pub bundle: &'a Path,
    pub pid_file: Option<&'a Path>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// --console-socket: where the pty master goes when process.terminal is true.
    pub console_socket: Option<&'a Path>,
    /// --pidfd-socket: where a pidfd of init goes once it is created.
    pub pidfd_socket: Option<&'a Path>,
    /// Whether berth returns once the container is created or started (`create`, `run -d`):
    /// then only a console socket can take a terminal (`terminal::check_opts`).
    pub detach: bool,
    /// --rootless, resolved: make the cgroup as an unprivileged berth does.
    pub rootless_cgroups: bool,
    /// --systemd-cgroup: the cgroup is a systemd unit (the user's systemd when rootless).
    pub systemd_cgroup: bool,
}

/// A container that `create` made. `pidfd` refers to its init.
pub struct Created {
    pub pid: i32,
    pub pidfd: OwnedFd,
    /// Whether init is this process's child (so `run` can wait for it).
    pub is_child: bool,
    /// process.terminal without a console socket: the pty master, for `terminal::relay`.
    pub pty_master: Option<OwnedFd>,
}

/// Creates a container and leaves its init blocked on the exec fifo. On any error, nothing
/// is left behind: no state directory, cgroup or process.
pub fn create(opts: &CreateOpts) -> Result<Created> {
    config::validate_id(opts.id)?;
    // Before berth opens any fd of its own, which could otherwise take one of these numbers.
    let listen_fds = crate::process::fds::listen_fds_from_env();
    crate::process::fds::check_passed(
        crate::process::fds::FIRST_PASSED_FD,
        listen_fds + opts.preserve_fds,
    )?;
    let mut bundle = config::load(opts.bundle)?;
    if rootless::active() {
        rootless::check(&bundle.spec)?;
    }
    ensure_exec_path(&bundle.spec, opts.root)?;
    let process = bundle.spec.process().as_ref().expect("validated");
    let terminal = process.terminal().unwrap_or(false);
    terminal::check_opts(terminal, opts.detach, opts.console_socket)?;
    let console = opts
        .console_socket
        .map(terminal::connect_console_socket)
        .transpose()?;
    let pidfd_sock = opts.pidfd_socket.map(connect_pidfd_socket).transpose()?;
    let lock = state::create_dir(opts.root, opts.id)?;
    if crate::notify_socket::host_socket().is_some() {
        if let Err(e) = crate::notify_socket::setup_spec(&mut bundle.spec, &lock.dir) {
            let _ = lock.remove();
            return Err(e);
        }
    }
    let mut made = Made::default();
    match create_locked(
        opts,
        &bundle,
        &lock,
        listen_fds,
        console.as_ref(),
        pidfd_sock.as_ref(),
        &mut made,
    ) {
        Ok(c) => Ok(c),
        Err(e) => {
            let cloned = made.init.is_some();
            made.undo();
            let _ = lock.remove();
            // The container was stopped and destroyed: the lifecycle ends with poststop (spec,
            // runtime.md steps 12-13; runc too).
            if cloned {
                let state =
                    hooks::HookState::of_spec(&bundle.spec, opts.id, &bundle.dir, "stopped", 0);
                hooks::run_poststop(bundle.spec.hooks().as_ref(), &state);
            }
            Err(e)
        }
    }
}

/// Every container process is exec'd through the sealed trampoline with execveat
/// (CVE-2019-5736). Where the seccomp profile denies execveat, berth instead runs from a
/// sealed copy of itself, from which the process is exec'd directly (as on architectures
/// without a trampoline): this re-executes berth when needed, so it runs before anything is
/// made or connected. Never an execve from berth's binary on the host.
pub fn ensure_exec_path(spec: &oci_spec::runtime::Spec, root: &Path) -> Result<()> {
    let Some(sc) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else {
        return Ok(());
    };
    if seccomp::plainly_allows_execveat(sc) {
        return Ok(());
    }
    // None: no trampoline for the architecture, or already running from a sealed copy.
    let Some(tramp) = crate::process::trampoline::memfd()? else {
        return Ok(());
    };
    let filter = seccomp::compile_cached(sc, &root.join(SECCOMP_CACHE))?;
    if seccomp::require_execveat(&filter, tramp.as_raw_fd()).is_ok() {
        return Ok(());
    }
    logging::debug("the seccomp profile denies execveat: running from a sealed copy of berth");
    crate::process::sealed_exe::ensure()
}

/// What a failing create must undo.
#[derive(Default)]
struct Made {
    init: Option<(i32, bool)>,
    cgroup: Option<cgroups::Cgroup>,
    rdt: Option<(intelrdt::Group, String)>,
}

impl Made {
    fn undo(&mut self) {
        if let Some((pid, is_child)) = self.init.take() {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            if is_child {
                let _ = waitpid(Pid::from_raw(pid), None);
            }
        }
        if let Some(cg) = self.cgroup.take() {
            if let Err(e) = cg.destroy() {
                logging::warn(&format!("removing the cgroup: {e:#}"));
            }
        }
        if let Some((group, id)) = self.rdt.take() {
            if let Err(e) = group.remove(&id) {
                logging::warn(&format!("removing the resctrl group: {e:#}"));
            }
        }
    }
}

fn create_locked(
    opts: &CreateOpts,
    bundle: &Bundle,
    lock: &Locked,
    listen_fds: u32,
    console: Option<&UnixStream>,
    pidfd_sock: Option<&UnixStream>,
    made: &mut Made,
) -> Result<Created> {
    let spec = &bundle.spec;
    let linux = spec.linux().as_ref().expect("validated");
    let fifo = lock.fifo_path();
    nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o622))
        .with_context(|| format!("creating the exec fifo {}", fifo.display()))?;
    // Writable by whichever user init ends up as (the umask took the write bits away).
    std::fs::set_permissions(&fifo, std::os::unix::fs::PermissionsExt::from_mode(0o622))
        .with_context(|| format!("chmod {}", fifo.display()))?;
    // init reopens the fifo through /proc/self/fd once it is ready, which works after
    // pivot_root and after a switch to a user that cannot search the state directory.
    let fifo_fd = open(&fifo, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .with_context(|| format!("opening {}", fifo.display()))?;

    // Unprivileged (or in a user namespace, as runc), unless --rootless says otherwise: a
    // cgroup only where one is delegated.
    let record = |cg: &cgroups::Cgroup| lock.record_cgroup(cg);
    made.cgroup = if opts.systemd_cgroup {
        Some(cgroups::create_systemd(
            Some(linux),
            spec.annotations().as_ref(),
            opts.id,
            opts.rootless_cgroups,
            &record,
        )?)
    } else if opts.rootless_cgroups {
        cgroups::create_rootless(Some(linux), opts.id, &record)?
    } else {
        Some(cgroups::create(Some(linux), opts.id, &record)?)
    };
    let cgroup = made.cgroup.as_ref();

    let filter = linux
        .seccomp()
        .as_ref()
        .map(|sc| seccomp::compile_cached(sc, &opts.root.join(SECCOMP_CACHE)))
        .transpose()?;
    let joined = namespaces::open_joined(linux)?;
    // Made here, where berth has its privileges over the sources' filesystems; init inherits them.
    let idmapped = rootfs::prepare_idmapped(spec, &bundle.dir)?;
    let (parent_sock, child_sock) = sync::pair()?;
    let tramp = crate::process::trampoline::memfd()?;
    let ctx = init::Context {
        trampoline: tramp.as_ref().map(|t| t.as_raw_fd()),
        seccomp: filter.as_ref(),
        id: opts.id,
        spec,
        rootfs: &bundle.rootfs,
        bundle: &bundle.dir,
        sync: child_sock.as_raw_fd(),
        sync_parent: parent_sock.as_raw_fd(),
        fifo: fifo_fd.as_raw_fd(),
        no_pivot: opts.no_pivot,
        no_new_keyring: opts.no_new_keyring,
        preserve_fds: opts.preserve_fds,
        listen_fds,
        new_userns: namespaces::creates(linux, LinuxNamespaceType::User),
        new_cgroupns: namespaces::creates(linux, LinuxNamespaceType::Cgroup),
        new_netns: namespaces::creates(linux, LinuxNamespaceType::Network),
        userns: namespaces::has_new_or_joined(linux, LinuxNamespaceType::User),
        mountns: namespaces::has_new_or_joined(linux, LinuxNamespaceType::Mount),
        cgroupns: namespaces::has_new_or_joined(linux, LinuxNamespaceType::Cgroup),
        idmapped: &idmapped,
        terminal_relayed: console.is_none(),
    };
    // Cgroup: init unshares it itself once it sits in its cgroup, so that the namespace is
    // rooted there. Time: only init may be in it. Without offsets the clone makes it. Offsets
    // must be written before any process is in it, so the process that clones init unshares
    // it first (its next child enters it): berth, which then goes back to its own time
    // namespace for its later children (hooks), or, where it may not go back (as root of a
    // foreign user namespace), the intermediate process.
    let mut flags = namespaces::new_flags(linux) & !(libc::CLONE_NEWCGROUP as u64);
    let unshare_time =
        namespaces::creates(linux, LinuxNamespaceType::Time) && namespaces::has_time_offsets(linux);
    if unshare_time {
        flags &= !(libc::CLONE_NEWTIME as u64);
    }
    // With a new user namespace the time namespace belongs to it, as runc's: the intermediate
    // process is cloned into the user namespace, gets its id maps, and unshares time there.
    let time_in_new_userns = unshare_time && ctx.new_userns && joined.is_empty();
    let own_time = (unshare_time && joined.is_empty() && !time_in_new_userns)
        .then(namespaces::rejoinable_time)
        .flatten();
    let direct = joined.is_empty() && (!unshare_time || own_time.is_some());

    let (pid, pidfd, is_child, in_cgroup) = if direct {
        if let Some(own) = &own_time {
            if let Err(e) = namespaces::unshare_time(linux) {
                let _ = namespaces::rejoin_time(own);
                return Err(e);
            }
        }
        let cloned = clone(
            flags,
            cgroup.and_then(|c| c.dir_fd_v2()).map(|fd| fd.as_raw_fd()),
        );
        if let (Some(own), Ok(Forked::Parent { .. }) | Err(_)) = (&own_time, &cloned) {
            namespaces::rejoin_time(own)?;
        }
        match cloned? {
            Forked::Child => {
                // init holds no fd of berth's but the ones it needs.
                drop(own_time);
                init::run(&ctx)
            }
            Forked::Parent {
                pid,
                pidfd,
                in_cgroup,
            } => (pid, pidfd, true, in_cgroup),
        }
    } else {
        // A joined user namespace owns the new ones, so they must not be made from the host's.
        if joined.iter().any(|(t, _)| *t == LinuxNamespaceType::User) {
            flags &= !(libc::CLONE_NEWUSER as u64);
        }
        let mut intermediate_flags = 0;
        if time_in_new_userns {
            flags &= !(libc::CLONE_NEWUSER as u64);
            intermediate_flags = libc::CLONE_NEWUSER as u64;
        }
        let step = IntermediateStep {
            joined: &joined,
            flags,
            unshare_time,
            await_maps: time_in_new_userns,
        };
        let intermediate = match clone(intermediate_flags, None)? {
            Forked::Child => intermediate(&ctx, &step, linux),
            Forked::Parent { pid, .. } => pid,
        };
        if time_in_new_userns {
            let mapped = userns::write_maps(intermediate, linux)
                .and_then(|()| sync::write(&parent_sock, &Msg::Go));
            if let Err(e) = mapped {
                let _ = nix::sys::signal::kill(
                    Pid::from_raw(intermediate),
                    nix::sys::signal::Signal::SIGKILL,
                );
                let _ = waitpid(Pid::from_raw(intermediate), None);
                return Err(e);
            }
        }
        let status = waitpid(Pid::from_raw(intermediate), None)
            .context("waiting for the intermediate process")?;
        let pid = match sync::read(&parent_sock)? {
            Some(Msg::InitPid(pid)) => pid,
            Some(Msg::Error(e)) => bail!("{e}"),
            other => bail!("intermediate process failed ({status:?}, {other:?})"),
        };
        made.init = Some((pid, true));
        let pidfd = pidfd_open(pid)?;
        (pid, pidfd, true, false)
    };
    made.init = Some((pid, is_child));
    drop(child_sock);

    // (Written for the intermediate process, whose user namespace init is in, if that made it.)
    if ctx.new_userns && !time_in_new_userns {
        userns::write_maps(pid, linux)?;
    }
    // Before init sets anything up, as runc: the devices are there for the hooks and the process.
    netdevices::move_all(linux, pid)?;
    // As runc: init is in its resctrl group before it runs anything of the container's.
    if let Some(rdt) = linux.intel_rdt() {
        let root = intelrdt::root().ok_or_else(|| {
            anyhow!("intelRdt is specified in config, but Intel RDT is not enabled")
        })?;
        intelrdt::apply(&root, rdt, opts.id, pid)?;
        made.rdt = Some((
            intelrdt::Group {
                root,
                config: rdt.clone(),
            },
            opts.id.to_string(),
        ));
    }
    match cgroup.filter(|_| !in_cgroup) {
        None => tell_init(&parent_sock, &Msg::Go, pid, is_child)?,
        Some(cgroup) => {
            // Moving a process between cgroups waits for an RCU grace period in the kernel
            // (milliseconds); init does the setup that does not depend on its cgroup meanwhile.
            tell_init(&parent_sock, &Msg::GoBeforeCgroup, pid, is_child)?;
            cgroup.place_init(pid)?;
            tell_init(&parent_sock, &Msg::CgroupJoined, pid, is_child)?;
        }
    }
    // process.terminal: the pty master comes between these messages (after pivot_root); it
    // goes to the console socket at once, or back to the caller for a relay.
    let mut master = terminal::MasterFromChild::default();
    let mut reply = terminal::read_sync(&parent_sock, console, &mut master)?;
    if reply == Some(Msg::Hooks) {
        // init made the mounts and waits before pivot_root.
        hooks::create_runtime(spec, opts.id, &bundle.dir, pid)?;
        tell_init(&parent_sock, &Msg::HooksDone, pid, is_child)?;
        reply = terminal::read_sync(&parent_sock, console, &mut master)?;
    }
    if let Some(Msg::SeccompFd(fd)) = reply {
        let state = hooks::HookState::of_spec(spec, opts.id, &bundle.dir, "creating", pid);
        seccomp_handoff(&parent_sock, &pidfd, fd, linux, &state.to_json())?;
        reply = terminal::read_sync(&parent_sock, console, &mut master)?;
    }
    match reply {
        Some(Msg::Ready) => {}
        Some(Msg::Error(e)) => bail!("{e}"),
        Some(other) => bail!("sync: unexpected message {other:?} from init"),
        None => bail!(
            "container init exited during setup{}",
            exit_reason(pid, is_child)
        ),
    }
    let terminal = spec.process().as_ref().and_then(|p| p.terminal());
    if master.received != terminal.unwrap_or(false) {
        bail!("sync: init's pty master does not match process.terminal");
    }
    if let Some(sock) = pidfd_sock {
        send_pidfd(sock, &pidfd, PIDFD_INIT)?;
    }

    let st = State {
        oci_version: spec.version().clone(),
        id: opts.id.to_string(),
        pid,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        created: logging::rfc3339(SystemTime::now()),
        init_start_time: state::start_time(pid)?,
        cgroup: made.cgroup.clone(),
        hooks: hooks::after_create(spec),
        intel_rdt: made.rdt.as_ref().map(|(g, _)| g.clone()),
    };
    lock.save(&st)?;
    logging::debug(&format!(
        "created container {:?} with init pid {pid}",
        opts.id
    ));
    if let Some(p) = opts.pid_file {
        write_pid_file(p, pid)?;
    }
    // init waits for this before it goes on to the exec fifo (sync.rs).
    tell_init(&parent_sock, &Msg::Saved, pid, is_child)?;
    made.init = None;
    made.cgroup = None;
    made.rdt = None;
    Ok(Created {
        pid,
        pidfd,
        is_child,
        pty_master: master.kept,
    })
}

/// What the intermediate process does before it clones init.
struct IntermediateStep<'a> {
    /// Namespaces to join by path (user first).
    joined: &'a [(LinuxNamespaceType, OwnedFd)],
    /// init's new namespaces.
    flags: u64,
    /// Whether to unshare the time namespace and write its offsets.
    unshare_time: bool,
    /// Whether it was cloned into a new user namespace whose id maps the parent writes
    /// (then sends Go).
    await_maps: bool,
}

/// The short-lived process of the join path, and of time offsets where the time namespace
/// must not be berth's to make (it belongs to the container's new user namespace, or berth
/// could not leave it): waits for its id maps if in a new user namespace, setns into the
/// namespaces given by path (user first), unshares the time namespace with its offsets,
/// then clones init with the remaining new namespaces, reports its pid, and exits.
fn intermediate(
    ctx: &init::Context,
    step: &IntermediateStep,
    linux: &oci_spec::runtime::Linux,
) -> ! {
    let sock = init::borrow_sync(ctx.sync);
    let result = (|| -> Result<i32> {
        if step.await_maps {
            match sync::read(&sock)? {
                Some(Msg::Go) => {}
                other => bail!("sync: expected Go from the parent, got {other:?}"),
            }
        }
        namespaces::join(step.joined)?;
        // This process exits once init is cloned: it need not leave the time namespace.
        if step.unshare_time {
            namespaces::unshare_time(linux)?;
        }
        // CLONE_PARENT: init is berth's child, as if berth had cloned it (so `run` gets its
        // exit status without being a subreaper).
        match clone(step.flags | libc::CLONE_PARENT as u64, None)? {
            Forked::Child => init::run(ctx),
            Forked::Parent { pid, .. } => Ok(pid),
        }
    })();
    let msg = match result {
        Ok(pid) => Msg::InitPid(pid),
        Err(e) => Msg::Error(format!("{e:#}")),
    };
    let _ = sync::write(&sock, &msg);
    std::mem::forget(sock);
    // SAFETY: _exit skips destructors and atexit handlers that belong to the parent.
    unsafe { libc::_exit(0) }
}

/// Sends `msg` to init; if init is gone, its own error or its death is the error.
fn tell_init(sock: &OwnedFd, msg: &Msg, pid: i32, is_child: bool) -> Result<()> {
    sync::tell(sock, msg, || {
        anyhow::anyhow!(
            "container init exited during setup{}",
            exit_reason(pid, is_child)
        )
    })
}

/// How a child that died ended, for error messages: " (exit status N)", " (killed by SIG)".
pub(crate) fn exit_reason(pid: i32, is_child: bool) -> String {
    if !is_child {
        return String::new();
    }
    match waitpid(Pid::from_raw(pid), None) {
        Ok(WaitStatus::Exited(_, c)) => format!(" (exit status {c})"),
        Ok(WaitStatus::Signaled(_, s, _)) => format!(" (killed by {s})"),
        _ => String::new(),
    }
}

/// Takes the child's seccomp notify listener fd (number `fd` in its table) with pidfd_getfd,
/// sends it to the agent at linux.seccomp.listenerPath with the container's state, and lets
/// the child go on.
pub fn seccomp_handoff(
    sock: &OwnedFd,
    pidfd: &OwnedFd,
    fd: RawFd,
    linux: &oci_spec::runtime::Linux,
    state_json: &[u8],
) -> Result<()> {
    let sc = linux
        .seccomp()
        .as_ref()
        .ok_or_else(|| anyhow!("sync: a seccomp fd without linux.seccomp"))?;
    let path = sc
        .listener_path()
        .as_ref()
        .ok_or_else(|| anyhow!("linux.seccomp.listenerPath: needed for SCMP_ACT_NOTIFY"))?;
    // SAFETY: pidfd_getfd duplicates fd `fd` of the process behind `pidfd` into ours.
    let got = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) };
    if got < 0 {
        return Err(nix::errno::Errno::last())
            .context("taking the seccomp notify fd (pidfd_getfd)");
    }
    // SAFETY: the kernel returned a new fd that nothing else owns.
    let notify = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(got as RawFd) };
    seccomp::send_to_listener(
        path,
        notify.as_fd(),
        state_json,
        sc.listener_metadata().as_deref().unwrap_or_default(),
    )
    .with_context(|| format!("linux.seccomp.listenerPath: sending to {}", path.display()))?;
    sync::write(sock, &Msg::SeccompDone)
}

/// The data runc sends with the pidfd on --pidfd-socket: "standard" for a container's init,
/// "setns" for an exec'd process.
pub const PIDFD_INIT: &[u8] = b"standard";
pub const PIDFD_EXEC: &[u8] = b"setns";

/// Connects to --pidfd-socket (before anything is created, so a bad path leaves nothing).
pub fn connect_pidfd_socket(path: &Path) -> Result<UnixStream> {
    UnixStream::connect(path).with_context(|| format!("--pidfd-socket {}", path.display()))
}

/// Sends a pidfd of the process over --pidfd-socket in runc's protocol: `data` with the fd
/// in one SCM_RIGHTS message.
pub fn send_pidfd(sock: &UnixStream, pidfd: &OwnedFd, data: &[u8]) -> Result<()> {
    sync::send_with_fds(sock.as_fd(), data, &[pidfd.as_raw_fd()])
        .context("--pidfd-socket: sending the pidfd")
}

pub fn pidfd_open(pid: i32) -> Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(nix::errno::Errno::last()).with_context(|| format!("pidfd_open({pid})"));
    }
    // SAFETY: the fd was just returned by the kernel and is owned by nobody else.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as RawFd) })
}

/// A pidfd for a container's init, checked to be the same process (not a recycled pid).
fn init_pidfd(st: &State) -> Result<Option<OwnedFd>> {
    let Ok(fd) = pidfd_open(st.pid) else {
        return Ok(None);
    };
    Ok(state::init_alive(st.pid, st.init_start_time).then_some(fd))
}

pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let abs =
        std::path::absolute(path).with_context(|| format!("--pid-file {}", path.display()))?;
    let tmp = PathBuf::from(format!("{}.berth-tmp", abs.display()));
    std::fs::write(&tmp, pid.to_string()).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &abs).with_context(|| format!("writing pid file {}", abs.display()))
}
