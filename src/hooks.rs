//! OCI hooks (config.md "POSIX-platform Hooks", runtime.md "Lifecycle"): validation, the state
//! JSON a hook reads on stdin, and running one kind's list of hooks.
//!
//! | kind            | namespace | run by                                   | when                                            | status     |
//! |-----------------|-----------|------------------------------------------|-------------------------------------------------|------------|
//! | prestart        | runtime   | the parent, asked by init (`Msg::Hooks`) | mounts made, before pivot_root                  | `creating` |
//! | createRuntime   | runtime   | the parent, right after prestart         | same                                            | `creating` |
//! | createContainer | container | init ([`before_pivot`])                  | after createRuntime, before pivot_root          | `creating` |
//! | startContainer  | container | init ([`start_container`])               | `start` opened the exec fifo; before the execve | `created`  |
//! | poststart       | runtime   | `berth start`                            | the user's program was executed                 | `running`  |
//! | poststop        | runtime   | `berth delete`, `run`, a failed create   | cgroup and state removed                        | `stopped`  |
//!
//! The pid in the state is the container's init as seen from the namespace the hook runs in.
//! A failing hook fails its operation (create cleans everything up, `start` stops the
//! container); poststop failures are only warnings and the next poststop hook still runs.
//!
//! A hook gets its own `env`, or without one (absent, not empty) what runc's would inherit:
//! berth's environment for the runtime-namespace kinds, the container process's environment
//! (process.env plus HOME) for startContainer, none for createContainer (init's is empty
//! there). createContainer runs in the rootfs, prestart, createRuntime and poststart in the
//! bundle (where runc's create runs them), poststop in berth's cwd (runc's delete's). A hook
//! gets its `args` (`args[0]` is argv[0]; the path when there are none), the state on stdin
//! and no other fd. Its stdin, stdout and stderr are memfds, so
//! no pipe can fill up or be held open by a process the hook leaves behind; what it printed
//! goes into the error. It runs in its own process group, which is killed when `timeout`
//! (seconds) runs out.

use anyhow::{anyhow, bail, Context, Result};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use oci_spec::runtime::{Hook, Hooks, Spec};
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::clone::{clone, Forked};
use crate::reaper::Ended;
use crate::sync::{self, Msg};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

/// Every kind berth runs, in lifecycle order, with its name in config.json (`berth features`
/// lists these names).
pub const KINDS: [(Kind, &str); 6] = [
    (Kind::Prestart, "prestart"),
    (Kind::CreateRuntime, "createRuntime"),
    (Kind::CreateContainer, "createContainer"),
    (Kind::StartContainer, "startContainer"),
    (Kind::Poststart, "poststart"),
    (Kind::Poststop, "poststop"),
];

impl Kind {
    pub fn name(self) -> &'static str {
        KINDS
            .iter()
            .find(|(k, _)| *k == self)
            .map(|(_, n)| *n)
            .unwrap_or_default()
    }
}

/// The hooks of one kind (none when the config has none).
pub fn list(hooks: Option<&Hooks>, kind: Kind) -> &[Hook] {
    let Some(h) = hooks else { return &[] };
    let v = match kind {
        Kind::Prestart => h.prestart(),
        Kind::CreateRuntime => h.create_runtime(),
        Kind::CreateContainer => h.create_container(),
        Kind::StartContainer => h.start_container(),
        Kind::Poststart => h.poststart(),
        Kind::Poststop => h.poststop(),
    };
    v.as_deref().unwrap_or_default()
}

/// Checks every hook: absolute path, timeout > 0, no NUL byte in path, args or env.
pub fn validate(spec: &Spec) -> Result<()> {
    for (kind, name) in KINDS {
        for (i, h) in list(spec.hooks().as_ref(), kind).iter().enumerate() {
            let at = format!("config.json: hooks.{name}[{i}]");
            let path = h.path().display().to_string();
            if !h.path().is_absolute() {
                bail!("{at}.path: {path:?} is not absolute");
            }
            if path.contains('\0') {
                bail!("{at}.path: {path:?} contains a NUL byte");
            }
            if let Some(t) = h.timeout().filter(|t| *t <= 0) {
                bail!("{at}.timeout: {t} is not greater than zero");
            }
            for (field, v) in [("args", h.args()), ("env", h.env())] {
                if let Some(s) = v.iter().flatten().find(|s| s.contains('\0')) {
                    bail!("{at}.{field}: {s:?} contains a NUL byte");
                }
            }
        }
    }
    Ok(())
}

/// The hooks that run after create is over (poststart, poststop), for state.json: `start` and
/// `delete` must not read a config.json that may have changed since.
pub fn after_create(spec: &Spec) -> Option<Hooks> {
    let h = spec.hooks().as_ref()?;
    let poststart = h.poststart().clone().filter(|v| !v.is_empty());
    let poststop = h.poststop().clone().filter(|v| !v.is_empty());
    if poststart.is_none() && poststop.is_none() {
        return None;
    }
    let mut kept = Hooks::default();
    kept.set_poststart(poststart);
    kept.set_poststop(poststop);
    Some(kept)
}

/// The container state a hook reads on stdin (runtime.md "State").
pub struct HookState<'a> {
    pub oci_version: &'a str,
    pub id: &'a str,
    pub status: &'a str,
    /// 0 leaves the pid out (a stopped container has none).
    pub pid: i32,
    pub bundle: &'a Path,
    pub annotations: Option<&'a HashMap<String, String>>,
}

impl<'a> HookState<'a> {
    pub fn of_spec(
        spec: &'a Spec,
        id: &'a str,
        bundle: &'a Path,
        status: &'a str,
        pid: i32,
    ) -> Self {
        HookState {
            oci_version: spec.version(),
            id,
            status,
            pid,
            bundle,
            annotations: spec.annotations().as_ref(),
        }
    }

    pub fn of_state(st: &'a crate::state::State, status: &'a str, pid: i32) -> Self {
        HookState {
            oci_version: &st.oci_version,
            id: &st.id,
            status,
            pid,
            bundle: &st.bundle,
            annotations: Some(&st.annotations),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::json!({
            "ociVersion": self.oci_version,
            "id": self.id,
            "status": self.status,
            "bundle": self.bundle,
        });
        if self.pid > 0 {
            v["pid"] = self.pid.into();
        }
        if let Some(a) = self.annotations.filter(|a| !a.is_empty()) {
            v["annotations"] = serde_json::to_value(a).unwrap_or_default();
        }
        v.to_string().into_bytes()
    }
}

/// Where a hook runs when its config does not say: the environment for a hook without
/// `env`, and the working directory (None: the caller's).
pub struct Defaults {
    pub env: Vec<CString>,
    pub cwd: Option<CString>,
}

impl Defaults {
    /// Runtime-namespace hooks: berth's own environment (runc's exec.Cmd with a nil Env
    /// passes runc's), in `cwd` or berth's own.
    pub fn runtime(cwd: Option<&Path>) -> Defaults {
        let env = std::env::vars_os()
            .filter_map(|(k, v)| {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                CString::new(kv).ok()
            })
            .collect();
        let cwd = cwd.and_then(|c| CString::new(c.as_os_str().as_bytes()).ok());
        Defaults { env, cwd }
    }
}

/// Runs the `kind` hooks in order; the first failure stops the list and is the error.
pub fn run(kind: Kind, hooks: Option<&Hooks>, state: &HookState) -> Result<()> {
    if list(hooks, kind).is_empty() {
        return Ok(());
    }
    // In the bundle, where runc's create (which runs these) works.
    run_with(kind, hooks, state, &Defaults::runtime(Some(state.bundle)))
}

fn run_with(kind: Kind, hooks: Option<&Hooks>, state: &HookState, d: &Defaults) -> Result<()> {
    let input = state.to_json();
    for (i, h) in list(hooks, kind).iter().enumerate() {
        run_one(kind, i, h, &input, d)?;
    }
    Ok(())
}

/// Runs the poststop hooks: each failure is a warning, and the next hook still runs (spec).
pub fn run_poststop(hooks: Option<&Hooks>, state: &HookState) {
    let list = list(hooks, Kind::Poststop);
    if list.is_empty() {
        return;
    }
    let input = state.to_json();
    let defaults = Defaults::runtime(None);
    for (i, h) in list.iter().enumerate() {
        if let Err(e) = run_one(Kind::Poststop, i, h, &input, &defaults) {
            crate::logging::warn(&format!("{e:#}"));
        }
    }
}

/// Parent side of create, when init asks (`Msg::Hooks`): prestart then createRuntime, in the
/// runtime namespace, with init's pid as the parent sees it.
pub fn create_runtime(spec: &Spec, id: &str, bundle: &Path, pid: i32) -> Result<()> {
    let state = HookState::of_spec(spec, id, bundle, "creating", pid);
    run(Kind::Prestart, spec.hooks().as_ref(), &state)?;
    run(Kind::CreateRuntime, spec.hooks().as_ref(), &state)
}

/// In init, between the mounts and pivot_root: has the parent run prestart and createRuntime
/// (only if there are any, to spare the round trip), then runs createContainer here.
pub fn before_pivot(spec: &Spec, id: &str, bundle: &Path, sock: &OwnedFd) -> Result<()> {
    let hooks = spec.hooks().as_ref();
    if !list(hooks, Kind::Prestart).is_empty() || !list(hooks, Kind::CreateRuntime).is_empty() {
        sync::write(sock, &Msg::Hooks)?;
        match sync::read(sock)? {
            Some(Msg::HooksDone) => {}
            other => bail!("sync: expected HooksDone from the parent, got {other:?}"),
        }
    }
    if list(hooks, Kind::CreateContainer).is_empty() {
        return Ok(());
    }
    let pid = nix::unistd::getpid().as_raw();
    // In the rootfs, as runc's (which has changed into it to pivot); init's env is empty.
    let root = bundle.join(
        spec.root()
            .as_ref()
            .map_or(Path::new("rootfs"), |r| r.path().as_path()),
    );
    let cwd = CString::new(root.as_os_str().as_bytes()).context("root.path")?;
    let d = Defaults {
        env: Vec::new(),
        cwd: Some(cwd),
    };
    run_with(
        Kind::CreateContainer,
        hooks,
        &HookState::of_spec(spec, id, bundle, "creating", pid),
        &d,
    )
}

/// In init, once `start` opened the exec fifo: the startContainer hooks, resolved in the
/// container, with the container process's credentials, cwd and seccomp filter (as runc);
/// a hook without `env` gets the process's, `env` (process.env plus HOME).
pub fn start_container(spec: &Spec, id: &str, bundle: &Path, env: &[CString]) -> Result<()> {
    let pid = nix::unistd::getpid().as_raw();
    let d = Defaults {
        env: env.to_vec(),
        cwd: None,
    };
    run_with(
        Kind::StartContainer,
        spec.hooks().as_ref(),
        &HookState::of_spec(spec, id, bundle, "created", pid),
        &d,
    )
}

/// Most of a hook's output that goes into an error message.
const OUTPUT_LIMIT: usize = 4096;

/// Runs hook number `index` of its kind; errors name the kind, the index and the path.
fn run_one(kind: Kind, index: usize, hook: &Hook, input: &[u8], d: &Defaults) -> Result<()> {
    run_hook(hook, input, d)
        .with_context(|| format!("{} hook #{index} ({})", kind.name(), hook.path().display()))
}

fn run_hook(hook: &Hook, input: &[u8], d: &Defaults) -> Result<()> {
    let path = CString::new(hook.path().as_os_str().as_bytes()).context("path")?;
    let argv = match hook.args().as_deref() {
        Some(a) if !a.is_empty() => cstrings(a)?,
        _ => vec![path.clone()],
    };
    let envp = match hook.env() {
        Some(env) => cstrings(env)?,
        None => d.env.clone(),
    };
    let mut stdin = memfd("berth-hook-stdin")?;
    stdin
        .write_all(input)
        .context("writing the state for the hook")?;
    nix::unistd::lseek(&stdin, 0, nix::unistd::Whence::SeekSet).context("rewinding the state")?;
    let stdout = memfd("berth-hook-stdout")?;
    let stderr = memfd("berth-hook-stderr")?;
    // Everything the child uses is made here: the raw clone runs no atfork handler, so the
    // child must not allocate (a lock of the allocator may be another thread's in tests).
    let exec_failed = format!("exec {}: ", hook.path().display());
    let child = ExecChild {
        path: &path,
        argv: null_terminated(&argv),
        envp: null_terminated(&envp),
        cwd: d.cwd.as_deref(),
        stdio: [stdin.as_raw_fd(), stdout.as_raw_fd(), stderr.as_raw_fd()],
        exec_failed: exec_failed.as_bytes(),
    };

    let (pid, pidfd) = match clone(0, None)? {
        Forked::Child => exec_child(&child),
        Forked::Parent { pid, pidfd, .. } => (pid, pidfd),
    };
    let timeout = hook.timeout().map(|t| Duration::from_secs(t as u64));
    let exited = wait_exit(&pidfd, timeout);
    if !matches!(exited, Ok(true)) {
        // Over time (or waiting failed): the hook and whatever it started go.
        let _ = kill(Pid::from_raw(-pid), Signal::SIGKILL);
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let status = loop {
        match crate::reaper::waitpid(pid, 0) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => break other.context("waiting for the hook")?.1,
        }
    };
    let output = format!(
        "{}{}",
        captured("stdout", &stdout),
        captured("stderr", &stderr)
    );
    match (exited?, status) {
        (false, _) => bail!(
            "ran past its timeout of {}s and was killed{output}",
            hook.timeout().unwrap_or_default()
        ),
        (true, Some(Ended::Exited(0))) => Ok(()),
        (true, Some(Ended::Exited(c))) => bail!("exited with status {c}{output}"),
        (true, Some(Ended::Signaled(s))) => {
            bail!("killed by {}{output}", crate::signals::name(s))
        }
        (true, None) => bail!("ended without an exit status{output}"),
    }
}

fn cstrings(v: &[String]) -> Result<Vec<CString>> {
    v.iter()
        .map(|s| CString::new(s.as_bytes()).map_err(|_| anyhow!("{s:?} contains a NUL byte")))
        .collect()
}

/// A memfd numbered 3 or above, so that moving it onto 0, 1 or 2 in the child never
/// overwrites another of the three (berth may have been started with stdio closed).
fn memfd(name: &str) -> Result<File> {
    let fd = memfd_create(name, MFdFlags::MFD_CLOEXEC).context("memfd_create")?;
    if fd.as_raw_fd() >= 3 {
        return Ok(File::from(fd));
    }
    // SAFETY: F_DUPFD_CLOEXEC only duplicates an fd we own; the result is a new fd or -1.
    let high = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if high < 0 {
        return Err(std::io::Error::last_os_error()).context("duplicating a memfd");
    }
    // SAFETY: `high` was just returned by the kernel and nothing else owns it.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(high) }))
}

/// execve's argument: pointers into `v`, then NULL.
fn null_terminated(v: &[CString]) -> Vec<*const libc::c_char> {
    v.iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// What the hook's child needs, prepared before the clone.
struct ExecChild<'a> {
    path: &'a CStr,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    cwd: Option<&'a CStr>,
    stdio: [RawFd; 3],
    exec_failed: &'a [u8],
}

/// In the cloned child: its own process group, the memfds as stdio, no other fd, default
/// signal handling (`run` blocks signals), then the hook. Only async-signal-safe calls, and
/// no allocation, until execve.
fn exec_child(c: &ExecChild) -> ! {
    crate::clone::forbid_allocation();
    let say = |parts: &[&[u8]]| {
        for p in parts {
            // SAFETY: write(2) of a borrowed buffer to fd 2.
            let _ = unsafe { libc::write(2, p.as_ptr().cast(), p.len()) };
        }
    };
    // SAFETY: setpgid and dup2 take integers only.
    let moved = unsafe {
        libc::setpgid(0, 0);
        libc::dup2(c.stdio[0], 0) == 0
            && libc::dup2(c.stdio[1], 1) == 1
            && libc::dup2(c.stdio[2], 2) == 2
    };
    // SAFETY: chdir reads the NUL-terminated path it is given.
    if let Some(Err(e)) = c
        .cwd
        .map(|d| Errno::result(unsafe { libc::chdir(d.as_ptr()) }))
    {
        let cwd = c.cwd.unwrap_or_default().to_bytes();
        say(&[b"chdir ", cwd, b": ", e.desc().as_bytes()]);
    } else if moved && cloexec_from_3() {
        crate::init::reset_signals();
        // SAFETY: path, argv and envp are NUL-terminated strings and NULL-terminated arrays
        // of them, alive in this (copied) address space until execve replaces it.
        unsafe { libc::execve(c.path.as_ptr(), c.argv.as_ptr(), c.envp.as_ptr()) };
        say(&[c.exec_failed, Errno::last().desc().as_bytes()]);
    }
    // SAFETY: _exit skips the destructors and atexit handlers of the cloned copy of berth.
    unsafe { libc::_exit(127) }
}

/// Marks every fd from 3 on close-on-exec, without allocating: close_range, or on kernels
/// before 5.11 fcntl on each number below the fd limit.
fn cloexec_from_3() -> bool {
    // SAFETY: close_range only changes fd flags.
    let r = unsafe { libc::close_range(3, libc::c_uint::MAX, libc::CLOSE_RANGE_CLOEXEC as i32) };
    if r == 0 {
        return true;
    }
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return false;
    }
    for fd in 3..lim.rlim_cur.min(1 << 20) as RawFd {
        // SAFETY: F_SETFD on a number that may not be open: EBADF at worst.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    true
}

/// Waits for the hook to exit: Ok(false) when `timeout` ran out first.
fn wait_exit(pidfd: &OwnedFd, timeout: Option<Duration>) -> Result<bool> {
    // A timeout too far away to represent is no timeout.
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    loop {
        let wait = match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(false);
                }
                // Rounded up, so that a poll that returns early is not taken for the deadline.
                PollTimeout::try_from(left + Duration::from_millis(1)).unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, wait) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => return Ok(true),
            Err(e) => return Err(e).context("waiting for the hook"),
        }
    }
}

/// `; stdout: "..."` with what the hook wrote (escaped, so the error stays one line).
fn captured(name: &str, f: &File) -> String {
    let mut buf = vec![0u8; OUTPUT_LIMIT];
    let n = f.read_at(&mut buf, 0).unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let more = f.metadata().is_ok_and(|m| m.len() > n as u64);
    format!(
        "; {name}: {text:?}{}",
        if more { " (truncated)" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hooks(json: serde_json::Value) -> Hooks {
        serde_json::from_value(json).unwrap()
    }

    fn spec_with(h: serde_json::Value) -> Spec {
        let mut s = Spec::default();
        s.set_hooks(Some(hooks(h)));
        s
    }

    fn state() -> (HashMap<String, String>, &'static Path) {
        let mut a = HashMap::new();
        a.insert("k".to_string(), "v".to_string());
        (a, Path::new("/the/bundle"))
    }

    fn one(json: serde_json::Value) -> Result<()> {
        let (a, _) = state();
        // Runtime hooks run in the bundle, which must exist.
        let b = std::env::temp_dir();
        let b = b.as_path();
        let st = HookState {
            oci_version: "1.2.0",
            id: "c1",
            status: "creating",
            pid: 42,
            bundle: b,
            annotations: Some(&a),
        };
        run(
            Kind::CreateRuntime,
            Some(&hooks(serde_json::json!({"createRuntime": [json]}))),
            &st,
        )
    }

    fn tmp(tag: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("berth-hooks-{tag}-{}", std::process::id()))
    }

    #[test]
    fn features_names_every_kind_in_order() {
        let names: Vec<&str> = KINDS.iter().map(|k| k.1).collect();
        assert_eq!(
            names,
            [
                "prestart",
                "createRuntime",
                "createContainer",
                "startContainer",
                "poststart",
                "poststop"
            ]
        );
        assert_eq!(Kind::StartContainer.name(), "startContainer");
    }

    #[test]
    fn validation_names_the_field() {
        let err = |h| format!("{:#}", validate(&spec_with(h)).unwrap_err());
        assert_eq!(
            err(serde_json::json!({"createRuntime": [{"path": "/bin/true"}, {"path": "x"}]})),
            r#"config.json: hooks.createRuntime[1].path: "x" is not absolute"#
        );
        assert_eq!(
            err(serde_json::json!({"poststop": [{"path": "/bin/true", "timeout": 0}]})),
            "config.json: hooks.poststop[0].timeout: 0 is not greater than zero"
        );
        assert_eq!(
            err(serde_json::json!({"prestart": [{"path": "/bin/true", "env": ["A=\u{0}"]}]})),
            r#"config.json: hooks.prestart[0].env: "A=\0" contains a NUL byte"#
        );
        validate(&spec_with(
            serde_json::json!({"startContainer": [{"path": "/x", "timeout": 1}]}),
        ))
        .unwrap();
        validate(&Spec::default()).unwrap();
    }

    #[test]
    fn state_json_has_the_runtime_md_fields() {
        let (a, b) = state();
        let mut st = HookState {
            oci_version: "1.2.0",
            id: "c1",
            status: "running",
            pid: 7,
            bundle: b,
            annotations: Some(&a),
        };
        let v: serde_json::Value = serde_json::from_slice(&st.to_json()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"ociVersion": "1.2.0", "id": "c1", "status": "running", "pid": 7,
                "bundle": "/the/bundle", "annotations": {"k": "v"}})
        );
        let empty = HashMap::new();
        st.pid = 0;
        st.annotations = Some(&empty);
        let v: serde_json::Value = serde_json::from_slice(&st.to_json()).unwrap();
        assert!(
            v.get("pid").is_none() && v.get("annotations").is_none(),
            "{v}"
        );
    }

    #[test]
    fn a_hook_gets_the_state_its_args_and_only_its_env() {
        let out = tmp("io");
        let script = format!(
            r#"cat > {o}.stdin; echo "$(tr '\0' '\n' < /proc/$$/cmdline | head -n 1)|$0|$(env | grep -v '^PWD=\|^SHLVL=\|^_=' | sort | tr '\n' ' ')" > {o}.args; ls /proc/self/fd > {o}.fds"#,
            o = out.display()
        );
        one(serde_json::json!({"path": "/bin/sh", "args": ["my-hook", "-c", script, "first"], "env": ["A=1", "B=two"]}))
            .unwrap();
        let stdin: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.with_extension("stdin")).unwrap()).unwrap();
        assert_eq!(stdin["id"], "c1");
        assert_eq!(stdin["pid"], 42);
        assert_eq!(stdin["status"], "creating");
        assert_eq!(stdin["annotations"]["k"], "v");
        let args = std::fs::read_to_string(out.with_extension("args")).unwrap();
        assert_eq!(args.trim(), "my-hook|first|A=1 B=two");
        // 0, 1, 2 and the fd ls itself reads the directory with.
        let fds = std::fs::read_to_string(out.with_extension("fds")).unwrap();
        assert_eq!(fds.split_whitespace().count(), 4, "{fds}");
        for ext in ["stdin", "args", "fds"] {
            let _ = std::fs::remove_file(out.with_extension(ext));
        }
    }

    /// Without `env`, a runtime hook inherits berth's environment (as runc's); an empty
    /// `env` is an empty environment. It runs in the bundle.
    #[test]
    fn a_hook_without_env_inherits_and_runs_in_the_bundle() {
        let out = tmp("inherit");
        let script = format!(
            r#"echo "$(pwd)|$(env | grep -c '^PATH=')" > {}"#,
            out.display()
        );
        one(serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", &script]})).unwrap();
        let got = std::fs::read_to_string(&out).unwrap();
        let bundle = std::env::temp_dir().canonicalize().unwrap();
        assert_eq!(got.trim(), format!("{}|1", bundle.display()));
        one(serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", &script], "env": []}))
            .unwrap();
        let got = std::fs::read_to_string(&out).unwrap();
        assert_eq!(got.trim(), format!("{}|0", bundle.display()));
        let _ = std::fs::remove_file(&out);
    }

    /// A hook killed by a real-time signal (which nix's waitpid cannot report) says so.
    #[test]
    fn a_hook_killed_by_a_real_time_signal() {
        let err = format!(
            "{:#}",
            one(serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", "kill -40 $$"]}))
                .unwrap_err()
        );
        assert_eq!(err, "createRuntime hook #0 (/bin/sh): killed by SIGRTMIN+6");
    }

    #[test]
    fn a_failing_hook_is_one_line_with_its_output() {
        let err = format!(
            "{:#}",
            one(serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", "echo out; echo bad >&2; echo more >&2; exit 3"]}))
                .unwrap_err()
        );
        assert_eq!(
            err,
            r#"createRuntime hook #0 (/bin/sh): exited with status 3; stdout: "out"; stderr: "bad\nmore""#
        );
        let err = format!(
            "{:#}",
            one(serde_json::json!({"path": "/nonexistent/hook"})).unwrap_err()
        );
        assert_eq!(
            err,
            r#"createRuntime hook #0 (/nonexistent/hook): exited with status 127; stderr: "exec /nonexistent/hook: No such file or directory""#
        );
    }

    #[test]
    fn a_hook_past_its_timeout_is_killed_with_its_children() {
        let marker = tmp("timeout");
        let started = Instant::now();
        // The background sleep holds the hook's stdout; it must not keep berth waiting either.
        let script = format!("sleep 30 & echo $! > {}; wait", marker.display());
        let err = format!(
            "{:#}",
            one(serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", script], "timeout": 1}))
                .unwrap_err()
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            err,
            "createRuntime hook #0 (/bin/sh): ran past its timeout of 1s and was killed"
        );
        let child: i32 = std::fs::read_to_string(&marker)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let _ = std::fs::remove_file(&marker);
        // Killed with the group (a zombie until init reaps it, at worst); SIGKILL takes
        // effect when the child next runs, so allow it a moment.
        let dead = || {
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            stat.is_empty() || stat.contains(") Z ")
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while !dead() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(dead(), "the hook's child {child} outlived the hook");
    }

    #[test]
    fn poststop_failures_do_not_stop_the_next_hook() {
        let marker = tmp("poststop");
        let h = hooks(serde_json::json!({"poststop": [
            {"path": "/bin/false"},
            {"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}", marker.display())]}
        ]}));
        let (a, b) = state();
        run_poststop(
            Some(&h),
            &HookState {
                oci_version: "1.2.0",
                id: "c1",
                status: "stopped",
                pid: 0,
                bundle: b,
                annotations: Some(&a),
            },
        );
        let got: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&marker).unwrap()).unwrap();
        let _ = std::fs::remove_file(&marker);
        assert_eq!(got["status"], "stopped");
    }

    #[test]
    fn only_poststart_and_poststop_are_kept_for_later() {
        let s = spec_with(
            serde_json::json!({"createRuntime": [{"path": "/a"}], "poststop": [{"path": "/b"}]}),
        );
        let kept = after_create(&s).unwrap();
        assert!(kept.create_runtime().is_none());
        assert_eq!(list(Some(&kept), Kind::Poststop)[0].path(), Path::new("/b"));
        let s = spec_with(serde_json::json!({"createRuntime": [{"path": "/a"}], "poststart": []}));
        assert!(after_create(&s).is_none());
    }
}
