//! Per-process attributes the container process inherits across execve: oom score,
//! scheduler, io priority, personality, no_new_privs and CPU affinity; the process env as
//! runc prepares it; resolving `args[0]` the way execvp does; and the validation of
//! `process` as a whole.

use anyhow::{anyhow, bail, Context as _, Result};
use nix::sched::CpuSet;
use oci_spec::runtime::{
    ExecCPUAffinity, IOPriorityClass, LinuxIOPriority, LinuxPersonality, LinuxPersonalityDomain,
    LinuxSchedulerFlag, LinuxSchedulerPolicy, Process, Scheduler,
};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

/// Writes `process.oomScoreAdj`. Needs a /proc where /proc/self is this process: the host's
/// before pivot_root (where runc sets it too) or the container's after.
pub fn set_oom_score_adj(v: i32) -> Result<()> {
    std::fs::write("/proc/self/oom_score_adj", v.to_string()).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::PermissionDenied {
            " (lowering it below its lowest value so far needs CAP_SYS_RESOURCE)"
        } else {
            ""
        };
        anyhow!("process.oomScoreAdj: writing {v} to /proc/self/oom_score_adj: {e}{hint}")
    })
}

/// struct sched_attr of include/uapi/linux/sched/types.h, SCHED_ATTR_SIZE_VER1 (with the
/// utilization clamps, which the kernel requires when a UTIL_CLAMP flag is given; the spec
/// has no values for them, so they are 0 as with runc). libc's struct stops at VER0.
#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
    util_min: u32,
    util_max: u32,
}

fn sched_policy(p: LinuxSchedulerPolicy) -> Result<u32> {
    Ok(match p {
        LinuxSchedulerPolicy::SchedOther => 0,
        LinuxSchedulerPolicy::SchedFifo => 1,
        LinuxSchedulerPolicy::SchedRr => 2,
        LinuxSchedulerPolicy::SchedBatch => 3,
        // Value 4 is reserved for SCHED_ISO, which mainline Linux never implemented.
        LinuxSchedulerPolicy::SchedIso => {
            bail!("process.scheduler.policy: SCHED_ISO is not implemented by Linux")
        }
        LinuxSchedulerPolicy::SchedIdle => 5,
        LinuxSchedulerPolicy::SchedDeadline => 6,
    })
}

fn sched_flag(f: LinuxSchedulerFlag) -> u64 {
    match f {
        LinuxSchedulerFlag::SchedResetOnFork => 0x01,
        LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
        LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
        LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
        LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
        LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
        LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
    }
}

fn sched_attr(s: &Scheduler) -> Result<SchedAttr> {
    Ok(SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy: sched_policy(*s.policy())?,
        flags: s
            .flags()
            .iter()
            .flatten()
            .fold(0, |all, f| all | sched_flag(*f)),
        nice: s.nice().unwrap_or(0),
        priority: s.priority().unwrap_or(0) as u32,
        runtime: s.runtime().unwrap_or(0),
        deadline: s.deadline().unwrap_or(0),
        period: s.period().unwrap_or(0),
        ..Default::default()
    })
}

/// Applies `process.scheduler` with sched_setattr(2). libc has no wrapper for this syscall
/// (glibc gained one only in 2.41), so it is called directly.
pub fn apply_scheduler(s: &Scheduler) -> Result<()> {
    let attr = sched_attr(s)?;
    // SAFETY: `attr` is a valid sched_attr of the size it declares, alive for the call.
    let r = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) };
    if r < 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("process.scheduler: setting policy {}", s.policy()));
    }
    Ok(())
}

// include/uapi/linux/ioprio.h; not in libc.
const IOPRIO_CLASS_SHIFT: u32 = 13;
const IOPRIO_WHO_PROCESS: libc::c_int = 1;

fn ioprio_value(p: &LinuxIOPriority) -> u32 {
    let class = match p.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    (class << IOPRIO_CLASS_SHIFT) | p.priority() as u32
}

/// Applies `process.ioPriority` with ioprio_set(2) to this process; every process the
/// container starts inherits it, which is the spec's "applied to the process group". (Not
/// IOPRIO_WHO_PGRP: before setsid that group would still be the caller's.)
pub fn apply_io_priority(p: &LinuxIOPriority) -> Result<()> {
    // SAFETY: ioprio_set takes integers only.
    let r = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, ioprio_value(p)) };
    if r < 0 {
        return Err(std::io::Error::last_os_error()).with_context(|| {
            format!(
                "process.ioPriority: setting class {} priority {}",
                p.class(),
                p.priority()
            )
        });
    }
    Ok(())
}

// include/uapi/linux/personality.h; not in libc.
const PER_LINUX: libc::c_ulong = 0x0000;
const PER_LINUX32: libc::c_ulong = 0x0008;

/// Config validation of `linux.personality`: the spec defines no flags yet, so any flag is
/// an error rather than silently ignored (runc only warns).
pub fn validate_personality(p: &LinuxPersonality) -> Result<()> {
    match p.flags().as_deref() {
        Some(flags) if !flags.is_empty() => bail!(
            "linux.personality.flags: {flags:?} not supported (the runtime spec defines no personality flags)"
        ),
        _ => Ok(()),
    }
}

/// Sets `linux.personality`'s execution domain with personality(2).
pub fn apply_personality(p: &LinuxPersonality) -> Result<()> {
    validate_personality(p)?;
    let persona = match p.domain() {
        LinuxPersonalityDomain::PerLinux => PER_LINUX,
        LinuxPersonalityDomain::PerLinux32 => PER_LINUX32,
    };
    // SAFETY: personality takes an integer only.
    if unsafe { libc::personality(persona) } < 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("linux.personality: setting domain {}", p.domain()));
    }
    Ok(())
}

/// `process.noNewPrivileges`: prctl(PR_SET_NO_NEW_PRIVS). Irreversible and inherited.
pub fn set_no_new_privs() -> Result<()> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } < 0 {
        return Err(std::io::Error::last_os_error())
            .context("process.noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS)");
    }
    Ok(())
}

/// Parses a CPU list such as "0-3,7" (spaces around the parts are tolerated, as the spec's
/// schema allows them). An empty list is `None`: the spec says not to change the affinity.
pub fn parse_cpu_list(list: &str) -> Result<Option<CpuSet>> {
    if list.trim().is_empty() {
        return Ok(None);
    }
    let mut set = CpuSet::new();
    for part in list.split(',') {
        let part = part.trim();
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let parse = |s: &str| {
            s.parse::<usize>()
                .map_err(|_| anyhow!("{list:?}: {part:?} is not a CPU number or range"))
        };
        let (first, last) = (parse(first)?, parse(last)?);
        if first > last {
            bail!("{list:?}: range {part:?} is reversed");
        }
        if last >= CpuSet::count() {
            bail!(
                "{list:?}: CPU {last} is above the highest supported CPU {}",
                CpuSet::count() - 1
            );
        }
        for cpu in first..=last {
            set.set(cpu)?;
        }
    }
    Ok(Some(set))
}

fn set_cpu_affinity(field: &str, list: &str) -> Result<()> {
    let Some(set) = parse_cpu_list(list).with_context(|| field.to_string())? else {
        return Ok(());
    };
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
        .with_context(|| format!("{field}: setting the CPU affinity to {list:?}"))
}

/// For a process started by `berth exec`, before it joins the container's cgroup:
/// `execCPUAffinity.initial`. The spec says execCPUAffinity does not apply to the
/// container's init process.
pub fn apply_exec_cpu_affinity_initial(a: &ExecCPUAffinity) -> Result<()> {
    set_cpu_affinity(
        "process.execCPUAffinity.initial",
        a.initial().as_deref().unwrap_or_default(),
    )
}

/// For a process started by `berth exec`, after it joined the container's cgroup:
/// `execCPUAffinity.final`; when absent or empty the affinity is left alone (spec).
pub fn apply_exec_cpu_affinity_final(a: &ExecCPUAffinity) -> Result<()> {
    set_cpu_affinity(
        "process.execCPUAffinity.final",
        a.cpu_affinity_final().as_deref().unwrap_or_default(),
    )
}

/// After joining the container's cgroup, widens the CPU affinity inherited from berth's
/// caller to everything the cgroup's cpuset allows, as runc does since 1.2.7: since Linux
/// 6.2 the kernel keeps a user-requested affinity across a cpuset change, so a restricted
/// caller (e.g. a systemd unit with CPUAffinity=) would otherwise restrict the container.
/// The kernel reduces the all-CPUs mask to the allowed ones.
pub fn reset_cpu_affinity() -> Result<()> {
    let mut all = CpuSet::new();
    for cpu in 0..CpuSet::count() {
        all.set(cpu)?;
    }
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &all)
        .context("resetting the CPU affinity to the cgroup's CPUs")
}

/// glibc's execvp search list when PATH is unset (confstr(_CS_PATH)).
const DEFAULT_PATH: &str = "/bin:/usr/bin";

fn check_env_entry(i: usize, e: &str) -> Result<()> {
    match e.split_once('=') {
        None => bail!("process.env[{i}]: {e:?} is not of the form KEY=VALUE"),
        Some(("", _)) => bail!("process.env[{i}]: {e:?} has an empty name"),
        _ if e.contains('\0') => bail!("process.env[{i}]: {e:?} contains a NUL byte"),
        _ => Ok(()),
    }
}

/// The environment the process gets, as runc prepares it: every entry checked, and for a
/// name given more than once only the last value kept (at the position of that last
/// occurrence). A missing or empty HOME is for the caller to fill in (`user::set_home`).
pub fn prepare_env(env: &[String]) -> Result<Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(env.len());
    for (i, e) in env.iter().enumerate().rev() {
        check_env_entry(i, e)?;
        let name = e.split_once('=').map(|(n, _)| n).unwrap_or_default();
        if seen.insert(name) {
            out.push(e.clone());
        }
    }
    out.reverse();
    Ok(out)
}

/// An OS error in Go's words ("no such file or directory"), which docker and containerd
/// match in runc's messages to choose exit codes 126 and 127.
pub fn go_error_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_lowercase(),
        None => e.to_string(),
    }
}

/// Why `path` cannot be executed, or Ok. Checks the effective ids, so call it after the uid
/// switch; X_OK also fails on a noexec mount.
fn check_executable(path: &Path, shown: &str) -> std::result::Result<(), String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("stat {shown}: {}", go_error_text(&e)))?;
    if meta.is_dir() {
        return Err("is a directory".into());
    }
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| "contains a NUL byte")?;
    executable_by_effective_ids(&c).map_err(|e| e.desc().to_lowercase())
}

/// access(X_OK) for the effective ids as Go's unix.Eaccess does it: faccessat2 with
/// AT_EACCESS, and where a kernel or a seccomp profile lacks faccessat2 (ENOSYS, EPERM; it
/// may run after the container's filter is loaded) plain faccessat, which checks the real
/// ids: the same ones once the process has switched to its user.
fn executable_by_effective_ids(path: &CString) -> nix::Result<()> {
    use nix::errno::Errno;
    // SAFETY: faccessat2 reads the NUL-terminated path, alive for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_faccessat2,
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::X_OK,
            libc::AT_EACCESS,
        )
    };
    match Errno::result(r) {
        Err(Errno::ENOSYS | Errno::EPERM) => {}
        r => return r.map(drop),
    }
    // SAFETY: as above.
    let r = unsafe {
        libc::syscall(
            libc::SYS_faccessat,
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::X_OK,
        )
    };
    Errno::result(r).map(drop)
}

fn to_cstring(p: PathBuf) -> Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| anyhow!("exec: {:?}: contains a NUL byte", p.display().to_string()))
}

/// Resolves `process.args[0]` with execvp's rules, with runc's error messages: a name
/// containing '/' is used as is (relative to `cwd`); otherwise each PATH entry of the
/// process env is tried (empty entries mean `cwd`; no PATH means glibc's default, where
/// runc would fail). The result must be a regular file the process may execute.
pub fn find_executable(arg0: &str, env: &[String], cwd: &Path) -> Result<CString> {
    if arg0.contains('/') {
        let path = cwd.join(arg0);
        check_executable(&path, arg0).map_err(|e| anyhow!("exec: {arg0:?}: {e}"))?;
        return to_cstring(path);
    }
    if !arg0.is_empty() {
        let path_var = env
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(DEFAULT_PATH);
        for dir in path_var.split(':') {
            let candidate = cwd.join(dir).join(arg0);
            if check_executable(&candidate, arg0).is_ok() {
                return to_cstring(candidate);
            }
        }
    }
    bail!("exec: {arg0:?}: executable file not found in $PATH")
}

fn validate_scheduler(s: &Scheduler) -> Result<()> {
    let policy = *s.policy();
    sched_policy(policy)?;
    let nice = s.nice().unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        bail!("process.scheduler.nice: {nice} is out of range -20..=19");
    }
    let realtime = matches!(
        policy,
        LinuxSchedulerPolicy::SchedFifo | LinuxSchedulerPolicy::SchedRr
    );
    let priority = s.priority().unwrap_or(0);
    if realtime && !(1..=99).contains(&priority) {
        bail!("process.scheduler.priority: {priority} is out of range 1..=99 for {policy}");
    }
    if !realtime && priority != 0 {
        bail!("process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a priority, not {policy}");
    }
    let deadline_params = [s.runtime(), s.deadline(), s.period()];
    if policy != LinuxSchedulerPolicy::SchedDeadline
        && deadline_params.iter().any(|v| v.unwrap_or(0) != 0)
    {
        bail!("process.scheduler: runtime, deadline and period are only for SCHED_DEADLINE, not {policy}");
    }
    Ok(())
}

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
        check_env_entry(i, e)?;
    }
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
        validate_scheduler(s)?;
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
            parse_cpu_list(list.as_deref().unwrap_or_default())
                .with_context(|| format!("process.execCPUAffinity.{field}"))?;
        }
    }
    crate::rlimits::validate(process.rlimits().as_deref().unwrap_or_default())?;
    crate::capabilities::validate(process.capabilities().as_ref())?;
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

    fn status_field(field: &str) -> String {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .unwrap()
            .trim()
            .to_string()
    }

    #[test]
    fn cpu_lists() {
        let set = parse_cpu_list("0-3,7").unwrap().unwrap();
        let cpus: Vec<usize> = (0..16).filter(|c| set.is_set(*c).unwrap()).collect();
        assert_eq!(cpus, [0, 1, 2, 3, 7]);
        let set = parse_cpu_list(" 1 , 2 - 3 ").unwrap().unwrap();
        assert!(set.is_set(1).unwrap() && set.is_set(3).unwrap() && !set.is_set(0).unwrap());
        assert!(parse_cpu_list("").unwrap().is_none());
        assert_eq!(
            parse_cpu_list("3-1").unwrap_err().to_string(),
            "\"3-1\": range \"3-1\" is reversed"
        );
        assert_eq!(
            parse_cpu_list("0,,1").unwrap_err().to_string(),
            "\"0,,1\": \"\" is not a CPU number or range"
        );
        assert!(parse_cpu_list("0-99999").is_err());
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

    #[test]
    fn personality_flags_are_rejected() {
        let p: LinuxPersonality =
            serde_json::from_value(serde_json::json!({"domain": "LINUX", "flags": ["X"]})).unwrap();
        assert_eq!(
            validate_personality(&p).unwrap_err().to_string(),
            "linux.personality.flags: [\"X\"] not supported (the runtime spec defines no personality flags)"
        );
        let p: LinuxPersonality =
            serde_json::from_value(serde_json::json!({"domain": "LINUX32", "flags": []})).unwrap();
        validate_personality(&p).unwrap();
    }

    #[test]
    fn env_dedup_keeps_the_last_value() {
        let env: Vec<String> = ["A=1", "B=2", "A=3", "C=4"].map(String::from).to_vec();
        assert_eq!(prepare_env(&env).unwrap(), ["B=2", "A=3", "C=4"]);
        let bad: Vec<String> = ["A=1", "B"].map(String::from).to_vec();
        assert!(prepare_env(&bad).is_err());
    }

    #[test]
    fn scheduler_attr_layout() {
        assert_eq!(std::mem::size_of::<SchedAttr>(), 56);
        let s: Scheduler = serde_json::from_value(serde_json::json!({
            "policy": "SCHED_DEADLINE", "runtime": 1, "deadline": 2, "period": 3,
            "flags": ["SCHED_FLAG_RECLAIM", "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_RECLAIM"]
        }))
        .unwrap();
        let a = sched_attr(&s).unwrap();
        // A repeated flag is the same bit.
        assert_eq!((a.policy, a.flags), (6, 0x12));
        assert_eq!((a.runtime, a.deadline, a.period), (1, 2, 3));
    }

    fn make_exe(dir: &Path, name: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn find_executable_like_execvp() {
        let tmp = std::env::temp_dir().join(format!("berth-findexe-{}", std::process::id()));
        let (a, b) = (tmp.join("a"), tmp.join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::create_dir_all(b.join("adir")).unwrap();
        make_exe(&a, "plain", 0o644);
        let in_b = make_exe(&b, "plain", 0o755);
        let tool = make_exe(&a, "tool", 0o755);
        let env = |path: &str| vec!["X=1".to_string(), format!("PATH={path}")];
        let found = |name: &str, env: &[String]| {
            find_executable(name, env, &tmp).map(|c| c.into_string().unwrap())
        };
        let s = |p: &Path| p.to_str().unwrap().to_string();

        // Not executable in a: found in b. A directory of that name is skipped.
        assert_eq!(found("plain", &env("/nonexistent:a:b")).unwrap(), s(&in_b));
        assert!(found("adir", &env("b")).is_err());
        // Relative names with a slash are relative to cwd; absolute ones used as is.
        assert_eq!(found("a/tool", &env("")).unwrap(), s(&tool));
        assert_eq!(found(&s(&tool), &env("")).unwrap(), s(&tool));
        // An empty PATH entry means cwd.
        assert_eq!(
            found("tool", &env("/x::")).unwrap_err().to_string(),
            "exec: \"tool\": executable file not found in $PATH"
        );
        std::fs::copy(&tool, tmp.join("here")).unwrap();
        assert_eq!(found("here", &env("/x::")).unwrap(), s(&tmp.join("here")));
        // Without PATH, glibc's default list.
        assert_eq!(found("sh", &["A=b".to_string()]).unwrap(), "/bin/sh");
        assert_eq!(
            found("nope", &env("a:b")).unwrap_err().to_string(),
            "exec: \"nope\": executable file not found in $PATH"
        );
        assert_eq!(
            found("./nope", &env("a")).unwrap_err().to_string(),
            "exec: \"./nope\": stat ./nope: no such file or directory"
        );
        assert_eq!(
            found("b/adir", &env("a")).unwrap_err().to_string(),
            "exec: \"b/adir\": is a directory"
        );
        assert_eq!(
            found("", &env("a")).unwrap_err().to_string(),
            "exec: \"\": executable file not found in $PATH"
        );
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn find_executable_checks_as_the_switched_user() {
        let tmp = std::env::temp_dir().join(format!("berth-findexe-user-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let owner_only = make_exe(&tmp, "owner-only", 0o700);
        let dir = tmp.clone();
        test_child::run(move || {
            nix::unistd::setresuid(1000.into(), 1000.into(), 1000.into())?;
            let err = find_executable(owner_only.to_str().unwrap(), &[], &dir)
                .unwrap_err()
                .to_string();
            anyhow::ensure!(err.ends_with(": permission denied"), "{err}");
            Ok(())
        });
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn oom_score_adj_is_written() {
        test_child::run(|| {
            set_oom_score_adj(500)?;
            let got = std::fs::read_to_string("/proc/self/oom_score_adj")?;
            anyhow::ensure!(got.trim() == "500", "got {got}");
            Ok(())
        });
    }

    #[test]
    fn no_new_privs_is_set() {
        test_child::run(|| {
            anyhow::ensure!(status_field("NoNewPrivs") == "0");
            set_no_new_privs()?;
            anyhow::ensure!(status_field("NoNewPrivs") == "1");
            Ok(())
        });
    }

    #[test]
    fn scheduler_is_applied() {
        test_child::run(|| {
            let s: Scheduler =
                serde_json::from_value(serde_json::json!({"policy": "SCHED_BATCH", "nice": 7}))?;
            apply_scheduler(&s)?;
            // SAFETY: integer-only syscalls.
            let policy = unsafe { libc::sched_getscheduler(0) };
            anyhow::ensure!(policy == 3, "policy {policy}");
            // SAFETY: as above.
            let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
            anyhow::ensure!(nice == 7, "nice {nice}");
            Ok(())
        });
    }

    #[test]
    fn io_priority_is_applied() {
        test_child::run(|| {
            let p: LinuxIOPriority = serde_json::from_value(
                serde_json::json!({"class": "IOPRIO_CLASS_BE", "priority": 6}),
            )?;
            apply_io_priority(&p)?;
            // SAFETY: integer-only syscall.
            let got = unsafe { libc::syscall(libc::SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0) };
            anyhow::ensure!(got == (2 << 13) | 6, "ioprio {got:#x}");
            Ok(())
        });
    }

    #[test]
    fn personality_is_applied() {
        test_child::run(|| {
            let p: LinuxPersonality =
                serde_json::from_value(serde_json::json!({"domain": "LINUX32"}))?;
            apply_personality(&p)?;
            // SAFETY: 0xffffffff only queries the persona.
            let got = unsafe { libc::personality(0xffff_ffff) };
            anyhow::ensure!(
                got as libc::c_ulong & 0xff == PER_LINUX32,
                "persona {got:#x}"
            );
            // SAFETY: utsname is plain data; uname fills it.
            let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
            // SAFETY: `uts` is a valid, writable utsname.
            anyhow::ensure!(unsafe { libc::uname(&mut uts) } == 0);
            // SAFETY: the kernel NUL-terminates the field.
            let machine =
                unsafe { std::ffi::CStr::from_ptr(uts.machine.as_ptr()) }.to_string_lossy();
            anyhow::ensure!(
                machine == "i686" || !cfg!(target_arch = "x86_64"),
                "{machine}"
            );
            Ok(())
        });
    }

    #[test]
    fn cpu_affinity_is_reset_to_all_allowed() {
        test_child::run(|| {
            let mut one = CpuSet::new();
            one.set(0)?;
            nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &one)?;
            reset_cpu_affinity()?;
            let got = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))?;
            let online = std::thread::available_parallelism()?.get();
            let count = (0..CpuSet::count())
                .filter(|c| got.is_set(*c).unwrap_or(false))
                .count();
            anyhow::ensure!(count == online, "reset gave {count} CPUs of {online}");
            Ok(())
        });
    }
}

/// Runs a check in a forked child, for tests of per-process kernel state.
#[cfg(test)]
pub mod test_child {
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::ForkResult;
    use std::io::Read as _;

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
