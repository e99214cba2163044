//! `berth exec`: a new process in a container that is created or running.
//!
//! The parent joins the container's pid and time namespaces for its children only
//! (setns affects `pid_for_children`/`time_for_children`, never berth's own view), then
//! clones the process, which joins the remaining namespaces itself, user namespace first.
//! The parent puts it in the container's cgroup before letting it go, so no user code runs
//! outside the cgroup; the process then gets the same treatment as the container's init
//! (`init::prepare_process`) and execs. Protocol: `sync` (`Go`, then `Ready` or `Error`).

use anyhow::{anyhow, bail, Context, Result};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespaceType, Process};
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::clone::{clone, Forked};
use crate::process::{self, attrs};
use crate::state::{self, Status};
use crate::sync::{self, Msg};
use crate::{init, namespaces, reaper};

pub struct ExecOpts<'a> {
    pub root: &'a Path,
    pub id: &'a str,
    pub process: Process,
    pub detach: bool,
    pub pid_file: Option<&'a Path>,
    pub preserve_fds: u32,
    pub ignore_paused: bool,
    /// `--cgroup [controller:]path`: sub-cgroups of the container's to join instead.
    pub cgroup: &'a [String],
    pub console_socket: Option<&'a Path>,
    pub pidfd_socket: Option<&'a Path>,
    pub no_subreaper: bool,
}

/// What the child needs, prepared before clone.
struct Child<'a> {
    process: &'a Process,
    joined: &'a [(LinuxNamespaceType, OwnedFd)],
    userns: bool,
    sync: RawFd,
    sync_parent: RawFd,
    preserve_fds: u32,
    seccomp: Option<&'a crate::seccomp::Filter>,
    /// The container's linux.personality, for every process in it.
    personality: Option<&'a oci_spec::runtime::LinuxPersonality>,
    /// The container's linux.memoryPolicy: set again, as runc's exec does (not init's child).
    memory_policy: Option<&'a oci_spec::runtime::LinuxMemoryPolicy>,
    /// The sealed exec trampoline (CVE-2019-5736).
    trampoline: Option<RawFd>,
    /// process.terminal without a console socket: berth relays the pty.
    terminal_relayed: bool,
    /// The container's process.oomScoreAdj, for every process in it.
    oom_score_adj: Option<i32>,
}

/// Runs the process; returns its exit status (0 with `detach`).
pub fn exec(opts: ExecOpts) -> Result<i32> {
    // Socket activation is for the container's init only: runc's exec ignores LISTEN_FDS
    // (--preserve-fds counts from fd 3 and the process gets no LISTEN_* variables).
    crate::process::fds::check_passed(crate::process::fds::FIRST_PASSED_FD, opts.preserve_fds)?;
    process::validate(&opts.process)?;
    // Before anything is connected: this may re-execute berth (see there).
    if let Some(st) = state::read(opts.root, opts.id)? {
        let spec = crate::config::parse(&st.bundle.join("config.json"))?;
        crate::container::ensure_exec_path(&spec, opts.root)?;
    }
    crate::terminal::validate(&opts.process)?;
    let terminal = opts.process.terminal().unwrap_or(false);
    crate::terminal::check_opts(terminal, opts.detach, opts.console_socket)?;
    let console = opts
        .console_socket
        .map(crate::terminal::connect_console_socket)
        .transpose()?;
    let pidfd_sock = opts
        .pidfd_socket
        .map(crate::container::connect_pidfd_socket)
        .transpose()?;
    crate::lsm::validate_process(&opts.process)?;

    let lock = state::open(opts.root, opts.id)?;
    let st = lock.load_existing()?;
    match state::status(&lock.dir, &st) {
        Status::Created | Status::Running => {}
        Status::Paused if opts.ignore_paused => {}
        Status::Paused => bail!(
            "cannot exec in a paused container {:?} (use --ignore-paused to override)",
            opts.id
        ),
        Status::Stopped => bail!("cannot exec in a stopped container {:?}", opts.id),
    }
    let cgroup = match &st.cgroup {
        Some(cg) if !opts.cgroup.is_empty() => Some(cg.sub_cgroup(opts.cgroup)?),
        Some(cg) => Some(cg.clone()),
        None if !opts.cgroup.is_empty() => bail!("--cgroup: container {:?} has no cgroup", opts.id),
        None => None,
    };

    // Every namespace of init that is not berth's own, opened while init is known alive.
    let mut joined = Vec::new();
    for (t, _, _, name) in namespaces::KINDS {
        let theirs = format!("/proc/{}/ns/{name}", st.pid);
        let ours = format!("/proc/self/ns/{name}");
        let (a, b) = (std::fs::metadata(&theirs), std::fs::metadata(&ours));
        let Ok(a) = a else { continue };
        if b.is_ok_and(|b| (a.dev(), a.ino()) == (b.dev(), b.ino())) {
            continue;
        }
        let f = File::open(&theirs).with_context(|| format!("opening {theirs}"))?;
        joined.push((*t, OwnedFd::from(f)));
    }
    if !state::init_alive(st.pid, st.init_start_time) {
        bail!("cannot exec in a stopped container {:?}", opts.id);
    }
    // The namespaces are held open now; the lock must not be held while the process sets up:
    // in a paused container (--ignore-paused) it freezes until `resume`, which needs the lock.
    drop(lock);
    // pid and time namespaces: for the children of this process only.
    let (mut for_children, mut in_child): (Vec<_>, Vec<_>) = joined
        .into_iter()
        .partition(|(t, _)| matches!(t, LinuxNamespaceType::Pid | LinuxNamespaceType::Time));
    // Unprivileged, those can be joined only from inside the container's user namespace
    // (the kernel wants CAP_SYS_ADMIN over them), so this process joins that first.
    if crate::rootless::active() && !for_children.is_empty() {
        if let Some(i) = in_child
            .iter()
            .position(|(t, _)| *t == LinuxNamespaceType::User)
        {
            for_children.insert(0, in_child.remove(i));
        }
    }
    let userns = for_children
        .iter()
        .chain(&in_child)
        .any(|(t, _)| *t == LinuxNamespaceType::User);
    namespaces::join(&for_children)?;
    in_child.sort_by_key(|(t, _)| *t != LinuxNamespaceType::User);

    // The container's seccomp filter applies to every process in it.
    let spec = crate::config::parse(&st.bundle.join("config.json"))?;
    let linux = spec.linux().clone().unwrap_or_default();
    let filter = linux
        .seccomp()
        .as_ref()
        .map(|sc| {
            crate::seccomp::compile_cached(sc, &opts.root.join(crate::container::SECCOMP_CACHE))
        })
        .transpose()?;

    if !opts.detach && !opts.no_subreaper {
        // Without a pid namespace, orphans of the process come back to berth to be reaped.
        nix::sys::prctl::set_child_subreaper(true).context("becoming a child subreaper")?;
    }
    let sfd = if opts.detach {
        None
    } else {
        Some(reaper::take_signals()?)
    };
    let (parent_sock, child_sock) = sync::pair()?;
    let tramp = crate::process::trampoline::memfd()?;
    let child = Child {
        trampoline: tramp.as_ref().map(|t| t.as_raw_fd()),
        process: &opts.process,
        joined: &in_child,
        userns,
        sync: child_sock.as_raw_fd(),
        sync_parent: parent_sock.as_raw_fd(),
        preserve_fds: opts.preserve_fds,
        seccomp: filter.as_ref(),
        personality: linux.personality().as_ref(),
        memory_policy: linux.memory_policy().as_ref(),
        terminal_relayed: console.is_none(),
        oom_score_adj: spec.process().as_ref().and_then(|p| p.oom_score_adj()),
    };
    let (pid, pidfd) = match clone(0, None)? {
        Forked::Child => run_child(&child),
        Forked::Parent { pid, pidfd, .. } => (pid, pidfd),
    };
    drop(child_sock);
    let mut master = crate::terminal::MasterFromChild::default();
    let started = (|| -> Result<()> {
        // Here, not in the child: the child cannot know whether it is in the cgroup yet.
        if let Some(a) = opts.process.exec_cpu_affinity() {
            attrs::apply_exec_cpu_affinity_initial(pid, a)?;
        }
        if let Some(cg) = &cgroup {
            cg.add_process(pid)?;
        }
        sync::tell(&parent_sock, &Msg::Go, || {
            let why = crate::container::exit_reason(pid, true);
            anyhow!("the exec'd process died during setup{why}")
        })?;
        let mut reply = crate::terminal::read_sync(&parent_sock, console.as_ref(), &mut master)?;
        if let Some(Msg::SeccompFd(fd)) = reply {
            let state = crate::hooks::HookState::of_state(&st, "running", st.pid);
            crate::container::seccomp_handoff(&parent_sock, &pidfd, fd, &linux, &state.to_json())?;
            reply = crate::terminal::read_sync(&parent_sock, console.as_ref(), &mut master)?;
        }
        match reply {
            Some(Msg::Ready) => Ok(()),
            Some(Msg::Error(e)) => Err(anyhow!("{e}")),
            Some(other) => Err(anyhow!("sync: unexpected message {other:?}")),
            None => Err(anyhow!(
                "the exec'd process died during setup{}",
                crate::container::exit_reason(pid, true)
            )),
        }
    })();
    if let Err(e) = started {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        let _ = waitpid(Pid::from_raw(pid), None);
        return Err(e);
    }
    if let Some(sock) = &pidfd_sock {
        crate::container::send_pidfd(sock, &pidfd, crate::container::PIDFD_EXEC)?;
    }
    if let Some(p) = opts.pid_file {
        crate::container::write_pid_file(p, pid)?;
    }
    match sfd {
        None => Ok(0),
        Some(sfd) => reaper::wait_or_relay(&sfd, pid, &pidfd, true, master.kept.as_ref(), None),
    }
}

fn run_child(c: &Child) -> ! {
    let sock = init::borrow_sync(c.sync);
    let err = match child_setup(c, &sock) {
        Ok(prepared) => {
            // `Ready` was sent; nobody listens any more.
            prepared.exec()
        }
        Err(e) => e,
    };
    let _ = sync::write(&sock, &Msg::Error(format!("{err:#}")));
    // SAFETY: _exit skips the parent's destructors and atexit handlers, which are not ours.
    unsafe { libc::_exit(1) }
}

fn child_setup(c: &Child, sock: &OwnedFd) -> Result<init::Prepared> {
    // SAFETY: closing the parent's end of the socketpair, which this process must not hold.
    unsafe { libc::close(c.sync_parent) };
    init::set_non_dumpable()?;
    match sync::read(sock)? {
        Some(Msg::Go) => {}
        other => bail!("sync: expected Go from the parent, got {other:?}"),
    }
    // Before joining the container's mount namespace: through the host's procfs.
    let on_exec = crate::lsm::OnExec::prepare(c.process)?;
    // As runc: the container's oomScoreAdj, not the caller's nor the exec'd process's own.
    if let Some(adj) = c.oom_score_adj {
        attrs::set_oom_score_adj(adj)?;
    }
    // In the container's cgroup now. Like init, the process gets the cgroup's CPUs rather
    // than its caller's (a caller pinned with taskset must not pin it), unless
    // execCPUAffinity says otherwise: `final`, or, without one, the kernel's choice after
    // `initial`.
    match c.process.exec_cpu_affinity() {
        Some(a)
            if a.cpu_affinity_final()
                .as_deref()
                .is_some_and(|f| !f.trim().is_empty()) =>
        {
            attrs::apply_exec_cpu_affinity_final(a)?
        }
        Some(a) if a.initial().as_deref().is_some_and(|i| !i.trim().is_empty()) => {}
        _ => attrs::reset_cpu_affinity()?,
    }
    for (t, fd) in c.joined {
        let flag = nix::sched::CloneFlags::from_bits_retain(namespaces::clone_flag(*t));
        nix::sched::setns(fd.as_fd(), flag).with_context(|| {
            format!(
                "joining the container's {} namespace",
                namespaces::spec_name(*t)
            )
        })?;
    }
    if c.userns {
        nix::unistd::setresgid(0.into(), 0.into(), 0.into())
            .context("becoming gid 0 in the user namespace")?;
        nix::unistd::setresuid(0.into(), 0.into(), 0.into())
            .context("becoming uid 0 in the user namespace")?;
    }
    nix::unistd::setsid().context("setsid")?;
    if let Some(p) = c.memory_policy {
        crate::process::mempolicy::apply(p)?;
    }
    if let Some(p) = c.personality {
        attrs::apply_personality(p)?;
    }
    if c.process.terminal().unwrap_or(false) {
        // As runc's exec: a pty of the container's devpts, no /dev/console mount.
        crate::terminal::setup_in_init(c.process, false, c.terminal_relayed, sock)?;
    }
    let mut prepared =
        init::prepare_process(c.process, 0, c.preserve_fds, c.seccomp, sock, on_exec)?;
    prepared.trampoline = c.trampoline;
    sync::write(sock, &Msg::Ready)?;
    Ok(prepared)
}
