//! seccomp: `linux.seccomp` compiled to BPF in Rust (seccompiler, no libseccomp), loaded in
//! the container's init, and the notify fd handed to the seccomp agent.
//!
//! Where the lead calls what:
//! - parent, while validating config.json: `validate` (cheap, named-field errors);
//! - parent, before clone: `cache::compile_cached(seccomp, &root.join("seccomp-cache"))`
//!   (or `compile`), so errors surface before any process exists; the `Filter` is plain data
//!   the child inherits;
//! - init: `load`, step 8 of init when noNewPrivileges is false, step 13 (just before execve)
//!   when it is true; with NOTIFY (`Filter::uses_notify`) it returns the listener fd, which
//!   init must hand to the parent (SCM_RIGHTS on the sync socket, or the parent takes it with
//!   pidfd_getfd) while `create` is still running: runc loads even the noNewPrivileges filter
//!   before waiting on the exec fifo for that reason. Syscalls init makes after `load` are
//!   filtered too (a NOTIFY rule on them blocks until the agent answers);
//! - parent, once it holds that fd: `send_to_listener` (listenerPath, the fd, the state JSON
//!   with status "creating" and init's pid, listenerMetadata or ""), then close its copy;
//! - `berth features`: `supported_*` and `known_flags`; `berth spec`: `default_profile`.

pub mod cache;
pub use cache::compile_cached;
mod compat_tables;
mod compile;
mod notify;
mod syscalls;
mod validate;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_live;

use anyhow::{bail, Context as _, Result};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction as Action};
use std::os::fd::{BorrowedFd, FromRawFd as _, OwnedFd};
use std::path::Path;

pub use validate::validate;

/// A compiled filter, ready for `load`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// The program; seccompiler's `sock_filter` has the kernel's layout.
    pub program: Vec<seccompiler::sock_filter>,
    /// SECCOMP_FILTER_FLAG_* for seccomp(2), NEW_LISTENER included when `uses_notify`.
    pub flags: u32,
    /// Some rule uses SCMP_ACT_NOTIFY: loading returns a listener fd for the agent.
    pub uses_notify: bool,
}

/// Validates and compiles `linux.seccomp` (see compile.rs for the semantics).
pub fn compile(seccomp: &LinuxSeccomp) -> Result<Filter> {
    validate(seccomp)?;
    let default_ret = compile::action_ret(seccomp.default_action(), seccomp.default_errno_ret());
    // runc's -ENOSYS stub, unless the default lets syscalls through or is ENOSYS already.
    let stub = !matches!(
        seccomp.default_action(),
        Action::ScmpActAllow | Action::ScmpActLog | Action::ScmpActTrace
    ) && default_ret != compile::ENOSYS_RET;
    let mut bodies = Vec::new();
    for (abi, listed) in compile::abis(seccomp) {
        let (body, max_nr) = compile::compile_abi(seccomp, abi, default_ret)
            .with_context(|| format!("compiling linux.seccomp for {abi:?}"))?;
        bodies.push((abi, body, max_nr.filter(|&nr| stub && listed && nr > 0)));
    }
    let program = compile::assemble(&bodies);
    if program.len() > compile::MAX_INSNS {
        bail!(
            "linux.seccomp compiles to {} BPF instructions, more than the kernel's {}",
            program.len(),
            compile::MAX_INSNS
        );
    }
    let uses_notify = seccomp
        .syscalls()
        .iter()
        .flatten()
        .any(|s| s.action() == Action::ScmpActNotify);
    let mut flags = 0;
    for flag in seccomp.flags().iter().flatten() {
        flags |= compile::FLAGS
            .iter()
            .find(|f| f.0 == *flag)
            .map_or(0, |f| f.2);
    }
    if uses_notify {
        flags |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32;
    }
    Ok(Filter {
        program,
        flags,
        uses_notify,
    })
}

/// Sends the spec's "container process state" (built from `state_json`, the container's
/// state with status "creating", plus `metadata` = listenerMetadata) with `notify_fd` in
/// SCM_RIGHTS to the agent listening at `listener_path` (listenerPath), on one connection
/// that is closed afterwards, as runc does.
pub fn send_to_listener(
    listener_path: &Path,
    notify_fd: BorrowedFd,
    state_json: &[u8],
    metadata: &str,
) -> Result<()> {
    let message = notify::process_state_message(state_json, metadata)?;
    notify::send(listener_path, notify_fd, &message)
}

/// Action names `berth features` reports (the compiler's own table).
pub fn supported_actions() -> Vec<&'static str> {
    compile::ACTIONS.iter().map(|a| a.1).collect()
}

/// Operator names `berth features` reports.
pub fn supported_operators() -> Vec<&'static str> {
    compile::OPERATORS.iter().map(|o| o.1).collect()
}

/// Architecture names `berth features` reports.
pub fn supported_archs() -> Vec<&'static str> {
    compile::ARCHES.iter().map(|a| a.2).collect()
}

/// Filter flag names berth recognises (`knownFlags` in `berth features`).
pub fn known_flags() -> Vec<&'static str> {
    compile::FLAGS.iter().map(|f| f.1).collect()
}

/// The known flags this kernel accepts (`supportedFlags`), probed as libseccomp does:
/// seccomp(2) with a null program fails with EFAULT once it has accepted the flags, and with
/// EINVAL for flags it does not know; nothing is installed either way.
pub fn supported_flags() -> Vec<&'static str> {
    let accepts = |flags: libc::c_ulong| {
        // SAFETY: a null program pointer: the kernel validates the flags, then fails to read it.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                flags,
                std::ptr::null::<libc::sock_fprog>(),
            )
        };
        ret == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EFAULT)
    };
    compile::FLAGS
        .iter()
        .filter(|f| match f.2 {
            0 => accepts(libc::SECCOMP_FILTER_FLAG_TSYNC),
            // The kernel takes WAIT_KILLABLE_RECV only with a listener, as compile does.
            bit if bit == libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV as u32 => {
                accepts(libc::c_ulong::from(bit) | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER)
            }
            bit => accepts(libc::c_ulong::from(bit)),
        })
        .map(|f| f.1)
        .collect()
}

/// Installs the filter on the calling thread; returns the notify listener fd when the filter
/// uses SCMP_ACT_NOTIFY. Needs no_new_privs or CAP_SYS_ADMIN in the caller's user namespace.
/// Allocates nothing unless it fails.
pub fn load(filter: &Filter) -> Result<Option<OwnedFd>> {
    // Never cut to fit sock_fprog's u16: a shorter program is another filter.
    let Ok(len) = u16::try_from(filter.program.len()) else {
        bail!(
            "seccomp filter of {} instructions: more than the kernel's {}",
            filter.program.len(),
            compile::MAX_INSNS
        );
    };
    let prog = libc::sock_fprog {
        len,
        filter: filter.program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: prog points into filter.program, alive for the call; seccompiler's sock_filter is
    // repr(C) with the kernel's layout, and the kernel copies the program.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::c_ulong::from(filter.flags),
            &prog as *const libc::sock_fprog,
        )
    };
    if ret < 0 {
        return Err(std::io::Error::last_os_error()).with_context(|| {
            format!(
                "loading the seccomp filter ({} instructions, flags {:#x}; needs CAP_SYS_ADMIN \
                 or no_new_privs)",
                filter.program.len(),
                filter.flags
            )
        });
    }
    if !filter.uses_notify {
        return Ok(None);
    }
    // SAFETY: with SECCOMP_FILTER_FLAG_NEW_LISTENER the kernel returns a new fd owned by us.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as i32) }))
}

/// Whether the profile lets execveat through whatever its arguments, read off its rules:
/// every rule naming it allows it unconditionally, and one does or the default allows.
/// Where this says false, `require_execveat` tries the compiled filter.
pub fn plainly_allows_execveat(seccomp: &LinuxSeccomp) -> bool {
    let allows = |a: Action| matches!(a, Action::ScmpActAllow | Action::ScmpActLog);
    let mut rules = seccomp
        .syscalls()
        .iter()
        .flatten()
        .filter(|r| r.names().iter().any(|n| n == "execveat"))
        .peekable();
    if rules.peek().is_none() {
        return allows(seccomp.default_action());
    }
    rules.all(|r| allows(r.action()) && r.args().as_ref().is_none_or(|a| a.is_empty()))
}

/// Fails unless `filter` lets through execveat(`fd`, "", .., AT_EMPTY_PATH), the call that
/// starts every container process through berth's sealed trampoline (CVE-2019-5736): with it
/// denied, the only way left would be an execve from a process whose /proc/self/exe is
/// berth's binary on the host, which berth never does. Tried in a forked child that loads the
/// filter and passes a bad path pointer: the kernel fails an allowed call with EFAULT before
/// executing anything, so the profile's own decision (errno, kill, trap, the ENOSYS stub,
/// argument rules) is the only other outcome.
pub fn require_execveat(filter: &Filter, fd: std::os::fd::RawFd) -> Result<()> {
    // SAFETY: berth is single-threaded here; the child makes only raw syscalls (load
    // allocates only when it fails) and _exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error()).context("fork to try the seccomp filter");
    }
    if pid == 0 {
        let code = (|| {
            // SAFETY: prctl with integer arguments; loading then needs no privilege.
            if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
                return 2;
            }
            // A notify listener is closed at once: a call it would get fails with ENOSYS.
            if load(filter).is_err() {
                return 2;
            }
            // SAFETY: the path pointer is deliberately invalid; the kernel only reads it.
            unsafe {
                libc::syscall(
                    libc::SYS_execveat,
                    fd,
                    std::ptr::dangling::<libc::c_char>(),
                    std::ptr::null::<*const libc::c_char>(),
                    std::ptr::null::<*const libc::c_char>(),
                    libc::AT_EMPTY_PATH,
                )
            };
            i32::from(std::io::Error::last_os_error().raw_os_error() != Some(libc::EFAULT))
        })();
        // SAFETY: leaving the forked child without running anything of the parent's.
        unsafe { libc::_exit(code) }
    }
    let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None)
        .context("waiting for the seccomp filter's trial")?;
    match status {
        nix::sys::wait::WaitStatus::Exited(_, 0) => Ok(()),
        nix::sys::wait::WaitStatus::Exited(_, 2) => Ok(()), // not loadable: load() reports it
        _ => bail!(
            "linux.seccomp: the profile does not allow execveat, which berth needs to start \
             the container process through its sealed trampoline (CVE-2019-5736); allow \
             execveat in the profile"
        ),
    }
}

/// The default profile for `berth spec` (seccomp-profiles/default.json, Docker's policy),
/// with its architectures narrowed to the ones this host's kernel runs.
pub fn default_profile() -> LinuxSeccomp {
    let mut profile: LinuxSeccomp =
        serde_json::from_str(include_str!("../../seccomp-profiles/default.json"))
            .expect("seccomp-profiles/default.json parses (checked by a unit test)");
    let arches = profile
        .architectures()
        .iter()
        .flatten()
        .filter(|arch| {
            compile::ARCHES
                .iter()
                .any(|a| a.0 == **arch && compile::HOST_FAMILY.contains(&a.1))
        })
        .copied()
        .collect();
    profile.set_architectures(Some(arches));
    profile
}
