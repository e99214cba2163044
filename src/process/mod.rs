//! The container's process: what it is given across execve, each concern in its own file.
//! - `attrs`: oom score, scheduler, io priority, personality, no_new_privs, CPU affinity.
//! - `env`: the environment; `executable`: `args[0]` resolved as execvp does.
//! - `capabilities`, `user` (ids, groups, HOME), `rlimits`, `fds` (passed, closed).
//! - `mempolicy`: linux.memoryPolicy, the NUMA memory policy.
//! - `trampoline`, `sealed_exe`: the process is never exec'd from berth's own image
//!   (CVE-2019-5736).

pub mod attrs;
pub mod capabilities;
pub mod env;
pub mod executable;
pub mod fds;
pub mod mempolicy;
pub mod rlimits;
pub mod sealed_exe;
pub mod trampoline;
pub mod user;

use anyhow::{bail, Context as _, Result};
use oci_spec::runtime::Process;

/// Config validation of `process` (in the parent, before anything is created); includes
/// `rlimits::validate` and `capabilities::validate`. Errors name the field.
pub fn validate(process: &Process) -> Result<()> {
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        bail!("process.args: must not be empty");
    }
    let cwd = process.cwd();
    if !cwd.is_absolute() {
        bail!(
            "process.cwd: {:?} is not an absolute path",
            cwd.display().to_string()
        );
    }
    for (i, e) in process.env().iter().flatten().enumerate() {
        env::check_env_entry(i, e)?;
    }
    user::validate(process.user())?;
    if let Some(umask) = process.user().umask() {
        if umask > 0o777 {
            bail!("process.user.umask: {umask:#o} has bits above 0o777");
        }
    }
    if let Some(adj) = process.oom_score_adj() {
        if !(-1000..=1000).contains(&adj) {
            bail!("process.oomScoreAdj: {adj} is out of range -1000..=1000");
        }
    }
    if let Some(s) = process.scheduler() {
        attrs::validate_scheduler(s)?;
    }
    if let Some(p) = process.io_priority() {
        if !(0..=7).contains(&p.priority()) {
            bail!(
                "process.ioPriority.priority: {} is out of range 0..=7",
                p.priority()
            );
        }
    }
    if let Some(a) = process.exec_cpu_affinity() {
        let fields = [("initial", a.initial()), ("final", a.cpu_affinity_final())];
        for (field, list) in fields {
            attrs::parse_cpu_list(list.as_deref().unwrap_or_default())
                .with_context(|| format!("process.execCPUAffinity.{field}"))?;
        }
    }
    rlimits::validate(process.rlimits().as_deref().unwrap_or_default())?;
    capabilities::validate(process.capabilities().as_ref())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(json: serde_json::Value) -> Process {
        let mut base =
            serde_json::json!({"user": {"uid": 0, "gid": 0}, "cwd": "/", "args": ["sh"]});
        base.as_object_mut()
            .unwrap()
            .extend(json.as_object().unwrap().clone());
        serde_json::from_value(base).unwrap()
    }

    fn validate_err(json: serde_json::Value) -> String {
        format!("{:#}", validate(&process(json)).unwrap_err())
    }

    #[test]
    fn validate_accepts_a_full_process() {
        validate(&process(serde_json::json!({
            "env": ["PATH=/bin", "A=", "B=c=d"],
            "oomScoreAdj": -1000,
            "scheduler": {"policy": "SCHED_FIFO", "priority": 10},
            "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 7},
            "execCPUAffinity": {"initial": "0", "final": "0-1"},
            "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 10}],
            "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]}
        })))
        .unwrap();
    }

    #[test]
    fn validate_names_the_field() {
        let cases = [
            (serde_json::json!({"args": []}), "process.args: must not be empty"),
            (
                serde_json::json!({"cwd": "rel"}),
                "process.cwd: \"rel\" is not an absolute path",
            ),
            (
                serde_json::json!({"env": ["A=1", "B"]}),
                "process.env[1]: \"B\" is not of the form KEY=VALUE",
            ),
            (
                serde_json::json!({"env": ["=x"]}),
                "process.env[0]: \"=x\" has an empty name",
            ),
            (
                serde_json::json!({"oomScoreAdj": 1001}),
                "process.oomScoreAdj: 1001 is out of range -1000..=1000",
            ),
            (
                serde_json::json!({"user": {"uid": 0, "gid": 0, "umask": 0o1777}}),
                "process.user.umask: 0o1777 has bits above 0o777",
            ),
            (
                serde_json::json!({"scheduler": {"policy": "SCHED_OTHER", "nice": 20}}),
                "process.scheduler.nice: 20 is out of range -20..=19",
            ),
            (
                serde_json::json!({"scheduler": {"policy": "SCHED_RR"}}),
                "process.scheduler.priority: 0 is out of range 1..=99 for SCHED_RR",
            ),
            (
                serde_json::json!({"scheduler": {"policy": "SCHED_BATCH", "priority": 3}}),
                "process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a priority, not SCHED_BATCH",
            ),
            (
                serde_json::json!({"scheduler": {"policy": "SCHED_OTHER", "runtime": 5}}),
                "process.scheduler: runtime, deadline and period are only for SCHED_DEADLINE, not SCHED_OTHER",
            ),
            (
                serde_json::json!({"scheduler": {"policy": "SCHED_ISO"}}),
                "process.scheduler.policy: SCHED_ISO is not implemented by Linux",
            ),
            (
                serde_json::json!({"ioPriority": {"class": "IOPRIO_CLASS_IDLE", "priority": 8}}),
                "process.ioPriority.priority: 8 is out of range 0..=7",
            ),
            (
                serde_json::json!({"execCPUAffinity": {"final": "5-2"}}),
                "process.execCPUAffinity.final: \"5-2\": range \"5-2\" is reversed",
            ),
            (
                serde_json::json!({"rlimits": [
                    {"type": "RLIMIT_CPU", "soft": 1, "hard": 1},
                    {"type": "RLIMIT_CPU", "soft": 1, "hard": 1}]}),
                "process.rlimits[1]: RLIMIT_CPU is given more than once",
            ),
        ];
        for (json, want) in cases {
            assert_eq!(validate_err(json), want);
        }
    }
}

#[cfg(test)]
pub mod test_child {
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::ForkResult;
    use std::io::Read as _;

    /// A field of this process's /proc/self/status, its words joined by single spaces.
    pub fn status_field(field: &str) -> String {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs `f` in a forked child with stdio on /dev/null, and panics with its error (or
    /// panic) if it fails. glibc keeps malloc usable in the child of a threaded process.
    pub fn run(f: impl FnOnce() -> anyhow::Result<()>) {
        let (r, w) = nix::unistd::pipe().unwrap();
        // SAFETY: the child only runs `f` and then _exits, never returning into the harness.
        match unsafe { nix::unistd::fork() }.unwrap() {
            ForkResult::Child => {
                drop(r);
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    quiet_stdio()?;
                    f()
                }));
                let msg = match outcome {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(format!("{e:#}")),
                    Err(_) => Some("the check panicked".to_string()),
                };
                if let Some(msg) = &msg {
                    let _ = nix::unistd::write(&w, msg.as_bytes());
                }
                // SAFETY: leaves the forked child without running the harness's code.
                unsafe { libc::_exit(i32::from(msg.is_some())) }
            }
            ForkResult::Parent { child } => {
                drop(w);
                let mut msg = String::new();
                std::fs::File::from(r).read_to_string(&mut msg).unwrap();
                let status = waitpid(child, None).unwrap();
                assert!(msg.is_empty(), "check failed in the child: {msg}");
                assert_eq!(status, WaitStatus::Exited(child, 0));
            }
        }
    }

    fn quiet_stdio() -> anyhow::Result<()> {
        use std::os::fd::AsRawFd;
        let null = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")?;
        for target in 0..=2 {
            // SAFETY: dup2 onto this child's stdio numbers.
            if unsafe { libc::dup2(null.as_raw_fd(), target) } < 0 {
                return Err(std::io::Error::last_os_error().into());
            }
        }
        Ok(())
    }
}
