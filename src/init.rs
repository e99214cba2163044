//! The container's init: the straight-line setup that runs in the child right after clone,
//! already inside its new namespaces, ending in execve of the container process.
//!
//! The parent is single-threaded when it clones, so this code may allocate, but it takes no
//! locks that another thread could have held, and it never returns: it execs or exits.
//! Errors go back to the parent as one `sync::Msg::Error` carrying the full context chain.
//!
//! Order (as runc's, so configs behave the same):
//! 1. wait for the parent's `Go` (uid/gid maps written, cgroup joined)
//! 2. become root in a new user namespace; loopback up in a new network namespace; setsid;
//!    session keyring
//! 3. hostname, domainname
//! 4. rootfs: propagation, mounts, devices; prestart, createRuntime (parent) and
//!    createContainer hooks; pivot_root; process.terminal: pty, /dev/console, master to the
//!    parent (`PtyMaster`), pty as stdio and controlling terminal
//! 5. sysctl; readonly and masked paths; root.readonly
//! 6. memory policy, oom score, scheduler, io priority, personality, rlimits; fds not
//!    passed and not needed any more closed
//! 7. cwd entered (as root) and checked, env with HOME, fds >= 3 + preserve_fds
//!    close-on-exec: all before a filter loaded at 8 could deny what they need
//! 8. seccomp now if noNewPrivileges is false (loading it needs CAP_SYS_ADMIN)
//! 9. bounding set, uid/gid switch, capability sets; cwd again if root could not enter it;
//!    no_new_privs; executable resolved (as the user); signal state reset
//! 10. SIGTERM/SIGINT/SIGHUP end init, and the signals Go's runtime crashes on exit 2;
//!     `Ready` to the parent, which saves the state and answers `Saved` (init exits if the
//!     parent dies first); block on the exec fifo until `start`;
//!     startContainer hooks (under the filter: with noNewPrivileges it is loaded before
//!     them, if there are any)
//! 11. seccomp now if noNewPrivileges is true; execve

use anyhow::{anyhow, bail, Context as _, Result};
use oci_spec::runtime::{Process, Spec};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use crate::process::{attrs, capabilities, env, executable, fds, mempolicy, rlimits, user};
use crate::sync::{self, Msg};
use crate::{hooks, rootfs, seccomp, sysctl, terminal};

/// Everything init needs, prepared by the parent before clone.
pub struct Context<'a> {
    pub id: &'a str,
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    /// The bundle directory: relative bind-mount sources are resolved against it.
    pub bundle: &'a Path,
    /// The sealed exec trampoline the process is exec'd through (CVE-2019-5736).
    pub trampoline: Option<RawFd>,
    /// init's end of the sync socketpair.
    pub sync: RawFd,
    /// The parent's end, closed first thing in the child.
    pub sync_parent: RawFd,
    /// An O_PATH fd of the exec fifo.
    pub fifo: RawFd,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// Socket-activation fds berth was given (`fds::listen_fds_from_env`, read in the parent).
    pub listen_fds: u32,
    pub new_userns: bool,
    /// The compiled linux.seccomp filter.
    pub seccomp: Option<&'a seccomp::Filter>,
    /// A new cgroup namespace, unshared by init after the parent placed it in its cgroup.
    pub new_cgroupns: bool,
    /// Whether berth made the network namespace (its loopback device is set up).
    pub new_netns: bool,
    pub userns: bool,
    pub mountns: bool,
    pub cgroupns: bool,
    /// Id-mapped mount trees made by the parent (`rootfs::prepare_idmapped`).
    pub idmapped: &'a [rootfs::IdMapped],
    /// process.terminal without a console socket: berth relays the pty (`terminal::relay`).
    pub terminal_relayed: bool,
}

/// Wraps an fd inherited across clone as an owned socket for the sync helpers.
pub fn borrow_sync(fd: RawFd) -> OwnedFd {
    // SAFETY: the fd was inherited across clone; this process is its only user from here on.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Runs init. Never returns.
pub fn run(ctx: &Context) -> ! {
    // The sync socket until `Ready`; closed then (the parent stops listening), so that a
    // created container's init holds nothing of berth's it does not need.
    let mut sock = Some(borrow_sync(ctx.sync));
    let err = match setup(ctx, &mut sock) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    match &sock {
        Some(sock) => {
            let _ = sync::write(sock, &Msg::Error(format!("{err:#}")));
        }
        // After Ready the container's stderr is all that is left.
        None => eprintln!(
            "berth: container init: {}",
            crate::logging::one_line(&format!("{err:#}"))
        ),
    }
    // SAFETY: _exit skips the parent's destructors and atexit handlers, which are not ours.
    unsafe { libc::_exit(1) }
}

enum Never {}

fn setup(ctx: &Context, sock_slot: &mut Option<OwnedFd>) -> Result<Never> {
    let sock = sock_slot.as_ref().expect("the sync socket until Ready");
    // SAFETY: closing the parent's end of the socketpair, which this process must not hold.
    unsafe { libc::close(ctx.sync_parent) };
    let cgroup_pending = match sync::read(sock)? {
        Some(Msg::Go) => false,
        Some(Msg::GoBeforeCgroup) => true,
        other => return Err(anyhow!("sync: expected Go from the parent, got {other:?}")),
    };
    // Until exec, this process is a copy of berth: no process of the container may open its
    // /proc/PID/exe, memory or fds (CVE-2019-5736). exec makes it dumpable again. Only after
    // Go: an unprivileged parent (or newuidmap) writes the id maps through /proc/PID, which
    // belongs to root while the process is not dumpable. No container process exists yet.
    set_non_dumpable()?;
    nix::unistd::chdir(ctx.bundle)
        .with_context(|| format!("changing to the bundle {}", ctx.bundle.display()))?;
    let spec = ctx.spec;
    let process = spec.process().as_ref().expect("validated");
    let linux = spec.linux().as_ref().expect("validated");

    // A handle on this process's fd table that survives pivot_root, for reopening the fifo.
    let fd_dir = nix::fcntl::open(
        "/proc/self/fd",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .context("opening /proc/self/fd")?;
    // AppArmor profile, SELinux label: attr files opened now, through the host's procfs.
    let on_exec = crate::lsm::OnExec::prepare(process)?;

    // In a user namespace (new, or joined by the intermediate) become its root, so that
    // what init creates is owned by a mapped id.
    if ctx.userns {
        nix::unistd::setresgid(0.into(), 0.into(), 0.into())
            .context("becoming gid 0 in the user namespace")?;
        nix::unistd::setresuid(0.into(), 0.into(), 0.into())
            .context("becoming uid 0 in the user namespace")?;
    }
    if ctx.new_netns {
        crate::netdevices::loopback_up()?;
    }
    // Everything that depends on init's cgroup waits behind this gate, passed once: the
    // cgroup namespace (rooted at init's cgroup), cgroup mounts, hooks, the cpu affinity.
    let gate_passed = std::cell::Cell::new(false);
    let cgroup_gate = || -> Result<()> {
        if gate_passed.replace(true) {
            return Ok(());
        }
        if cgroup_pending {
            match sync::read(sock)? {
                Some(Msg::CgroupJoined) => {}
                other => bail!("sync: expected CgroupJoined from the parent, got {other:?}"),
            }
        }
        if ctx.new_cgroupns {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP)
                .context("creating the cgroup namespace")?;
        }
        Ok(())
    };
    nix::unistd::setsid().context("setsid")?;
    if !ctx.no_new_keyring {
        join_session_keyring(ctx.id)?;
    }
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).with_context(|| format!("hostname: setting {h:?}"))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        set_domainname(d)?;
    }

    // Through /proc/self, which may not be mounted in the container after pivot_root.
    if let Some(adj) = process.oom_score_adj() {
        attrs::set_oom_score_adj(adj)?;
    }
    let rootfs_setup = rootfs::RootfsSetup {
        spec,
        rootfs: ctx.rootfs,
        no_pivot: ctx.no_pivot,
        userns: ctx.userns,
        cgroupns: ctx.cgroupns,
        mountns: ctx.mountns,
        cgroup_gate: &cgroup_gate,
        idmapped: ctx.idmapped,
    };
    rootfs::prepare(&rootfs_setup)?;
    cgroup_gate()?;
    // Hooks: prestart and createRuntime (by the parent), createContainer (here).
    hooks::before_pivot(spec, ctx.id, ctx.bundle, sock)?;
    rootfs::enter(&rootfs_setup)?;
    // The console: after the mounts and pivot_root, before masked/readonly paths.
    if process.terminal().unwrap_or(false) {
        let console = ctx.mountns || rootfs::set_up_without_mountns(spec);
        terminal::setup_in_init(process, console, ctx.terminal_relayed, sock)?;
    }
    // Like runc, a missing cwd is created (before the root may become read-only).
    if !process.cwd().exists() {
        std::fs::create_dir_all(process.cwd())
            .with_context(|| format!("process.cwd: creating {}", process.cwd().display()))?;
    }
    sysctl::apply(spec)?;
    rootfs::finalize(spec)?;

    // After the createContainer hooks (which keep the caller's policy, as runc's do),
    // before the startContainer hooks.
    if let Some(p) = linux.memory_policy() {
        mempolicy::apply(p)?;
    }
    if let Some(p) = linux.personality() {
        attrs::apply_personality(p)?;
    }
    // execCPUAffinity is for exec'd processes only (spec); init gets its cgroup's CPUs.
    attrs::reset_cpu_affinity()?;
    // While the container is `created` its init holds nothing of the caller's beyond stdio
    // and the passed fds, and of berth's only what the rest of the way needs: the sync
    // socket, the fifo (and the fd table to reopen it), the trampoline, the LSM attr files.
    let first_closed_fd = fds::FIRST_PASSED_FD + (ctx.listen_fds + ctx.preserve_fds) as RawFd;
    let mut keep = vec![ctx.sync, fd_dir.as_raw_fd(), ctx.fifo];
    keep.extend(ctx.trampoline);
    keep.extend(on_exec.fds());
    fds::close_from(first_closed_fd, &keep);
    let mut prepared = prepare_process(
        process,
        ctx.listen_fds,
        ctx.preserve_fds,
        ctx.seccomp,
        sock,
        on_exec,
    )?;
    prepared.trampoline = ctx.trampoline;
    // As runc's init: SIGTERM, SIGINT and SIGHUP end a created container, and so do the
    // signals Go's runtime takes for a crash (exit status 2). As pid 1 of its namespace with
    // the default disposition the kernel would drop them; execve resets the handlers.
    end_on_signals()?;

    sync::write(sock, &Msg::Ready)?;
    // The parent saves the container's state, then says so. If it dies first (killed),
    // nothing records this init: it must not live on, holding the container's cgroup and
    // id. EOF (or anything else) ends it.
    match sync::read(sock) {
        Ok(Some(Msg::Saved)) => {}
        // SAFETY: _exit skips the parent's destructors and atexit handlers, not ours.
        _ => unsafe { libc::_exit(1) },
    }
    *sock_slot = None;
    // Blocks until `berth start` opens the fifo for reading.
    let fifo = nix::fcntl::openat(
        &fd_dir,
        ctx.fifo.to_string().as_str(),
        nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .context("opening the exec fifo")?;
    // startContainer hooks, between `start` and the exec, under the container's seccomp
    // filter (runc's run filtered); `start` reads their outcome from the fifo: "0", or the
    // error, which `start` alone reports.
    let with_hooks = !hooks::list(spec.hooks().as_ref(), hooks::Kind::StartContainer).is_empty();
    let early_filter = prepared.late_seccomp.take_if(|_| with_hooks);
    let hooks_ran = early_filter
        .map_or(Ok(None), |f| seccomp::load(&f))
        .and_then(|_| hooks::start_container(spec, ctx.id, ctx.bundle, &prepared.envp));
    if let Err(e) = hooks_ran {
        if nix::unistd::write(&fifo, format!("{e:#}").as_bytes()).is_ok() {
            // SAFETY: _exit skips the parent's destructors and atexit handlers, not ours.
            unsafe { libc::_exit(1) }
        }
        return Err(e);
    }
    nix::unistd::write(&fifo, b"0").context("writing the exec fifo")?;

    prepared.exec()
}

/// The container process, ready to exec.
pub struct Prepared {
    exe: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    /// With noNewPrivileges the filter is loaded last, right before execve (as runc does).
    late_seccomp: Option<seccomp::Filter>,
    /// AppArmor profile and SELinux label, written right before execve (and the filter).
    on_exec: crate::lsm::OnExec,
    /// The first fd not passed to the process: this and all above are closed before execve.
    first_closed_fd: RawFd,
    /// The sealed exec trampoline (`trampoline`), kept open for the execveat.
    pub trampoline: Option<RawFd>,
}

impl Prepared {
    /// Loads a late seccomp filter and execs; on failure reports on the process's stderr
    /// (nobody listens any more) and exits: 127 if setup failed, 255 if execve did (runc).
    pub fn exec(&self) -> ! {
        if let Err(e) = self.on_exec.apply() {
            eprintln!("berth: {}", crate::logging::one_line(&format!("{e:#}")));
            // SAFETY: nothing of this process should run after a failed setup.
            unsafe { libc::_exit(127) }
        }
        fds::close_from(self.first_closed_fd, self.trampoline.as_slice());
        if let Some(f) = &self.late_seccomp {
            if let Err(e) = seccomp::load(f) {
                eprintln!("berth: {}", crate::logging::one_line(&format!("{e:#}")));
                // SAFETY: nothing of this process should run after a failed setup.
                unsafe { libc::_exit(127) }
            }
        }
        let err = match self.trampoline {
            Some(t) => {
                let e = crate::process::trampoline::exec(t, &self.exe, &self.argv, &self.envp);
                // The trampoline reports its own execve's failure; this is execveat's.
                let exe = self.exe.to_string_lossy();
                eprintln!(
                    "berth: exec {} through the sealed trampoline: execveat: {}",
                    crate::logging::one_line(&exe),
                    e.desc().to_lowercase()
                );
                // SAFETY: nothing of this process should run after a failed exec.
                unsafe { libc::_exit(127) }
            }
            None => nix::unistd::execve(&self.exe, &self.argv, &self.envp).unwrap_err(),
        };
        // Go's wording, as runc's init prints it.
        eprintln!(
            "exec {}: {}",
            self.exe.to_string_lossy(),
            err.desc().to_lowercase()
        );
        // SAFETY: nothing of this process should run after a failed exec.
        unsafe { libc::_exit(255) }
    }
}

/// What every container process gets right before exec, init's and exec's alike: scheduler
/// and io priority, rlimits, the cwd (entered as root, checked to be inside the container),
/// the environment, fds >= 3 + passed close-on-exec, the bounding set, the uid/gid switch
/// and the capability sets, no_new_privs, the executable, and a clean signal state.
///
/// The seccomp filter is loaded before the capabilities are dropped when noNewPrivileges is
/// false (loading needs CAP_SYS_ADMIN then), after everything that can be done before it:
/// what follows it makes only calls runc makes there too, with Go's fallbacks where a
/// profile may lack one (faccessat2, close_range). Else it is loaded as late as possible:
/// right before execve, or, when it uses SCMP_ACT_NOTIFY, at the end of this function so
/// that the listener fd reaches the agent (through the parent, `sync::Msg::SeccompFd`)
/// before the process runs.
pub fn prepare_process(
    process: &Process,
    listen_fds: u32,
    preserve_fds: u32,
    filter: Option<&seccomp::Filter>,
    sock: &OwnedFd,
    on_exec: crate::lsm::OnExec,
) -> Result<Prepared> {
    if let Some(s) = process.scheduler() {
        attrs::apply_scheduler(s)?;
    }
    if let Some(p) = process.io_priority() {
        attrs::apply_io_priority(p)?;
    }
    rlimits::apply(process.rlimits().as_deref().unwrap_or_default())?;

    let nnp = process.no_new_privileges().unwrap_or(false);
    // Everything that can be is done before a filter loaded here: nothing berth does after
    // loading it may depend on the profile allowing more than runc needs there.
    // The cwd first as root (runc): a directory only root can reach still works; retried
    // after the uid switch when root cannot reach it (a root-squashing mount).
    let cwd = process.cwd();
    let cwd_entered = nix::unistd::chdir(cwd).is_ok();
    if cwd_entered {
        verify_cwd(cwd)?;
    }
    let mut env = env::prepare_env(process.env().as_deref().unwrap_or_default())?;
    user::set_home(&mut env, process.user().uid());
    fds::listen_fds_env(listen_fds, &mut env);
    let args = process.args().as_deref().unwrap_or_default();
    let argv = to_cstrings(args, "process.args")?;
    let envp = to_cstrings(&env, "process.env")?;
    let first_closed_fd = fds::FIRST_PASSED_FD + (listen_fds + preserve_fds) as RawFd;
    fds::cloexec_from(first_closed_fd)?;

    if !nnp {
        if let Some(f) = filter {
            load_seccomp(f, sock)?;
        }
    }
    let caps = process.capabilities().as_ref();
    capabilities::drop_bounding(caps)?;
    user::switch(process.user())?;
    capabilities::apply(caps)?;
    if !cwd_entered {
        nix::unistd::chdir(cwd).map_err(|e| {
            // runc's words, with Go's error text (managers match "no such file or directory").
            anyhow!(
                "process.cwd: chdir to cwd ({:?}) set in config.json failed: {}",
                cwd.display().to_string(),
                e.desc().to_lowercase()
            )
        })?;
        verify_cwd(cwd)?;
    }
    if nnp {
        attrs::set_no_new_privs()?;
    }
    // As runc, after the uid switch: the permission check is the user's.
    let exe = executable::find_executable(&args[0], &env, cwd)?;
    reset_signals();
    let mut late_seccomp = None;
    if let Some(f) = filter.filter(|_| nnp) {
        if f.uses_notify {
            load_seccomp(f, sock)?;
        } else {
            late_seccomp = Some(f.clone());
        }
    }
    Ok(Prepared {
        exe,
        argv,
        envp,
        late_seccomp,
        on_exec,
        first_closed_fd,
        trampoline: None,
    })
}

/// A cwd such as /proc/self/fd/N could land on a directory outside the container through
/// one of berth's own fds (CVE-2024-21626); the kernel then reports it unreachable.
fn verify_cwd(cwd: &Path) -> Result<()> {
    match nix::unistd::getcwd() {
        Ok(p) if p.is_absolute() => Ok(()),
        _ => bail!(
            "process.cwd: {} resolves outside the container",
            cwd.display()
        ),
    }
}

/// Loads the filter; a notify listener fd is handed to the parent (which takes it with
/// pidfd_getfd and passes it on to the agent) and closed here once the parent is done.
fn load_seccomp(f: &seccomp::Filter, sock: &OwnedFd) -> Result<()> {
    if let Some(fd) = seccomp::load(f)? {
        sync::write(sock, &Msg::SeccompFd(fd.as_raw_fd()))?;
        match sync::read(sock)? {
            Some(Msg::SeccompDone) => {}
            other => bail!("sync: expected SeccompDone from the parent, got {other:?}"),
        }
    }
    Ok(())
}

pub fn set_non_dumpable() -> Result<()> {
    nix::sys::prctl::set_dumpable(false).context("prctl(PR_SET_DUMPABLE, 0)")
}

fn to_cstrings(v: &[String], field: &str) -> Result<Vec<CString>> {
    v.iter()
        .map(|s| {
            CString::new(s.as_bytes())
                .with_context(|| format!("{field}: {s:?} contains a NUL byte"))
        })
        .collect()
}

fn set_domainname(d: &str) -> Result<()> {
    // SAFETY: the pointer and length describe `d`, which outlives the call.
    let r = unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) };
    if r < 0 {
        return Err(nix::errno::Errno::last())
            .with_context(|| format!("domainname: setting {d:?}"));
    }
    Ok(())
}

/// A fresh session keyring per container, as runc does, so containers do not share the
/// host's keys. Kernels (or outer seccomp profiles) without keyctl are tolerated like runc.
fn join_session_keyring(id: &str) -> Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_int = 1;
    const KEYCTL_SETPERM: libc::c_int = 5;
    let name = CString::new(format!("_ses.{id}")).context("keyring name")?;
    // SAFETY: keyctl with a valid NUL-terminated name.
    let key =
        unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    if key < 0 {
        let e = nix::errno::Errno::last();
        if matches!(
            e,
            nix::errno::Errno::ENOSYS | nix::errno::Errno::EPERM | nix::errno::Errno::EACCES
        ) {
            return Ok(());
        }
        return Err(e).context("joining a new session keyring");
    }
    // Possessor and user may do everything, others nothing (the kernel default also grants view to others).
    // SAFETY: keyctl on the key id the kernel just returned.
    unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_SETPERM, key, 0x3f3f_0000u32) };
    Ok(())
}

/// Dies of `sig` as runc's init does: killed by it where the default action can reach this
/// process, else (pid 1 of its pid namespace, which the kernel shields from its own signals)
/// exiting with status 128 + sig.
extern "C" fn exit_on_signal(sig: libc::c_int) {
    // SAFETY: signal, sigprocmask, raise and _exit are async-signal-safe; the set is a local
    // initialised by sigemptyset; nothing of berth's needs to run any more.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(sig);
        libc::_exit(128 + sig)
    }
}

/// The signals on which a Go program (runc's init) prints its goroutines and exits 2, when
/// sent by kill(2) as by `runc kill`.
const GO_CRASH_SIGNALS: [libc::c_int; 9] = [
    libc::SIGQUIT,
    libc::SIGILL,
    libc::SIGTRAP,
    libc::SIGABRT,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGSEGV,
    libc::SIGSTKFLT,
    libc::SIGSYS,
];

/// Exits 2, as runc's init does on a signal in `GO_CRASH_SIGNALS` (without Go's dump).
extern "C" fn exit_2_on_signal(_: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(2) }
}

/// The handlers of a created container's init (see `exit_on_signal`, `GO_CRASH_SIGNALS`).
fn end_on_signals() -> Result<()> {
    install_handler(&[libc::SIGTERM, libc::SIGINT, libc::SIGHUP], exit_on_signal)?;
    install_handler(&GO_CRASH_SIGNALS, exit_2_on_signal)
}

fn install_handler(signals: &[libc::c_int], handler: extern "C" fn(libc::c_int)) -> Result<()> {
    for &sig in signals {
        // SAFETY: the handlers only make async-signal-safe calls and end the process.
        let r = unsafe { libc::signal(sig, handler as libc::sighandler_t) };
        if r == libc::SIG_ERR {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("installing a handler for signal {sig}"));
        }
    }
    Ok(())
}

/// The container process starts with no blocked signals and default dispositions, whatever
/// berth itself had (for example `run`, which blocks signals to forward them). Hooks too.
pub fn reset_signals() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let dfl = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for sig in Signal::iterator() {
        if sig != Signal::SIGKILL && sig != Signal::SIGSTOP {
            // SAFETY: installing the default disposition is always sound.
            let _ = unsafe { sigaction(sig, &dfl) };
        }
    }
    let _ = nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&SigSet::empty()),
        None,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::test_child;
    use nix::sys::signal::Signal;
    use nix::sys::wait::{waitpid, WaitStatus};

    /// Forks a process that installs the handlers and signals itself; returns how it ended.
    fn signalled_self(sig: Signal) -> Result<WaitStatus> {
        // SAFETY: the child only makes async-signal-safe calls and never returns.
        match unsafe { nix::unistd::fork() }? {
            nix::unistd::ForkResult::Child => {
                if end_on_signals().is_ok() {
                    // SAFETY: raise and sleep take integers only.
                    unsafe {
                        libc::raise(sig as libc::c_int);
                        libc::sleep(5);
                    }
                }
                // SAFETY: leaves the forked child.
                unsafe { libc::_exit(99) }
            }
            nix::unistd::ForkResult::Parent { child } => Ok(waitpid(child, None)?),
        }
    }

    #[test]
    fn init_dies_on_term_int_and_hup_as_runcs_does() {
        test_child::run(|| {
            // Outside a pid namespace of its own: killed by the signal.
            for sig in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
                let st = signalled_self(sig)?;
                anyhow::ensure!(
                    matches!(st, WaitStatus::Signaled(_, s, _) if s == sig),
                    "{st:?}"
                );
            }
            Ok(())
        });
        // As pid 1 of a pid namespace, which its own signals cannot kill: 128 + signal.
        for (sig, code) in [
            (Signal::SIGTERM, 143),
            (Signal::SIGINT, 130),
            (Signal::SIGHUP, 129),
            // Go's runtime crashes on these, with exit status 2, in a pid namespace or not.
            (Signal::SIGQUIT, 2),
            (Signal::SIGABRT, 2),
            (Signal::SIGSEGV, 2),
            (Signal::SIGSYS, 2),
        ] {
            test_child::run(|| {
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWPID)?;
                let st = signalled_self(sig)?;
                anyhow::ensure!(
                    matches!(st, WaitStatus::Exited(_, c) if c == code),
                    "{st:?}"
                );
                Ok(())
            });
        }
    }
}
