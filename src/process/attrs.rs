//! Attributes the container process inherits across execve: oom score, scheduler, io
//! priority, personality, no_new_privs and CPU affinity.

use anyhow::{anyhow, bail, Context as _, Result};
use nix::sched::CpuSet;
use oci_spec::runtime::{
    ExecCPUAffinity, IOPriorityClass, LinuxIOPriority, LinuxPersonality, LinuxPersonalityDomain,
    LinuxSchedulerFlag, LinuxSchedulerPolicy, Scheduler,
};

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

fn set_cpu_affinity(pid: i32, field: &str, list: &str) -> Result<()> {
    let Some(set) = parse_cpu_list(list).with_context(|| field.to_string())? else {
        return Ok(());
    };
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(pid), &set)
        .with_context(|| format!("{field}: setting the CPU affinity to {list:?}"))
}

/// For a process started by `berth exec`: `execCPUAffinity.initial`, set by the parent on
/// process `pid` before the parent moves it into the container's cgroup, whose cpuset may
/// not hold those CPUs (the move then gives it the cgroup's). The spec says
/// execCPUAffinity does not apply to the container's init process.
pub fn apply_exec_cpu_affinity_initial(pid: i32, a: &ExecCPUAffinity) -> Result<()> {
    set_cpu_affinity(
        pid,
        "process.execCPUAffinity.initial",
        a.initial().as_deref().unwrap_or_default(),
    )
}

/// For a process started by `berth exec`, after it joined the container's cgroup:
/// `execCPUAffinity.final`; when absent or empty the affinity is left alone (spec).
pub fn apply_exec_cpu_affinity_final(a: &ExecCPUAffinity) -> Result<()> {
    set_cpu_affinity(
        0,
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

pub fn validate_scheduler(s: &Scheduler) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::test_child;

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
            anyhow::ensure!(test_child::status_field("NoNewPrivs") == "0");
            set_no_new_privs()?;
            anyhow::ensure!(test_child::status_field("NoNewPrivs") == "1");
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
}

/// Property tests (PROPTEST_CASES sets the number of cases: `make fuzz` runs many more).
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        /// Any text: an error, nothing (blank), or a set within the CPUs a set can hold.
        #[test]
        fn any_text_is_an_error_or_a_set(s in "[0-9, \\-]{0,24}|.{0,16}") {
            let _ = parse_cpu_list(&s);
        }

        /// A list of CPUs and ranges (spaces around the parts) sets exactly those CPUs.
        #[test]
        fn ranges_set_exactly_their_cpus(
            ranges in prop::collection::vec((0usize..CpuSet::count(), 0usize..8, any::<bool>()), 1..6)
        ) {
            let ranges: Vec<(usize, usize, bool)> = ranges
                .into_iter()
                .map(|(a, len, sp)| (a, (a + len).min(CpuSet::count() - 1), sp))
                .collect();
            let text = ranges
                .iter()
                .map(|&(a, b, sp)| {
                    let s = if sp { " " } else { "" };
                    if a == b { format!("{s}{a}{s}") } else { format!("{s}{a}{s}-{s}{b}{s}") }
                })
                .collect::<Vec<_>>()
                .join(",");
            let set = parse_cpu_list(&text).unwrap().unwrap();
            for cpu in 0..CpuSet::count() {
                let want = ranges.iter().any(|&(a, b, _)| (a..=b).contains(&cpu));
                prop_assert_eq!(set.is_set(cpu).unwrap(), want, "{} in {:?}", cpu, text);
            }
        }
    }
}
